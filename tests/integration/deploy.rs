//! deploy/kubernetes/: the Indexed Job manifest parses as YAML and hangs together (shards,
//! seed, volumes), and its shell script is valid `sh`.

use std::path::Path;
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

fn manifest() -> Vec<Yaml> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes/relayscan-shards.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn of_kind<'a>(docs: &'a [Yaml], kind: &str) -> &'a Yaml {
    docs.iter()
        .find(|d| d["kind"].as_str() == Some(kind))
        .unwrap_or_else(|| panic!("no {kind} in the manifest"))
}

fn env<'a>(container: &'a Yaml, name: &str) -> &'a str {
    container["env"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|e| e["name"].as_str() == Some(name))
        .and_then(|e| e["value"].as_str())
        .unwrap_or_else(|| panic!("no env {name}"))
}

#[test]
fn the_indexed_job_runs_one_shard_per_index() {
    let docs = manifest();
    let job = of_kind(&docs, "Job");
    assert_eq!(job["apiVersion"].as_str(), Some("batch/v1"));
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"].as_str(), Some("Indexed"));
    let completions = spec["completions"].as_i64().unwrap();
    assert!(completions > 1);
    assert_eq!(spec["parallelism"].as_i64(), Some(completions));
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"].as_str(), Some("Never"));
    let container = &pod["containers"][0];
    assert_eq!(env(container, "SHARDS"), completions.to_string());
    assert!(env(container, "SEED").parse::<u64>().is_ok());

    let command: Vec<&str> = container["command"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(command, ["/bin/sh", "-c"]);
    let script = container["args"][0].as_str().unwrap();
    for needed in [
        "JOB_COMPLETION_INDEX + 1",
        "--shard \"$shard/$SHARDS\"",
        "--seed \"$SEED\"",
        "--scope /input/scope.txt",
        "-iL /input/targets.txt",
        "--checkpoint \"$checkpoint\"",
        "--resume \"$checkpoint\"",
        "/reports/shard-",
    ] {
        assert!(
            script.contains(needed),
            "the script lacks {needed:?}:\n{script}"
        );
    }
    let status = Command::new("sh")
        .args(["-n", "-c", script])
        .status()
        .unwrap();
    assert!(status.success(), "sh -n rejects the script");

    // The mounts point at volumes that exist, backed by the other two documents.
    let mounts = container["volumeMounts"].as_vec().unwrap();
    let volumes = pod["volumes"].as_vec().unwrap();
    for (mount_path, kind) in [
        ("/input", "ConfigMap"),
        ("/reports", "PersistentVolumeClaim"),
    ] {
        let mount = mounts
            .iter()
            .find(|m| m["mountPath"].as_str() == Some(mount_path))
            .unwrap_or_else(|| panic!("no mount at {mount_path}"));
        let volume = volumes
            .iter()
            .find(|v| v["name"] == mount["name"])
            .unwrap_or_else(|| panic!("no volume for {mount_path}"));
        let backing = match kind {
            "ConfigMap" => &volume["configMap"]["name"],
            _ => &volume["persistentVolumeClaim"]["claimName"],
        };
        assert_eq!(
            backing,
            &of_kind(&docs, kind)["metadata"]["name"],
            "{mount_path}"
        );
    }
    let input = &of_kind(&docs, "ConfigMap")["data"];
    for file in ["targets.txt", "scope.txt"] {
        assert!(input[file].as_str().is_some(), "ConfigMap lacks {file}");
    }
}

#[test]
fn the_example_lists_parse_and_lie_in_the_scope() {
    let docs = manifest();
    let input = &of_kind(&docs, "ConfigMap")["data"];
    let dir = tempfile::tempdir().unwrap();
    for file in ["targets.txt", "scope.txt"] {
        std::fs::write(dir.path().join(file), input[file].as_str().unwrap()).unwrap();
    }
    let targets = dir.path().join("targets.txt");
    let scope = dir.path().join("scope.txt");
    // The dry run: nothing is sent, and a target outside the scope would fail here.
    let out = crate::support::run(
        &[
            "targets",
            "-iL",
            targets.to_str().unwrap(),
            "--scope",
            scope.to_str().unwrap(),
            "-p",
            "25,465,587",
            "--count",
        ],
        std::time::Duration::from_secs(30),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        crate::support::stderr(&out)
    );
    assert_eq!(crate::support::stdout(&out).trim(), "1536");
}

fn repo_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The image builds a static (musl) binary from pinned base images, and the build context
/// leaves the gigabytes of target/ behind.
#[test]
fn the_image_is_pinned_static_and_built_from_sources_only() {
    let dockerfile = repo_file("deploy/Dockerfile");
    let bases: Vec<&str> = dockerfile
        .lines()
        .filter_map(|line| line.strip_prefix("FROM "))
        .map(|rest| rest.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(bases.len(), 2, "a build stage and a run stage: {bases:?}");
    for base in &bases {
        // A release tag (digits and dots after the colon), never a moving tag.
        let tag = base.split_once(':').map_or("", |(_, tag)| tag);
        let version = tag.split('-').next().unwrap();
        assert!(
            version.split('.').count() == 3 && version.split('.').all(|n| n.parse::<u32>().is_ok()),
            "{base} is not pinned to a release"
        );
    }
    assert!(dockerfile.contains("--target x86_64-unknown-linux-musl"));
    assert!(dockerfile.contains("--locked"));
    let run_stage = dockerfile.split("\nFROM ").last().unwrap();
    assert!(
        run_stage.contains("x86_64-unknown-linux-musl/release/relayscan"),
        "the run stage copies the static binary"
    );
    assert!(run_stage.contains("USER 65532:65532"));

    let ignore = repo_file(".dockerignore");
    let patterns: Vec<&str> = ignore
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    for needed in ["target/", "fuzz/target/", ".git/"] {
        assert!(patterns.contains(&needed), ".dockerignore lacks {needed}");
    }
}

/// Cargo.toml names the license, and both license texts are in the repository.
#[test]
fn the_license_is_declared_and_its_texts_are_present() {
    let manifest = repo_file("Cargo.toml");
    assert!(manifest.contains("license = \"MIT OR Apache-2.0\""));
    assert!(repo_file("LICENSE-MIT").starts_with("MIT License"));
    assert!(repo_file("LICENSE-APACHE").contains("Apache License"));
    assert!(repo_file("README.md").contains("(LICENSE-MIT)"));
}

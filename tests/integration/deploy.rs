//! deploy/kubernetes/: the CronJob manifest parses as YAML and hangs together (shards, seed, volumes, the plan written once, merge, diff, retention), and its shell script is valid `sh`.

use std::path::Path;
use std::process::Command;

use crate::support::nets;

use yaml_rust2::{Yaml, YamlLoader};

fn manifest() -> Vec<Yaml> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes/relayscan-cronjob.yaml");
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
fn the_cronjob_runs_one_shard_per_index_then_merges_and_diffs() {
    let docs = manifest();
    let cron = of_kind(&docs, "CronJob");
    assert_eq!(cron["apiVersion"].as_str(), Some("batch/v1"));
    assert_eq!(
        cron["spec"]["schedule"]
            .as_str()
            .map(|s| s.split(' ').count()),
        Some(5)
    );
    // Two runs at once would share /reports/latest.
    assert_eq!(cron["spec"]["concurrencyPolicy"].as_str(), Some("Forbid"));
    let spec = &cron["spec"]["jobTemplate"]["spec"];
    assert!(
        spec["activeDeadlineSeconds"].as_i64().is_some(),
        "bounds every wait"
    );
    // A new open relay (diff's exit 1) fails the Job at once: no retries.
    let rule = &spec["podFailurePolicy"]["rules"][0];
    assert_eq!(rule["action"].as_str(), Some("FailJob"));
    assert_eq!(rule["onExitCodes"]["values"][0].as_i64(), Some(1));
    assert_eq!(spec["completionMode"].as_str(), Some("Indexed"));
    let completions = spec["completions"].as_i64().unwrap();
    assert!(completions > 1);
    assert_eq!(spec["parallelism"].as_i64(), Some(completions));
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"].as_str(), Some("Never"));
    let container = &pod["containers"][0];
    assert_eq!(env(container, "SHARDS"), completions.to_string());
    assert!(env(container, "SEED").parse::<u64>().is_ok());
    assert!(env(container, "KEEP").parse::<u32>().is_ok_and(|k| k >= 2));
    let run = container["env"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|e| e["name"].as_str() == Some("RUN"))
        .expect("RUN");
    assert_eq!(
        run["valueFrom"]["fieldRef"]["fieldPath"].as_str(),
        Some("metadata.labels['job-name']"),
        "one folder per run, the same in all its pods"
    );

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
        // The plan resolved once, every shard reading it.
        "relayscan targets -iL /input/targets.txt",
        "-o \"$run/plan.txt\"",
        "relayscan scan -iL \"$run/plan.txt\"",
        "--checkpoint \"$checkpoint\"",
        "--resume \"$checkpoint\"",
        "run=\"/reports/runs/$RUN\"",
        "relayscan merge",
        "relayscan diff",
        "--fail-on open-relay",
        "$KEEP",
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

/// The CronJob's script with its folders and port moved onto `dir` and the lab, and its
/// polling made quick.
fn local_script(script: &str, dir: &Path, port: u16) -> String {
    script
        .replace("/reports", &dir.join("reports").display().to_string())
        .replace("/input", &dir.join("input").display().to_string())
        .replace("-p 25,465,587", &format!("-p {port}"))
        .replace("sleep 5", "sleep 0.1")
        .replace("sleep 10", "sleep 0.1")
}

/// One run of the CronJob's Job: every index's pod as a process, at once; pod 0's exit
/// code.
fn one_run(script: &str, run: &str, shards: &str, logs: &Path) -> Option<i32> {
    let bin = Path::new(env!("CARGO_BIN_EXE_relayscan")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let count: usize = shards.parse().unwrap();
    let pods: Vec<_> = (0..count)
        .map(|i| {
            Command::new("sh")
                .args(["-c", script])
                .env("PATH", &path)
                .env("JOB_COMPLETION_INDEX", i.to_string())
                .env("RUN", run)
                .env("SHARDS", shards)
                .env("SEED", "20250301")
                .env("KEEP", "2")
                .env("RCPT_TO", "relaytest@example.com")
                .env("HELO", "scanner.example.com")
                .stdout(std::process::Stdio::null())
                .stderr(std::fs::File::create(logs.join(format!("{run}-{i}.log"))).unwrap())
                .spawn()
                .unwrap()
        })
        .collect();
    let codes: Vec<Option<i32>> = pods
        .into_iter()
        .map(|mut p| p.wait().unwrap().code())
        .collect();
    let log = |i: usize| std::fs::read_to_string(logs.join(format!("{run}-{i}.log")));
    assert!(
        codes[1..].iter().all(|c| *c == Some(0)),
        "{run}: shards {codes:?}; pod 1 said {:?}",
        log(1)
    );
    codes[0]
}

#[test]
fn the_cronjob_s_script_scans_merges_diffs_and_keeps_the_last_runs() {
    use relayscan_lab::Persona;
    let docs = manifest();
    let container = &of_kind(&docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        [0];
    let dir = tempfile::tempdir().unwrap();
    let personas = [Persona::Closed, Persona::OpenRelay];
    let lab = crate::support::personas::start_lab(nets::CRONJOB, dir.path(), &personas, &[]);
    let script = local_script(container["args"][0].as_str().unwrap(), dir.path(), lab.port);
    let input = dir.path().join("input");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::write(input.join("scope.txt"), format!("{}\n", lab.range(2))).unwrap();
    let reports = dir.path().join("reports");
    // Week 1: the closed server only; week 2: the open relay too; week 3: the same.
    let weeks = [
        ("relayscan-100", lab.addr(0).to_string(), Some(0)),
        ("relayscan-200", lab.range(2), Some(1)),
        ("relayscan-300", lab.range(2), Some(0)),
    ];
    for (run, targets, code) in weeks {
        std::fs::write(input.join("targets.txt"), format!("{targets}\n")).unwrap();
        let said = || std::fs::read_to_string(dir.path().join(format!("{run}-0.log")));
        assert_eq!(
            one_run(&script, run, "3", dir.path()),
            code,
            "{run}: pod 0 said {:?}",
            said()
        );
        let folder = reports.join("runs").join(run);
        for file in ["plan.txt", "merged.jsonl", "shard-3-of-3.jsonl"] {
            assert!(folder.join(file).exists(), "{run}: no {file}");
        }
        let latest = std::fs::read_to_string(reports.join("latest")).unwrap();
        assert_eq!(latest.trim(), run);
    }
    // The second week's diff names the new open relay; merged, all shards agree.
    let changes = std::fs::read_to_string(reports.join("runs/relayscan-200/changes.json")).unwrap();
    assert!(changes.contains(&lab.addr(1).to_string()), "{changes}");
    let merged = crate::support::read_jsonl(&reports.join("runs/relayscan-300/merged.jsonl"));
    assert_eq!(merged.len(), 2);
    // KEEP=2: the first week is gone.
    let mut kept: Vec<String> = std::fs::read_dir(reports.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    kept.sort();
    assert_eq!(kept, ["relayscan-200", "relayscan-300"]);
}

//! The targets of a run as the user gave them: TARGET arguments, -iL files, -d and
//! --domains, then --exclude and --exclude-file. Errors name the flag or the file:line.

use std::path::{Path, PathBuf};

use super::ConfigError;
use crate::cli::TargetListArgs;
use crate::target::source::stream_file;
use crate::target::spec::parse_mail_domain;
use crate::target::{Origin, Target, TargetInput, TargetSpec, parse_args, read_file};

/// Reads every target and exclude; refuses a run without targets.
pub fn read(
    input: &TargetListArgs,
    excludes: &[String],
    exclude_files: &[PathBuf],
) -> Result<TargetInput, ConfigError> {
    let mut all =
        parse_args(&input.targets).map_err(|e| ConfigError::named("TARGET", e.to_string()))?;
    for file in &input.input_lists {
        all.extend(read_file(file).map_err(|e| ConfigError::named("-iL", e.to_string()))?);
    }
    all.extend(read_domains(&input.domains, &input.domain_files)?);
    if all.is_empty() {
        let files: Vec<&PathBuf> = input
            .input_lists
            .iter()
            .chain(&input.domain_files)
            .collect();
        return Err(ConfigError::named("TARGET", no_targets(&files)));
    }
    Ok(TargetInput {
        targets: all,
        excludes: read_excludes(excludes, exclude_files)?,
        domain_list: None,
    })
}

/// "no targets", naming the files that were read and held none (`-iL empty.txt`).
fn no_targets(files: &[&PathBuf]) -> String {
    const GIVE: &str = "give TARGET arguments, -iL FILE, -d DOMAIN or --domains FILE";
    let names: Vec<String> = files
        .iter()
        .map(|f| match f.to_str() {
            Some("-") => "stdin".to_string(),
            _ => f.display().to_string(),
        })
        .collect();
    match &names[..] {
        [] => format!("no targets: {GIVE}"),
        [one] => format!("no targets: {one} holds none (only blank lines or # comments); {GIVE}"),
        many => format!(
            "no targets: {} hold none (only blank lines or # comments); {GIVE}",
            many.join(", ")
        ),
    }
}

/// Parses --exclude and --exclude-file. A mail domain cannot be excluded (its mail
/// hosts may serve other domains): exclude the hosts by name or address.
fn read_excludes(
    excludes: &[String],
    files: &[PathBuf],
) -> Result<Vec<(Origin, Target)>, ConfigError> {
    let mut all = parse_args(excludes)
        .map_err(|e| ConfigError::named("--exclude", format!("--exclude {e}")))?;
    for file in files {
        all.extend(
            read_file(file).map_err(|e| ConfigError::named("--exclude-file", e.to_string()))?,
        );
    }
    if let Some((origin, target)) = all
        .iter()
        .find(|(_, t)| matches!(t.spec, TargetSpec::Domain(_)))
    {
        return Err(ConfigError::named(
            "--exclude",
            format!(
                "exclude {origin}: \"{target}\": a mail domain cannot be excluded; exclude its mail hosts by name or address"
            ),
        ));
    }
    Ok(all)
}

/// A name given where a mail domain is expected, as a domain target with its port
/// (`name:2525` means `@name:2525`); `None` for an address or a range.
fn as_domain(target: Target) -> Option<Target> {
    match target.spec {
        TargetSpec::Host(name) | TargetSpec::Domain(name) => {
            Some(Target::new(TargetSpec::Domain(name), target.port))
        }
        _ => None,
    }
}

/// `-d DOMAIN` (each `example.com`, `name:PORT`, `@example.com` or `@example.com:PORT`) and
/// `--domains FILE` (one or more a line, `#` comments; a bare name is a domain there).
fn read_domains(
    values: &[String],
    files: &[PathBuf],
) -> Result<Vec<(Origin, Target)>, ConfigError> {
    let mut all = Vec::new();
    for (i, value) in values.iter().enumerate() {
        let origin = Origin::line("--domain", i + 1);
        let parsed = if value.starts_with('@') || value.contains(':') {
            value.parse::<Target>().map_err(|e| e.to_string())
        } else {
            parse_mail_domain(value)
                .map(|d| Target::new(TargetSpec::Domain(d), None))
                .map_err(|e| e.to_string())
        };
        match parsed.map(as_domain) {
            Ok(Some(t)) => all.push((origin, t)),
            Ok(None) => {
                return Err(ConfigError::named(
                    "--domain",
                    format!(
                        "--domain {value:?}: not a mail domain (an address or range; give it as a target)"
                    ),
                ));
            }
            Err(e) => {
                return Err(ConfigError::named(
                    "--domain",
                    format!("--domain {value:?}: {e}"),
                ));
            }
        }
    }
    for file in files {
        for (origin, target) in
            read_file(file).map_err(|e| ConfigError::named("--domains", e.to_string()))?
        {
            let domain =
                domain_line(&origin, target).map_err(|e| ConfigError::named("--domains", e))?;
            all.push((origin, domain));
        }
    }
    Ok(all)
}

/// A target of a `--domains` list as the mail domain it names; an address or a range is
/// refused, naming its file:line.
fn domain_line(origin: &Origin, target: Target) -> Result<Target, String> {
    as_domain(target.clone()).ok_or_else(|| {
        format!("{origin}: \"{target}\": not a mail domain (an address or range; give it with -iL)")
    })
}

/// The `--domains FILE` of a run whose only targets it holds: such a run can read it
/// lazily (a domain at a time, see `crate::scan::domain_stage`).
pub fn lone_domain_list(input: &TargetListArgs) -> Option<&PathBuf> {
    let only_domains = input.targets.is_empty() && input.input_lists.is_empty();
    match (
        &input.domain_files[..],
        only_domains && input.domains.is_empty(),
    ) {
        ([file], true) => Some(file),
        _ => None,
    }
}

/// The targets of a run that reads `file` lazily: none read yet, the excludes read.
/// A regular file is read through once first, so that a bad line or an empty list is
/// refused before any traffic (as an eagerly read list is); standard input cannot be
/// read twice, and a bad line there stops the run where it is met.
pub fn read_streamed(
    file: &Path,
    excludes: &[String],
    exclude_files: &[PathBuf],
) -> Result<TargetInput, ConfigError> {
    if file != Path::new("-") {
        let mut any = false;
        for item in domain_stream(file)? {
            item.map_err(|e| ConfigError::named("--domains", e))?;
            any = true;
        }
        if !any {
            let file = file.to_path_buf();
            return Err(ConfigError::named("TARGET", no_targets(&[&file])));
        }
    }
    Ok(TargetInput {
        targets: Vec::new(),
        excludes: read_excludes(excludes, exclude_files)?,
        domain_list: Some(file.to_path_buf()),
    })
}

/// The mail domains of a `--domains` list one at a time; an error names file:line (a
/// bad line ends the list).
pub fn domain_stream(
    file: &Path,
) -> Result<impl Iterator<Item = Result<(Origin, Target), String>> + Send + use<>, ConfigError> {
    let lines = stream_file(file).map_err(|e| ConfigError::named("--domains", e.to_string()))?;
    Ok(lines.map(|item| {
        let (origin, target) = item.map_err(|e| e.to_string())?;
        let domain = domain_line(&origin, target)?;
        Ok((origin, domain))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_flag_forms() {
        // (-d value, the target it means; None: refused)
        let table: &[(&str, Option<&str>)] = &[
            ("example.com", Some("@example.com")),
            ("@example.com", Some("@example.com")),
            ("@example.com:2525", Some("@example.com:2525")),
            ("mail.example.com:2525", Some("@mail.example.com:2525")),
            ("192.0.2.1:25", None),
            ("192.0.2.1", None),
        ];
        for &(value, want) in table {
            let got = read_domains(&[value.to_string()], &[]);
            match want {
                Some(want) => {
                    let targets = got.unwrap_or_else(|e| panic!("{value}: {e}"));
                    assert_eq!(targets.len(), 1, "{value}");
                    assert_eq!(targets[0].1.to_string(), want, "{value}");
                }
                None => assert!(got.is_err(), "{value} accepted"),
            }
        }
    }
}

#[cfg(test)]
mod no_targets_tests {
    use super::*;

    #[test]
    fn no_targets_names_the_files_read() {
        let (empty, stdin) = (PathBuf::from("empty.txt"), PathBuf::from("-"));
        let table: [(&[&PathBuf], &str); 3] = [
            (&[], "no targets: give TARGET arguments"),
            (
                &[&empty],
                "no targets: empty.txt holds none (only blank lines or # comments); give",
            ),
            (&[&empty, &stdin], "no targets: empty.txt, stdin hold none"),
        ];
        for (files, want) in table {
            assert!(
                no_targets(files).starts_with(want),
                "{files:?}: {}",
                no_targets(files)
            );
        }
    }
}

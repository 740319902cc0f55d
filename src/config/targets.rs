//! The targets of a run as the user gave them: TARGET arguments, -iL files, -d and
//! --domains, then --exclude and --exclude-file. Errors name the flag or the file:line.

use std::path::PathBuf;

use super::ConfigError;
use crate::cli::TargetListArgs;
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
        return Err(ConfigError::named(
            "TARGET",
            "no targets: give TARGET arguments, -iL FILE, -d DOMAIN or --domains FILE",
        ));
    }
    Ok(TargetInput {
        targets: all,
        excludes: read_excludes(excludes, exclude_files)?,
    })
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

/// `-d DOMAIN` (each `example.com`, `@example.com` or `@example.com:PORT`) and
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
        match parsed {
            Ok(t) if matches!(t.spec, TargetSpec::Domain(_)) => all.push((origin, t)),
            Ok(_) => {
                return Err(ConfigError::named(
                    "--domain",
                    format!("--domain {value:?}: not a mail domain"),
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
            let spec = match target.spec {
                TargetSpec::Host(name) | TargetSpec::Domain(name) => TargetSpec::Domain(name),
                _ => {
                    return Err(ConfigError::named(
                        "--domains",
                        format!(
                            "{origin}: \"{target}\": not a mail domain (an address or range; give it with -iL)"
                        ),
                    ));
                }
            };
            all.push((origin, Target::new(spec, target.port)));
        }
    }
    Ok(all)
}

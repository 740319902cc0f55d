//! From target arguments and plan flags to a scan space (shared by `scan` and `targets`):
//! read targets and excludes, resolve names, build the plan inside the scope, order it
//! and cut it to a shard. Nothing here sends a probe.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use super::AppError;
use crate::cli::PlanArgs;
use crate::scan::checkpoint::Checkpoint;
use crate::target::scope::read_scope;
use crate::target::{
    Order, Origin, Plan, PlanInput, RangeSet, Shard, Space, Target, TargetSpec, read_file,
    resolve_names,
};

/// How the plan is ordered, cut and fenced, validated.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    pub order: Option<Order>,
    pub shard: Shard,
    pub scope: Option<RangeSet>,
    /// `--scope` as given, for the report.
    pub scope_text: Vec<String>,
    pub allow_large_ipv6: bool,
}

impl PlanOptions {
    /// Validates the plan flags. On resume, an unset seed, order or shard is the
    /// checkpoint's.
    pub fn from_args(args: &PlanArgs, saved: Option<&Checkpoint>) -> Result<PlanOptions, AppError> {
        let usage = |flag: &str, e: String| AppError::Usage(format!("{flag}: {e}"));
        let shard = match (&args.shard, saved) {
            (Some(text), _) => text.parse().map_err(|e| usage("--shard", e))?,
            (None, Some(c)) => c.shard,
            (None, None) => Shard::WHOLE,
        };
        let order = match (args.seed, args.sequential, saved) {
            (Some(seed), _, _) => Some(Order::Permuted { seed }),
            (None, true, _) => Some(Order::Sequential),
            (None, false, Some(c)) => Some(match c.seed {
                Some(seed) => Order::Permuted { seed },
                None => Order::Sequential,
            }),
            (None, false, None) if !shard.is_whole() => {
                return Err(usage(
                    "--shard",
                    format!(
                        "{shard} needs --seed N (the same N for every shard), so that all shards cut the same order"
                    ),
                ));
            }
            (None, false, None) => None,
        };
        let scope = if args.scope.is_empty() {
            None
        } else {
            Some(read_scope(&args.scope).map_err(AppError::Usage)?)
        };
        Ok(PlanOptions {
            order,
            shard,
            scope,
            scope_text: args.scope.clone(),
            allow_large_ipv6: args.force_large_ipv6,
        })
    }

    /// The order to use: the one asked for, else a fresh random seed.
    pub fn order_or_random(&self) -> Order {
        self.order.unwrap_or_else(|| Order::Permuted {
            seed: rand::random(),
        })
    }
}

/// What to scan, as the user wrote it (already parsed, with origins).
pub struct TargetInput {
    pub targets: Vec<(Origin, Target)>,
    pub excludes: Vec<(Origin, Target)>,
}

impl TargetInput {
    /// Target arguments and -iL files, then --exclude and --exclude-file.
    pub fn read(
        targets: &[String],
        lists: &[PathBuf],
        excludes: &[String],
        exclude_files: &[PathBuf],
    ) -> Result<TargetInput, AppError> {
        let mut all =
            crate::target::parse_args(targets).map_err(|e| AppError::Usage(e.to_string()))?;
        for file in lists {
            all.extend(read_file(file).map_err(|e| AppError::Usage(e.to_string()))?);
        }
        if all.is_empty() {
            return Err(AppError::Usage(
                "no targets: give TARGET arguments or -iL FILE".into(),
            ));
        }
        Ok(TargetInput {
            targets: all,
            excludes: read_excludes(excludes, exclude_files)?,
        })
    }
}

/// Parses --exclude and --exclude-file.
pub fn read_excludes(
    excludes: &[String],
    files: &[PathBuf],
) -> Result<Vec<(Origin, Target)>, AppError> {
    let mut all = crate::target::parse_args(excludes)
        .map_err(|e| AppError::Usage(format!("--exclude {e}")))?;
    for file in files {
        all.extend(read_file(file).map_err(|e| AppError::Usage(e.to_string()))?);
    }
    Ok(all)
}

/// Resolves names, builds the plan (scope and special blocks applied), orders it and
/// cuts the shard. Warnings (unresolved names, skipped special blocks) go to stderr
/// unless `quiet`.
pub async fn build_space(
    input: &TargetInput,
    ports: &[u16],
    options: &PlanOptions,
    order: Order,
    resolve_timeout: Duration,
    quiet: bool,
) -> Result<Space, AppError> {
    let names: Vec<String> = input
        .targets
        .iter()
        .chain(&input.excludes)
        .filter_map(|(_, t)| match &t.spec {
            TargetSpec::Host(name) => Some(name.clone()),
            _ => None,
        })
        .collect();
    let resolved: HashMap<_, _> = if names.is_empty() {
        HashMap::new()
    } else {
        resolve_names(names, 16, resolve_timeout).await
    };
    let plan = Plan::build(PlanInput {
        targets: &input.targets,
        excludes: &input.excludes,
        default_ports: ports,
        resolved: &resolved,
        scope: options.scope.as_ref(),
        allow_large_ipv6: options.allow_large_ipv6,
    })
    .map_err(|e| AppError::Usage(e.to_string()))?;
    if !quiet {
        for (name, port, error) in plan.unresolved() {
            eprintln!("relayscan: warning: {name} (port {port}) not scanned: {error}");
        }
        if plan.special_skipped() > 0 {
            eprintln!(
                "relayscan: note: left out {} endpoints in multicast, reserved or \"this network\" blocks (name such a block as a target of its own to probe it)",
                plan.special_skipped()
            );
        }
    }
    Ok(Space::new(plan, order, options.shard))
}

/// The plan settings recorded in the report (and compared on resume).
pub fn plan_settings(space: &Space, options: &PlanOptions) -> serde_json::Value {
    let order = space.order();
    serde_json::json!({
        "order": match order { Order::Sequential => "sequential", Order::Permuted { .. } => "permuted" },
        "seed": order.seed(),
        "shard": space.shard().to_string(),
        "scope": options.scope_text,
        "special_skipped": space.plan().special_skipped(),
        "force_large_ipv6": options.allow_large_ipv6,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(seed: Option<u64>, sequential: bool, shard: Option<&str>) -> PlanArgs {
        PlanArgs {
            seed,
            sequential,
            shard: shard.map(String::from),
            ..PlanArgs::default()
        }
    }

    #[test]
    fn seed_and_shard_rules() {
        let o = PlanOptions::from_args(&args(Some(5), false, Some("2/4")), None).unwrap();
        assert_eq!(o.order, Some(Order::Permuted { seed: 5 }));
        assert_eq!(o.shard, Shard { index: 2, count: 4 });
        let o = PlanOptions::from_args(&args(None, true, Some("2/4")), None).unwrap();
        assert_eq!(o.order, Some(Order::Sequential));
        let o = PlanOptions::from_args(&args(None, false, None), None).unwrap();
        assert_eq!((o.order, o.shard), (None, Shard::WHOLE));
        assert!(matches!(o.order_or_random(), Order::Permuted { .. }));
        let err = PlanOptions::from_args(&args(None, false, Some("2/4")), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--shard: 2/4 needs --seed N (the same N for every shard), so that all shards cut the same order"
        );
        let err = PlanOptions::from_args(&args(Some(1), false, Some("5/4")), None).unwrap_err();
        assert!(err.to_string().starts_with("--shard: \"5/4\""), "{err}");
    }
}

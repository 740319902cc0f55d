//! The plan flags: default ports, the authorised scope, large plans, and the
//! order, seed and shard (on a resume, the checkpoint's unless given again).

use std::time::Duration;

use super::ConfigError;
use crate::cli::PlanArgs;
use crate::scan::checkpoint::Checkpoint;
use crate::target::scope::read_scope;
use crate::target::{Order, PlanSettings, Shard, TargetInput, parse_ports};

/// How long the system resolver may take for one host name: glibc's own per-try
/// timeout (resolv.conf `timeout:5`), so that a slow resolver is not read as "no address".
pub const NAME_TIMEOUT: Duration = Duration::from_secs(5);

/// `--ports`/`-p`.
pub fn ports(text: &str) -> Result<Vec<u16>, ConfigError> {
    parse_ports(text).map_err(|e| ConfigError::new("--ports", e.to_string()))
}

/// Validates the plan flags around the targets read. On a resume (`saved`), an unset
/// seed, order or shard is the checkpoint's; with none given, the order is permuted by
/// a fresh random seed (recorded in the report).
pub fn from_args(
    args: &PlanArgs,
    input: TargetInput,
    ports: Vec<u16>,
    saved: Option<&Checkpoint>,
    name_timeout: Duration,
) -> Result<PlanSettings, ConfigError> {
    let shard = match (&args.shard, saved) {
        (Some(text), _) => text.parse().map_err(|e| ConfigError::new("--shard", e))?,
        (None, Some(c)) => c.shard,
        (None, None) => Shard::WHOLE,
    };
    let order = match (args.seed, args.sequential, saved) {
        (Some(seed), _, _) => Order::Permuted { seed },
        (None, true, _) => Order::Sequential,
        (None, false, Some(c)) => match c.seed {
            Some(seed) => Order::Permuted { seed },
            None => Order::Sequential,
        },
        (None, false, None) if !shard.is_whole() => {
            return Err(ConfigError::new(
                "--shard",
                format!(
                    "{shard} needs --seed N (the same N for every shard), so that all shards cut the same order"
                ),
            ));
        }
        (None, false, None) => Order::Permuted {
            seed: rand::random(),
        },
    };
    let scope = if args.scope.is_empty() {
        None
    } else {
        Some(read_scope(&args.scope).map_err(|e| ConfigError::named("--scope", e))?)
    };
    Ok(PlanSettings {
        input,
        ports,
        scope,
        scope_text: args.scope.clone(),
        allow_large: args.allow_large,
        dry_run: false,
        order,
        shard,
        name_timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(
        seed: Option<u64>,
        sequential: bool,
        shard: Option<&str>,
    ) -> Result<PlanSettings, ConfigError> {
        let args = PlanArgs {
            seed,
            sequential,
            shard: shard.map(String::from),
            ..PlanArgs::default()
        };
        from_args(&args, TargetInput::default(), vec![25], None, NAME_TIMEOUT)
    }

    #[test]
    fn seed_and_shard_rules() {
        let o = plan(Some(5), false, Some("2/4")).unwrap();
        assert_eq!(o.order, Order::Permuted { seed: 5 });
        assert_eq!(o.shard, Shard { index: 2, count: 4 });
        let o = plan(None, true, Some("2/4")).unwrap();
        assert_eq!(o.order, Order::Sequential);
        let o = plan(None, false, None).unwrap();
        assert_eq!(o.shard, Shard::WHOLE);
        assert!(matches!(o.order, Order::Permuted { .. }), "a random seed");
        let err = plan(None, false, Some("2/4")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--shard: 2/4 needs --seed N (the same N for every shard), so that all shards cut the same order"
        );
        let err = plan(Some(1), false, Some("5/4")).unwrap_err();
        assert!(err.to_string().starts_with("--shard: \"5/4\""), "{err}");
    }

    #[test]
    fn a_resume_keeps_the_checkpoints_order_and_shard_unless_given() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/settings/scan.checkpoint");
        let saved = Checkpoint::load(&path).unwrap();
        let resumed = |args: PlanArgs| {
            from_args(
                &args,
                TargetInput::default(),
                vec![25],
                Some(&saved),
                NAME_TIMEOUT,
            )
            .unwrap()
        };
        let kept = resumed(PlanArgs::default());
        assert_eq!(
            (kept.order, kept.shard),
            (Order::Permuted { seed: 7 }, Shard { index: 1, count: 2 })
        );
        let given = resumed(PlanArgs {
            sequential: true,
            shard: Some("2/2".into()),
            ..PlanArgs::default()
        });
        assert_eq!(
            (given.order, given.shard),
            (Order::Sequential, Shard { index: 2, count: 2 })
        );
    }
}

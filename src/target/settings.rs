//! What a scan space is built from, validated (by `crate::config::plan`): the targets and
//! excludes as read, the default ports, the scope, the order and the shard.

use std::time::Duration;

use super::ranges::RangeSet;
use super::shard::Shard;
use super::source::Origin;
use super::space::Order;
use super::spec::Target;

/// What to scan, as the user wrote it (already parsed, with origins).
#[derive(Debug, Clone, Default)]
pub struct TargetInput {
    pub targets: Vec<(Origin, Target)>,
    pub excludes: Vec<(Origin, Target)>,
    /// A `--domains` list read lazily by the scan, a domain at a time (then `targets` is
    /// empty); `None` when every target is in `targets`.
    pub domain_list: Option<std::path::PathBuf>,
}

/// How the plan is built, ordered, cut and fenced.
#[derive(Debug, Clone)]
pub struct PlanSettings {
    pub input: TargetInput,
    /// Ports for targets that name none.
    pub ports: Vec<u16>,
    /// The authorised scope: a target outside it stops the plan.
    pub scope: Option<RangeSet>,
    /// `--scope` as given, for the report.
    pub scope_text: Vec<String>,
    /// `--allow-large` (alias `--force-large-ipv6`): a plan may exceed
    /// `size::MAX_UNSCOPED_ADDRESSES` without a scope.
    pub allow_large: bool,
    /// The dry run (`relayscan targets`): it sends nothing, so the size rule only notes
    /// that a scan of the plan would be refused.
    pub dry_run: bool,
    pub order: Order,
    pub shard: Shard,
    /// Longest wait for the system resolver to answer for one host name.
    pub name_timeout: Duration,
}

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
    /// Accept IPv6 targets wider than a /104.
    pub allow_large_ipv6: bool,
    pub order: Order,
    pub shard: Shard,
    /// Longest wait for the system resolver to answer for one host name.
    pub name_timeout: Duration,
}

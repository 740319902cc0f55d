//! Targets: parsing specs and files, excludes, and the lazy (address × port) plan.

pub mod build;
pub mod endpoint;
pub mod permute;
pub mod plan;
pub mod ports;
pub mod ranges;
pub mod resolve;
pub mod scope;
pub mod settings;
pub mod shard;
pub mod source;
pub mod space;
pub mod spec;

pub use build::{BuildError, build_space};
pub use endpoint::Endpoint;
pub use plan::{Plan, PlanError, PlanInput};
pub use ports::{PortError, parse_port, parse_ports};
pub use ranges::RangeSet;
pub use resolve::resolve_names;
pub use settings::{PlanSettings, TargetInput};
pub use shard::Shard;
pub use source::{Origin, TargetError, parse_args, parse_lines, read_file};
pub use space::{Order, Space};
pub use spec::{SpecError, Target, TargetSpec};

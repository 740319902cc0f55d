//! Targets: parsing specs and files, excludes, and the lazy (address × port) plan.

pub mod plan;
pub mod ports;
pub mod ranges;
pub mod resolve;
pub mod source;
pub mod spec;

pub use plan::{Plan, PlanError, PlanInput};
pub use ports::{PortError, parse_port, parse_ports};
pub use ranges::RangeSet;
pub use resolve::resolve_names;
pub use source::{Origin, TargetError, parse_args, parse_lines, read_file};
pub use spec::{SpecError, Target, TargetSpec};

//! Targets: parsing specs and files, excludes, and the lazy (address × port) plan.

pub mod address;
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
pub mod size;
pub mod source;
pub mod space;
pub mod spec;

pub use address::{Address, canonical};
pub use build::{BuildError, build_space, build_space_sharing};
pub use endpoint::Endpoint;
pub use plan::{Plan, PlanError, PlanInput};
pub use ports::{PortError, parse_port, parse_ports};
pub use ranges::RangeSet;
pub use resolve::resolve_names;
pub use settings::{PlanSettings, TargetInput};
pub use shard::Shard;
pub use size::{MAX_UNSCOPED_ADDRESSES, SizeAllowance, TooLarge, check_size};
pub use source::{Origin, TargetError, parse_args, parse_lines, read_file};
pub use space::{Order, Space};
pub use spec::{SpecError, Target, TargetSpec};

//! Targets: parsing specs and files, excludes, and the lazy (address × port) plan.

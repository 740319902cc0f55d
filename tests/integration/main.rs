//! Integration tests: the real relayscan binary against the built-in lab, on loopback only.
//! Each test uses its own 127.x.y.0/24 network so that tests can run in parallel.

mod support;

mod compliance;
mod demo;
mod deploy;
mod injection;
mod input;
mod interrupt;
mod plan;
mod reports;
mod resume;
mod scale;
mod shards;
mod tls;
mod verdicts;

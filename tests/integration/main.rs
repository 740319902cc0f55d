//! Integration tests: the real relayscan binary against the built-in lab, on loopback only.
//! Each test uses its own 127.x.y.0/24 network so that tests can run in parallel.

mod support;

mod audit;
mod compliance;
mod demo;
mod deploy;
mod dns;
mod faults;
mod injection;
mod input;
mod interrupt;
mod misbehave;
mod old_checkpoint;
mod pace;
mod pipelining;
mod plan;
mod postfix;
mod postfix_aiosmtpd;
mod reports;
mod resume;
mod scale;
mod shards;
mod tls;
mod verdicts;

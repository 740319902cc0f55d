//! Integration tests: the real relayscan binary against the built-in lab, on loopback only.
//! Each test uses its own 127.x.y.0/24 network so that tests can run in parallel.

mod support;

mod demo;
mod input;
mod interrupt;
mod reports;
mod scale;
mod verdicts;

//! Integration tests: the real relayscan binary against the built-in lab, on loopback only.
//! Tests run in parallel threads: each takes its loopback network from `support::nets`, one
//! table that no two users share.

// clippy.toml keeps relayscan's own file writes in one place; tests make fixtures freely.
#![allow(clippy::disallowed_methods)]

mod support;

mod audit;
mod blocklist_reports;
mod blocklists;
mod bounds;
mod cli_words;
mod color;
mod compliance;
mod dane_dnssec;
mod demo;
mod deploy;
mod depth;
mod desync;
mod dns;
mod domain_records;
mod domain_stream;
mod faults;
mod identity;
mod injection;
mod input;
mod interrupt;
mod logs;
mod mail_auth;
mod messages;
mod misbehave;
mod mta_sts_dane;
mod mtas;
mod old_checkpoint;
mod old_records;
mod pace;
mod pipelining;
mod plan;
mod plan_mapped;
mod plan_size;
mod postfix;
mod postfix_aiosmtpd;
mod report_files;
mod report_pages;
mod reports;
mod resume;
mod round_trips;
mod scale;
mod shards;
mod shell;
mod site;
mod stream;
mod tls;
mod unchanged;
mod verbose;
mod verdicts;

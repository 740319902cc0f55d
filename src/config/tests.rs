//! Table tests of the whole front end: command lines through clap and `config` to
//! settings or to the error a user sees (the texts are those relayscan printed before
//! `config` was split into its sub-settings).

use std::time::Duration;

use clap::Parser;

use super::*;
use crate::cli::{Cli, Commands};
use crate::scan::checkpoint::Checkpoint;
use crate::scan::progress::ProgressMode;
use crate::target::{Order, Shard, build_space};

fn scan_args(args: &[&str]) -> ScanArgs {
    let argv = ["relayscan", "scan"].iter().chain(args);
    match Cli::try_parse_from(argv).unwrap().command {
        Commands::Scan(a) => a,
        other => panic!("not a scan: {other:?}"),
    }
}

fn scan_settings(args: &[&str]) -> Result<ScanSettings, ConfigError> {
    ScanSettings::from_args(&scan_args(args), false, "scanner.example")
}

#[test]
fn every_error_names_its_flag() {
    // (flags after the target 127.0.9.1, the flag at fault, the message)
    let table: &[(&[&str], &str, &str)] = &[
        (
            &["-c", "0"],
            "--concurrency",
            "--concurrency: must be at least 1",
        ),
        (&["--rate", "0"], "--rate", "--rate: must be at least 1"),
        (
            &["--subnet-rate", "0"],
            "--subnet-rate",
            "--subnet-rate: must be at least 1",
        ),
        (
            &["--grace", "x"],
            "--grace",
            "--grace: \"x\" is not a duration (examples: 500ms, 5s, 2m)",
        ),
        (
            &["--connect-timeout", "0s"],
            "--connect-timeout",
            "--connect-timeout: must be more than zero",
        ),
        (
            &["--read-timeout", "fast"],
            "--read-timeout",
            "--read-timeout: \"fast\" is not a duration (examples: 500ms, 5s, 2m)",
        ),
        (
            &["--host-timeout", "25h"],
            "--host-timeout",
            "--host-timeout: \"25h\" is out of range (0 to 24h)",
        ),
        (
            &["-p", "nope"],
            "--ports",
            "--ports: invalid port \"nope\" (expected a number 1-65535 or one of smtp, submission, smtps, submissions)",
        ),
        (
            &["--helo", "a;b"],
            "--helo",
            "--helo: \"a;b\" is not a host name or address literal",
        ),
        (
            &["--rcpt-to", "nobody"],
            "--rcpt-to",
            "--rcpt-to: \"nobody\": expected local@domain",
        ),
        (
            &["--mail-from", "bad"],
            "--mail-from",
            "--mail-from: \"bad\": expected local@domain",
        ),
        (
            &["--starttls", "sometimes"],
            "--starttls",
            "--starttls: \"sometimes\": choose auto, always, never",
        ),
        (
            &["--relay-over", "air"],
            "--relay-over",
            "--relay-over: \"air\": choose auto, plain, tls, both",
        ),
        (
            &["--tls-ports", "99999"],
            "--tls-ports",
            "--tls-ports: port 99999 > 65535",
        ),
        (
            &["--format", "xml"],
            "--format",
            "--format: unknown report format \"xml\" (expected csv, jsonl, json, html or md, separated by commas)",
        ),
        (
            &["--resume", "/nonexistent/ck"],
            "--resume",
            "--resume /nonexistent/ck: cannot read the checkpoint: No such file or directory (os error 2)",
        ),
        (
            &["--checkpoint", "/nonexistent/x.ck", "--format", "csv"],
            "--format",
            "--format csv: a checkpoint needs the jsonl report (a resume replays it)",
        ),
        (
            &["--exclude", "@example.com"],
            "--exclude",
            "exclude argument 1: \"@example.com\": a mail domain cannot be excluded; exclude its mail hosts by name or address",
        ),
        (
            &["--exclude", "300.1.1.1"],
            "--exclude",
            "--exclude argument 1: \"300.1.1.1\": invalid IPv4 address (octet 300 > 255)",
        ),
        (
            &["--exclude-file", "/nonexistent/ex"],
            "--exclude-file",
            "/nonexistent/ex: cannot open: No such file or directory (os error 2)",
        ),
        (
            &["--domains", "/nonexistent/domains"],
            "--domains",
            "/nonexistent/domains: cannot open: No such file or directory (os error 2)",
        ),
        (
            &["-d", "127.0.0.1"],
            "--domain",
            "--domain \"127.0.0.1\": invalid host name (a mail domain is a name, not an address)",
        ),
        (
            &["-d", "bad..domain"],
            "--domain",
            "--domain \"bad..domain\": invalid host name (empty label)",
        ),
        (
            &["--shard", "2/4"],
            "--shard",
            "--shard: 2/4 needs --seed N (the same N for every shard), so that all shards cut the same order",
        ),
        (
            &["--shard", "x", "--seed", "1"],
            "--shard",
            "--shard: \"x\" is not I/N (for example 2/8: the second of 8)",
        ),
        (
            &["--scope", "/nonexistent/scope"],
            "--scope",
            "--scope \"/nonexistent/scope\": neither an address, CIDR block or range, nor a readable file",
        ),
        (
            &["--dns-concurrency", "0"],
            "--dns-concurrency",
            "--dns-concurrency: must be at least 1",
        ),
        (
            &["--dns-rate", "0"],
            "--dns-rate",
            "--dns-rate: must be at least 1",
        ),
        (
            &["--dns-timeout", "0s"],
            "--dns-timeout",
            "--dns-timeout: must be longer than 0",
        ),
        (
            &["--resolver", "dns.example"],
            "--resolver",
            "--resolver \"dns.example\": expected an IP address, IP:PORT or [IPv6]:PORT",
        ),
    ];
    for (flags, flag, message) in table {
        let mut args = vec!["127.0.9.1"];
        args.extend_from_slice(flags);
        let err = scan_settings(&args).unwrap_err();
        assert_eq!(
            (err.flag.as_str(), err.to_string().as_str()),
            (*flag, *message),
            "{flags:?}"
        );
    }
    let err = scan_settings(&[]).unwrap_err();
    assert_eq!(
        (err.flag.as_str(), err.to_string().as_str()),
        (
            "TARGET",
            "no targets: give TARGET arguments, -iL FILE, -d DOMAIN or --domains FILE"
        )
    );
}

#[test]
fn a_shard_takes_its_share_of_the_whole_scan_s_rates() {
    use crate::scan::share::Rate;
    let nz = |n| std::num::NonZeroU32::new(n).unwrap();
    let rates = |flags: &[&str]| {
        let mut args = vec!["127.0.9.1", "--rate", "100", "--subnet-rate", "5"];
        args.extend_from_slice(flags);
        let s = scan_settings(&args).unwrap().scheduler(10);
        (s.rate, s.subnet_rate)
    };
    assert_eq!(
        rates(&["--seed", "1", "--shard", "2/4"]),
        (Rate::shared(nz(100), 4), Some(Rate::shared(nz(5), 4)))
    );
    assert_eq!(
        rates(&[]),
        (Rate::shared(nz(100), 1), Some(Rate::shared(nz(5), 1)))
    );
}

#[test]
fn defaults_and_flags_reach_the_settings_they_belong_to() {
    let s = scan_settings(&["127.0.9.1"]).unwrap();
    assert_eq!(s.plan.ports, [25]);
    assert_eq!(
        (
            s.pacing.concurrency,
            s.pacing.rate.get(),
            s.pacing.subnet_rate
        ),
        (100, 100, None)
    );
    assert_eq!(s.pacing.grace, Duration::from_secs(3));
    let session = &s.probe.session;
    assert_eq!(
        (
            session.connect_timeout,
            session.read_timeout,
            session.host_timeout
        ),
        (
            Duration::from_secs(5),
            Duration::from_secs(10),
            Duration::from_secs(60)
        )
    );
    assert_eq!(session.transcript_cap, 64 * 1024);
    assert_eq!(s.probe.helo_name, "scanner.example");
    assert_eq!(
        s.probe.identity.from_domain, "example.com",
        "the sender follows --rcpt-to"
    );
    assert_eq!(s.probe.tls.implicit_ports, [465]);
    assert!(s.probe.pipelining);
    assert_eq!(s.output.formats, crate::report::Formats::DATA);
    assert_eq!(
        s.output.progress,
        ProgressMode::Lines,
        "stderr is not a terminal"
    );
    assert!(s.output.prefix.starts_with("reports"));
    assert_eq!(s.plan.name_timeout, Duration::from_secs(5));
    assert_eq!(s.dns, DnsSettings::default());

    let s = scan_settings(&[
        "127.0.9.1",
        "-p",
        "2525",
        "-c",
        "7",
        "--subnet-rate",
        "3",
        "--connect-timeout",
        "9s",
        "--tls-ports",
        "",
        "--no-pipelining",
        "-q",
        "--all",
        "-o",
        "out/x",
        "--sequential",
        "--resolver",
        "127.0.0.1:5353",
        "--rcpt-to",
        "t@relay.example",
    ])
    .unwrap();
    assert_eq!(s.plan.ports, [2525]);
    assert_eq!(
        (s.pacing.concurrency, s.pacing.subnet_rate.map(|n| n.get())),
        (7, Some(3))
    );
    assert_eq!(
        s.plan.name_timeout,
        Duration::from_secs(9),
        "as long as a connect"
    );
    assert!(
        s.probe.tls.implicit_ports.is_empty(),
        "an empty list turns implicit TLS off"
    );
    assert!(!s.probe.pipelining);
    assert_eq!(s.probe.identity.from_domain, "relay.example");
    assert_eq!(s.output.progress, ProgressMode::Quiet);
    assert!(s.output.write_unanswered);
    assert_eq!(s.output.prefix, std::path::Path::new("out/x"));
    assert_eq!(s.plan.order, Order::Sequential);
    assert_eq!(s.dns.servers, ["127.0.0.1:5353".parse().unwrap()]);
    let scheduler = s.scheduler(5);
    assert_eq!(
        (scheduler.concurrency, scheduler.write_unanswered),
        (5, true)
    );
}

/// The fixture checkpoint was written by relayscan before `config` existed: the same
/// command line now builds the same plan and records exactly the same settings, so a
/// resume of such a checkpoint is accepted.
#[tokio::test]
async fn the_fixture_command_line_records_what_the_fixture_holds() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/settings/scan.checkpoint");
    let saved = Checkpoint::load(&path).unwrap();
    let flags: Vec<&str> = saved.run.command_line[2..]
        .iter()
        .map(String::as_str)
        .collect();
    let settings = scan_settings(&flags).unwrap();
    assert_eq!(settings.plan.shard, Shard { index: 1, count: 2 });
    // IP targets only: nothing is resolved, so this sends nothing.
    let (space, domains) = build_space(&settings.plan, &settings.dns, true, false)
        .await
        .unwrap();
    assert!(domains.is_empty());
    assert_eq!(space.fingerprint(), saved.fingerprint);
    let recorded = recorded::recorded(&settings, &space, 100, false);
    // The plan's fingerprint came later: the fixture lacks it, and a resume leaves it
    // out of the comparison (scan::checkpoint::must_match).
    assert_eq!(recorded.plan, Some(space.plan().fingerprint()));
    assert_eq!(
        crate::report::RecordedSettings {
            plan: None,
            ..recorded
        },
        saved.settings,
        "--resolver alone records the DNS settings"
    );
}

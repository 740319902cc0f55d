//! The settings of record for one scan: what its reports and checkpoint say about how it
//! ran, from the validated settings and what the plan came to.

use std::time::Duration;

use super::ScanSettings;
use crate::dns::blocklist::Blocklist;
use crate::report::RecordedSettings;
use crate::report::settings::{OrderKind, RecordedDns};
use crate::target::{Order, Space};

/// The recorded settings of a scan of `space` with `settings`, at `concurrency` (after
/// fitting the open-file limit). The DNS settings are recorded when the run used them:
/// it had mail domains, named its DNS servers, or asked DNS blocklists.
pub fn recorded(
    settings: &ScanSettings,
    space: &Space,
    concurrency: usize,
    had_mail_domains: bool,
) -> RecordedSettings {
    let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let ScanSettings {
        plan,
        dns,
        probe,
        pacing,
        output,
        blocklists,
    } = settings;
    let session = &probe.session;
    let identity = &probe.identity;
    let order = space.order();
    let dns_used = had_mail_domains || !dns.servers.is_empty() || !blocklists.is_empty();
    RecordedSettings {
        blocklists: blocklists.iter().map(|b| b.zone.clone()).collect(),
        checkpoint: output.checkpoint.clone(),
        concurrency,
        connect_timeout_ms: millis(session.connect_timeout),
        data_sent: false,
        depth: probe.depth,
        dns: dns_used.then(|| RecordedDns {
            concurrency: dns.concurrency,
            rate: dns.rate.get(),
            servers: dns.servers.clone(),
            timeout: millis(dns.timeout),
        }),
        dqs_key: blocklists.iter().any(Blocklist::through_dqs),
        force_large_ipv6: plan.allow_large,
        formats: output.formats,
        helo: probe.helo_name.clone(),
        host_timeout_ms: millis(session.host_timeout),
        mail_from: format!("{}@{}", identity.from_local, identity.from_domain),
        order: match order {
            Order::Sequential => OrderKind::Sequential,
            Order::Permuted { .. } => OrderKind::Permuted,
        },
        plan: Some(space.plan().fingerprint()),
        ports: plan.ports.clone(),
        rate_per_second: pacing.rate.get(),
        rcpt_to: format!("{}@{}", identity.rcpt_local, identity.rcpt_domain),
        read_timeout_ms: millis(session.read_timeout),
        relay_over: probe.tls.relay_over,
        resumed: Vec::new(),
        scope: plan.scope_text.clone(),
        seed: order.seed(),
        shard: space.shard(),
        special_skipped: space.plan().special_skipped(),
        starttls: probe.tls.starttls,
        subnet_rate_per_second: pacing.subnet_rate.map(|n| n.get()),
        tls_ports: probe.tls.implicit_ports.clone(),
        unresolved: space
            .plan()
            .unresolved()
            .iter()
            .map(|(name, port, error)| format!("{name}:{port}: {error}"))
            .collect(),
        write_unanswered: output.write_unanswered,
    }
}

//! The fix for the findings only a configuration audit raises (`relayscan audit-config`), per MTA.
//!
//! Pure text tables, like `remediation.rs`; configuration names are quoted exactly as each
//! product documents them.

use super::findings::FindingId;
use crate::smtp::fingerprint::Mta;

/// The product-specific fix for a configuration finding; `remediation` adds nothing to it.
pub(super) fn remediation(id: FindingId, mta: Mta) -> &'static str {
    match (id, mta) {
        (FindingId::TrustedNetworksTooWide, Mta::Postfix) => {
            "Postfix: list in `mynetworks` only the hosts that really submit mail through \
             this server (e.g. `mynetworks = 127.0.0.0/8 [::1]/128` plus your own servers), \
             never 0.0.0.0/0 or a provider's range; set it explicitly rather than relying on \
             `mynetworks_style` (`subnet` and `class` trust every neighbour); let everyone \
             else authenticate (SASL over TLS). Check with `postconf mynetworks`, then \
             `postfix reload`."
        }
        (FindingId::TrustedNetworksTooWide, Mta::Sendmail) => {
            "Sendmail: remove FEATURE(`relay_entire_domain') and RELAY entries for whole \
             networks from the access database; list single hosts (`Connect:192.0.2.10 \
             RELAY`), rebuild the map (`makemap hash /etc/mail/access < /etc/mail/access`) \
             and let everyone else authenticate."
        }
        (FindingId::TrustedNetworksTooWide, Mta::Exim) => {
            "Exim: list in `hostlist relay_from_hosts` (Debian: `dc_relay_nets` in \
             /etc/exim4/update-exim4.conf.conf) only the hosts that really submit mail through \
             this server, never a provider's range; let everyone else authenticate (`accept \
             authenticated = *` in acl_check_rcpt). On Debian run `update-exim4.conf`, then \
             restart Exim."
        }
        (FindingId::TrustedNetworksTooWide, Mta::OpenSmtpd) => {
            "OpenSMTPD: keep the `<table>` of `match from src <table> ... action \"relay\"` to \
             the hosts that really submit mail through this server; let everyone else \
             authenticate (`match auth from any for any action \"relay\"`), then check with \
             `smtpd -n` and restart."
        }
        (FindingId::TrustedNetworksTooWide, _) => {
            "Trust for relaying only the hosts that really submit mail through this server, \
             never whole provider ranges; let every other client authenticate over TLS."
        }
        (FindingId::RelayDomainsTooBroad, Mta::Postfix) => {
            "Postfix: list in `relay_domains` only the domains this server is a backup or \
             gateway for, by name (no wildcards, no top-level domains, no `static:` map); \
             replace `permit_mx_backup` by explicit `relay_domains` with \
             `relay_recipient_maps`, so that nobody can point a domain's MX at this server \
             and relay through it."
        }
        (FindingId::RelayDomainsTooBroad, Mta::Sendmail) => {
            "Sendmail: remove FEATURE(`relay_based_on_MX') (anyone can point an MX record at \
             this server) and `To:` RELAY entries for top-level domains; list the relayed \
             domains by name in the relay-domains file or the access database."
        }
        (FindingId::RelayDomainsTooBroad, Mta::Exim) => {
            "Exim: list in `domainlist relay_to_domains` (Debian: `dc_relay_domains`) only \
             the domains this server is a backup or gateway for, by name: no `*.tld` \
             wildcards and no `@mx_any`, which relays for any domain whose MX names this host."
        }
        (FindingId::RelayDomainsTooBroad, Mta::OpenSmtpd) => {
            "OpenSMTPD: relay only to the domains this server serves, listed by name in the \
             `for domain <table>` of the relaying `match`; no `*.tld` entries."
        }
        (FindingId::RelayDomainsTooBroad, _) => {
            "Relay only to the destination domains this server serves, listed by name; never \
             by wildcard, top-level domain or 'whatever points its MX here'."
        }
        (FindingId::AcceptsUnresolvableDomains, Mta::Sendmail) => {
            "Sendmail: remove FEATURE(`accept_unresolvable_domains') so that mail from \
             senders at domains without DNS is refused (451/553), then rebuild sendmail.cf."
        }
        (FindingId::AcceptsUnresolvableDomains, Mta::Postfix) => {
            "Postfix: add `reject_unknown_sender_domain` to `smtpd_sender_restrictions` so \
             that mail from senders at domains without DNS is refused."
        }
        (FindingId::AcceptsUnresolvableDomains, Mta::Exim) => {
            "Exim: add `require verify = sender` to acl_check_rcpt (Debian: define \
             CHECK_RCPT_VERIFY_SENDER) so that mail from senders at domains without DNS is \
             refused."
        }
        (FindingId::AcceptsUnresolvableDomains, _) => {
            "Refuse mail whose sender domain does not resolve: such senders are forged, and \
             their bounces go to innocent third parties (backscatter)."
        }
        (FindingId::VrfyEnabled, Mta::Postfix) => {
            "Postfix: set `disable_vrfy_command = yes` (the default is no), then `postfix \
             reload`."
        }
        (FindingId::VrfyEnabled, Mta::Sendmail) => {
            "Sendmail: add `novrfy` (or `goaway`) to define(`confPRIVACY_FLAGS', ...) in the \
             .mc file and rebuild sendmail.cf."
        }
        (FindingId::VrfyEnabled, Mta::Exim) => {
            "Exim: remove `acl_smtp_vrfy` (without it Exim refuses VRFY), or make that ACL \
             deny strangers."
        }
        (FindingId::VrfyEnabled, Mta::OpenSmtpd) => {
            "OpenSMTPD answers VRFY with 502 and never reveals mailboxes; if a filter in front \
             of it answers VRFY, make it refuse."
        }
        (FindingId::VrfyEnabled, _) => {
            "Disable the VRFY command (or answer it with 252 for every address) so that \
             strangers cannot test which mailboxes exist."
        }
        (FindingId::NoRateLimits, Mta::Postfix) => {
            "Postfix: set anvil limits, e.g. `smtpd_client_connection_rate_limit = 30` and \
             `smtpd_client_message_rate_limit = 100` (per `anvil_rate_time_unit`, 60 s), and \
             exempt your own hosts with `smtpd_client_event_limit_exceptions`."
        }
        (FindingId::NoRateLimits, Mta::Sendmail) => {
            "Sendmail: set define(`confCONNECTION_RATE_THROTTLE', ...) and use \
             FEATURE(`ratecontrol') / FEATURE(`conncontrol') with `ClientRate:` and \
             `ClientConn:` entries in the access database."
        }
        (FindingId::NoRateLimits, Mta::Exim) => {
            "Exim: set `smtp_accept_max_per_host` and add a `ratelimit` condition to \
             acl_check_rcpt (e.g. `deny ratelimit = 100 / 1h / strict / per_rcpt` for clients \
             outside relay_from_hosts)."
        }
        (FindingId::NoRateLimits, Mta::OpenSmtpd) => {
            "OpenSMTPD: bound sessions and messages per client (`smtp limit max-mails`, \
             `smtp limit max-rcpt`) and put a rate limit in front of it (a filter such as \
             filter-rate, or the firewall: `max-src-conn-rate` in pf)."
        }
        (FindingId::NoRateLimits, _) => {
            "Limit how many connections and messages one client may send per minute, so that \
             a compromised account or a relay mistake cannot send at full speed."
        }
        // Not a configuration finding: the caller routes only the ids above here.
        (_, _) => {
            "See the finding's title: this id has no configuration-specific remediation text."
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exim_and_opensmtpd_get_their_own_settings_named() {
        let table = [
            (
                FindingId::TrustedNetworksTooWide,
                Mta::Exim,
                "relay_from_hosts",
            ),
            (
                FindingId::TrustedNetworksTooWide,
                Mta::Exim,
                "dc_relay_nets",
            ),
            (
                FindingId::RelayDomainsTooBroad,
                Mta::Exim,
                "relay_to_domains",
            ),
            (FindingId::VrfyEnabled, Mta::Exim, "acl_smtp_vrfy"),
            (FindingId::NoRateLimits, Mta::Exim, "ratelimit"),
            (
                FindingId::AcceptsUnresolvableDomains,
                Mta::Exim,
                "verify = sender",
            ),
            (
                FindingId::TrustedNetworksTooWide,
                Mta::OpenSmtpd,
                "match from src",
            ),
            (
                FindingId::RelayDomainsTooBroad,
                Mta::OpenSmtpd,
                "for domain",
            ),
            (FindingId::NoRateLimits, Mta::OpenSmtpd, "smtp limit"),
            (
                FindingId::TrustedNetworksTooWide,
                Mta::Sendmail,
                "access database",
            ),
        ];
        for (id, mta, needle) in table {
            let text = remediation(id, mta);
            assert!(
                text.contains(needle),
                "{id} on {mta}: {needle:?} not in {text}"
            );
        }
    }
}

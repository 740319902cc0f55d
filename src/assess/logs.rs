//! The fix for each finding a mail log raises (`relayscan logs`), written for the MTA whose lines the log holds. Pure text tables; setting names as each product documents them.

use super::findings::FindingId;
use crate::smtp::fingerprint::Mta;

/// The remediation of a mail-log finding on `mta`.
pub fn remediation(id: FindingId, mta: Mta) -> &'static str {
    use FindingId as F;
    match (id, mta) {
        (F::RelayedForStranger, Mta::Postfix) => {
            "Incident: stop the relaying first: `smtpd_relay_restrictions = \
             permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination` with a \
             `mynetworks` of your own hosts only, then `postfix reload`. Then look at the \
             queue (`postqueue -p`), delete the stranger's mail (`postsuper -d ID`), check \
             whether the server's address is now on blocklists, and rescan with relayscan."
        }
        (F::RelayedForStranger, Mta::Sendmail) => {
            "Incident: stop the relaying first: remove `promiscuous_relay`, wide `RELAY` \
             entries of the access database and class R networks, rebuild sendmail.cf and \
             restart. Then look at the queue (`mailq`), remove the stranger's mail, check \
             whether the server's address is now on blocklists, and rescan with relayscan."
        }
        (F::RelayedForStranger, Mta::Exim) => {
            "Incident: stop the relaying first: in acl_check_rcpt accept only `hosts = \
             +relay_from_hosts` and `authenticated = *` for other domains, with \
             relay_from_hosts your own hosts. Then look at the queue (`exim -bp`), remove the \
             stranger's mail (`exim -Mrm ID`), check whether the server's address is now on \
             blocklists, and rescan with relayscan."
        }
        (F::RelayedForStranger, _) => {
            "Incident: stop the relaying first (relay only for authenticated users and your \
             own networks), then remove the stranger's mail from the queue, check whether the \
             server's address is now on blocklists, and rescan with relayscan."
        }
        (F::AuthenticatedMassSending, _) => {
            "Treat the account as stolen until shown otherwise: change its password, end its \
             sessions, look at where it logged in from, remove its queued mail, and add a \
             per-user sending limit (see volume-spike's remediation for this MTA)."
        }
        (F::SaslLoginFailures, Mta::Postfix) => {
            "Guessing passwords: offer AUTH only on submission (587/465, \
             `smtpd_sasl_auth_enable = no` on port 25), limit `smtpd_client_auth_rate_limit` \
             (anvil), and block repeat offenders (fail2ban's postfix-sasl filter)."
        }
        (F::SaslLoginFailures, Mta::Exim) => {
            "Guessing passwords: advertise AUTH only on submission ports \
             (`auth_advertise_hosts`), add a `ratelimit` on failed authentications in \
             acl_smtp_auth, and block repeat offenders (fail2ban's exim filter)."
        }
        (F::SaslLoginFailures, _) => {
            "Guessing passwords: offer AUTH only on submission ports over TLS, limit login \
             attempts per client, and block repeat offenders (fail2ban)."
        }
        (F::VolumeSpike, Mta::Postfix) => {
            "Postfix: bound each client with anvil: `smtpd_client_message_rate_limit` and \
             `smtpd_client_recipient_rate_limit` (per `anvil_rate_time_unit`, 60 s), set from \
             the peak shown here; Postfix has no per-SASL-user limit of its own, use a policy \
             service (postfwd, policyd-rate-limit) for that."
        }
        (F::VolumeSpike, Mta::Sendmail) => {
            "Sendmail: set define(`confCONNECTION_RATE_THROTTLE', ...) and \
             FEATURE(`ratecontrol') with `ClientRate:` entries in the access database, from \
             the peak shown here."
        }
        (F::VolumeSpike, Mta::Exim) => {
            "Exim: add a ratelimit ACL from the peak shown here, e.g. in acl_check_rcpt \
             `deny ratelimit = 100 / 1h / per_rcpt / strict / $sender_host_address` for \
             clients and `... / $authenticated_id` for users."
        }
        (F::VolumeSpike, _) => {
            "Limit messages and recipients per client and per user per hour, set from the \
             peak shown here, so that a stolen account or a relay mistake cannot send at \
             full speed."
        }
        (F::RelayAttemptsRefused, _) => {
            "The server refused these attempts, as it should: nothing to fix. Someone is \
             probing for an open relay: keep the relay restrictions, and consider blocking \
             the top sources at the firewall or with a DNSBL."
        }
        (F::UnreadableLogLines, _) => {
            "Check that the file is a mail log in a supported form (RFC 3164, RFC 5424, ISO \
             timestamps, Postfix's maillog_file, Exim's mainlog); the samples show what was \
             not understood."
        }
        // Not a log finding: the caller routes only the ids above here.
        (_, _) => "See the finding's title: this id has no mail-log remediation text.",
    }
}

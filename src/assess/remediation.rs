//! The fix for each finding, written for the MTA the server revealed, plus the general advice every relay owner needs.
//!
//! Pure text tables. Configuration names are quoted exactly as each product documents them.

use super::advisories::BACKPORT_CAVEAT;
use super::findings::FindingId;
use crate::smtp::fingerprint::Mta;

/// What every owner of a relay finding should also do, whatever the software.
pub const COMMON_ADVICE: &str = "Also: require authentication (SMTP AUTH over TLS) for every \
client that submits mail; restrict relaying to trusted networks; publish SPF, DKIM and DMARC \
for your domains so that mail forged in their name is refused elsewhere; watch the mail logs \
and the queue for relayed mail; rate-limit clients; keep the MTA up to date. Rescan to confirm \
the fix.";

/// The remediation for `id` on `mta`: the product-specific fix, then the general advice where
/// it applies.
pub fn remediation(id: FindingId, mta: Mta) -> String {
    let specific = specific(id, mta);
    if matches!(
        id,
        FindingId::OpenRelay | FindingId::AcceptsAnyRecipient | FindingId::RelayOnlyAfterStarttls
    ) {
        format!("{specific} {COMMON_ADVICE}")
    } else if matches!(
        id,
        FindingId::KnownExploitedSoftware
            | FindingId::VulnerableSoftware
            | FindingId::EndOfLifeSoftware
    ) {
        format!("{specific} {BACKPORT_CAVEAT}.")
    } else {
        specific.to_string()
    }
}

fn specific(id: FindingId, mta: Mta) -> &'static str {
    use FindingId as F;
    match id {
        F::OpenRelay | F::RelayOnlyAfterStarttls => relay(mta),
        F::AcceptsAnyRecipient => accept_all(mta),
        F::BannerVersion => banner(mta),
        F::StarttlsMissing | F::TlsHandshakeFailed => tls_setup(mta),
        F::TlsCertExpired
        | F::TlsCertNotYetValid
        | F::TlsCertExpiringSoon
        | F::TlsCertSelfSigned
        | F::TlsCertUntrusted
        | F::TlsCertNameMismatch => certificate(mta),
        F::AuthBeforeTls => auth_after_tls(mta),
        F::StarttlsInjection => {
            "Plaintext that arrives after the 220 reply to STARTTLS is either a server bug \
             (the STARTTLS command-injection family: CVE-2011-0411 and later) or a device on \
             the path rewriting SMTP, such as a firewall's SMTP inspection. Update the MTA, \
             and check for middleboxes between the internet and this server."
        }
        F::RelayInconclusive => {
            "No conclusion yet: a 4xx is a deferral (greylisting, rate limit), not a refusal. \
             Rescan later from the same vantage point; a greylister lets the retry through, \
             and that scan decides."
        }
        F::NotSmtp => {
            "A service other than SMTP answers on a mail port. Check that this is intended \
             and that the hosts your MX records name run the mail service."
        }
        F::KnownExploitedSoftware | F::VulnerableSoftware => {
            "Upgrade the mail server to the fixed release the detail names (or later), or \
             apply your distribution's security update; then rescan. A banner's version is \
             upstream's number, and the package changelog names the CVE when a fix was \
             backported. Until then, disable the affected feature where the advisory names \
             one."
        }
        F::EndOfLifeSoftware => {
            "Move to a release line its maintainers still fix (the detail names the oldest \
             one maintained), or to your distribution's supported package; an end-of-life \
             line gets no security fixes from upstream (an LTS distribution may still patch \
             it)."
        }
        F::Blocklisted => {
            "Find and stop what sent the spam or runs the malware (an open relay, a \
             compromised account or host, an infected client behind NAT); then request \
             removal at the list's removal page named in the detail. Lists delist a host that \
             keeps sending again."
        }
        F::BlocklistedPolicy => {
            "A policy listing says this range should not deliver mail directly (dynamic or \
             end-user addresses). For a real mail server, have the network owner update the \
             listing or exclude the address at the list's removal page; else send through \
             your provider's relay."
        }
        F::TrustedNetworksTooWide
        | F::RelayDomainsTooBroad
        | F::AcceptsUnresolvableDomains
        | F::VrfyEnabled
        | F::NoRateLimits => super::config::remediation(id, mta),
        F::RelayedForStranger
        | F::AuthenticatedMassSending
        | F::SaslLoginFailures
        | F::VolumeSpike
        | F::RelayAttemptsRefused
        | F::UnreadableLogLines => super::logs::remediation(id, mta),
    }
}

fn relay(mta: Mta) -> &'static str {
    match mta {
        Mta::Postfix => {
            "Postfix: in main.cf set `smtpd_relay_restrictions = permit_mynetworks, \
             permit_sasl_authenticated, reject_unauth_destination`, and keep `mynetworks` to \
             the hosts that really send through this server (never 0.0.0.0/0; note that the \
             default trusts the local subnet), then `postfix reload`."
        }
        Mta::Sendmail => {
            "Sendmail: use FEATURE(`relay_hosts_only') and list the only clients allowed to \
             relay in the access database (/etc/mail/access, e.g. `Connect:192.0.2.10 RELAY`); \
             remove FEATURE(`promiscuous_relay'), FEATURE(`relay_entire_domain') and \
             FEATURE(`loose_relay_check'); rebuild sendmail.cf and the access map \
             (`makemap hash /etc/mail/access < /etc/mail/access`) and restart."
        }
        Mta::Exim => {
            "Exim: set `hostlist relay_from_hosts` to trusted addresses only, and in \
             `acl_check_rcpt` keep `accept hosts = +relay_from_hosts` and `accept \
             authenticated = *` followed by `require message = relay not permitted` with \
             `domains = +local_domains : +relay_to_domains`; never add `*` to relay_from_hosts."
        }
        Mta::Exchange => {
            "Microsoft Exchange: anonymous relay comes from a receive connector. List them \
             (`Get-ReceiveConnector`), remove the `ms-Exch-SMTP-Accept-Any-Recipient` \
             permission from `NT AUTHORITY\\ANONYMOUS LOGON` (`Get-ADPermission` / \
             `Remove-ADPermission`), and limit any connector that must relay anonymously with \
             `RemoteIPRanges` to the application servers that need it."
        }
        Mta::OpenSmtpd => {
            "OpenSMTPD: in smtpd.conf relay only for local or authenticated clients \
             (`match from local for any action \"relay\"`, `match auth from any for any action \
             \"relay\"`), accept from strangers only for your own domains (`match from any for \
             domain <domains> action \"local\"`), and never `match from any for any action \
             \"relay\"`; check with `smtpd -n` and restart."
        }
        Mta::Unknown => {
            "Configure the server to relay only for authenticated users and trusted \
             networks, and to accept mail from strangers only for its own domains; the \
             software's documentation calls this relay control or relay restrictions."
        }
    }
}

fn accept_all(mta: Mta) -> &'static str {
    match mta {
        Mta::Postfix => {
            "Postfix: reject unknown recipients at RCPT time (`smtpd_reject_unlisted_recipient \
             = yes`, `reject_unverified_recipient` for relay domains), so that the server does \
             not accept mail it will bounce later (backscatter)."
        }
        Mta::Sendmail => {
            "Sendmail: refuse unknown recipients at RCPT time (virtusertable/access entries \
             with `error:nouser`, and no catch-all `@domain` entries) instead of bouncing later."
        }
        Mta::Exim => {
            "Exim: add `require verify = recipient` to `acl_check_rcpt`, so that unknown \
             recipients are refused at RCPT time instead of bounced later."
        }
        Mta::Exchange => {
            "Microsoft Exchange: enable recipient filtering (`Set-RecipientFilterConfig \
             -RecipientValidationEnabled $true`) so that unknown recipients are refused at \
             RCPT time instead of bounced later."
        }
        Mta::OpenSmtpd => {
            "OpenSMTPD: match only your own domains and users (`match from any for domain \
             <domains> action \"local\"` with a userbase), so that other recipients are \
             refused at RCPT time."
        }
        Mta::Unknown => {
            "Refuse unknown recipients at RCPT time instead of bouncing later (backscatter). \
             If this is a development sink (mailpit, MailHog, Papercut), keep it off networks \
             strangers can reach."
        }
    }
}

fn banner(mta: Mta) -> &'static str {
    match mta {
        Mta::Postfix => {
            "Postfix: set `smtpd_banner = $myhostname ESMTP` (no $mail_version), and keep \
             Postfix up to date."
        }
        Mta::Sendmail => {
            "Sendmail: set define(`confSMTP_LOGIN_MSG', `$j ESMTP') in the .mc file and \
             rebuild sendmail.cf, and keep Sendmail up to date."
        }
        Mta::Exim => {
            "Exim: set `smtp_banner = $smtp_active_hostname ESMTP $tod_full` (no \
             $version_number), and keep Exim up to date."
        }
        Mta::Exchange => {
            "Microsoft Exchange: set a neutral banner on each receive connector \
             (`Set-ReceiveConnector -Banner \"220 mail.example.com\"`), and keep Exchange \
             patched (cumulative and security updates)."
        }
        Mta::OpenSmtpd | Mta::Unknown => {
            "Remove the version from the greeting (the banner setting of the mail server), \
             and keep the software up to date: a version in the banner tells attackers which \
             known vulnerabilities apply."
        }
    }
}

fn tls_setup(mta: Mta) -> &'static str {
    match mta {
        Mta::Postfix => {
            "Postfix: install a certificate (`smtpd_tls_chain_files`, or `smtpd_tls_cert_file` \
             and `smtpd_tls_key_file`), set `smtpd_tls_security_level = may`, allow TLS 1.2 \
             and 1.3 (`smtpd_tls_protocols = >=TLSv1.2`), and check the `tlsmgr` service in \
             master.cf."
        }
        Mta::Sendmail => {
            "Sendmail: set define(`confSERVER_CERT'), define(`confSERVER_KEY') and \
             define(`confCACERT') in the .mc file, build Sendmail with STARTTLS support, and \
             allow TLS 1.2 and 1.3."
        }
        Mta::Exim => {
            "Exim: set `tls_certificate` and `tls_privatekey`, `tls_advertise_hosts = *`, and \
             allow TLS 1.2 and 1.3 (`openssl_options` / `tls_require_ciphers`)."
        }
        Mta::Exchange => {
            "Microsoft Exchange: bind a valid certificate to SMTP (`Enable-ExchangeCertificate \
             -Services SMTP`), keep `Tls` in the receive connector's AuthMechanism, and enable \
             TLS 1.2 in Schannel."
        }
        Mta::OpenSmtpd => {
            "OpenSMTPD: declare a `pki` with the certificate and key and listen with `tls pki \
             NAME` on port 25."
        }
        Mta::Unknown => {
            "Offer STARTTLS with a current TLS library and a valid certificate, allowing TLS \
             1.2 and 1.3, so that mail to and from this server can be encrypted."
        }
    }
}

fn certificate(mta: Mta) -> &'static str {
    match mta {
        Mta::Postfix => {
            "Postfix: install a certificate from a public CA (e.g. ACME) that names the host \
             your MX records point to, with its intermediate chain (`smtpd_tls_chain_files`), \
             automate renewal, then `postfix reload`."
        }
        Mta::Sendmail => {
            "Sendmail: install a certificate from a public CA that names the MX host \
             (`confSERVER_CERT`, `confSERVER_KEY`, chain in `confCACERT`), automate renewal, \
             and restart."
        }
        Mta::Exim => {
            "Exim: point `tls_certificate` at a full chain from a public CA that names the MX \
             host, `tls_privatekey` at its key, and automate renewal."
        }
        Mta::Exchange => {
            "Microsoft Exchange: request a certificate from a public CA that names the MX \
             host, bind it with `Enable-ExchangeCertificate -Services SMTP`, and set the \
             receive connector's `TlsCertificateName`; renew before expiry."
        }
        Mta::OpenSmtpd => {
            "OpenSMTPD: point the `pki` certificate at a full chain from a public CA that \
             names the MX host, and automate renewal (e.g. acme-client)."
        }
        Mta::Unknown => {
            "Install a certificate from a public CA that names the host your MX records point \
             to, with its full chain, and automate renewal well before expiry."
        }
    }
}

fn auth_after_tls(mta: Mta) -> &'static str {
    match mta {
        Mta::Postfix => {
            "Postfix: set `smtpd_tls_auth_only = yes` so that AUTH is offered only after \
             STARTTLS."
        }
        Mta::Sendmail => {
            "Sendmail: add `p` to confAUTH_OPTIONS (define(`confAUTH_OPTIONS', `A p')) so that \
             plaintext mechanisms need TLS."
        }
        Mta::Exim => {
            "Exim: set `auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}` so that AUTH is \
             offered only over TLS."
        }
        Mta::Exchange => {
            "Microsoft Exchange: on the receive connector, use `-AuthMechanism \
             Tls,BasicAuth,BasicAuthRequireTLS` so that basic authentication needs TLS."
        }
        Mta::OpenSmtpd => {
            "OpenSMTPD: listen with `tls-require` (or `smtps`) on the ports that take `auth`, \
             so that credentials never travel in clear text."
        }
        Mta::Unknown => {
            "Offer AUTH PLAIN and LOGIN only after STARTTLS (or on implicit TLS, port 465), \
             so that passwords never travel in clear text."
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_has_text_for_every_mta() {
        for id in FindingId::ALL {
            for mta in Mta::ALL {
                let text = remediation(id, mta);
                assert!(text.len() > 40, "{id} on {mta}: {text}");
            }
        }
    }

    #[test]
    fn relay_fix_names_each_products_setting() {
        let table = [
            (
                Mta::Postfix,
                "smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination",
            ),
            (Mta::Postfix, "mynetworks"),
            (Mta::Sendmail, "FEATURE(`relay_hosts_only')"),
            (Mta::Sendmail, "access database"),
            (Mta::Exim, "relay_from_hosts"),
            (Mta::Exim, "acl_check_rcpt"),
            (Mta::Exchange, "receive connector"),
            (Mta::Exchange, "ANONYMOUS LOGON"),
            (Mta::OpenSmtpd, "smtpd.conf"),
            (Mta::OpenSmtpd, "action \"relay\""),
            (Mta::Unknown, "authenticated users and trusted networks"),
        ];
        for (mta, needle) in table {
            let text = remediation(FindingId::OpenRelay, mta);
            assert!(text.contains(needle), "{mta}: {needle:?} not in {text}");
        }
    }

    #[test]
    fn relay_findings_carry_the_common_advice_and_others_do_not() {
        for needle in [
            "require authentication",
            "trusted networks",
            "SPF, DKIM and DMARC",
            "logs",
            "rate-limit",
            "up to date",
        ] {
            assert!(COMMON_ADVICE.contains(needle), "{needle}");
        }
        for id in FindingId::ALL {
            let relay = matches!(
                id,
                FindingId::OpenRelay
                    | FindingId::AcceptsAnyRecipient
                    | FindingId::RelayOnlyAfterStarttls
            );
            assert_eq!(
                remediation(id, Mta::Postfix).ends_with(COMMON_ADVICE),
                relay,
                "{id}"
            );
        }
    }
}

//! What a refused MAIL or RCPT demands first, STARTTLS (RFC 3207) or authentication (RFC 4954): by code, and for 530 alone by the words of its text.
//!
//! RFC 3207 §4 refuses with "530 Must issue a STARTTLS command first" and RFC 4954 §6 with
//! "530 5.7.0 Authentication required": one code (and the same enhanced code, 5.7.0) for
//! two different demands. Real servers fill it both ways: Postfix says
//! `530 5.7.0 Must issue a STARTTLS command first`, OpenSMTPD
//! `530 5.5.1 Invalid command: Must issue an AUTH command first`. So the code decides
//! everywhere else, and a 530 is read for the one word that tells them apart.

use crate::smtp::{EnhancedCode, Reply};

/// What a refusal asks the client to do before it will relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Demand {
    /// Start TLS first (RFC 3207): the relay tests must run again over TLS to decide.
    Starttls,
    /// Authenticate first (RFC 4954): the verdict is `auth-required`.
    Auth,
}

/// Words of a 530's text that name TLS. "encryption" covers "Encryption required".
const TLS_WORDS: [&str; 5] = ["starttls", "tls", "ssl", "encryption", "encrypted"];

/// Words of a 530's text that name authentication (AUTH is the RFC 4954 command).
const AUTH_WORDS: [&str; 4] = ["auth", "authentication", "authenticate", "authenticated"];

/// RFC 3463's 5.7.0, "other or undefined security status": what RFC 4954 puts on its 530.
const SECURITY_OTHER: EnhancedCode = EnhancedCode {
    class: 5,
    subject: 7,
    detail: 0,
};

/// What `reply` (to MAIL or RCPT) demands first, if anything. `offers_starttls`: the
/// server advertised STARTTLS on this connection (in plaintext, before TLS).
///
/// 1. Code 530 whose text names TLS (STARTTLS, TLS, SSL, encryption): [`Demand::Starttls`],
///    even when it names AUTH too, since TLS comes first and the tests over TLS then show
///    any demand for AUTH.
/// 2. Code 530 whose text names authentication (AUTH, authentication, ...): [`Demand::Auth`].
/// 3. Code 530 naming neither: [`Demand::Starttls`] from a server that offers STARTTLS
///    (trying costs one handshake, and the tests over TLS decide), else [`Demand::Auth`].
/// 4. Any other permanent reply with enhanced code 5.7.0 from a server that offers
///    STARTTLS: [`Demand::Starttls`] (e.g. `554 5.7.0 Encryption required`).
/// 5. Anything else demands nothing: a 554 5.7.1 is a refusal, a 4xx a deferral.
pub fn demanded(reply: &Reply, offers_starttls: bool) -> Option<Demand> {
    if reply.code == 530 {
        let text = reply.text();
        return Some(if names_any(&text, &TLS_WORDS) {
            Demand::Starttls
        } else if names_any(&text, &AUTH_WORDS) {
            Demand::Auth
        } else if offers_starttls {
            Demand::Starttls
        } else {
            Demand::Auth
        });
    }
    (offers_starttls && reply.is_permanent() && reply.enhanced == Some(SECURITY_OTHER))
        .then_some(Demand::Starttls)
}

/// Whether `text` holds one of `words` as a whole word, ignoring case ("AUTH" but not
/// "AUTHOR", "TLS" in "SSL/TLS").
fn names_any(text: &str, words: &[&str]) -> bool {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| words.iter().any(|known| w.eq_ignore_ascii_case(known)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::parse_reply;

    fn reply(line: &str) -> Reply {
        let bytes = format!("{line}\r\n");
        parse_reply(bytes.as_bytes(), &Default::default())
            .expect("a reply")
            .expect("a whole reply")
            .0
    }

    #[test]
    fn demands_by_code_then_for_530_by_text() {
        use Demand::*;
        // (reply, offers STARTTLS, demand)
        let table = [
            // Postfix, smtpd_tls_security_level = encrypt (RFC 3207's own words).
            (
                "530 5.7.0 Must issue a STARTTLS command first",
                true,
                Some(Starttls),
            ),
            // Named, so even from a server that does not advertise it: TLS is the demand.
            (
                "530 5.7.0 Must issue a STARTTLS command first",
                false,
                Some(Starttls),
            ),
            // OpenSMTPD 6.8, listen ... auth.
            (
                "530 5.5.1 Invalid command: Must issue an AUTH command first",
                true,
                Some(Auth),
            ),
            // RFC 4954 §6, aiosmtpd's auth_required.
            ("530 5.7.0 Authentication required", true, Some(Auth)),
            ("530 5.7.0 Authentication required", false, Some(Auth)),
            ("530 Authenticate first, please", true, Some(Auth)),
            // Both named: TLS first.
            (
                "530 5.7.0 STARTTLS is required before AUTH",
                true,
                Some(Starttls),
            ),
            ("530 5.7.0 SSL/TLS required", true, Some(Starttls)),
            ("530 5.7.0 Encryption required", true, Some(Starttls)),
            // Neither named: the old rule by codes.
            ("530 5.7.0 Access denied", true, Some(Starttls)),
            ("530 5.7.0 Access denied", false, Some(Auth)),
            // Whole words only: AUTHOR and TLSX name nothing.
            ("530 AUTHOR unknown", false, Some(Auth)),
            ("530 AUTHOR TLSX", true, Some(Starttls)),
            // Not 530: codes decide, the text is never read.
            ("554 5.7.0 Encryption required", true, Some(Starttls)),
            ("554 5.7.0 Authentication required", true, Some(Starttls)),
            ("554 5.7.0 Encryption required", false, None),
            ("554 5.7.1 Must issue a STARTTLS command first", true, None),
            ("454 4.7.0 TLS not available", true, None),
            ("535 5.7.8 Authentication credentials invalid", true, None),
            // 250 whose text says "530": a 250 is not a refusal.
            ("250 2.1.5 Ok id=15301 STARTTLS", true, None),
        ];
        for (line, offers, want) in table {
            assert_eq!(demanded(&reply(line), offers), want, "{line} ({offers})");
        }
    }

    #[test]
    fn every_line_of_a_530_is_read() {
        let two = Reply {
            code: 530,
            enhanced: None,
            lines: vec!["5.7.0 Access denied".into(), "use AUTH".into()],
        };
        assert_eq!(demanded(&two, true), Some(Demand::Auth));
    }
}

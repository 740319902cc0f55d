//! From a domain's MX answer to where its mail goes, without I/O: RFC 5321 §5.1 (implicit MX) and RFC 7505 (null MX).

use std::net::IpAddr;

use super::{Answer, LookupError, Mx};

/// Where a domain's mail goes, as far as the MX answer tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// These exchanges, most preferred first (ties by name), without duplicates.
    Exchanges(Vec<Mx>),
    /// No MX records: the domain itself is the mail host (RFC 5321 §5.1).
    Implicit,
    /// `MX 0 .`: the domain accepts no mail (RFC 7505); nothing is probed.
    Null,
    /// The MX lookup failed (NXDOMAIN, SERVFAIL, timeout...): no fallback.
    Failed(LookupError),
}

/// Something odd about the MX set worth a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Oddity {
    /// A null MX published alongside real ones (RFC 7505 §3 says it must stand alone);
    /// the real ones are used.
    NullMixed,
    /// The exchange is an address, not a name (RFC 7505 §3, RFC 2181 §10.3).
    IpLiteral(String),
}

/// Whether an MX exchange is written as an address (`192.0.2.1`, `[192.0.2.1]`).
pub fn is_ip_literal(exchange: &str) -> bool {
    let bare = exchange
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(exchange);
    bare.parse::<IpAddr>().is_ok()
}

/// The route of a domain from its MX answer, and the oddities found on the way.
pub fn route(answer: &Answer<Vec<Mx>>) -> (Route, Vec<Oddity>) {
    let records = match answer {
        Ok(records) => records,
        Err(LookupError::NoRecords) => return (Route::Implicit, Vec::new()),
        Err(e) => return (Route::Failed(e.clone()), Vec::new()),
    };
    let mut oddities = Vec::new();
    let real: Vec<&Mx> = records.iter().filter(|m| !m.exchange.is_empty()).collect();
    if real.is_empty() {
        // Only root exchanges: a null MX (whatever the preference, the intent is plain).
        return (Route::Null, oddities);
    }
    if real.len() < records.len() {
        oddities.push(Oddity::NullMixed);
    }
    let mut list: Vec<Mx> = real.into_iter().cloned().collect();
    list.sort_by(|a, b| (a.preference, &a.exchange).cmp(&(b.preference, &b.exchange)));
    list.dedup_by(|a, b| a.exchange == b.exchange);
    for mx in &list {
        if is_ip_literal(&mx.exchange) {
            oddities.push(Oddity::IpLiteral(mx.exchange.clone()));
        }
    }
    (Route::Exchanges(list), oddities)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mx(p: u16, e: &str) -> Mx {
        Mx {
            preference: p,
            exchange: e.into(),
        }
    }

    #[test]
    fn routes_by_table() {
        use LookupError::*;
        let table: Vec<(Answer<Vec<Mx>>, Route, Vec<Oddity>)> = vec![
            (
                Ok(vec![
                    mx(20, "b.example"),
                    mx(10, "a.example"),
                    mx(10, "0.example"),
                ]),
                Route::Exchanges(vec![
                    mx(10, "0.example"),
                    mx(10, "a.example"),
                    mx(20, "b.example"),
                ]),
                vec![],
            ),
            (Err(NoRecords), Route::Implicit, vec![]),
            (Ok(vec![mx(0, "")]), Route::Null, vec![]),
            (Ok(vec![mx(10, "")]), Route::Null, vec![]),
            (
                Ok(vec![mx(0, ""), mx(10, "a.example")]),
                Route::Exchanges(vec![mx(10, "a.example")]),
                vec![Oddity::NullMixed],
            ),
            (Err(NxDomain), Route::Failed(NxDomain), vec![]),
            (Err(ServFail), Route::Failed(ServFail), vec![]),
            (Err(Timeout), Route::Failed(Timeout), vec![]),
            (
                Ok(vec![mx(10, "192.0.2.1"), mx(10, "192.0.2.1")]),
                Route::Exchanges(vec![mx(10, "192.0.2.1")]),
                vec![Oddity::IpLiteral("192.0.2.1".into())],
            ),
            (
                Ok(vec![mx(5, "a.example"), mx(30, "a.example")]),
                Route::Exchanges(vec![mx(5, "a.example")]),
                vec![],
            ),
        ];
        for (answer, want_route, want_odd) in table {
            assert_eq!(route(&answer), (want_route, want_odd), "{answer:?}");
        }
    }

    #[test]
    fn ip_literals() {
        for (s, want) in [
            ("192.0.2.1", true),
            ("[192.0.2.1]", true),
            ("2001:db8::1", true),
            ("mx.example.com", false),
            ("192.0.2.1.example", false),
        ] {
            assert_eq!(is_ip_literal(s), want, "{s}");
        }
    }
}

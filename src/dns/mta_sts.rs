//! MTA-STS (RFC 8461), pure: the policy file's fields (version, mode, mx, max_age), whether an MX host matches a policy's `mx` patterns, and the HTTP response that carries the policy (200 only, text/plain, bounded).

use serde::{Deserialize, Serialize};

/// The most a policy body may hold: RFC 8461 §3.3 lets senders stop at 64 KiB.
pub const MAX_POLICY_BYTES: usize = 64 * 1024;
/// The most a response's status line and headers may hold before the body.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;
/// The longest `max_age` RFC 8461 §3.2 allows: 31557600 seconds, about a year.
pub const MAX_AGE_LIMIT: u64 = 31_557_600;

/// The policy host of a domain: `mta-sts.DOMAIN`.
pub fn policy_host(domain: &str) -> String {
    format!("mta-sts.{}", super::normalize_name(domain))
}

/// The URL a sender fetches (RFC 8461 §3.3).
pub fn policy_url(domain: &str) -> String {
    format!("https://{}/.well-known/mta-sts.txt", policy_host(domain))
}

/// The `id=` of an `_mta-sts` TXT record (RFC 8461 §3.1: 1 to 32 letters and digits),
/// or why the record is not one senders act on.
pub fn txt_id(raw: &str) -> Result<String, String> {
    let fields: Vec<&str> = raw.split(';').map(str::trim).collect();
    if fields.first() != Some(&"v=STSv1") {
        return Err(format!("{raw:?} does not begin with v=STSv1"));
    }
    let id = fields
        .iter()
        .find_map(|f| f.strip_prefix("id="))
        .ok_or_else(|| format!("{raw:?} has no id= field"))?;
    if id.is_empty() || id.len() > 32 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!("id={id:?} is not 1 to 32 letters and digits"));
    }
    Ok(id.to_string())
}

/// What a policy asks of senders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StsMode {
    /// Deliver only over TLS to a matching MX with a valid certificate.
    Enforce,
    /// Deliver anyway, and report failures (TLS-RPT).
    Testing,
    /// No policy: senders forget an earlier one.
    None,
}

impl StsMode {
    pub fn as_str(self) -> &'static str {
        match self {
            StsMode::Enforce => "enforce",
            StsMode::Testing => "testing",
            StsMode::None => "none",
        }
    }
}

/// One policy file, parsed. `problems` empty means valid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StsPolicy {
    pub version: Option<String>,
    pub mode: Option<StsMode>,
    /// The `mx` patterns, in file order (`mx.example.com`, `*.example.net`).
    pub mx: Vec<String>,
    pub max_age: Option<u64>,
    pub problems: Vec<String>,
}

impl StsPolicy {
    pub fn valid(&self) -> bool {
        self.problems.is_empty()
    }

    /// Whether `host` matches one of the policy's `mx` patterns.
    pub fn covers(&self, host: &str) -> bool {
        self.mx.iter().any(|p| mx_matches(p, host))
    }
}

/// Parses a policy body (RFC 8461 §3.2): `key: value` lines, CRLF or LF; unknown keys
/// are ignored, as the RFC says; each missing or bad required field is one problem.
pub fn parse_policy(body: &str) -> StsPolicy {
    let mut p = StsPolicy::default();
    let mut mode_text: Option<String> = None;
    for (n, line) in body.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            p.problems
                .push(format!("line {}: {line:?} is not \"key: value\"", n + 1));
            continue;
        };
        let value = value.trim().to_string();
        match key.trim() {
            "version" => p.version = Some(value),
            "mode" => mode_text = Some(value),
            "mx" => p.mx.push(value.to_ascii_lowercase()),
            "max_age" => match value.parse::<u64>() {
                Ok(age) if age <= MAX_AGE_LIMIT => p.max_age = Some(age),
                _ => p.problems.push(format!(
                    "max_age {value:?} is not a whole number of seconds up to {MAX_AGE_LIMIT}"
                )),
            },
            _ => {}
        }
    }
    match p.version.as_deref() {
        Some("STSv1") => {}
        Some(other) => p
            .problems
            .push(format!("version {other:?}: only STSv1 exists")),
        None => p.problems.push("no version field".into()),
    }
    p.mode = match mode_text.as_deref() {
        Some("enforce") => Some(StsMode::Enforce),
        Some("testing") => Some(StsMode::Testing),
        Some("none") => Some(StsMode::None),
        Some(other) => {
            p.problems
                .push(format!("mode {other:?}: expected enforce, testing or none"));
            None
        }
        None => {
            p.problems.push("no mode field".into());
            None
        }
    };
    if p.max_age.is_none() && !p.problems.iter().any(|e| e.starts_with("max_age")) {
        p.problems.push("no max_age field".into());
    }
    if p.mx.is_empty() && p.mode != Some(StsMode::None) {
        p.problems
            .push("no mx field (required unless mode is none)".into());
    }
    p
}

/// RFC 8461 §4.1: a pattern is a host name, or `*.` and a name that matches one more
/// leftmost label (`*.example.com` covers `mx.example.com`, not `a.b.example.com` nor
/// `example.com`). Case and a trailing dot do not matter.
pub fn mx_matches(pattern: &str, host: &str) -> bool {
    let pattern = super::normalize_name(pattern);
    let host = super::normalize_name(host);
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
        None => pattern == host,
    }
}

/// Why a response does not carry a policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    #[error("the response has no complete status line and headers")]
    Incomplete,
    #[error("the status line and headers exceed {MAX_HEAD_BYTES} bytes")]
    HeadTooLong,
    #[error("status {0}: only 200 is a policy (RFC 8461 §3.3 forbids following redirects)")]
    Status(String),
    #[error("Content-Type {0:?}: a policy is text/plain")]
    ContentType(String),
    #[error("the body exceeds {MAX_POLICY_BYTES} bytes")]
    TooLarge,
    #[error("malformed chunked body")]
    BadChunks,
}

/// The policy text in a whole HTTP/1.1 response (read until the server closed):
/// status 200, `Content-Type: text/plain`, the body by `Content-Length`, chunked
/// encoding, or to the end, at most [`MAX_POLICY_BYTES`].
pub fn policy_body(response: &[u8]) -> Result<String, ResponseError> {
    let end = response.windows(4).position(|w| w == b"\r\n\r\n").ok_or(
        if response.len() > MAX_HEAD_BYTES {
            ResponseError::HeadTooLong
        } else {
            ResponseError::Incomplete
        },
    )?;
    if end > MAX_HEAD_BYTES {
        return Err(ResponseError::HeadTooLong);
    }
    let head = String::from_utf8_lossy(&response[..end]);
    let body = &response[end + 4..];
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    let code = status.split_whitespace().nth(1).unwrap_or_default();
    if !status.starts_with("HTTP/1.") || code != "200" {
        return Err(ResponseError::Status(status.to_string()));
    }
    let header = |name: &str| {
        head.split("\r\n").skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    let content_type = header("content-type").unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or_default().trim();
    if !media.eq_ignore_ascii_case("text/plain") {
        return Err(ResponseError::ContentType(content_type));
    }
    let chunked = header("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(body)?
    } else {
        match header("content-length").and_then(|l| l.parse::<usize>().ok()) {
            Some(len) if len > MAX_POLICY_BYTES => return Err(ResponseError::TooLarge),
            Some(len) => body.get(..len).ok_or(ResponseError::Incomplete)?.to_vec(),
            None => body.to_vec(),
        }
    };
    if body.len() > MAX_POLICY_BYTES {
        return Err(ResponseError::TooLarge);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// The data of a chunked body (RFC 9112 §7.1), bounded by [`MAX_POLICY_BYTES`].
fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, ResponseError> {
    let mut out = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or(ResponseError::BadChunks)?;
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| ResponseError::BadChunks)?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if out.len() + size > MAX_POLICY_BYTES {
            return Err(ResponseError::TooLarge);
        }
        out.extend_from_slice(rest.get(..size).ok_or(ResponseError::BadChunks)?);
        rest = rest.get(size + 2..).ok_or(ResponseError::BadChunks)?;
    }
}

/// A domain's policy as fetched: where from, and the policy or why there is none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StsFetch {
    pub url: String,
    /// The address the policy came from (or the last one tried).
    pub address: Option<std::net::IpAddr>,
    pub policy: Option<StsPolicy>,
    /// Why no policy was read: no address, out of scope, TLS, HTTP, size, time.
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_by_table() {
        // (body, mode, mx, max_age, problems)
        type Row = (
            &'static str,
            Option<StsMode>,
            Vec<&'static str>,
            Option<u64>,
            Vec<&'static str>,
        );
        let table: Vec<Row> = vec![
            (
                "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n",
                Some(StsMode::Enforce),
                vec!["mx1.example.com", "*.example.net"],
                Some(604_800),
                vec![],
            ),
            (
                "version: STSv1\nmode: testing\nmx: MX.Example.com\nmax_age: 86400\nextension: ignored\n",
                Some(StsMode::Testing),
                vec!["mx.example.com"],
                Some(86_400),
                vec![],
            ),
            (
                "version: STSv1\nmode: none\nmax_age: 0\n",
                Some(StsMode::None),
                vec![],
                Some(0),
                vec![],
            ),
            (
                "version: STSv2\nmode: always\nmax_age: forever\n",
                None,
                vec![],
                None,
                vec![
                    "max_age \"forever\" is not a whole number of seconds up to 31557600",
                    "version \"STSv2\": only STSv1 exists",
                    "mode \"always\": expected enforce, testing or none",
                    "no mx field (required unless mode is none)",
                ],
            ),
            (
                "mode: enforce\nmx: mx.example.com\nmax_age: 31557601\n",
                Some(StsMode::Enforce),
                vec!["mx.example.com"],
                None,
                vec![
                    "max_age \"31557601\" is not a whole number of seconds up to 31557600",
                    "no version field",
                ],
            ),
            (
                "<html>not a policy</html>",
                None,
                vec![],
                None,
                vec![
                    "line 1: \"<html>not a policy</html>\" is not \"key: value\"",
                    "no version field",
                    "no mode field",
                    "no max_age field",
                    "no mx field (required unless mode is none)",
                ],
            ),
        ];
        for (body, mode, mx, max_age, problems) in table {
            let p = parse_policy(body);
            assert_eq!(
                (p.mode, p.mx.clone(), p.max_age, p.problems.clone()),
                (
                    mode,
                    mx.iter().map(|s| s.to_string()).collect(),
                    max_age,
                    problems.iter().map(|s| s.to_string()).collect()
                ),
                "{body:?}"
            );
            assert_eq!(p.valid(), problems.is_empty());
        }
    }

    #[test]
    fn txt_ids() {
        let table = [
            ("v=STSv1; id=20240101T000000", Ok("20240101T000000")),
            ("v=STSv1;id=abc;", Ok("abc")),
            (
                "v=STSv1; id=",
                Err("id=\"\" is not 1 to 32 letters and digits"),
            ),
            (
                "v=STSv1; id=a-b",
                Err("id=\"a-b\" is not 1 to 32 letters and digits"),
            ),
            ("v=STSv1", Err("\"v=STSv1\" has no id= field")),
            (
                "id=1; v=STSv1",
                Err("\"id=1; v=STSv1\" does not begin with v=STSv1"),
            ),
        ];
        for (raw, want) in table {
            assert_eq!(
                txt_id(raw),
                want.map(str::to_string).map_err(str::to_string),
                "{raw}"
            );
        }
        assert!(txt_id(&format!("v=STSv1; id={}", "a".repeat(33))).is_err());
    }

    #[test]
    fn mx_patterns() {
        let table = [
            ("mx.example.com", "mx.example.com", true),
            ("mx.example.com", "MX.example.com.", true),
            ("mx.example.com", "mx2.example.com", false),
            ("*.example.com", "mx.example.com", true),
            ("*.example.com", "a.b.example.com", false),
            ("*.example.com", "example.com", false),
            ("*.example.com", "mx.example.net", false),
        ];
        for (pattern, host, want) in table {
            assert_eq!(mx_matches(pattern, host), want, "{pattern} vs {host}");
        }
        let p = parse_policy("version: STSv1\nmode: enforce\nmx: *.lab.test\nmax_age: 60\n");
        assert!(p.covers("mx1.lab.test") && !p.covers("mx.other.test"));
        assert_eq!(
            policy_url("Example.COM."),
            "https://mta-sts.example.com/.well-known/mta-sts.txt"
        );
    }

    #[test]
    fn responses_by_table() {
        let ok = "version: STSv1\r\nmode: enforce\r\n";
        let big = "a".repeat(MAX_POLICY_BYTES + 1);
        let table: Vec<(String, Result<&str, ResponseError>)> = vec![
            (
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\r\n{ok}",
                    ok.len()
                ),
                Ok(ok),
            ),
            (
                format!("HTTP/1.1 200 OK\r\ncontent-type: TEXT/PLAIN\r\n\r\n{ok}"),
                Ok(ok),
            ),
            (
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n8\r\nversion:\r\n6\r\n STSv1\r\n0\r\n\r\n".to_string(),
                Ok("version: STSv1"),
            ),
            (
                "HTTP/1.1 301 Moved Permanently\r\nLocation: https://elsewhere/\r\n\r\n".to_string(),
                Err(ResponseError::Status("HTTP/1.1 301 Moved Permanently".into())),
            ),
            (
                "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\r\n".to_string(),
                Err(ResponseError::Status("HTTP/1.1 404 Not Found".into())),
            ),
            (
                format!("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n{ok}"),
                Err(ResponseError::ContentType("text/html".into())),
            ),
            (
                format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n{big}"),
                Err(ResponseError::TooLarge),
            ),
            (
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 99999999\r\n\r\n"
                    .to_string(),
                Err(ResponseError::TooLarge),
            ),
            (
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".to_string(),
                Err(ResponseError::BadChunks),
            ),
            ("HTTP/1.1 200 OK\r\n".to_string(), Err(ResponseError::Incomplete)),
            (
                format!("HTTP/1.1 200 OK\r\nX: {}", "a".repeat(MAX_HEAD_BYTES + 1)),
                Err(ResponseError::HeadTooLong),
            ),
        ];
        for (response, want) in table {
            let got = policy_body(response.as_bytes());
            let shown = &response[..response.len().min(80)];
            assert_eq!(got, want.map(str::to_string), "{shown:?}");
        }
    }
}

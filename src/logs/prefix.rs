//! The syslog prefix of one mail-log line: when, which program, and the message after it (RFC 3164, RFC 5424, ISO timestamps of journald/rsyslog, Postfix's own maillog_file, Exim's mainlog).
//!
//! Formats, with their sources:
//! - RFC 3164 §4.1.2 (BSD syslog, and `journalctl -o short`): `[<PRI>]Mmm dd hh:mm:ss HOST TAG[PID]: MSG`,
//!   the day space-padded (`Dec  7`); no year, inferred by [`infer_year`].
//! - Postfix `maillog_file` (postlogd(8), Postfix ≥ 3.4): `Mmm dd hh:mm:ss HOST postfix/smtpd[PID]: MSG`,
//!   the day zero-padded (`Dec 07`), as the test bed writes it.
//! - RFC 5424 §6: `<PRI>1 TIMESTAMP HOST APP-NAME PROCID MSGID STRUCTURED-DATA MSG`, the timestamp
//!   RFC 3339 or `-`, structured data `-` or `[...]` elements.
//! - ISO (journalctl `-o short-iso`/`short-iso-precise`, rsyslog `RSYSLOG_FileFormat`):
//!   `2026-12-07T05:13:12[.ffffff](+0000|+00:00|Z) HOST TAG[PID]: MSG`.
//! - Exim's own mainlog (Exim specification, chapter "Log files"): `2026-12-07 05:13:12 [+0100 ][[PID] ]MSG`,
//!   no host or program.

/// One line's prefix: the time (Unix seconds, UTC; a time without a zone is taken as UTC),
/// the program (`postfix/smtpd`, `sm-mta`, `exim`; `None` in Exim's mainlog) and the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefixed<'a> {
    pub time: Option<i64>,
    pub program: Option<&'a str>,
    pub message: &'a str,
}

/// The year and month a log without years ends in (its file's modification time, or now).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YearHint {
    pub year: i32,
    pub month: u32,
}

impl YearHint {
    /// The year and month of Unix time `secs` (UTC).
    pub fn of(secs: i64) -> YearHint {
        let (year, month, _) = civil_from_days(secs.div_euclid(86_400));
        YearHint { year, month }
    }
}

/// The year of an RFC 3164 line dated in `month`, in a log that ends by `hint`: a month
/// later than the hint's is last year's (a December line read in January), so a log of up
/// to twelve months is dated right, which is what rotated logs hold.
pub fn infer_year(month: u32, hint: YearHint) -> i32 {
    if month > hint.month {
        hint.year - 1
    } else {
        hint.year
    }
}

/// Splits `line` into its prefix and message; `None` when no known prefix starts it.
pub fn parse(line: &str, hint: YearHint) -> Option<Prefixed<'_>> {
    let b = line.as_bytes();
    if b.first() == Some(&b'<') {
        let close = line.get(..6)?.find('>')?;
        let rest = &line[close + 1..];
        if let Some(v5424) = rest.strip_prefix("1 ") {
            return rfc5424(v5424);
        }
        return parse_unprefixed(rest, hint);
    }
    parse_unprefixed(line, hint)
}

fn parse_unprefixed(line: &str, hint: YearHint) -> Option<Prefixed<'_>> {
    let b = line.as_bytes();
    if b.len() >= 19 && b[0].is_ascii_digit() {
        if b[10] == b'T' {
            let (time, rest) = iso_time(line)?;
            return tagged(rest, Some(time));
        }
        if b[10] == b' ' {
            return exim_mainlog(line);
        }
        return None;
    }
    rfc3164(line, hint)
}

/// `Mmm dd hh:mm:ss HOST TAG: MSG`.
fn rfc3164(line: &str, hint: YearHint) -> Option<Prefixed<'_>> {
    let b = line.as_bytes();
    if b.len() < 16 || b[3] != b' ' || b[6] != b' ' {
        return None;
    }
    let month = month_number(&b[..3])?;
    let day = match (b[4], b[5]) {
        (b' ', d) | (b'0', d) if d.is_ascii_digit() => u32::from(d - b'0'),
        (t, d) if t.is_ascii_digit() && d.is_ascii_digit() => {
            u32::from(t - b'0') * 10 + u32::from(d - b'0')
        }
        _ => return None,
    };
    let secs = clock(&b[7..15])?;
    if b[15] != b' ' {
        return None;
    }
    let year = infer_year(month, hint);
    let time = days_from_civil(year, month, day)? * 86_400 + secs;
    tagged(&line[16..], Some(time))
}

/// `HOST TAG[PID]: MSG` after a timestamp.
fn tagged(rest: &str, time: Option<i64>) -> Option<Prefixed<'_>> {
    let (_host, rest) = rest.split_once(' ')?;
    let (tag, message) = super::event::split_pair(rest, ": ")?;
    if tag.is_empty() || tag.contains(' ') {
        return None;
    }
    let program = tag.split_once('[').map_or(tag, |(p, _)| p);
    Some(Prefixed {
        time,
        program: Some(program),
        message,
    })
}

/// RFC 5424 after `<PRI>1 `: `TIMESTAMP HOST APP PROCID MSGID SD MSG`.
fn rfc5424(rest: &str) -> Option<Prefixed<'_>> {
    let mut parts = rest.splitn(6, ' ');
    let stamp = parts.next()?;
    let _host = parts.next()?;
    let app = parts.next()?;
    let _procid = parts.next()?;
    let _msgid = parts.next()?;
    let sd_and_msg = parts.next().unwrap_or("");
    let time = if stamp == "-" {
        None
    } else {
        Some(iso_time(stamp)?.0)
    };
    let message = skip_structured_data(sd_and_msg)?;
    // An optional UTF-8 byte-order mark starts MSG (RFC 5424 §6.4).
    let message = message.strip_prefix('\u{feff}').unwrap_or(message);
    Some(Prefixed {
        time,
        program: (app != "-").then_some(app),
        message,
    })
}

/// Skips `-` or `[...][...]` (with `\]` escapes) and the space after it.
fn skip_structured_data(s: &str) -> Option<&str> {
    if let Some(rest) = s.strip_prefix('-') {
        return Some(rest.strip_prefix(' ').unwrap_or(rest));
    }
    let b = s.as_bytes();
    let mut i = 0;
    while b.get(i) == Some(&b'[') {
        i += 1;
        loop {
            match b.get(i)? {
                b'\\' => i += 2,
                b']' => {
                    i += 1;
                    break;
                }
                _ => i += 1,
            }
        }
    }
    if i == 0 {
        return None;
    }
    let rest = &s[i..];
    Some(rest.strip_prefix(' ').unwrap_or(rest))
}

/// Exim's mainlog: `YYYY-MM-DD HH:MM:SS [+ZZZZ ][[PID] ]MSG` (the zone with
/// `log_timezone`, the pid with `log_selector = +pid`).
fn exim_mainlog(line: &str) -> Option<Prefixed<'_>> {
    let b = line.as_bytes();
    let days = date(&b[..10])?;
    let secs = clock(&b[11..19])?;
    let mut rest = line.get(19..)?.strip_prefix(' ')?;
    let mut offset = 0;
    if let Some(zone) = rest.get(..5).and_then(zone_offset) {
        offset = zone;
        rest = rest[5..].strip_prefix(' ').unwrap_or(&rest[5..]);
    }
    if rest.starts_with('[')
        && let Some((_, after)) = rest.split_once("] ")
    {
        rest = after;
    }
    Some(Prefixed {
        time: Some(days * 86_400 + secs - offset),
        program: None,
        message: rest,
    })
}

/// An RFC 3339 / ISO 8601 time at the start of `s` and what follows it (after one space):
/// `2026-12-07T05:13:12[.fff](Z|+hh:mm|+hhmm)`.
pub fn iso_time(s: &str) -> Option<(i64, &str)> {
    let b = s.as_bytes();
    if b.len() < 19 || b[10] != b'T' {
        return None;
    }
    let days = date(&b[..10])?;
    let secs = clock(&b[11..19])?;
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    let mut offset = 0;
    match b.get(i) {
        Some(b'Z') => i += 1,
        Some(b'+' | b'-') => {
            let zone = s.get(i..i + 6).filter(|z| z.as_bytes()[3] == b':');
            if let Some(z) = zone {
                let z = z.as_bytes();
                let joined = [z[0], z[1], z[2], z[4], z[5]];
                offset = zone_offset(std::str::from_utf8(&joined).ok()?)?;
                i += 6;
            } else {
                offset = zone_offset(s.get(i..i + 5)?)?;
                i += 5;
            }
        }
        _ => {}
    }
    let rest = &s[i..];
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    Some((days * 86_400 + secs - offset, rest))
}

/// A time given on the command line (`--since`, `--until`): `2026-12-07` (midnight UTC),
/// `2026-12-07T05:00:00Z` / with an offset, or `2026-12-07 05:00:00` (UTC).
pub fn parse_when(s: &str) -> Result<i64, String> {
    let expected = "expected 2026-12-07, 2026-12-07T05:00:00Z or 2026-12-07 05:00:00";
    let b = s.as_bytes();
    let parsed = match b.len() {
        10 => date(b).map(|d| d * 86_400),
        19 if b[10] == b' ' => date(&b[..10]).and_then(|d| Some(d * 86_400 + clock(&b[11..19])?)),
        _ => iso_time(s)
            .filter(|(_, rest)| rest.is_empty())
            .map(|(t, _)| t),
    };
    parsed.ok_or_else(|| format!("{s:?}: not a time ({expected})"))
}

/// `+hhmm` / `-hhmm` in seconds east of UTC.
fn zone_offset(z: &str) -> Option<i64> {
    let b = z.as_bytes();
    if b.len() != 5 || !b[1..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sign = match b[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let n = |i: usize| i64::from(b[i] - b'0');
    Some(sign * ((n(1) * 10 + n(2)) * 3600 + (n(3) * 10 + n(4)) * 60))
}

/// `YYYY-MM-DD` as days since 1970-01-01.
fn date(b: &[u8]) -> Option<i64> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits(&b[..4])? as i32;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    days_from_civil(year, month, day)
}

/// `hh:mm:ss` as seconds since midnight (a leap second 60 is let through).
fn clock(b: &[u8]) -> Option<i64> {
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, s) = (digits(&b[..2])?, digits(&b[3..5])?, digits(&b[6..8])?);
    (h < 24 && m < 60 && s <= 60).then(|| i64::from(h * 3600 + m * 60 + s))
}

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |n, d| {
        d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
    })
}

fn month_number(b: &[u8]) -> Option<u32> {
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    MONTHS
        .iter()
        .position(|m| m[..] == *b)
        .map(|i| i as u32 + 1)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`),
/// `None` for a day that does not exist.
pub fn days_from_civil(year: i32, month: u32, day: u32) -> Option<i64> {
    const DAYS: [u32; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&month) || day == 0 || day > DAYS[month as usize - 1] {
        return None;
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if month == 2 && day == 29 && !leap {
        return None;
    }
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// The inverse of [`days_from_civil`]: (year, month, day).
pub fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    (year, month, day)
}

/// Unix seconds as `2026-12-07T05:13:12Z`.
pub fn format_time(secs: i64) -> String {
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const HINT: YearHint = YearHint {
        year: 2026,
        month: 12,
    };

    fn at(s: &str) -> i64 {
        iso_time(s).unwrap().0
    }

    #[test]
    fn prefix_table() {
        // (line, time, program, message)
        let table: [(&str, Option<&str>, Option<&str>, &str); 9] = [
            // The test bed's Postfix maillog_file (postlogd), copied from a run.
            (
                "Dec 07 05:13:12 open postfix/smtpd[2032]: connect from localhost[127.0.0.1]",
                Some("2026-12-07T05:13:12Z"),
                Some("postfix/smtpd"),
                "connect from localhost[127.0.0.1]",
            ),
            // RFC 3164 §5.4's example shape, space-padded day, with a PRI.
            (
                "<34>Oct  1 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
                Some("2026-10-01T22:14:15Z"),
                Some("su"),
                "'su root' failed for lonvick on /dev/pts/8",
            ),
            // RFC 5424 §6.5 example 1.
            (
                "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - BOM'su root' failed",
                Some("2003-10-11T22:14:15Z"),
                Some("su"),
                "BOM'su root' failed",
            ),
            // RFC 5424 §6.5 example 3, structured data, offset -07:00.
            (
                "<165>1 2003-10-11T22:14:15.003-07:00 mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventID=\"1011\"] An application event",
                Some("2003-10-12T05:14:15Z"),
                Some("evntslog"),
                "An application event",
            ),
            // journalctl -o short-iso.
            (
                "2026-12-07T06:13:12+0100 mx postfix/qmgr[1620]: B3CC99A8335: removed",
                Some("2026-12-07T05:13:12Z"),
                Some("postfix/qmgr"),
                "B3CC99A8335: removed",
            ),
            // rsyslog RSYSLOG_FileFormat.
            (
                "2026-12-07T05:13:12.123456+00:00 mx sm-mta[812]: x: stat=Sent",
                Some("2026-12-07T05:13:12Z"),
                Some("sm-mta"),
                "x: stat=Sent",
            ),
            // Exim mainlog, from the Exim specification's log examples.
            (
                "2026-12-07 05:13:12 1wS3Xa-000Ab1-2Z Completed",
                Some("2026-12-07T05:13:12Z"),
                None,
                "1wS3Xa-000Ab1-2Z Completed",
            ),
            // Exim with log_timezone and +pid.
            (
                "2026-12-07 06:13:12 +0100 [4711] 1wS3Xa-000Ab1-2Z Completed",
                Some("2026-12-07T05:13:12Z"),
                None,
                "1wS3Xa-000Ab1-2Z Completed",
            ),
            // A journald line without a pid.
            (
                "Jan  2 00:00:01 mx postfix/anvil: statistics: max cache size 1",
                Some("2026-01-02T00:00:01Z"),
                Some("postfix/anvil"),
                "statistics: max cache size 1",
            ),
        ];
        for (line, time, program, message) in table {
            let p = parse(line, HINT).unwrap_or_else(|| panic!("{line}"));
            assert_eq!(p.time, time.map(at), "{line}");
            assert_eq!(p.program, program, "{line}");
            assert_eq!(p.message, message, "{line}");
        }
    }

    #[test]
    fn not_a_prefix_table() {
        for line in [
            "",
            "hello world",
            "Foo 07 05:13:12 host prog: x",
            "Dec 32 05:13:12 host prog: x",
            "Dec 07 25:13:12 host prog: x",
            "2026-13-07T05:13:12Z host prog: x",
            "2026-02-30 05:13:12 x",
            "<34>1 2003-10-11T22:14:15.003Z host app - - [unterminated",
            "B3CC99A8335: removed",
        ] {
            assert_eq!(parse(line, HINT), None, "{line:?}");
        }
    }

    #[test]
    fn year_inference_table() {
        let jan = YearHint {
            year: 2027,
            month: 1,
        };
        // (month of the line, hint, year)
        for (month, hint, want) in [
            (12, jan, 2026),
            (1, jan, 2027),
            (6, HINT, 2026),
            (12, HINT, 2026),
        ] {
            assert_eq!(infer_year(month, hint), want, "{month} {hint:?}");
        }
        assert_eq!(YearHint::of(at("2027-01-03T00:00:00Z")), jan);
    }

    #[test]
    fn command_line_times_table() {
        for (given, want) in [
            ("2026-12-07", Some("2026-12-07T00:00:00Z")),
            ("2026-12-07 05:13:12", Some("2026-12-07T05:13:12Z")),
            ("2026-12-07T06:13:12+01:00", Some("2026-12-07T05:13:12Z")),
            ("2026-12-07T05:13:12Z", Some("2026-12-07T05:13:12Z")),
            ("2026-12-07T05:13:12Z trailing", None),
            ("yesterday", None),
            ("2026-02-30", None),
        ] {
            let got = parse_when(given);
            assert_eq!(got.as_ref().ok().copied(), want.map(at), "{given}");
            if let Err(e) = got {
                assert!(e.contains("not a time"), "{e}");
            }
        }
    }

    #[test]
    fn civil_round_trip() {
        for days in [-1, 0, 59, 365, 11_016, 20_819, 100_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), Some(days));
        }
        assert_eq!(days_from_civil(2024, 2, 29), Some(19_782));
        assert_eq!(days_from_civil(2026, 2, 29), None);
        assert_eq!(
            format_time(at("2026-12-07T05:13:12Z")),
            "2026-12-07T05:13:12Z"
        );
    }
}

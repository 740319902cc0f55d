//! Durations on the command line: `500ms`, `5s`, `1.5s`, `2m`, `1h`, or a bare number of seconds.

use std::time::Duration;

/// The longest duration any flag takes: a day.
const MAX_SECONDS: f64 = 86_400.0;

/// Parses `500ms`, `5s`, `1.5s`, `2m`, `1h`, or a bare number of seconds (0 to 24h).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (t, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (examples: 500ms, 5s, 2m)"))?;
    if !value.is_finite() || value < 0.0 || value * scale > MAX_SECONDS {
        return Err(format!("{text:?} is out of range (0 to 24h)"));
    }
    Ok(Duration::from_secs_f64(value * scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_table() {
        let good = [
            ("500ms", 500),
            ("5s", 5000),
            ("1.5s", 1500),
            ("2m", 120_000),
            ("10", 10_000),
            (" 3s ", 3000),
            ("0ms", 0),
        ];
        for (text, ms) in good {
            assert_eq!(
                parse_duration(text).unwrap(),
                Duration::from_millis(ms),
                "{text}"
            );
        }
        for bad in ["", "s", "fast", "-1s", "5 parsecs", "NaNs", "25h"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
    }
}

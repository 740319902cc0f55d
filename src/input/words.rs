//! The words of a list flag (`--blocklists`, `--dkim-selectors`): a comma list, or a file of them (one a line, `#` comments) when the value names an existing file; each word with where it was written, so that an error can name `FILE:LINE`.

use std::path::Path;

/// List files are short: 1 MiB is tens of thousands of words.
const MAX_LIST_FILE_BYTES: u64 = 1 << 20;

/// Each word of `spec` with its place: `FILE:LINE`, or `FLAG "SPEC"`. Blank words (and
/// comment-only lines) are dropped.
pub fn list_words(flag: &str, spec: &str) -> Result<Vec<(String, String)>, String> {
    let path = Path::new(spec);
    if path.is_file() {
        let text = super::read_text(path, MAX_LIST_FILE_BYTES).map_err(|e| e.to_string())?;
        Ok(text
            .lines()
            .enumerate()
            .map(|(i, l)| (format!("{spec}:{}", i + 1), l))
            .map(|(at, l)| (at, l.split('#').next().unwrap_or("").trim().to_string()))
            .filter(|(_, l)| !l.is_empty())
            .collect())
    } else {
        Ok(spec
            .split(',')
            .map(|w| (format!("{flag} {spec:?}"), w.trim().to_string()))
            .filter(|(_, w)| !w.is_empty())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comma_list_or_a_file_with_line_numbers() {
        let got = list_words("--x", "a, b,,c").unwrap();
        let words: Vec<&str> = got.iter().map(|(_, w)| w.as_str()).collect();
        assert_eq!(words, ["a", "b", "c"]);
        assert_eq!(got[0].0, "--x \"a, b,,c\"");

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("list.txt");
        std::fs::write(&file, "# head\none\n\n  two # why\n").unwrap();
        let spec = file.to_str().unwrap();
        let got = list_words("--x", spec).unwrap();
        assert_eq!(
            got,
            [
                (format!("{spec}:2"), "one".to_string()),
                (format!("{spec}:4"), "two".to_string())
            ]
        );
    }
}

//! Just enough Markdown for the doc tests: prose lines outside code, links, heading anchors (GitHub's slugs), sections and pipe tables. Pure; table-tested below.

use std::collections::BTreeSet;

/// Lines outside fenced code blocks, 1-based line number first, inline code spans removed.
/// Links and headings live here; text inside code is an example, not a link.
pub fn prose_lines(text: &str) -> Vec<(usize, String)> {
    let mut in_fence = false;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if is_fence(line) {
            in_fence = !in_fence;
            continue;
        }
        if !in_fence {
            out.push((n + 1, without_code_spans(line)));
        }
    }
    out
}

fn is_fence(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("```") || t.starts_with("~~~")
}

/// The line with every inline code span (a run of N backticks to the next run of N) removed.
fn without_code_spans(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let ticks = after.len() - after.trim_start_matches('`').len();
        let body = &after[ticks..];
        let fence = &after[..ticks];
        match body.find(fence) {
            Some(end) => rest = &body[end + ticks..],
            // An unclosed run is literal text (CommonMark).
            None => {
                out.push_str(after);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The targets of `[text](target)` links and `![alt](target)` images in one prose line.
pub fn link_targets(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("](") {
        let tail = &rest[at + 2..];
        let end = tail
            .find(|c: char| c == ')' || c.is_whitespace())
            .unwrap_or(tail.len());
        out.push(tail[..end].to_string());
        rest = &tail[end..];
    }
    out
}

/// The text of an ATX heading line (`## Text`), if it is one.
fn heading_text(line: &str) -> Option<&str> {
    let hashes = line.len() - line.trim_start_matches('#').len();
    if !(1..=6).contains(&hashes) {
        return None;
    }
    let rest = &line[hashes..];
    rest.starts_with(' ')
        .then(|| rest.trim().trim_end_matches('#').trim())
}

/// GitHub's anchor for a heading: lowercase; letters, digits, `-` and `_` kept; spaces
/// become `-`; everything else (backticks, punctuation) dropped.
pub fn slug(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Every anchor a page offers; a repeated heading gets `-1`, `-2`, ... as on GitHub.
pub fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut in_fence = false;
    for line in text.lines() {
        if is_fence(line) {
            in_fence = !in_fence;
            continue;
        }
        let Some(heading) = heading_text(line).filter(|_| !in_fence) else {
            continue;
        };
        let base = slug(heading);
        let mut anchor = base.clone();
        let mut n = 0;
        while seen.contains(&anchor) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
        seen.insert(anchor);
    }
    seen
}

/// The lines of the section under the heading line `heading` (exactly, e.g. `## Findings`),
/// up to the next heading of the same or a higher level.
pub fn section<'a>(text: &'a str, heading: &str) -> Option<Vec<&'a str>> {
    let level = heading.len() - heading.trim_start_matches('#').len();
    let mut lines = text.lines().skip_while(|l| l.trim_end() != heading);
    lines.next()?;
    Some(
        lines
            .take_while(|l| {
                let hashes = l.len() - l.trim_start_matches('#').len();
                !(heading_text(l).is_some() && hashes <= level)
            })
            .collect(),
    )
}

/// One pipe table: its header cells and its body rows' cells, trimmed.
#[derive(Debug, PartialEq)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// The pipe tables among `lines` (a header row, a `|---|` row, then body rows). Cells are
/// split at every `|` not escaped as `\|`.
pub fn tables(lines: &[&str]) -> Vec<Table> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let is_header = lines[i].trim_start().starts_with('|')
            && lines
                .get(i + 1)
                .is_some_and(|l| l.trim_start().starts_with("|-") || l.contains("|---"));
        if !is_header {
            i += 1;
            continue;
        }
        let header = cells(lines[i]);
        i += 2;
        let mut rows = Vec::new();
        while i < lines.len() && lines[i].trim_start().starts_with('|') {
            rows.push(cells(lines[i]));
            i += 1;
        }
        out.push(Table { header, rows });
    }
    out
}

fn cells(row: &str) -> Vec<String> {
    let row = row.trim().trim_start_matches('|');
    let row = row.strip_suffix('|').unwrap_or(row);
    let mut out = vec![String::new()];
    let mut chars = row.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                out.last_mut().expect("one cell").push('|');
                chars.next();
            }
            '|' => out.push(String::new()),
            c => out.last_mut().expect("one cell").push(c),
        }
    }
    out.into_iter().map(|c| c.trim().to_string()).collect()
}

/// The contents of the inline code spans of a cell: `` `a`, `b` `` gives a and b.
pub fn code_spans(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The body of the first fenced code block whose first line is `first`, without that line.
pub fn fenced_block_after(text: &str, first: &str) -> Option<Vec<String>> {
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if !is_fence(line) {
            continue;
        }
        let body: Vec<&str> = lines.by_ref().take_while(|l| !is_fence(l)).collect();
        if body.first().map(|l| l.trim_end()) == Some(first) {
            return Some(body[1..].iter().map(|l| l.to_string()).collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_github() {
        let table = [
            ("Findings", "findings"),
            (
                "Reports from data: `report` and `diff`",
                "reports-from-data-report-and-diff",
            ),
            (
                "Side by side with nmap's smtp-open-relay",
                "side-by-side-with-nmaps-smtp-open-relay",
            ),
            ("Options of `scan` (defaults)", "options-of-scan-defaults"),
            (
                "Little's law, round trips and CPU",
                "littles-law-round-trips-and-cpu",
            ),
            ("The `tls` object", "the-tls-object"),
        ];
        for (heading, want) in table {
            assert_eq!(slug(heading), want, "{heading}");
        }
    }

    #[test]
    fn anchors_number_repeated_headings_and_skip_code() {
        let text = "# A\n## Notes\n```\n# not a heading\n```\n### Notes\n#nospace\n";
        let got: Vec<String> = anchors(text).into_iter().collect();
        assert_eq!(got, ["a", "notes", "notes-1"]);
    }

    #[test]
    fn links_outside_code_only() {
        let text = "see [a](a.md#x) and `[b](b.md)`\n```\n[c](c.md)\n```\n![i](img.png) [d](<x>)";
        let links: Vec<String> = prose_lines(text)
            .iter()
            .flat_map(|(_, l)| link_targets(l))
            .collect();
        assert_eq!(links, ["a.md#x", "img.png", "<x>"]);
        assert_eq!(without_code_spans("a ``x ` y`` b `open"), "a  b `open");
    }

    #[test]
    fn sections_and_tables() {
        let text = "## Findings\nintro\n| id | severity |\n|---|---|\n| `a`, `b` | high |\n\
                    | `c` | a \\| b |\n### Sub\n| x |\n|---|\n| `d` |\n## Next\n| y |\n|---|\n";
        let lines = section(text, "## Findings").expect("section");
        let got = tables(&lines);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].header, ["id", "severity"]);
        assert_eq!(got[0].rows[0], ["`a`, `b`", "high"]);
        assert_eq!(got[0].rows[1], ["`c`", "a | b"]);
        assert_eq!(code_spans(&got[0].rows[0][0]), ["a", "b"]);
        assert_eq!(got[1].rows, [vec!["`d`".to_string()]]);
        assert!(section(text, "## Missing").is_none());
    }

    #[test]
    fn fenced_block_by_its_first_line() {
        let text = "```sh\nls\n```\n```text\n$ tool --help\nUsage: tool\n\nend\n```\n";
        assert_eq!(
            fenced_block_after(text, "$ tool --help").expect("block"),
            ["Usage: tool", "", "end"]
        );
        assert!(fenced_block_after(text, "$ other").is_none());
    }
}

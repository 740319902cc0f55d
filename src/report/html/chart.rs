//! Inline SVG bar charts for the HTML report: labels and counts are our own words and numbers.

use std::fmt::Write;

const BAR_MAX: u64 = 220;
const ROW_H: u64 = 24;
const BAR_H: u64 = 16;
/// Room per character of a label or count: 12 px system-ui text averages about 6.5 px a
/// character; 8 leaves a margin for wider fonts, so that no label or count is cut.
const CHAR_W: u64 = 8;
/// Between a label and its bar, and between a bar and its count.
const GAP: u64 = 6;

/// Width of the text column for `chars` characters.
fn text_w(chars: usize) -> u64 {
    chars as u64 * CHAR_W
}

/// A horizontal bar chart, one bar per `(label, count, css class)`, scaled to the largest
/// count. Labels and classes must be our own text (enum names); they are not escaped.
/// The drawing is as wide as its longest label and count need: the page scales it down
/// on narrow screens (viewBox), text and all, instead of cutting it.
pub fn bars(title: &str, rows: &[(String, u64, String)]) -> String {
    let max = rows.iter().map(|(_, n, _)| *n).max().unwrap_or(0).max(1);
    let label_w = text_w(
        rows.iter()
            .map(|(l, _, _)| l.chars().count())
            .max()
            .unwrap_or(0),
    ) + GAP;
    let count_w = text_w(max.to_string().len());
    let width = label_w + BAR_MAX + GAP + count_w;
    let height = ROW_H * rows.len() as u64 + 4;
    let mut out = String::new();
    let _ = write!(
        out,
        "<figure><figcaption>{title}</figcaption>\
         <svg width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{title}\"><title>{title}</title>"
    );
    for (i, (label, n, class)) in rows.iter().enumerate() {
        let y = ROW_H * i as u64 + 2;
        // A non-zero count always shows at least a sliver.
        let w = if *n == 0 {
            0
        } else {
            (n.saturating_mul(BAR_MAX) / max).max(2)
        };
        let text_y = y + BAR_H - 3;
        let _ = write!(
            out,
            "<text x=\"0\" y=\"{text_y}\">{label}</text>\
             <rect class=\"bar {class}\" x=\"{label_w}\" y=\"{y}\" width=\"{w}\" height=\"{BAR_H}\"></rect>\
             <text x=\"{}\" y=\"{text_y}\">{n}</text>",
            label_w + w + GAP
        );
    }
    out.push_str("</svg></figure>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(label: &str, n: u64) -> (String, u64, String) {
        (label.to_string(), n, format!("v-{label}"))
    }

    #[test]
    fn bars_scale_to_the_largest_count() {
        let svg = bars(
            "Verdicts",
            &[row("a", 10), row("b", 5), row("c", 0), row("d", 1)],
        );
        assert!(svg.contains("<title>Verdicts</title>"));
        // One-letter labels: an 8 px column and the gap.
        assert!(svg.contains(&format!(
            "class=\"bar v-a\" x=\"14\" y=\"2\" width=\"{BAR_MAX}\""
        )));
        assert!(svg.contains(&format!("width=\"{}\"", BAR_MAX / 2)));
        assert!(svg.contains("class=\"bar v-c\" x=\"14\" y=\"50\" width=\"0\""));
        // 1 of 10 is 22 px; tiny counts still get a sliver.
        assert!(svg.contains("class=\"bar v-d\" x=\"14\" y=\"74\" width=\"22\""));
        assert_eq!(svg.matches("<rect").count(), 4);
    }

    /// The drawing is wide enough for its longest label and its largest count: the count
    /// after the longest bar ends inside the viewBox.
    #[test]
    fn labels_and_counts_fit_the_drawing() {
        // (rows, drawing width)
        let table = [
            (
                vec![row("auth-required", 11), row("x", 0)],
                13 * 8 + 6 + 220 + 6 + 2 * 8,
            ),
            (vec![row("a", 1_000_000)], 8 + 6 + 220 + 6 + 7 * 8),
            (vec![], 6 + 220 + 6 + 8),
        ];
        for (rows, want) in table {
            let svg = bars("t", &rows);
            assert!(svg.contains(&format!("viewBox=\"0 0 {want} ")), "{svg}");
            if let Some((label, n, _)) = rows.first() {
                let label_w = text_w(rows.iter().map(|r| r.0.len()).max().unwrap()) + GAP;
                let count_end = label_w + BAR_MAX + GAP + text_w(n.to_string().len());
                assert!(count_end <= want, "{label}");
            }
        }
    }

    #[test]
    fn all_zero_counts_draw_empty_bars() {
        let svg = bars("Findings", &[row("x", 0), row("y", 0)]);
        assert_eq!(svg.matches("width=\"0\"").count(), 2);
    }
}

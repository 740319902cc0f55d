//! Inline SVG bar charts for the HTML report: labels and counts are our own words and numbers.

use std::fmt::Write;

const LABEL_W: u64 = 110;
const BAR_MAX: u64 = 220;
const ROW_H: u64 = 24;
const BAR_H: u64 = 16;

/// A horizontal bar chart, one bar per `(label, count, css class)`, scaled to the largest
/// count. Labels and classes must be our own text (enum names); they are not escaped.
pub fn bars(title: &str, rows: &[(String, u64, String)]) -> String {
    let max = rows.iter().map(|(_, n, _)| *n).max().unwrap_or(0).max(1);
    let width = LABEL_W + BAR_MAX + 60;
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
             <rect class=\"bar {class}\" x=\"{LABEL_W}\" y=\"{y}\" width=\"{w}\" height=\"{BAR_H}\"></rect>\
             <text x=\"{}\" y=\"{text_y}\">{n}</text>",
            LABEL_W + w + 6
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
        assert!(svg.contains(&format!(
            "class=\"bar v-a\" x=\"{LABEL_W}\" y=\"2\" width=\"{BAR_MAX}\""
        )));
        assert!(svg.contains(&format!("width=\"{}\"", BAR_MAX / 2)));
        assert!(svg.contains("class=\"bar v-c\" x=\"110\" y=\"50\" width=\"0\""));
        // 1 of 10 is 22 px; tiny counts still get a sliver.
        assert!(svg.contains("class=\"bar v-d\" x=\"110\" y=\"74\" width=\"22\""));
        assert_eq!(svg.matches("<rect").count(), 4);
    }

    #[test]
    fn all_zero_counts_draw_empty_bars() {
        let svg = bars("Findings", &[row("x", 0), row("y", 0)]);
        assert_eq!(svg.matches("width=\"0\"").count(), 2);
    }
}

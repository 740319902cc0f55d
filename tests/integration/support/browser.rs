//! Headless Chromium for the tests that look at the HTML report: offline, a fresh profile, no name resolution; where chromium is missing the test is skipped (failed under `CI=true`). Also the measuring of a report at a desktop's and a phone's width.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::skip;

/// How long one page may take to render.
const LIMIT: Duration = Duration::from_secs(90);

/// The installed chromium; `None` after [`skip::because`] when there is none.
pub fn chromium() -> Option<PathBuf> {
    skip::tool(
        &["chromium", "chromium-browser"],
        "apt-get install chromium",
    )
}

/// Runs headless Chromium on `url` with `args`, offline and with a fresh profile; returns stdout.
pub fn headless(browser: &Path, profile: &Path, url: &str, args: &[&str]) -> String {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--hide-scrollbars",
            // Belt and braces: the page loads nothing, and no name resolves anyway.
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    // Read stdout as it comes: a DOM larger than the pipe's buffer (64 KiB) would block
    // chromium on its write while we wait for it to exit.
    let mut stdout = child.stdout.take().expect("chromium's stdout");
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stdout.read_to_end(&mut text);
        text
    });
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            assert!(status.success(), "chromium failed: {status:?}");
            let text = reader.join().expect("read chromium's stdout");
            return String::from_utf8_lossy(&text).into_owned();
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish with {url}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Where screenshots are kept for a person (and CI) to look at: `target/tmp/NAME/`.
pub fn screenshot_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).expect("create the screenshot folder");
    dir
}

/// Screenshots `url` at `width` x `height` into `path`, and checks that it is a PNG.
pub fn screenshot(
    browser: &Path,
    profile: &Path,
    url: &str,
    (width, height): (u32, u32),
    path: &Path,
) {
    headless(
        browser,
        profile,
        url,
        &[
            &format!("--screenshot={}", path.display()),
            &format!("--window-size={width},{height}"),
        ],
    );
    let png = std::fs::read(path).expect("screenshot written");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{}: {} bytes",
        path.display(),
        png.len()
    );
}

/// What the page measured of itself in the browser.
#[derive(Debug)]
pub struct Measured {
    pub inner_width: f64,
    pub inner_height: f64,
    /// `document.scrollingElement.scrollWidth` with every `<details>` closed, then open.
    pub scroll_width: f64,
    pub scroll_width_open: f64,
    pub headline_bottom: f64,
    pub chart_texts: u64,
    /// Chart texts not wholly inside their chart or the window.
    pub cut: Vec<String>,
    /// Table rows wider than the window.
    pub wide: Vec<String>,
}

/// The measuring script, run by the page under its own nonce once it has loaded; posts
/// its JSON to the harness around it.
const MEASURE: &str = r#"
window.addEventListener("load", function () {
  var out = {};
  var doc = document.scrollingElement;
  out.innerWidth = window.innerWidth;
  out.innerHeight = window.innerHeight;
  out.scrollWidth = doc.scrollWidth;
  out.headlineBottom = document.getElementById("headline").getBoundingClientRect().bottom;
  out.chartTexts = 0;
  out.cut = [];
  document.querySelectorAll(".charts svg").forEach(function (svg) {
    var box = svg.getBoundingClientRect();
    svg.querySelectorAll("text").forEach(function (t) {
      out.chartTexts += 1;
      var r = t.getBoundingClientRect();
      if (r.width === 0 || r.left < box.left - 0.5 || r.right > box.right + 0.5 ||
          r.left < 0 || r.right > window.innerWidth) {
        out.cut.push(t.textContent + " at " + r.left + "-" + r.right + " in " + box.left + "-" + box.right);
      }
    });
  });
  document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  out.scrollWidthOpen = doc.scrollWidth;
  out.wide = [];
  document.querySelectorAll("tr").forEach(function (tr) {
    var r = tr.getBoundingClientRect();
    if (r.width > 0 && r.right > window.innerWidth + 0.5) {
      out.wide.push(tr.className + " " + r.right);
    }
  });
  parent.postMessage(JSON.stringify(out), "*");
});
"#;

/// The page that holds the report in a frame of the width and height measured (headless
/// Chromium's own window is never narrower than 500 px) and writes what the report
/// posts into `data-measure` on its `<body>`.
fn harness(page: &Path, (width, height): (u32, u32)) -> String {
    format!(
        "<!DOCTYPE html><html><body style=\"margin:0\">\
         <iframe src=\"{}\" width=\"{width}\" height=\"{height}\" style=\"border:0\"></iframe>\
         <script>window.addEventListener(\"message\", function (e) {{ \
         document.body.setAttribute(\"data-measure\", e.data); }});</script></body></html>",
        page.file_name().unwrap().to_str().unwrap()
    )
}

/// The report with [`MEASURE`] added under the page's own nonce, written beside it.
fn measuring_copy(html: &str, path: &Path) {
    let nonce = html
        .split("'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .expect("the page's nonce");
    let page = html.replacen(
        "</body>",
        &format!("<script nonce=\"{nonce}\">{MEASURE}</script>\n</body>"),
        1,
    );
    std::fs::write(path, page).unwrap();
}

/// Measures `page` (a [`measuring_copy`]) in a frame of `size`.
fn measure(browser: &Path, page: &Path, size: (u32, u32)) -> Measured {
    let profile = page.with_file_name(format!("profile-measure-{}", size.0));
    let frame = page.with_file_name(format!("harness-{}.html", size.0));
    std::fs::write(&frame, harness(page, size)).unwrap();
    let dom = headless(
        browser,
        &profile,
        &format!("file://{}", frame.display()),
        // Virtual time lets the frame load and post before the DOM is dumped.
        &["--dump-dom", "--virtual-time-budget=10000"],
    );
    let raw = dom
        .split("data-measure=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("the measuring script did not run:\n{dom}"));
    let text = raw
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let strings = |key: &str| -> Vec<String> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    let num = |key: &str| v[key].as_f64().unwrap_or_else(|| panic!("{key} in {v}"));
    Measured {
        inner_width: num("innerWidth"),
        inner_height: num("innerHeight"),
        scroll_width: num("scrollWidth"),
        scroll_width_open: num("scrollWidthOpen"),
        headline_bottom: num("headlineBottom"),
        chart_texts: v["chartTexts"].as_u64().unwrap(),
        cut: strings("cut"),
        wide: strings("wide"),
    }
}

/// The sizes a report must fit: a desktop, and a phone (390 x 844, the CSS viewport of
/// the common iPhones).
pub const SIZES: [(u32, u32); 2] = [(1400, 900), (390, 844)];

/// Measures the report at `page` at each of [`SIZES`] and asserts that it fits: no
/// sideways scroll (closed, and with every `<details>` open), every chart text (a label
/// and a count per verdict and severity) inside its chart and the window, no table row
/// wider than the window, the summary line above the fold. Keeps a screenshot of the
/// first screen and of a long one per size in `target/tmp/SHOTS/`.
pub fn assert_report_fits(browser: &Path, page: &Path, shots: &str) -> Vec<((u32, u32), Measured)> {
    let html = std::fs::read_to_string(page).expect("the HTML report");
    let measured_page = page.with_file_name("measured.html");
    measuring_copy(&html, &measured_page);
    let shots = screenshot_dir(shots);
    // The pages measured come of full scans: their verdict chart leaves out not-tested,
    // shown only when a banner grab (--tests none) gave it.
    let verdict_bars = relayscan::assess::Verdict::ALL
        .iter()
        .filter(|v| v.listed_at_zero())
        .count();
    let chart_texts = 2 * (verdict_bars + relayscan::assess::Severity::ALL.len()) as u64;
    let url = format!("file://{}", page.display());
    let mut all = Vec::new();
    for (width, height) in SIZES {
        let m = measure(browser, &measured_page, (width, height));
        assert_eq!(m.inner_width, f64::from(width), "{m:?}");
        assert!(m.scroll_width <= m.inner_width, "sideways scroll: {m:?}");
        assert!(
            m.scroll_width_open <= m.inner_width,
            "sideways scroll with every detail open: {m:?}"
        );
        assert_eq!(m.chart_texts, chart_texts, "{m:?}");
        assert!(m.cut.is_empty(), "chart text cut: {m:?}");
        assert!(m.wide.is_empty(), "rows wider than the window: {m:?}");
        assert!(
            m.headline_bottom <= m.inner_height,
            "summary below the fold: {m:?}"
        );
        for (name, h) in [("fold", height), ("long", 4000)] {
            let profile = page.with_file_name(format!("profile-{width}-{name}"));
            screenshot(
                browser,
                &profile,
                &url,
                (width, h),
                &shots.join(format!("{width}-{name}.png")),
            );
        }
        all.push(((width, height), m));
    }
    all
}

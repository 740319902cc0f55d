//! Headless Chromium for the tests that look at the HTML report: offline, a fresh profile, no name resolution; where chromium is missing the test is skipped (failed under `CI=true`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

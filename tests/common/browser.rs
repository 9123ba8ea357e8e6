//! Headless Chromium for the HTML pages: the DOM after a page's script ran, and
//! screenshots. Needs `chromium` (scripts/setup.sh installs it).

use std::path::Path;
use std::process::Command;

pub fn chromium() -> &'static str {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if Command::new(name).arg("--version").output().is_ok() {
            return name;
        }
    }
    panic!("no chromium: apt-get install chromium (scripts/setup.sh installs it)");
}

/// Chromium's flags for a page on disk: headless, no GPU, no network, a profile of its own.
pub fn browser(profile: &Path) -> Command {
    let mut c = Command::new(chromium());
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--allow-file-access-from-files",
        "--window-size=1280,2000",
        "--virtual-time-budget=3000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// The DOM after the page's script ran.
pub fn dom(page: &Path) -> String {
    dom_at(page, "")
}

/// The DOM of the page opened at `fragment` (e.g. `#t=33`).
pub fn dom_at(page: &Path, fragment: &str) -> String {
    let url = format!("file://{}{fragment}", page.display());
    String::from_utf8(run_browser("--dump-dom".into(), &url)).unwrap()
}

pub fn screenshot(page: &Path, png: &Path) {
    let url = format!("file://{}", page.display());
    run_browser(format!("--screenshot={}", png.display()), &url);
}

/// Runs Chromium once on `url` with `action` (dump the DOM, take a screenshot), in a
/// profile of its own; what it printed.
pub fn run_browser(action: String, url: &str) -> Vec<u8> {
    let profile = tempfile::tempdir().unwrap();
    let out = browser(profile.path())
        .arg(action)
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

//! `--html`: the page is opened in a real headless browser (Debian's chromium), as a reviewer
//! opens the CI artefact: the findings are on the rendered page, the filter script ran, no secret
//! is anywhere in it, and a screenshot is taken. Under `CI=true` a missing chromium fails the
//! test: the proof must not quietly disappear.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{anteater, tree};

const TOKEN: &str = "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"; // fake-secret-for-tests
const PASSWORD: &str = "Zq8!vLx2Wm"; // fake-secret-for-tests

/// The chromium binary, or `None` outside CI when it is not installed.
fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser"].iter().find_map(|name| {
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(name))
                .find(|candidate| candidate.is_file())
        })
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "chromium is missing: the HTML report cannot be checked in a browser \
             (apt-get install -y chromium; .ci/run installs it)"
        );
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "html_report: chromium not installed, browser check skipped outside CI"
        );
    }
    found
}

/// Runs headless chromium on `page` with extra `args`, in a fresh profile under `scratch`; its
/// stdout. Killed (and the test failed) after two minutes.
fn run_chromium(chromium: &Path, scratch: &Path, page: &Path, args: &[&str]) -> String {
    let profile = tempfile::tempdir_in(scratch).unwrap();
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .env("HOME", scratch)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting chromium");
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium failed: {status}");
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within two minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().unwrap()
}

#[test]
fn the_html_report_shows_the_findings_in_a_browser_and_no_secret() {
    let Some(chromium) = chromium() else {
        return;
    };
    let dir = tree(&[
        ("deploy.sh", format!("export GITHUB_TOKEN={TOKEN}\n").as_bytes()),
        (
            "config/settings.py",
            format!("DB_PASSWORD = \"{PASSWORD}\"\n").as_bytes(),
        ),
        ("home/.bash_history", b"ls\n"),
        ("src/clean.rs", b"fn main() {}\n"),
    ]);
    let run = anteater(dir.path())
        .args(&["--no-sarif", "--html", "report.html", "--fail-on", "never"])
        .run();
    assert_eq!(run.code, 0, "{}", run.all_output());
    let page = dir.path().join("report.html");
    let source = std::fs::read_to_string(&page).expect("the page");
    for secret in [TOKEN, PASSWORD] {
        assert!(!source.contains(secret), "the page holds a secret");
    }

    let scratch = tempfile::tempdir().unwrap();
    let dom = run_chromium(&chromium, scratch.path(), &page, &["--dump-dom"]);
    for expected in [
        "deploy.sh:1:",
        "config/settings.py:1:",
        "home/.bash_history:1:1",
        "github-token",
        "hardcoded-password",
        "file-name-shell-history",
        "Revoke the token",
        // Written by the page's script: it ran.
        "3 of 3 findings shown",
    ] {
        assert!(
            dom.contains(expected),
            "{expected:?} not on the rendered page:\n{dom}"
        );
    }
    for secret in [TOKEN, PASSWORD] {
        assert!(!dom.contains(secret), "the rendered page shows a secret");
    }

    let shot = scratch.path().join("report.png");
    run_chromium(
        &chromium,
        scratch.path(),
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,900",
            "--hide-scrollbars",
        ],
    );
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    if let Some(keep) = std::env::var_os("ANTEATER_TEST_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}

#[test]
fn the_html_report_can_go_to_standard_output() {
    let dir = tree(&[("deploy.sh", format!("export GITHUB_TOKEN={TOKEN}\n").as_bytes())]);
    let run = anteater(dir.path()).args(&["--no-sarif", "--html", "-"]).run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(run.stdout.starts_with("<!DOCTYPE html>"), "{}", run.stdout);
    assert!(run.stdout.contains("github-token") && !run.stdout.contains(TOKEN));
    assert!(run.stderr.contains("anteater: 1 finding"), "{}", run.stderr);
}

/// Progress on a long scan, in a CI log (stderr is a pipe here, as on a runner): plain lines on
/// stderr with files, bytes and time, never on stdout, so `--format json` stays one document.
#[test]
fn long_scans_report_progress_on_stderr_only() {
    let dir = tempfile::tempdir().unwrap();
    let filler = "let value = compute(1, 2, 3); // nothing secret on this line at all\n".repeat(20);
    for n in 0..600 {
        let sub = dir.path().join(format!("d{}", n % 12));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join(format!("f{n}.rs")), &filler).unwrap();
    }
    let fast = ["--progress-after", "0s", "--progress-every", "100ms"];
    let mut args = vec!["--no-sarif", "--format", "json"];
    args.extend_from_slice(&fast);
    let run = anteater(dir.path()).args(&args).run();
    assert_eq!(run.code, 0, "{}", run.all_output());
    let document: serde_json::Value = serde_json::from_str(&run.stdout).expect("stdout is JSON alone");
    assert_eq!(document["summary"]["files"]["looked_at"], 600);
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("anteater: progress: "))
        .collect();
    assert!(!lines.is_empty(), "no progress line: {}", run.stderr);
    assert!(
        lines
            .iter()
            .all(|l| l.contains(" read, ") && l.contains(" elapsed")),
        "{lines:?}"
    );
    assert!(!run.stderr.contains('\r'), "no terminal, no carriage returns");

    let mut quiet = vec!["--no-sarif", "--no-progress"];
    quiet.extend_from_slice(&fast);
    let run = anteater(dir.path()).args(&quiet).run();
    assert!(!run.stderr.contains("progress"), "{}", run.stderr);
    // By default a scan shorter than a few seconds says nothing.
    let small = tree(&[("a.txt", b"x\n")]);
    let run = anteater(small.path()).args(&["--no-sarif"]).run();
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

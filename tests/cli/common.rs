//! Helpers shared by the integration tests: fixture trees, running the real binary the way a
//! user does, and reading what it wrote.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// An ignore list that waives nothing real, and the same list loosened to skip `.sh` contents:
/// the change the configuration-loosening tests make.
pub const IGNORE_LIST: &[u8] = b"file_audits:\n  file_contents:\n    - nullvalue\n";
pub const IGNORE_LIST_WAIVING_SH: &[u8] =
    b"file_audits:\n  file_contents:\n    - nullvalue\nfile_ignore:\n  - .sh\n";

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The SARIF log, when one was written.
    pub sarif: Option<Value>,
}

impl Run {
    pub fn results(&self) -> &Vec<Value> {
        self.sarif.as_ref().expect("a SARIF log")["runs"][0]["results"]
            .as_array()
            .expect("results")
    }

    /// (uri, line, ruleId) of every SARIF result.
    pub fn result_keys(&self) -> Vec<(String, u64, String)> {
        self.results()
            .iter()
            .map(|r| {
                let location = &r["locations"][0]["physicalLocation"];
                (
                    location["artifactLocation"]["uri"].as_str().unwrap().to_string(),
                    location["region"]["startLine"].as_u64().unwrap(),
                    r["ruleId"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// `uri:line:ruleId` of every SARIF result, for compact assertions.
    pub fn found(&self) -> Vec<String> {
        self.result_keys()
            .into_iter()
            .map(|(uri, line, rule)| format!("{uri}:{line}:{rule}"))
            .collect()
    }

    /// Console finding lines (`path:line:col  rule  ...`), without the indented fix advice
    /// under them.
    pub fn finding_lines(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| !l.starts_with("anteater:") && !l.starts_with(' '))
            .collect()
    }

    pub fn all_output(&self) -> String {
        format!(
            "{}\n{}\n{}",
            self.stdout,
            self.stderr,
            self.sarif.as_ref().map(Value::to_string).unwrap_or_default()
        )
    }
}

/// A builder for one invocation of the `anteater` binary in `cwd`, with a clean environment.
pub struct Invocation {
    command: assert_cmd::Command,
    cwd: PathBuf,
    sarif: PathBuf,
    /// Leave a file already at the SARIF path in place (a committed one, for instance).
    keep_sarif: bool,
}

pub fn anteater(cwd: &Path) -> Invocation {
    let mut command = assert_cmd::Command::cargo_bin("anteater").unwrap();
    command.current_dir(cwd);
    // The developer's or CI's own settings must not leak into the tests.
    for (name, _) in std::env::vars() {
        if name.starts_with("ANTEATER_")
            || name.starts_with("GITHUB_")
            || name.starts_with("CI_MERGE_REQUEST_")
            || name.starts_with("CHANGE_")
            || name.starts_with("VT_")
            || name == "REDIS_URL"
        {
            command.env_remove(name);
        }
    }
    Invocation {
        command,
        cwd: cwd.to_path_buf(),
        sarif: cwd.join("anteater.sarif"),
        keep_sarif: false,
    }
}

impl Invocation {
    pub fn args(mut self, args: &[&str]) -> Self {
        for pair in args.windows(2) {
            if pair[0] == "--sarif" {
                self.sarif = self.cwd.join(pair[1]);
            }
        }
        self.command.args(args);
        self
    }

    /// Points the run at the VirusTotal mock at `api_url` with the mock's key and the timings the
    /// tests use (fast retries, a generous budget), all through the environment, so that a test
    /// can still override one with its flag or a later `env`.
    pub fn against_vt_mock(self, api_url: &str) -> Self {
        self.env("VT_API_KEY", crate::support::vt_mock::DEFAULT_API_KEY)
            .env("VT_API_URL", api_url)
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("ANTEATER_VT_RATE", "1000/1m")
            .env("ANTEATER_VT_RETRY_DELAY", "20ms")
            .env("ANTEATER_VT_TIMEOUT", "2s")
    }

    pub fn env(mut self, name: &str, value: &str) -> Self {
        if name == "ANTEATER_SARIF" {
            self.sarif = self.cwd.join(value);
        }
        self.command.env(name, value);
        self
    }

    /// Does not remove what is at the SARIF path before the run.
    pub fn keep_existing_sarif(mut self) -> Self {
        self.keep_sarif = true;
        self
    }

    pub fn run(mut self) -> Run {
        if !self.keep_sarif {
            let _ = std::fs::remove_file(&self.sarif);
        }
        let output = self.command.output().unwrap();
        let sarif = std::fs::read_to_string(&self.sarif)
            .ok()
            .map(|text| serde_json::from_str(&text).expect("the SARIF log is JSON"));
        if sarif.is_some() {
            keep_for_validation(&self.sarif);
        }
        Run {
            code: output.status.code().expect("exited, not killed"),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            sarif,
        }
    }
}

/// `.ci/run` validates every SARIF log the tests produce with Microsoft's SARIF Multitool: it
/// sets ANTEATER_TEST_SARIF_DIR, and each log is copied there.
fn keep_for_validation(sarif: &Path) {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    if let Some(dir) = std::env::var_os("ANTEATER_TEST_SARIF_DIR") {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("{}-{n}.sarif", std::process::id());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(sarif, Path::new(&dir).join(name)).unwrap();
    }
}

/// A writable copy of `tests/fixtures/<name>` in a temporary directory, which is also returned as
/// the working directory.
pub fn fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&Path::new(FIXTURES).join(name), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A temporary tree with the given files (parents created).
pub fn tree(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    dir
}

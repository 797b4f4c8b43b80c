//! Never a false pass: hostile or broken inputs that used to turn a failing gate green. Each test
//! here failed (exit 0) on the code before its fix.

use std::path::Path;

use crate::common::{anteater, tree, Run};
use crate::support::git_repo::GitRepo as Repo;
use crate::support::redis_server::RedisServer;
use crate::support::vt_mock::{Fault, MockConfig, Stats, VtMock, DEFAULT_API_KEY};

/// A flag list with one content rule, so that a planted `password = ...` line must fail the run.
const FLAGS: &[u8] = b"file_audits:\n  file_names:\n    - \\.pem$\n  file_contents:\n    password:\n      regex: password\\s*=\n      desc: Hard-coded password\n";
const SECRET_LINE: &str = "password = \"hunter2-but-longer\"\n"; // fake-secret-for-tests

/// A tree holding the flag list and `files`.
fn project(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let mut all = vec![("flags.yaml", FLAGS)];
    all.extend_from_slice(files);
    tree(&all)
}

fn scan(dir: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["--flag-list", "flags.yaml", "--path", "."];
    args.extend_from_slice(extra);
    anteater(dir).args(&args).run()
}

// ---------------------------------------------------------------------------------------------
// Item 4: boolean environment values.

#[test]
fn unrecognised_boolean_values_are_errors_naming_the_variable() {
    let dir = project(&[("src/app.py", SECRET_LINE.as_bytes())]);
    for (name, value) in [
        ("ANTEATER_EXIT_ZERO", "flase"),
        ("ANTEATER_EXIT_ZERO", "disabled"),
        ("ANTEATER_BINARIES", "enable"),
        ("ANTEATER_FOLLOW_SYMLINKS", "2"),
        ("ANTEATER_NO_UPLOAD", "nope"),
        ("ANTEATER_VT_FAIL_CLOSED", "y"),
    ] {
        let run = anteater(dir.path())
            .args(&["--flag-list", "flags.yaml", "--path", "."])
            .env(name, value)
            .run();
        assert_eq!(run.code, 2, "{name}={value}: {}", run.all_output());
        assert!(
            run.stderr.contains(name) && run.stderr.contains(value),
            "{name}={value}: {}",
            run.stderr
        );
    }
    // The recognised words, in any case and with blanks around them; blank means unset.
    for (value, code) in [("false ", 1), ("OFF", 1), ("No", 1), ("0", 1), ("", 1), (" ", 1)] {
        let run = anteater(dir.path())
            .args(&["--flag-list", "flags.yaml", "--path", "."])
            .env("ANTEATER_EXIT_ZERO", value)
            .run();
        assert_eq!(
            run.code,
            code,
            "ANTEATER_EXIT_ZERO={value:?}: {}",
            run.all_output()
        );
    }
    for value in ["true", " Yes", "ON", "1"] {
        let run = anteater(dir.path())
            .args(&["--flag-list", "flags.yaml", "--path", "."])
            .env("ANTEATER_EXIT_ZERO", value)
            .run();
        assert_eq!(run.code, 0, "ANTEATER_EXIT_ZERO={value:?}: {}", run.all_output());
    }
}

// ---------------------------------------------------------------------------------------------
// Item 3: flag lists that define no rules, and unknown keys.

#[test]
fn flag_lists_without_rules_or_with_unknown_keys_are_errors() {
    for (list, expected) in [
        ("", "defines no rules"),
        ("---\n", "defines no rules"),
        ("# all commented out\n", "defines no rules"),
        ("nullvalue\n", "defines no rules"),
        (
            "file_audits:\n  file_names: nullvalue\n  file_contents: nullvalue\n",
            "defines no rules",
        ),
        (
            "file_audit:\n  file_contents:\n    password:\n      regex: password\n",
            "did you mean `file_audits`?",
        ),
        (
            "file_audits:\n  file_content:\n    password:\n      regex: password\n",
            "did you mean `file_contents`?",
        ),
        (
            "file_audits:\n  file_contents:\n    password:\n      regx: password\n",
            "did you mean `regex`?",
        ),
    ] {
        let dir = tree(&[
            ("list.yaml", list.as_bytes()),
            ("src/app.py", SECRET_LINE.as_bytes()),
        ]);
        let run = anteater(dir.path())
            .args(&["--flag-list", "list.yaml", "--path", "."])
            .run();
        assert_eq!(run.code, 2, "{list:?}: {}", run.all_output());
        assert!(
            run.stderr.contains(expected) && run.stderr.contains("list.yaml"),
            "{list:?}: {}",
            run.stderr
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Item 2: a committed file at a report path is scanned.

/// A git repository with a first commit holding the flag list.
fn base_repo() -> Repo {
    let repo = Repo::new();
    repo.write("flags.yaml", FLAGS);
    repo.write("src/app.py", b"print('hello')\n");
    repo.commit("base");
    repo
}

/// `path` of every SARIF result of `rule`.
fn flagged(run: &Run, rule: &str) -> Vec<String> {
    run.result_keys()
        .into_iter()
        .filter(|(_, _, id)| id == rule)
        .map(|(uri, _, _)| uri)
        .collect()
}

#[test]
fn committed_files_at_report_paths_are_scanned_in_every_mode() {
    let repo = base_repo();
    let base = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    let reports = [
        "anteater.sarif",
        "reports/junit.xml",
        "reports/codequality.json",
        "new-baseline.json",
    ];
    for report in reports {
        repo.write(report, SECRET_LINE.as_bytes());
    }
    repo.commit("reports committed with a secret in them");
    repo.write("patchset.txt", (reports.join("\n") + "\n").as_bytes());
    let outputs = [
        "--junit",
        "reports/junit.xml",
        "--gitlab-codequality",
        "reports/codequality.json",
        "--write-baseline",
        "new-baseline.json",
    ];
    let modes: [&[&str]; 3] = [&[], &["--patchset", "patchset.txt"], &["--diff", &base]];
    for mode in modes {
        for report in reports {
            // Each run rewrites the reports: put the committed content back first.
            repo.write(report, SECRET_LINE.as_bytes());
        }
        let mut args = vec!["--flag-list", "flags.yaml", "--path", "."];
        args.extend_from_slice(&outputs);
        args.extend_from_slice(mode);
        let run = anteater(repo.path()).args(&args).keep_existing_sarif().run();
        assert_eq!(run.code, 1, "{mode:?}: {}", run.all_output());
        let mut paths = flagged(&run, "password");
        paths.sort();
        assert_eq!(
            paths,
            [
                "anteater.sarif",
                "new-baseline.json",
                "reports/codequality.json",
                "reports/junit.xml"
            ],
            "{mode:?}: {}",
            run.all_output()
        );
    }
    // An untracked file at a report path, like a report a previous run left behind, is this
    // run's own output and not scanned.
    repo.write("stale.sarif", SECRET_LINE.as_bytes());
    repo.git(&["checkout", "--", "."]);
    let run = anteater(repo.path())
        .args(&[
            "--flag-list",
            "flags.yaml",
            "--path",
            ".",
            "--sarif",
            "stale.sarif",
        ])
        .keep_existing_sarif()
        .run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(!flagged(&run, "password").contains(&"stale.sarif".to_string()));
}

// ---------------------------------------------------------------------------------------------
// Item 5: --patchset and git's quoted names.

#[test]
fn patchsets_with_git_quoted_or_nul_separated_names_are_read() {
    let repo = base_repo();
    let base = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    repo.write("src/café.py", SECRET_LINE.as_bytes());
    repo.write("src/tab\there \"q\".py", SECRET_LINE.as_bytes());
    repo.commit("non-ASCII and unusual names");
    // Exactly what CI scripts produce: git's default core.quotePath quotes both names.
    let quoted = repo.git(&["diff", "--name-only", &base]);
    assert!(quoted.contains("\"src/caf\\303\\251.py\""), "{quoted}");
    repo.write("quoted.txt", quoted.as_bytes());
    let nul = repo.git(&["diff", "-z", "--name-only", &base]);
    repo.write("nul.txt", nul.as_bytes());

    for args in [
        &["--patchset", "quoted.txt"][..],
        &["--patchset", "nul.txt"],
        &["--patchset", "nul.txt", "--patchset0"],
    ] {
        let mut all = vec!["--flag-list", "flags.yaml", "--path", "."];
        all.extend_from_slice(args);
        let run = anteater(repo.path()).args(&all).run();
        assert_eq!(run.code, 1, "{args:?}: {}", run.all_output());
        let mut paths: Vec<String> = run
            .results()
            .iter()
            .map(|r| {
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        paths.sort();
        assert_eq!(
            paths,
            ["src/caf%C3%A9.py", "src/tab%09here%20%22q%22.py"],
            "{args:?}"
        );
        assert!(!run.stderr.contains("does not exist"), "{args:?}: {}", run.stderr);
    }

    // An entry that cannot be parsed stops the run instead of being reported as missing.
    repo.write("broken.txt", b"src/app.py\n\"src/caf\\303\\25.py\"\n");
    let run = anteater(repo.path())
        .args(&[
            "--flag-list",
            "flags.yaml",
            "--path",
            ".",
            "--patchset",
            "broken.txt",
        ])
        .run();
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(run.stderr.contains("broken.txt line 2"), "{}", run.stderr);
}

// ---------------------------------------------------------------------------------------------
// Item 6: VirusTotal answers that are not verdicts.

const MALICIOUS_IP: &str = "90.156.201.21";

#[test]
fn virustotal_answers_that_are_not_verdicts_are_unverified_and_never_cached() {
    let redis = RedisServer::start();
    let mut config = MockConfig::default();
    config.ips.insert(MALICIOUS_IP.into(), Stats::malicious(7));
    let mock = VtMock::start(config);
    let source = format!("server = '{MALICIOUS_IP}'\n");
    let dir = project(&[("src/app.py", source.as_bytes())]);
    let vt = |api_url: &str| {
        anteater(dir.path())
            .env("VT_API_KEY", DEFAULT_API_KEY)
            .env("VT_API_URL", api_url)
            .env("REDIS_URL", &redis.url())
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("ANTEATER_VT_RATE", "1000/1m")
            .env("ANTEATER_VT_RETRY_DELAY", "20ms")
            .env("ANTEATER_VT_TIMEOUT", "2s")
            .args(&["--flag-list", "flags.yaml", "--path", ".", "--ips"])
    };
    let unverified = |run: &Run, why: &str| {
        assert_eq!(run.code, 0, "{why}: {}", run.all_output());
        assert!(
            run.result_keys()
                .iter()
                .any(|(_, _, rule)| rule == "virustotal-unverified"),
            "{why}: {}",
            run.all_output()
        );
    };

    // A wrong API root: 404 for everything.
    let wrong_root = format!("{}/api/v2", mock.origin());
    unverified(&vt(&wrong_root).run(), "wrong root");
    let run = vt(&wrong_root).args(&["--vt-fail-closed"]).run();
    assert_eq!(run.code, 1, "{}", run.all_output());

    // A 200 without a verdict in it, and a 200 about another address.
    mock.inject_faults(vec![Fault::Json200(r#"{"data":{}}"#.into())]);
    unverified(&vt(&mock.base_url()).run(), "empty data");
    let other = r#"{"data":{"type":"ip_address","id":"8.8.8.8","attributes":{"last_analysis_stats":{"malicious":0,"suspicious":0,"undetected":10,"harmless":60}}}}"#;
    mock.inject_faults(vec![Fault::Json200(other.into())]);
    unverified(&vt(&mock.base_url()).run(), "another object");
    let not_an_ip = r#"{"data":{"type":"file","id":"90.156.201.21","attributes":{"last_analysis_stats":{"malicious":0,"suspicious":0,"undetected":10,"harmless":60}}}}"#;
    mock.inject_faults(vec![Fault::Json200(not_an_ip.into())]);
    unverified(&vt(&mock.base_url()).run(), "another type");

    // None of those was cached as clean: the correctly configured run finds the address.
    let run = vt(&mock.base_url()).run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(
        run.result_keys()
            .iter()
            .any(|(_, _, rule)| rule == "virustotal-malicious-ip"),
        "{}",
        run.all_output()
    );
}

// ---------------------------------------------------------------------------------------------
// Item 1: files over --max-file-size.

/// `lines` lines of harmless text, then the secret, then one more line.
fn long_text(lines: usize) -> Vec<u8> {
    let mut text = Vec::new();
    for n in 0..lines {
        text.extend_from_slice(format!("line {n:08} of harmless text, nothing to see here\n").as_bytes());
    }
    text.extend_from_slice(SECRET_LINE.as_bytes());
    text.extend_from_slice(b"the end\n");
    text
}

fn password_lines(run: &Run) -> Vec<(String, u64)> {
    run.result_keys()
        .into_iter()
        .filter(|(_, _, rule)| rule == "password")
        .map(|(uri, line, _)| (uri, line))
        .collect()
}

#[test]
fn a_secret_in_a_file_over_the_default_size_cap_fails_the_scan() {
    // 51 MB: over the default --max-file-size of 50 MiB.
    let lines = 51_000_000 / 50;
    let text = long_text(lines);
    assert!(text.len() > 50 << 20);
    let dir = project(&[("src/big.log", &text)]);
    let run = scan(dir.path(), &[]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(
        password_lines(&run),
        [("src/big.log".to_string(), lines as u64 + 1)]
    );
}

#[test]
fn oversized_text_is_scanned_in_windows_or_skipped_only_when_asked() {
    // About 100 KB of text, in windows of 8 KiB (the smallest window: --max-file-size 1KiB).
    let lines = 2_000;
    let text = long_text(lines);
    let dir = project(&[("src/big.log", &text), ("src/one-line.txt", &[b'x'; 20_000])]);

    // Scanned in windows: the finding, on its own line number. The single line longer than any
    // window cannot be scanned: the scan is incomplete, and the file is named.
    let run = scan(dir.path(), &["--max-file-size", "1KiB"]);
    assert_eq!(
        password_lines(&run),
        [("src/big.log".to_string(), lines as u64 + 1)]
    );
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(
        run.stderr
            .contains("src/one-line.txt: could not be read: a line longer than"),
        "{}",
        run.stderr
    );
    std::fs::remove_file(dir.path().join("src/big.log")).unwrap();
    let run = scan(dir.path(), &["--max-file-size", "1KiB"]);
    assert_eq!(run.code, 2, "{}", run.all_output());

    // --oversize fail: skipped, incomplete. --oversize warn: skipped, named, exit unchanged.
    std::fs::write(dir.path().join("src/big.log"), &text).unwrap();
    let run = scan(dir.path(), &["--max-file-size", "1KiB", "--oversize", "fail"]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(run.stderr.contains("src/big.log: skipped"), "{}", run.stderr);
    let run = anteater(dir.path())
        .args(&[
            "--flag-list",
            "flags.yaml",
            "--path",
            ".",
            "--max-file-size",
            "1KiB",
        ])
        .env("ANTEATER_OVERSIZE", "warn")
        .run();
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(run.stderr.contains("src/big.log: skipped"), "{}", run.stderr);
    assert!(run.stderr.contains("src/one-line.txt: skipped"), "{}", run.stderr);
}

#[test]
fn oversized_binaries_are_hashed_and_looked_up() {
    let mut binary = vec![0u8; 64 * 1024];
    binary[..4].copy_from_slice(b"\x7fELF");
    let dir = project(&[("bin/tool", &binary)]);
    let run = scan(dir.path(), &["--max-file-size", "1KiB", "--binaries"]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(
        run.result_keys()
            .iter()
            .any(|(uri, _, rule)| uri == "bin/tool" && rule == "binary-not-allowlisted"),
        "{}",
        run.all_output()
    );

    let redis = RedisServer::start();
    let mut config = MockConfig::default();
    let sha256 = config.add_file(&binary, Stats::malicious(30));
    let mock = VtMock::start(config);
    let run = anteater(dir.path())
        .env("VT_API_KEY", DEFAULT_API_KEY)
        .env("VT_API_URL", &mock.base_url())
        .env("REDIS_URL", &redis.url())
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("ANTEATER_VT_RATE", "1000/1m")
        .args(&[
            "--flag-list",
            "flags.yaml",
            "--path",
            ".",
            "--max-file-size",
            "1KiB",
            "--bincheck",
        ])
        .run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(
        mock.requests()
            .iter()
            .any(|r| r.path == format!("/api/v3/files/{sha256}")),
        "{:?}",
        mock.requests()
    );
    assert!(
        run.result_keys()
            .iter()
            .any(|(_, _, rule)| rule == "virustotal-malicious-file"),
        "{}",
        run.all_output()
    );
}

// ---------------------------------------------------------------------------------------------
// Item 7: a change widening anteater's own blind spot through anteater.conf.

#[test]
fn a_change_cannot_point_anteater_files_at_its_own_code() {
    let repo = base_repo();
    repo.write(".anteater/flags.yaml", FLAGS);
    repo.write(
        "anteater.conf",
        b"[config]\nanteater_files = .anteater/\nflag_list = %(anteater_files)s/flags.yaml\n",
    );
    let base = repo.commit("anteater configured");
    // The change: the folder anteater skips as its own becomes src/, and a secret lands there.
    repo.write(
        "anteater.conf",
        b"[config]\nanteater_files = src/\nflag_list = .anteater/flags.yaml\n",
    );
    repo.write("src/secret.py", SECRET_LINE.as_bytes());
    repo.commit("widen the blind spot");

    let run = anteater(repo.path())
        .args(&["--path", ".", "--diff", &base])
        .run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    let found = run.result_keys();
    assert!(
        found.contains(&("src/secret.py".to_string(), 1, "password".to_string())),
        "{}",
        run.all_output()
    );
    assert!(
        found
            .iter()
            .any(|(uri, _, rule)| uri == "anteater.conf" && rule == "config-changed"),
        "{}",
        run.all_output()
    );
    assert!(
        run.stdout.contains(
            "points anteater_files (the folder skipped as anteater's own) at `src` (was `.anteater`)"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("not scanned, anteater's own configuration: .anteater/"),
        "{}",
        run.stdout
    );

    // --exceptions-from head opts out: the change's own anteater.conf applies, still reported.
    let run = anteater(repo.path())
        .args(&["--path", ".", "--diff", &base, "--exceptions-from", "head"])
        .run();
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(run.stdout.contains("config-changed"), "{}", run.stdout);

    // A full scan uses the conf as it is, and says what it left out, on the console and in JSON.
    let run = anteater(repo.path()).args(&["--path", "."]).run();
    assert!(
        run.stdout
            .contains("not scanned, anteater's own configuration: .anteater/flags.yaml, src/"),
        "{}",
        run.stdout
    );
    let run = anteater(repo.path())
        .args(&["--path", ".", "--format", "json"])
        .run();
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        doc["summary"]["skipped_as_own"],
        serde_json::json!([".anteater/flags.yaml", "src/"])
    );
}

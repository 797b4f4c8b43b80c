//! Issue 9, items 8–13: what must never leave the machine or the logs (secret-bearing URLs, the
//! API key), fingerprints that do not give secrets away, and bounds on what hostile input can
//! make anteater do (huge pattern lists and answers, thread counts, report paths).

use std::path::Path;

use crate::common::{anteater, tree, Invocation, Run};
use crate::support::redis_server::RedisServer;
use crate::support::scripted_http::{Answer, ScriptedHttp};
use crate::support::vt_mock::{url_id, MockConfig, Stats, VtMock, DEFAULT_API_KEY};

const CLEAN_URL: &str = "https://docs.example.org/guide";
const IP: &str = "90.156.201.21";

/// One file holding `IP`, looked up with `--vt-fail-closed` against `api`, no Redis.
fn ip_looked_up_fail_closed(api: &ScriptedHttp) -> Run {
    let dir = tree(&[("app.py", format!("host = '{IP}'\n").as_bytes())]);
    vt(
        dir.path(),
        &format!("{}/api/v3", api.origin),
        "redis://127.0.0.1:1",
    )
    .args(&["--ips", "--vt-fail-closed"])
    .run()
}

fn is_unverified(run: &Run) -> bool {
    run.results()
        .iter()
        .any(|r| r["ruleId"] == "virustotal-unverified")
}

/// anteater pointed at a VirusTotal API root, fast timings, no Redis (in-process fallback).
fn vt(dir: &Path, api_url: &str, redis: &str) -> Invocation {
    anteater(dir)
        .env("VT_API_KEY", DEFAULT_API_KEY)
        .env("VT_API_URL", api_url)
        .env("REDIS_URL", redis)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("ANTEATER_VT_RATE", "1000/1m")
        .env("ANTEATER_VT_POLL_INTERVAL", "50ms")
        .env("ANTEATER_VT_RETRY_DELAY", "20ms")
        .env("ANTEATER_VT_TIMEOUT", "5s")
}

/// Every output of a run that wrote all report formats into `dir`.
fn every_output(run: &Run, dir: &Path) -> String {
    let mut all = run.all_output();
    for name in ["junit.xml", "codequality.json", "summary.md"] {
        all.push_str(&std::fs::read_to_string(dir.join(name)).unwrap_or_default());
    }
    all
}

// ---------------------------------------------------------------------------------------------
// Item 8: URLs that carry a credential are never sent and never printed.

#[test]
fn secret_bearing_urls_are_never_sent_to_virustotal_nor_printed() {
    let redis = RedisServer::start();
    let mut config = MockConfig::default();
    config.urls.insert(CLEAN_URL.into(), Stats::clean());
    let mock = VtMock::start(config);
    // Built at run time: the tokens exist in no source file.
    let slack_token = format!("aB3dE5gH7jK9mN1pQ3sT{}", "5vX7");
    let telegram_token = format!("AAHdqTcvCH1vGWJxfSeofSAs0K5P{}", "ALDsawq");
    let discord_token = format!("Zk9xQ2mP4vR7tY1uW3eA6sD8fG0hJ2kL{}", "5zX7cV9bN1mQ3wE");
    let query_token = format!("Zx8Kq2Lm9Pw4Rt7Y{}", "b3Nc6Vd1");
    let secret_urls = [
        format!("https://hooks.slack.com/services/T0ABCDEFG/B0HIJKLMN/{slack_token}"),
        format!("https://api.telegram.org/bot123456789:{telegram_token}/sendMessage"),
        format!("https://discord.com/api/webhooks/123456789012345678/{discord_token}"),
        format!("https://api.example.com/v1/callback?lang=en&code={query_token}"),
    ];
    let source = format!(
        "notify = '{}'\nbot = \"{}\"\nhook({})\nredirect = {}\ndocs = '{CLEAN_URL}'\n",
        secret_urls[0], secret_urls[1], secret_urls[2], secret_urls[3]
    );
    let dir = tree(&[("src/notify.py", source.as_bytes())]);
    let run = vt(dir.path(), &mock.base_url(), &redis.url())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", "summary.md")
        .args(&[
            "--urls",
            "--vt-fail-closed",
            "--junit",
            "junit.xml",
            "--gitlab-codequality",
            "codequality.json",
        ])
        .run();

    // The Slack webhook is a finding of its own rule; nothing else is wrong with the file.
    assert_eq!(run.code, 1, "{}", run.all_output());
    let requests = mock.requests();
    let asked: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        asked,
        vec![format!("/api/v3/urls/{}", url_id(CLEAN_URL))],
        "only the clean URL may be looked up, nothing submitted"
    );
    let all = every_output(&run, dir.path());
    for token in [&slack_token, &telegram_token, &discord_token, &query_token] {
        assert!(!all.contains(token.as_str()), "{token} printed:\n{all}");
    }
    assert!(
        run.results()
            .iter()
            .all(|r| r["ruleId"] != "virustotal-unverified"),
        "withheld URLs are not lookups that failed"
    );
}

// ---------------------------------------------------------------------------------------------
// Item 9: the API key never follows a redirect; server text is scrubbed and bounded.

fn ip_report(padding: usize) -> Vec<u8> {
    format!(
        r#"{{"data":{{"id":"{IP}","type":"ip_address","attributes":{{"last_analysis_stats":{{"malicious":0,"suspicious":0,"harmless":60,"undetected":10}},"last_analysis_date":1700000000,"whois":"{}"}}}}}}"#,
        "x".repeat(padding)
    )
    .into_bytes()
}

#[test]
fn the_api_key_never_follows_a_redirect() {
    let elsewhere = ScriptedHttp::start(|_| Answer::json(200, ip_report(0)));
    let target = format!("{}/collect", elsewhere.origin);
    let api = ScriptedHttp::start(move |_| Answer {
        status: 302,
        headers: vec![("Location".into(), target.clone())],
        body: Vec::new(),
    });
    let dir = tree(&[("app.py", format!("host = '{IP}'\n").as_bytes())]);
    let run = vt(
        dir.path(),
        &format!("{}/api/v3", api.origin),
        "redis://127.0.0.1:1",
    )
    .args(&["--ips", "--vt-fail-closed"])
    .run();

    assert!(
        elsewhere.seen().is_empty(),
        "the redirect was followed: {:?}",
        elsewhere.seen()
    );
    assert_eq!(api.seen().len(), 1, "a redirect is not retried");
    // Unverified, and with --vt-fail-closed that fails the gate: never a clean verdict.
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(run.stdout.contains("redirect"), "{}", run.stdout);
}

#[test]
fn server_error_texts_are_printed_without_the_key_and_bounded() {
    let api = ScriptedHttp::start(|_| {
        let body = format!(
            r#"{{"error":{{"code":"InvalidArgumentError {DEFAULT_API_KEY}","message":"key {DEFAULT_API_KEY} {}"}}}}"#,
            "y".repeat(5000)
        );
        Answer::json(400, body)
    });
    let dir = tree(&[("app.py", format!("host = '{IP}'\n").as_bytes())]);
    let run = vt(
        dir.path(),
        &format!("{}/api/v3", api.origin),
        "redis://127.0.0.1:1",
    )
    .args(&["--ips", "--format", "json"])
    .run();
    let all = run.all_output();
    assert!(all.contains("InvalidArgumentError"), "{all}");
    assert!(!all.contains(DEFAULT_API_KEY), "the key was printed:\n{all}");
    assert!(!all.contains(&"y".repeat(500)), "unbounded server text:\n{all}");
}

/// A 200 answer can echo the key too: in a field of the wrong type (serde quotes the value in
/// its error) or as the object's id. Neither is printed.
#[test]
fn a_successful_answer_echoing_the_key_does_not_print_it() {
    for body in [
        format!(
            r#"{{"data":{{"id":"{IP}","type":"ip_address","attributes":{{"last_analysis_stats":{{"malicious":"{DEFAULT_API_KEY}"}}}}}}}}"#
        ),
        format!(
            r#"{{"data":{{"id":"{DEFAULT_API_KEY}","type":"ip_address","attributes":{{"last_analysis_stats":{{"malicious":0,"harmless":60}}}}}}}}"#
        ),
    ] {
        let api = ScriptedHttp::start(move |_| Answer::json(200, body.clone()));
        let dir = tree(&[("app.py", format!("host = '{IP}'\n").as_bytes())]);
        let run = vt(
            dir.path(),
            &format!("{}/api/v3", api.origin),
            "redis://127.0.0.1:1",
        )
        .args(&["--ips", "--vt-fail-closed", "--format", "json"])
        .run();
        let all = run.all_output();
        assert_eq!(run.code, 1, "unverified under --vt-fail-closed:\n{all}");
        assert!(!all.contains(DEFAULT_API_KEY), "the key was printed:\n{all}");
    }
}

/// A report or a completed analysis in which no engine judged (`{}`, or every engine unable to
/// read the file) is no verdict: unverified, never clean.
#[test]
fn a_report_no_engine_judged_is_unverified_not_clean() {
    let api = ScriptedHttp::start(|_| {
        Answer::json(
            200,
            format!(
                r#"{{"data":{{"id":"{IP}","type":"ip_address","attributes":{{"last_analysis_stats":{{}}}}}}}}"#
            ),
        )
    });
    let run = ip_looked_up_fail_closed(&api);
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(is_unverified(&run), "{}", run.stdout);
}

// ---------------------------------------------------------------------------------------------
// Item 13: bounded inputs.

#[test]
fn an_oversized_virustotal_answer_is_unverified_not_clean() {
    let api = ScriptedHttp::start(|_| Answer::json(200, ip_report(6 << 20)));
    let run = ip_looked_up_fail_closed(&api);
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(is_unverified(&run), "{}", run.all_output());
    assert!(run.stdout.contains("larger than 4 MiB"), "{}", run.stdout);
}

#[test]
fn absurd_thread_counts_are_clamped_with_a_warning() {
    let dir = tree(&[("a.txt", b"nothing\n"), ("b.txt", b"nothing\n")]);
    let started = std::time::Instant::now();
    let run = anteater(dir.path()).args(&["--threads", "5000"]).run();
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(
        run.stderr.contains("--threads 5000") && run.stderr.contains("clamped"),
        "{}",
        run.stderr
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));

    let run = anteater(dir.path()).args(&["--threads", "0"]).run();
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(
        run.stderr.contains("--threads must be at least 1"),
        "{}",
        run.stderr
    );
}

/// UTF-16 without a byte-order mark, as some Windows tools write it.
fn utf16(text: &str, little_endian: bool) -> Vec<u8> {
    text.encode_utf16()
        .flat_map(|unit| {
            if little_endian {
                unit.to_le_bytes()
            } else {
                unit.to_be_bytes()
            }
        })
        .collect()
}

#[test]
fn utf16_text_without_a_byte_order_mark_is_scanned() {
    let body = "MIIEpAIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n\
                VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n";
    let key = format!("-----BEGIN RSA PRIVATE {}-----\n{body}", "KEY");
    let le = utf16(&format!("# settings\r\n{key}"), true);
    let be = utf16(&format!("# settings\r\n{key}"), false);
    let dir = tree(&[("keys/le.txt", &le), ("keys/be.txt", &be)]);
    let run = anteater(dir.path()).run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    let keys = run.result_keys();
    for path in ["keys/be.txt", "keys/le.txt"] {
        assert!(
            keys.contains(&(path.to_string(), 2, "private-key-rsa".to_string())),
            "{keys:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Item 11: large file-name lists.

#[test]
fn twenty_thousand_file_name_patterns_work_in_bounded_memory() {
    let mut list = String::from("file_audits:\n  file_names:\n");
    for i in 0..20_000 {
        // One in twenty with a Unicode class, the kind that made the automaton's memory explode.
        if i % 20 == 0 {
            list.push_str(&format!("    - (^|/)secret{i}\\w*\\.(txt|cfg)$\n"));
        } else {
            list.push_str(&format!("    - ^config/name{i}\\.(pem|key)$\n"));
        }
    }
    list.push_str("  file_contents:\n    md5:\n      regex: md5\n      desc: weak hash\n");
    let dir = tree(&[
        ("flags.yaml", list.as_bytes()),
        ("src/app.py", b"print('hello')\n"),
        ("config/name19999.pem", b"not really a key\n"),
        ("data/secret19980_backup.cfg", b"x\n"),
    ]);
    // Under a 3 GB address-space limit: the old automaton asked for tens of gigabytes and aborted.
    let binary = assert_cmd::cargo::cargo_bin("anteater");
    let output = std::process::Command::new("sh")
        .current_dir(dir.path())
        .arg("-c")
        .arg("ulimit -v 3000000 && exec \"$0\" --flag-list flags.yaml --sarif out.sarif")
        .arg(&binary)
        .env_remove("ANTEATER_THREADS")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("config/name19999.pem"), "{stdout}");
    assert!(stdout.contains("data/secret19980_backup.cfg"), "{stdout}");
}

// ---------------------------------------------------------------------------------------------
// Item 12: report paths are written through links and into FIFOs, never clobbered.

fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).unwrap().file_type().is_symlink()
}

/// The binary in `dir` with `args`, not through `Invocation`, which deletes the SARIF path first.
fn raw(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut command = assert_cmd::Command::cargo_bin("anteater").unwrap();
    command.current_dir(dir).args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("ANTEATER_") || name.starts_with("GITHUB_") {
            command.env_remove(name);
        }
    }
    command.timeout(std::time::Duration::from_secs(60));
    command.output().unwrap()
}

#[test]
fn report_paths_that_are_links_are_written_through() {
    let dir = tree(&[
        ("src/app.py", b"print('hello')\n"),
        ("reports/real.sarif", b"old"),
        ("reports/real.xml", b"old"),
    ]);
    std::os::unix::fs::symlink("reports/real.sarif", dir.path().join("link.sarif")).unwrap();
    std::os::unix::fs::symlink("reports/real.xml", dir.path().join("link.xml")).unwrap();
    let output = raw(dir.path(), &["--sarif", "link.sarif", "--junit", "link.xml"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(
        is_symlink(&dir.path().join("link.sarif")),
        "the SARIF link was replaced"
    );
    assert!(
        is_symlink(&dir.path().join("link.xml")),
        "the JUnit link was replaced"
    );
    let sarif: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("reports/real.sarif")).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let junit = std::fs::read_to_string(dir.path().join("reports/real.xml")).unwrap();
    assert!(junit.contains("<testsuites"), "{junit}");
}

#[test]
fn a_fifo_report_path_is_written_as_a_stream() {
    let dir = tree(&[("src/app.py", b"print('hello')\n")]);
    let fifo = dir.path().join("sarif.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let (sender, received) = std::sync::mpsc::channel();
    let reader_path = fifo.clone();
    std::thread::spawn(move || {
        let _ = sender.send(std::fs::read(reader_path));
    });
    let output = raw(dir.path(), &["--sarif", "sarif.fifo"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    use std::os::unix::fs::FileTypeExt;
    assert!(
        std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(),
        "the FIFO was replaced by a file"
    );
    let bytes = received
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the SARIF log came through the FIFO")
        .unwrap();
    let sarif: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
}

#[test]
fn special_files_as_report_paths_are_refused_before_anything_is_written() {
    let dir = tree(&[("src/app.py", b"print('hello')\n")]);
    let socket = dir.path().join("report.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    for args in [
        ["--sarif", "report.sock"],
        ["--junit", "report.sock"],
        ["--gitlab-codequality", "report.sock"],
        ["--write-baseline", "report.sock"],
    ] {
        let output = raw(dir.path(), &args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("report.sock is a socket"), "{args:?}: {stderr}");
        use std::os::unix::fs::FileTypeExt;
        assert!(
            std::fs::symlink_metadata(&socket)
                .unwrap()
                .file_type()
                .is_socket(),
            "{args:?} replaced the socket"
        );
    }
    // Refused before the scan: no SARIF log was written either.
    assert!(!dir.path().join("anteater.sarif").exists());
}

// ---------------------------------------------------------------------------------------------
// Item 10: fingerprints that cannot be reversed into the secret, and no exact secret lengths.

/// The fingerprint formula before issue 9: what an attacker with a dictionary computes offline.
fn unsalted_fingerprint(rule: &str, path: &str, matched: &str) -> String {
    use sha2::{Digest, Sha256};
    let match_hash = crate::support::vt_mock::sha256_hex(matched.as_bytes());
    let mut hasher = Sha256::new();
    for part in [rule, path, match_hash.as_str(), "0"] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Runs over `config.py` holding `password = "<secret>"`; returns every fingerprint written
/// (SARIF, GitLab, JSON, baseline), the baseline, and all output.
fn fingerprinted_run(secret: &str) -> (Vec<String>, serde_json::Value, String, Run) {
    let line = format!("db_password = \"{secret}\"\n");
    let dir = tree(&[("config.py", line.as_bytes())]);
    let run = anteater(dir.path())
        .args(&[
            "--format",
            "json",
            "--gitlab-codequality",
            "cq.json",
            "--write-baseline",
            "baseline.json",
        ])
        .run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.path().join(name)).unwrap()).unwrap()
    };
    let (codequality, baseline) = (read("cq.json"), read("baseline.json"));
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let mut prints = Vec::new();
    for result in run.results() {
        // anteater's own fingerprint; primaryLocationLineHash is code scanning's line hash, which
        // upload-sarif computes from the line anyway.
        for (key, value) in result["partialFingerprints"].as_object().unwrap() {
            if key != "primaryLocationLineHash" {
                prints.push(value.as_str().unwrap().to_string());
            }
        }
    }
    let strings = |values: &serde_json::Value, key: &str| -> Vec<String> {
        values
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v[key].as_str().unwrap().to_string())
            .collect()
    };
    prints.extend(strings(&codequality, "fingerprint"));
    prints.extend(strings(&json["findings"], "fingerprint"));
    prints.extend(strings(&baseline["entries"], "fingerprint"));
    let all = format!("{}\n{codequality}\n{baseline}", run.all_output());
    (prints, baseline, all, run)
}

#[test]
fn fingerprints_do_not_give_weak_secrets_away() {
    let weak = "Summer2024!x";
    let (prints, baseline, all, run) = fingerprinted_run(weak);
    assert_eq!(prints.len(), 4, "{prints:?}");
    let unsalted = unsalted_fingerprint(
        "hardcoded-password",
        "config.py",
        &format!("password = \"{weak}\""),
    );
    assert!(
        !prints.contains(&unsalted),
        "a fingerprint is the unsalted hash a dictionary reverses: {prints:?}"
    );
    // Reports' fingerprints do not depend on the secret at all, only on what they print anyway.
    let (other, other_baseline, _, _) = fingerprinted_run("Winter2025?y");
    assert_eq!(prints[..3], other[..3]);
    // Baselines are keyed with their own random salt: the same finding in another repository
    // gets another fingerprint.
    let salt = baseline["salt"].as_str().unwrap();
    assert_eq!(salt.len(), 64, "{baseline}");
    assert_ne!(salt, other_baseline["salt"].as_str().unwrap());
    // No output says how long the secret is, not even through the columns.
    assert!(!all.contains("chars"), "{all}");
    let region = &run.results()[0]["locations"][0]["physicalLocation"]["region"];
    let width = region["endColumn"].as_i64().unwrap() - region["startColumn"].as_i64().unwrap();
    assert_eq!(width, 1, "{region}");
}

#[test]
fn baselines_keep_their_salt_and_still_accept_what_they_recorded() {
    let dir = tree(&[("config.py", b"db_password = \"Summer2024!x\"\n")]);
    let write = anteater(dir.path())
        .args(&["--write-baseline", "baseline.json"])
        .run();
    assert_eq!(write.code, 1, "{}", write.all_output());
    let first = std::fs::read_to_string(dir.path().join("baseline.json")).unwrap();
    let again = anteater(dir.path())
        .args(&["--write-baseline", "baseline.json"])
        .run();
    assert_eq!(again.code, 1);
    let second = std::fs::read_to_string(dir.path().join("baseline.json")).unwrap();
    assert_eq!(first, second, "rewriting a baseline keeps its salt and entries");
    let accepted = anteater(dir.path()).args(&["--baseline", "baseline.json"]).run();
    assert_eq!(accepted.code, 0, "{}", accepted.all_output());
}

#[test]
fn a_format_1_baseline_is_a_clear_error() {
    let dir = tree(&[
        ("config.py", b"db_password = \"Summer2024!x\"\n"),
        (
            "baseline.json",
            b"{\"tool\":\"anteater\",\"version\":1,\"entries\":[]}\n",
        ),
    ]);
    let run = anteater(dir.path()).args(&["--baseline", "baseline.json"]).run();
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(
        run.stderr.contains("format 1") && run.stderr.contains("--write-baseline baseline.json"),
        "{}",
        run.stderr
    );
}

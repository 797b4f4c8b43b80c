//! `--ips`, `--urls`, `--bincheck` end to end: the real binary against the VirusTotal mock and a
//! real redis-server, as a CI job would run it.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use crate::common::{anteater, tree, Invocation, Run};
use crate::support::redis_server::RedisServer;
use crate::support::vt_mock::{sha256_hex, Fault, MockConfig, Stats, VtMock, DEFAULT_API_KEY};

const MALICIOUS_IP: &str = "90.156.201.21";
const CLEAN_IP: &str = "8.8.8.8";
const MALICIOUS_URL: &str = "http://cool-mart.example/katalog-produkcii";
const CLEAN_URL: &str = "https://docs.example.org/guide";
const IGNORED_URL: &str = "https://github.com/anteater/anteater";
const MALICIOUS_BINARY: &[u8] = b"MZ\0\0\x90\0malware-sample-for-tests";
const ALLOWED_BINARY: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR allowed";

fn source() -> String {
    format!(
        "server = '{MALICIOUS_IP}'  # and {CLEAN_IP}, 10.0.0.5, 192.0.2.1, 127.0.0.1\n\
         fetch('{MALICIOUS_URL}'); fetch(\"{CLEAN_URL}\")\n\
         docs: {IGNORED_URL} and http://localhost:8080/health\n"
    )
}

fn ignore_list() -> String {
    format!(
        "binaries:\n  assets/logo.png:\n    - {}\nurl_ignore:\n  - 'https://github\\.com'\n",
        sha256_hex(ALLOWED_BINARY)
    )
}

fn mock_config() -> MockConfig {
    let mut config = MockConfig::default();
    config.ips.insert(MALICIOUS_IP.into(), Stats::malicious(7));
    config.ips.insert(CLEAN_IP.into(), Stats::clean());
    config.urls.insert(MALICIOUS_URL.into(), Stats::malicious(3));
    config.urls.insert(CLEAN_URL.into(), Stats::clean());
    config
        .files
        .insert(sha256_hex(MALICIOUS_BINARY), Stats::malicious(40));
    config
}

fn fixture() -> tempfile::TempDir {
    let source = source();
    let ignore = ignore_list();
    tree(&[
        ("src/app.py", source.as_bytes()),
        ("bin/tool.exe", MALICIOUS_BINARY),
        ("assets/logo.png", ALLOWED_BINARY),
        ("ignore.yaml", ignore.as_bytes()),
    ])
}

/// anteater with the VirusTotal options pointed at the mock and Redis, fast timings for tests.
fn vt(dir: &std::path::Path, mock: &VtMock, redis: &str) -> Invocation {
    anteater(dir)
        .against_vt_mock(&mock.base_url())
        .env("REDIS_URL", redis)
        .env("ANTEATER_VT_POLL_INTERVAL", "50ms")
        .args(&["--ignore-list", "ignore.yaml"])
}

fn vt_rules(run: &Run) -> Vec<(String, u64, String)> {
    run.result_keys()
        .into_iter()
        .filter(|(_, _, rule)| rule.starts_with("virustotal-"))
        .collect()
}

fn looked_up_paths(mock: &VtMock) -> Vec<String> {
    mock.requests().into_iter().map(|r| r.path).collect()
}

#[test]
fn finds_the_malicious_ip_url_and_binary_and_sends_nothing_it_must_not() {
    let redis = RedisServer::start();
    let mock = VtMock::start(mock_config());
    let dir = fixture();
    let run = vt(dir.path(), &mock, &redis.url())
        .args(&["--path", ".", "--ips", "--urls", "--bincheck"])
        .run();

    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(
        vt_rules(&run),
        vec![
            (
                "bin/tool.exe".to_string(),
                1,
                "virustotal-malicious-file".to_string()
            ),
            ("src/app.py".to_string(), 1, "virustotal-malicious-ip".to_string()),
            (
                "src/app.py".to_string(),
                2,
                "virustotal-malicious-url".to_string()
            ),
        ]
    );
    assert!(
        run.stdout.contains("7 of 77 engines flag it as malicious"),
        "{}",
        run.stdout
    );
    assert!(run
        .stdout
        .contains("https://www.virustotal.com/gui/ip-address/90.156.201.21"));
    let ip_result = run
        .results()
        .iter()
        .find(|r| r["ruleId"] == "virustotal-malicious-ip")
        .unwrap()
        .clone();
    let region = &ip_result["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startColumn"], 11);
    assert!(ip_result["message"]["text"]
        .as_str()
        .unwrap()
        .contains("engines flag it as malicious"));

    let asked = looked_up_paths(&mock).join("\n");
    for never in [
        "10.0.0.5",
        "192.0.2.1",
        "127.0.0.1",
        "localhost",
        &sha256_hex(ALLOWED_BINARY),
    ] {
        assert!(!asked.contains(never), "{never} was sent to VirusTotal:\n{asked}");
    }
    // url_ignore: the ignored URL is neither looked up nor submitted.
    let ignored_id = crate::support::vt_mock::url_id(IGNORED_URL);
    assert!(!asked.contains(&ignored_id), "{asked}");
    assert!(
        mock.requests().iter().all(|r| r.method == "GET"),
        "nothing unknown, nothing uploaded"
    );
    assert!(
        run.stdout
            .contains("5 indicators, 5 looked up, 0 cached, 3 malicious, 0 unverified"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_second_run_over_an_unchanged_tree_asks_virustotal_nothing() {
    let redis = RedisServer::start();
    let mock = VtMock::start(mock_config());
    let dir = fixture();
    let args = ["--path", ".", "--ips", "--urls", "--bincheck"];
    let first = vt(dir.path(), &mock, &redis.url()).args(&args).run();
    let asked_first = mock.requests().len();
    assert!(asked_first >= 5);
    let second = vt(dir.path(), &mock, &redis.url()).args(&args).run();
    assert_eq!(mock.requests().len(), asked_first, "the second run made requests");
    assert_eq!(first.result_keys(), second.result_keys());
    assert!(
        second.stdout.contains("0 looked up, 5 cached"),
        "{}",
        second.stdout
    );
    assert!(second.stdout.contains("0 requests"), "{}", second.stdout);
}

#[test]
fn the_api_key_appears_in_no_output_log_or_report() {
    let redis = RedisServer::start();
    let mock = VtMock::start(mock_config());
    mock.inject_faults(vec![Fault::Status503, Fault::MalformedJson200]);
    let dir = fixture();
    let run = vt(dir.path(), &mock, &redis.url())
        .args(&["--path", ".", "--ips", "--urls", "--bincheck"])
        .run();
    assert!(
        !run.all_output().contains(DEFAULT_API_KEY),
        "{}",
        run.all_output()
    );

    // A refused key: exit 2, the message names the variable, not the value.
    let fresh_redis = RedisServer::start();
    let wrong = vt(dir.path(), &mock, &fresh_redis.url())
        .env("VT_API_KEY", "wrong-key-that-must-stay-secret")
        .args(&["--path", ".", "--ips"])
        .run();
    assert_eq!(wrong.code, 2, "{}", wrong.all_output());
    assert!(wrong.stderr.contains("VT_API_KEY"), "{}", wrong.stderr);
    assert!(!wrong.all_output().contains("wrong-key-that-must-stay-secret"));
    // Requests carried the key in the header, never in the URL.
    assert!(mock.requests().iter().all(|r| !r.path.contains("key")));
}

#[test]
fn original_users_vt_key_variable_works() {
    let redis = RedisServer::start();
    let mock = VtMock::start(mock_config());
    let dir = fixture();
    let run = vt(dir.path(), &mock, &redis.url())
        .env("VT_API_KEY", "")
        .env("VT_KEY", DEFAULT_API_KEY)
        .args(&["--path", ".", "--ips"])
        .run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(vt_rules(&run).len(), 1);
}

#[test]
fn unknown_binaries_are_uploaded_and_their_analysis_awaited() {
    let redis = RedisServer::start();
    let small: &[u8] = b"\0\x01\x02 unknown small binary";
    let mut config = MockConfig {
        polls_before_complete: 2,
        ..MockConfig::default()
    };
    config
        .upload_verdicts
        .insert(sha256_hex(small), Stats::malicious(5));
    let mock = VtMock::start(config);
    let dir = tree(&[("ignore.yaml", b"binaries: nullvalue\n"), ("blob.bin", small)]);
    let run = vt(dir.path(), &mock, &redis.url())
        .args(&["--path", ".", "--bincheck"])
        .run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(vt_rules(&run)
        .iter()
        .any(|(_, _, rule)| rule == "virustotal-malicious-file"));
    let requests = mock.requests();
    let upload = requests.iter().find(|r| r.method == "POST").expect("an upload");
    assert_eq!(upload.path, "/api/v3/files");
    let polls = requests
        .iter()
        .filter(|r| r.path.starts_with("/api/v3/analyses/"))
        .count();
    assert_eq!(polls, 3, "queued twice, then completed");
}

#[test]
fn binaries_over_32_mb_go_through_an_upload_url() {
    let redis = RedisServer::start();
    let mut big = vec![0u8; 33 * 1024 * 1024];
    big[..16].copy_from_slice(b"\0big binary file");
    let mut config = MockConfig::default();
    config.upload_verdicts.insert(sha256_hex(&big), Stats::clean());
    let mock = VtMock::start(config);
    let dir = tree(&[("ignore.yaml", b"binaries: nullvalue\n"), ("big.bin", &big)]);
    let run = vt(dir.path(), &mock, &redis.url())
        .args(&[
            "--path",
            ".",
            "--bincheck",
            "--max-file-size",
            "100MiB",
            "--vt-timeout",
            "30s",
        ])
        .run();
    // Clean on VirusTotal, but still a binary missing from the allowlist.
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(vt_rules(&run).is_empty(), "{}", run.stdout);
    let paths = looked_up_paths(&mock);
    assert!(paths.iter().any(|p| p == "/api/v3/files/upload_url"), "{paths:?}");
    assert!(paths.iter().any(|p| p.starts_with("/_upload/")), "{paths:?}");
    assert!(!paths.iter().any(|p| p == "/api/v3/files"), "{paths:?}");
}

#[test]
fn unknown_urls_are_submitted_and_polled() {
    let redis = RedisServer::start();
    let fresh = "https://fresh.example/new-campaign";
    let mut config = MockConfig::default();
    config.submit_verdicts.insert(fresh.into(), Stats::malicious(2));
    let mock = VtMock::start(config);
    let dir = tree(&[
        ("ignore.yaml", b"url_ignore: nullvalue\n"),
        ("a.md", format!("see {fresh}\n").as_bytes()),
    ]);
    let run = vt(dir.path(), &mock, &redis.url())
        .args(&["--path", ".", "--urls"])
        .run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(
        vt_rules(&run),
        vec![("a.md".to_string(), 1, "virustotal-malicious-url".to_string())]
    );
    assert!(mock
        .requests()
        .iter()
        .any(|r| r.method == "POST" && r.path == "/api/v3/urls"));
}

#[test]
fn no_upload_sends_no_file_and_no_url_and_reports_unknowns_as_unverified() {
    let redis = RedisServer::start();
    let mock = VtMock::start(MockConfig::default());
    let dir = tree(&[
        ("ignore.yaml", b"binaries: nullvalue\n"),
        ("blob.bin", b"\0unknown"),
        ("a.txt", b"https://fresh.example/x\n"),
    ]);
    let run = vt(dir.path(), &mock, &redis.url())
        .args(&["--path", ".", "--urls", "--bincheck", "--no-upload"])
        .run();
    assert!(
        mock.requests().iter().all(|r| r.method == "GET"),
        "{:?}",
        looked_up_paths(&mock)
    );
    let unverified: Vec<_> = run
        .results()
        .iter()
        .filter(|r| r["ruleId"] == "virustotal-unverified")
        .collect();
    assert_eq!(unverified.len(), 2, "{}", run.stdout);
    assert!(unverified.iter().all(|r| r["level"] == "note"));
    assert!(run.stdout.contains("uploads are disabled"), "{}", run.stdout);
}

#[test]
fn transient_failures_are_retried_then_reported_unverified_never_clean() {
    let redis = RedisServer::start();
    let mock = VtMock::start(mock_config());
    let dir = tree(&[
        ("ignore.yaml", b"url_ignore: nullvalue\n"),
        ("a.txt", format!("{MALICIOUS_IP}\n").as_bytes()),
    ]);

    // Two failures, then an answer: retried, found.
    mock.inject_faults(vec![Fault::Status503, Fault::NonJson502]);
    let run = vt(dir.path(), &mock, &redis.url())
        .args(&["--path", ".", "--ips"])
        .run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(vt_rules(&run)[0].2, "virustotal-malicious-ip");

    // Always failing: unverified (a note, exit 0) — or a failure with --vt-fail-closed.
    let redis = RedisServer::start();
    mock.inject_faults(vec![
        Fault::Status504,
        Fault::MalformedJson200,
        Fault::Status503,
        Fault::Status503,
    ]);
    let run = vt(dir.path(), &mock, &redis.url())
        .args(&["--path", ".", "--ips"])
        .run();
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(vt_rules(&run)[0].2, "virustotal-unverified");
    assert!(run.stdout.contains("after 3 retries"), "{}", run.stdout);
    assert!(run.stdout.contains("1 unverified"), "{}", run.stdout);

    mock.inject_faults(vec![Fault::Status503; 4]);
    let run = vt(dir.path(), &mock, &redis.url())
        .args(&["--path", ".", "--ips", "--vt-fail-closed"])
        .run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(run.results()[0]["level"], "error");
}

#[test]
fn timeouts_are_retried() {
    let redis = RedisServer::start();
    let mock = VtMock::start(mock_config());
    mock.inject_faults(vec![Fault::Delay(Duration::from_millis(1500))]);
    let dir = tree(&[
        ("ignore.yaml", b"url_ignore: nullvalue\n"),
        ("a.txt", format!("{MALICIOUS_IP}\n").as_bytes()),
    ]);
    let run = vt(dir.path(), &mock, &redis.url())
        .args(&["--path", ".", "--ips", "--vt-timeout", "500ms"])
        .run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(vt_rules(&run)[0].2, "virustotal-malicious-ip");
}

#[test]
fn quota_answers_wait_for_the_limiter_and_retry() {
    let redis = RedisServer::start();
    let mock = VtMock::start(mock_config());
    mock.inject_faults(vec![Fault::Status429QuotaExceeded]);
    let dir = tree(&[
        ("ignore.yaml", b"url_ignore: nullvalue\n"),
        ("a.txt", format!("{MALICIOUS_IP}\n").as_bytes()),
    ]);
    let run = vt(dir.path(), &mock, &redis.url())
        .args(&["--path", ".", "--ips", "--vt-rate", "2/1s"])
        .run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    let gap = requests[1].at.duration_since(requests[0].at).unwrap();
    assert!(
        gap >= Duration::from_millis(900),
        "retried after {gap:?}, before the window passed"
    );
}

#[test]
fn daily_quota_stops_lookups_cleanly() {
    let redis = RedisServer::start();
    let mock = VtMock::start(mock_config());
    let dir = tree(&[
        ("ignore.yaml", b"url_ignore: nullvalue\n"),
        ("a.txt", b"1.1.1.1 8.8.4.4 9.9.9.9 8.8.8.8\n"),
    ]);
    let run = vt(dir.path(), &mock, &redis.url())
        .args(&["--path", ".", "--ips", "--vt-daily-quota", "2"])
        .run();
    assert_eq!(mock.requests().len(), 2);
    assert!(run.stderr.contains("daily VirusTotal quota"), "{}", run.stderr);
    assert!(run.stdout.contains("2 unverified"), "{}", run.stdout);
    assert_eq!(run.code, 0);
}

#[test]
fn without_redis_the_budget_falls_back_to_this_process_with_a_warning() {
    let mock = VtMock::start(mock_config());
    let dir = fixture();
    let run = vt(dir.path(), &mock, "redis://127.0.0.1:1")
        .args(&["--path", ".", "--ips"])
        .run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(run.stderr.contains("NOT shared"), "{}", run.stderr);
    assert!(
        run.stdout.contains("budget NOT shared: no Redis"),
        "{}",
        run.stdout
    );
}

#[test]
fn progress_says_how_long_the_queue_will_take() {
    let redis = RedisServer::start();
    let mock = VtMock::start(mock_config());
    let dir = fixture();
    let run = vt(dir.path(), &mock, &redis.url())
        .args(&["--path", ".", "--ips", "--urls", "--vt-rate", "100/1m"])
        .run();
    assert!(
        run.stderr
            .contains("VirusTotal: 4 to look up, 0 cached, rate 100/1m, about 1s"),
        "{}",
        run.stderr
    );
}

/// The heart of the product: several jobs sharing one key never exceed its budget.
#[test]
fn concurrent_jobs_sharing_a_key_never_exceed_the_rate_together() {
    const JOBS: usize = 3;
    const PER_JOB: usize = 5;
    const LIMIT: usize = 5;
    const WINDOW: Duration = Duration::from_secs(2);
    let redis = RedisServer::start();
    let mock = VtMock::start(MockConfig::default());
    let dirs: Vec<_> = (0..JOBS)
        .map(|job| {
            let ips: Vec<String> = (0..PER_JOB)
                .map(|i| format!("81.{}.{}.{}", job + 1, i + 1, 7))
                .collect();
            tree(&[
                ("ignore.yaml", b"url_ignore: nullvalue\n"),
                ("hosts.txt", ips.join("\n").as_bytes()),
            ])
        })
        .collect();

    let runs: Vec<Run> = std::thread::scope(|scope| {
        let handles: Vec<_> = dirs
            .iter()
            .map(|dir| {
                let mock = &mock;
                let url = redis.url();
                scope.spawn(move || {
                    vt(dir.path(), mock, &url)
                        .args(&["--path", ".", "--ips", "--vt-rate", "5/2s"])
                        .run()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    for run in &runs {
        assert_eq!(run.code, 0, "{}", run.all_output());
        assert!(
            run.stdout.contains(&format!("{PER_JOB} looked up")),
            "{}",
            run.stdout
        );
        assert!(run.stdout.contains("0 unverified"), "{}", run.stdout);
    }
    let times: Vec<SystemTime> = mock.requests().iter().map(|r| r.at).collect();
    assert_eq!(times.len(), JOBS * PER_JOB, "every lookup completed, once");
    let mut sorted = times.clone();
    sorted.sort();
    for (i, start) in sorted.iter().enumerate() {
        let in_window = sorted[i..]
            .iter()
            .take_while(|t| t.duration_since(*start).unwrap() < WINDOW)
            .count();
        assert!(
            in_window <= LIMIT,
            "{in_window} requests within {WINDOW:?} from request {i}: {sorted:?}"
        );
    }
    let per_ip: HashMap<String, usize> = mock.requests().iter().fold(HashMap::new(), |mut counts, r| {
        *counts.entry(r.path.clone()).or_default() += 1;
        counts
    });
    assert!(per_ip.values().all(|&n| n == 1), "{per_ip:?}");
}

/// History hands its indicators to VirusTotal like any source: an address only history holds is
/// looked up, and one the working tree still holds is looked up and reported once.
#[test]
fn history_indicators_are_looked_up_once_each() {
    use crate::support::git_repo::GitRepo;
    let redis = RedisServer::start();
    let mock = VtMock::start(mock_config());
    let repo = GitRepo::new();
    repo.write("README.md", b"a project\n");
    let base = repo.commit("base");
    repo.write("src/gone.py", format!("server = '{MALICIOUS_IP}'\n").as_bytes());
    repo.commit("add a server");
    repo.remove("src/gone.py");
    repo.write("src/kept.py", format!("fetch('{MALICIOUS_URL}')\n").as_bytes());
    repo.commit("move on");
    let run = anteater(repo.path())
        .against_vt_mock(&mock.base_url())
        .env("REDIS_URL", &redis.url())
        .args(&["--path", ".", "--diff", &base, "--ips", "--urls"])
        .run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(
        vt_rules(&run),
        vec![
            (
                "src/gone.py".to_string(),
                1,
                "virustotal-malicious-ip".to_string()
            ),
            (
                "src/kept.py".to_string(),
                1,
                "virustotal-malicious-url".to_string()
            ),
        ]
    );
    let paths = looked_up_paths(&mock);
    let ip_lookups = paths.iter().filter(|p| p.ends_with(MALICIOUS_IP)).count();
    assert_eq!(ip_lookups, 1, "{paths:?}");
}

/// A waiver a change writes is one waiver, though the net change and history both read its line.
#[test]
fn a_waiver_in_a_change_is_counted_once() {
    use crate::support::git_repo::GitRepo;
    let repo = GitRepo::new();
    repo.write("a.txt", b"x\n");
    let base = repo.commit("base");
    let waived = "GITHUB_TOKEN=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 # anteater:ignore\n"; // fake-secret-for-tests
    repo.write("a.txt", waived.as_bytes());
    repo.commit("change");
    let run = anteater(repo.path())
        .args(&["--path", ".", "--diff", &base])
        .run();
    assert!(
        run.stdout.contains("anteater: 1 finding suppressed inline"),
        "{}",
        run.all_output()
    );
}

/// `--staged --bincheck` reads the staged binary out of git, and sends VirusTotal the working
/// tree's copy only while it is byte for byte what the commit records; once edited on disk,
/// nothing is sent and the verdict is unverified, never clean.
#[test]
fn a_staged_binary_is_uploaded_only_while_the_working_copy_is_the_staged_one() {
    use crate::support::git_repo::GitRepo;
    let redis = RedisServer::start();
    let staged: &[u8] = b"\0\x01\x02 staged unknown binary";
    let mut config = MockConfig::default();
    config
        .upload_verdicts
        .insert(sha256_hex(staged), Stats::malicious(5));
    let mock = VtMock::start(config);
    let repo = GitRepo::new();
    repo.write("ignore.yaml", b"binaries: nullvalue\n");
    repo.commit("base");
    repo.write("tool.bin", staged);
    repo.git(&["add", "tool.bin"]);
    let run = vt(repo.path(), &mock, &redis.url())
        .args(&["--staged", "--bincheck"])
        .run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(
        vt_rules(&run),
        vec![("tool.bin".to_string(), 1, "virustotal-malicious-file".to_string())]
    );
    let uploads = mock.requests().iter().filter(|r| r.method == "POST").count();
    assert_eq!(uploads, 1, "{:?}", looked_up_paths(&mock));

    // Edited on disk after staging: the commit still records the staged bytes, which are not
    // at hand to send.
    let other = MockConfig::default();
    let mock = VtMock::start(other);
    repo.write("tool.bin", b"\0\x01\x02 edited since");
    let run = vt(repo.path(), &mock, &RedisServer::start().url())
        .args(&["--staged", "--bincheck"])
        .run();
    assert!(
        mock.requests().iter().all(|r| r.method == "GET"),
        "{:?}",
        looked_up_paths(&mock)
    );
    assert_eq!(
        vt_rules(&run),
        vec![("tool.bin".to_string(), 1, "virustotal-unverified".to_string())],
        "{}",
        run.all_output()
    );
    assert!(
        run.stdout.contains("no longer at hand to upload"),
        "{}",
        run.stdout
    );
}

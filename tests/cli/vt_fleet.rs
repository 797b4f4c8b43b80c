//! VirusTotal at fleet scale (issue 10): one question per indicator across concurrent jobs
//! (single flight), pipelined lookups, the overall deadline and circuit breaker, and progress a
//! person can follow. The real binary against the VirusTotal mock and real redis-server processes.

use std::time::{Duration, Instant, SystemTime};

use crate::common::{anteater, tree, Invocation, Run};
use crate::support::redis_server::{RedisCluster, RedisServer};
use crate::support::vt_mock::{sha256_hex, MockConfig, Stats, VtMock, DEFAULT_API_KEY};

const MALICIOUS_IP: &str = "90.156.201.21";
const KNOWN_URL: &str = "https://docs.example.org/guide";
const UNKNOWN_URL: &str = "https://new.example.net/download/tool";
const KNOWN_BINARY: &[u8] = b"MZ\0\0\x90\0malware-sample-for-fleet";
const UNKNOWN_BINARY: &[u8] = b"MZ\0\0\x90\0never-seen-before-by-virustotal";

fn vt(dir: &std::path::Path, mock: &VtMock, redis: &str) -> Invocation {
    anteater(dir)
        .against_vt_mock(&mock.base_url())
        .env("REDIS_URL", redis)
        .env("ANTEATER_VT_POLL_INTERVAL", "100ms")
        .args(&["--ignore-list", "ignore.yaml"])
}

fn ips(count: usize) -> String {
    (0..count)
        .map(|i| format!("81.{}.{}.7", i / 200 + 1, i % 200 + 1))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A tree of `count` public IP addresses (`hosts.txt`), nothing else to look up.
fn hosts_tree(count: usize) -> tempfile::TempDir {
    tree(&[
        ("ignore.yaml", b"url_ignore: nullvalue\n"),
        ("hosts.txt", ips(count).as_bytes()),
    ])
}

/// Seven unique indicators, two of them unknown to VirusTotal (a binary to upload and a URL to
/// submit), like the tree the issue measured.
fn fleet_tree() -> tempfile::TempDir {
    let source = format!(
        "server = '{MALICIOUS_IP}'  # and 8.8.8.8, 1.1.1.1\nfetch('{KNOWN_URL}'); fetch('{UNKNOWN_URL}')\n"
    );
    tree(&[
        ("ignore.yaml", b"url_ignore: nullvalue\n"),
        ("src/app.py", source.as_bytes()),
        ("bin/tool.exe", KNOWN_BINARY),
        ("bin/new.exe", UNKNOWN_BINARY),
    ])
}

fn fleet_mock(latency: Duration) -> VtMock {
    let mut config = MockConfig {
        latency,
        polls_before_complete: 2,
        // A real public key's minute quota would 429; anything above the rate never should.
        quota_per_minute: Some(1000),
        ..MockConfig::default()
    };
    config.ips.insert(MALICIOUS_IP.into(), Stats::malicious(7));
    config.urls.insert(KNOWN_URL.into(), Stats::clean());
    config
        .files
        .insert(sha256_hex(KNOWN_BINARY), Stats::malicious(40));
    VtMock::start(config)
}

fn fleet_args() -> [&'static str; 5] {
    ["--path", ".", "--ips", "--urls", "--bincheck"]
}

fn summary_row(path: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let header = text
        .lines()
        .position(|l| l.starts_with("| Indicators | Looked up |"))
        .unwrap_or_else(|| panic!("no VirusTotal table:\n{text}"));
    let row = text.lines().nth(header + 2).unwrap();
    row.trim_matches('|')
        .split('|')
        .map(|c| c.trim().to_string())
        .collect()
}

/// The goal of item 2: three jobs on one tree with one Redis send what one job alone needs.
#[test]
fn three_concurrent_jobs_ask_virustotal_once_per_indicator() {
    // One job alone, for the reference count.
    let alone_mock = fleet_mock(Duration::from_millis(100));
    let redis = RedisServer::start();
    let dir = fleet_tree();
    let alone = vt(dir.path(), &alone_mock, &redis.url())
        .args(&fleet_args())
        .run();
    assert_eq!(alone.code, 1, "{}", alone.all_output());
    let one_job = alone_mock.requests().len();
    assert_eq!(alone_mock.uploads(), 1);
    assert!(
        alone.stdout.contains("7 indicators, 7 looked up"),
        "{}",
        alone.stdout
    );

    // Three jobs at once on a fresh Redis and a fresh mock.
    let mock = fleet_mock(Duration::from_millis(100));
    let redis = RedisServer::start();
    let dirs: Vec<_> = (0..3).map(|_| fleet_tree()).collect();
    let runs: Vec<Run> = std::thread::scope(|scope| {
        let handles: Vec<_> = dirs
            .iter()
            .map(|dir| {
                let (mock, url) = (&mock, redis.url());
                let summary = dir.path().join("summary.md");
                scope.spawn(move || {
                    vt(dir.path(), mock, &url)
                        .env("GITHUB_ACTIONS", "true")
                        .env("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())
                        .args(&fleet_args())
                        .run()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let requests = mock.requests();
    let paths: Vec<String> = requests
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        requests.len(),
        one_job,
        "3 jobs sent {} requests, one job alone needs {one_job}:\n{}",
        requests.len(),
        paths.join("\n")
    );
    assert_eq!(mock.uploads(), 1, "{}", paths.join("\n"));
    assert!(requests.iter().all(|r| r.status != 429), "{}", paths.join("\n"));

    let mut looked_up = 0;
    for (run, dir) in runs.iter().zip(&dirs) {
        assert_eq!(run.code, 1, "{}", run.stdout);
        assert!(run.stdout.contains("0 unverified"), "{}", run.stdout);
        // Every job reports the same verdicts, whoever asked.
        assert_eq!(run.result_keys(), alone.result_keys(), "{}", run.stdout);
        // | Indicators | Looked up | Cached | Shared with other jobs | ... | Requests today |
        let row = summary_row(&dir.path().join("summary.md"));
        let count = |i: usize| row[i].parse::<usize>().unwrap();
        assert_eq!(count(1) + count(2) + count(3), 7, "{row:?}");
        looked_up += count(1);
        // Requests today: the shared daily counter, every job's requests.
        assert_eq!(row[7], one_job.to_string(), "{row:?}");
    }
    // Each indicator looked up by exactly one job; the others took its answer (while waiting on
    // its claim, or from the cache if they started later).
    assert_eq!(looked_up, 7);
}

/// The goal of item 3: 500 indicators at a premium rate against a service answering after
/// 200 ms take seconds, not the 100 s one request at a time would.
#[test]
fn lookups_are_pipelined() {
    let mock = VtMock::start(MockConfig {
        latency: Duration::from_millis(200),
        ..MockConfig::default()
    });
    let redis = RedisServer::start();
    let dir = hosts_tree(500);
    let started = Instant::now();
    let run = vt(dir.path(), &mock, &redis.url())
        .args(&["--path", ".", "--ips", "--vt-rate", "6000/1m"])
        .run();
    let elapsed = started.elapsed();
    assert_eq!(
        run.code,
        0,
        "{}",
        run.stdout
            .lines()
            .chain(run.stderr.lines())
            .filter(|l| l.starts_with("anteater"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(run.stdout.contains("500 looked up"), "{}", run.stdout);
    assert_eq!(mock.requests().len(), 500);
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    // Results stay in a stable order whatever order the answers came in.
    let again = vt(dir.path(), &mock, &redis.url())
        .args(&["--path", ".", "--ips", "--vt-rate", "6000/1m", "--format", "json"])
        .run();
    assert_eq!(again.code, 0, "{}", again.all_output());
}

/// At a small budget the run takes what the budget allows and no more: a pending analysis does
/// not leave slots idle (the addresses use them meanwhile).
#[test]
fn no_budget_is_idle_while_an_analysis_is_pending() {
    let mut config = MockConfig {
        polls_before_complete: 1,
        ..MockConfig::default()
    };
    config.files.clear();
    let mock = VtMock::start(config);
    let redis = RedisServer::start();
    let hosts = ips(11);
    let dir = tree(&[
        ("ignore.yaml", b"url_ignore: nullvalue\n"),
        ("hosts.txt", hosts.as_bytes()),
        ("bin/new.exe", UNKNOWN_BINARY),
    ]);
    let run = vt(dir.path(), &mock, &redis.url())
        .env("ANTEATER_VT_POLL_INTERVAL", "1s")
        .env("ANTEATER_VT_PROGRESS_EVERY", "500ms")
        .args(&["--path", ".", "--ips", "--bincheck", "--vt-rate", "4/2s"])
        .run();
    // 1: the new binary is not allowlisted; VirusTotal finds nothing.
    assert_eq!(
        run.code,
        1,
        "{}",
        run.stdout
            .lines()
            .chain(run.stderr.lines())
            .filter(|l| l.starts_with("anteater"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(run.stdout.contains("12 looked up"), "{}", run.stdout);
    let times: Vec<SystemTime> = mock.requests().iter().map(|r| r.at).collect();
    let span = times.last().unwrap().duration_since(times[0]).unwrap();
    // 4 per effective window of 2.2 s: n requests need at least (ceil(n/4) - 1) windows.
    let windows = times.len().div_ceil(4) - 1;
    let bound = Duration::from_millis(2200) * windows as u32;
    assert!(
        span <= bound.mul_f64(1.05) + Duration::from_millis(250),
        "{} requests took {span:?}, the budget allows {bound:?}: {:?}",
        times.len(),
        mock.requests()
            .iter()
            .map(|r| (
                r.at.duration_since(times[0]).unwrap().as_millis(),
                r.path.chars().take(30).collect::<String>()
            ))
            .collect::<Vec<_>>()
    );
    // Progress says what is waited on.
    assert!(
        run.stderr.contains("waiting on the rate budget (next slot in"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("1 analysis"), "{}", run.stderr);
    assert!(run.stderr.contains("left at 4/2s"), "{}", run.stderr);
}

/// A hanging VirusTotal: five timeouts in a row stop the lookups, the rest is unverified at once.
#[test]
fn a_hanging_virustotal_trips_the_circuit_breaker() {
    let mock = VtMock::start(MockConfig {
        latency: Duration::from_secs(3600),
        ..MockConfig::default()
    });
    let redis = RedisServer::start();
    let dir = hosts_tree(40);
    let started = Instant::now();
    let run = vt(dir.path(), &mock, &redis.url())
        .args(&["--path", ".", "--ips", "--vt-timeout", "500ms"])
        .run();
    let elapsed = started.elapsed();
    assert_eq!(run.code, 0, "unverified is a note: {}", run.all_output());
    assert!(run.stdout.contains("40 unverified"), "{}", run.stdout);
    assert!(run.stdout.contains("circuit breaker"), "{}", run.stdout);
    // Without the breaker: 40 indicators × 4 attempts × 0.5 s, 24 at a time ≈ 4 s at best and
    // 80 s one at a time; with it, one round of timeouts.
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
    assert!(mock.requests().len() <= 30, "{}", mock.requests().len());

    let run = vt(dir.path(), &mock, &redis.url())
        .args(&[
            "--path",
            ".",
            "--ips",
            "--vt-timeout",
            "500ms",
            "--vt-fail-closed",
        ])
        .run();
    assert_eq!(
        run.code,
        1,
        "{}",
        run.stdout
            .lines()
            .chain(run.stderr.lines())
            .filter(|l| l.starts_with("anteater"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// `--vt-deadline` bounds the whole phase, even while waiting on the budget.
#[test]
fn the_deadline_bounds_the_whole_enrichment() {
    let mock = VtMock::start(MockConfig::default());
    let redis = RedisServer::start();
    let dir = hosts_tree(5);
    let started = Instant::now();
    let run = vt(dir.path(), &mock, &redis.url())
        .env("ANTEATER_VT_DEADLINE", "2s")
        .env("ANTEATER_VT_PROGRESS_EVERY", "500ms")
        .args(&["--path", ".", "--ips", "--vt-rate", "1/1m"])
        .run();
    let elapsed = started.elapsed();
    assert_eq!(
        run.code,
        0,
        "{}",
        run.stdout
            .lines()
            .chain(run.stderr.lines())
            .filter(|l| l.starts_with("anteater"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert_eq!(mock.requests().len(), 1);
    assert!(
        run.stdout.contains("1 looked up") && run.stdout.contains("4 unverified"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("--vt-deadline 2s"), "{}", run.stdout);
    assert!(
        run.stderr
            .contains("1 of 5 done, 4 queued; waiting on the rate budget"),
        "{}",
        run.stderr
    );
}

/// A Redis that accepts connections and never answers costs one connect timeout, then the job
/// goes on with its own budget and says so.
#[test]
fn a_frozen_redis_at_the_start_costs_one_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}", listener.local_addr().unwrap());
    let mock = VtMock::start(MockConfig::default());
    let dir = hosts_tree(5);
    let started = Instant::now();
    let run = vt(dir.path(), &mock, &url).args(&["--path", ".", "--ips"]).run();
    let elapsed = started.elapsed();
    drop(listener);
    assert_eq!(
        run.code,
        0,
        "{}",
        run.stdout
            .lines()
            .chain(run.stderr.lines())
            .filter(|l| l.starts_with("anteater"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(run.stdout.contains("5 looked up"), "{}", run.stdout);
    assert!(
        run.stdout.contains("budget NOT shared: no Redis"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("single flight"), "{}", run.stderr);
    assert!(elapsed < Duration::from_secs(6), "{elapsed:?}");
}

/// Redis freezing mid-run (SIGSTOP): bounded time, the summary says when the budget stopped
/// being shared.
#[test]
fn redis_freezing_mid_run_is_bounded_and_the_summary_says_so() {
    let redis = RedisServer::start();
    let mock = VtMock::start(MockConfig::default());
    let dir = hosts_tree(6);
    let started = Instant::now();
    let run = std::thread::scope(|scope| {
        let url = redis.url();
        let (dir, mock) = (&dir, &mock);
        let job = scope.spawn(move || {
            vt(dir.path(), mock, &url)
                .args(&["--path", ".", "--ips", "--vt-rate", "2/1s"])
                .run()
        });
        while mock.requests().is_empty() && started.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(10));
        }
        signal(redis.pid(), "-STOP");
        let run = job.join().unwrap();
        signal(redis.pid(), "-CONT");
        run
    });
    let elapsed = started.elapsed();
    assert_eq!(
        run.code,
        0,
        "{}",
        run.stdout
            .lines()
            .chain(run.stderr.lines())
            .filter(|l| l.starts_with("anteater"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(run.stdout.contains("6 looked up"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("budget shared through Redis until Redis failed after"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("NOT shared with other jobs any more"),
        "{}",
        run.stderr
    );
    // Before: about 51 s per remaining indicator.
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
}

fn signal(pid: u32, which: &str) {
    let status = std::process::Command::new("kill")
        .args([which, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// The key under which a job claims an indicator, as an operator inspecting Redis would work it
/// out: the budget is named by the first 12 bytes of the API key's SHA-256 (in hex), the value
/// by its whole SHA-256.
fn claim_key(kind: &str, value: &str) -> String {
    let budget = &sha256_hex(DEFAULT_API_KEY.as_bytes())[..24];
    format!(
        "anteater:vt:{{{budget}}}:claim:{kind}:{}",
        sha256_hex(value.as_bytes())
    )
}

/// A job that died holding a claim: the next job waits (and says so), then takes over when the
/// lease lapses.
#[test]
fn a_dead_jobs_claim_is_taken_over_when_its_lease_lapses() {
    let redis = RedisServer::start();
    let mock = VtMock::start(MockConfig::default());
    let dir = tree(&[
        ("ignore.yaml", b"url_ignore: nullvalue\n"),
        ("hosts.txt", b"81.1.1.7\n"),
    ]);
    let key = claim_key("ip", "81.1.1.7");
    assert_eq!(
        redis.cli(None, &["SET", &key, "dead-job", "PX", "1500"]).trim(),
        "OK"
    );
    let started = Instant::now();
    let run = vt(dir.path(), &mock, &redis.url())
        .env("ANTEATER_VT_PROGRESS_EVERY", "300ms")
        .args(&["--path", ".", "--ips"])
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("1 looked up"), "{}", run.stdout);
    assert!(started.elapsed() >= Duration::from_millis(1200));
    assert!(
        run.stderr
            .contains("waiting on 1 indicator another job is asking about"),
        "{}",
        run.stderr
    );
    assert_eq!(mock.requests().len(), 1);
}

/// A job that gave up on an analysis (or died) leaves its analysis id next to the claim: the job
/// taking over polls it and never uploads the file again.
#[test]
fn taking_over_polls_the_running_analysis_instead_of_uploading_again() {
    let redis = RedisServer::start();
    let mock = VtMock::start(MockConfig {
        polls_before_complete: 4,
        ..MockConfig::default()
    });
    let dir = tree(&[
        ("ignore.yaml", b"url_ignore: nullvalue\n"),
        ("bin/new.exe", UNKNOWN_BINARY),
    ]);
    let first = vt(dir.path(), &mock, &redis.url())
        .args(&["--path", ".", "--bincheck", "--vt-max-wait", "150ms"])
        .run();
    assert!(first.stdout.contains("1 unverified"), "{}", first.stdout);
    assert_eq!(mock.uploads(), 1);
    let second = vt(dir.path(), &mock, &redis.url())
        .args(&["--path", ".", "--bincheck"])
        .run();
    assert!(
        second.stdout.contains("1 looked up") && second.stdout.contains("0 unverified"),
        "{}",
        second.stdout
    );
    assert_eq!(mock.uploads(), 1, "the file was uploaded again");
    assert!(mock
        .requests()
        .iter()
        .skip_while(|r| !r.path.starts_with("/api/v3/analyses/"))
        .all(|r| r.path.starts_with("/api/v3/analyses/")));
}

/// Single flight on a Redis Cluster: claims, the limiter and the cache all work through a
/// three-node cluster (one hash tag per budget), and a second job asks nothing.
#[test]
fn single_flight_works_on_a_redis_cluster() {
    let cluster = RedisCluster::start();
    let mock = fleet_mock(Duration::ZERO);
    let dir = fleet_tree();
    let run = vt(dir.path(), &mock, &cluster.seed_url())
        .args(&fleet_args())
        .run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    assert!(run.stdout.contains("7 looked up") && run.stdout.contains("budget shared through Redis)"));
    let claimed: usize = cluster
        .nodes
        .iter()
        .map(|node| {
            node.cli(None, &["--scan", "--pattern", "anteater:vt:{*}:analysis:*"])
                .lines()
                .count()
        })
        .sum();
    assert_eq!(
        claimed, 2,
        "the upload's and the submission's analyses are kept for a takeover"
    );
    let requests = mock.requests().len();
    let again = vt(dir.path(), &mock, &cluster.seed_url())
        .args(&fleet_args())
        .run();
    assert!(again.stdout.contains("7 cached"), "{}", again.stdout);
    assert_eq!(mock.requests().len(), requests);
}

/// The figures of `bench/vt-fleet.sh` (not a timed test: run with `--ignored --nocapture`).
#[test]
#[ignore = "benchmark: run by bench/vt-fleet.sh"]
#[allow(clippy::print_stdout)] // the figures are its output
fn bench_vt_fleet() {
    // Concurrency: 3 jobs on one tree and one Redis, against one job alone.
    let alone_mock = fleet_mock(Duration::from_millis(100));
    let redis = RedisServer::start();
    let dir = fleet_tree();
    vt(dir.path(), &alone_mock, &redis.url())
        .args(&fleet_args())
        .run();
    let one_job = alone_mock.requests().len();
    let mock = fleet_mock(Duration::from_millis(100));
    let redis = RedisServer::start();
    let dirs: Vec<_> = (0..3).map(|_| fleet_tree()).collect();
    std::thread::scope(|scope| {
        for dir in &dirs {
            let (mock, url) = (&mock, redis.url());
            scope.spawn(move || vt(dir.path(), mock, &url).args(&fleet_args()).run());
        }
    });
    let three_jobs = mock.requests().len();
    let too_many = mock.requests().iter().filter(|r| r.status == 429).count();
    println!("concurrency: 7 unique indicators (1 file to upload, 1 URL to submit), 100 ms per request");
    println!(
        "  one job alone:   {one_job} requests, {} upload",
        alone_mock.uploads()
    );
    println!(
        "  3 jobs together: {three_jobs} requests, {} upload(s), {too_many} answered 429",
        mock.uploads()
    );
    println!(
        "  requests, 3 jobs / one job: {:.2}; duplicate uploads: {}",
        three_jobs as f64 / one_job as f64,
        mock.uploads().saturating_sub(1)
    );

    // Pipelining: 500 indicators at 6000/1m, each request answered after 200 ms.
    let latency = Duration::from_millis(200);
    let mock = VtMock::start(MockConfig {
        latency,
        ..MockConfig::default()
    });
    let redis = RedisServer::start();
    let dir = hosts_tree(500);
    let started = Instant::now();
    vt(dir.path(), &mock, &redis.url())
        .args(&["--path", ".", "--ips", "--vt-rate", "6000/1m"])
        .run();
    let measured = started.elapsed();
    let sequential = latency * mock.requests().len() as u32;
    println!("pipelining: 500 unique indicators at --vt-rate 6000/1m, 200 ms per request");
    println!(
        "  one at a time (lower bound): {:.1}s; measured (whole run): {:.1}s; speed-up {:.1}x",
        sequential.as_secs_f64(),
        measured.as_secs_f64(),
        sequential.as_secs_f64() / measured.as_secs_f64()
    );
}

//! Issue 17: one Redis connection per run, shared by every enricher that needs Redis. A run with
//! both VirusTotal (`--ips`) and `--validate` opens exactly one client connection to a real
//! redis-server, and a frozen one costs the run one connect attempt and one timeout, not one
//! per enricher.

use std::time::{Duration, Instant};

use crate::common::{anteater, tree, Invocation};
use crate::support::provider_mock::{Behaviour, ProviderMock};
use crate::support::redis_server::RedisServer;
use crate::support::vt_mock::{MockConfig, VtMock};
use crate::validate::{against, spec, token};

/// Both enrichers' work: three public IP addresses for VirusTotal and one GitLab token that its
/// provider mock says is live.
/// The tree comes back with the invocation, to live as long as the run.
fn both_enrichers(
    vt: &VtMock,
    provider: &ProviderMock,
    redis_url: &str,
    token_line: &str,
) -> (tempfile::TempDir, Invocation) {
    let dir = tree(&[
        ("ignore.yaml", b"url_ignore: nullvalue\n"),
        ("hosts.txt", b"81.1.1.7\n81.1.2.7\n81.1.3.7\n"),
        ("ci.env", format!("{token_line}\n").as_bytes()),
    ]);
    let invocation = against(anteater(dir.path()), &[provider])
        .against_vt_mock(&vt.base_url())
        .env("REDIS_URL", redis_url)
        .env("ANTEATER_VT_POLL_INTERVAL", "100ms")
        .args(&[
            "--path",
            ".",
            "--ignore-list",
            "ignore.yaml",
            "--ips",
            "--validate",
        ]);
    (dir, invocation)
}

/// Connections the server has accepted since it started (every `redis-cli` call is one).
fn connections_received(redis: &RedisServer) -> u64 {
    let info = redis.cli(None, &["INFO", "stats"]);
    info.lines()
        .find_map(|line| line.strip_prefix("total_connections_received:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no total_connections_received in {info}"))
}

#[test]
fn virustotal_and_validate_share_one_redis_connection() {
    let redis = RedisServer::start();
    let vt = VtMock::start(MockConfig::default());
    let (live, live_line) = token("gitlab", 31);
    let provider = ProviderMock::start(spec("gitlab"), &[(&live, Behaviour::Live)], Duration::ZERO);
    let before = connections_received(&redis);
    let (_dir, invocation) = both_enrichers(&vt, &provider, &redis.url(), &live_line);
    let run = invocation.run();
    // This second INFO is a connection of its own.
    let opened_by_the_run = connections_received(&redis) - before - 1;
    assert!(run.stdout.contains("3 looked up"), "{}", run.all_output());
    assert!(
        run.stderr.contains("validated secrets: 1 live"),
        "{}",
        run.all_output()
    );
    // Both enrichers kept what they learnt in that Redis, through the one connection.
    let verdicts = redis.cli(None, &["KEYS", "anteater:vt:verdict:*"]);
    let answers = redis.cli(None, &["KEYS", "anteater:validate:gitlab:*"]);
    assert_eq!(verdicts.lines().count(), 3, "{verdicts}");
    assert_eq!(answers.lines().count(), 1, "{answers}");
    assert_eq!(opened_by_the_run, 1, "{}", run.all_output());
}

/// A Redis that accepts connections and never answers: VirusTotal waits out the connect timeout
/// once and falls back to its own budget, and `--validate` is told the same failure rather than
/// trying again. The listener's accept queue counts the connection attempts.
#[test]
fn a_frozen_redis_costs_validate_and_virustotal_one_connect_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}", listener.local_addr().unwrap());
    let vt = VtMock::start(MockConfig::default());
    let (live, live_line) = token("gitlab", 32);
    let provider = ProviderMock::start(spec("gitlab"), &[(&live, Behaviour::Live)], Duration::ZERO);
    let (_dir, invocation) = both_enrichers(&vt, &provider, &url, &live_line);
    let started = Instant::now();
    let run = invocation.run();
    let elapsed = started.elapsed();
    listener.set_nonblocking(true).unwrap();
    let attempts = std::iter::from_fn(|| listener.accept().ok()).count();
    assert!(run.stdout.contains("3 looked up"), "{}", run.all_output());
    assert!(
        run.stderr.contains("validated secrets: 1 live"),
        "{}",
        run.all_output()
    );
    // Both say why they have no shared Redis: the same failure.
    assert!(run.stderr.contains("single flight"), "{}", run.stderr);
    assert!(
        run.stderr.contains("--validate: no shared cache"),
        "{}",
        run.stderr
    );
    assert_eq!(attempts, 1, "{}", run.all_output());
    // One connect timeout (3 s), not one per enricher (3 s + 3 s).
    assert!(elapsed < Duration::from_secs(6), "{elapsed:?}");
}

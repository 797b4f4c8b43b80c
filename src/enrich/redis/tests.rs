//! Redis as users run it for a fleet: TLS (`rediss://`) with a private CA and client
//! certificates, ACL users and password-only AUTH, and Redis Cluster, each against real
//! `redis-server` processes started by the test (the harness of `tests/cli/support/`); a wrong
//! password or CA is a clear error that names the URL without its secrets, and never quietly
//! turns into a per-job budget. The link is driven through its two users, VirusTotal's rate
//! limiter and verdict cache.

use std::time::Duration;

use super::link::{ConnProblem, TlsFiles};
use crate::enrich::virustotal::cache::VerdictCache;
use crate::enrich::virustotal::limiter::{LimiterConfig, LimiterError, Permit, RateLimiter};
use crate::enrich::virustotal::verdict::{IndicatorKind, Verdict};
use crate::test_support::pki::TestPki;
use crate::test_support::redis_server::{RedisCluster, RedisServer, ServerOptions};

fn config(budget_id: &str) -> LimiterConfig {
    LimiterConfig {
        rate: "100/1s".parse().unwrap(),
        daily_quota: None,
        budget_id: budget_id.to_string(),
    }
}

fn with_ca(pki: &TestPki) -> TlsFiles {
    TlsFiles {
        ca: Some(pki.ca()),
        ..TlsFiles::default()
    }
}

/// The limiter and the cache both work through `url`, and their keys land on the server.
async fn budget_and_cache_work(url: &str, tls: &TlsFiles, server: &RedisServer, password: Option<&str>) {
    let limiter = RateLimiter::shared(url, tls, config("f1ee7"))
        .await
        .unwrap_or_else(|e| panic!("limiter over {url}: {e}"));
    assert!(limiter.is_shared());
    assert_eq!(limiter.acquire(&mut |_| {}).await.unwrap(), Permit::Granted);
    let cache = VerdictCache::shared(url, tls, Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| panic!("cache over {url}: {e}"));
    let verdict = Verdict {
        malicious: 2,
        ..Verdict::default()
    };
    cache
        .put(IndicatorKind::Ip, "203.0.113.9", &verdict)
        .await
        .unwrap();
    let back = cache.get(IndicatorKind::Ip, "203.0.113.9").await.unwrap();
    assert_eq!(back.map(|v| v.malicious), Some(2));
    let keys = server.cli(password, &["--scan", "--pattern", "anteater:vt:*"]);
    assert!(keys.contains(":window"), "the budget lives on the server: {keys}");
    assert!(
        keys.contains("anteater:vt:verdict:ip:"),
        "the verdict too: {keys}"
    );
}

fn misconfigured(result: Result<RateLimiter, LimiterError>) -> String {
    match result {
        Ok(_) => panic!("connected with a wrong setting"),
        Err(err @ LimiterError::Connect { problem, .. }) => {
            assert_eq!(problem, ConnProblem::Misconfigured, "{err}");
            err.to_string()
        }
        Err(err) => panic!("not a connection error: {err}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_with_a_private_ca() {
    let pki = TestPki::new();
    let server = RedisServer::start_tls(&pki, false);
    budget_and_cache_work(&server.tls_url(), &with_ca(&pki), &server, None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_with_a_ca_that_did_not_sign_the_server_is_a_clear_error() {
    let pki = TestPki::new();
    let server = RedisServer::start_tls(&pki, false);
    let url = server.tls_url().replace("rediss://", "rediss://ci:hunter2@"); // fake-secret-for-tests
    let wrong = TlsFiles {
        ca: Some(pki.other_ca()),
        ..TlsFiles::default()
    };
    let err = misconfigured(RateLimiter::shared(&url, &wrong, config("ca")).await);
    assert!(err.to_ascii_lowercase().contains("certificate"), "{err}");
    assert!(
        err.contains("rediss://***@127.0.0.1:"),
        "names the URL, masked: {err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    // The system trust store does not know the test CA either.
    let err = misconfigured(RateLimiter::shared(&server.tls_url(), &TlsFiles::default(), config("ca")).await);
    assert!(err.to_ascii_lowercase().contains("certificate"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn mutual_tls_with_a_client_certificate() {
    let pki = TestPki::new();
    let server = RedisServer::start_tls(&pki, true);
    let url = server.tls_url();
    let mutual = TlsFiles {
        ca: Some(pki.ca()),
        client_cert: Some(pki.client_cert()),
        client_key: Some(pki.client_key()),
    };
    budget_and_cache_work(&url, &mutual, &server, None).await;
    // Without the client certificate the server hangs up during the handshake.
    assert!(RateLimiter::shared(&url, &with_ca(&pki), config("mtls"))
        .await
        .is_err());
    // Half a client identity is a setting error before any connection.
    let half = TlsFiles {
        client_key: None,
        ..mutual.clone()
    };
    let err = misconfigured(RateLimiter::shared(&url, &half, config("mtls")).await);
    assert!(
        err.contains("--redis-client-cert and --redis-client-key"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_files_with_a_plain_url_are_refused() {
    let err = misconfigured(
        RateLimiter::shared(
            "redis://127.0.0.1:9",
            &TlsFiles {
                ca: Some("ca.pem".into()),
                ..TlsFiles::default()
            },
            config("x"),
        )
        .await,
    );
    assert!(err.contains("need a rediss:// URL"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn acl_user_and_wrong_password() {
    let server = RedisServer::start_with(&ServerOptions {
        args: ["--user", "ci", "on", ">s3cret-pw", "~anteater:*", "&*", "+@all"]
            .map(String::from)
            .to_vec(),
        ..ServerOptions::default()
    });
    let port = server.port();
    let url = format!("redis://ci:s3cret-pw@127.0.0.1:{port}"); // fake-secret-for-tests
    budget_and_cache_work(&url, &TlsFiles::default(), &server, None).await;

    let wrong = format!("redis://ci:wr0ng-pw@127.0.0.1:{port}"); // fake-secret-for-tests
    let err = misconfigured(RateLimiter::shared(&wrong, &TlsFiles::default(), config("acl")).await);
    assert!(err.contains(&format!("redis://***@127.0.0.1:{port}")), "{err}");
    assert!(!err.contains("wr0ng-pw") && !err.contains("ci:"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn password_only_auth() {
    let server = RedisServer::start_with(&ServerOptions {
        password: Some("only-a-pw".into()),
        ..ServerOptions::default()
    });
    let port = server.port();
    let url = format!("redis://:only-a-pw@127.0.0.1:{port}"); // fake-secret-for-tests
    budget_and_cache_work(&url, &TlsFiles::default(), &server, Some("only-a-pw")).await;
    // No password at all: NOAUTH, a setting to fix.
    let err = misconfigured(RateLimiter::shared(&server.url(), &TlsFiles::default(), config("pw")).await);
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_cluster_of_three_nodes() {
    let cluster = RedisCluster::start();
    let url = cluster.seed_url();
    let limiter = RateLimiter::shared(&url, &TlsFiles::default(), config("c1u5"))
        .await
        .expect("limiter over the cluster");
    for _ in 0..5 {
        assert_eq!(limiter.acquire(&mut |_| {}).await.unwrap(), Permit::Granted);
    }
    // Verdict keys spread over the slots of every node: the cluster connection routes them.
    let cache = VerdictCache::shared(&url, &TlsFiles::default(), Duration::from_secs(60))
        .await
        .expect("cache over the cluster");
    for n in 0..30u32 {
        let verdict = Verdict {
            malicious: n,
            ..Verdict::default()
        };
        let ip = format!("203.0.113.{n}");
        cache.put(IndicatorKind::Ip, &ip, &verdict).await.unwrap();
        assert_eq!(
            cache
                .get(IndicatorKind::Ip, &ip)
                .await
                .unwrap()
                .map(|v| v.malicious),
            Some(n)
        );
    }
    let per_node: Vec<usize> = cluster
        .nodes
        .iter()
        .map(|node| {
            node.cli(None, &["--scan", "--pattern", "anteater:vt:verdict:*"])
                .lines()
                .count()
        })
        .collect();
    assert_eq!(per_node.iter().sum::<usize>(), 30, "{per_node:?}");
    assert!(
        per_node.iter().filter(|&&n| n > 0).count() >= 2,
        "keys on several nodes: {per_node:?}"
    );
}

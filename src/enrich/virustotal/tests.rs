//! The VirusTotal rate limiter and verdict cache against a real `redis-server`: the budget holds
//! across tasks and separate limiter instances (separate jobs), daily quotas and 429 penalties are
//! shared, and Redis failures never turn into grants. The server is started by the harness the
//! integration tests use too (`tests/cli/support/redis_server.rs`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use super::cache::{self, VerdictCache};
use super::limiter::{LimiterConfig, Permit, Rate, RateLimiter};
use super::verdict::{IndicatorKind, Verdict};
use crate::enrich::redis::link::TlsFiles;
use crate::test_support::redis_server::RedisServer;

fn config(rate: &str, daily_quota: Option<u32>, budget_id: &str) -> LimiterConfig {
    LimiterConfig {
        rate: rate.parse().unwrap(),
        daily_quota,
        budget_id: budget_id.to_string(),
    }
}

async fn shared(server: &RedisServer, config: LimiterConfig) -> RateLimiter {
    let limiter = RateLimiter::shared(&server.url(), &TlsFiles::default(), config)
        .await
        .expect("shared limiter");
    assert!(limiter.is_shared());
    limiter
}

async fn redis_conn(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .expect("test connection to redis")
}

/// A loopback port that refuses connections: bound (so no other test's server can take it while
/// the socket lives) but not listening.
fn refusing_port(port: u16) -> tokio::net::TcpSocket {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_reuseaddr(true).unwrap();
    socket
        .bind(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
        .unwrap();
    socket
}

fn verdict(malicious: u32) -> Verdict {
    Verdict {
        malicious,
        suspicious: 0,
        harmless: 70,
        undetected: 2,
        permalink: "https://www.virustotal.com/gui/url/0123abcd".into(),
        analysis_date: Some(1_700_000_000),
    }
}

#[test]
fn rates_parse_and_display() {
    let rate: Rate = "4 / 60 s".parse().unwrap();
    assert_eq!(
        rate,
        Rate {
            requests: 4,
            per: Duration::from_secs(60)
        }
    );
    assert_eq!(rate.to_string(), "4/1m");
    assert_eq!("500/1d".parse::<Rate>().unwrap().to_string(), "500/1d");
    assert_eq!("3/min".parse::<Rate>().unwrap().per, Duration::from_secs(60));
    for bad in ["4", "0/1m", "4/1y", "four/1m", "4/0s"] {
        let err = bad.parse::<Rate>().unwrap_err();
        assert!(
            err.contains(bad) && err.contains("REQUESTS/DURATION"),
            "{bad}: {err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shared_budget_holds_across_tasks_and_jobs() {
    let server = RedisServer::start();
    assert_eq!(server.url(), format!("redis://127.0.0.1:{}", server.port()));
    // Three independent limiters (own connections, as three CI jobs would have), five tasks each.
    let mut limiters = Vec::new();
    for _ in 0..3 {
        limiters.push(Arc::new(shared(&server, config("5/1s", None, "feedbeef")).await));
    }
    let grants = Arc::new(Mutex::new(Vec::new()));
    let waits = Arc::new(Mutex::new(0usize));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for limiter in &limiters {
        for _ in 0..5 {
            let (limiter, grants, waits) = (limiter.clone(), grants.clone(), waits.clone());
            tasks.push(tokio::spawn(async move {
                let permit = limiter
                    .acquire(&mut |_| *waits.lock().unwrap() += 1)
                    .await
                    .expect("acquire");
                assert_eq!(permit, Permit::Granted);
                grants.lock().unwrap().push(Instant::now());
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    let mut grants = grants.lock().unwrap().clone();
    grants.sort();
    assert_eq!(grants.len(), 15);
    // No 1 s window holds more than 5 grants: any 6 consecutive grants span at least 1 s.
    for six in grants.windows(6) {
        let span = six[5] - six[0];
        assert!(span >= Duration::from_secs(1), "6 grants within {span:?}");
    }
    // 15 grants at 5 per 1.1 s: batches at ~0, ~1.1 and ~2.2 s.
    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(6), "{elapsed:?}");
    assert!(
        *waits.lock().unwrap() >= 10,
        "waits were reported through on_wait"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn different_budgets_do_not_share() {
    let server = RedisServer::start();
    let a = shared(&server, config("2/10s", None, "aaaa")).await;
    let b = shared(&server, config("2/10s", None, "bbbb")).await;
    let mut waits = Vec::new();
    for limiter in [&a, &b, &a, &b] {
        assert_eq!(
            limiter.acquire(&mut |d| waits.push(d)).await.unwrap(),
            Permit::Granted
        );
    }
    assert!(waits.is_empty(), "{waits:?}");
    // a's budget is spent for the (10 s + 1 s margin) window: its next acquire must wait.
    let third = tokio::time::timeout(Duration::from_millis(300), a.acquire(&mut |d| waits.push(d))).await;
    assert!(third.is_err(), "a third request was granted inside the window");
    assert_eq!(waits.len(), 1);
    assert!(
        waits[0] > Duration::from_secs(10) && waits[0] <= Duration::from_secs(11),
        "{waits:?}"
    );

    let mut conn = redis_conn(&server).await;
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg("anteater:vt:*:window")
        .query_async(&mut conn)
        .await
        .unwrap();
    keys.sort();
    assert_eq!(keys, ["anteater:vt:{aaaa}:window", "anteater:vt:{bbbb}:window"]);
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&keys[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(ttl > 10_000 && ttl <= 12_000, "idle window keys expire: {ttl}");
}

#[tokio::test(flavor = "multi_thread")]
async fn daily_quota_is_shared_and_answers_without_waiting() {
    let server = RedisServer::start();
    let job1 = shared(&server, config("100/1s", Some(3), "cafe")).await;
    let job2 = shared(&server, config("100/1s", Some(3), "cafe")).await;
    let mut waits = 0;
    for limiter in [&job1, &job2, &job1] {
        assert_eq!(
            limiter.acquire(&mut |_| waits += 1).await.unwrap(),
            Permit::Granted
        );
    }
    for limiter in [&job1, &job2] {
        let started = Instant::now();
        assert_eq!(
            limiter.acquire(&mut |_| waits += 1).await.unwrap(),
            Permit::DailyQuotaSpent
        );
        assert!(started.elapsed() < Duration::from_millis(500));
    }
    assert_eq!(waits, 0);

    // The counter is keyed by the UTC day and expires after about two days.
    let day = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 86_400;
    let mut conn = redis_conn(&server).await;
    let mut found = None;
    for d in [day, day + 1] {
        let key = format!("anteater:vt:{{cafe}}:day:{d}");
        let used: Option<u32> = redis::cmd("GET").arg(&key).query_async(&mut conn).await.unwrap();
        if used.is_some() {
            found = Some((key, used));
        }
    }
    let (key, used) = found.expect("a day counter");
    assert_eq!(used, Some(3), "only granted requests count");
    let ttl: i64 = redis::cmd("TTL").arg(&key).query_async(&mut conn).await.unwrap();
    assert!(ttl > 86_400 && ttl <= 172_800, "{ttl}");
}

#[tokio::test(flavor = "multi_thread")]
async fn penalize_holds_off_every_job_for_a_window() {
    let server = RedisServer::start();
    let job1 = shared(&server, config("3/1s", None, "0bad")).await;
    let job2 = shared(&server, config("3/1s", None, "0bad")).await;
    assert_eq!(job1.acquire(&mut |_| {}).await.unwrap(), Permit::Granted);
    job1.penalize().await.unwrap();
    let started = Instant::now();
    let (mut waits1, mut waits2) = (Vec::new(), Vec::new());
    let (mut on_wait1, mut on_wait2) = (|d| waits1.push(d), |d| waits2.push(d));
    let (p1, p2) = tokio::join!(job1.acquire(&mut on_wait1), job2.acquire(&mut on_wait2));
    let elapsed = started.elapsed();
    assert_eq!((p1.unwrap(), p2.unwrap()), (Permit::Granted, Permit::Granted));
    // One effective window (1.1 s) after the penalty, not before.
    assert!(elapsed >= Duration::from_millis(1_050), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    for waits in [&waits1, &waits2] {
        assert_eq!(waits.len(), 1, "{waits:?}");
        assert!(waits[0] > Duration::from_millis(900) && waits[0] <= Duration::from_millis(1_100));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn limiter_script_is_reloaded_after_a_script_flush() {
    let server = RedisServer::start();
    let limiter = shared(&server, config("10/1s", None, "f1a5")).await;
    assert_eq!(limiter.acquire(&mut |_| {}).await.unwrap(), Permit::Granted);
    let mut conn = redis_conn(&server).await;
    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(limiter.acquire(&mut |_| {}).await.unwrap(), Permit::Granted);
    let grants: u32 = redis::cmd("ZCARD")
        .arg("anteater:vt:{f1a5}:window")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(grants, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_redis_fails_fast_and_names_the_url_without_credentials() {
    let hold = refusing_port(0);
    let port = hold.local_addr().unwrap().port();
    let url = format!("redis://127.0.0.1:{port}");
    let started = Instant::now();
    let err = match RateLimiter::shared(&url, &TlsFiles::default(), config("4/1m", None, "abc")).await {
        Ok(_) => panic!("a limiter without Redis"),
        Err(e) => e.to_string(),
    };
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(err.contains(&format!("Redis at {url}")), "{err}");

    let with_password = format!("redis://ci:hunter2@127.0.0.1:{port}/0"); // fake-secret-for-tests
    let started = Instant::now();
    let err = match VerdictCache::shared(&with_password, &TlsFiles::default(), Duration::from_secs(60)).await
    {
        Ok(_) => panic!("a cache without Redis"),
        Err(e) => e.to_string(),
    };
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_dying_mid_run_is_an_error_never_a_grant() {
    let server = RedisServer::start();
    let url = server.url();
    let limiter = shared(&server, config("100/1s", Some(1000), "dead")).await;
    let cache = VerdictCache::shared(&url, &TlsFiles::default(), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(limiter.acquire(&mut |_| {}).await.unwrap(), Permit::Granted);
    let port = server.port();
    drop(server);
    // Keep the dead server's port refusing, so that no other test's server answers on it.
    let _hold = refusing_port(port);

    let started = Instant::now();
    let result = limiter.acquire(&mut |_| {}).await;
    let elapsed = started.elapsed();
    let err = match result {
        Ok(permit) => panic!("granted without Redis: {permit:?}"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains(&format!("Redis at {url}")) && err.contains("5 attempts"),
        "{err}"
    );
    // Bounded retries: 100 + 200 + 400 + 800 ms of backoff, then give up.
    assert!(
        elapsed >= Duration::from_millis(1_400) && elapsed < Duration::from_secs(10),
        "{elapsed:?}"
    );
    assert!(limiter.penalize().await.is_err());

    let err = cache
        .get(IndicatorKind::Ip, "203.0.113.9")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains(&format!("Redis at {url}")), "{err}");
    assert!(cache
        .put(IndicatorKind::Ip, "203.0.113.9", &verdict(0))
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn verdict_cache_round_trips_expires_and_hides_values() {
    let server = RedisServer::start();
    let job1 = VerdictCache::shared(&server.url(), &TlsFiles::default(), Duration::from_secs(60))
        .await
        .unwrap();
    let job2 = VerdictCache::shared(&server.url(), &TlsFiles::default(), Duration::from_secs(60))
        .await
        .unwrap();
    let url = "https://files.example.com/build.tar.gz?token=s3cr3t-t0ken";

    assert_eq!(job1.get(IndicatorKind::Url, url).await.unwrap(), None);
    job1.put(IndicatorKind::Url, url, &verdict(4)).await.unwrap();
    assert_eq!(job2.get(IndicatorKind::Url, url).await.unwrap(), Some(verdict(4)));
    assert_eq!(
        job2.get(IndicatorKind::Ip, url).await.unwrap(),
        None,
        "kinds are separate"
    );

    let mut conn = redis_conn(&server).await;
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(&mut conn).await.unwrap();
    assert_eq!(keys, [cache::key(IndicatorKind::Url, url)]);
    assert!(keys[0].starts_with("anteater:vt:verdict:url:"));
    assert!(
        !keys[0].contains("s3cr3t") && !keys[0].contains("example.com"),
        "{keys:?}"
    );
    let stored: String = redis::cmd("GET")
        .arg(&keys[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!stored.contains("s3cr3t"), "{stored}");
    let ttl: i64 = redis::cmd("TTL")
        .arg(&keys[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(ttl > 0 && ttl <= 60, "{ttl}");

    // Corrupt or foreign values are misses, and a put repairs them.
    let _: () = redis::cmd("SET")
        .arg(&keys[0])
        .arg("{not json")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(job1.get(IndicatorKind::Url, url).await.unwrap(), None);
    let _: () = redis::cmd("DEL")
        .arg(&keys[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: () = redis::cmd("RPUSH")
        .arg(&keys[0])
        .arg("x")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(job1.get(IndicatorKind::Url, url).await.unwrap(), None);
    job1.put(IndicatorKind::Url, url, &verdict(1)).await.unwrap();
    assert_eq!(job1.get(IndicatorKind::Url, url).await.unwrap(), Some(verdict(1)));

    // Entries expire after the TTL.
    let short = VerdictCache::shared(&server.url(), &TlsFiles::default(), Duration::from_secs(1))
        .await
        .unwrap();
    short
        .put(IndicatorKind::File, "e3b0c442", &verdict(0))
        .await
        .unwrap();
    assert_eq!(
        short.get(IndicatorKind::File, "e3b0c442").await.unwrap(),
        Some(verdict(0))
    );
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    assert_eq!(short.get(IndicatorKind::File, "e3b0c442").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn local_fallbacks_work_without_redis() {
    let cache = VerdictCache::local(Duration::from_secs(60));
    cache
        .put(IndicatorKind::Ip, "198.51.100.4", &verdict(2))
        .await
        .unwrap();
    assert_eq!(
        cache.get(IndicatorKind::Ip, "198.51.100.4").await.unwrap(),
        Some(verdict(2))
    );
    assert_eq!(cache.get(IndicatorKind::Ip, "198.51.100.5").await.unwrap(), None);

    let limiter = RateLimiter::local(config("2/200ms", Some(3), "local"));
    assert!(!limiter.is_shared());
    assert_eq!(limiter.rate().to_string(), "2/200ms");
    let started = Instant::now();
    let mut waits = 0;
    for _ in 0..3 {
        assert_eq!(
            limiter.acquire(&mut |_| waits += 1).await.unwrap(),
            Permit::Granted
        );
    }
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "third grant waited a window"
    );
    assert_eq!(waits, 1);
    assert_eq!(
        limiter.acquire(&mut |_| waits += 1).await.unwrap(),
        Permit::DailyQuotaSpent
    );
}

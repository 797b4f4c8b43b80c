//! Redis as users run it, through the binary: lookups share the VirusTotal budget over TLS
//! (`rediss://` with a private CA). The library's side (TLS with client certificates, ACL users,
//! password-only AUTH, Redis Cluster) is unit-tested in `src/enrich/redis/tests.rs`.

use crate::common::tree;
use crate::support::pki::TestPki;
use crate::support::redis_server::RedisServer;
use crate::support::vt_mock::{MockConfig, Stats, VtMock, DEFAULT_API_KEY};

/// The binary over TLS: lookups share the budget through `rediss://` with `--redis-ca`; with a
/// CA that does not vouch for the server the run stops (exit 2) and says why, without secrets.
#[test]
fn the_binary_over_tls() {
    let pki = TestPki::new();
    let server = RedisServer::start_tls(&pki, false);
    let mut config = MockConfig::default();
    config.ips.insert("8.8.8.8".into(), Stats::clean());
    let mock = VtMock::start(config);
    let dir = tree(&[("src/app.py", b"dns = '8.8.8.8'\n")]);
    let with_wrong_ca = |ca: &std::path::Path| {
        crate::common::anteater(dir.path())
            .env("VT_API_KEY", DEFAULT_API_KEY)
            .env("VT_API_URL", &mock.base_url())
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("ANTEATER_VT_RATE", "1000/1m")
            .env("ANTEATER_REDIS_CA", ca.to_str().unwrap())
            .args(&["--path", ".", "--ips", "--redis-url"])
            .args(&[&server
                .tls_url()
                .replace("rediss://", "rediss://default:pw-in-url@")]) // fake-secret-for-tests
            .run()
    };
    // The good case connects without credentials (the test server's default user has none); the
    // bad one carries some, which must not show in the error.
    let good = crate::common::anteater(dir.path())
        .env("VT_API_KEY", DEFAULT_API_KEY)
        .env("VT_API_URL", &mock.base_url())
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("ANTEATER_VT_RATE", "1000/1m")
        .env("ANTEATER_REDIS_CA", pki.ca().to_str().unwrap())
        .args(&["--path", ".", "--ips", "--redis-url", &server.tls_url()])
        .run();
    assert_eq!(good.code, 0, "{}", good.all_output());
    assert!(
        !good.all_output().contains("NOT shared"),
        "the budget is shared over TLS: {}",
        good.all_output()
    );
    let keys = server.cli(None, &["--scan", "--pattern", "anteater:vt:*"]);
    assert!(keys.contains(":window"), "{keys}");

    let bad = with_wrong_ca(&pki.other_ca());
    assert_eq!(bad.code, 2, "{}", bad.all_output());
    assert!(bad.stderr.contains("rediss://***@127.0.0.1:"), "{}", bad.stderr);
    assert!(
        bad.stderr.to_ascii_lowercase().contains("certificate"),
        "{}",
        bad.stderr
    );
    assert!(!bad.all_output().contains("pw-in-url"), "{}", bad.all_output());
}

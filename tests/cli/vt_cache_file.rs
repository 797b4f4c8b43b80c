//! `--vt-cache-file`: verdicts kept in a file for runners without a shared Redis. A second run
//! over an unchanged tree asks VirusTotal nothing, the file holds no indicator values, and a
//! file a pull request forged (a "clean" verdict for a malicious address) is not trusted.

use crate::common::{anteater, tree, Run};
use crate::support::vt_mock::{MockConfig, Stats, VtMock, DEFAULT_API_KEY};

const MALICIOUS_IP: &str = "90.156.201.21";
const CLEAN_IP: &str = "8.8.8.8";
const CLEAN_URL: &str = "https://docs.example.org/guide";

fn mock() -> VtMock {
    let mut config = MockConfig::default();
    config.ips.insert(MALICIOUS_IP.into(), Stats::malicious(7));
    config.ips.insert(CLEAN_IP.into(), Stats::clean());
    config.urls.insert(CLEAN_URL.into(), Stats::clean());
    VtMock::start(config)
}

/// One run as an ephemeral hosted runner makes it: no Redis at all (nothing listens on port 9).
fn run(dir: &std::path::Path, mock: &VtMock, cache_file: &std::path::Path, key: &str) -> Run {
    anteater(dir)
        .against_vt_mock(&mock.base_url())
        .env("VT_API_KEY", key)
        .env("ANTEATER_VT_CACHE_FILE", cache_file.to_str().unwrap())
        .args(&[
            "--path",
            "src",
            "--ips",
            "--urls",
            "--redis-url",
            "redis://127.0.0.1:9",
        ])
        .run()
}

fn fixture() -> tempfile::TempDir {
    let source = format!("a = '{MALICIOUS_IP}'\nb = '{CLEAN_IP}'\nfetch('{CLEAN_URL}')\n");
    tree(&[("src/app.py", source.as_bytes())])
}

#[test]
fn an_unchanged_tree_is_rescanned_with_no_request() {
    let dir = fixture();
    let mock = mock();
    let cache = tempfile::tempdir().unwrap();
    let file = cache.path().join("anteater-vt-cache.json");

    let first = run(dir.path(), &mock, &file, DEFAULT_API_KEY);
    assert_eq!(first.code, 1, "{}", first.all_output());
    let asked = mock.requests().len();
    assert_eq!(asked, 3, "{:?}", mock.requests());
    let text = std::fs::read_to_string(&file).expect("the cache file is written");
    for value in [MALICIOUS_IP, CLEAN_IP, "docs.example.org", DEFAULT_API_KEY] {
        assert!(!text.contains(value), "the file holds {value}: {text}");
    }

    let second = run(dir.path(), &mock, &file, DEFAULT_API_KEY);
    assert_eq!(
        mock.requests().len(),
        asked,
        "the second run asked VirusTotal again"
    );
    assert_eq!(
        second.code,
        1,
        "the cached malicious verdict still fails: {}",
        second.all_output()
    );
    assert!(
        second.stdout.contains("virustotal-malicious-ip"),
        "{}",
        second.stdout
    );
    assert!(
        second.stdout.contains(&format!(
            "https://www.virustotal.com/gui/ip-address/{MALICIOUS_IP}"
        )),
        "the link is rebuilt: {}",
        second.stdout
    );
}

#[test]
fn a_forged_cache_file_is_not_trusted() {
    let dir = fixture();
    let mock = mock();
    let cache = tempfile::tempdir().unwrap();
    let file = cache.path().join("anteater-vt-cache.json");
    // Someone without the API key edits a real file to say the malicious address is clean.
    let honest = tempfile::tempdir().unwrap();
    let honest_file = honest.path().join("c.json");
    run(dir.path(), &mock, &honest_file, DEFAULT_API_KEY);
    let text = std::fs::read_to_string(&honest_file).unwrap();
    std::fs::write(&file, text.replace("\"malicious\":7", "\"malicious\":0")).unwrap();

    let before = mock.requests().len();
    let run = run(dir.path(), &mock, &file, DEFAULT_API_KEY);
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(run.stdout.contains("virustotal-malicious-ip"), "{}", run.stdout);
    assert!(run.stderr.contains("integrity check failed"), "{}", run.stderr);
    assert_eq!(
        mock.requests().len() - before,
        3,
        "asked again instead of trusting the file"
    );
}

//! Property: whatever secret is planted in a line a secret rule matches (or in a URL that carries
//! it), no output format (console, SARIF, JSON, JUnit, GitLab Code Quality, GitHub annotations
//! and step summary, baseline) holds 8 consecutive characters of it, and no request to
//! VirusTotal carries it. Random secrets, realistic lines, the real binary with `--urls` against
//! the VirusTotal mock.

use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, FileFailurePersistence};

use crate::common::anteater;
use crate::support::vt_mock::{MockConfig, VtMock, DEFAULT_API_KEY};

const TEMPLATES: usize = 9;

/// A line a default secret rule matches, holding `secret` (the random part of the value).
fn line(template: usize, secret: &str) -> String {
    match template % TEMPLATES {
        0 => format!("db_password = \"{secret}\""),
        1 => format!("  \"api_key\": \"{secret}\","),
        2 => format!("DATABASE_URL=postgres://app:{secret}@db.internal:5432/app"),
        3 => format!("aws_secret_access_key = {secret}"),
        4 => format!("export GITHUB_TOKEN=ghp_{secret}"),
        5 => format!("SLACK_BOT = \"xoxb-123456789012-{secret}\""),
        6 => format!("notify: https://hooks.slack.com/services/T0ABCDEFG/B0HIJKLMN/{secret}"),
        7 => format!("conn = \"Server=db;Database=app;User Id=sa;Password={secret};\""),
        // No content rule matches this one: only the URL check keeps it home.
        _ => format!("send(\"https://api.telegram.org/bot123456789:{secret}/sendMessage\")"),
    }
}

/// A random secret of the shape `template`'s rule expects.
fn secret(template: usize) -> BoxedStrategy<String> {
    match template % TEMPLATES {
        // Passwords: a letter, then letters and digits with at least one digit.
        0 | 1 => "[A-Za-z][A-Za-z0-9]{6,14}[0-9][A-Za-z0-9]{1,8}".boxed(),
        2 | 7 => "[A-Za-z][A-Za-z0-9]{7,20}[0-9]".boxed(),
        3 => "[A-Za-z0-9/+]{40}".boxed(),
        4 => "[A-Za-z0-9]{36}".boxed(),
        5 => "[A-Za-z0-9]{24}".boxed(),
        6 => "[a-z][A-Za-z0-9]{23}".boxed(),
        _ => "AA[A-Za-z0-9_-]{33}".boxed(),
    }
}

fn planted() -> impl Strategy<Value = Vec<(usize, String)>> {
    prop::collection::vec(
        (0..TEMPLATES).prop_flat_map(|template| (Just(template), secret(template))),
        1..5,
    )
}

/// Every output of one run over `dir` in `format`, concatenated.
fn outputs(dir: &Path, format: &str, mock: &VtMock) -> (i32, String) {
    let run = anteater(dir)
        .env("VT_API_KEY", DEFAULT_API_KEY)
        .env("VT_API_URL", &mock.base_url())
        .env("REDIS_URL", "redis://127.0.0.1:1")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("ANTEATER_VT_RATE", "1000/1m")
        .env("ANTEATER_VT_RETRY_DELAY", "10ms")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", "summary.md")
        .env("GITHUB_OUTPUT", "github_output.txt")
        .args(&[
            "--format",
            format,
            "--junit",
            "junit.xml",
            "--gitlab-codequality",
            "codequality.json",
            "--write-baseline",
            "baseline.json",
            "--path",
            "src",
            // Unknown URLs become unverified findings, which print the URL.
            "--urls",
            "--no-upload",
        ])
        .run();
    let mut all = run.all_output();
    for name in [
        "junit.xml",
        "codequality.json",
        "baseline.json",
        "summary.md",
        "github_output.txt",
    ] {
        all.push_str(&std::fs::read_to_string(dir.join(name)).unwrap_or_default());
    }
    (run.code, all)
}

proptest! {
    // Each case runs the binary twice: few cases, a few seconds in all.
    #![proptest_config(ProptestConfig {
        cases: 12,
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        ..ProptestConfig::default()
    })]

    #[test]
    fn no_output_holds_eight_characters_of_a_planted_secret(planted in planted()) {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(&src).unwrap();
        let mut text = String::from("# settings\n");
        for (template, secret) in &planted {
            text.push_str(&line(*template, secret));
            text.push('\n');
        }
        std::fs::write(src.join("settings.py"), &text).unwrap();
        let mock = VtMock::start(MockConfig::default());
        for format in ["console", "json"] {
            let (code, mut all) = outputs(dir.path(), format, &mock);
            prop_assert!(code == 0 || code == 1, "exit {}:\n{}", code, all);
            for request in mock.requests() {
                all.push_str(&format!("\nrequest {} {}", request.method, request.path));
                // URL lookups name the URL by its base64url form.
                if let Some(id) = request.path.strip_prefix("/api/v3/urls/") {
                    use base64::Engine as _;
                    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(id);
                    all.push_str(&String::from_utf8_lossy(&decoded.unwrap_or_default()));
                }
            }
            for (_, secret) in &planted {
                let chars: Vec<char> = secret.chars().collect();
                for window in chars.windows(8) {
                    let window: String = window.iter().collect();
                    prop_assert!(
                        !all.contains(&window),
                        "`{}` of secret `{}` is in the {} run's output:\n{}",
                        window, secret, format, all
                    );
                }
            }
        }
    }
}

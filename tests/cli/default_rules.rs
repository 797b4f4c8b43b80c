//! The built-in default ruleset, end to end: what it finds, what it leaves alone, and that no
//! secret value reaches any output. Every value here is fake.

use crate::common::{anteater, tree};

const SECRETS: &[(&str, &[u8])] = &[
    (
        "deploy/id_ed25519",
        b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n", // fake-secret-for-tests
    ),
    ("config/settings.py", b"import os\n\nDB_PASSWORD = \"Zq8!vLx2Wm\"\nREAD_FROM_ENV = os.environ[\"PASSWORD\"]\n"),
    ("ci/deploy.sh", b"export GITHUB_TOKEN=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\naws_access_key_id = AKIAQ3TZ7VK2MXWJ4RNA\n"), // fake-secret-for-tests
    ("app/db.env.example", b"DATABASE_URL=postgres://app:Vq7-rT2zLk9w@db.internal:5432/app\n"), // fake-secret-for-tests
    ("home/.bash_history", b"ls\n"),
    ("src/clean.rs", b"fn main() { let password = std::env::var(\"PASSWORD\"); }\n"),
];

#[test]
fn default_ruleset_finds_keys_tokens_passwords_and_credential_files() {
    let dir = tree(SECRETS);
    let run = anteater(dir.path()).args(&["--path", "."]).run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    let found = run.found();
    assert_eq!(
        found,
        vec![
            "app/db.env.example:1:credentials-in-url",
            "ci/deploy.sh:1:github-token",
            "ci/deploy.sh:2:aws-access-key-id",
            "config/settings.py:3:hardcoded-password",
            // The key file's name adds nothing to the key found inside it: one secret, one
            // finding (issue 8).
            "deploy/id_ed25519:1:private-key-openssh",
            "home/.bash_history:1:file-name-shell-history",
        ]
    );
}

/// Case-insensitive rules find their keywords in any mix of cases, not only the usual
/// spellings (`dbPassWord` and `DB_Pwd` passed the keyword search), wherever on the line.
#[test]
fn keywords_in_unusual_case_are_found() {
    let dir = tree(&[(
        "b.py",
        b"dbPassWord = \"Zq8vLx2Wkk9Jq\"\nDB_Pwd = \"Zq8vLx2Wkk9Jq\"\ndbPassWord = \"Zq8vLx2Wkk9Jq\"  # see https://x.io\n",
    )]);
    let run = anteater(dir.path()).args(&["--path", "."]).run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(
        run.found(),
        vec![
            "b.py:1:hardcoded-password",
            "b.py:2:hardcoded-password",
            "b.py:3:hardcoded-password"
        ]
    );
}

#[test]
fn secret_values_appear_in_no_output() {
    let dir = tree(SECRETS);
    let run = anteater(dir.path()).args(&["--path", "."]).run();
    let output = run.all_output();
    for secret in [
        "Zq8!vLx2Wm",
        "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", // fake-secret-for-tests
        "AKIAQ3TZ7VK2MXWJ4RNA",                     // fake-secret-for-tests
        "Vq7-rT2zLk9w",
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ",
    ] {
        assert!(!output.contains(secret), "{secret} leaked:\n{output}");
    }
    assert!(run.stdout.contains("AKIA… (redacted)"), "{}", run.stdout);
}

#[test]
fn sarif_rules_carry_what_code_scanning_needs() {
    let dir = tree(SECRETS);
    let run = anteater(dir.path()).args(&["--path", "."]).run();
    let sarif = run.sarif.as_ref().unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let run0 = &sarif["runs"][0];
    let rules = run0["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules.len() > 40);
    for rule in rules {
        let id = rule["id"].as_str().unwrap();
        for field in ["shortDescription", "fullDescription", "help"] {
            assert!(
                !rule[field]["text"].as_str().unwrap_or_default().is_empty(),
                "{id}: {field}"
            );
        }
        let score: f64 = rule["properties"]["security-severity"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((0.1..=10.0).contains(&score), "{id}");
        assert!(rule["properties"]["tags"]
            .as_array()
            .unwrap()
            .contains(&"security".into()));
        assert!(rule["properties"]["precision"].is_string());
    }
    for result in run0["results"].as_array().unwrap() {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert!(result["partialFingerprints"]["anteaterFingerprint/v2"].is_string());
        assert_eq!(
            result["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"],
            "%SRCROOT%"
        );
    }
}

#[test]
fn fingerprints_survive_moved_lines() {
    let line = b"export GITHUB_TOKEN=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\n"; // fake-secret-for-tests
    let dir = tree(&[("a.sh", line)]);
    let before = anteater(dir.path()).args(&["--path", "."]).run();
    std::fs::write(
        dir.path().join("a.sh"),
        b"#!/bin/sh\n\n# deploy\nexport GITHUB_TOKEN=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\n", // fake-secret-for-tests
    )
    .unwrap();
    let after = anteater(dir.path()).args(&["--path", "."]).run();
    let fingerprint = |run: &crate::common::Run| run.results()[0]["partialFingerprints"].clone();
    assert_eq!(after.result_keys()[0].1, 4);
    assert_eq!(fingerprint(&before), fingerprint(&after));
}

#[test]
fn classic_ruleset_is_built_in() {
    let dir = tree(&[("run.py", b"hashlib.sha1()\n")]);
    let run = anteater(dir.path())
        .args(&["--path", ".", "--ruleset", "classic"])
        .run();
    assert_eq!(run.code, 1);
    assert_eq!(
        run.result_keys(),
        vec![("run.py".to_string(), 1, "sha".to_string())]
    );
    let default = anteater(dir.path()).args(&["--path", "."]).run();
    assert_eq!(default.code, 0);
}

/// (uri, level) of every SARIF result.
fn levels(run: &crate::common::Run) -> Vec<(String, String)> {
    run.results()
        .iter()
        .map(|r| {
            let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap();
            (
                uri.to_string(),
                r["level"].as_str().unwrap_or("warning").to_string(),
            )
        })
        .collect()
}

/// A password assignment: a generic rule, demoted in test paths (a provider token is not, see
/// `provider_tokens_and_private_keys_stay_errors_in_docs_examples_and_tests`).
const TOKEN_LINE: &[u8] = b"DB_PASSWORD=\"Zq8!vLx2Wm\"\n"; // fake-secret-for-tests

#[test]
fn findings_in_test_paths_are_one_level_lower_unless_turned_off() {
    let dir = tree(&[
        ("src/deploy.sh", TOKEN_LINE),
        ("test/fixtures/deploy.sh", TOKEN_LINE),
        ("qa/deploy.sh", TOKEN_LINE),
        ("service/api_test.go", TOKEN_LINE),
    ]);
    let run = anteater(dir.path()).args(&["--path", "."]).run();
    assert_eq!(
        levels(&run),
        vec![
            ("qa/deploy.sh".to_string(), "error".to_string()),
            ("service/api_test.go".to_string(), "warning".to_string()),
            ("src/deploy.sh".to_string(), "error".to_string()),
            ("test/fixtures/deploy.sh".to_string(), "warning".to_string()),
        ]
    );

    // More test paths, by flag or environment variable.
    for run in [
        anteater(dir.path())
            .args(&["--path", ".", "--test-paths", "^qa/"])
            .run(),
        anteater(dir.path())
            .args(&["--path", "."])
            .env("ANTEATER_TEST_PATHS", "^qa/")
            .run(),
    ] {
        assert!(
            levels(&run).contains(&("qa/deploy.sh".to_string(), "warning".to_string())),
            "{}",
            run.stdout
        );
    }

    // Turned off: every finding at its rule's level.
    let run = anteater(dir.path())
        .args(&["--path", ".", "--no-test-demotion"])
        .run();
    assert!(
        levels(&run).iter().all(|(_, level)| level == "error"),
        "{}",
        run.stdout
    );

    // Only warnings left: the default --fail-on error passes.
    let dir = tree(&[("test/deploy.sh", TOKEN_LINE)]);
    let run = anteater(dir.path()).args(&["--path", "."]).run();
    assert_eq!(run.code, 0, "{}", run.stdout);

    let bad = anteater(dir.path())
        .args(&["--path", ".", "--test-paths", "("])
        .run();
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("--test-paths"), "{}", bad.stderr);
}

#[test]
fn credential_file_names_are_reported_only_when_they_hold_a_secret() {
    let key = b"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ\n-----END PRIVATE KEY-----\n"; // fake-secret-for-tests
    let sensitive_state = br#"{"version":4,"outputs":{"db_password":{"value":"Vq7-rT2zLk9w","type":"string","sensitive":true}}}"#; // fake-secret-for-tests
    let dir = tree(&[
        ("certs/ca.pem", b"-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUXq3Vz8Lk2Rt7Wm9Xp4Yc1Nb6\n-----END CERTIFICATE-----\n"),
        ("certs/public.key", b"-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----\n"),
        ("certs/server.key", key),
        ("web/.npmrc", b"ignore-scripts=true\n"),
        ("api/.npmrc", b"registry=https://npm.internal/\n//npm.internal/:_auth=dXNlcjpWcTctclQyekxrOXc=\n"), // fake-secret-for-tests
        ("app/.env", b"NODE_ENV=production\nPORT=8080\n"),
        ("infra/empty/terraform.tfstate", br#"{"version":4,"outputs":{},"resources":[]}"#),
        ("infra/prod/terraform.tfstate", sensitive_state),
        ("src/pem.py", b"HEADER = \"-----BEGIN PRIVATE KEY-----\\n...\\n\"\nbody = pem.replace(\"-----BEGIN PRIVATE KEY-----\\n\", \"\")\n"),
    ]);
    let run = anteater(dir.path()).args(&["--path", "."]).run();
    let found = run.found();
    assert_eq!(
        found,
        vec![
            "api/.npmrc:2:file-name-npmrc",
            // The key, once: by its content, not again by its name.
            "certs/server.key:1:private-key-pkcs8",
            "infra/prod/terraform.tfstate:1:file-name-terraform-state",
        ],
        "{}",
        run.stdout
    );
}

#[test]
fn placeholders_and_documentation_values_are_not_reported() {
    let dir = tree(&[
        ("src/aws.py", b"AWS_ACCESS_KEY_ID = \"AKIAIOSFODNN7EXAMPLE\"\nAWS_SECRET_ACCESS_KEY = \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"\nkms = \"arn:aws:kms:us-east-1:123456789012:key/AKIAIOSFODNN7EXAMPLE\"\n"),
        ("src/db.py", b"URL = \"postgres://root:password@localhost/app\"\nOTHER = \"amqp://user-1:password-1@rabbit/\"\nPG = \"postgres://postgres:postgres@localhost:5432\"\n"),
        ("src/consts.go", b"KeyUsage = \"TR31_D0_SYMMETRIC_DATA_ENCRYPTION_KEY\"\nvar password = \"hunter2\"\nsecret := \"area51\"\n"),
    ]);
    let run = anteater(dir.path()).args(&["--path", "."]).run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.results().is_empty(), "{}", run.stdout);
}

#[test]
fn sarif_shows_each_rules_precision() {
    let dir = tree(SECRETS);
    let run = anteater(dir.path()).args(&["--path", "."]).run();
    let rules = run.sarif.as_ref().unwrap()["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .clone();
    let precision = |id: &str| {
        rules.iter().find(|r| r["id"] == id).unwrap()["properties"]["precision"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(precision("github-token"), "very-high");
    assert_eq!(precision("hardcoded-password"), "medium");
    assert_eq!(precision("slack-token"), "high");
}

const AWS_PAIR: &[u8] = b"aws_access_key_id = AKIAQ3TZ7VK2MXWJ4RNA\naws_secret_access_key = wJ8rXUtnFEMI/K7MDENG/bPxRfiCYzq3Lk9Vt2Qa\n"; // fake-secret-for-tests

/// Demotion by evidence, not by folder (issue 19): a key pair in the top-level README or in
/// docs/, a live Stripe key under examples/, an AWS pair in tests/settings.py and a private key
/// in a test fixture fail the build wherever they sit; AWS's documented example keys and
/// placeholders there are still not reported; a password assignment in the same places is
/// still only a warning.
#[test]
fn provider_tokens_and_private_keys_stay_errors_in_docs_examples_and_tests() {
    let dir = tree(&[
        ("README.md", AWS_PAIR),
        ("docs/setup.md", AWS_PAIR),
        ("examples/pay.py", b"STRIPE=\"sk_live_51Hq8ZtLk2Vw9Rm3Xp7Yc4Nb6Tf\"\n"), // fake-secret-for-tests
        ("tests/settings.py", AWS_PAIR),
        (
            "tests/fixtures/server.key",
            b"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ\n-----END PRIVATE KEY-----\n", // fake-secret-for-tests
        ),
        (
            "docs/aws.md",
            b"aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nSTRIPE=sk_live_...\nSTRIPE=sk_live_<your-key>\n",
        ),
        ("docs/db.md", b"DB_PASSWORD=\"Zq8!vLx2Wm\"\n"), // fake-secret-for-tests
    ]);
    let run = anteater(dir.path()).args(&["--path", "."]).run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(
        run.found(),
        vec![
            "README.md:1:aws-access-key-id",
            "README.md:2:aws-secret-access-key",
            "docs/db.md:1:hardcoded-password",
            "docs/setup.md:1:aws-access-key-id",
            "docs/setup.md:2:aws-secret-access-key",
            "examples/pay.py:1:stripe-live-key",
            "tests/fixtures/server.key:1:private-key-pkcs8",
            "tests/settings.py:1:aws-access-key-id",
            "tests/settings.py:2:aws-secret-access-key",
        ]
    );
    let mut levels = levels(&run);
    levels.sort();
    levels.dedup();
    assert_eq!(
        levels,
        vec![
            ("README.md".to_string(), "error".to_string()),
            ("docs/db.md".to_string(), "warning".to_string()),
            ("docs/setup.md".to_string(), "error".to_string()),
            ("examples/pay.py".to_string(), "error".to_string()),
            ("tests/fixtures/server.key".to_string(), "error".to_string()),
            ("tests/settings.py".to_string(), "error".to_string()),
        ]
    );
}

/// Context rules respect YAML documents (issue 19): the Secret's context ends at `---`, only
/// its `data`/`stringData` values count, and public certificates, empty values and placeholders
/// are not secrets. One real value, one error, on its line.
#[test]
fn kubernetes_secret_rules_report_only_secret_values_of_their_own_document() {
    let manifest = b"apiVersion: v1
kind: Secret
metadata:
  name: app
type: Opaque
data:
  password: VnE3LXJUMnpMazl3
  user: YXBw
  empty: \"\"
  placeholder: Y2hhbmdlbWU=
stringData:
  DB_PASSWORD: ${DB_PASSWORD}
  API_TOKEN: \"{{ .Values.apiToken }}\"
  SMTP_PASSWORD: <your-password>
  REDIS_PASSWORD: \"\"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
data:
  checksum: VnE3LXJUMnpMazl3cQ==
  settings: eyJsb2dMZXZlbCI6ImRlYnVnIn0=
---
apiVersion: v1
kind: Secret
type: kubernetes.io/tls
metadata:
  name: tls
data:
  tls.crt: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJzekNDQVZtZ0F3SUJBZ0lVWHEzVno4
  ca.crt: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJzekNDQVZtZ0F3SUJBZ0lVWHEzVno4
---
apiVersion: traefik.io/v1alpha1
kind: TLSOption
spec:
  minVersion: VersionTLS12
  cipherSuites: VExTX0VDREhFX1JTQV9XSVRI
"; // fake-secret-for-tests
    let dir = tree(&[("deploy/k8s/app.yaml", manifest)]);
    let run = anteater(dir.path()).args(&["--path", "."]).run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(run.found(), vec!["deploy/k8s/app.yaml:7:k8s-secret-data"]);
    assert_eq!(
        levels(&run),
        vec![("deploy/k8s/app.yaml".to_string(), "error".to_string())]
    );
}

/// One shared placeholder and template check (issue 19): templates and patterned stand-ins are
/// reported by no rule, in `.env` files as in code, next to a real value that still is.
#[test]
fn templates_and_patterned_placeholders_are_reported_by_no_rule() {
    let dir = tree(&[
        (
            "api/.env",
            b"DB_PASSWORD=${DB_PASSWORD}\nAPI_KEY=pre_${DEPLOY_ENV}_Vq7rT2zLk9w\nSECRET_KEY=a1b2c3d4e5f6g7h8i9j0\nREDIS_PASSWORD=Vq7-rT2zLk9wQ\n", // fake-secret-for-tests
        ),
        (
            "src/settings.py",
            b"GOOGLE_KEY = \"AIzaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\napi_key = \"RANDOMSTRINGHERE\"\nSLACK = \"xoxe.xoxp-1-SlackAppConfigurationAccessTokenHere\"\napi_key = \"abc123xyz456def789\"\ntoken = \"<your-token>\"\nstripe = \"sk_live_abcdefghijklmnopqrstuvwxyz\"\n",
        ),
    ]);
    let run = anteater(dir.path()).args(&["--path", "."]).run();
    assert_eq!(run.found(), vec!["api/.env:4:config-password"], "{}", run.stdout);
}

/// Generic detection (issue 19): curl credentials in headers (also on a continued line) and in
/// `-u`, a literal Authorization header in configuration, and a long random value assigned to a
/// secret-named variable, which stays a warning; templates next to them are not reported.
#[test]
fn curl_credentials_authorization_headers_and_generic_secrets_are_found() {
    let dir = tree(&[
        (
            "scripts/deploy.sh",
            b"#!/bin/sh\ncurl -s https://api.internal/v1/jobs \\\n  -H \"Content-Type: application/json\" \\\n  -H \"Authorization: Bearer cfcabd11c7ed9a41b1a3e063c32d5114\"\ncurl -u deploy:Vq7-rT2zLk9w https://artifacts.internal/\ncurl -H \"Authorization: Bearer $TOKEN\" https://api.internal/\n", // fake-secret-for-tests
        ),
        (
            "config/http.yaml",
            b"headers:\n  Authorization: Bearer _FXNljbSRYMWx3TWrd7lgKhLtVZX6iskC8Wcbb4b\n  Other: Bearer ${API_TOKEN}\n", // fake-secret-for-tests
        ),
        (
            "src/client.js",
            b"const webhook_key = \"Zq8vLx2Wkk9JqT3bRmN4aPyU7e\";\nconst cache_key = \"user_profile_settings_dashboard_v2\";\n", // fake-secret-for-tests
        ),
    ]);
    let run = anteater(dir.path()).args(&["--path", "."]).run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(
        run.found(),
        vec![
            "config/http.yaml:2:authorization-header",
            "scripts/deploy.sh:4:curl-auth-header",
            "scripts/deploy.sh:5:curl-basic-auth",
            "src/client.js:1:generic-secret-assignment",
        ]
    );
    let level = |uri: &str| {
        levels(&run)
            .into_iter()
            .find(|(u, _)| u == uri)
            .map(|(_, level)| level)
            .unwrap()
    };
    assert_eq!(level("src/client.js"), "warning");
    assert_eq!(level("scripts/deploy.sh"), "error");
    assert_eq!(level("config/http.yaml"), "error");
}

const BACKTICK_AWS_SECRET: &str = "pTyGJMuHbEL31IeL2HPcHyGcFRl1SPnXNYvMIHa+"; // fake-secret-for-tests
const BACKTICK_CF_TOKEN: &str = "2o76umfXfKm_r5kJP1VrT-1FJors_6ILi8IHn5kx"; // fake-secret-for-tests

/// A secret quoted with backticks (a JavaScript template literal, a Go raw string, a shell
/// command substitution, Markdown's inline code around the name and the value) is its
/// provider's finding, an error wherever it sits. The AWS rule (and the other rules that know a
/// secret by the name it is assigned to) took only `"` and `'` as quotes: in code only the
/// generic password rule saw it, a warning in docs and tests (exit 0), and in Markdown nothing.
#[test]
fn backtick_quoted_secrets_are_their_providers_errors_wherever_they_sit() {
    let (aws, cf) = (BACKTICK_AWS_SECRET, BACKTICK_CF_TOKEN);
    let files = [
        ("docs/aws.md", format!("`aws_secret_access_key`: `{aws}`\n")),
        (
            "tests/deploy.test.js",
            format!("const awsSecretAccessKey = `{aws}`;\n"),
        ),
        ("src/main.go", format!("var AWS_SECRET_ACCESS_KEY = `{aws}`\n")),
        ("scripts/ci.sh", format!("export AWS_SECRET_ACCESS_KEY=`{aws}`\n")),
        ("examples/dns.js", format!("const CF_API_TOKEN = `{cf}`;\n")),
    ];
    let files: Vec<(&str, &[u8])> = files.iter().map(|(p, t)| (*p, t.as_bytes())).collect();
    let dir = tree(&files);
    let run = anteater(dir.path()).args(&["--path", "."]).run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    let found: Vec<(String, u64, String, String)> = run
        .results()
        .iter()
        .map(|r| {
            let location = &r["locations"][0]["physicalLocation"];
            (
                location["artifactLocation"]["uri"].as_str().unwrap().to_string(),
                location["region"]["startLine"].as_u64().unwrap(),
                r["ruleId"].as_str().unwrap().to_string(),
                r["level"].as_str().unwrap_or("warning").to_string(),
            )
        })
        .collect();
    for (path, rule) in [
        ("docs/aws.md", "aws-secret-access-key"),
        ("tests/deploy.test.js", "aws-secret-access-key"),
        ("src/main.go", "aws-secret-access-key"),
        ("scripts/ci.sh", "aws-secret-access-key"),
        ("examples/dns.js", "cloudflare-api-token"),
    ] {
        let want = (path.to_string(), 1, rule.to_string(), "error".to_string());
        assert!(found.contains(&want), "no {want:?} in {found:#?}");
    }
    assert!(!run.all_output().contains(aws) && !run.all_output().contains(cf));
}

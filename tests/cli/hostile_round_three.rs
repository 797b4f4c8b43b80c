//! Never a false pass, round three (issue 18): what git hides, secrets leaving, files outside the
//! workspace. Each test here failed on the code before its fix.

use crate::common::{anteater, Run};
use crate::support::git_repo::GitRepo as Repo;

const TOKEN: &str = "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"; // fake-secret-for-tests
const SECRET_LINE: &str = "GITHUB_TOKEN=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\n"; // fake-secret-for-tests

fn scan(repo: &Repo, args: &[&str]) -> Run {
    let mut all = vec!["--path", "."];
    all.extend_from_slice(args);
    anteater(repo.path()).args(&all).run()
}

// ---------------------------------------------------------------------------------------------
// Item 8: only a path component exactly `.git` is git's.

#[test]
fn folders_whose_names_end_in_dot_git_are_scanned_in_every_mode() {
    let repo = Repo::new();
    repo.write("README", b"hello\n");
    let base = repo.commit("base");
    for path in [
        "deploy/prod.git/config",
        "x.git/hooks/post-receive",
        "a/.gitx/b.sh",
        "nested/.git.d/env",
    ] {
        repo.write(path, SECRET_LINE.as_bytes());
    }
    repo.commit("change");
    let expected = [
        "a/.gitx/b.sh",
        "deploy/prod.git/config",
        "nested/.git.d/env",
        "x.git/hooks/post-receive",
    ];
    let paths = |run: &Run| {
        let mut paths: Vec<String> = run.result_keys().into_iter().map(|k| k.0).collect();
        paths.sort();
        paths.dedup();
        paths
    };
    for args in [vec![], vec!["--diff", base.as_str()], vec!["--history"]] {
        let run = scan(&repo, &args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.all_output());
        assert_eq!(paths(&run), expected, "{args:?}");
    }
    // Staged: the same files, added to the index of a fresh change.
    repo.git(&["reset", "-q", "--soft", &base]);
    let run = scan(&repo, &["--staged"]);
    assert_eq!(run.code, 1, "--staged: {}", run.all_output());
    assert_eq!(paths(&run), expected, "--staged");
    // An ignore list that names git's folder as the original's did (`.git/`) means git's folder.
    repo.write("ignore.yaml", b"ignore_directories:\n  - .git/\n");
    let run = scan(&repo, &["--ignore-list", "ignore.yaml"]);
    assert_eq!(paths(&run), expected, "ignore list with .git/");
    assert!(!run.all_output().contains(TOKEN));
}

// ---------------------------------------------------------------------------------------------
// Item 15: a baseline entry accepts one secret, not every secret its rule's match begins with.

fn pem(kind: &str, body: &str) -> String {
    format!(
        "-----BEGIN {kind}PRIVATE {}-----\n{body}\n-----END {kind}PRIVATE KEY-----\n",
        "KEY"
    )
}

#[test]
fn a_baseline_entry_for_one_secret_does_not_accept_another_in_its_place() {
    const KEY_A: &str = "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9OiJjRazXBZ1BjP5CE"; // fake-secret-for-tests
    const KEY_B: &str = "MIIEpAIBAAKCAQEAzq8hV0xR4pLwYb2Nn7Ku1sTdFgHjKlMnOpQrSt"; // fake-secret-for-tests
    const FLAGS: &[u8] = b"file_audits:\n  file_contents:\n    password:\n      regex: password\\s*=\n      desc: Hard-coded password\n";
    for kind in ["RSA ", "EC ", "OPENSSH ", ""] {
        for (name, before, after, flags) in [
            ("id_key", pem(kind, KEY_A), pem(kind, KEY_B), false),
            (
                "settings.json",
                format!("{{\"key\": \"{}\"}}\n", pem(kind, KEY_A).replace('\n', "\\n")),
                format!("{{\"key\": \"{}\"}}\n", pem(kind, KEY_B).replace('\n', "\\n")),
                false,
            ),
            (
                "app.ini",
                "password = \"first-long-secret\"\n".to_string(), // fake-secret-for-tests
                "password = \"other-long-secret\"\n".to_string(), // fake-secret-for-tests
                true,
            ),
        ] {
            if flags && !kind.is_empty() {
                continue; // Once is enough for the flag-list rule.
            }
            let dir = crate::common::tree(&[("flags.yaml", FLAGS), (name, before.as_bytes())]);
            let mut args = vec!["--path", "."];
            if flags {
                args.extend(["--flag-list", "flags.yaml"]);
            }
            let run = anteater(dir.path())
                .args(&[&args[..], &["--write-baseline", "baseline.json"]].concat())
                .run();
            assert_eq!(run.code, 1, "{kind}{name}: {}", run.all_output());
            let accepted = anteater(dir.path())
                .args(&[&args[..], &["--baseline", "baseline.json"]].concat())
                .run();
            assert_eq!(accepted.code, 0, "{kind}{name}: {}", accepted.all_output());
            // The same secret moved and re-wrapped is still the accepted one.
            let moved = format!(
                "\n\n{}",
                before.replace(KEY_A, &format!("{}\n{}", &KEY_A[..30], &KEY_A[30..]))
            );
            std::fs::write(dir.path().join(name), moved).unwrap();
            let again = anteater(dir.path())
                .args(&[&args[..], &["--baseline", "baseline.json"]].concat())
                .run();
            if !name.ends_with(".json") {
                assert_eq!(again.code, 0, "{kind}{name} moved: {}", again.all_output());
            }
            // Another secret in its place is new.
            std::fs::write(dir.path().join(name), &after).unwrap();
            let replaced = anteater(dir.path())
                .args(&[&args[..], &["--baseline", "baseline.json"]].concat())
                .run();
            assert_eq!(
                replaced.code,
                1,
                "{kind}{name} replaced: {}",
                replaced.all_output()
            );
        }
    }
    // A token is the secret whatever follows it: a comment added after it changes nothing.
    let dir = crate::common::tree(&[(".env", SECRET_LINE.as_bytes())]);
    let run = anteater(dir.path())
        .args(&["--path", ".", "--write-baseline", "baseline.json"])
        .run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    std::fs::write(
        dir.path().join(".env"),
        format!("{} # rotated next week\n", SECRET_LINE.trim_end()),
    )
    .unwrap();
    let commented = anteater(dir.path())
        .args(&["--path", ".", "--baseline", "baseline.json"])
        .run();
    assert_eq!(commented.code, 0, "{}", commented.all_output());
}

// ---------------------------------------------------------------------------------------------
// Item 17: every evidence string passes through secret redaction, whatever rule matched.

/// Every output of one scan of `dir` (console or JSON, SARIF, JUnit, Code Quality, step summary).
fn every_output(dir: &std::path::Path, format: &str, extra: &[&str]) -> (i32, String) {
    let mut args = vec![
        "--path",
        ".",
        "--format",
        format,
        "--junit",
        "out/junit.xml",
        "--gitlab-codequality",
        "out/codequality.json",
        "--sarif",
        "out/anteater.sarif",
    ];
    args.extend_from_slice(extra);
    std::fs::create_dir_all(dir.join("out")).unwrap();
    let run = anteater(dir)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", "out/summary.md")
        .env("GITHUB_OUTPUT", "out/github_output.txt")
        .args(&args)
        .run();
    let mut all = run.all_output();
    for name in ["junit.xml", "codequality.json", "summary.md", "github_output.txt"] {
        all.push_str(&std::fs::read_to_string(dir.join("out").join(name)).unwrap_or_default());
    }
    (run.code, all)
}

fn assert_no_window_of(all: &str, secrets: &[&str], context: &str) {
    for secret in secrets {
        let chars: Vec<char> = secret.chars().collect();
        for window in chars.windows(8) {
            let window: String = window.iter().collect();
            assert!(
                !all.contains(&window),
                "{context}: `{window}` of `{secret}` is printed:\n{all}"
            );
        }
    }
}

#[test]
fn evidence_of_rules_that_are_not_secret_rules_never_prints_a_secret() {
    const AWS: &str = "AKIAZ7QW3RT5YU2IOP4L"; // fake-secret-for-tests
    const SLACK: &str = "xoxb-263594206564-2343594206574-FGqddMF8t08v8N7Oq4i57vs1"; // fake-secret-for-tests
    const PASSWORD: &str = "Sup3rSecretPassw0rdValue"; // fake-secret-for-tests
    const SHORT_PASSWORD: &str = "hunter2hunter"; // fake-secret-for-tests
    let code = format!(
        "import subprocess\n\
         subprocess.run(cmd, shell=os.getenv('{TOKEN}') or True)\n\
         subprocess.run(cmd, shell=True, env={{'AWS_ACCESS_KEY_ID': '{AWS}'}}) or True\n\
          exec(\"curl -H 'Authorization: Bearer {SLACK}' https://slack.example\")\n\
         app.run(debug=True, url='https://admin:{PASSWORD}@db.example.org/', extra=True)\n\
         run_as_root = connect(pw='{SHORT_PASSWORD}') and True\n"
    );
    // A flag-list rule that does not redact, spanning the rest of the line.
    let flags = b"file_audits:\n  file_contents:\n    curl:\n      regex: curl.*\n      desc: Downloads\n      redact: false\n";
    let dir = crate::common::tree(&[
        ("app.py", code.as_bytes()),
        (
            "fetch.sh",
            format!("curl -u deploy:{PASSWORD} -H 'X-Token: {TOKEN}' {AWS}\n").as_bytes(),
        ),
        ("flags.yaml", flags),
    ]);
    let secrets = [TOKEN, AWS, SLACK, PASSWORD, SHORT_PASSWORD];
    for extra in [&["--ruleset", "classic"][..], &["--flag-list", "flags.yaml"][..]] {
        for format in ["console", "json"] {
            let (code, all) = every_output(dir.path(), format, extra);
            assert_eq!(code, 1, "{extra:?} {format}: {all}");
            assert!(all.contains("(redacted)"), "{extra:?} {format}: {all}");
            assert_no_window_of(&all, &secrets, &format!("{extra:?} {format}"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Item 19: a report is never written through a link the scanned repository commits.

/// The binary run directly (the harness would read the SARIF path, here a link not to follow).
fn raw(dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    let mut command = assert_cmd::Command::cargo_bin("anteater").unwrap();
    command.current_dir(dir).args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("ANTEATER_") || name.starts_with("GITHUB_") || name.starts_with("VT_") {
            command.env_remove(name);
        }
    }
    let output = command.output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn reports_are_never_written_through_a_committed_link() {
    let outside = tempfile::tempdir().unwrap();
    let repo = Repo::new();
    repo.write("app.py", b"print('hello')\n");
    std::os::unix::fs::symlink(outside.path().join("x.sarif"), repo.path().join("anteater.sarif")).unwrap();
    std::os::unix::fs::symlink(outside.path(), repo.path().join("reports")).unwrap();
    std::fs::write(outside.path().join("x.sarif"), "theirs").unwrap();
    repo.commit("links");
    for args in [
        &[][..],
        &["--sarif", "anteater.sarif"][..],
        &["--no-sarif", "--junit", "reports/junit.xml"][..],
        &["--no-sarif", "--gitlab-codequality", "reports/cq.json"][..],
        &["--no-sarif", "--write-baseline", "reports/baseline.json"][..],
        &["--sarif", "reports/deeper/../anteater.sarif"][..],
    ] {
        let (code, stderr) = raw(repo.path(), &[&["--path", "."][..], args].concat());
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(
            stderr.contains("symbolic link committed to the repository"),
            "{args:?}: {stderr}"
        );
        let names: Vec<_> = std::fs::read_dir(outside.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["x.sarif"], "{args:?}");
        assert_eq!(
            std::fs::read_to_string(outside.path().join("x.sarif")).unwrap(),
            "theirs"
        );
    }
    // A link the user makes (not committed) is theirs to give.
    std::os::unix::fs::symlink(outside.path(), repo.path().join("mine")).unwrap();
    let run = anteater(repo.path())
        .args(&["--path", ".", "--sarif", "mine/mine.sarif"])
        .run();
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(outside.path().join("mine.sarif").is_file());
}

// ---------------------------------------------------------------------------------------------
// Item 20: no mode reads outside the workspace through a link the repository provides.

#[test]
fn no_mode_reads_outside_the_workspace_through_a_committed_link() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("credentials"), SECRET_LINE).unwrap();
    std::fs::create_dir_all(outside.path().join("dir")).unwrap();
    std::fs::write(outside.path().join("dir/env"), SECRET_LINE).unwrap();
    let repo = Repo::new();
    repo.write("README", b"hello\n");
    let base = repo.commit("base");
    std::os::unix::fs::symlink(outside.path().join("credentials"), repo.path().join("notes.txt")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("dir"), repo.path().join("linked")).unwrap();
    repo.commit("links");
    let patchset = tempfile::tempdir().unwrap();
    let list = patchset.path().join("list");
    std::fs::write(&list, "notes.txt\nlinked/env\n").unwrap();
    let list = list.to_str().unwrap().to_string();
    for args in [vec![], vec!["--diff", base.as_str()], vec!["--history"]] {
        let run = scan(&repo, &args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.all_output());
        assert!(run.results().is_empty(), "{args:?}: {:?}", run.found());
    }
    // A patchset naming them is refused outright.
    for follow in [&[][..], &["--follow-symlinks"][..]] {
        // (Following links is the user's choice; the patchset check stands either way.)
        let run = scan(&repo, &[follow, &["--patchset", list.as_str()]].concat());
        assert_eq!(run.code, 2, "{follow:?}: {}", run.all_output());
        assert!(run.stderr.contains("resolves outside"), "{}", run.stderr);
        assert!(!run.all_output().contains("ghp_"), "{}", run.all_output());
    }
    // Staged, the same links newly added to the index.
    repo.git(&["reset", "-q", "--soft", &base]);
    let run = scan(&repo, &["--staged"]);
    assert_eq!(run.code, 0, "--staged: {}", run.all_output());
    // Links are followed when the user asks (`--follow-symlinks`), as in a full scan.
    repo.write("inside/real.env", SECRET_LINE.as_bytes());
    std::os::unix::fs::symlink("inside/real.env", repo.path().join("alias.env")).unwrap();
    let run = scan(&repo, &["--follow-symlinks"]);
    assert!(
        run.found().iter().any(|f| f.starts_with("alias.env:1:")),
        "{:?}",
        run.found()
    );
}

// ---------------------------------------------------------------------------------------------
// Item 18: paths named by the repository's own files stay inside it; errors quote no content.

#[test]
fn configuration_paths_named_by_the_repository_stay_inside_it() {
    const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"; // fake-secret-for-tests
    let outside = tempfile::tempdir().unwrap();
    let credentials = outside.path().join("credentials");
    std::fs::write(
        &credentials,
        format!(
            "[default]\naws_access_key_id = AKIAZ7QW3RT5YU2IOP4L\naws_secret_access_key = {AWS_SECRET}\n" // fake-secret-for-tests
        ),
    )
    .unwrap();
    std::fs::write(
        outside.path().join("list.yaml"),
        b"project_exceptions:\n  - repo: ../../x.yaml\n",
    )
    .unwrap();
    let shown = credentials.display().to_string();
    for (conf, link) in [
        (format!("[config]\nflag_list = {shown}\n"), None),
        (format!("[config]\nignore_list = {shown}\n"), None),
        ("[config]\nanteater_files = lists/\nflag_list = %(anteater_files)s/../../../../../../../../..{shown}\n".to_string(), None),
        // Through a committed link, relative and innocent-looking.
        ("[config]\nflag_list = lists/flags.yaml\n".to_string(), Some(("lists", outside.path()))),
        ("[config]\nflag_list = creds.yaml\n".to_string(), Some(("creds.yaml", credentials.as_path()))),
    ] {
        let repo = Repo::new();
        repo.write("app.sh", SECRET_LINE.as_bytes());
        repo.write("anteater.conf", conf.as_bytes());
        if let Some((name, target)) = link {
            std::os::unix::fs::symlink(target, repo.path().join(name)).unwrap();
        }
        let base = repo.commit("base");
        repo.write("b.sh", SECRET_LINE.as_bytes());
        repo.commit("change");
        for args in [&[][..], &["--diff", base.as_str()][..], &["--history"][..]] {
            let run = scan(&repo, args);
            assert_eq!(run.code, 2, "{conf} {args:?}: {}", run.all_output());
            assert!(
                run.stderr.contains("outside the repository"),
                "{conf} {args:?}: {}",
                run.stderr
            );
            assert_no_window_of(&run.all_output(), &[AWS_SECRET, "AKIAZ7QW3RT5YU2IOP4L"], &conf); // fake-secret-for-tests
        }
    }
    // A project file named by an ignore list inside the repository stays inside too.
    let repo = Repo::new();
    repo.write("app.sh", b"echo hi\n");
    repo.write(
        "ignore.yaml",
        format!("project_exceptions:\n  - repo: {shown}\n").as_bytes(),
    );
    repo.commit("base");
    let run = scan(&repo, &["--ignore-list", "ignore.yaml", "--project", "repo"]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(run.stderr.contains("project_exceptions"), "{}", run.stderr);
    assert_no_window_of(&run.all_output(), &[AWS_SECRET], "project file");
    // Given on the command line, a list kept elsewhere is the user's; its parse error quotes
    // none of it.
    let run = scan(&repo, &["--flag-list", &shown]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(run.stderr.contains("flag list"), "{}", run.stderr);
    assert_no_window_of(
        &run.all_output(),
        &[AWS_SECRET, "AKIAZ7QW3RT5YU2IOP4L"], // fake-secret-for-tests
        "--flag-list",
    );
    // Nor does an error about the repository's own files (anteater.conf, YAML lists).
    for (name, text) in [
        ("anteater.conf", format!("[config]\nflag_list = %({TOKEN})s\n")),
        (
            "flags.yaml",
            format!("file_audits:\n  file_contents:\n    x: [{TOKEN}\n"),
        ),
        ("flags.yaml", format!("{TOKEN}: 1\n")),
    ] {
        let dir = crate::common::tree(&[(name, text.as_bytes())]);
        let args: &[&str] = if name == "flags.yaml" {
            &["--path", ".", "--flag-list", "flags.yaml"]
        } else {
            &["--path", "."]
        };
        let run = anteater(dir.path()).args(args).run();
        assert_eq!(run.code, 2, "{name}: {}", run.all_output());
        assert_no_window_of(&run.all_output(), &[TOKEN], name);
    }
}

// ---------------------------------------------------------------------------------------------
// Item 16: what may be sent to VirusTotal is decided by an allowlist.

#[test]
fn only_urls_made_of_scheme_host_and_path_are_sent_to_virustotal() {
    use crate::support::vt_mock::{url_id, MockConfig, Stats, VtMock};
    const CLEAN_URL: &str = "https://docs.example.org/guide";
    const PAGED_URL: &str = "https://docs.example.org/list?page=2";
    let mut config = MockConfig::default();
    config.urls.insert(CLEAN_URL.into(), Stats::clean());
    config.urls.insert(PAGED_URL.into(), Stats::clean());
    let mock = VtMock::start(config);
    // Built at run time: the secrets exist in no source file.
    let secrets = [
        format!("Tr0ub4dor{}", "Horse"),
        format!("correct-horse-{}", "battery"),
        format!("hunter{}", "2x"),
        format!("zx81{}", "spectrum"),
        format!("abc1de{}", "2k"),
        format!("AKIAZ7QW3RT5{}", "YU2IOP4L"),
        format!("sekr{}", "et-pass"),
    ];
    let urls = [
        format!("https://app.example.com/login?user=me&pass={}", secrets[0]),
        format!("https://app.example.com/login?passphrase={}", secrets[1]),
        format!("https://app.example.com/login?pw={}", secrets[2]),
        format!("https://app.example.com/cb#access_token={}", secrets[3]),
        format!("https://hooks.zapier.com/hooks/catch/1234567/{}/", secrets[4]),
        format!("https://{}.example.net/", secrets[5]),
        format!("https://app.example.com/x?q={}", secrets[6]),
    ];
    let mut source = String::new();
    for url in &urls {
        source.push_str(&format!("fetch('{url}')\n"));
    }
    source.push_str(&format!("docs = '{CLEAN_URL}'\npaged = '{PAGED_URL}'\n"));
    let dir = crate::common::tree(&[("src/client.js", source.as_bytes())]);
    let run = anteater(dir.path())
        .against_vt_mock(&mock.base_url())
        .env("REDIS_URL", "redis://127.0.0.1:1")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", "summary.md")
        .args(&[
            "--path",
            "src",
            "--urls",
            "--vt-fail-closed",
            "--junit",
            "junit.xml",
        ])
        .run();
    let mut asked: Vec<String> = mock.requests().into_iter().map(|r| r.path).collect();
    asked.sort();
    let mut expected = vec![
        format!("/api/v3/urls/{}", url_id(CLEAN_URL)),
        format!("/api/v3/urls/{}", url_id(PAGED_URL)),
    ];
    expected.sort();
    assert_eq!(asked, expected, "{}", run.all_output());
    let mut all = run.all_output();
    for name in ["junit.xml", "summary.md"] {
        all.push_str(&std::fs::read_to_string(dir.path().join(name)).unwrap_or_default());
    }
    for secret in &secrets {
        assert!(!all.contains(secret.as_str()), "{secret} printed:\n{all}");
    }
}

// ---------------------------------------------------------------------------------------------
// Item 13: a waiver the change itself writes is shown, and fails the gate when asked.

#[test]
fn a_waiver_written_by_the_change_itself_is_shown_and_fails_when_strict() {
    let repo = Repo::new();
    repo.write("app.sh", b"echo hi\n# an old waiver: anteater:ignore\n");
    let base = repo.commit("base");
    let waived = format!("{} # anteater:ignore\n", SECRET_LINE.trim_end());
    let waived_by_id = format!(
        "export {} # anteater:ignore github-token\n",
        SECRET_LINE.trim_end()
    );
    repo.write(
        "app.sh",
        format!("echo hi\n# an old waiver: anteater:ignore\n{waived}{waived_by_id}").as_bytes(),
    );
    repo.commit("change");
    let expected = vec!["app.sh:3:waiver-added", "app.sh:4:waiver-added"];
    // (`--history` audits a whole past, not a change under review: no waiver there is shown.)
    for args in [vec!["--diff", base.as_str()], vec!["--diff", "HEAD~1..HEAD"]] {
        let run = scan(&repo, &args);
        // Honoured, and shown: a warning at each line, in the annotations and the summary.
        assert_eq!(run.code, 0, "{args:?}: {}", run.all_output());
        assert_eq!(run.found(), expected, "{args:?}");
        assert!(
            run.stdout.contains("anteater:ignore waives `github-token`"),
            "{}",
            run.stdout
        );
        assert!(!run.all_output().contains(TOKEN), "{}", run.all_output());
        let sarif_level = &run.results()[0]["level"];
        assert_eq!(sarif_level, "warning");
        // Strict: the flag or its variable fail the gate on it.
        let strict = scan(&repo, &[&args[..], &["--strict-waivers"]].concat());
        assert_eq!(strict.code, 1, "{args:?}: {}", strict.all_output());
        assert_eq!(strict.found(), expected);
        assert_eq!(strict.results()[0]["level"], "error");
        let mut all = vec!["--path", "."];
        all.extend_from_slice(&args);
        let by_env = anteater(repo.path())
            .args(&all)
            .env("ANTEATER_STRICT_WAIVERS", "true")
            .run();
        assert_eq!(by_env.code, 1, "{args:?}: {}", by_env.all_output());
    }
    // Staged: the same change, in the index.
    repo.git(&["reset", "-q", "--soft", &base]);
    let run = scan(&repo, &["--staged"]);
    assert_eq!(run.code, 0, "--staged: {}", run.all_output());
    assert_eq!(run.found(), expected, "--staged");
    let strict = scan(&repo, &["--staged", "--strict-waivers"]);
    assert_eq!(strict.code, 1, "--staged: {}", strict.all_output());
    // The job summary names it.
    let summary_dir = tempfile::tempdir().unwrap();
    let summary = summary_dir.path().join("summary.md");
    let run = anteater(repo.path())
        .args(&["--path", ".", "--staged"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())
        .run();
    assert!(
        run.stderr.contains("waiver-added") || run.stdout.contains("::warning"),
        "{}",
        run.all_output()
    );
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(text.contains("waiver-added"), "{text}");
    // A full scan is not about a change: the old and new waivers are counted, as before.
    let full = scan(&repo, &[]);
    assert_eq!(full.code, 0, "{}", full.all_output());
    assert!(full.found().is_empty(), "{:?}", full.found());
}

//! Never a false pass, attacked again (issue 18, a hostile probe of the one-pipeline build): each
//! test here failed on the code before its fix.

use crate::common::{anteater, Run};
use crate::support::git_repo::GitRepo as Repo;
use crate::support::seeded::pem_body;

const TOKEN: &str = "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"; // fake-secret-for-tests
const AWS_SECRET: &str = "mihA/2O76UMFxFkM/R5Kjp1vRt+1fjORS/6ilI8i"; // fake-secret-for-tests

fn scan(repo: &Repo, args: &[&str]) -> Run {
    let mut all = vec!["--path", ".", "--no-sarif"];
    all.extend_from_slice(args);
    anteater(repo.path()).args(&all).run()
}

/// `--staged` on the change in the index, then `--diff BASE` on it committed, both strict about
/// waivers: each must fail on a `waiver-added` at `expected` (path:line).
fn strict_waivers_fail_at(repo: &Repo, base: &str, expected: &str) {
    repo.git(&["add", "-A"]);
    let staged = scan(repo, &["--staged", "--strict-waivers"]);
    repo.commit("the change");
    let diff = scan(repo, &["--diff", base, "--strict-waivers"]);
    for (mode, run) in [("--staged", staged), ("--diff", diff)] {
        assert_eq!(run.code, 1, "{mode}: {}", run.all_output());
        let line = format!("{expected}:1  waiver-added");
        let found = run
            .stdout
            .lines()
            .any(|l| l.starts_with(expected) && l.contains("  waiver-added  "));
        assert!(found, "{mode}: no {line}\n{}", run.all_output());
        assert!(!run.all_output().contains(TOKEN) && !run.all_output().contains(AWS_SECRET));
    }
}

// A marker the change writes is a waiver-added in every view of the text: inside escaped JSON
// (seen only once unescaped) and in a file read as binary.
#[test]
fn a_waiver_the_change_writes_is_shown_in_every_view() {
    let repo = Repo::new();
    repo.write("README.md", b"a project\n");
    let base = repo.commit("base");
    repo.write(
        "settings.py",
        format!("CFG = \"{{\\\"aws_secret_access_key\\\": \\\"{AWS_SECRET}\\\"}}\"  # anteater:ignore\n")
            .as_bytes(),
    );
    strict_waivers_fail_at(&repo, &base, "settings.py:1");

    let repo = Repo::new();
    repo.write("README.md", b"a project\n");
    let base = repo.commit("base");
    repo.write(
        "deploy.env",
        format!("\0\nGITHUB_TOKEN={TOKEN} anteater:ignore\n").as_bytes(),
    );
    strict_waivers_fail_at(&repo, &base, "deploy.env:1");
}

// A marker set on a key's header by an earlier, harmless change (header and footer only: no
// key, nothing waived) must not waive the body a later change adds under it.
#[test]
fn a_marker_set_early_on_a_key_header_does_not_waive_a_body_added_later() {
    let repo = Repo::new();
    repo.write(
        "deploy_key.txt",
        b"/* anteater:ignore */ -----BEGIN RSA PRIVATE KEY-----\n-----END RSA PRIVATE KEY-----\n",
    );
    let base = repo.commit("a placeholder for the deploy key");
    let body = pem_body(7, 25).join("\n");
    repo.write(
        "deploy_key.txt",
        format!(
            "/* anteater:ignore */ -----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\n"
        )
        .as_bytes(),
    );
    strict_waivers_fail_at(&repo, &base, "deploy_key.txt:1");
}

// `ignore_directories` names folders, not substrings: `target/` must not hide `app/retarget/`.
#[test]
fn ignored_directories_are_whole_folders_not_substrings() {
    let repo = Repo::new();
    repo.write("ignore.yaml", b"ignore_directories:\n  - target/\n  - rules/\n");
    let base = repo.commit("base");
    let line = format!("GITHUB_TOKEN={TOKEN}\n");
    for path in [
        "app/retarget/deploy.env",
        "services/myrules/x.env",
        "target/debug/skipped.env",
        "crates/a/target/skipped.env",
    ] {
        repo.write(path, line.as_bytes());
    }
    repo.git(&["add", "-A"]);
    repo.commit("the change");
    for mode in [&[][..], &["--diff", base.as_str()][..]] {
        let run = scan(&repo, &[&["--ignore-list", "ignore.yaml"], mode].concat());
        assert_eq!(run.code, 1, "{mode:?}: {}", run.all_output());
        let mut found: Vec<&str> = run
            .finding_lines()
            .into_iter()
            .filter_map(|l| l.split(':').next())
            .collect();
        found.sort_unstable();
        found.dedup();
        assert_eq!(
            found,
            ["app/retarget/deploy.env", "services/myrules/x.env"],
            "{mode:?}"
        );
    }
}

/// A PEM key's lines as code holds them: a list of quoted lines, concatenation, continued
/// lines, a comment after the header, JSON escaped twice, PHP's escaped slashes.
fn embedded_keys() -> Vec<(&'static str, String)> {
    let mut lines = vec!["-----BEGIN RSA PRIVATE KEY-----".to_string()];
    lines.extend(pem_body(11, 25));
    lines.push("-----END RSA PRIVATE KEY-----".to_string());
    let quoted = |indent: &str, end: &str| -> String {
        lines.iter().map(|l| format!("{indent}\"{l}\"{end}\n")).collect()
    };
    vec![
        ("keys.py", format!("KEY_LINES = [\n{}]\n", quoted("    ", ","))),
        ("keys.yaml", format!("key_lines:\n{}", quoted("  - ", ""))),
        (
            "Keys.java",
            format!(
                "String key = \"{}\"\n{};\n",
                lines[0],
                lines[1..]
                    .iter()
                    .map(|l| format!("    + \"{l}\"\n"))
                    .collect::<String>()
            ),
        ),
        ("key.sh", format!("KEY=\"{}\"\n", lines.join("\\\n"))),
        (
            "key.pem.txt",
            format!("{}  # prod deploy key\n{}\n", lines[0], lines[1..].join("\n")),
        ),
        ("twice.json", format!("{{\"k\": \"{}\"}}\n", lines.join("\\\\n"))),
        (
            "php.json",
            format!("{{\"k\": \"{}\"}}\n", lines.join("\\n").replace('/', "\\/")),
        ),
    ]
}

#[test]
fn a_private_key_embedded_in_code_is_found_however_its_lines_are_written() {
    let repo = Repo::new();
    repo.write("README.md", b"a project\n");
    let base = repo.commit("base");
    let keys = embedded_keys();
    for (path, text) in &keys {
        repo.write(path, text.as_bytes());
    }
    repo.git(&["add", "-A"]);
    let staged = scan(&repo, &["--staged"]);
    repo.commit("the change");
    for (mode, run) in [
        ("tree", scan(&repo, &[])),
        ("--staged", staged),
        ("--diff", scan(&repo, &["--diff", &base])),
        ("--history", scan(&repo, &["--history"])),
    ] {
        assert_eq!(run.code, 1, "{mode}: {}", run.all_output());
        for (path, _) in &keys {
            assert!(
                run.stdout
                    .lines()
                    .any(|l| l.starts_with(&format!("{path}:")) && l.contains("private-key-rsa")),
                "{mode}: no private-key-rsa in {path}\n{}",
                run.stdout
            );
        }
    }
}

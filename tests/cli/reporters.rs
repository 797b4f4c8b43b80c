//! Output formats besides the console and SARIF: `--format json`, `--gitlab-codequality`,
//! `--junit`, and in GitHub Actions the annotations and the job summary. Each must agree with
//! the SARIF log, and none may let a hostile file name or matched text forge structure.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::common::{anteater, fixture, tree, Run};

/// `forbidden` (high: an error), `shaky` (medium: a warning), `evil` (high, shows the whole rest
/// of the line), and `.pem` file names. None of them redacts, so the evidence is predictable.
const FLAGS: &[u8] = b"file_audits:\n  file_names:\n    - \\.pem$\n  file_contents:\n    forbidden:\n      regex: FORBIDDEN_[A-Z]+\n      desc: Forbidden marker\n      redact: false\n    shaky:\n      regex: SHAKY\n      desc: Shaky marker\n      severity: medium\n      redact: false\n    evil:\n      regex: EVIL.*\n      desc: Evil line\n      redact: false\n";

/// Scans `src/` of a tree holding `files` with the flags above.
fn scan(files: &[(&str, &[u8])], extra: &[&str], env: &[(&str, &str)]) -> (tempfile::TempDir, Run) {
    let mut all = vec![("flags.yaml", FLAGS)];
    all.extend_from_slice(files);
    let dir = tree(&all);
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    let mut args = vec!["--flag-list", "flags.yaml", "--path", "src"];
    args.extend_from_slice(extra);
    let mut invocation = anteater(dir.path()).args(&args);
    for (name, value) in env {
        invocation = invocation.env(name, value);
    }
    let run = invocation.run();
    (dir, run)
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: not JSON: {err}", path.display()))
}

/// What the runner does with a workflow command line (actions/runner `ActionCommand.TryParseV2`):
/// command name, unescaped properties and unescaped data.
fn parse_command(line: &str) -> (String, Vec<(String, String)>, String) {
    let line = line.trim_start();
    assert!(line.starts_with("::"), "{line}");
    let end = line[2..]
        .find("::")
        .map(|i| i + 2)
        .expect("`::` after the command");
    let info = &line[2..end];
    let (name, properties) = info.split_once(' ').unwrap_or((info, ""));
    let unescape = |value: &str, property: bool| {
        let mut value = value.replace("%0D", "\r").replace("%0A", "\n");
        if property {
            value = value.replace("%3A", ":").replace("%2C", ",");
        }
        value.replace("%25", "%")
    };
    let properties = properties
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (key, value) = p.split_once('=').expect("key=value");
            (key.to_string(), unescape(value, true))
        })
        .collect();
    (name.to_string(), properties, unescape(&line[end + 2..], false))
}

// ------------------------------------------------------------------------------------------------
// JSON

#[test]
fn json_on_stdout_matches_the_sarif_log() {
    let dir = fixture("anteater-original");
    let run = anteater(dir.path())
        .args(&[
            "--project",
            "testproject",
            "--path",
            "tests/testproject",
            "--format",
            "json",
        ])
        .run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    // stdout is the document and nothing else.
    let doc: Value = serde_json::from_str(&run.stdout).expect("stdout is one JSON document");
    assert_eq!(doc["outcome"], "failed");
    assert_eq!(doc["exit_code"], 1);
    assert_eq!(doc["version"], env!("CARGO_PKG_VERSION"));

    let findings = doc["findings"].as_array().unwrap();
    let keys: Vec<(String, u64, String)> = findings
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["rule_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // The same findings; outside git SARIF URIs are relative to --path.
    let sarif_keys: Vec<(String, u64, String)> = run
        .result_keys()
        .into_iter()
        .map(|(uri, line, rule)| (format!("tests/testproject/{uri}"), line, rule))
        .collect();
    assert_eq!(keys, sarif_keys);
    let sarif_prints: Vec<&str> = run
        .results()
        .iter()
        .map(|r| {
            r["partialFingerprints"]["anteaterFingerprint/v2"]
                .as_str()
                .unwrap()
        })
        .collect();
    let json_prints: Vec<&str> = findings
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(json_prints, sarif_prints);
    for finding in findings {
        for field in ["rule_name", "level", "severity", "evidence"] {
            assert!(finding[field].is_string(), "{field}: {finding}");
        }
    }
    assert_eq!(doc["summary"]["findings"]["total"], 7);
    assert_eq!(doc["summary"]["findings"]["error"], 7);
    assert!(doc["problems"]["unreadable"].as_array().unwrap().is_empty());
}

#[test]
fn json_keeps_warnings_on_stderr_and_is_chosen_by_the_environment() {
    let (_dir, run) = scan(
        &[("src/a.txt", b"FORBIDDEN_A\n"), ("src/big.txt", &[b'x'; 2048])],
        &["--max-file-size", "1KiB", "--oversize", "warn"],
        &[("ANTEATER_FORMAT", "json")],
    );
    assert_eq!(run.code, 1, "{}", run.all_output());
    let doc: Value = serde_json::from_str(&run.stdout).expect("stdout is one JSON document");
    assert_eq!(doc["problems"]["too_large"][0]["path"], "src/big.txt");
    assert_eq!(doc["findings"][0]["column"], 1);
    assert_eq!(doc["findings"][0]["end_column"], 12);
    assert!(run.stderr.contains("src/big.txt: skipped"), "{}", run.stderr);
    assert!(!run.stdout.contains("anteater:"), "{}", run.stdout);
}

// ------------------------------------------------------------------------------------------------
// GitLab Code Quality

#[test]
fn gitlab_code_quality_has_what_gitlab_reads() {
    let dir = fixture("anteater-original");
    let run = anteater(dir.path())
        .args(&[
            "--project",
            "testproject",
            "--path",
            "tests/testproject",
            "--gitlab-codequality",
            "gl-code-quality.json",
        ])
        .run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    let issues = read_json(&dir.path().join("gl-code-quality.json"));
    let issues = issues.as_array().expect("a JSON array");
    assert_eq!(issues.len(), run.results().len());
    let mut fingerprints = BTreeSet::new();
    for (issue, (path, line, rule)) in issues.iter().zip(run.result_keys()) {
        assert!(!issue["description"].as_str().unwrap().is_empty());
        assert_eq!(issue["check_name"], format!("anteater/{rule}"));
        assert!(
            ["info", "minor", "major", "critical", "blocker"].contains(&issue["severity"].as_str().unwrap()),
            "{issue}"
        );
        assert_eq!(issue["location"]["path"], format!("tests/testproject/{path}"));
        assert_eq!(issue["location"]["lines"]["begin"], line);
        assert!(fingerprints.insert(issue["fingerprint"].as_str().unwrap().to_string()));
    }
}

#[test]
fn report_files_inside_the_tree_are_not_scanned_on_the_next_run() {
    let dir = tree(&[("flags.yaml", FLAGS), ("a.txt", b"FORBIDDEN_A\n")]);
    let args = [
        "--flag-list",
        "flags.yaml",
        "--gitlab-codequality",
        "cq.json",
        "--junit",
        "junit.xml",
    ];
    let first = anteater(dir.path()).args(&args).run();
    assert_eq!(first.results().len(), 1, "{}", first.all_output());
    // Both reports now hold `FORBIDDEN_A`; the second run must not find it in them.
    let second = anteater(dir.path()).args(&args).run();
    assert_eq!(
        second.result_keys(),
        first.result_keys(),
        "{}",
        second.all_output()
    );
}

#[test]
fn a_report_file_that_cannot_be_written_fails_the_run_naming_it() {
    for (flag, what) in [
        (
            "--gitlab-codequality",
            "writing GitLab Code Quality report no/such/dir/out",
        ),
        ("--junit", "writing JUnit report no/such/dir/out"),
    ] {
        let (_dir, run) = scan(&[("src/a.txt", b"clean\n")], &[flag, "no/such/dir/out"], &[]);
        assert_eq!(run.code, 2, "{}", run.all_output());
        assert!(run.stderr.contains(what), "{}", run.stderr);
    }
}

// ------------------------------------------------------------------------------------------------
// JUnit

/// A small well-formedness check: balanced elements, quoted attributes, only the predefined and
/// numeric references, no character XML 1.0 forbids, one root element.
fn assert_well_formed_xml(xml: &str) {
    fn check_chars(text: &str, context: &str) {
        for c in text.chars() {
            let legal = matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..);
            assert!(legal, "illegal character {c:?} in {context}");
        }
        let mut rest = text;
        while let Some(at) = rest.find('&') {
            let end = rest[at..]
                .find(';')
                .unwrap_or_else(|| panic!("unterminated reference in {context}"));
            let name = &rest[at + 1..at + end];
            let ok = matches!(name, "amp" | "lt" | "gt" | "quot" | "apos")
                || name
                    .strip_prefix("#x")
                    .is_some_and(|h| u32::from_str_radix(h, 16).is_ok())
                || name.strip_prefix('#').is_some_and(|d| d.parse::<u32>().is_ok());
            assert!(ok, "bad reference &{name}; in {context}");
            rest = &rest[at + end..];
        }
    }
    let body = match xml.strip_prefix("<?xml") {
        Some(rest) => &rest[rest.find("?>").expect("end of the declaration") + 2..],
        None => xml,
    };
    let mut stack: Vec<&str> = Vec::new();
    let mut roots = 0;
    let mut rest = body;
    while let Some(open) = rest.find('<') {
        let text = &rest[..open];
        check_chars(text, "text");
        if stack.is_empty() {
            assert!(text.trim().is_empty(), "text outside the root: {text:?}");
        }
        rest = &rest[open + 1..];
        if let Some(after) = rest.strip_prefix('/') {
            let close = after.find('>').expect("end of a closing tag");
            assert_eq!(stack.pop(), Some(after[..close].trim()), "mismatched closing tag");
            rest = &after[close + 1..];
            continue;
        }
        let name_end = rest
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .expect("end of a tag name");
        let name = &rest[..name_end];
        assert!(
            !name.is_empty() && !name.contains(['<', '&', '"', '\'']),
            "bad tag name {name:?}"
        );
        rest = &rest[name_end..];
        loop {
            rest = rest.trim_start();
            if let Some(after) = rest.strip_prefix("/>") {
                rest = after;
                if stack.is_empty() {
                    roots += 1;
                }
                break;
            }
            if let Some(after) = rest.strip_prefix('>') {
                rest = after;
                if stack.is_empty() {
                    roots += 1;
                }
                stack.push(name);
                break;
            }
            let eq = rest.find('=').expect("attribute `=`");
            let attribute = rest[..eq].trim();
            assert!(
                !attribute.is_empty() && !attribute.contains(['<', '>', '"', '\'', '&', ' ']),
                "bad attribute name {attribute:?}"
            );
            rest = rest[eq + 1..].trim_start();
            let quote = rest.chars().next().expect("attribute value");
            assert!(quote == '"' || quote == '\'', "unquoted attribute {attribute}");
            let close = rest[1..].find(quote).expect("closing quote") + 1;
            let value = &rest[1..close];
            assert!(!value.contains('<'), "`<` in attribute {attribute}");
            check_chars(value, attribute);
            rest = &rest[close + 1..];
        }
    }
    assert!(stack.is_empty(), "unclosed elements {stack:?}");
    assert!(rest.trim().is_empty(), "text after the root: {rest:?}");
    assert_eq!(roots, 1, "one root element");
}

#[test]
fn junit_is_well_formed_with_hostile_file_names_and_content() {
    let (dir, run) = scan(
        &[
            ("src/a<b>&\"c'.txt", b"FORBIDDEN_A\n"),
            ("src/ctl\u{1}name.txt", b"FORBIDDEN_B\n"),
            ("src/evil.txt", b"EVIL ]]> <!-- & </failure> \x02\n"),
            ("src/warn.txt", b"SHAKY\n"),
        ],
        &["--junit", "junit.xml"],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.all_output());
    let xml = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
    assert_well_formed_xml(&xml);
    assert!(
        xml.contains("src/a&lt;b&gt;&amp;&quot;c&apos;.txt:1 forbidden: FORBIDDEN_A"),
        "{xml}"
    );
    // The control character is shown the way the console shows it, never raw.
    assert!(
        xml.contains("src/ctl\\u{1}name.txt:1 forbidden: FORBIDDEN_B"),
        "{xml}"
    );
    assert!(!xml.contains('\u{1}') && !xml.contains('\u{2}'));
    assert!(
        xml.contains("EVIL ]]&gt; &lt;!-- &amp; &lt;/failure&gt;"),
        "{xml}"
    );
    // One case per rule (3 content rules, 1 file-name rule, the binary and DER-key rules) and
    // the scan case; the warning is below --fail-on error, so only `forbidden` and `evil` fail.
    assert!(
        xml.contains("<testsuite name=\"anteater\" tests=\"7\" failures=\"2\" errors=\"0\""),
        "{xml}"
    );
    assert!(
        xml.contains("<system-out>Below --fail-on error:\nsrc/warn.txt:1 shaky: SHAKY\n"),
        "{xml}"
    );
}

#[test]
fn the_checker_rejects_broken_xml() {
    for broken in [
        "<a><b></a></b>",
        "<a x=1/>",
        "<a>&bogus;</a>",
        "<a>\u{1}</a>",
        "<a></a><b/>",
        "<a x=\"<\"/>",
    ] {
        let result = std::panic::catch_unwind(|| assert_well_formed_xml(broken));
        assert!(result.is_err(), "accepted {broken:?}");
    }
    assert_well_formed_xml("<?xml version=\"1.0\"?>\n<a x='1'><b/>t&amp;&#10;</a>\n");
}

// ------------------------------------------------------------------------------------------------
// GitHub Actions

#[test]
fn annotations_escape_hostile_file_names_and_matched_text() {
    let hostile = "src/we%ird:na,me\nx.txt";
    let (_dir, run) = scan(
        &[
            (hostile, b"FORBIDDEN_X\n"),
            ("src/evil.txt", b"EVIL 100% ::error file=forged::x,y\r\n"),
        ],
        &[],
        &[("GITHUB_ACTIONS", "true")],
    );
    assert_eq!(run.code, 1, "{}", run.all_output());
    let lines: Vec<&str> = run.stdout.lines().collect();
    let annotations: Vec<&&str> = lines.iter().filter(|l| l.starts_with("::error ")).collect();
    assert_eq!(annotations.len(), 2, "{}", run.stdout);

    let evil = annotations
        .iter()
        .find(|l| l.contains("file=src/evil.txt"))
        .unwrap();
    let (_, properties, message) = parse_command(evil);
    assert_eq!(
        properties.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["file", "line", "endLine", "col", "endColumn", "title"]
    );
    assert!(
        message.ends_with("Matched: EVIL 100% ::error file=forged::x,y"),
        "{message}"
    );
    assert!(evil.contains("EVIL 100%25 ::error file=forged::x,y"), "{evil}");

    let named = annotations
        .iter()
        .find(|l| !l.contains("file=src/evil.txt"))
        .unwrap();
    assert!(
        named.starts_with(
            "::error file=src/we%25ird%3Ana%2Cme%0Ax.txt,line=1,endLine=1,col=1,endColumn=12,title=forbidden%3A "
        ),
        "{named}"
    );
    let (name, properties, _) = parse_command(named);
    assert_eq!(name, "error");
    assert_eq!(properties[0], ("file".to_string(), hostile.to_string()));

    // The console's lines (which print the same names) sit inside a stop-commands pause that
    // ends, with its own token, before the annotations.
    let stop = lines
        .iter()
        .position(|l| l.starts_with("::stop-commands::"))
        .expect("a pause");
    let token = lines[stop].trim_start_matches("::stop-commands::");
    let resume = lines
        .iter()
        .position(|l| *l == format!("::{token}::"))
        .expect("its end");
    let console = lines
        .iter()
        .position(|l| l.starts_with("src/evil.txt:1:1"))
        .unwrap();
    let first_annotation = lines.iter().position(|l| l.starts_with("::error ")).unwrap();
    assert!(
        stop < console && console < resume && resume < first_annotation,
        "{}",
        run.stdout
    );
}

#[test]
fn annotations_stop_at_ten_errors_and_say_how_many_more() {
    let files: Vec<(String, Vec<u8>)> = (0..15)
        .map(|i| (format!("src/f{i:02}.txt"), b"FORBIDDEN_A\n".to_vec()))
        .collect();
    let files: Vec<(&str, &[u8])> = files.iter().map(|(p, c)| (p.as_str(), c.as_slice())).collect();
    let (_dir, run) = scan(&files, &[], &[("GITHUB_ACTIONS", "true")]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    let errors = run.stdout.lines().filter(|l| l.starts_with("::error ")).count();
    assert_eq!(errors, 10, "{}", run.stdout);
    // The closing notice is the last line.
    let last = run.stdout.lines().next_back().unwrap();
    assert!(last.starts_with("::notice "), "{last}");
    assert!(last.contains("5 more findings were not annotated"), "{last}");
    assert!(last.contains("anteater.sarif"), "{last}");
}

#[test]
fn nothing_for_github_outside_github_actions() {
    let (dir, run) = scan(
        &[("src/a.txt", b"FORBIDDEN_A\n")],
        &[],
        &[("GITHUB_STEP_SUMMARY", "summary.md")],
    );
    assert_eq!(run.code, 1);
    assert!(!run.stdout.lines().any(|l| l.starts_with("::")), "{}", run.stdout);
    assert!(!dir.path().join("summary.md").exists());
}

#[test]
fn json_in_github_actions_sends_annotations_to_stderr() {
    let (_dir, run) = scan(
        &[("src/##[set-output name=findings]0.txt", b"FORBIDDEN_A\n")],
        &["--format", "json"],
        &[("GITHUB_ACTIONS", "true")],
    );
    assert_eq!(run.code, 1, "{}", run.all_output());
    let doc: Value = serde_json::from_str(&run.stdout).expect("stdout is still only JSON");
    assert_eq!(
        doc["findings"][0]["path"],
        "src/##[set-output name=findings]0.txt"
    );
    // The runner would read `##[set-output ...]` anywhere in a line as a command.
    assert!(!run.stdout.contains("##["), "{}", run.stdout);
    assert!(run
        .stderr
        .lines()
        .any(|l| l.starts_with("::error file=src/##[set-output name=findings]0.txt,")));
}

#[test]
fn job_summary_has_the_tables_and_stays_under_one_mebibyte() {
    // 3000 files with 2 long findings each under long directory names: the findings table alone
    // would be about 1.5 MiB.
    let content = format!("FORBIDDEN_{}\n", "Q".repeat(100)).repeat(2);
    let long_dir = "a-rather-long-directory-name-as-monorepos-have/and-another-level-below-it";
    let names: Vec<String> = (0..3000)
        .map(|i| format!("src/{long_dir}/d{:02}/file{i:04}.txt", i % 30))
        .collect();
    let mut files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), content.as_bytes())).collect();
    files.push(("src/shaky.txt", b"SHAKY\n"));
    let (dir, run) = scan(
        &files,
        &[],
        &[("GITHUB_ACTIONS", "true"), ("GITHUB_STEP_SUMMARY", "summary.md")],
    );
    assert_eq!(run.code, 1);
    assert_eq!(run.results().len(), 6001);
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(summary.len() < 1024 * 1024, "{} bytes", summary.len());
    assert!(
        summary.starts_with("## anteater: ❌ failed"),
        "{}",
        &summary[..200]
    );
    assert!(summary.contains("| error | 6000 |"));
    assert!(summary.contains("| warning | 1 |"));
    assert!(summary.contains("| `forbidden` | Forbidden marker | error | 6000 |"));
    assert!(summary.contains("| Location | Rule | Level | Evidence |"));
    assert!(summary.contains(&format!(
        "| `src/{long_dir}/d00/file0000.txt:1` | `forbidden` | error | `FORBIDDEN_QQQ"
    )));
    let shown = summary.lines().filter(|l| l.starts_with("| `src/")).count();
    assert!(shown > 1000, "{shown} rows");
    assert!(
        summary.contains(&format!("*{} more findings are not shown", 6001 - shown)),
        "{}",
        &summary[summary.len() - 1000..]
    );
    // Most severe first: the one warning is what gets cut.
    assert!(!summary.contains("`src/shaky.txt:1`"));
    assert!(summary.contains("**Files:** 3001 looked at"));
    // The annotations said where the rest is.
    assert!(run
        .stdout
        .contains("the SARIF log anteater.sarif and the job summary"));
}

#[test]
fn help_lists_the_output_options() {
    let dir = tree(&[]);
    let run = anteater(dir.path()).args(&["--help"]).run();
    assert_eq!(run.code, 0);
    for needle in [
        "Output:",
        "--format <FORMAT>",
        "ANTEATER_FORMAT",
        "--gitlab-codequality <FILE>",
        "ANTEATER_GITLAB_CODEQUALITY",
        "--junit <FILE>",
        "ANTEATER_JUNIT",
    ] {
        assert!(run.stdout.contains(needle), "{needle}: {}", run.stdout);
    }
}

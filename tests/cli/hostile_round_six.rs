//! Never a false pass, round six (issue 18): a secret whose characters never stand in a row in
//! the file. Encoded (base64, twice, hex, percent-escapes, `\u`/`\x` escapes, HTML entities,
//! quoted-printable), with invisible characters inside, cut into joined literals, or named by a
//! field of its own.
//! Each case runs in every mode (tree, `--patchset`, `--staged`, `--diff`, `--history`); each failed before.

use base64::Engine as _;

use crate::common::anteater;
use crate::support::every_mode::{fails_everywhere, scan};
use crate::support::git_repo::GitRepo as Repo;
use crate::support::seeded::pem_body;

const TOKEN: &str = "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"; // fake-secret-for-tests
const AWS_SECRET: &str = "mihA/2O76UMFxFkM/R5Kjp1vRt+1fjORS/6ilI8i"; // fake-secret-for-tests
const AWS_KEY_ID: &str = "AKIAQYLPMN5HHHFPZAM2"; // fake-secret-for-tests

fn base64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

fn every_byte(text: &str, escape: impl Fn(u8) -> String) -> String {
    text.bytes().map(escape).collect()
}

#[test]
fn a_token_in_any_common_encoding_is_found() {
    let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("token:{TOKEN}?"));
    let cases = [
        ("base64.env", format!("GH_TOKEN_B64={}\n", base64(TOKEN))),
        ("twice.yaml", format!("token: \"{}\"\n", base64(&base64(TOKEN)))),
        ("url_safe.txt", format!("blob = {url_safe}\n")),
        ("hex.ini", format!("token = {}\n", hex(TOKEN))),
        ("hex_literal.c", format!("char *t = 0x{};\n", hex(TOKEN))),
        (
            "percent.txt",
            format!(
                "https://ci.invalid/hook?t={}\n",
                every_byte(TOKEN, |b| format!("%{b:02X}"))
            ),
        ),
        (
            "unicode.json",
            format!(
                "{{\"t\": \"{}\"}}\n",
                every_byte(TOKEN, |b| format!("\\u{b:04x}"))
            ),
        ),
        (
            "bytes.py",
            format!("t = b\"{}\"\n", every_byte(TOKEN, |b| format!("\\x{b:02x}"))),
        ),
        (
            "page.html",
            format!(
                "<meta content=\"{}\">\n",
                every_byte(TOKEN, |b| format!("&#{b};"))
            ),
        ),
        (
            "hex_entities.xml",
            format!("<t>{}</t>\n", every_byte(TOKEN, |b| format!("&#x{b:x};"))),
        ),
        (
            "mail.eml",
            format!(
                "Content-Transfer-Encoding: quoted-printable\n\nGITHUB_TOKEN=3D{}=\n{}\n",
                &TOKEN[..20],
                &TOKEN[20..]
            ),
        ),
    ];
    for (path, text) in cases {
        fails_everywhere(&[(path, text.into_bytes())], "github-token", TOKEN);
    }
}

#[test]
fn invisible_characters_inside_a_token_do_not_hide_it() {
    for invisible in ["\u{200B}", "\u{200D}", "\u{2060}", "\u{FEFF}", "\u{00AD}"] {
        let text = format!("GITHUB_TOKEN={}{invisible}{}\n", &TOKEN[..10], &TOKEN[10..]);
        fails_everywhere(&[("ci/env.sh", text.into_bytes())], "github-token", TOKEN);
    }
}

#[test]
fn a_token_cut_into_joined_literals_is_found() {
    let (head, tail) = TOKEN.split_at(12);
    let cases = [
        ("a.js", format!("const t = \"{head}\" + \"{tail}\";\n")),
        ("b.php", format!("$t = '{head}' . '{tail}';\n")),
        ("c.py", format!("t = (\"{head}\" \"{tail}\")\n")),
        ("d.lua", format!("local t = \"{head}\" .. \"{tail}\"\n")),
        ("e.java", format!("String t = \"{head}\" +\n    \"{tail}\";\n")),
        ("f.cs", format!("var t = \"{head}\"\n    + \"{tail}\";\n")),
        ("g.sh", format!("T=\"{head}\"\\\n\"{tail}\"\n")),
        ("h.sql", format!("SELECT '{head}' || '{tail}';\n")),
    ];
    for (path, text) in cases {
        fails_everywhere(&[(path, text.into_bytes())], "github-token", TOKEN);
    }
}

#[test]
fn an_aws_secret_named_by_a_field_of_its_own_is_found() {
    let cases = [
        (
            "ecs/task.json",
            format!("{{\"environment\": [{{\"name\": \"AWS_SECRET_ACCESS_KEY\", \"value\": \"{AWS_SECRET}\"}}]}}\n"),
        ),
        (
            "ecs/task-pretty.json",
            format!("{{\n  \"environment\": [\n    {{\n      \"name\": \"AWS_SECRET_ACCESS_KEY\",\n      \"value\": \"{AWS_SECRET}\"\n    }}\n  ]\n}}\n"),
        ),
        (
            "ecs/task-value-first.json",
            format!("[\n  {{\n    \"value\": \"{AWS_SECRET}\",\n    \"name\": \"AWS_SECRET_ACCESS_KEY\"\n  }}\n]\n"),
        ),
        (
            "k8s/deploy.yaml",
            format!("spec:\n  containers:\n    - env:\n        - name: AWS_SECRET_ACCESS_KEY\n          value: \"{AWS_SECRET}\"\n"),
        ),
        (
            "cfn/params.json",
            format!("[{{\"ParameterKey\": \"AwsSecretAccessKey\", \"ParameterValue\": \"{AWS_SECRET}\"}}]\n"),
        ),
    ];
    for (path, text) in cases {
        fails_everywhere(&[(path, text.into_bytes())], "aws-secret-access-key", AWS_SECRET);
    }
}

#[test]
fn a_private_key_in_percent_encoding_or_base64_is_found() {
    let key = format!(
        "-----BEGIN RSA PRIVATE {k}-----\n{}\n-----END RSA PRIVATE {k}-----\n",
        pem_body(11, 12).join("\n"),
        k = "KEY"
    );
    let percent: String = key
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let evidence = &pem_body(11, 12)[0][..24];
    fails_everywhere(
        &[("deploy.url", format!("KEY={percent}\n").into_bytes())],
        "private-key-rsa",
        evidence,
    );
    let k8s = format!("kind: ConfigMap\ndata:\n  id_rsa: {}\n", base64(&key));
    fails_everywhere(
        &[("k8s/keys.yaml", k8s.into_bytes())],
        "private-key-rsa",
        evidence,
    );
}

// `--diff` judges the lines a change adds: the second half of a continued literal, or a value
// under an old name, is the change's.
#[test]
fn a_change_that_completes_a_split_secret_owns_it() {
    let (head, tail) = TOKEN.split_at(12);
    let repo = Repo::new();
    repo.write("a.js", format!("const t = \"{head}\" +\n    \"\";\n").as_bytes());
    repo.write(
        "k8s.yaml",
        b"env:\n  - name: AWS_SECRET_ACCESS_KEY\n    value: \"\"\n",
    );
    let base = repo.commit("base");
    repo.write(
        "a.js",
        format!("const t = \"{head}\" +\n    \"{tail}\";\n").as_bytes(),
    );
    repo.write(
        "k8s.yaml",
        format!("env:\n  - name: AWS_SECRET_ACCESS_KEY\n    value: \"{AWS_SECRET}\"\n").as_bytes(),
    );
    repo.commit("fill them in");
    let run = scan(&repo, &["--diff", base.as_str()]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(run.stdout.contains("a.js:1"), "{}", run.stdout);
    assert!(run.stdout.contains("k8s.yaml:3"), "{}", run.stdout);
    assert!(
        run.stdout.contains("Found with"),
        "the finding says how it was read: {}",
        run.stdout
    );
    assert!(!run.all_output().contains(TOKEN) && !run.all_output().contains(AWS_SECRET));
}

// What decodes to harmless text, and code that only looks glued, raise nothing.
#[test]
fn decoding_raises_no_alarm_on_ordinary_text() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        (
            "notes.txt",
            format!("greeting: {}\n", base64("hello, world, this is fine")),
        ),
        (
            "sums.txt",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  empty\n".to_string(),
        ),
        (
            "app.js",
            "const msg = \"Hello \" + \"world\";\nconst list = [\"a\", \"b\"];\n".to_string(),
        ),
        ("page.html", "<p>Tom &amp; Jerry &#169; 2024</p>\n".to_string()),
        (
            "k8s.yaml",
            "env:\n  - name: LOG_LEVEL\n    value: debug\n".to_string(),
        ),
        (
            "link.md",
            "[docs](https://example.invalid/a%20b%20c)\n".to_string(),
        ),
    ];
    for (path, text) in files {
        std::fs::write(dir.path().join(path), text).unwrap();
    }
    let run = anteater(dir.path()).args(&["--path", ".", "--no-sarif"]).run();
    assert_eq!(run.code, 0, "{}", run.all_output());
}

// A symbolic link's target is text git stores and its modes search; a tree scan searches it too
// (without following the link).
#[test]
fn a_secret_as_a_symlink_target_is_found_in_every_mode() {
    let repo = Repo::new();
    repo.write("README.md", b"a project\n");
    let base = repo.commit("base");
    std::os::unix::fs::symlink(format!("../vault/{TOKEN}"), repo.path().join("current-token")).unwrap();
    let mut runs = vec![("tree", scan(&repo, &[]))];
    repo.git(&["add", "-A"]);
    runs.push(("--staged", scan(&repo, &["--staged"])));
    repo.commit("link the token");
    runs.push(("--diff", scan(&repo, &["--diff", base.as_str()])));
    runs.push(("--history", scan(&repo, &["--history"])));
    for (mode, run) in runs {
        assert_eq!(run.code, 1, "{mode}: {}", run.all_output());
        assert!(run.stdout.contains("current-token:1"), "{mode}: {}", run.stdout);
        assert!(
            !run.all_output().contains(TOKEN),
            "{mode}: the secret was printed"
        );
    }
}

/// A file that is one DER SEQUENCE holding `body`.
fn der(body: &[u8]) -> Vec<u8> {
    let mut out = vec![0x30, 0x82, (body.len() >> 8) as u8, body.len() as u8];
    out.extend_from_slice(body);
    out
}

// A private key in binary (DER) form holds no PEM header: its structure gives it away, under any
// name, in every mode; a certificate in the same form is no key.
#[test]
fn a_private_key_in_der_form_is_found_under_any_name() {
    let mut rsa = vec![0x02, 0x01, 0x00, 0x02, 0x82, 0x01, 0x01, 0x00];
    rsa.extend((0..1180u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let key = der(&rsa);
    fails_everywhere(&[("deploy.pem", key.clone())], "private-key-der", "MII");
    fails_everywhere(&[("assets/blob.bin", key)], "private-key-der", "MII");

    let mut tbs = vec![0x30, 0x82, 0x03, 0x00, 0xA0, 0x03, 0x02, 0x01, 0x02];
    tbs.extend((0..900u32).map(|i| (i.wrapping_mul(40_503) >> 7) as u8));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.der"), der(&tbs)).unwrap();
    let run = anteater(dir.path()).args(&["--path", ".", "--no-sarif"]).run();
    assert_eq!(run.code, 0, "{}", run.all_output());
}

fn zlib(bytes: &[u8]) -> Vec<u8> {
    crate::support::compress::zlib(bytes)
}

// Deflated bytes hide text: a bare zlib stream (a git loose object of a repository committed
// as a fixture, what `zlib.compress` writes) and a PDF's FlateDecode streams are inflated and
// searched, in every mode.
#[test]
fn secrets_in_zlib_streams_and_pdf_streams_are_found() {
    let object = [&b"blob 40\0"[..], format!("GITHUB_TOKEN={TOKEN}\n").as_bytes()].concat();
    fails_everywhere(
        &[(
            "fixtures/prod.git/objects/4b/825dc642cb6eb9a060e54bf8d69288fbee4904",
            zlib(&object),
        )],
        "github-token",
        TOKEN,
    );
    let content = zlib(format!("BT /F1 12 Tf 72 712 Td (GITHUB_TOKEN={TOKEN}) Tj ET").as_bytes());
    let mut pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Length ".to_vec();
    pdf.extend(format!("{} /Filter /FlateDecode >>\nstream\n", content.len()).bytes());
    pdf.extend(&content);
    pdf.extend(b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n");
    fails_everywhere(&[("docs/handover.pdf", pdf)], "github-token", TOKEN);
}

// Bytes that only begin like a zlib header are an ordinary binary, not an unreadable stream.
#[test]
fn a_binary_that_merely_begins_like_zlib_is_no_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = vec![0x78, 0x9C, 0xFF, 0xFF, 0xFF, 0x00, 0x13, 0x37];
    bytes.extend((0..4000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8));
    std::fs::write(dir.path().join("data.bin"), bytes).unwrap();
    let run = anteater(dir.path()).args(&["--path", ".", "--no-sarif"]).run();
    assert_eq!(run.code, 0, "{}", run.all_output());
}

// A secret pasted into a commit message is in history for good: history scans inspect each
// message of the range.
#[test]
fn a_secret_in_a_commit_message_fails_history_scans() {
    let repo = Repo::new();
    repo.write("README.md", b"a project\n");
    let base = repo.commit("base");
    repo.write("app.py", b"print('hi')\n");
    repo.commit(&format!("deploy fix\n\nused GITHUB_TOKEN={TOKEN} to test it"));
    for args in [
        vec!["--history"],
        vec!["--diff", base.as_str()],
        vec!["--diff", &format!("{base}..HEAD")],
    ] {
        let run = scan(&repo, &args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.all_output());
        assert!(run.stdout.contains("COMMIT_MSG:3"), "{args:?}: {}", run.stdout);
        assert!(
            !run.all_output().contains(TOKEN),
            "{args:?}: the secret was printed"
        );
    }
    // A message that names a token's kind is no finding.
    let repo = Repo::new();
    repo.write("README.md", b"a project\n");
    repo.commit("rotate the GITHUB_TOKEN and the AWS keys");
    let run = scan(&repo, &["--history"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
}

// A secret used as a file or folder name is masked in the path every report shows.
#[test]
fn a_secret_in_a_file_name_is_masked_in_every_report() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(format!("tokens/{TOKEN}"))).unwrap();
    std::fs::write(
        dir.path().join(format!("tokens/{TOKEN}/notes.txt")),
        b"see the folder\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("keys")).unwrap();
    std::fs::write(dir.path().join(format!("keys/{AWS_KEY_ID}")), b"x\n").unwrap();
    let reports = tempfile::tempdir().unwrap();
    let at = |name: &str| reports.path().join(name).to_string_lossy().into_owned();
    let (sarif, junit, gitlab) = (at("a.sarif"), at("junit.xml"), at("gl.json"));
    let run = anteater(dir.path())
        .args(&[
            "--path",
            ".",
            "--sarif",
            &sarif,
            "--junit",
            &junit,
            "--gitlab-codequality",
            &gitlab,
        ])
        .run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(
        run.stdout.contains("tokens/ghp_… (redacted)/notes.txt"),
        "{}",
        run.stdout
    );
    let json = anteater(dir.path())
        .args(&["--path", ".", "--no-sarif", "--format", "json"])
        .run();
    let mut outputs = vec![run.all_output(), json.all_output()];
    for file in [&sarif, &junit, &gitlab] {
        outputs.push(std::fs::read_to_string(file).unwrap());
    }
    for output in outputs {
        assert!(!output.contains(TOKEN), "the token was printed:\n{output}");
        assert!(!output.contains(AWS_KEY_ID), "the key id was printed:\n{output}");
    }
}

// A CI script names a fixed path (`anteater src`); a change that makes it a committed link to a
// folder outside the repository is refused (exit 2), never followed. A link inside the
// repository, or one the user makes outside any repository, is theirs to give.
#[test]
fn a_committed_link_given_as_the_path_is_not_followed_outside() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("credentials"),
        format!("GITHUB_TOKEN={TOKEN}\n"),
    )
    .unwrap();
    let repo = Repo::new();
    repo.write("app/main.py", b"print('hi')\n");
    std::os::unix::fs::symlink(outside.path(), repo.path().join("src")).unwrap();
    std::os::unix::fs::symlink("app", repo.path().join("code")).unwrap();
    repo.commit("src is a link now");
    for args in [
        vec!["--path", "src", "--no-sarif"],
        vec!["src/credentials", "--no-sarif"],
    ] {
        let run = anteater(repo.path()).args(&args).run();
        assert_eq!(run.code, 2, "{args:?}: {}", run.all_output());
        assert!(
            run.stderr.contains("symbolic link the repository commits"),
            "{}",
            run.stderr
        );
        assert!(!run.all_output().contains(TOKEN));
    }
    let run = anteater(repo.path())
        .args(&["--path", "code", "--no-sarif"])
        .run();
    assert_eq!(run.code, 0, "{}", run.all_output());
}

// An exception of the lists waives what it matches, on a change's lines too (the lists are the
// repository's policy, read at the base). A marker-like exception lets a change write what it
// matches next to a secret: `--strict-waivers` shows such a waiver on an added line and fails.
#[test]
fn strict_waivers_show_an_exception_the_change_can_trigger() {
    let repo = Repo::new();
    repo.write(
        "ignore.yaml",
        b"file_audits:\n  file_contents:\n    - harmless-fixture\n",
    );
    let base = repo.commit("base");
    repo.write(
        "ci/env.sh",
        format!("GITHUB_TOKEN={TOKEN} # harmless-fixture\n").as_bytes(),
    );
    repo.commit("the change");
    let args = ["--ignore-list", "ignore.yaml", "--diff", base.as_str()];
    let lenient = scan(&repo, &args);
    assert_eq!(lenient.code, 0, "{}", lenient.all_output());
    let strict = scan(&repo, &[&args[..], &["--strict-waivers"]].concat());
    assert_eq!(strict.code, 1, "{}", strict.all_output());
    assert!(strict.stdout.contains("ci/env.sh:1"), "{}", strict.stdout);
    assert!(strict.stdout.contains("waiver-added"), "{}", strict.stdout);
    assert!(!strict.all_output().contains(TOKEN));
}

/// `text` in EBCDIC (code page 037), as `iconv -t IBM037` writes it.
fn ebcdic(text: &str) -> Vec<u8> {
    const LOWER: [u8; 26] = [
        0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98,
        0x99, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9,
    ];
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' => LOWER[usize::from(b - b'a')],
            b'A'..=b'Z' => LOWER[usize::from(b - b'A')] + 0x40,
            b'0'..=b'9' => 0xF0 + (b - b'0'),
            b' ' => 0x40,
            b'\n' => 0x25,
            b'_' => 0x6D,
            b'=' => 0x7E,
            b'#' => 0x7B,
            other => panic!("no EBCDIC for {other}"),
        })
        .collect()
}

// EBCDIC text (a mainframe source, or what `.gitattributes` `working-tree-encoding=IBM037` checks
// out while git stores UTF-8) is decoded by its bytes: a token in it fails every mode.
#[test]
fn a_secret_in_ebcdic_text_is_found_in_every_mode() {
    let text = format!("# deploy settings for the batch job\nGITHUB_TOKEN={TOKEN}\n");
    fails_everywhere(
        &[
            (".gitattributes", b"*.cfg working-tree-encoding=IBM037\n".to_vec()),
            ("jobs/deploy.cfg", ebcdic(&text)),
        ],
        "github-token",
        TOKEN,
    );
    fails_everywhere(&[("jobs/DEPLOY.JCL", ebcdic(&text))], "github-token", TOKEN);
}

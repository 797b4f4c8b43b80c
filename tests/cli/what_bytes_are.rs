//! Never a false pass, round three (issue 18): a file is what its bytes are, not what its first
//! bytes claim, and git hides nothing. Each case runs in every mode a user has (a tree scan,
//! `--staged`, `--diff BASE`, `--history`), since one inspector now serves them all: a case that
//! passed in one mode would be a second road to the checks.

use crate::common::{anteater, Run};
use crate::support::compress;
use crate::support::git_repo::GitRepo as Repo;

const TOKEN: &str = "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"; // fake-secret-for-tests
const AWS_KEY_ID: &str = "AKIAQYLPMN5HHHFPZAM2"; // fake-secret-for-tests

fn secret_text() -> String {
    format!("# deploy settings\nGITHUB_TOKEN={TOKEN}\nregion = eu-west-1\n")
}

/// A PEM private key: header, a body of random-looking base64, footer.
fn private_key() -> String {
    let mut key = String::from("-----BEGIN RSA PRIVATE KEY-----\n");
    for n in 0..20u32 {
        let line: String = (0..64u32)
            .map(|i| {
                let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
                alphabet[((n * 7919 + i * 104_729 + i * i * 31) % 64) as usize] as char
            })
            .collect();
        key.push_str(&line);
        key.push('\n');
    }
    key.push_str("-----END RSA PRIVATE KEY-----\n");
    key
}

fn scan(repo: &Repo, args: &[&str]) -> Run {
    let mut all = vec!["--path", ".", "--no-sarif"];
    all.extend_from_slice(args);
    anteater(repo.path()).args(&all).run()
}

/// Adds `files` on top of a base commit and scans the result in every mode: the working tree,
/// the index, the change since the base, and the history. Returns (mode, run) for each.
fn in_every_mode(files: &[(&str, Vec<u8>)], args: &[&str]) -> Vec<(&'static str, Run)> {
    let repo = Repo::new();
    repo.write("README.md", b"a project\n");
    let base = repo.commit("base");
    for (path, content) in files {
        repo.write(path, content);
    }
    let mut runs = vec![("tree", scan(&repo, args))];
    repo.git(&["add", "-A"]);
    runs.push(("--staged", scan(&repo, &[&["--staged"], args].concat())));
    repo.commit("the change");
    runs.push((
        "--diff",
        scan(&repo, &[&["--diff", base.as_str()], args].concat()),
    ));
    runs.push(("--history", scan(&repo, &[&["--history"], args].concat())));
    runs
}

/// Every mode fails the gate with a finding of `rule`, and prints no token (not even as the
/// file's name: reports show it masked).
fn fails_everywhere(files: &[(&str, Vec<u8>)], args: &[&str], rule: &str) {
    for (mode, run) in in_every_mode(files, args) {
        assert_eq!(run.code, 1, "{mode}: {}", run.all_output());
        assert!(
            run.stdout.contains(rule),
            "{mode}: no {rule} finding\n{}",
            run.all_output()
        );
        assert!(!run.all_output().contains(TOKEN), "{mode}: the token was printed");
    }
}

fn utf16(text: &str, little_endian: bool, bom: bool) -> Vec<u8> {
    let units = bom.then_some(0xfeff).into_iter().chain(text.encode_utf16());
    units
        .flat_map(|u: u16| {
            if little_endian {
                u.to_le_bytes()
            } else {
                u.to_be_bytes()
            }
        })
        .collect()
}

fn utf32(text: &str, little_endian: bool, bom: bool) -> Vec<u8> {
    let chars = bom.then_some('\u{feff}').into_iter().chain(text.chars());
    chars
        .flat_map(|c| {
            let u = c as u32;
            if little_endian {
                u.to_le_bytes()
            } else {
                u.to_be_bytes()
            }
        })
        .collect()
}

// Item 1: a byte-order mark taken on trust.
#[test]
fn plain_text_behind_a_utf16_byte_order_mark_is_still_searched() {
    for bom in [[0xff, 0xfe], [0xfe, 0xff]] {
        let mut bytes = bom.to_vec();
        bytes.extend(secret_text().repeat(3).as_bytes());
        fails_everywhere(&[("config/settings.txt", bytes)], &[], "github-token");
    }
}

#[test]
fn a_zip_behind_a_byte_order_mark_is_still_a_binary() {
    let mut bytes = vec![0xff, 0xfe];
    bytes.extend(b"PK\x03\x04\x14\x00\x00\x00\x08\x00\x21\x00\xb7\xac\xce\x34");
    bytes.extend((0..4000u32).map(|n| (n.wrapping_mul(2_654_435_761) >> 13) as u8));
    fails_everywhere(
        &[("dist/tool.zip", bytes)],
        &["--binaries"],
        "binary-not-allowlisted",
    );
}

// Item 1 and 2: text in UTF-16 and UTF-32, with a byte-order mark or without, either order.
#[test]
fn wide_text_in_every_form_is_decoded() {
    for little_endian in [true, false] {
        for bom in [true, false] {
            let text = secret_text();
            fails_everywhere(
                &[("win/utf16.ini", utf16(&text, little_endian, bom))],
                &[],
                "github-token",
            );
            fails_everywhere(
                &[("win/utf32.ini", utf32(&text, little_endian, bom))],
                &[],
                "github-token",
            );
        }
    }
}

// Item 3: text whose first bytes look binary.
#[test]
fn text_behind_a_binary_looking_prefix_is_still_searched() {
    let prefixes: [&[u8]; 3] = [b"%PDF-1.7\n", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\n", b"header\0\n"];
    for prefix in prefixes {
        let mut bytes = prefix.to_vec();
        bytes.extend(secret_text().as_bytes());
        fails_everywhere(&[("assets/notes.txt", bytes)], &[], "github-token");
    }
}

// Item 5: a multi-line secret across a window boundary.
#[test]
fn a_private_key_straddling_a_window_edge_is_found() {
    // Windows are 8 KiB with --max-file-size 1KiB: the header line ends a few bytes before the
    // first window's end, its body lies in the next.
    for slack in [1usize, 40, 300, 2100] {
        let mut text = String::new();
        while text.len() + 32 + slack < 8 * 1024 {
            text.push_str("filler = nothing to see here\n");
        }
        while text.len() + 32 < 8 * 1024 - slack {
            text.push('#');
        }
        text.push('\n');
        text.push_str(&private_key());
        fails_everywhere(
            &[("certs/server.txt", text.into_bytes())],
            &["--max-file-size", "1KiB"],
            "private-key-rsa",
        );
    }
}

// Item 7: a secret used as a file name.
#[test]
fn a_file_named_by_a_secret_is_reported() {
    fails_everywhere(
        &[(&format!("keys/{AWS_KEY_ID}"), b"x\n".to_vec())],
        &[],
        "aws-access-key-id",
    );
    fails_everywhere(
        &[(&format!("tokens/{TOKEN}.txt"), b"x\n".to_vec())],
        &[],
        "github-token",
    );
}

// Item 9: history does not skip what is over --max-file-size.
#[test]
fn a_large_file_added_and_deleted_inside_the_range_is_found() {
    let repo = Repo::new();
    repo.write("README.md", b"a project\n");
    let base = repo.commit("base");
    let mut big = "log line that is harmless\n".repeat(2000);
    big.push_str(&secret_text());
    repo.write("logs/big.log", big.as_bytes());
    repo.commit("add a big log");
    repo.remove("logs/big.log");
    repo.commit("remove it");
    for args in [vec!["--diff", base.as_str()], vec!["--history"]] {
        let run = scan(&repo, &[&args[..], &["--max-file-size", "1KiB"]].concat());
        assert_eq!(run.code, 1, "{args:?}: {}", run.all_output());
        assert!(
            run.stdout.contains("logs/big.log:2002"),
            "{args:?}: {}",
            run.stdout
        );
    }
}

// Item 10: a multi-line secret completed by the change.
#[test]
fn a_key_body_added_between_an_old_header_and_footer_belongs_to_the_change() {
    let repo = Repo::new();
    repo.write(
        "certs/server.key",
        b"# to be filled in\n-----BEGIN RSA PRIVATE KEY-----\n-----END RSA PRIVATE KEY-----\n",
    );
    let base = repo.commit("base: an empty key block");
    repo.write(
        "certs/server.key",
        format!("# to be filled in\n{}", private_key()).as_bytes(),
    );
    repo.commit("fill in the key");
    for args in [vec!["--diff", base.as_str()], vec!["--history"]] {
        let run = scan(&repo, &args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.all_output());
        assert!(run.stdout.contains("private-key-rsa"), "{args:?}: {}", run.stdout);
    }
    // An old key on unchanged lines of an edited file is not the change's.
    let base = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    repo.write(
        "certs/server.key",
        format!("# filled in\n{}", private_key()).as_bytes(),
    );
    repo.commit("edit the comment");
    let run = scan(&repo, &["--diff", &base]);
    assert_eq!(run.code, 0, "{}", run.all_output());
}

// Item 11: merges are commits like any other.
#[test]
fn a_secret_introduced_by_a_merge_and_deleted_later_is_found() {
    let repo = Repo::new();
    repo.write("app.py", b"print('hello')\n");
    let base = repo.commit("base");
    repo.git(&["checkout", "-q", "-b", "side"]);
    repo.write("side.py", b"print('side')\n");
    repo.commit("side work");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("app.py", b"print('hello')\nprint('main')\n");
    repo.commit("main work");
    repo.git(&["merge", "-q", "--no-ff", "--no-commit", "side"]);
    repo.write("evil.env", secret_text().as_bytes());
    repo.write(
        "app.py",
        format!("print('hello')\nprint('main')\n# {TOKEN}\n").as_bytes(),
    );
    repo.commit("merge side");
    repo.remove("evil.env");
    repo.write("app.py", b"print('hello')\nprint('main')\n");
    repo.commit("clean up");
    for args in [vec!["--diff", base.as_str()], vec!["--history"]] {
        let run = scan(&repo, &args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.all_output());
        assert!(run.stdout.contains("evil.env:2"), "{args:?}: {}", run.stdout);
        assert!(run.stdout.contains("app.py:3"), "{args:?}: {}", run.stdout);
    }
    // What the side branch brought in unchanged is not the merge's own.
    let run = scan(&repo, &["--history"]);
    assert_eq!(run.finding_lines().len(), 2, "{}", run.all_output());
}

// Item 12: patch text cannot steer the parser.
#[test]
fn an_added_line_that_reads_like_a_file_header_does_not_hide_later_lines() {
    let repo = Repo::new();
    let lines: Vec<String> = (1..=12).map(|n| format!("line {n}")).collect();
    repo.write("notes.txt", format!("{}\n", lines.join("\n")).as_bytes());
    let base = repo.commit("base");
    let mut changed = lines.clone();
    changed.insert(2, "++ b/elsewhere.txt".to_string());
    changed.insert(10, format!("GITHUB_TOKEN={TOKEN}"));
    repo.write("notes.txt", format!("{}\n", changed.join("\n")).as_bytes());
    repo.git(&["add", "-A"]);
    let run = scan(&repo, &["--staged"]);
    assert_eq!(run.code, 1, "--staged: {}", run.all_output());
    assert!(run.stdout.contains("notes.txt:11"), "{}", run.stdout);
    repo.commit("change");
    let run = scan(&repo, &["--diff", &base]);
    assert_eq!(run.code, 1, "--diff: {}", run.all_output());
    assert!(run.stdout.contains("notes.txt:11"), "{}", run.stdout);
}

fn tar_gz_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    compress::gzip(&compress::tar(files))
}

// Item 6: archives are looked into, nested, with bounds.
#[test]
fn secrets_inside_archives_are_found_and_named_by_their_place_inside() {
    let env = format!("GITHUB_TOKEN={TOKEN}\n");
    let key = private_key();
    let jar = compress::zip(&[
        ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n"),
        (".env", env.as_bytes()),
        ("keys/id_rsa", key.as_bytes()),
    ]);
    fails_everywhere(&[("libs/app.jar", jar.clone())], &[], "app.jar!/.env:1");
    fails_everywhere(&[("libs/app.jar", jar.clone())], &[], "app.jar!/keys/id_rsa:1");
    // A jar inside a tar.gz inside a zip.
    let tgz = tar_gz_of(&[("lib/app.jar", &jar)]);
    let outer = compress::zip(&[("release.tgz", &tgz)]);
    fails_everywhere(
        &[("dist/bundle.zip", outer)],
        &[],
        "dist/bundle.zip!/release.tgz!/release.tar!/lib/app.jar!/.env:1",
    );
}

#[test]
fn an_archive_bomb_stops_the_scan_with_a_clear_message() {
    let zeros = vec![0u8; 64 << 20];
    let bomb = compress::zip(&[("zeros.bin", &zeros)]);
    assert!(bomb.len() < 1 << 20);
    let repo = Repo::new();
    repo.write("dist/bomb.zip", &bomb);
    let run = scan(&repo, &[]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(
        run.stderr.contains("dist/bomb.zip") && run.stderr.contains("archive bomb"),
        "{}",
        run.all_output()
    );
}

// Item 4: secrets escaped inside strings.
#[test]
fn secrets_inside_escaped_strings_are_found() {
    // A PEM key in a notebook's JSON strings, with `\n` escapes.
    let key = private_key();
    let source: Vec<String> = key.lines().map(|line| format!("    \"{line}\\n\",")).collect();
    let notebook = format!(
        "{{\n \"cells\": [\n  {{\n   \"cell_type\": \"code\",\n   \"source\": [\n    \"key = '''\\n\",\n{}\n    \"'''\"\n   ]\n  }}\n ]\n}}\n",
        source.join("\n")
    );
    fails_everywhere(
        &[("notebooks/setup.ipynb", notebook.into_bytes())],
        &[],
        "private-key-rsa",
    );
    // A secret key assigned inside a JSON document kept as an escaped string.
    let escaped = "{\"config\": \"{\\\"aws_secret_access_key\\\": \\\"wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq9Ld8Wq3x\\\"}\"}\n"; // fake-secret-for-tests
    fails_everywhere(
        &[("settings/escaped.json", escaped.as_bytes().to_vec())],
        &[],
        "aws-secret-access-key",
    );
}

// Item 14: anteater's own folder at the base does not hide what a change adds there.
#[test]
fn a_file_a_change_adds_under_anteaters_own_folder_is_scanned() {
    let repo = Repo::new();
    repo.write(
        "anteater.conf",
        b"[config]\nanteater_files = .anteater/\nignore_list = .anteater/ignore.yaml\n",
    );
    repo.write(".anteater/ignore.yaml", b"file_ignore: []\n");
    repo.write("app.py", b"print('hi')\n");
    let base = repo.commit("base");
    repo.write(".anteater/deploy.env", secret_text().as_bytes());
    repo.commit("a secret under anteater's folder");
    for args in [vec!["--diff", base.as_str()], vec!["--history"]] {
        let run = scan(&repo, &args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.all_output());
        assert!(
            run.stdout.contains(".anteater/deploy.env:2"),
            "{args:?}: {}",
            run.stdout
        );
        // The file anteater reads as configuration is still its own.
        assert!(
            !run.stdout.contains(".anteater/ignore.yaml:"),
            "{args:?}: {}",
            run.stdout
        );
    }
}

// Item 6, attacked again: nesting past the depth bound is not a way around the archive check.
#[test]
fn an_archive_nested_past_the_depth_bound_is_not_inspected_and_says_so() {
    let mut nested = compress::zip(&[(".env", format!("GITHUB_TOKEN={TOKEN}\n").as_bytes())]);
    for level in 0..6 {
        nested = compress::zip(&[(&format!("level{level}.zip"), &nested)]);
    }
    let repo = Repo::new();
    repo.write("dist/deep.zip", &nested);
    let run = scan(&repo, &[]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(
        run.stderr.contains("dist/deep.zip") && run.stderr.contains("nested"),
        "{}",
        run.all_output()
    );
}

// Item 3, attacked again: a binary whose bytes are skipped for its size is named, like text.
#[test]
fn a_binary_over_the_size_cap_is_skipped_only_as_oversize_says() {
    let mut binary = vec![0u8; 64 * 1024];
    binary[..4].copy_from_slice(b"\x7fELF");
    let line = format!("GITHUB_TOKEN={TOKEN}");
    binary[40_000..40_000 + line.len()].copy_from_slice(line.as_bytes());
    let repo = Repo::new();
    repo.write("bin/tool", &binary);
    let run = scan(&repo, &["--max-file-size", "1KiB"]);
    assert_eq!(run.code, 1, "scanned in windows: {}", run.all_output());
    let run = scan(&repo, &["--max-file-size", "1KiB", "--oversize", "fail"]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(run.stderr.contains("bin/tool: skipped"), "{}", run.all_output());
    let run = scan(&repo, &["--max-file-size", "1KiB", "--oversize", "warn"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(run.stderr.contains("bin/tool: skipped"), "{}", run.all_output());
}

// Item 4, attacked again: an assignment with spaces inside an escaped string.
#[test]
fn a_password_assigned_inside_an_escaped_string_is_found() {
    let escaped = "run(\"export DB_PASSWORD = \\\"Zq8!vLx2Wm7#kP\\\"\")\n"; // fake-secret-for-tests
    fails_everywhere(
        &[("deploy/run.py", escaped.as_bytes().to_vec())],
        &[],
        "hardcoded-password",
    );
}

/// The tar in two lz4 frames, its first block (the first member's header) in one, the rest (the
/// secret) in the next: a decoder that stops after one frame passes it.
fn lz4_two_frames(bytes: &[u8]) -> Vec<u8> {
    let mut out = compress::lz4(&bytes[..512]);
    out.extend(compress::lz4(&bytes[512..]));
    out
}

// Item 6, attacked again: tar.gz is not the only compressed tar. xz, bzip2, zstd and lz4 streams
// are opened by their bytes, whatever the file is called, in every mode.
#[test]
fn secrets_inside_xz_bzip2_zstd_and_lz4_archives_are_found() {
    let env = format!("GITHUB_TOKEN={TOKEN}\n");
    let files: &[(&str, &[u8])] = &[("conf/.env", env.as_bytes())];
    for (name, compress_with) in [
        ("release.tar.xz", compress::xz as fn(&[u8]) -> Vec<u8>),
        ("release.tar.bz2", compress::bzip2),
        ("release.tar.zst", compress::zstd),
        ("release.tar.lz4", lz4_two_frames),
    ] {
        let archive = compress_with(&compress::tar(files));
        fails_everywhere(
            &[(&format!("dist/{name}"), archive)],
            &[],
            &format!("dist/{name}!/release.tar!/conf/.env:1"),
        );
    }
    // A compressed file that is not a tar, under a name that says nothing.
    fails_everywhere(
        &[("dist/blob", compress::zstd(env.as_bytes()))],
        &[],
        "dist/blob!/blob:1",
    );
}

// Item 6, attacked again: a format anteater cannot open is never passed in silence.
#[test]
fn an_archive_anteater_cannot_open_is_named_and_blocked_by_binaries() {
    let mut rar = b"Rar!\x1a\x07\x01\x00".to_vec();
    rar.extend((0..4096u32).map(|n| (n.wrapping_mul(2_654_435_761) >> 24) as u8));
    let repo = Repo::new();
    repo.write("vendor/tools.rar", &rar);
    let run = anteater(repo.path())
        .args(&["--path", ".", "--format", "json"])
        .run();
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(
        run.stderr
            .contains("vendor/tools.rar: a RAR archive, which anteater does not open"),
        "{}",
        run.all_output()
    );
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(json["problems"]["not_opened"][0]["path"], "vendor/tools.rar");
    assert_eq!(json["problems"]["not_opened"][0]["format"], "RAR");
    let notes = run.sarif.as_ref().expect("SARIF")["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .to_string();
    assert!(notes.contains("A RAR archive, not opened"), "{notes}");
    let blocked = scan(&repo, &["--binaries"]);
    assert_eq!(blocked.code, 1, "{}", blocked.all_output());
    assert!(
        blocked.stdout.contains("vendor/tools.rar"),
        "{}",
        blocked.all_output()
    );
}

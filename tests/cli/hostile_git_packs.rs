//! What git hides: a repository committed as a fixture (a bare repository, a `.git` folder)
//! keeps its objects in pack files, each a zlib stream behind a header, many of them deltas
//! against another object. A secret committed inside such a repository passed the gate. Each
//! pack here is made by git itself, then committed into the scanned tree; every object is
//! reported at its place, `pack-<id>.pack!/blob-<id>/<path>`, in every mode; a broken pack or a pack
//! bomb is exit 2, never exit 0. Each case failed before, except the two that check nothing is
//! made up: a file that merely begins with `PACK`, and a clean packed repository.

use std::path::{Path, PathBuf};

use crate::common::{anteater, Run};
use crate::support::every_mode::in_every_mode;
use crate::support::git_repo::{git_in, GitRepo as Repo};
use crate::support::seeded::github_token;

/// An AWS access key id, made at run time.
fn aws_key_id() -> String {
    format!("AKIA{}", "QYLPMN5HHHFPZAM2")
}

/// A text file of `lines` numbered lines: deltas between its versions are small.
fn long_file(lines: usize) -> String {
    (1..=lines)
        .map(|n| format!("setting_{n} = value of line {n}, padded to look like configuration\n"))
        .collect()
}

/// The same file with `line` put in after its first half.
fn with_line_inside(lines: usize, line: &str) -> String {
    let text = long_file(lines);
    let cut = text.match_indices('\n').nth(lines / 2).unwrap().0 + 1;
    format!("{}{line}\n{}", &text[..cut], &text[cut..])
}

/// A pack git wrote, and what `git verify-pack -v` says of its objects.
struct Pack {
    bytes: Vec<u8>,
    file_name: String,
    objects: Vec<Object>,
}

/// One line of `git verify-pack -v`: the object's id, type, offset in the pack and, for a
/// delta, its base's id.
#[derive(Debug)]
struct Object {
    id: String,
    kind: String,
    offset: usize,
    base: Option<String>,
}

impl Pack {
    /// The pack `base-name-<id>.pack` beside its index in `dir`.
    fn read(dir: &Path, idx: &Path) -> Pack {
        let pack = idx.with_extension("pack");
        let listing = git_in(dir, &["verify-pack", "-v", idx.to_str().unwrap()]);
        let objects = listing
            .lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let kinds = ["blob", "tree", "commit", "tag"];
                (fields.len() >= 5 && kinds.contains(&fields[1])).then(|| Object {
                    id: fields[0].to_string(),
                    kind: fields[1].to_string(),
                    offset: fields[4].parse().unwrap(),
                    base: fields.get(6).map(|base| base.to_string()),
                })
            })
            .collect();
        Pack {
            bytes: std::fs::read(&pack).unwrap(),
            file_name: pack.file_name().unwrap().to_str().unwrap().to_string(),
            objects,
        }
    }

    fn object(&self, id: &str) -> &Object {
        self.objects
            .iter()
            .find(|object| object.id == id)
            .unwrap_or_else(|| panic!("{id} is not in the pack: {:?}", self.objects))
    }

    /// The type code in the header of the entry at `offset` (6 OFS_DELTA, 7 REF_DELTA).
    fn entry_type(&self, offset: usize) -> u8 {
        (self.bytes[offset] >> 4) & 7
    }

    /// Where the pack sits in the scanned tree: inside a bare repository kept as a fixture.
    fn path(&self) -> String {
        format!("fixtures/repo.git/objects/pack/{}", self.file_name)
    }
}

/// Everything in the repository packed whole again by `git repack -adf` with `args`.
fn repack(repo: &Repo, args: &[&str]) -> Pack {
    let mut all = vec!["repack", "-adf", "-q"];
    all.extend_from_slice(args);
    repo.git(&all);
    let dir = repo.path().join(".git/objects/pack");
    Pack::read(repo.path(), &only_with_extension(&dir, "idx"))
}

fn only_with_extension(dir: &Path, extension: &str) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == extension))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found.into_iter().next().unwrap()
}

/// A repository whose first commit holds `conf.txt` with `secret_line` inside it, and whose
/// second commit makes the file longer and drops the line: git deltifies the smaller, older
/// version against the newer one, so the secret is only in a delta.
fn secret_only_in_history(secret_line: &str) -> (Repo, String) {
    let repo = Repo::new();
    repo.write("conf.txt", with_line_inside(300, secret_line).as_bytes());
    repo.commit("add the configuration");
    let secret_blob = repo.git(&["rev-parse", "HEAD:conf.txt"]).trim().to_string();
    repo.write("conf.txt", long_file(360).as_bytes());
    repo.commit("drop the key, add settings");
    (repo, secret_blob)
}

/// Every mode (tree, `--patchset`, `--staged`, `--diff`, `--history`) fails with a finding of `rule` at
/// `place` and never prints `secret`.
fn found_everywhere(files: &[(&str, Vec<u8>)], rule: &str, place: &str, secret: &str) {
    for (mode, run) in in_every_mode(files) {
        assert_eq!(run.code, 1, "{mode}: {}", run.all_output());
        assert!(
            run.finding_lines()
                .iter()
                .any(|line| line.contains(place) && line.contains(rule)),
            "{mode}: no {rule} finding at {place}\n{}",
            run.all_output()
        );
        assert!(
            !run.all_output().contains(secret),
            "{mode}: the secret was printed"
        );
    }
}

/// A tree scan of a folder holding `files`.
fn scan_tree(files: &[(&str, &[u8])]) -> Run {
    let dir = crate::common::tree(files);
    anteater(dir.path()).args(&["--path", ".", "--no-sarif"]).run()
}

#[test]
fn a_secret_in_a_packed_blob_is_found_in_every_mode_and_named_by_its_id() {
    let key = aws_key_id();
    let repo = Repo::new();
    repo.write(
        "deploy/env.sh",
        format!("export AWS_ACCESS_KEY_ID={key}\n").as_bytes(),
    );
    repo.commit("deploy script");
    let blob = repo.git(&["rev-parse", "HEAD:deploy/env.sh"]).trim().to_string();
    let pack = repack(&repo, &[]);
    assert_eq!(pack.object(&blob).kind, "blob");
    let place = format!("{}!/blob-{blob}/deploy/env.sh:1", pack.path());
    found_everywhere(
        &[(&pack.path(), pack.bytes.clone())],
        "aws-access-key-id",
        &place,
        &key,
    );

    // --patchset reads the listed files through the same inspector.
    let dir = crate::common::tree(&[(&pack.path(), &pack.bytes)]);
    std::fs::write(dir.path().join("changes.txt"), format!("{}\n", pack.path())).unwrap();
    let run = anteater(dir.path())
        .args(&["--path", ".", "--no-sarif", "--patchset", "changes.txt"])
        .run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(run.stdout.contains(&place), "{}", run.all_output());
}

#[test]
fn a_secret_only_in_an_offset_delta_is_found_in_every_mode() {
    let token = github_token(41);
    let (repo, secret_blob) = secret_only_in_history(&format!("GITHUB_TOKEN={token}"));
    let pack = repack(&repo, &["--depth=50", "--window=10"]);
    let object = pack.object(&secret_blob);
    assert!(object.base.is_some(), "not a delta: {object:?}");
    assert_eq!(pack.entry_type(object.offset), 6, "not an OFS_DELTA");
    let place = format!("{}!/blob-{secret_blob}/conf.txt:", pack.path());
    found_everywhere(
        &[(&pack.path(), pack.bytes.clone())],
        "github-token",
        &place,
        &token,
    );
}

#[test]
fn a_secret_only_in_a_ref_delta_is_found() {
    let token = github_token(42);
    let (repo, secret_blob) = secret_only_in_history(&format!("GITHUB_TOKEN={token}"));
    // `git pack-objects` without --delta-base-offset names each base by its id.
    let base_name = repo.path().join(".git/by-id");
    let objects = repo.git(&["rev-list", "--objects", "--all"]);
    let written = std::process::Command::new("git")
        .arg("-C")
        .arg(repo.path())
        .args(["pack-objects", "-q", "--window=10", "--depth=50"])
        .arg(&base_name)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(objects.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    let id = String::from_utf8(written.stdout).unwrap().trim().to_string();
    let pack = Pack::read(repo.path(), &repo.path().join(format!(".git/by-id-{id}.idx")));
    let object = pack.object(&secret_blob);
    assert!(object.base.is_some(), "not a delta: {object:?}");
    assert_eq!(pack.entry_type(object.offset), 7, "not a REF_DELTA");
    let run = scan_tree(&[(&pack.path(), &pack.bytes)]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    let place = format!("{}!/blob-{secret_blob}/conf.txt:", pack.path());
    assert!(run.stdout.contains(&place), "{}", run.all_output());
    assert!(!run.all_output().contains(&token));
}

#[test]
fn what_a_delta_against_a_missing_base_inserts_is_still_searched() {
    let token = github_token(43);
    let repo = Repo::new();
    repo.write("conf.txt", long_file(300).as_bytes());
    repo.commit("configuration");
    repo.write(
        "conf.txt",
        with_line_inside(300, &format!("GITHUB_TOKEN={token}")).as_bytes(),
    );
    repo.commit("add the token");
    // A thin pack, as a push sends: the new version is a delta against the old one, which the
    // pack leaves out.
    let thin = std::process::Command::new("git")
        .arg("-C")
        .arg(repo.path())
        .args(["pack-objects", "--revs", "--thin", "--stdout", "-q"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b"HEAD\n^HEAD~1\n")?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(thin.status.success());
    let path = "fixtures/push.pack";
    let run = scan_tree(&[(path, &thin.stdout)]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(
        run.finding_lines().iter().any(
            |line| line.contains(&format!("{path}!/inserted-by-delta-")) && line.contains("github-token")
        ),
        "{}",
        run.all_output()
    );
    assert!(!run.all_output().contains(&token));
}

#[test]
fn a_token_in_a_packed_commit_message_is_found() {
    let token = github_token(44);
    let repo = Repo::new();
    repo.write("README.md", b"a project\n");
    let commit = repo.commit(&format!("deploy fix\n\nused GITHUB_TOKEN={token} to test it"));
    let pack = repack(&repo, &[]);
    assert_eq!(pack.object(&commit).kind, "commit");
    let run = scan_tree(&[(&pack.path(), &pack.bytes)]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    let place = format!("{}!/commit-{commit}:", pack.path());
    assert!(run.stdout.contains(&place), "{}", run.all_output());
}

#[test]
fn a_truncated_or_corrupt_pack_is_a_clear_error() {
    let (repo, _) = secret_only_in_history(&format!("GITHUB_TOKEN={}", github_token(45)));
    let pack = repack(&repo, &[]);
    let cut = &pack.bytes[..pack.bytes.len() / 2];
    let run = scan_tree(&[("repo.git/objects/pack/pack-1.pack", cut)]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(
        run.stderr.contains("pack-1.pack") && run.stderr.contains("is cut short"),
        "{}",
        run.all_output()
    );
    // A byte changed inside the largest object's stream.
    let mut corrupt = pack.bytes.clone();
    let largest = pack
        .objects
        .iter()
        .find(|o| o.base.is_none() && o.kind == "blob")
        .unwrap();
    corrupt[largest.offset + 200] ^= 0x55;
    let run = scan_tree(&[("repo.git/objects/pack/pack-2.pack", &corrupt)]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(
        run.stderr.contains("pack-2.pack") && run.stderr.contains("a git pack whose object"),
        "{}",
        run.all_output()
    );
}

/// An entry's header: its type and size, four bits then seven a byte.
fn entry_header(kind: u8, size: u64) -> Vec<u8> {
    let mut header = vec![(kind << 4) | (size & 0x0F) as u8];
    let mut rest = size >> 4;
    while rest > 0 {
        *header.last_mut().unwrap() |= 0x80;
        header.push((rest & 0x7F) as u8);
        rest >>= 7;
    }
    header
}

/// A size in a delta: seven bits a byte.
fn delta_size(mut size: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (size & 0x7F) as u8;
        size >>= 7;
        if size == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// A pack of hand-made entries, with its SHA-1 trailer.
fn pack_of(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut pack = b"PACK\0\0\0\x02".to_vec();
    pack.extend((entries.len() as u32).to_be_bytes());
    for entry in entries {
        pack.extend(entry);
    }
    let checksum = sha1_smol::Sha1::from(&pack).digest().bytes();
    pack.extend(checksum);
    pack
}

fn zlib(bytes: &[u8]) -> Vec<u8> {
    crate::support::compress::zlib(bytes)
}

/// A blob entry whose header says `size`, holding `bytes`.
fn blob_entry(size: u64, bytes: &[u8]) -> Vec<u8> {
    [entry_header(3, size), zlib(bytes)].concat()
}

/// An OFS_DELTA entry against the entry `distance` bytes before it (a distance under 128).
fn delta_entry(distance: u8, delta: &[u8]) -> Vec<u8> {
    assert!(distance < 128);
    [entry_header(6, delta.len() as u64), vec![distance], zlib(delta)].concat()
}

#[test]
fn a_pack_bomb_is_exit_2_with_a_clear_message_and_fast() {
    let started = std::time::Instant::now();
    // A header that claims a terabyte.
    let claims = pack_of(&[blob_entry(1 << 40, b"small")]);
    // An object that inflates 8 MiB from a few kilobytes.
    let zeros = vec![0u8; 8 << 20];
    let inflates = pack_of(&[blob_entry(zeros.len() as u64, &zeros)]);
    // A delta whose target claims a terabyte.
    let base = blob_entry(5, b"hello");
    let huge_target = [
        delta_size(5),
        delta_size(1 << 40),
        vec![5, b'w', b'o', b'r', b'l', b'd'],
    ]
    .concat();
    let target_claims = pack_of(&[base.clone(), delta_entry(base.len() as u8, &huge_target)]);
    // A delta that copies a 64 KiB base 768 times: 48 MiB from a kilobyte (a copy of size 0 is
    // 64 KiB, one byte an instruction).
    let wide = vec![b'a'; 0x10000];
    let wide_base = blob_entry(wide.len() as u64, &wide);
    let copies = [delta_size(0x10000), delta_size(768 * 0x10000), vec![0x80; 768]].concat();
    assert!(wide_base.len() < 128);
    let copied = pack_of(&[wide_base.clone(), delta_entry(wide_base.len() as u8, &copies)]);
    for (name, pack, says) in [
        (
            "claims.pack",
            claims,
            "claims 1099511627776 bytes, past --max-file-size",
        ),
        ("inflates.pack", inflates, "archive bomb"),
        (
            "target.pack",
            target_claims,
            "claims 1099511627776 bytes, past --max-file-size",
        ),
        ("copies.pack", copied, "archive bomb"),
    ] {
        let run = scan_tree(&[(name, &pack)]);
        assert_eq!(run.code, 2, "{name}: {}", run.all_output());
        assert!(
            run.stderr.contains(name) && run.stderr.contains(says),
            "{name}: {}",
            run.all_output()
        );
    }
    assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
}

// Bytes that only begin like a pack are an ordinary binary: searched as they are, no error.
#[test]
fn a_file_that_merely_begins_with_pack_is_scanned_as_it_is() {
    let token = github_token(46);
    let mut bytes = b"PACK\0\0\0\x02\0\0\0\x03\x50\0\x01".to_vec();
    bytes.extend(format!("\nGITHUB_TOKEN={token}\n").bytes());
    bytes.extend((0..2000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8));
    let run = scan_tree(&[("data/blob.bin", &bytes)]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(
        run.finding_lines()
            .iter()
            .any(|line| line.starts_with("data/blob.bin:") && line.contains("github-token")),
        "{}",
        run.all_output()
    );
    let clean = [&b"PACK\0\0\0\x03\0\0\0\x01"[..], &[0x30, 0x12, 0x34, 0x00]].concat();
    let run = scan_tree(&[("data/clean.bin", &clean)]);
    assert_eq!(run.code, 0, "{}", run.all_output());
}

// A packed repository with no secret raises nothing: commit and tree objects (ids, modes,
// names) are no findings.
// A file a file-name rule blocks (a shell history, a key store) is one inside a packed
// repository too: its blob is named by the path its tree gives it, in every commit that had it,
// renamed or not.
#[test]
fn a_file_name_rule_blocks_a_file_inside_a_packed_repository_in_every_mode() {
    let repo = Repo::new();
    repo.write("home/ops/.bash_history", b"ls -la\ncd /srv/app\nmake deploy\n");
    repo.write("src/main.rs", b"fn main() {}\n");
    repo.commit("first");
    repo.git(&["mv", "home/ops/.bash_history", "home/ops/.zsh_history"]);
    repo.commit("rename");
    let blob = repo
        .git(&["rev-parse", "HEAD:home/ops/.zsh_history"])
        .trim()
        .to_string();
    let pack = repack(&repo, &[]);
    // Outside test paths, where a shell history is an error.
    let at = format!("ops/backup.git/objects/pack/{}", pack.file_name);
    for (mode, run) in in_every_mode(&[(&at, pack.bytes.clone())]) {
        assert_eq!(run.code, 1, "{mode}: {}", run.all_output());
        for path in ["home/ops/.bash_history", "home/ops/.zsh_history"] {
            let place = format!("{at}!/blob-{blob}/{path}:1");
            assert!(
                run.finding_lines()
                    .iter()
                    .any(|line| line.contains(&place) && line.contains("file-name-shell-history")),
                "{mode}: no finding at {place}\n{}",
                run.all_output()
            );
        }
    }
}

#[test]
fn a_clean_packed_repository_raises_nothing() {
    let repo = Repo::new();
    repo.write("src/main.rs", b"fn main() {\n    println!(\"hello\");\n}\n");
    repo.write("README.md", long_file(200).as_bytes());
    repo.commit("first");
    repo.write("README.md", long_file(220).as_bytes());
    repo.git(&["tag", "-a", "v1", "-m", "release 1"]);
    repo.commit("second");
    let pack = repack(&repo, &[]);
    let run = scan_tree(&[(&pack.path(), &pack.bytes)]);
    assert_eq!(run.code, 0, "{}", run.all_output());
}

// A repository made with `--object-format=sha256` names objects, and delta bases, by SHA-256.
#[test]
fn a_secret_in_a_sha256_repositorys_pack_is_named_by_its_sha256_id() {
    let key = aws_key_id();
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| git_in(dir.path(), args);
    git(&["init", "-q", "--object-format=sha256", "-b", "main"]);
    git(&["config", "user.email", "test@example.org"]);
    git(&["config", "user.name", "Test"]);
    git(&["config", "commit.gpgsign", "false"]);
    let write = |text: String| std::fs::write(dir.path().join("conf.txt"), text).unwrap();
    write(with_line_inside(300, &format!("AWS_ACCESS_KEY_ID={key}")));
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "one"]);
    let secret_blob = git(&["rev-parse", "HEAD:conf.txt"]).trim().to_string();
    assert_eq!(secret_blob.len(), 64);
    write(long_file(360));
    git(&["commit", "-q", "-a", "-m", "two"]);
    git(&["repack", "-adf", "-q"]);
    let pack = Pack::read(
        dir.path(),
        &only_with_extension(&dir.path().join(".git/objects/pack"), "idx"),
    );
    assert!(pack.object(&secret_blob).base.is_some(), "not a delta");
    let run = scan_tree(&[(&pack.path(), &pack.bytes)]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    let place = format!("{}!/blob-{secret_blob}/conf.txt:", pack.path());
    assert!(run.stdout.contains(&place), "{}", run.all_output());
}

// A pack is read whole to resolve its deltas: over --max-file-size it cannot be scanned in
// windows, so it is exit 2 saying so, or skipped as --oversize asks; never passed in silence.
#[test]
fn a_pack_over_the_size_cap_is_never_passed_silently() {
    let (repo, _) = secret_only_in_history(&format!("GITHUB_TOKEN={}", github_token(47)));
    let pack = repack(&repo, &[]);
    assert!(pack.bytes.len() > 1024);
    let dir = crate::common::tree(&[(&pack.path(), &pack.bytes)]);
    let scan = |args: &[&str]| {
        let mut all = vec!["--path", ".", "--no-sarif", "--max-file-size", "1KiB"];
        all.extend_from_slice(args);
        anteater(dir.path()).args(&all).run()
    };
    let run = scan(&[]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(
        run.stderr.contains("raise --max-file-size to open it"),
        "{}",
        run.all_output()
    );
    let run = scan(&["--oversize", "fail"]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    let run = scan(&["--oversize", "warn"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(run.stderr.contains(&pack.path()), "{}", run.all_output());
}

//! Mode equivalence (issue 17): one inspector serves every mode, so the modes may differ only in
//! which versions and which lines are new. Random repositories are built (files in the encodings
//! anteater reads, secrets planted and removed by random commits, renames, deletions,
//! re-encodings), and each mode's findings are compared with what a model of the repository says
//! it must report: a tree scan every secret present, `--history` every secret at the commit that
//! wrote its line, `--diff BASE` the same for the range (net change merged in), `--staged` the
//! secrets the index adds. An old secret on an unchanged line of an edited (or re-encoded, or
//! renamed) file is nobody's.
//!
//! Seeded: a failure names its seed, and `ANTEATER_EQUIVALENCE_SEED=N` replays it.
//! `ANTEATER_EQUIVALENCE_CASES` sets how many cases run (60 by default; `.ci/run` runs 300).
//! Cases run ten to a repository (see `check_batch`): a mode runs once per batch, not once per
//! case, which made a case about seven times cheaper (60 cases: 362 s wall, 130 s CPU before;
//! 50 s wall, 19 s CPU after, on 2 shared cores).

use std::collections::BTreeSet;

use crate::common::anteater;
use crate::support::git_repo::GitRepo as Repo;
use crate::support::seeded::{github_token, locations, seeds, Rng};

const DEFAULT_CASES: u64 = 60;
/// Cases that share one repository and one run of each mode (see [`check_batch`]).
const BATCH: usize = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Utf16LeBom,
    Utf16Be,
    Utf32LeBom,
}

const ENCODINGS: [Encoding; 4] = [
    Encoding::Utf8,
    Encoding::Utf16LeBom,
    Encoding::Utf16Be,
    Encoding::Utf32LeBom,
];

impl Encoding {
    fn encode(self, text: &str) -> Vec<u8> {
        match self {
            Encoding::Utf8 => text.as_bytes().to_vec(),
            Encoding::Utf16LeBom => [0xff, 0xfe]
                .into_iter()
                .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
                .collect(),
            Encoding::Utf16Be => text.encode_utf16().flat_map(u16::to_be_bytes).collect(),
            Encoding::Utf32LeBom => [0xff, 0xfe, 0, 0]
                .into_iter()
                .chain(text.chars().flat_map(|c| (c as u32).to_le_bytes()))
                .collect(),
        }
    }
}

/// A line of a modelled file: filler, or a planted secret (by its number).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Line {
    Filler(u64),
    Secret(u64),
}

#[derive(Clone, Debug)]
struct File {
    path: String,
    encoding: Encoding,
    lines: Vec<Line>,
    /// Renamed or re-encoded since the base: it may not be both, or git's rename detection
    /// (which compares bytes) would see a deletion and an addition.
    renamed: bool,
    reencoded: bool,
}

impl File {
    fn text(&self) -> String {
        let mut text = String::new();
        for line in &self.lines {
            match line {
                Line::Filler(n) => text.push_str(&format!("setting_{n} = plain value number {n}\n")),
                Line::Secret(n) => text.push_str(&format!("TOKEN_{n} = \"{}\"\n", github_token(*n))),
            }
        }
        text
    }

    /// (path:line) of each secret in this version.
    fn secrets(&self) -> impl Iterator<Item = (u64, String)> + '_ {
        self.lines
            .iter()
            .enumerate()
            .filter_map(|(index, line)| match line {
                Line::Secret(n) => Some((*n, format!("{}:{}", self.path, index + 1))),
                Line::Filler(_) => None,
            })
    }
}

/// The repository as the model sees it, and the counters that keep lines unique.
struct Model {
    files: Vec<File>,
    next_line: u64,
    next_file: u64,
    /// The case's folder: every path of the case starts with it.
    prefix: String,
}

/// What one change did: the secrets it wrote, where (path:line in the new version).
type Written = Vec<(u64, String)>;

impl Model {
    fn fresh_line(&mut self, rng: &mut Rng) -> Line {
        self.next_line += 1;
        if rng.below(4) == 0 {
            Line::Secret(self.next_line)
        } else {
            Line::Filler(self.next_line)
        }
    }

    fn new_file(&mut self, rng: &mut Rng, lines: usize) -> File {
        self.next_file += 1;
        let lines = (0..lines).map(|_| self.fresh_line(rng)).collect();
        File {
            path: format!(
                "{}dir{}/file{}.txt",
                self.prefix,
                self.next_file % 3,
                self.next_file
            ),
            encoding: ENCODINGS[rng.below(ENCODINGS.len())],
            lines,
            renamed: false,
            reencoded: false,
        }
    }

    /// Applies one random change; returns the secrets it wrote.
    fn change(&mut self, rng: &mut Rng) -> Written {
        if self.files.is_empty() || rng.below(8) == 0 {
            let lines = 3 + rng.below(6);
            let file = self.new_file(rng, lines);
            let written = file.secrets().collect();
            self.files.push(file);
            return written;
        }
        let at = rng.below(self.files.len());
        match rng.below(10) {
            // Insert a line (a secret one time in four).
            0..=4 => {
                let line = self.fresh_line(rng);
                let file = &mut self.files[at];
                let position = rng.below(file.lines.len() + 1);
                file.lines.insert(position, line.clone());
                match line {
                    Line::Secret(n) => vec![(n, format!("{}:{}", file.path, position + 1))],
                    Line::Filler(_) => Vec::new(),
                }
            }
            // Delete a line.
            5 | 6 => {
                let file = &mut self.files[at];
                if file.lines.len() > 1 {
                    let position = rng.below(file.lines.len());
                    file.lines.remove(position);
                }
                Vec::new()
            }
            // Re-encode (the text is the same: nothing is new).
            7 if !self.files[at].renamed => {
                let file = &mut self.files[at];
                file.encoding =
                    ENCODINGS[(ENCODINGS.iter().position(|e| *e == file.encoding).unwrap() + 1) % 4];
                file.reencoded = true;
                Vec::new()
            }
            // Rename (nothing is new but the name).
            8 if !self.files[at].reencoded => {
                self.next_file += 1;
                let file = &mut self.files[at];
                file.path = format!("{}moved/file{}.txt", self.prefix, self.next_file);
                file.renamed = true;
                Vec::new()
            }
            // Delete the file.
            _ => {
                self.files.remove(at);
                Vec::new()
            }
        }
    }

    /// Writes this version's files (see [`write_all`] for the files of the last one).
    fn write(&self, repo: &Repo) {
        for file in &self.files {
            repo.write(&file.path, &file.encoding.encode(&file.text()));
        }
    }

    fn present(&self) -> BTreeSet<String> {
        self.files
            .iter()
            .flat_map(|f| f.secrets().map(|(_, at)| at))
            .collect()
    }
}

/// Removes every file under `dir` but git's own: the tree holds nothing but the cases' files,
/// so no `git ls-files` process is needed to find the last version's.
fn remove_files(root: &std::path::Path, dir: &std::path::Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path != root.join(".git") {
                remove_files(root, &path);
            }
        } else {
            std::fs::remove_file(path).unwrap();
        }
    }
}

/// Commits the work tree as it is; the commit id is not asked for (one process fewer).
fn commit(repo: &Repo, message: &str) {
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", message]);
}

/// `path:line` of each GitHub-token finding a run printed.
fn found(repo: &Repo, args: &[&str]) -> (BTreeSet<String>, String) {
    let mut all = vec!["--path", ".", "--no-sarif", "--exit-zero"];
    all.extend_from_slice(args);
    let run = anteater(repo.path()).args(&all).run();
    assert_eq!(run.code, 0, "{}", run.all_output());
    let found = locations(&run.stdout, "  github-token  ");
    (found, run.all_output())
}

/// One case: its generator, its model, and what the model says each mode must report.
struct Case {
    seed: u64,
    rng: Rng,
    model: Model,
    base_files: Vec<File>,
    /// Each secret written in the range, where its commit wrote it.
    written_in_range: Vec<(u64, String)>,
}

impl Case {
    /// The case's base files, under its own folder.
    fn new(seed: u64) -> Case {
        let mut rng = Rng(seed);
        let mut model = Model {
            files: Vec::new(),
            next_line: seed * 1000,
            next_file: 0,
            prefix: format!("case{seed}/"),
        };
        for _ in 0..1 + rng.below(3) {
            let lines = 20 + rng.below(10);
            let file = model.new_file(&mut rng, lines);
            model.files.push(file);
        }
        let base_files = model.files.clone();
        Case {
            seed,
            rng,
            model,
            base_files,
            written_in_range: Vec::new(),
        }
    }

    /// `--diff BASE`: what the range wrote. A secret still there at HEAD is reported where HEAD
    /// has it (the net change's finding; history only names its commit) unless its file moved,
    /// which the merge of the two keys by path; one gone is reported where its commit wrote it.
    fn net_change(&self) -> BTreeSet<String> {
        let head: std::collections::HashMap<u64, String> = self
            .model
            .files
            .iter()
            .flat_map(|f| f.secrets().collect::<Vec<_>>())
            .collect();
        let mut expected = BTreeSet::new();
        for (secret, at_commit) in &self.written_in_range {
            match head.get(secret) {
                Some(at_head) => {
                    expected.insert(at_head.clone());
                    let path_of = |at: &str| at.rsplit_once(':').unwrap().0.to_string();
                    if path_of(at_head) != path_of(at_commit) {
                        expected.insert(at_commit.clone());
                    }
                }
                None => {
                    expected.insert(at_commit.clone());
                }
            }
        }
        expected
    }
}

/// Lays out every case's current version as the work tree.
fn write_all(cases: &[Case], repo: &Repo) {
    remove_files(repo.path(), repo.path());
    for case in cases {
        case.model.write(repo);
    }
}

/// Compares one mode's findings with the union of the cases' expectations; a mismatch names
/// each case it concerns (its seed, to replay alone) with its model.
fn compare(cases: &[Case], what: &str, expected: &[BTreeSet<String>], got: &BTreeSet<String>, output: &str) {
    let all: BTreeSet<String> = expected.iter().flatten().cloned().collect();
    if *got == all {
        return;
    }
    let mut report = String::new();
    for (case, expected) in cases.iter().zip(expected) {
        let got: BTreeSet<&String> = got
            .iter()
            .filter(|at| at.starts_with(&case.model.prefix))
            .collect();
        if got != expected.iter().collect() {
            report.push_str(&format!(
                "seed {} (replay with ANTEATER_EQUIVALENCE_SEED={}), {what}: expected {expected:?}, got {got:?}\nbase: {:#?}\nnow: {:#?}\n",
                case.seed, case.seed, case.base_files, case.model.files
            ));
        }
    }
    panic!("{what}: expected {all:?}, got {got:?}\n{report}{output}");
}

/// Checks a batch of cases in one repository, each in its own folder: one base commit holds
/// every case's base files, then each case's commits follow in turn (a commit touches one
/// case), and one more change per case is staged. Cases cannot see each other (their files,
/// lines and secrets are all distinct), so each mode's findings must be exactly the union of
/// what each case alone must report, and each mode runs once for the whole batch instead of
/// once per case. Returns how many secrets each mode had to report (tree, --diff, range,
/// --staged), so that the run can show it tested something.
fn check_batch(seeds: &[u64]) -> [usize; 4] {
    let repo = Repo::new();
    let mut cases: Vec<Case> = seeds.iter().map(|&seed| Case::new(seed)).collect();
    write_all(&cases, &repo);
    let base = repo.commit("base");
    for index in 0..cases.len() {
        let changes = 1 + cases[index].rng.below(5);
        for n in 0..changes {
            let case = &mut cases[index];
            let written = case.model.change(&mut case.rng);
            case.written_in_range.extend(written);
            write_all(&cases, &repo);
            commit(&repo, &format!("case {} change {n}", cases[index].seed));
        }
    }
    let mut counts = [0; 4];
    let mut check =
        |mode: usize, what: &str, expected: Vec<BTreeSet<String>>, args: &[&str], cases: &[Case]| {
            counts[mode] = expected.iter().map(BTreeSet::len).sum();
            let (got, output) = found(&repo, args);
            compare(cases, what, &expected, &got, &output);
        };

    // The tree: every secret present.
    let expected = cases.iter().map(|c| c.model.present()).collect();
    check(0, "tree", expected, &[], &cases);

    // --diff BASE: the net change merged with history (see Case::net_change).
    let expected = cases.iter().map(Case::net_change).collect();
    check(1, "--diff", expected, &["--diff", &base], &cases);

    // --diff BASE..HEAD: history alone, where each commit wrote its secrets.
    let expected = cases
        .iter()
        .map(|c| c.written_in_range.iter().map(|(_, at)| at.clone()).collect())
        .collect();
    check(
        2,
        "--diff A..B",
        expected,
        &["--diff", &format!("{base}..HEAD")],
        &cases,
    );

    // --staged: one more change per case, in the index only.
    let mut expected = Vec::new();
    for case in &mut cases {
        let written = case.model.change(&mut case.rng);
        expected.push(written.into_iter().map(|(_, at)| at).collect());
    }
    write_all(&cases, &repo);
    repo.git(&["add", "-A"]);
    check(3, "--staged", expected, &["--staged"], &cases);
    counts
}

#[test]
fn every_mode_reports_a_secret_exactly_when_it_adds_a_line_of_it() {
    let seeds = seeds("ANTEATER_EQUIVALENCE", DEFAULT_CASES);
    let mut totals = [0; 4];
    let replay = seeds.len() == 1;
    for batch in seeds.chunks(BATCH) {
        let counts = check_batch(batch);
        for (total, count) in totals.iter_mut().zip(counts) {
            *total += count;
        }
    }
    // Every mode had secrets to report, or the comparison proved nothing.
    assert!(
        replay || totals.iter().all(|&n| n > 0),
        "secrets per mode: {totals:?}"
    );
}

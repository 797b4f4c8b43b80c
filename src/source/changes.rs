//! Versions that git lists as changed, inspected: the one pipeline behind history (`git log
//! --raw`: what every commit of a range changed) and the index (`git diff-index --cached --raw`:
//! what the next commit would record). git names each changed file and its blob ids, no blob is
//! read for that; `git cat-file --batch` processes, one per worker thread, hand out the blobs.
//! Added lines come from a line diff of the two blobs done here (for a merge, the lines new
//! against every parent: what the merge itself adds). Each new version is then a fragment for the
//! one inspector, with its added lines: the same checks as a tree scan, on the lines the change
//! wrote. Reading blobs this way, rather than through `git log -p`, keeps going when a partial
//! clone lacks a blob (reported as unreadable, so the run cannot pass) where `git log -p` stops
//! with "unable to read".

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{ChildStdout, Command};
use std::sync::mpsc;

use anyhow::bail;

use crate::finding::{Finding, Introduced};
use crate::fragment::lines::{self, DIFF_LIMIT};
use crate::fragment::{AddedLines, Content, Fragment};
use crate::git::blobs::{Blob, BlobReader, OverLimit};
use crate::inspect::indicators::UploadSource;
use crate::inspect::stats::ScanStats;
use crate::inspect::{binary, text, FileOutcome, IndicatorHit, Inspector};
use crate::rules::IndicatorKind;

/// What the changed versions held.
#[derive(Debug, Default)]
pub struct Found {
    /// One per secret: (rule, path, matched text) reported once, at the first commit adding it.
    pub findings: Vec<Finding>,
    /// Commits listed (none for the index).
    pub commits: usize,
    /// Indicators for VirusTotal on the lines the change added, with the report path of their
    /// file.
    pub indicators: Vec<(String, IndicatorHit)>,
    /// Binaries VirusTotal may be sent (`--bincheck`), by sha256: a staged version whose working
    /// tree copy is byte for byte the same. A blob of history is only looked up by hash.
    pub uploads: HashMap<String, UploadSource>,
    /// Counts of the versions inspected, and those that could not be (path, reason naming the
    /// commit).
    pub stats: ScanStats,
}

/// What a scan of changed versions covers and how it inspects.
pub struct Scope<'a> {
    /// The scan root: only what changed under it is scanned.
    pub root: &'a Path,
    pub threads: usize,
    pub inspect: crate::inspect::Settings<'a>,
    /// Paths (relative to the root) that are never scanned: ignored by the exceptions, or
    /// anteater's own files.
    pub skip: &'a (dyn Fn(&str) -> bool + Sync),
}

/// Where the new versions are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// In commits (`git log --raw`): findings name the commit that added them.
    Commits,
    /// In the index (`git diff-index --cached --raw`): what the next commit would record.
    Index,
}

/// One changed file of one commit (or of the index).
struct Change {
    /// Position of the commit in the range, oldest first.
    order: usize,
    /// Empty for the index.
    commit: String,
    /// The name is new: an added, renamed or copied file (for a merge: new against every parent).
    name_is_new: bool,
    /// The versions the commit's parents had, one per parent that had the file (a merge has
    /// several); none for an added file.
    old_blobs: Vec<String>,
    /// A parent lacked the file: against that parent every line is new.
    new_against_a_parent: bool,
    new_blob: String,
    /// Relative to the scan root, '/'-separated.
    path: String,
}

/// What one worker found.
#[derive(Default)]
struct WorkerOutput {
    found: Vec<Ordered>,
    indicators: Vec<(String, IndicatorHit)>,
    uploads: HashMap<String, UploadSource>,
    stats: ScanStats,
}

/// A finding with the position of its commit, for keeping the first of equal ones.
type Ordered = (usize, Finding);

/// Inspects every version `listing` names (a git command printing `--raw -z --no-abbrev`
/// entries, relative to `scope.root`), with `scope.threads` workers. `what` names the listing
/// in errors.
pub fn inspect(scope: &Scope<'_>, listing: Command, side: Side, what: &str) -> anyhow::Result<Found> {
    let root = scope.root;
    let prefix = String::from_utf8_lossy(&crate::git::git(root, &["rev-parse", "--show-prefix"])?)
        .trim()
        .to_string();
    let (stdout, listing) = crate::git::stream(listing, what)?;

    let workers = scope.threads.max(1);
    let (sender, receiver) = mpsc::sync_channel::<Change>(workers * 64);
    let receiver = std::sync::Mutex::new(receiver);
    let mut results = Found::default();
    let outcome = std::thread::scope(|threads| -> anyhow::Result<()> {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let receiver = &receiver;
                let prefix = &prefix;
                threads.spawn(move || -> anyhow::Result<WorkerOutput> {
                    let mut worker = Worker::start(scope, side, prefix)?;
                    loop {
                        let change = {
                            let guard = receiver.lock().unwrap_or_else(|p| p.into_inner());
                            guard.recv()
                        };
                        let Ok(change) = change else { break };
                        worker.inspect(&change)?;
                    }
                    Ok(std::mem::take(&mut worker.found))
                })
            })
            .collect();
        let parsed = parse_raw(stdout, &sender, &mut results.commits);
        drop(sender);
        let mut found = Vec::new();
        for handle in handles {
            let output = handle
                .join()
                .map_err(|_| anyhow::anyhow!("a worker inspecting {what} panicked"))??;
            found.extend(output.found);
            results.indicators.extend(output.indicators);
            results.uploads.extend(output.uploads);
            results.stats.merge(output.stats);
        }
        parsed?;
        results.findings = match side {
            Side::Commits => first_of_each(found),
            // One version per file: every finding stands, as in a tree scan.
            Side::Index => found.into_iter().map(|(_, finding)| finding).collect(),
        };
        Ok(())
    });
    listing.finish()?;
    outcome?;
    results.stats.sort();
    Ok(results)
}

/// Reads `--raw -z` output: for `git log`, `\x01<commit>\n` then, per changed file,
/// `:<mode> <mode> <old> <new> <status>\0<path>\0` (two paths for renames and copies); `git
/// diff-index` prints the entries alone.
fn parse_raw(
    stdout: ChildStdout,
    sender: &mpsc::SyncSender<Change>,
    commits: &mut usize,
) -> anyhow::Result<()> {
    let mut reader = BufReader::with_capacity(1 << 16, stdout);
    let mut field = Vec::new();
    let mut commit = String::new();
    loop {
        field.clear();
        if reader.read_until(0, &mut field)? == 0 {
            break;
        }
        if field.last() == Some(&0) {
            field.pop();
        }
        // A commit header may share its field with the first raw entry: `\x01<id>\n\n:...`.
        let mut text: &[u8] = &field;
        while let Some(rest) = text.strip_prefix(b"\x01") {
            let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            commit = String::from_utf8_lossy(&rest[..end]).to_string();
            *commits += 1;
            text = &rest[end..];
            while let Some(rest) = text.strip_prefix(b"\n") {
                text = rest;
            }
        }
        while let Some(rest) = text.strip_prefix(b"\n") {
            text = rest;
        }
        if text.is_empty() {
            continue;
        }
        // `:` for a commit's own change, one more `:` per extra parent of a merge.
        let colons = text.iter().take_while(|&&b| b == b':').count();
        if colons == 0 {
            bail!(
                "--raw listing: unexpected output `{}`",
                String::from_utf8_lossy(text)
            );
        }
        let raw = String::from_utf8_lossy(&text[colons..]).into_owned();
        let parts: Vec<&str> = raw.split(' ').collect();
        // Modes and ids of each parent, then of the result, then the status letters.
        let parents = colons;
        if parts.len() < 2 * (parents + 1) + 1 {
            bail!("--raw listing: unexpected entry `{raw}`");
        }
        let result_mode = parts[parents];
        let old_ids = &parts[parents + 1..2 * parents + 1];
        let new_id = parts[2 * parents + 1];
        let status = parts[2 * parents + 2].as_bytes();
        let mut next_path = || -> anyhow::Result<String> {
            let mut path = Vec::new();
            reader.read_until(0, &mut path)?;
            if path.last() == Some(&0) {
                path.pop();
            }
            Ok(String::from_utf8_lossy(&path).into_owned())
        };
        let mut path = next_path()?;
        let copied_or_renamed = parents == 1 && matches!(status.first(), Some(b'R' | b'C'));
        if copied_or_renamed {
            path = next_path()?;
        }
        let null = |id: &str| id.bytes().all(|b| b == b'0');
        // Submodule entries (mode 160000) name commits, not blobs.
        if result_mode == "160000" || null(new_id) {
            continue;
        }
        // A copy's source lives on: its content is new at this path.
        let copied = parents == 1 && status.first() == Some(&b'C');
        let old_blobs: Vec<String> = old_ids
            .iter()
            .filter(|id| !null(id) && !copied)
            .map(|id| id.to_string())
            .collect();
        let name_is_new = if parents == 1 {
            matches!(status.first(), Some(b'A' | b'R' | b'C'))
        } else {
            status.iter().all(|&s| s == b'A')
        };
        let change = Change {
            order: *commits,
            commit: commit.clone(),
            name_is_new,
            new_against_a_parent: old_blobs.len() < parents,
            old_blobs,
            new_blob: new_id.to_string(),
            path,
        };
        if sender.send(change).is_err() {
            break; // A worker failed; its error is reported.
        }
    }
    Ok(())
}

/// Keeps the first finding (oldest commit, then line) of each (rule, path, matched text).
fn first_of_each(mut found: Vec<Ordered>) -> Vec<Finding> {
    found.sort_by(|(a_order, a), (b_order, b)| {
        (a_order, &a.path, a.line, a.columns, a.rule).cmp(&(b_order, &b.path, b.line, b.columns, b.rule))
    });
    let mut seen = std::collections::HashSet::new();
    found
        .into_iter()
        .filter(|(_, f)| seen.insert((f.rule, f.path.clone(), f.match_hash.clone())))
        .map(|(_, f)| f)
        .collect()
}

/// One worker: a blob reader, the inspector, and what they found.
struct Worker<'a> {
    setup: &'a Scope<'a>,
    side: Side,
    inspector: Inspector<'a>,
    prefix: &'a str,
    blobs: BlobReader,
    buffer: Vec<u8>,
    found: WorkerOutput,
}

impl<'a> Worker<'a> {
    fn start(setup: &'a Scope<'a>, side: Side, prefix: &'a str) -> anyhow::Result<Self> {
        Ok(Self {
            setup,
            side,
            inspector: Inspector::new(setup.inspect),
            prefix,
            blobs: BlobReader::start(setup.root)?,
            buffer: Vec::new(),
            found: WorkerOutput::default(),
        })
    }

    fn inspect(&mut self, change: &Change) -> anyhow::Result<()> {
        let setup = self.setup;
        let relative = change.path.as_str();
        if (setup.skip)(relative) {
            return Ok(());
        }
        let report_path = format!("{}{relative}", self.prefix);
        // A version too large to hold is spooled to disk and inspected in windows, like a large
        // file of the tree; it is new in every line: no line diff is made of it.
        let new = self
            .blobs
            .read(&change.new_blob, setup.inspect.max_file_size, OverLimit::Spool)?;
        let added = match &new {
            Blob::Content(new) => self.added_lines(change, new)?,
            // Inspected in windows from disk, but diffed whole like any version: a change to a
            // large file is judged on the lines it wrote, as in every other mode.
            Blob::Spooled(file) => match std::fs::metadata(file.path()) {
                Ok(meta) if meta.len() <= DIFF_LIMIT => match std::fs::read(file.path()) {
                    Ok(whole) => self.added_lines(change, &whole)?,
                    Err(_) => AddedLines::All,
                },
                _ => AddedLines::All,
            },
            _ => AddedLines::All,
        };
        let fragment = |content| Fragment {
            scan_path: relative,
            report_path: report_path.clone(),
            content,
            added: &added,
            name_is_new: change.name_is_new,
        };
        let mut report = match &new {
            Blob::Content(bytes) => self
                .inspector
                .inspect(&fragment(Content::Bytes(bytes)), &mut self.buffer),
            Blob::Spooled(file) => {
                let content = Content::File {
                    path: file.path(),
                    upload: false,
                };
                self.inspector.inspect(&fragment(content), &mut self.buffer)
            }
            Blob::Missing | Blob::Large(_) | Blob::Other(_) => {
                let mut report = self
                    .inspector
                    .inspect(&fragment(Content::Bytes(&[])), &mut self.buffer);
                report.outcome = FileOutcome::Unreadable(match self.side {
                    Side::Commits => {
                        "its version of this commit is missing from this clone (a partial clone?)".into()
                    }
                    Side::Index => "its staged version is missing from git's object store".into(),
                });
                report
            }
        };
        if self.buffer.capacity() > 16 << 20 {
            self.buffer = Vec::new();
        }
        let out = &mut self.found;
        match self.side {
            Side::Commits => {
                if let FileOutcome::Unreadable(reason) = &mut report.outcome {
                    *reason = format!("{reason} (commit {})", short(&change.commit));
                }
                let introduced = Introduced {
                    commit: change.commit.clone(),
                    located_in_commit: true,
                };
                for finding in &mut report.findings {
                    finding.introduced = Some(introduced.clone());
                }
            }
            Side::Index => {
                if let Some(upload) =
                    upload_from_work_tree(&report.indicators, &self.setup.root.join(relative))
                {
                    out.uploads.extend([upload]);
                }
            }
        }
        out.found
            .extend(report.findings.drain(..).map(|finding| (change.order, finding)));
        let file = &report.path;
        out.indicators
            .extend(report.indicators.drain(..).map(|hit| (file.clone(), hit)));
        out.stats.record(report);
        Ok(())
    }

    /// The lines of `new` that the commit wrote: against each parent's version, the lines that
    /// version lacks; for a merge, the lines every parent lacks. Without a readable old version
    /// (missing, too large) every line counts.
    fn added_lines(&mut self, change: &Change, new: &[u8]) -> anyhow::Result<AddedLines> {
        if change.old_blobs.is_empty() {
            return Ok(AddedLines::All);
        }
        if change.old_blobs.iter().all(|old| *old == change.new_blob) {
            return Ok(AddedLines::none()); // A pure rename adds no content.
        }
        // A binary has no lines to compare: a new version of it is new throughout.
        if text::classify(&new[..new.len().min(binary::FIRST_BLOCK)]).binary {
            return Ok(AddedLines::All);
        }
        let new_text = text::comparable(new);
        let mut added = if change.new_against_a_parent {
            None
        } else {
            Some(AddedLines::All)
        };
        for old_id in &change.old_blobs {
            let old = self.blobs.read(old_id, DIFF_LIMIT, OverLimit::Skip)?;
            let against_this = match old {
                Blob::Content(old) => lines::added_lines(&text::comparable(&old), &new_text),
                _ => AddedLines::All,
            };
            added = Some(match added {
                Some(so_far) => so_far.intersect(&against_this),
                None => against_this,
            });
        }
        Ok(added.unwrap_or(AddedLines::All))
    }
}

/// A staged binary VirusTotal may be sent: its working-tree copy, when that is byte for byte the
/// staged version (the hash the inspector took of the blob). A copy edited since it was staged
/// is not what the commit records, so nothing is sent, and the lookup says it could not upload.
fn upload_from_work_tree(indicators: &[IndicatorHit], path: &Path) -> Option<(String, UploadSource)> {
    let staged = indicators
        .iter()
        .find(|hit| hit.indicator.kind == IndicatorKind::File)?;
    let meta = std::fs::symlink_metadata(path)
        .ok()
        .filter(|meta| meta.is_file())?;
    let mut file = std::fs::File::open(path).ok()?;
    let on_disk = binary::sha256_hex(&[], &mut file).ok()?;
    (on_disk == staged.indicator.value).then(|| {
        let source = UploadSource {
            path: path.to_path_buf(),
            size: meta.len(),
        };
        (on_disk, source)
    })
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

//! History mode: what every commit of a range added, not only the net change. A secret added by
//! one commit of a pull request and removed by the next is in history for good once merged, so
//! it is reported, at the commit that added it.
//!
//! Streamed with bounded memory through the git binary: `git log --raw` names each commit's
//! changed files and their blob ids (no blob is read for that), and `git cat-file --batch`
//! processes, one per worker thread, hand out the blobs. Added lines come from a line diff of the
//! two blobs done here. Reading blobs this way, rather than through `git log -p`, keeps going
//! when a partial clone lacks a blob (reported as unreadable, so the run cannot pass) where
//! `git log -p` stops with "unable to read".

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::ops::Range;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Stdio};
use std::sync::mpsc;

use anyhow::{bail, Context};

use crate::config::Config;
use crate::finding::{content_match_hash, sha256_hex, Finding, Introduced};
use crate::inspect::{binary, content};
use crate::redact;

/// What history mode found.
#[derive(Debug, Default)]
pub struct HistoryResults {
    /// One per secret: (rule, path, matched text) reported once, at the first commit adding it.
    pub findings: Vec<Finding>,
    pub commits: usize,
    /// Blobs that could not be read (path, reason naming the commit).
    pub unreadable: Vec<(String, String)>,
}

/// One changed file of one commit.
struct Change {
    /// Position of the commit in the range, oldest first.
    order: usize,
    commit: String,
    /// 'A' added, 'M' modified, 'R' renamed, 'C' copied, 'T' type change.
    status: u8,
    old_blob: Option<String>,
    new_blob: String,
    /// Relative to the scan root, '/'-separated.
    path: String,
}

/// A finding with the position of its commit, for keeping the first of equal ones.
type Ordered = (usize, Finding);
/// What one worker found, and the blobs it could not read.
type WorkerOutput = (Vec<Ordered>, Vec<(String, String)>);

/// Scans what each commit of `revisions` (git log arguments: `BASE..HEAD`, `A..B`, `HEAD`) added
/// under `config.root`, with `config.threads` workers.
pub fn scan(config: &Config, revisions: &[String]) -> anyhow::Result<HistoryResults> {
    match scan_with(config, revisions, "-M") {
        // Finding renamed-and-edited files makes git read blobs, and a partial clone lacks some:
        // then only exact renames are followed (an edited, renamed file counts as added).
        Err(err) if format!("{err:#}").contains("unable to read") => scan_with(config, revisions, "-M100%"),
        other => other,
    }
}

fn scan_with(config: &Config, revisions: &[String], renames: &str) -> anyhow::Result<HistoryResults> {
    let root = &config.root;
    let prefix = String::from_utf8_lossy(&crate::diff::git(root, &["rev-parse", "--show-prefix"])?)
        .trim()
        .to_string();
    let mut errors = tempfile::NamedTempFile::new().context("creating a file for git's messages")?;
    let mut log = crate::diff::git_command(root);
    log.args([
        "log",
        "--reverse",
        "--raw",
        "-z",
        "--no-abbrev",
        renames,
        "--relative",
        "--no-color",
        "--diff-filter=AMRCT",
        "--format=%x01%H",
        "--end-of-options",
    ])
    .args(revisions)
    .args(["--", "."])
    .stdout(Stdio::piped())
    // A file, not a pipe: nobody reads git's messages until it ends, and a full pipe would
    // stall it.
    .stderr(Stdio::from(errors.reopen()?));
    let mut child = log.spawn().context("running git log (is git installed?)")?;
    let stdout = child.stdout.take().context("git log has no output")?;

    let workers = config.threads.max(1);
    let (sender, receiver) = mpsc::sync_channel::<Change>(workers * 64);
    let receiver = std::sync::Mutex::new(receiver);
    let mut results = HistoryResults::default();
    let outcome = std::thread::scope(|scope| -> anyhow::Result<()> {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let receiver = &receiver;
                let prefix = &prefix;
                scope.spawn(move || -> anyhow::Result<WorkerOutput> {
                    let mut worker = Worker::start(config, root, prefix)?;
                    loop {
                        let change = {
                            let guard = receiver.lock().unwrap_or_else(|p| p.into_inner());
                            guard.recv()
                        };
                        let Ok(change) = change else { break };
                        worker.inspect(&change)?;
                    }
                    Ok((
                        std::mem::take(&mut worker.found),
                        std::mem::take(&mut worker.unreadable),
                    ))
                })
            })
            .collect();
        let parsed = parse_log(stdout, &sender, &mut results.commits);
        drop(sender);
        let mut found = Vec::new();
        for handle in handles {
            let (worker_found, unreadable) = handle
                .join()
                .map_err(|_| anyhow::anyhow!("a history worker panicked"))??;
            found.extend(worker_found);
            results.unreadable.extend(unreadable);
        }
        parsed?;
        results.findings = first_of_each(found);
        Ok(())
    });
    let status = child.wait().context("waiting for git log")?;
    if !status.success() {
        let mut stderr = String::new();
        let _ = errors.read_to_string(&mut stderr);
        bail!("git log {}: {}", revisions.join(" "), stderr.trim());
    }
    outcome?;
    results.unreadable.sort();
    Ok(results)
}

/// Reads `git log --raw -z` output: `\x01<commit>\n` then, per changed file,
/// `:<mode> <mode> <old> <new> <status>\0<path>\0` (two paths for renames and copies).
fn parse_log(
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
        let Some(raw) = text.strip_prefix(b":") else {
            bail!(
                "git log --raw: unexpected output `{}`",
                String::from_utf8_lossy(text)
            );
        };
        let raw = String::from_utf8_lossy(raw).into_owned();
        let parts: Vec<&str> = raw.split(' ').collect();
        if parts.len() < 5 {
            bail!("git log --raw: unexpected entry `{raw}`");
        }
        let status = parts[4].as_bytes()[0];
        let mut next_path = || -> anyhow::Result<String> {
            let mut path = Vec::new();
            reader.read_until(0, &mut path)?;
            if path.last() == Some(&0) {
                path.pop();
            }
            Ok(String::from_utf8_lossy(&path).into_owned())
        };
        let mut path = next_path()?;
        if matches!(status, b'R' | b'C') {
            path = next_path()?;
        }
        let null = |id: &str| id.bytes().all(|b| b == b'0');
        // Submodule entries (mode 160000) name commits, not blobs.
        if parts[1] == "160000" || null(parts[3]) {
            continue;
        }
        let change = Change {
            order: *commits,
            commit: commit.clone(),
            status,
            old_blob: (!null(parts[2]) && status != b'A' && status != b'C').then(|| parts[2].to_string()),
            new_blob: parts[3].to_string(),
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

/// A blob as `git cat-file --batch` gives it.
enum Blob {
    Content(Vec<u8>),
    /// Over `--max-file-size`: not read.
    TooLarge,
    /// Not in this repository (a partial clone).
    Missing,
}

/// One worker: a `git cat-file --batch` process and what it found.
struct Worker<'a> {
    config: &'a Config,
    prefix: &'a str,
    cat_file: Child,
    input: BufWriter<ChildStdin>,
    output: BufReader<ChildStdout>,
    found: Vec<Ordered>,
    unreadable: Vec<(String, String)>,
}

impl<'a> Worker<'a> {
    fn start(config: &'a Config, root: &Path, prefix: &'a str) -> anyhow::Result<Self> {
        let mut cat_file = crate::diff::git_command(root)
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("running git cat-file")?;
        let input = BufWriter::new(cat_file.stdin.take().context("git cat-file stdin")?);
        let output =
            BufReader::with_capacity(1 << 16, cat_file.stdout.take().context("git cat-file stdout")?);
        Ok(Self {
            config,
            prefix,
            cat_file,
            input,
            output,
            found: Vec::new(),
            unreadable: Vec::new(),
        })
    }

    /// The blob's content, or why there is none to scan.
    fn blob(&mut self, id: &str) -> anyhow::Result<Blob> {
        writeln!(self.input, "{id}")?;
        self.input.flush()?;
        let mut header = String::new();
        self.output.read_line(&mut header)?;
        let fields: Vec<&str> = header.split_whitespace().collect();
        if fields.len() != 3 {
            return Ok(Blob::Missing); // `<id> missing`
        }
        let size: u64 = fields[2].parse().context("git cat-file: bad size")?;
        if size > self.config.max_file_size {
            // Never held in memory: skipped, like a file over the cap in the working tree.
            std::io::copy(&mut (&mut self.output).take(size + 1), &mut std::io::sink())?;
            return Ok(Blob::TooLarge);
        }
        let mut content = vec![0; size as usize + 1];
        self.output.read_exact(&mut content)?;
        content.pop(); // The newline after the content.
        Ok(Blob::Content(content))
    }

    fn inspect(&mut self, change: &Change) -> anyhow::Result<()> {
        let config = self.config;
        let relative = change.path.as_str();
        if config.exceptions.ignores_path(relative) || config.is_excluded(&config.root.join(relative)) {
            return Ok(());
        }
        let report_path = format!("{}{relative}", self.prefix);
        let introduced = Introduced {
            commit: change.commit.clone(),
            located_in_commit: true,
        };
        let in_tests = config.in_test_path(relative);
        let push = |found: &mut Vec<Ordered>, rule: usize, line, columns, evidence, match_hash| {
            found.push((
                change.order,
                Finding {
                    rule,
                    level: config.finding_level(rule, in_tests),
                    path: report_path.clone(),
                    line,
                    columns,
                    evidence,
                    match_hash,
                    detail: None,
                    introduced: Some(introduced.clone()),
                },
            ));
        };
        // A new name (added, renamed or copied file) is checked like any file name; a rule that
        // looks inside the file decides once the content is known (see `name_finding_line`).
        let mut look_inside = Vec::new();
        if matches!(change.status, b'A' | b'R' | b'C') && !config.exceptions.waives_file_name(relative) {
            for (rule, matched) in config.rules.file_name_matches(relative) {
                if config
                    .rules
                    .rule(rule)
                    .filter
                    .as_ref()
                    .is_some_and(|f| f.inside.is_some())
                {
                    look_inside.push((rule, matched.to_string()));
                    continue;
                }
                push(
                    &mut self.found,
                    rule,
                    1,
                    None,
                    redact::escape(matched),
                    sha256_hex(matched.as_bytes()),
                );
            }
        }
        let name_findings = |found: &mut Vec<Ordered>, text: Option<&[u8]>, content_lines: &[u32]| {
            for (rule, matched) in &look_inside {
                let Some(filter) = config.rules.rule(*rule).filter.as_ref() else {
                    continue;
                };
                if let Some(line) = crate::rules::filter::name_finding_line(filter, text, content_lines) {
                    push(
                        found,
                        *rule,
                        line,
                        None,
                        redact::escape(matched),
                        sha256_hex(matched.as_bytes()),
                    );
                }
            }
        };
        let pure_rename =
            change.status == b'R' && change.old_blob.as_deref() == Some(change.new_blob.as_str());
        if pure_rename && look_inside.is_empty() {
            return Ok(()); // A pure rename adds no content.
        }
        let mut new = match self.blob(&change.new_blob)? {
            Blob::Content(content) => content,
            Blob::TooLarge => {
                name_findings(&mut self.found, None, &[]);
                return Ok(());
            }
            Blob::Missing => {
                name_findings(&mut self.found, None, &[]);
                let reason = format!(
                    "its version of commit {} is missing from this clone (a partial clone?)",
                    short(&change.commit)
                );
                self.unreadable.push((report_path.clone(), reason));
                return Ok(());
            }
        };
        let first_block = &new[..new.len().min(binary::FIRST_BLOCK)];
        if binary::is_binary(first_block) {
            name_findings(&mut self.found, None, &[]);
            if config.check_binaries {
                let sha256 = sha256_hex(&new);
                if !config.exceptions.allows_binary(relative, &sha256) {
                    let rule = config.rules.binary_rule();
                    push(&mut self.found, rule, 1, None, format!("sha256 {sha256}"), sha256);
                }
            }
            return Ok(());
        }
        if config.exceptions.skips_contents(relative) {
            name_findings(&mut self.found, None, &[]);
            return Ok(());
        }
        if pure_rename {
            // A pure rename adds no content; only its new name can be news.
            name_findings(&mut self.found, Some(&new), &[]);
            return Ok(());
        }
        // Without the old version (missing, too large) every line counts as added.
        let old = match &change.old_blob {
            Some(id) => match self.blob(id)? {
                Blob::Content(content) => Some(content),
                Blob::TooLarge | Blob::Missing => None,
            },
            None => None,
        };
        if let Some(utf8) = binary::utf16_to_utf8(&new) {
            new = utf8;
        }
        let old = old.map(|old| binary::utf16_to_utf8(&old).unwrap_or(old));
        let (buffer, numbers) = added_lines(old.as_deref(), &new);
        let scan = content::scan(&config.rules, &config.exceptions, relative, &buffer);
        let content_lines: Vec<u32> = scan
            .hits
            .iter()
            .map(|hit| numbers[(hit.line - 1) as usize])
            .collect();
        name_findings(&mut self.found, Some(&new), &content_lines);
        for hit in scan.hits {
            let rule = config.rules.rule(hit.rule);
            let matched = &buffer[hit.matched.clone()];
            let before = &buffer[hit.line_range.start..hit.matched.start];
            let line = numbers[(hit.line - 1) as usize];
            push(
                &mut self.found,
                hit.rule,
                line,
                Some(content::match_columns(before, matched, rule.redact)),
                redact::evidence(matched, rule.redact),
                content_match_hash(&buffer, hit.matched.clone(), hit.line_range.end, rule.redact),
            );
        }
        // Every line history scans is one a commit added: each inline waiver it hits is the
        // change's own.
        if let Some(waiver) = config.rules.index_of(crate::rules::WAIVER_ADDED) {
            for hit in scan.waived {
                push(
                    &mut self.found,
                    waiver,
                    numbers[(hit.line - 1) as usize],
                    None,
                    format!("anteater:ignore waives `{}`", config.rules.rule(hit.rule).id),
                    content_match_hash(&buffer, hit.line_range.clone(), hit.line_range.end, true),
                );
            }
        }
        Ok(())
    }
}

impl Drop for Worker<'_> {
    fn drop(&mut self) {
        let _ = self.input.flush();
        let _ = self.cat_file.kill();
        let _ = self.cat_file.wait();
    }
}

/// The lines of `new` that `old` does not have (all of them without `old`), joined by `\n`, and
/// each one's 1-based line number in `new`.
fn added_lines(old: Option<&[u8]>, new: &[u8]) -> (Vec<u8>, Vec<u32>) {
    let lines: Vec<&[u8]> = imara_diff::sources::byte_lines(new).collect();
    let ranges: Vec<Range<u32>> = match old {
        None => std::iter::once(0..lines.len() as u32).collect(),
        Some(old) => {
            let input = imara_diff::intern::InternedInput::new(
                imara_diff::sources::byte_lines(old),
                imara_diff::sources::byte_lines(new),
            );
            let mut ranges = Vec::new();
            imara_diff::diff(
                imara_diff::Algorithm::Histogram,
                &input,
                |_before: Range<u32>, after: Range<u32>| {
                    if !after.is_empty() {
                        ranges.push(after);
                    }
                },
            );
            ranges
        }
    };
    let mut buffer = Vec::new();
    let mut numbers = Vec::new();
    for range in ranges {
        for index in range {
            let line = lines[index as usize];
            buffer.extend_from_slice(line.strip_suffix(b"\r").unwrap_or(line));
            buffer.push(b'\n');
            numbers.push(index + 1);
        }
    }
    (buffer, numbers)
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

/// The revision range `--diff` or `--history` asks for, as git log arguments, and the revision
/// exceptions are read from (the range's base), if any.
#[derive(Debug, Clone)]
pub struct HistoryPlan {
    pub revisions: Vec<String>,
    /// `--diff BASE`: the working tree's net change is scanned too, and history adds what it
    /// no longer has. `--history` and `--diff A..B` scan history alone.
    pub with_net_change: bool,
}

/// Parses an explicit `A..B` range: both ends must be commits of the repository.
pub fn explicit_range(root: &Path, spec: &str) -> anyhow::Result<Option<(String, String)>> {
    let Some((from, to)) = spec.split_once("..") else {
        return Ok(None);
    };
    if from.is_empty() || to.is_empty() || to.starts_with('.') || spec.starts_with('-') {
        bail!("--diff {spec}: give a range as BASE..TIP (two revisions), or one base revision");
    }
    let resolve = |rev: &str| {
        crate::diff::commit_id(root, rev)
            .with_context(|| format!("--diff {spec}: `{rev}` is not a commit in {}", root.display()))
    };
    Ok(Some((resolve(from)?, resolve(to)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_lines_come_from_a_line_diff() {
        let (buffer, numbers) = added_lines(Some(b"a\nb\nc\n"), b"a\nx\nb\nc\ny\r\n");
        assert_eq!(buffer, b"x\ny\n");
        assert_eq!(numbers, [2, 5]);
        let (buffer, numbers) = added_lines(None, b"p\nq");
        assert_eq!(buffer, b"p\nq\n");
        assert_eq!(numbers, [1, 2]);
    }
}

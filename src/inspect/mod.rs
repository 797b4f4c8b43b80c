//! The one inspector: every fragment of every source (a file of the tree, a blob of a commit, a
//! file a change touches) goes through the same checks, in the same order: its name, what its
//! bytes are, its contents (text, decoded text, the bytes of a binary), its checksum, the
//! indicators VirusTotal is asked about. A source only says which lines are new; what was
//! already there before the change is not reported.

pub mod archive;
pub mod binary;
pub mod content;
mod decoded;
pub mod der;
mod escaped;
pub mod exceptions;
mod git_delta;
pub mod indicators;
mod names;
mod nested;
pub mod network;
pub mod pack;
pub mod pdf;
mod search;
pub mod stats;
pub mod suppress;
pub mod test_paths;
pub mod text;
mod windows;

use std::fs::File;
use std::io::Read;

use sha2::{Digest, Sha256};

use crate::finding::Finding;
use crate::fragment::{Content, Fragment};
use crate::inspect::exceptions::Exceptions;
use crate::inspect::indicators::{Indicator, UploadSource, Wanted};
use crate::inspect::test_paths::TestPaths;
use crate::rules::RuleSet;

use search::dedup_findings;
use windows::{View, Window};

/// What happens to text files over --max-file-size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Oversize {
    /// Scan them in windows of --max-file-size, line by line.
    Scan,
    /// Skip them with a warning; the exit code does not change.
    Warn,
    /// Skip them; the scan is incomplete (exit 2).
    Fail,
}

/// What happened to a file's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileOutcome {
    /// Text, scanned with the content rules.
    Text,
    /// Binary: its bytes searched with the content rules, checked against the allowlist when
    /// asked to.
    Binary,
    /// Text whose suffix is in `file_ignore`: name checked, contents not scanned.
    ContentsIgnored,
    /// Text larger than `--max-file-size`, skipped as `--oversize warn|fail` asks: name checked,
    /// contents not read.
    TooLarge(u64),
    /// Could not be read.
    Unreadable(String),
}

/// The result of inspecting one fragment.
#[derive(Debug)]
pub struct FileReport {
    /// '/'-separated path relative to the report root.
    pub path: String,
    pub outcome: FileOutcome,
    pub findings: Vec<Finding>,
    /// Indicators to look up on VirusTotal, where they occur in this file.
    pub indicators: Vec<IndicatorHit>,
    /// A binary VirusTotal may need uploaded: (sha256, where it is).
    pub upload: Option<(String, UploadSource)>,
    /// Findings waived by inline `anteater:ignore` markers.
    pub suppressed: usize,
    /// The text was scanned in more than one window: the buffer holds only its last part.
    pub scanned_in_pieces: bool,
    /// Its size in bytes, as it was opened (0 when it could not be).
    pub length: u64,
    /// Archives in a format anteater recognises but cannot open (report path, format): searched
    /// as binaries only, named in the run's notes.
    pub not_opened: Vec<(String, &'static str)>,
    /// What stopped an archive encoded in the text from being opened: the fragment is then
    /// unreadable, whatever its text held.
    problem_inside: Option<String>,
}

/// An indicator found in a file, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicatorHit {
    pub indicator: Indicator,
    pub line: u32,
    /// As in `Finding::columns`.
    pub columns: Option<(u32, u32)>,
}

/// Inspects fragments with one run's rules and exceptions; shared by all worker threads.
pub struct Inspector<'a> {
    settings: Settings<'a>,
}

/// What the inspector needs of the run's configuration, and nothing more.
#[derive(Clone, Copy)]
pub struct Settings<'a> {
    pub rules: &'a RuleSet,
    pub exceptions: &'a Exceptions,
    /// Paths whose findings rules that opt in report one level lower; `None` with
    /// --no-test-demotion.
    pub test_paths: Option<&'a TestPaths>,
    pub max_file_size: u64,
    pub oversize: Oversize,
    /// --binaries: binaries are reported unless allowlisted.
    pub check_binaries: bool,
    /// --strict-waivers: an exception of the lists that waives a finding on a line the change
    /// adds is shown as a waiver too (the change may have written what the exception matches).
    pub strict_waivers: bool,
    /// The indicators collected for VirusTotal.
    pub indicators: Wanted,
}

impl Settings<'_> {
    /// Whether findings at this path (relative to the scan root) are in a test path.
    fn in_test_path(&self, scan_relative: &str) -> bool {
        self.test_paths
            .is_some_and(|test_paths| test_paths.contains(scan_relative))
    }

    /// The level a finding of `rule` is reported at: its severity's, one lower in test paths
    /// when the rule opts in.
    fn finding_level(&self, rule: usize, in_tests: bool) -> crate::finding::Level {
        let rule = self.rules.rule(rule);
        let level = rule.severity.level();
        if in_tests && rule.demote_in_tests {
            crate::inspect::test_paths::demote(level)
        } else {
            level
        }
    }
}

/// What the checks need to know about the fragment they inspect.
struct Context<'f> {
    fragment: &'f Fragment<'f>,
    /// Under a test path: rules that opt in report one level lower.
    in_tests: bool,
    /// Inside an archive: how deep, and what is left of the outermost archive's limits.
    archive: Option<(usize, &'f std::cell::RefCell<archive::Budget>)>,
}

/// A binary's bytes are searched in windows of this size: it has no lines to keep whole, and a
/// large binary must not cost a window of --max-file-size in memory.
const BINARY_WINDOW: usize = 1 << 20;

impl<'a> Inspector<'a> {
    pub fn new(settings: Settings<'a>) -> Self {
        Self { settings }
    }

    /// Inspects one fragment. `buffer` is scratch space reused across fragments by the caller:
    /// allocating a fresh buffer per file costs page faults that showed up as most of the scan's
    /// system time.
    pub fn inspect(&self, fragment: &Fragment<'_>, buffer: &mut Vec<u8>) -> FileReport {
        self.inspect_in(fragment, buffer, None)
    }

    fn inspect_in(
        &self,
        fragment: &Fragment<'_>,
        buffer: &mut Vec<u8>,
        archive: Option<(usize, &std::cell::RefCell<archive::Budget>)>,
    ) -> FileReport {
        let context = Context {
            fragment,
            in_tests: self.settings.in_test_path(fragment.scan_path),
            archive,
        };
        let mut report = FileReport {
            findings: Vec::new(),
            path: fragment.report_path.clone(),
            outcome: FileOutcome::Text,
            indicators: Vec::new(),
            upload: None,
            suppressed: 0,
            scanned_in_pieces: false,
            length: 0,
            not_opened: Vec::new(),
            problem_inside: None,
        };
        let look_inside = if fragment.name_is_new {
            self.check_name(&context, &mut report)
        } else {
            Vec::new()
        };
        buffer.clear();
        report.outcome = match self.inspect_contents(&context, buffer, &mut report) {
            Ok(outcome) => outcome,
            Err(err) => FileOutcome::Unreadable(err.to_string()),
        };
        if let Some(problem) = report.problem_inside.take() {
            if !matches!(report.outcome, FileOutcome::Unreadable(_)) {
                report.outcome = FileOutcome::Unreadable(problem);
            }
        }
        self.look_inside(look_inside, buffer, &mut report, &context);
        report
    }

    fn level(&self, rule: usize, in_tests: bool) -> crate::finding::Level {
        self.settings.finding_level(rule, in_tests)
    }

    fn inspect_contents(
        &self,
        context: &Context<'_>,
        buffer: &mut Vec<u8>,
        report: &mut FileReport,
    ) -> std::io::Result<FileOutcome> {
        let settings = &self.settings;
        let (mut reader, length): (Box<dyn Read + '_>, u64) = match &context.fragment.content {
            Content::File { path, .. } => {
                let file = File::open(path)?;
                let length = file.metadata()?.len();
                (Box::new(file), length)
            }
            Content::Bytes(bytes) => (Box::new(*bytes), bytes.len() as u64),
        };
        report.length = length;
        (&mut reader)
            .take(binary::FIRST_BLOCK as u64)
            .read_to_end(buffer)?;
        let kind = text::classify(buffer);
        let scan_path = context.fragment.scan_path;
        let skip_contents = settings.exceptions.skips_contents(scan_path);
        let too_large = length > settings.max_file_size && settings.oversize != Oversize::Scan;

        if kind.binary {
            if let Some(format) = archive::format(buffer).filter(|_| !skip_contents) {
                let depth = context.archive.map_or(0, |(depth, _)| depth);
                if depth >= archive::LIMITS.depth {
                    // Not opened, and not passed either: what it holds is unknown.
                    return Ok(FileOutcome::Unreadable(nested::nested_too_deep()));
                }
                drop(reader);
                return self.inspect_archive(format, length, context, report);
            }
            // An archive behind a prefix of byte-order marks, NULs or text lines: opened once
            // the bytes are searched (the prefix may hold a secret of its own).
            let behind_a_prefix = (!skip_contents)
                .then(|| nested::archive_behind_a_prefix(buffer))
                .flatten();
            if let Some(format) = archive::unopened_format(buffer) {
                report
                    .not_opened
                    .push((context.fragment.report_path.clone(), format));
            }
            if !skip_contents {
                self.check_key_file(buffer, length, context, report);
            }
            // Wide or EBCDIC text behind a signature (`%PDF`, PNG, a NUL): read decoded too,
            // besides the byte view (which sees UTF-16 strings, not UTF-32 or EBCDIC, and not a
            // key's lines together), over the first window: told by the first block, it is
            // read on to the window's end before the bytes are hashed and searched.
            let behind_at = (!skip_contents && !too_large)
                .then(|| {
                    text::wide_text_behind_a_signature(buffer).or_else(|| {
                        text::ebcdic_text_behind_a_prefix(buffer).map(|start| (start, text::Encoding::Ebcdic))
                    })
                })
                .flatten();
            let binary_window = BINARY_WINDOW.min(self.window_size());
            if behind_at.is_some() && buffer.len() < binary_window {
                (&mut reader)
                    .take((binary_window - buffer.len()) as u64)
                    .read_to_end(buffer)?;
            }
            // Binaries are hashed whatever their size, and their bytes searched too (a secret in
            // a "binary" is still a secret), in the same pass.
            let mut hasher = settings.check_binaries.then(Sha256::new);
            if let Some(hasher) = &mut hasher {
                hasher.update(&buffer[..]);
            }
            let searched = !skip_contents && !too_large;
            let depth = context.archive.map_or(0, |(depth, _)| depth);
            let is_pdf = searched && pdf::is_pdf(buffer);
            // Streams inside the binary's own bytes (a tarball behind a picture), unless an
            // archive behind a prefix holds the rest of the file. A binary over --max-file-size
            // is searched in windows and not held, so not carved.
            let carve = searched
                && behind_a_prefix.is_none()
                && depth < archive::LIMITS.depth
                && length <= settings.max_file_size;
            if searched {
                let behind = behind_at.map(|(start, encoding)| text::decode_from(buffer, start, encoding));
                let mut window = Window::new(binary_window, View::Binary, length);
                window.run(&mut reader, buffer, hasher.as_mut(), |text, region| {
                    self.scan_text(text, region, report, context)
                })?;
                if let Some(decoded) = behind {
                    self.scan_text(&decoded, windows::Region::whole(), report, context);
                    dedup_findings(&mut report.findings);
                }
            }
            // The file whole, for the steps that open what it holds: read once, or the buffer
            // when it holds all of it already.
            let held = if is_pdf || carve {
                Some(if buffer.len() as u64 == length {
                    std::borrow::Cow::Borrowed(&buffer[..])
                } else {
                    nested::whole(&context.fragment.content)?
                })
            } else {
                None
            };
            if let Some(bytes) = held.as_deref().filter(|_| is_pdf) {
                if let Some(problem) = self.inspect_pdf_streams(bytes, context, report) {
                    return Ok(FileOutcome::Unreadable(problem));
                }
            }
            let zip_behind = !skip_contents
                && depth < archive::LIMITS.depth
                && archive::zip_behind(&context.fragment.content, length)?;
            if zip_behind {
                if let Some(problem) = self.inspect_zip_behind(context, report) {
                    return Ok(FileOutcome::Unreadable(problem));
                }
            }
            if let Some(bytes) = held.as_deref().filter(|_| carve) {
                let carving = archive::carve::Carving {
                    zip: !zip_behind,
                    zlib: !is_pdf,
                };
                if let Some(problem) = self.inspect_carved(bytes, carving, context, report) {
                    return Ok(FileOutcome::Unreadable(problem));
                }
            }
            if let Some(found) = behind_a_prefix {
                let problem = if depth >= archive::LIMITS.depth {
                    Some(nested::nested_too_deep())
                } else {
                    self.inspect_archive_behind_a_prefix(found, length, context, report)?
                };
                if let Some(problem) = problem {
                    return Ok(FileOutcome::Unreadable(problem));
                }
            }
            if let Some(hasher) = hasher {
                let sha256 = binary::finish_sha256(hasher, &mut reader)?;
                self.check_binary(sha256, length, context, report);
            }
            // Bytes left unsearched for their size are skipped as --oversize says, like text.
            return Ok(if too_large && !skip_contents {
                FileOutcome::TooLarge(length)
            } else {
                FileOutcome::Binary
            });
        }
        if skip_contents {
            return Ok(FileOutcome::ContentsIgnored);
        }
        if too_large {
            return Ok(FileOutcome::TooLarge(length));
        }
        match kind.encoding {
            // Text in a wide encoding (Windows tools write UTF-16) is searched as the text it
            // encodes, and as it is, in case the bytes are not what they claim. It is decoded
            // whole, so it has to fit.
            Some(encoding) => {
                let window = self.window_size();
                (&mut reader)
                    .take((window - buffer.len().min(window)) as u64 + 1)
                    .read_to_end(buffer)?;
                if buffer.len() > window {
                    return Ok(FileOutcome::Unreadable(format!(
                        "UTF-16, UTF-32 or EBCDIC text longer than {window} bytes is not scanned in windows; \
                         raise --max-file-size to scan it"
                    )));
                }
                let whole = windows::Region::whole();
                self.scan_text(buffer, whole, report, context);
                let decoded = text::decode_from(buffer, kind.start, encoding);
                self.scan_text(&decoded, windows::Region::whole(), report, context);
                // Behind a signature, the text read in step too (its lines as the first
                // reading counts them, so that a secret both see is reported once).
                let first_block = &buffer[..buffer.len().min(binary::FIRST_BLOCK)];
                if let Some((start, other)) = text::wide_text_behind_a_signature(first_block)
                    .filter(|&(start, other)| (start, Some(other)) != (kind.start, kind.encoding))
                {
                    let in_step = text::decode(&buffer[start..], other);
                    self.scan_text(&in_step, windows::Region::whole(), report, context);
                }
                dedup_findings(&mut report.findings);
                *buffer = decoded;
                Ok(FileOutcome::Text)
            }
            None => {
                let mut window = Window::new(self.window_size(), View::Text, length);
                // A NUL past the first block: text only by its first bytes (see
                // `inspect_binary_tail`).
                let mut binary_tail = false;
                let pieces = window.run(&mut reader, buffer, None, |text, region| {
                    binary_tail = binary_tail || memchr::memchr(0, text).is_some();
                    self.scan_text(text, region, report, context)
                })?;
                if binary_tail {
                    if let Some(problem) = self.inspect_binary_tail(length, context, report)? {
                        return Ok(FileOutcome::Unreadable(problem));
                    }
                }
                // A script with a zip behind it (a self-extracting installer): the buffer ends
                // with the file's last window, where a zip's end record would be.
                let tail = &buffer[buffer.len().saturating_sub(archive::ZIP_END_REACH)..];
                if memchr::memmem::find(tail, archive::ZIP_END).is_some()
                    && context.archive.map_or(0, |(depth, _)| depth) < archive::LIMITS.depth
                    && archive::zip_behind(&context.fragment.content, length)?
                {
                    if let Some(problem) = self.inspect_zip_behind(context, report) {
                        return Ok(FileOutcome::Unreadable(problem));
                    }
                }
                match pieces {
                    windows::Pieces::One => Ok(FileOutcome::Text),
                    windows::Pieces::Many => {
                        report.scanned_in_pieces = true;
                        Ok(FileOutcome::Text)
                    }
                    windows::Pieces::LineTooLong => Ok(FileOutcome::Unreadable(format!(
                        "a line longer than {} bytes: text over --max-file-size is scanned in \
                         windows of that size, line by line; raise --max-file-size to scan it",
                        self.window_size()
                    ))),
                }
            }
        }
    }

    /// How much text is held in memory at once: --max-file-size, but never less than the block
    /// read to classify a file.
    fn window_size(&self) -> usize {
        usize::try_from(self.settings.max_file_size)
            .unwrap_or(usize::MAX)
            .max(binary::FIRST_BLOCK)
    }
}

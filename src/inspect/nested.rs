//! What a file holds inside: an archive's members, a git pack's objects, a PDF's deflated
//! streams. Each is inspected as a fragment of its own (`archive.jar!/path/inside`), by the same
//! inspector, within the outermost file's budget.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use super::decoded::EncodedArchive;
use super::{archive, binary, pdf, windows, Context, FileOutcome, FileReport, Inspector, Oversize};
use crate::finding::sha256_hex;
use crate::fragment::{Content, Fragment, ALL_LINES, NO_LINES};

impl Inspector<'_> {
    /// Hashes an archive like any binary, then inspects each of its members as a fragment of its
    /// own, named `archive!/member`. Its own bytes are not searched: its members are.
    pub(super) fn inspect_archive(
        &self,
        format: archive::Format,
        length: u64,
        context: &Context<'_>,
        report: &mut FileReport,
    ) -> std::io::Result<FileOutcome> {
        let settings = &self.settings;
        let fragment = context.fragment;
        if settings.check_binaries {
            self.check_binary(content_sha256(&fragment.content)?, length, context, report);
        }
        // A pack is read whole to resolve its deltas, so it must fit in --max-file-size: over
        // it, it is skipped as --oversize says, and it cannot be scanned in windows.
        if format == archive::Format::Pack && length > settings.max_file_size {
            return Ok(match settings.oversize {
                Oversize::Scan => FileOutcome::Unreadable(format!(
                    "a git pack of {length} bytes, over --max-file-size: its deltas are resolved in \
                     memory, not in windows; raise --max-file-size to open it"
                )),
                Oversize::Warn | Oversize::Fail => FileOutcome::TooLarge(length),
            });
        }
        let problem = self.inspect_members(context, report, Self::as_new_as(context), |budget, visit| {
            archive::members(
                format,
                &fragment.content,
                fragment.scan_path,
                settings.max_file_size,
                budget,
                visit,
            )
        });
        Ok(match problem {
            Some(reason) => FileOutcome::Unreadable(reason),
            None => FileOutcome::Binary,
        })
    }

    /// A file read as text whose later bytes are a binary's (a NUL past the first block, which
    /// alone decides text): a self-extracting script, a shell script with a tarball or an
    /// executable behind it. Its first lines cannot make it text: `--binaries` checks it as the
    /// binary it also is, and an archive that starts on the line holding its first NUL is
    /// opened like any archive. The problem that stopped it, if one did.
    pub(super) fn inspect_binary_tail(
        &self,
        length: u64,
        context: &Context<'_>,
        report: &mut FileReport,
    ) -> std::io::Result<Option<String>> {
        let fragment = context.fragment;
        let largest = self.settings.max_file_size;
        // Held whole only when it may be opened; hashed from those bytes, so read once.
        let depth = context.archive.map_or(0, |(depth, _)| depth);
        let bytes = (depth < archive::LIMITS.depth && length <= largest)
            .then(|| whole(&fragment.content))
            .transpose()?;
        if self.settings.check_binaries {
            let sha256 = match &bytes {
                Some(bytes) => sha256_hex(bytes),
                None => content_sha256(&fragment.content)?,
            };
            self.check_binary(sha256, length, context, report);
        }
        let Some(bytes) = bytes else {
            // Not held, so not opened; but an archive there is not passed either: what it
            // holds is unknown.
            let Some((around, nul)) = around_first_nul(&fragment.content)? else {
                return Ok(None);
            };
            return Ok(archive_near_nul(&around, nul).map(|_| {
                if depth >= archive::LIMITS.depth {
                    nested_too_deep()
                } else {
                    format!(
                        "an archive behind text in a file of {length} bytes, over --max-file-size: \
                         it is opened in memory, not in windows; raise --max-file-size to open it"
                    )
                }
            }));
        };
        let Some(nul) = memchr::memchr(0, &bytes) else {
            return Ok(None);
        };
        let Some((start, format)) = archive_near_nul(&bytes, nul) else {
            // No archive where the text ends: streams further on in the binary's bytes are
            // carved out (a zip that ends the file is opened from its end by the caller).
            let zip_at_end = archive::zip_behind(&Content::Bytes(&bytes), length)?;
            let carving = archive::carve::Carving {
                zip: !zip_at_end,
                zlib: true,
            };
            return Ok(self.inspect_carved(&bytes, carving, context, report));
        };
        Ok(self
            .inspect_held_archive(format, &bytes[start..], context, report)
            .0)
    }

    /// Inspects the members of an archive held in memory, `behind` some other bytes of the
    /// file `context` is about: the problem that stopped it, if one did, and whether any member
    /// was read.
    fn inspect_held_archive(
        &self,
        format: archive::Format,
        behind: &[u8],
        context: &Context<'_>,
        report: &mut FileReport,
    ) -> (Option<String>, bool) {
        let mut opened = false;
        let problem = self.inspect_members(context, report, Self::as_new_as(context), |budget, visit| {
            archive::members(
                format,
                &Content::Bytes(behind),
                context.fragment.scan_path,
                self.settings.max_file_size,
                budget,
                &mut |member| {
                    opened = true;
                    visit(member);
                },
            )
        });
        (problem, opened)
    }

    /// Opens the archive behind a prefix of a binary (`archive_behind_a_prefix`) whose bytes were
    /// searched already, from `start`; the problem that stopped it, if one did. It is held
    /// whole, so it must fit in --max-file-size.
    pub(super) fn inspect_archive_behind_a_prefix(
        &self,
        (start, format): (usize, archive::Format),
        length: u64,
        context: &Context<'_>,
        report: &mut FileReport,
    ) -> std::io::Result<Option<String>> {
        let largest = self.settings.max_file_size;
        if length > largest {
            // Skipped as --oversize says, like the binary it is in; read in windows, it is not
            // opened, which makes the scan incomplete.
            if self.settings.oversize != Oversize::Scan {
                return Ok(None);
            }
            return Ok(Some(format!(
                "an archive behind a prefix in a file of {length} bytes, over --max-file-size: it \
                 is opened in memory, not in windows; raise --max-file-size to open it"
            )));
        }
        let bytes = whole(&context.fragment.content)?;
        let behind = bytes.get(start..).unwrap_or_default();
        let (problem, opened) = self.inspect_held_archive(format, behind, context, report);
        // A magic number behind a prefix that opens as no archive is the binary's own bytes,
        // searched and hashed as such; once members were read, a problem is one.
        Ok(problem.filter(|_| opened))
    }

    /// Inspects the members of a zip appended to a binary whose bytes were searched already (a
    /// PNG or a script with a zip behind it: see `archive::zip_behind`); the problem that stopped
    /// it, if one did.
    pub(super) fn inspect_zip_behind(
        &self,
        context: &Context<'_>,
        report: &mut FileReport,
    ) -> Option<String> {
        let fragment = context.fragment;
        let largest = self.settings.max_file_size;
        self.inspect_members(context, report, Self::as_new_as(context), |budget, visit| {
            archive::members(
                archive::Format::Zip,
                &fragment.content,
                fragment.scan_path,
                largest,
                budget,
                visit,
            )
        })
    }

    /// Inspects each compressed stream or archive embedded in a binary whose bytes were searched
    /// already (`archive::carve`), held in `bytes`; `carving` says what was opened otherwise.
    /// The problem that stopped it, if one did.
    pub(super) fn inspect_carved(
        &self,
        bytes: &[u8],
        carving: archive::carve::Carving,
        context: &Context<'_>,
        report: &mut FileReport,
    ) -> Option<String> {
        let largest = self.settings.max_file_size;
        self.inspect_members(context, report, Self::as_new_as(context), |budget, visit| {
            archive::carve::embedded(bytes, carving, largest, budget, visit)
        })
    }

    /// Inspects each deflated stream of a PDF whose bytes were searched already, held in
    /// `bytes`; the problem that stopped it, if one did.
    pub(super) fn inspect_pdf_streams(
        &self,
        bytes: &[u8],
        context: &Context<'_>,
        report: &mut FileReport,
    ) -> Option<String> {
        let largest = self.settings.max_file_size;
        self.inspect_members(context, report, Self::as_new_as(context), |budget, visit| {
            pdf::streams(bytes, largest, budget, visit)
        })
    }

    /// Inspects each member `open` hands out, within the outermost file's budget (this file's
    /// when it is the outermost); the first problem met, in a member or in opening them.
    fn inspect_members(
        &self,
        context: &Context<'_>,
        report: &mut FileReport,
        changed: bool,
        open: impl FnOnce(&RefCell<archive::Budget>, &mut dyn FnMut(archive::Member)) -> Result<(), String>,
    ) -> Option<String> {
        let outermost;
        let (depth, budget) = match context.archive {
            Some((depth, budget)) => (depth + 1, budget),
            None => {
                outermost = RefCell::new(archive::Budget::new(archive::LIMITS));
                (1, &outermost)
            }
        };
        let mut problem = None;
        let mut buffer = Vec::new();
        let opened = open(budget, &mut |member| {
            self.inspect_member(
                member,
                (depth, budget, changed),
                context,
                &mut buffer,
                report,
                &mut problem,
            );
        });
        if let Err(reason) = opened {
            problem.get_or_insert(reason);
        }
        problem
    }

    /// Whether the members of the file `context` is about are new: all of them when it changed,
    /// none otherwise.
    fn as_new_as(context: &Context<'_>) -> bool {
        !context.fragment.added.is_empty()
    }

    /// Inspects an archive (or a compressed stream) found encoded in base64 on some lines of a
    /// text as a member of its own, `file!/line-12.base64`, new when one of those lines is (and
    /// a git binary patch's file so, `fix.patch!/line-4.binary-patch`). What
    /// stopped it being opened makes the file unreadable (`FileReport::problem_inside`): what it
    /// holds is unknown.
    pub(super) fn inspect_encoded_archive(
        &self,
        encoded: EncodedArchive,
        region: &windows::Region,
        context: &Context<'_>,
        report: &mut FileReport,
    ) {
        let first = *encoded.lines.start();
        if !region.owns_line(first) {
            return; // The window before this one opened it.
        }
        let lines = region.line(first)..=region.line(*encoded.lines.end());
        let changed = context.fragment.added.touches(lines);
        let name = format!("line-{}.{}", region.line(first), encoded.encoding);
        let size = encoded.bytes.len() as u64;
        let cut = encoded
            .cut
            .map(|why| format!("{}!/{name}: {why}", context.fragment.report_path));
        let problem = self.inspect_members(context, report, changed, |budget, visit| {
            budget.borrow_mut().take(&name, size, size)?;
            visit(archive::Member {
                name,
                bytes: encoded.bytes,
            });
            Ok(())
        });
        if let Some(problem) = problem.or(cut) {
            report.problem_inside.get_or_insert(problem);
        }
    }

    /// Inspects one member of the file `context` is about, named `file!/member`: `depth` archives
    /// down, within the outermost one's `budget`, new when `changed` says. The first problem met
    /// in a member is kept in `problem`.
    fn inspect_member(
        &self,
        member: archive::Member,
        (depth, budget, changed): (usize, &RefCell<archive::Budget>, bool),
        context: &Context<'_>,
        buffer: &mut Vec<u8>,
        report: &mut FileReport,
        problem: &mut Option<String>,
    ) {
        let fragment = context.fragment;
        let added = if changed { &ALL_LINES } else { &NO_LINES };
        let scan_path = format!("{}!/{}", fragment.scan_path, member.name);
        let nested = Fragment {
            scan_path: &scan_path,
            report_path: format!("{}!/{}", fragment.report_path, member.name),
            content: Content::Bytes(&member.bytes),
            added,
            name_is_new: fragment.name_is_new || changed,
        };
        let mut found = self.inspect_in(&nested, buffer, Some((depth, budget)));
        report.findings.append(&mut found.findings);
        report.not_opened.append(&mut found.not_opened);
        report.suppressed += found.suppressed;
        match found.outcome {
            FileOutcome::Unreadable(reason) => {
                problem.get_or_insert(format!("{}: {reason}", nested.report_path));
            }
            FileOutcome::TooLarge(size) => {
                problem.get_or_insert(format!(
                    "{}: {size} bytes, over --max-file-size",
                    nested.report_path
                ));
            }
            _ => {}
        }
    }
}

/// How far before its first NUL an archive behind text may start: a tar header's name field
/// (100 bytes) and a gzip header's stored file name are the longest runs without one.
const HEADER_REACH: usize = 512;

/// Where an archive starts behind a prefix that text alone writes (byte-order marks, NULs,
/// lines of text) in a file's first block, which is a binary's, and its format: `unzip`, `tar`
/// and `gunzip -c` read past no such prefix, but a script that strips it does. Any other prefix
/// is a binary's own bytes, where two bytes of a magic number come by chance.
pub(super) fn archive_behind_a_prefix(first_block: &[u8]) -> Option<(usize, archive::Format)> {
    let nul = memchr::memchr(0, first_block)?;
    let (start, format) = archive_near_nul(first_block, nul)?;
    let prefix = without_marks_and_nuls(&first_block[..start]);
    let text = std::str::from_utf8(prefix).is_ok_and(|text| {
        !text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    });
    (start > 0 && text).then_some((start, format))
}

/// `bytes` without the byte-order marks (any kind, any number) and NULs it starts with.
fn without_marks_and_nuls(mut bytes: &[u8]) -> &[u8] {
    while let [0, rest @ ..]
    | [0xef, 0xbb, 0xbf, rest @ ..]
    | [0xff, 0xfe, rest @ ..]
    | [0xfe, 0xff, rest @ ..] = bytes
    {
        bytes = rest;
    }
    bytes
}

/// What keeps an archive nested too deep from being opened.
pub(super) fn nested_too_deep() -> String {
    format!(
        "an archive nested more than {} deep; not inspected",
        archive::LIMITS.depth
    )
}

/// Where an archive behind text starts in `bytes`, and its format, given the offset of the
/// first NUL. The archive starts on the NUL's line (a gzip header's fourth byte is a NUL), right
/// after the script's last line break, and within a header's length of the NUL: a long line is
/// not tried at every byte.
fn archive_near_nul(bytes: &[u8], nul: usize) -> Option<(usize, archive::Format)> {
    // Behind byte-order marks and NULs (a NUL may be the first byte).
    let reach = &bytes[..bytes.len().min(HEADER_REACH)];
    let unmarked = reach.len() - without_marks_and_nuls(reach).len();
    if unmarked > 0 {
        let block = &bytes[unmarked..(unmarked + binary::FIRST_BLOCK).min(bytes.len())];
        if let Some(format) = archive::format(block) {
            return Some((unmarked, format));
        }
    }
    let line_start = memchr::memrchr(b'\n', &bytes[..nul]).map_or(0, |at| at + 1);
    let first_try = line_start.max(nul.saturating_sub(HEADER_REACH));
    (first_try..=nul).find_map(|at| {
        let block = &bytes[at..(at + binary::FIRST_BLOCK).min(bytes.len())];
        archive::format(block).map(|format| (at, format))
    })
}

/// The bytes around a fragment's first NUL (from a header's reach before it to a block past
/// it) and the NUL's offset in them, for `archive_near_nul`; a file is streamed, not held.
fn around_first_nul<'a>(content: &'a Content<'_>) -> std::io::Result<Option<(Cow<'a, [u8]>, usize)>> {
    let path = match content {
        Content::Bytes(bytes) => return Ok(memchr::memchr(0, bytes).map(|nul| (Cow::Borrowed(*bytes), nul))),
        Content::File { path, .. } => path,
    };
    let mut file = File::open(path)?;
    let mut chunk = vec![0; 1 << 16];
    let mut offset: u64 = 0;
    let nul = loop {
        let read = file.read(&mut chunk)?;
        if read == 0 {
            return Ok(None);
        }
        if let Some(at) = memchr::memchr(0, &chunk[..read]) {
            break offset + at as u64;
        }
        offset += read as u64;
    };
    let start = nul.saturating_sub(HEADER_REACH as u64);
    file.seek(SeekFrom::Start(start))?;
    let mut around = Vec::new();
    file.take((HEADER_REACH + binary::FIRST_BLOCK) as u64)
        .read_to_end(&mut around)?;
    Ok(Some((Cow::Owned(around), (nul - start) as usize)))
}

/// A fragment's bytes, whole: read from its file, or borrowed.
pub(super) fn whole<'a>(content: &'a Content<'_>) -> std::io::Result<Cow<'a, [u8]>> {
    Ok(match content {
        Content::File { path, .. } => Cow::Owned(std::fs::read(path)?),
        Content::Bytes(bytes) => Cow::Borrowed(bytes),
    })
}

/// The sha256 of a fragment's bytes, a file streamed rather than held.
fn content_sha256(content: &Content<'_>) -> std::io::Result<String> {
    Ok(match content {
        Content::File { path, .. } => binary::sha256_hex(&[], &mut File::open(path)?)?,
        Content::Bytes(bytes) => sha256_hex(bytes),
    })
}

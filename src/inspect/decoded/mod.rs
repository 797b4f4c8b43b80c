//! Secrets written so that their own characters never stand in a row: encoded (base64, base32,
//! hex, gzip or zlib in base64: `encodings`; a hex dump's lines: `dumps`; a git binary patch's
//! hunks and a uuencoded file, handed to the inspector as files: `binary_patch`, `uuencode`), escaped (`\u`/`\x`/octal/CSS/`\N{…}` escapes,
//! percent-escapes, HTML entities, quoted-printable: `escapes`), with invisible or tag characters
//! inside or in full-width, mathematical or enclosed letters (`letters`), cut into string
//! literals joined by an operator, a line continuation or a shell word (`literals`), assembled
//! by a call from a list or from character codes (`parts`), stored reversed or in rot13
//! (`transforms`), or named by a field of their own (`{"name": "AWS_SECRET_ACCESS_KEY",
//! "value": "…"}`: `pairs`). The lines holding such a form are written out decoded in a copy
//! that keeps the file's line numbers (every other line left empty), and the content rules
//! search that copy too, as they search unescaped strings.
//!
//! Finding the lines is one pass over the window, classifying 64 bytes at a time (`classes`);
//! only the lines it marks are decoded.

mod binary_patch;
mod classes;
mod dumps;
mod encodings;
mod escapes;
mod letters;
mod literals;
mod openers;
mod pairs;
mod parts;
mod transforms;
mod uuencode;

use std::ops::RangeInclusive;

/// What was undone on a line, for a finding's detail.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Undone(u16);

impl Undone {
    const INVISIBLE: Undone = Undone(1);
    const ESCAPES: Undone = Undone(2);
    const JOINED: Undone = Undone(4);
    const BASE64: Undone = Undone(8);
    const HEX: Undone = Undone(16);
    const PAIR: Undone = Undone(32);
    const INFLATED: Undone = Undone(64);
    const ASSEMBLED: Undone = Undone(128);
    const BASE32: Undone = Undone(256);
    const FULL_WIDTH: Undone = Undone(512);
    const REVERSED: Undone = Undone(1024);
    const ROT13: Undone = Undone(2048);

    fn add(&mut self, other: Undone) {
        self.0 |= other.0;
    }

    const fn with(self, other: Undone) -> Undone {
        Undone(self.0 | other.0)
    }

    const fn contains(self, other: Undone) -> bool {
        self.0 & other.0 == other.0
    }

    fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// "base64-decoded", "with invisible characters removed and literals joined", …
    pub fn describe(self) -> String {
        let names = [
            (Self::INVISIBLE, "invisible characters removed"),
            (
                Self::FULL_WIDTH,
                "full-width, mathematical or enclosed letters read as ASCII",
            ),
            (Self::ESCAPES, "escapes decoded"),
            (Self::JOINED, "string literals joined"),
            (Self::BASE64, "base64 decoded"),
            (Self::BASE32, "base32 decoded"),
            (Self::HEX, "hex decoded"),
            (Self::INFLATED, "inflated (gzip or zlib)"),
            (
                Self::ASSEMBLED,
                "a string assembled from a list or character codes",
            ),
            (Self::REVERSED, "a reversed string read forwards"),
            (Self::ROT13, "rot13 undone"),
            (Self::PAIR, "a name/value pair read as an assignment"),
        ];
        let done: Vec<&str> = names
            .iter()
            .filter(|(flag, _)| self.0 & flag.0 != 0)
            .map(|(_, name)| *name)
            .collect();
        format!("Found with {}", done.join(", "))
    }
}

/// A window's lines that held an encoded or split form, decoded.
#[derive(Debug)]
pub struct Decoded {
    /// As many lines as the window; the decoded ones filled, the rest empty.
    pub text: Vec<u8>,
    /// Per decoded line of the window (1-based, in order): the window's lines it was read from
    /// and what was undone.
    lines: Vec<(u32, RangeInclusive<u32>, Undone)>,
    /// Archives and compressed streams found encoded on the window's lines: the inspector opens
    /// them as it opens an archive file.
    pub archives: Vec<EncodedArchive>,
}

/// An archive (or a compressed stream) encoded in base64 on some lines of a window, or a file
/// a git binary patch holds.
#[derive(Debug)]
pub struct EncodedArchive {
    /// The window's lines it was read from.
    pub lines: RangeInclusive<u32>,
    pub bytes: Vec<u8>,
    /// How it was encoded, which names it: `base64`, `binary-patch`.
    pub encoding: &'static str,
    /// Why it was read only in part, if it was.
    pub cut: Option<String>,
}

impl Decoded {
    /// The lines of the window that decoded line `line` stands for.
    pub fn source_lines(&self, line: u32) -> RangeInclusive<u32> {
        match self.lines.binary_search_by_key(&line, |(at, _, _)| *at) {
            Ok(found) => self.lines[found].1.clone(),
            Err(_) => line..=line,
        }
    }

    /// What was undone on decoded line `line`.
    pub fn undone(&self, line: u32) -> Undone {
        match self.lines.binary_search_by_key(&line, |(at, _, _)| *at) {
            Ok(found) => self.lines[found].2,
            Err(_) => Undone::default(),
        }
    }
}

/// How many lines a value's name may be away from it, and a literal may be continued over.
const NEIGHBOURS: usize = 3;
const CONTINUED_LINES: usize = 6;

/// The decoded copy of `text`, or None when no line holds anything to decode.
pub fn decode(text: &[u8]) -> Option<Decoded> {
    let Candidates {
        starts,
        embedded_files: embedded_file_lines,
        quoted_printable,
    } = candidate_lines(text);
    if starts.is_empty() {
        return None;
    }
    let mut embedded_file_lines = embedded_file_lines.into_iter().peekable();
    let mut out = Vec::new();
    let mut lines = Vec::new();
    let mut archives = Vec::new();
    // The copy is written up to `done` (a line start of `text`), as line `line` (1-based).
    let mut done = 0;
    let mut line: u32 = 1;
    // Lines still to copy as they are: a key's body after a header only the copy can read.
    let mut key_lines = 0;
    for start in starts {
        if start < done {
            continue; // Part of a line already read (a continued literal).
        }
        let skipped = memchr::memchr_iter(b'\n', &text[done..start]).count();
        line = line.saturating_add(u32::try_from(skipped).unwrap_or(u32::MAX));
        write_gap(&mut out, &text[done..start], &mut key_lines);
        // A binary patch's hunks and a uuencoded file are files of their own, opened by the
        // inspector; their encoded lines are left blank in the copy.
        while embedded_file_lines.next_if(|&at| at < start).is_some() {}
        let files = embedded_file_lines
            .next_if_eq(&start)
            .and_then(|_| embedded_files(text, start));
        if let Some(files) = files {
            let line_end = files.end.min(text.len());
            let newlines = memchr::memchr_iter(b'\n', &text[start..line_end]).count();
            let at = |offset: usize| line.saturating_add(u32::try_from(offset).unwrap_or(u32::MAX));
            archives.extend(files.files.into_iter().map(|(lines, bytes)| EncodedArchive {
                lines: at(*lines.start())..=at(*lines.end()),
                bytes,
                encoding: files.encoding,
                cut: files.cut.clone(),
            }));
            out.resize(out.len() + newlines, b'\n');
            line = line.saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX));
            done = line_end;
            continue;
        }
        let soft_broken = quoted_printable
            .then(|| escapes::soft_broken_line(text, start, CONTINUED_LINES))
            .flatten();
        let mut undone = Undone::default();
        let (logical, end, continued) = soft_broken
            .or_else(|| {
                let read = dumps::dump(text, start, encodings::WRAPPED_LINES)?;
                undone.add(Undone::HEX);
                Some(read)
            })
            .or_else(|| encodings::wrapped_base64(text, start, encodings::WRAPPED_LINES))
            .or_else(|| parts::logical_line(text, start, CONTINUED_LINES))
            .or_else(|| {
                let joined = literals::continued_word(text, start, CONTINUED_LINES)?;
                undone.add(Undone::JOINED);
                Some(joined)
            })
            .unwrap_or_else(|| literals::logical_line(text, start, CONTINUED_LINES));
        if continued > 0 && quoted_printable {
            undone.add(Undone::ESCAPES);
        }
        let mut encoded = Vec::new();
        let mut decoded = undo(&logical, quoted_printable, &mut undone, &mut encoded);
        let mut first = line;
        let mut last = line.saturating_add(u32::try_from(continued).unwrap_or(u32::MAX));
        if let Some(pair) = pairs::assignment(text, start, end, NEIGHBOURS) {
            let assignment = undo(&pair.assignment, quoted_printable, &mut undone, &mut encoded);
            decoded.push(b'\t');
            decoded.extend_from_slice(&assignment);
            undone.add(Undone::PAIR);
            first = first.saturating_sub(u32::try_from(pair.lines_before).unwrap_or(u32::MAX));
            last = last.saturating_add(u32::try_from(pair.lines_after).unwrap_or(u32::MAX));
        }
        archives.extend(encoded.into_iter().map(|bytes| EncodedArchive {
            lines: first.max(1)..=last,
            bytes,
            encoding: "base64",
            cut: None,
        }));
        let line_end = end.min(text.len());
        let newlines = memchr::memchr_iter(b'\n', &text[start..line_end]).count();
        if !undone.is_empty() {
            out.extend(decoded.iter().map(|&b| if b == b'\n' { b' ' } else { b }));
            lines.push((line, first.max(1)..=last, undone));
            out.resize(out.len() + newlines, b'\n');
            if opens_a_key(&decoded) {
                key_lines = KEY_LINES;
            }
        } else if key_lines > 0 {
            out.extend_from_slice(&text[start..line_end]);
            key_lines = key_lines.saturating_sub(newlines + 1);
        } else {
            out.resize(out.len() + newlines, b'\n');
        }
        line = line.saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX));
        done = line_end;
    }
    if lines.is_empty() && archives.is_empty() {
        return None;
    }
    write_gap(&mut out, &text[done..], &mut key_lines);
    Some(Decoded {
        text: out,
        lines,
        archives,
    })
}

/// The line at `start` joined with the lines after it (at most `max` more) while `continues`
/// says a line (without its `\r`, and where it starts) goes on in the next, its last byte (the
/// marker) dropped; where the joined text ends and how many lines were joined. None when the
/// first line does not go on.
fn joined_lines(
    text: &[u8],
    start: usize,
    max: usize,
    continues: impl Fn(&[u8], usize) -> bool,
) -> Option<(Vec<u8>, usize, usize)> {
    let mut logical = Vec::new();
    let mut from = start;
    let mut continued = 0;
    loop {
        let end = memchr::memchr(b'\n', &text[from..]).map_or(text.len(), |nl| from + nl);
        let line = &text[from..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if continued < max && end < text.len() && continues(line, from) {
            logical.extend_from_slice(&line[..line.len() - 1]);
            from = end + 1;
            continued += 1;
        } else {
            logical.extend_from_slice(line);
            return (continued > 0).then_some((logical, end, continued));
        }
    }
}

/// How many lines after a decoded key header are copied as they are: a 4096-bit RSA key's body
/// is 50 lines, a PGP key block a few more.
const KEY_LINES: usize = 200;

/// Whether a decoded line opens a private key (`-----BEGIN … PRIVATE KEY…`): its header had an
/// invisible character or an escape in it, and its body follows on lines as they are.
fn opens_a_key(decoded: &[u8]) -> bool {
    memchr::memmem::find(decoded, b"-----BEGIN").is_some()
        && memchr::memmem::find(decoded, b"PRIVATE KEY").is_some()
}

/// Writes the lines between two decoded ones (`gap`: from the end of one, or the window's
/// start, to the start of the next) into the copy: empty, or as they are while a key's body is
/// being copied (up to its `-----END` line). The first piece of `gap` belongs to the line
/// written before it.
fn write_gap(out: &mut Vec<u8>, gap: &[u8], key_lines: &mut usize) {
    if *key_lines == 0 {
        out.resize(out.len() + memchr::memchr_iter(b'\n', gap).count(), b'\n');
        return;
    }
    for (index, piece) in gap.split(|&b| b == b'\n').enumerate() {
        if index == 0 {
            continue;
        }
        out.push(b'\n');
        if *key_lines > 0 {
            out.extend_from_slice(piece);
            *key_lines -= 1;
            if memchr::memmem::find(piece, b"-----END").is_some() {
                *key_lines = 0;
            }
        }
    }
}

/// Every decoding a line can need, in the order they unwrap each other: escapes first, twice
/// (they can spell invisible characters and quotes; quoted-printable's only in a window that
/// reads as QP), then invisible characters and full-width letters, joined literals, strings
/// assembled from lists or codes, reversed or rot13 strings, and base64, base32 or hex runs up
/// to three times (a value encoded again and again). Decoded line breaks are written `\n`, as
/// escaped strings write them, so that the copy keeps its lines. Archives found encoded are
/// added to `archives`.
fn undo(line: &[u8], quoted_printable: bool, undone: &mut Undone, archives: &mut Vec<Vec<u8>>) -> Vec<u8> {
    let mut current = line.to_vec();
    if let Some(plain) = escapes::without_control_sequences(&current) {
        current = plain;
        undone.add(Undone::ESCAPES);
    }
    // Twice: a value escaped twice (`%2567`, a URL encoded again) is one escape deep each time.
    for _ in 0..2 {
        let Some(decoded) = escapes::unescape(&current) else {
            break;
        };
        current = decoded;
        undone.add(Undone::ESCAPES);
    }
    if undone.contains(Undone::ESCAPES) {
        escapes::form_spaces_in_key_markers(&mut current);
    }
    if let Some(decoded) = quoted_printable
        .then(|| escapes::unquote_printable(&current))
        .flatten()
    {
        current = decoded;
        undone.add(Undone::ESCAPES);
    }
    if let Some(visible) = letters::without_invisible(&current) {
        current = visible;
        undone.add(Undone::INVISIBLE);
    }
    if let Some(folded) = letters::folded_width(&current) {
        current = folded;
        undone.add(Undone::FULL_WIDTH);
    }
    if let Some(joined) = literals::join(&current) {
        current = joined;
        undone.add(Undone::JOINED);
    }
    if let Some(assembled) = parts::assemble(&current) {
        current = assembled;
        undone.add(Undone::ASSEMBLED);
    }
    if let Some((read, how)) = transforms::undo(&current) {
        current = read;
        undone.add(how);
    }
    for _ in 0..3 {
        let Some((decoded, how)) = encodings::decode_runs(&current, archives) else {
            break;
        };
        current = decoded;
        undone.add(how);
    }
    current
}

/// Files a text holds encoded whole, from the line at `start`: a git binary patch's hunks or a
/// uuencoded file, each with its lines counted from that line as 0.
struct EmbeddedFiles {
    files: Vec<(RangeInclusive<usize>, Vec<u8>)>,
    encoding: &'static str,
    /// Why they were read only in part, if they were.
    cut: Option<String>,
    /// Where their last line ends.
    end: usize,
}

fn embedded_files(text: &[u8], start: usize) -> Option<EmbeddedFiles> {
    if let Some(patch) = binary_patch::read(text, start) {
        return Some(EmbeddedFiles {
            files: patch
                .hunks
                .into_iter()
                .map(|hunk| (hunk.lines, hunk.bytes))
                .collect(),
            encoding: "binary-patch",
            cut: patch.cut.then(|| {
                format!(
                    "a git binary patch whose file is over {} bytes; read only that far",
                    binary_patch::MAX_INFLATED
                )
            }),
            end: patch.end,
        });
    }
    let (bytes, end, continued) = uuencode::read(text, start)?;
    Some(EmbeddedFiles {
        files: vec![(0..=continued, bytes)],
        encoding: "uu",
        cut: None,
        end,
    })
}

/// The lines of a window that may need decoding.
struct Candidates {
    /// Where they start, in order, each once.
    starts: Vec<usize>,
    /// Which of them may open a git binary patch or a uuencoded file, in order.
    embedded_files: Vec<usize>,
    /// Whether the window reads as quoted-printable.
    quoted_printable: bool,
}

/// The lines of `text` that may need decoding: one pass over the window's chunks (`classes`),
/// each decoder marking the bytes of a chunk where its forms start, and the marks mapped to
/// their lines' starts by the chunk's line breaks.
fn candidate_lines(text: &[u8]) -> Candidates {
    let mut quoted_printable = escapes::says_quoted_printable(text);
    let mut starts: Vec<usize> = Vec::new();
    let mut push = |start: usize| {
        if starts.last() != Some(&start) {
            starts.push(start);
        }
    };
    let mut runs = encodings::RunFinder::default();
    // Where the line holding the current chunk's first byte starts.
    let mut line_start = 0;
    let mut name_ends = transforms::NameEnds::default();
    let mut openers = openers::Openers::new();
    for (base, masks) in classes::chunks(text) {
        openers.step(text, base, &masks);
        let mut hits = escapes::escape_hits(text, base, masks.escape)
            | letters::invisible_hits(text, base, masks.high)
            | literals::glue_hits(text, base, &masks)
            | pairs::value_hits(text, base, masks.vee)
            | parts::call_hits(text, base, masks.bracket)
            | transforms::named_hits(text, base, &masks, name_ends.after(&masks));
        // A run is marked at the byte that ends it, which is on its line (a run holds no line
        // break).
        runs.step(masks.run, base, |run, end| {
            if transforms::run_hides_token(&text[run.clone()]) || encodings::run_decodes(text, run) {
                hits |= 1 << end;
            }
        });
        while hits != 0 {
            let bit = hits.trailing_zeros();
            let breaks_before = masks.newline & ((1u64 << bit) - 1);
            push(match breaks_before {
                0 => line_start,
                _ => base + 64 - breaks_before.leading_zeros() as usize,
            });
            hits &= hits - 1;
        }
        quoted_printable = quoted_printable
            || encodings::hits_where(masks.equals, |bit| {
                escapes::is_quoted_printable_marker(text, base + bit)
            }) != 0;
        if masks.newline != 0 {
            line_start = base + 64 - masks.newline.leading_zeros() as usize;
        }
    }
    if runs.finish(text.len()).is_some_and(|run| {
        transforms::run_hides_token(&text[run.clone()]) || encodings::run_decodes(text, run)
    }) {
        push(line_start);
    }
    if quoted_printable {
        // Mail is rare: its escapes are found on their own, and merged in.
        let mut escapes = Vec::new();
        escapes::quoted_printable_starts(text, &mut escapes);
        starts.extend(line_starts(text, escapes));
        starts.sort_unstable();
        starts.dedup();
    }
    // So are hex dumps, lists of byte codes, git binary patches and uuencoded files, found by
    // their first bytes.
    let dumps = dumps::starts(text, &openers.dumps, encodings::WRAPPED_LINES);
    let embedded_files: Vec<usize> = (openers.embedded_files.iter())
        .map(|&at| openers::line_start(text, at))
        .collect();
    if !dumps.is_empty() || !embedded_files.is_empty() {
        starts.extend(dumps);
        starts.extend(&embedded_files);
        starts.sort_unstable();
        starts.dedup();
    }
    Candidates {
        starts,
        embedded_files,
        quoted_printable,
    }
}

/// The starts of the lines holding `offsets` (in order), each once; one pass over the line
/// breaks, since a search back from each offset would cost a long line's length per offset.
fn line_starts(text: &[u8], offsets: Vec<usize>) -> Vec<usize> {
    let mut starts: Vec<usize> = Vec::new();
    let mut breaks = memchr::memchr_iter(b'\n', text).peekable();
    let mut line_start = 0;
    for offset in offsets {
        while let Some(nl) = breaks.next_if(|&nl| nl < offset) {
            line_start = nl + 1;
        }
        if starts.last() != Some(&line_start) {
            starts.push(line_start);
        }
    }
    starts
}

#[cfg(test)]
mod tests;

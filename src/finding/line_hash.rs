//! `primaryLocationLineHash`, the one partial fingerprint GitHub code scanning uses to keep an
//! alert's identity across commits. upload-sarif computes it only when it runs inside Actions and
//! can open the file; SARIF uploaded through the REST API (GitLab, Jenkins) arrives without it and
//! makes duplicate alerts. So anteater computes it itself, the same way: a rolling hash (base 37,
//! 64-bit wrapping) over the next 100 characters from the start of each line, spaces and tabs
//! left out and line endings made `\n`, written as `<hex>:<n>` where `n` counts the lines of the
//! file with the same hash so far.
//!
//! Characters are UTF-16 code units of the file decoded as UTF-8 (invalid bytes become U+FFFD),
//! because that is what the action's JavaScript sees.

use std::collections::{BTreeSet, HashMap};
use std::io::{self, Read};
use std::ops::ControlFlow;

use rustc_hash::FxHashMap;

/// Characters in the window each line's hash covers.
const BLOCK_SIZE: usize = 100;
const MODULUS: u64 = 37;
/// Bytes read from a file at a time.
const READ_BLOCK: usize = 64 * 1024;
/// The marker the action feeds after the last character of the file.
const END_OF_FILE: u16 = 0xFFFF;

/// The hash of each line of `content` that is in `wanted` (1-based), as (line, hash).
#[cfg(test)]
pub fn line_hashes(content: &[u8], wanted: &BTreeSet<u32>) -> HashMap<u32, String> {
    line_hashes_from(content, wanted).expect("reading a byte slice cannot fail")
}

/// The hash of each line that `reader` gives and that is in `wanted` (1-based).
///
/// A line's hash depends only on the lines before it (its `:n` count) and on the 100 characters
/// from its start, so reading stops once the last wanted line is done: a finding near the top of
/// a large file costs a few lines, not the whole file. The file is read in blocks, never whole,
/// and only the wanted lines' hashes are counted, not every line's.
pub fn line_hashes_from(reader: impl Read, wanted: &BTreeSet<u32>) -> io::Result<HashMap<u32, String>> {
    let mut out = HashMap::new();
    let Some(&last_wanted) = wanted.last() else {
        return Ok(out);
    };
    let mut rolling = Vec::new();
    rolling_hashes(reader, |hash| {
        rolling.push(hash);
        if rolling.len() >= last_wanted as usize {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    let mut counts: FxHashMap<u64, u32> = wanted
        .iter()
        .filter_map(|&line| rolling.get((line as usize).checked_sub(1)?))
        .map(|&hash| (hash, 0))
        .collect();
    for (line, hash) in (1..).zip(&rolling) {
        if let Some(count) = counts.get_mut(hash) {
            *count += 1;
            if wanted.contains(&line) {
                out.insert(line, format!("{hash:x}:{count}"));
            }
        }
    }
    Ok(out)
}

/// Calls `each` with the rolling hash of every line `reader` gives, in order, until it breaks.
///
/// Characters as `String::from_utf8_lossy(whole file).encode_utf16()` would give them: each
/// invalid sequence is one U+FFFD, and a character cut by a block boundary is carried over to
/// the next block. ASCII text goes byte by byte.
fn rolling_hashes(mut reader: impl Read, mut each: impl FnMut(u64) -> ControlFlow<()>) -> io::Result<()> {
    let mut hasher = RollingHash::new();
    let mut buffer = vec![0u8; READ_BLOCK];
    // Bytes of a character cut by the previous block's end, at the buffer's start.
    let mut carried = 0;
    loop {
        let read = loop {
            match reader.read(&mut buffer[carried..]) {
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        let at_end = read == 0;
        let filled = carried + read;
        let mut rest = &buffer[..filled];
        carried = 0;
        while !rest.is_empty() {
            let (valid, after) = match std::str::from_utf8(rest) {
                Ok(text) => (text, None),
                Err(err) => {
                    let (valid, after) = rest.split_at(err.valid_up_to());
                    let valid = std::str::from_utf8(valid).expect("valid up to here");
                    (valid, Some((after, err.error_len())))
                }
            };
            let flow = if valid.is_ascii() {
                valid
                    .bytes()
                    .try_for_each(|byte| hasher.character(u16::from(byte), &mut each))
            } else {
                valid
                    .encode_utf16()
                    .try_for_each(|unit| hasher.character(unit, &mut each))
            };
            if flow.is_break() {
                return Ok(());
            }
            rest = match after {
                None => &[],
                // A character cut by the block's end: completed by the next block.
                Some((cut, None)) if !at_end => {
                    carried = cut.len();
                    break;
                }
                Some((invalid, length)) => {
                    if hasher.character(0xFFFD, &mut each).is_break() {
                        return Ok(());
                    }
                    &invalid[length.unwrap_or(invalid.len())..]
                }
            };
        }
        if at_end {
            break;
        }
        buffer.copy_within(filled - carried..filled, 0);
    }
    if hasher.character(END_OF_FILE, &mut each).is_continue() {
        let _ = hasher.flush(&mut each);
    }
    Ok(())
}

struct RollingHash {
    window: [u16; BLOCK_SIZE],
    /// Whether a line starts at each window slot.
    line_starts: [bool; BLOCK_SIZE],
    hash: u64,
    /// 37^BLOCK_SIZE: what the character leaving the window contributed.
    first_multiplier: u64,
    index: usize,
    at_line_start: bool,
    after_carriage_return: bool,
}

impl RollingHash {
    fn new() -> Self {
        Self {
            window: [0; BLOCK_SIZE],
            line_starts: [false; BLOCK_SIZE],
            hash: 0,
            first_multiplier: (0..BLOCK_SIZE).fold(1u64, |m, _| m.wrapping_mul(MODULUS)),
            index: 0,
            at_line_start: true,
            after_carriage_return: false,
        }
    }

    fn character(&mut self, unit: u16, each: &mut impl FnMut(u64) -> ControlFlow<()>) -> ControlFlow<()> {
        const TAB: u16 = b'\t' as u16;
        const SPACE: u16 = b' ' as u16;
        const LF: u16 = b'\n' as u16;
        const CR: u16 = b'\r' as u16;
        if unit == SPACE || unit == TAB || (self.after_carriage_return && unit == LF) {
            self.after_carriage_return = false;
            return ControlFlow::Continue(());
        }
        let unit = if unit == CR {
            self.after_carriage_return = true;
            LF
        } else {
            self.after_carriage_return = false;
            unit
        };
        let flow = self.emit(each);
        if self.at_line_start {
            self.at_line_start = false;
            self.line_starts[self.index] = true;
        }
        if unit == LF {
            self.at_line_start = true;
        }
        self.update(unit);
        flow
    }

    fn flush(&mut self, each: &mut impl FnMut(u64) -> ControlFlow<()>) -> ControlFlow<()> {
        for _ in 0..BLOCK_SIZE {
            self.emit(each)?;
            self.update(0);
        }
        ControlFlow::Continue(())
    }

    /// Hands out the hash of the line whose window is now full, if one starts in the slot about
    /// to be overwritten.
    fn emit(&mut self, each: &mut impl FnMut(u64) -> ControlFlow<()>) -> ControlFlow<()> {
        if std::mem::take(&mut self.line_starts[self.index]) {
            each(self.hash)
        } else {
            ControlFlow::Continue(())
        }
    }

    fn update(&mut self, unit: u16) {
        let leaving = self.window[self.index];
        self.window[self.index] = unit;
        self.hash = MODULUS
            .wrapping_mul(self.hash)
            .wrapping_add(u64::from(unit))
            .wrapping_sub(self.first_multiplier.wrapping_mul(u64::from(leaving)));
        self.index += 1;
        if self.index == BLOCK_SIZE {
            self.index = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str) -> Vec<String> {
        all_bytes(text.as_bytes())
    }

    fn all_bytes(content: &[u8]) -> Vec<String> {
        let mut lines = 0;
        rolling_hashes(content, |_| {
            lines += 1;
            ControlFlow::Continue(())
        })
        .unwrap();
        let hashes = line_hashes(content, &(1..=lines).collect());
        (1..=lines).map(|line| hashes[&line].clone()).collect()
    }

    // The expected values are those of github/codeql-action's own tests of its fingerprinting
    // (src/fingerprints.test.ts), so a result hashed here matches what upload-sarif would add.
    #[test]
    fn matches_the_values_upload_sarif_computes() {
        assert_eq!(all(""), ["c129715d7a2bc9a3:1"]);
        assert_eq!(
            all(" a\nb\n  \t\tc\n d"),
            [
                "271789c17abda88f:1",
                "54703d4cd895b18:1",
                "180aee12dab6264:1",
                "a23a3dc5e078b07b:1"
            ]
        );
        assert_eq!(
            all(" hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End"),
            [
                "8b7cf3e952e7aeb2:1",
                "b1ae1287ec4718d9:1",
                "bff680108adb0fcc:1",
                "c6805c5e1288b612:1",
                "b86d3392aea1be30:1",
                "e6ceba753e1a442:1",
            ]
        );
        let with_final_newline = [
            "e9496ae3ebfced30:1",
            "fb7c023a8b9ccb3f:1",
            "ce8ba1a563dcdaca:1",
            "e20e36e16fcb0cc8:1",
            "b3edc88f2938467e:1",
            "c8e28b0b4002a3a0:1",
            "c129715d7a2bc9a3:1",
        ];
        for text in [
            " hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End\n",
            " hello; \t\nworld!!!\r\r\r  \t\tGreetings\r End\r",
            " hello; \t\r\nworld!!!\r\n\r\n\r\n  \t\tGreetings\r\n End\r\n",
            " hello; \t\nworld!!!\r\n\n\r  \t\tGreetings\r End\r\n",
        ] {
            assert_eq!(all(text), with_final_newline, "{text:?}");
        }
        assert_eq!(
            all(&"Lorem ipsum dolor sit amet.\n".repeat(10)),
            [
                "a7f2ff13bc495cf2:1",
                "a7f2ff13bc495cf2:2",
                "a7f2ff13bc495cf2:3",
                "a7f2ff13bc495cf2:4",
                "a7f2ff13bc495cf2:5",
                "a7f2ff13bc495cf2:6",
                "a7f2ff1481e87703:1",
                "a9cf91f7bbf1862b:1",
                "55ec222b86bcae53:1",
                "cc97dc7b1d7d8f7b:1",
                "c129715d7a2bc9a3:1"
            ]
        );
    }

    #[test]
    fn only_wanted_lines_are_kept() {
        let wanted = BTreeSet::from([2, 9]);
        let hashes = line_hashes(b" a\nb\n  \t\tc\n d", &wanted);
        assert_eq!(hashes.len(), 1);
        assert_eq!(hashes[&2], "54703d4cd895b18:1");
    }

    #[test]
    fn invalid_utf8_is_hashed_as_the_replacement_character() {
        let raw = b"caf\xe9 \xff\xfe ok\n\xc3\xa9t\xc3\xa9\n";
        let lossy = String::from_utf8_lossy(raw);
        assert_eq!(all_bytes(raw), all(&lossy));
        // Past the first read block, and a character split across a block boundary.
        let mut long = "x = 1\n".repeat(READ_BLOCK / 3).into_bytes();
        long.truncate(READ_BLOCK - 1);
        long.extend_from_slice("\u{e9}t\u{e9}\n".as_bytes());
        long.extend_from_slice(b"\xff end\n");
        let lossy = String::from_utf8_lossy(&long).into_owned();
        assert_eq!(all_bytes(&long), all(&lossy));
    }

    /// A reader that hands out a few bytes at a time, so that every character and every
    /// invalid sequence is cut somewhere.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            self.1 = self.1 % 3 + 1;
            let n = self.1.min(out.len()).min(self.0.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn reading_in_small_pieces_changes_no_hash() {
        let raw = "caf\u{e9} \u{1F600} \u{2028}x\r\n"
            .as_bytes()
            .iter()
            .copied()
            .chain(*b"\xe2\x82 \xff\xfe\xf0\x9f ok\n\xc3")
            .collect::<Vec<u8>>()
            .repeat(5);
        let every = all_bytes(&raw);
        let wanted: BTreeSet<u32> = (1..=every.len() as u32).collect();
        let trickled = line_hashes_from(Trickle(&raw, 0), &wanted).unwrap();
        for (line, hash) in (1..).zip(&every) {
            assert_eq!(&trickled[&line], hash, "line {line}");
        }
        let lossy = String::from_utf8_lossy(&raw).into_owned();
        assert_eq!(every, all(&lossy));
    }

    #[test]
    fn stopping_after_the_last_wanted_line_changes_no_hash() {
        let text = "Lorem ipsum dolor sit amet.\n".repeat(10) + "a\r\nb\n\n" + &"x".repeat(150);
        let every = all(&text);
        for last in 1..=every.len() as u32 {
            let wanted = BTreeSet::from([1, last.div_ceil(2), last]);
            let hashes = line_hashes(text.as_bytes(), &wanted);
            for line in wanted {
                assert_eq!(hashes[&line], every[line as usize - 1], "line {line}");
            }
        }
    }
}

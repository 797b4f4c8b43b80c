//! Letters a reader does not see or sees as others: invisible characters inside a token
//! (zero-width and format characters, variation selectors, fillers) and tag characters that
//! mirror ASCII; a token in full-width, mathematical, circled or squared letters, which NFKC
//! folds back to ASCII.

use unicode_normalization::UnicodeNormalization as _;

use super::encodings::hits_where;

/// The invisible characters a token can hide behind (see `hidden_at`) and the starts of tokens
/// in compatibility letters (see `compat_ascii`) among a chunk's lead bytes.
#[inline]
pub(super) fn invisible_hits(text: &[u8], base: usize, candidates: u64) -> u64 {
    hits_where(candidates, |bit| {
        let rest = &text[base + bit..];
        hidden_at(rest).is_some() || starts_a_compat_token(rest)
    })
}

/// The character at the start of `bytes` that no reader sees, with its length and what it
/// stands for: nothing, for the characters that render as nothing (zero-width spaces and
/// joiners, direction marks and overrides, variation selectors, fillers, the soft hyphen, a
/// byte-order mark inside text), or the ASCII character a tag character mirrors (U+E0020 to
/// U+E007E, which hide a whole text in plain sight: "ASCII smuggling").
fn hidden_at(bytes: &[u8]) -> Option<(usize, Option<u8>)> {
    let len = match bytes {
        // U+00AD soft hyphen, U+034F combining grapheme joiner, U+061C Arabic letter mark.
        [0xC2, 0xAD, ..] | [0xCD, 0x8F, ..] | [0xD8, 0x9C, ..] => 2,
        // U+115F and U+1160 Hangul fillers, U+17B4 and U+17B5 (Khmer inherent vowels),
        // U+180B..U+180F (Mongolian variation selectors and vowel separator).
        [0xE1, 0x85, 0x9F | 0xA0, ..] | [0xE1, 0x9E, 0xB4 | 0xB5, ..] | [0xE1, 0xA0, 0x8B..=0x8F, ..] => 3,
        // U+200B..U+200F (zero-width space, joiners, direction marks), U+202A..U+202E
        // (embeddings and overrides), U+2060..U+2064 and U+2066..U+206F (word joiner,
        // invisible operators, isolates, deprecated format characters).
        [0xE2, 0x80, 0x8B..=0x8F | 0xAA..=0xAE, ..] | [0xE2, 0x81, 0xA0..=0xA4 | 0xA6..=0xAF, ..] => 3,
        // U+3164 and U+FFA0 (Hangul fillers), U+FE00..U+FE0F (variation selectors), U+FEFF (a
        // byte-order mark that is not at the start of the file).
        [0xE3, 0x85, 0xA4, ..]
        | [0xEF, 0xBE, 0xA0, ..]
        | [0xEF, 0xB8, 0x80..=0x8F, ..]
        | [0xEF, 0xBB, 0xBF, ..] => 3,
        // U+1BCA0..U+1BCA3 (shorthand format controls), U+1D173..U+1D17A (musical format
        // controls), U+E0100..U+E01EF (variation selectors supplement).
        [0xF0, 0x9B, 0xB2, 0xA0..=0xA3, ..]
        | [0xF0, 0x9D, 0x85, 0xB3..=0xBA, ..]
        | [0xF3, 0xA0, 0x84..=0x87, 0x80..=0xBF, ..] => 4,
        // U+E0000..U+E007F, tag characters: U+E0000 + c mirrors ASCII c.
        [0xF3, 0xA0, third @ (0x80 | 0x81), fourth @ 0x80..=0xBF, ..] => {
            let ascii = (third & 1) << 6 | (fourth & 0x3F);
            return Some((4, (0x20..0x7F).contains(&ascii).then_some(ascii)));
        }
        _ => return None,
    };
    Some((len, None))
}

/// The ASCII character a full-width form (U+FF01..U+FF5E, `ｇ`, `＿`, `０`) stands for, or the
/// ideographic space's space, at the start of `bytes`.
fn full_width(bytes: &[u8]) -> Option<u8> {
    match bytes {
        [0xEF, 0xBC, low @ 0x81..=0xBF, ..] => Some(low - 0x81 + 0x21),
        [0xEF, 0xBD, low @ 0x80..=0x9E, ..] => Some(low - 0x80 + 0x60),
        [0xE3, 0x80, 0x80, ..] => Some(b' '),
        _ => None,
    }
}

/// The ASCII character a compatibility character at the start of `bytes` stands for (what NFKC
/// folds it to), and its length: full-width forms (`ｇ`, `＿`), mathematical letters and digits
/// (`𝐠`, `𝕘`, `𝟎`, U+1D400..U+1D7FF), circled and squared ones (`ⓖ`, `①`, `🄶`). Only those
/// blocks are asked: they are what spells a token in other letters; NFKC of any other
/// character is not looked up (a CJK or Cyrillic file has a lead byte every few bytes).
fn compat_ascii(bytes: &[u8]) -> Option<(u8, usize)> {
    if let Some(ascii) = full_width(bytes) {
        return Some((ascii, 3));
    }
    let len = match bytes {
        [0xF0, 0x9D, 0x90..=0x9F, _, ..] | [0xF0, 0x9F, 0x84..=0x86, _, ..] => 4,
        [0xE2, 0x91..=0x93, _, ..] => 3,
        _ => return None,
    };
    let character = std::str::from_utf8(&bytes[..len]).ok()?.chars().next()?;
    let mut folded = std::iter::once(character).nfkc();
    let ascii = folded.next().filter(char::is_ascii_graphic)?;
    folded.next().is_none().then_some((ascii as u8, len))
}

/// How many compatibility letters a token needs to be worth folding: CJK text writes its
/// punctuation (`（`, `：`) and the odd number full-width, lists number items `①`; a token
/// spelled in other letters has letters and digits in a row.
const COMPAT_TOKEN: usize = 4;

/// Whether `bytes` starts a token (letters, digits, `_`, `-`) with at least `COMPAT_TOKEN`
/// compatibility letters among its first 64 bytes (ASCII ones may stand between them).
fn starts_a_compat_token(bytes: &[u8]) -> bool {
    let token = |ascii: u8| ascii.is_ascii_alphanumeric() || ascii == b'_' || ascii == b'-';
    if !compat_ascii(bytes).is_some_and(|(ascii, _)| token(ascii)) {
        return false;
    }
    let mut at = 0;
    let mut compat = 0;
    while compat < COMPAT_TOKEN && at < 64 {
        match compat_ascii(&bytes[at..]) {
            Some((ascii, len)) if token(ascii) => {
                compat += 1;
                at += len;
            }
            Some(_) => break,
            None if bytes.get(at).copied().is_some_and(token) => at += 1,
            None => break,
        }
    }
    compat >= COMPAT_TOKEN
}

/// `line` with its compatibility characters (full-width, mathematical, circled, squared)
/// written in ASCII, or None when no token is spelled in them.
pub(super) fn folded_width(line: &[u8]) -> Option<Vec<u8>> {
    if !(0..line.len()).any(|at| line[at] >= 0xE2 && starts_a_compat_token(&line[at..])) {
        return None;
    }
    let mut out = Vec::with_capacity(line.len());
    let mut at = 0;
    while at < line.len() {
        match compat_ascii(&line[at..]) {
            Some((ascii, len)) => {
                out.push(ascii);
                at += len;
            }
            None => {
                out.push(line[at]);
                at += 1;
            }
        }
    }
    Some(out)
}

/// `line` without its invisible characters (tag characters read as the ASCII they mirror), or
/// None when it has none.
pub(super) fn without_invisible(line: &[u8]) -> Option<Vec<u8>> {
    // Only the lead bytes of multi-byte characters can start one (`hidden_at`).
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut at = 0;
    while let Some(found) = line[at..].iter().position(|&b| b >= 0xC2) {
        let start = at + found;
        let Some((len, stands_for)) = hidden_at(&line[start..]) else {
            at = start + 1;
            continue;
        };
        let out = out.get_or_insert_with(|| Vec::with_capacity(line.len()));
        out.extend_from_slice(&line[copied..start]);
        out.extend(stands_for);
        at = start + len;
        copied = at;
    }
    let mut out = out?;
    out.extend_from_slice(&line[copied..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_characters_read_as_the_ascii_they_mirror() {
        for ascii in 0x20u8..0x7F {
            let tag = char::from_u32(0xE0000 + u32::from(ascii)).unwrap().to_string();
            assert_eq!(hidden_at(tag.as_bytes()), Some((4, Some(ascii))));
        }
        let text: String = "k=v"
            .chars()
            .map(|c| char::from_u32(0xE0000 + c as u32).unwrap())
            .collect();
        assert_eq!(
            without_invisible(format!("a{text}b").as_bytes()).unwrap(),
            b"ak=vb"
        );
    }

    #[test]
    fn every_invisible_character_is_dropped_and_nothing_else() {
        let invisible = "\u{AD}\u{34F}\u{61C}\u{115F}\u{1160}\u{17B4}\u{17B5}\u{180B}\u{180E}\u{200B}\u{200F}\u{202A}\u{202E}\u{2060}\u{2064}\u{2066}\u{206F}\u{3164}\u{FE00}\u{FE0F}\u{FEFF}\u{FFA0}\u{1BCA0}\u{1D173}\u{E0001}\u{E007F}\u{E0100}\u{E01EF}";
        let line: String = invisible.chars().flat_map(|c| ['x', c]).collect();
        let expected = "x".repeat(invisible.chars().count());
        assert_eq!(without_invisible(line.as_bytes()).unwrap(), expected.as_bytes());
        assert_eq!(without_invisible("é ü 中文 ❤ 👩".as_bytes()), None);
    }

    #[test]
    fn mathematical_circled_and_squared_letters_fold_to_ascii() {
        let bold = "\u{1D420}\u{1D421}\u{1D429}_\u{1D7CF}\u{1D7D0}"; // ghp_12
        assert_eq!(folded_width(bold.as_bytes()).unwrap(), b"ghp_12");
        let circled = "\u{24D6}\u{24D7}\u{24DF}\u{24D0}"; // ghpa
        assert_eq!(folded_width(circled.as_bytes()).unwrap(), b"ghpa");
        let squared = "\u{1F130}\u{1F13A}\u{1F138}\u{1F130}"; // AKIA
        assert_eq!(folded_width(squared.as_bytes()).unwrap(), b"AKIA");
        // Fewer than four such letters, or ones that fold to more than a character, are text.
        assert_eq!(folded_width("𝑥 + 𝑦 = 𝑧, ① ② ③".as_bytes()), None);
        assert_eq!(folded_width("⑴⑵⑶⑷".as_bytes()), None);
    }
}

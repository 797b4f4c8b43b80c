//! Hex dumps: `xxd`, `hexdump -C`, `od -t x1` and `hexdump`/`od -x` write a file as lines of
//! an offset and hex bytes (and, beside them, the bytes as text, sixteen to a line). A token in
//! the dumped file is in no line whole, in either column: its bytes are read back here, every
//! dump line after the first joined to it.

/// The starts of the lines where the decoded view reads a dump, in order, given where lines
/// that may open one have their first byte (`openers::Openers`): a dump's first line (any line that
/// reads as one: its offset may be any number, as `xxd -s` and `xxd -o` write it or an excerpt
/// of a longer dump has it), and in a dump longer than one read (`max` lines after the first),
/// the line each next read starts at.
pub(super) fn starts(text: &[u8], openers: &[usize], max: usize) -> Vec<usize> {
    let mut starts: Vec<usize> = Vec::new();
    // Each line is looked at once: a dump's lines are stepped over once read.
    let mut looked_at = 0;
    for &first_byte in openers {
        if first_byte < looked_at {
            continue;
        }
        let line_start = super::openers::line_start(text, first_byte);
        let end = line_end(text, first_byte);
        looked_at = end;
        let Some(first) = first_line(&text[line_start..end]) else {
            continue;
        };
        starts.push(line_start);
        for (index, (next_end, _)) in following(text, end, &first).enumerate() {
            if (index + 1) % (max + 1) == 0 {
                starts.push(looked_at + 1);
            }
            looked_at = next_end;
        }
    }
    starts
}

/// Whether `line` opens a dump: the line where the dump reader starts reading.
pub(super) fn opens_a_dump(line: &[u8]) -> bool {
    may_open(line.trim_ascii_start()) && first_line(line).is_some()
}

/// Whether a line whose first byte past its blanks starts `rest` may open a dump: four hex
/// digits (an offset), or `0x` and a digit (a list of codes).
pub(super) fn may_open(rest: &[u8]) -> bool {
    rest.get(..4).is_some_and(|head| {
        head.iter().all(u8::is_ascii_hexdigit) || head.starts_with(b"0x") && head[2].is_ascii_hexdigit()
    })
}

/// How many dump lines past the end of a read are read with it, not taken: a token that a
/// read's end cuts is whole in the read before (128 bytes of `xxd`).
const LOOKAHEAD_LINES: usize = 8;

/// The dump that starts at `start`: the bytes of its lines (that line and at most `max` dump
/// lines after it, whose groups are as wide, and a few more not taken when `max` stops it),
/// read in order and, where a dump writes 16-bit words in the machine's order (`hexdump`,
/// `od -x`: no colon after the offset), read swapped too, after a tab; where the text taken
/// ends, and how many lines were joined. None when the line is no dump line.
pub(super) fn dump(text: &[u8], start: usize, max: usize) -> Option<(Vec<u8>, usize, usize)> {
    let mut end = line_end(text, start);
    let first = first_line(&text[start..end])?;
    let mut bytes = first.bytes.clone();
    let mut continued = 0;
    for (line_end, line) in following(text, end, &first).take(max) {
        bytes.extend_from_slice(&line);
        end = line_end;
        continued += 1;
    }
    if continued == max {
        for (_, line) in following(text, end, &first).take(LOOKAHEAD_LINES) {
            bytes.extend_from_slice(&line);
        }
    }
    if first.width == 4 && !first.colon {
        let swapped: Vec<u8> = bytes
            .chunks(2)
            .flat_map(|pair| pair.iter().rev().copied())
            .collect();
        bytes.push(b'\t');
        bytes.extend_from_slice(&swapped);
    }
    Some((bytes, end, continued))
}

fn line_end(text: &[u8], from: usize) -> usize {
    memchr::memchr(b'\n', &text[from..]).map_or(text.len(), |nl| from + nl)
}

/// The dump lines after the line ending at `end` that go on the dump `first` opens (groups as
/// wide, a colon alike): each one's end and bytes.
fn following<'t>(
    text: &'t [u8],
    mut end: usize,
    first: &DumpLine,
) -> impl Iterator<Item = (usize, Vec<u8>)> + 't {
    let (width, colon) = (first.width, first.colon);
    std::iter::from_fn(move || {
        if end >= text.len() {
            return None;
        }
        let next_end = line_end(text, end + 1);
        let line =
            parse(&text[end + 1..next_end]).filter(|line| line.width == width && line.colon == colon)?;
        end = next_end;
        Some((next_end, line.bytes))
    })
}

/// One dump line read: its bytes, the width of its groups in hex digits, and whether a colon
/// follows its offset (`xxd`).
struct DumpLine {
    bytes: Vec<u8>,
    width: usize,
    colon: bool,
}

/// The fewest bytes a dump line holds before its last: a shorter line of hex is a table row or
/// a version, not a dump.
const MIN_BYTES: usize = 4;

/// A dump's first line: one that holds a few bytes at least.
fn first_line(line: &[u8]) -> Option<DumpLine> {
    parse(line).filter(|read| read.bytes.len() >= MIN_BYTES)
}

/// Reads a dump line: blanks, an offset of 4 to 16 hex digits (and a colon), then groups of 2,
/// 4 or 8 hex digits one space apart (two in the middle of `hexdump -C`'s sixteen), up to two
/// spaces or the line's end; what follows is the text column, not read.
fn parse(line: &[u8]) -> Option<DumpLine> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = line.trim_ascii_start();
    if line.starts_with(b"0x") {
        return codes(line);
    }
    let offset = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if !(4..=16).contains(&offset) {
        return None;
    }
    let mut rest = &line[offset..];
    let colon = rest.first() == Some(&b':');
    if colon {
        rest = &rest[1..];
    }
    let mut bytes = Vec::new();
    let mut width = 0;
    let mut groups = 0;
    loop {
        let spaces = rest.iter().take_while(|&&b| b == b' ').count();
        let midpoint = width == 2 && groups == 8;
        if spaces == 0 || spaces > 1 && !(spaces == 2 && midpoint) && groups > 0 {
            break;
        }
        let digits = rest[spaces..]
            .iter()
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        let ends = rest.get(spaces + digits).is_none_or(|&b| b == b' ');
        if digits == 0 || !ends || groups > 0 && digits > width || !matches!(digits, 2 | 4 | 8) {
            break;
        }
        if groups == 0 {
            width = digits;
        }
        let group = &rest[spaces..spaces + digits];
        bytes.extend(
            group
                .chunks(2)
                .map(|pair| hex_byte(pair[0]) << 4 | hex_byte(pair[1])),
        );
        groups += 1;
        rest = &rest[spaces + digits..];
    }
    (groups > 0).then_some(DumpLine { bytes, width, colon })
}

/// Reads a line of byte codes, as `xxd -i` and `bin2c` write a file into C (and Go's, Rust's
/// and Java's byte arrays are written): `0x` and one or two hex digits each, a comma after
/// each but perhaps the last, then nothing but the brackets and semicolon that close the list.
/// Its width is 0, which no line of offsets has.
fn codes(line: &[u8]) -> Option<DumpLine> {
    let mut bytes = Vec::new();
    let mut rest = line;
    while let Some(after) = rest.strip_prefix(b"0x") {
        let digits = after.iter().take(3).take_while(|b| b.is_ascii_hexdigit()).count();
        if !(1..=2).contains(&digits) {
            return None;
        }
        let value = after[..digits]
            .iter()
            .fold(0u8, |value, &digit| value << 4 | hex_byte(digit));
        bytes.push(value);
        rest = &after[digits..];
        let Some(next) = rest.strip_prefix(b",") else {
            break;
        };
        rest = next.trim_ascii_start();
    }
    rest.iter()
        .all(|b| b.is_ascii_whitespace() || b"})];".contains(b))
        .then_some(DumpLine {
            bytes,
            width: 0,
            colon: false,
        })
}

fn hex_byte(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `starts` over the openers the classifying pass finds.
    fn starts_in(text: &[u8], max: usize) -> Vec<usize> {
        let mut openers = super::super::openers::Openers::new();
        for (base, masks) in super::super::classes::chunks(text) {
            openers.step(text, base, &masks);
        }
        starts(text, &openers.dumps, max)
    }

    const XXD: &str = "00000000: 5b64 6570 6c6f 795d 0a72 6567 696f 6e20  [deploy].region \n\
                       00000010: 3d20 2265 752d 7765 7374 2d31 220a 7265  = \"eu-west-1\".re\n\
                       00000020: 706c 6963 6173 203d 2033 0a              plicas = 3.\n";

    #[test]
    fn xxd_and_hexdump_c_lines_are_read_back_joined() {
        let (bytes, end, continued) = dump(XXD.as_bytes(), 0, 6).unwrap();
        assert_eq!(bytes, b"[deploy]\nregion = \"eu-west-1\"\nreplicas = 3\n");
        assert_eq!((end, continued), (XXD.len() - 1, 2));
        let hexdump = "00000000  5b 64 65 70 6c 6f 79 5d  0a 72 65 67 69 6f 6e 20  |[deploy].region |\n\
                       00000010  3d 20 0a                                          |= .|\n";
        let (bytes, _, continued) = dump(hexdump.as_bytes(), 0, 6).unwrap();
        assert_eq!(bytes, b"[deploy]\nregion = \n");
        assert_eq!(continued, 1);
        assert_eq!(starts_in(hexdump.as_bytes(), 6), vec![0]);
    }

    #[test]
    fn a_long_dump_is_read_in_parts_that_overlap_at_their_ends() {
        let line = |n: usize| {
            format!(
                "{:08x}: 6162 6364 6566 6768 696a 6b6c 6d6e 6f70  abcdefghijklmnop\n",
                16 * n
            )
        };
        let text: String = (0..25).map(line).collect();
        let text = text.as_bytes();
        // Parts of 1 + 9 lines, each part's start a candidate though its offset has no zeros.
        let starts = starts_in(text, 9);
        assert_eq!(starts.len(), 3);
        assert_eq!(starts[1], 10 * line(0).len());
        let (bytes, end, continued) = dump(text, starts[1], 9).unwrap();
        assert_eq!((end, continued), (20 * line(0).len() - 1, 9));
        // Ten lines taken, five more read past the end (all there are).
        assert_eq!(bytes.len(), 16 * 15);
        let (bytes, _, continued) = dump(text, starts[2], 9).unwrap();
        assert_eq!((bytes.len(), continued), (16 * 5, 4));
    }

    #[test]
    fn a_dump_with_any_offset_is_found() {
        let excerpt = "  00012340: 5b64 6570 6c6f 795d 0a72 6567 696f 6e20  [deploy].region \n\
                       \x20 00012350: 3d20 0a                                  = .\n";
        assert_eq!(starts_in(excerpt.as_bytes(), 6), vec![0]);
        let (bytes, _, continued) = dump(excerpt.as_bytes(), 0, 6).unwrap();
        assert_eq!((bytes.as_slice(), continued), (&b"[deploy]\nregion = \n"[..], 1));
    }

    #[test]
    fn a_dump_line_is_found_wherever_the_chunks_of_the_classifying_pass_cut_it() {
        let dump = "00012340: 5b64 6570 6c6f 795d 0a72 6567 696f 6e20  [deploy].region \n";
        for before in 0..140 {
            for indent in [0, 1, 3, 63, 64, 70] {
                let text = format!("{}\n{}{dump}", "x".repeat(before), " ".repeat(indent));
                assert_eq!(
                    starts_in(text.as_bytes(), 6),
                    vec![before + 1],
                    "{before} {indent}"
                );
            }
        }
    }

    #[test]
    fn lists_of_byte_codes_over_lines_are_read_back_joined() {
        let text = "unsigned char conf[] = {\n  0x5b, 0x64, 0x65, 0x70, 0x6c, 0x6f,\n  0x79, 0x5d, 0xa\n};\n";
        let first = text.find("  0x").unwrap();
        assert_eq!(starts_in(text.as_bytes(), 6), vec![first]);
        let (bytes, _, continued) = dump(text.as_bytes(), first, 6).unwrap();
        assert_eq!((bytes.as_slice(), continued), (&b"[deploy]\n"[..], 1));
        for line in [
            "0x5b, 0x64, 0x65",
            "0x5b, 0x64, 0x65, 0x70 + 1",
            "0x123, 0x64, 0x65, 0x70,",
        ] {
            assert!(first_line(line.as_bytes()).is_none(), "{line}");
        }
    }

    #[test]
    fn words_in_the_machines_order_are_read_swapped_too() {
        let od = "0000000 6f74 656b 206e 203d\n";
        let (bytes, _, _) = dump(od.as_bytes(), 0, 6).unwrap();
        assert_eq!(bytes, b"otek n =\ttoken = ");
    }

    #[test]
    fn lines_that_only_look_like_hex_are_no_dump() {
        for line in [
            "0000 is the code",
            "00000000: ok",
            "2024 10 12",
            "  0000  ",
            "00000000 deadbeefcafe",
            "0000: 12 34",
        ] {
            assert!(first_line(line.as_bytes()).is_none(), "{line}");
            assert!(starts_in(line.as_bytes(), 6).is_empty(), "{line}");
        }
    }
}

//! uuencoded files: `uuencode`, Python's `binascii.b2a_uu` and mail of old write a file as a
//! `begin 644 name` line, then lines of a length character and four characters per three bytes
//! (each a six-bit value plus 32, `` ` `` for 0), then `end`. A token in the file is on no line
//! of the text; the file is read back here whole.

/// What the line that opens a uuencoded file starts with.
pub(super) const MARKER: &[u8] = b"begin ";

/// The file uuencoded from the `begin` line at `start`: its bytes, where its last line ends and
/// how many lines follow the first. None when the line is no `begin MODE NAME` line or no data
/// line follows it; a line that is no data line ends the file there.
pub(super) fn read(text: &[u8], start: usize) -> Option<(Vec<u8>, usize, usize)> {
    let rest = text[start..].trim_ascii_start();
    if !rest.starts_with(MARKER) {
        return None;
    }
    let mut end = memchr::memchr(b'\n', &text[start..]).map_or(text.len(), |nl| start + nl);
    if !is_begin_line(text[start..end].trim_ascii()) {
        return None;
    }
    let mut bytes = Vec::new();
    let mut continued = 0;
    let mut data_lines = 0;
    while end < text.len() {
        let next_end = memchr::memchr(b'\n', &text[end + 1..]).map_or(text.len(), |nl| end + 1 + nl);
        let line = &text[end + 1..next_end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line == b"end" {
            end = next_end;
            continued += 1;
            break;
        }
        if !decode_line(line, &mut bytes) {
            break;
        }
        end = next_end;
        continued += 1;
        data_lines += 1;
    }
    (data_lines > 0 && !bytes.is_empty()).then_some((bytes, end, continued))
}

/// `begin`, a mode of three or four octal digits, a name.
fn is_begin_line(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(MARKER) else {
        return false;
    };
    let mode = rest.iter().take_while(|b| (b'0'..=b'7').contains(b)).count();
    (3..=4).contains(&mode) && rest.get(mode) == Some(&b' ') && rest.len() > mode + 1
}

/// Appends the bytes of one data line to `out` (a line of length 0, the one before `end`,
/// appends nothing); false when the line is not one.
fn decode_line(line: &[u8], out: &mut Vec<u8>) -> bool {
    let Some((&first, chars)) = line.split_first() else {
        return false;
    };
    let value = |c: u8| (c.wrapping_sub(b' ')) & 0x3f;
    if !(b' '..=b'`').contains(&first) || !chars.iter().all(|c| (b' '..=b'`').contains(c)) {
        return false;
    }
    let length = usize::from(value(first));
    let needed = length.div_ceil(3) * 4;
    if chars.len() < needed || length > 45 {
        return false;
    }
    let mut decoded = Vec::with_capacity(needed / 4 * 3);
    for group in chars[..needed].chunks(4) {
        let [a, b, c, d] = [group[0], group[1], group[2], group[3]].map(value);
        decoded.extend_from_slice(&[a << 2 | b >> 4, b << 4 | c >> 2, c << 6 | d]);
    }
    out.extend_from_slice(&decoded[..length]);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uuencoded_file_is_read_back() {
        // What `uuencode app.conf` writes of `region = eu-west-1\nreplicas = 3\n`.
        let text = b"begin 644 app.conf\n@<F5G:6]N(#T@974M=V5S=\"TQ\"G)E<&QI8V%S(#T@,PH`\n`\nend\n";
        let (bytes, end, continued) = read(text, 0).unwrap();
        assert_eq!(bytes, b"region = eu-west-1\nreplicas = 3\n");
        assert_eq!((end, continued), (text.len() - 1, 3));
    }

    #[test]
    fn lines_that_are_no_uuencoded_file_read_as_none() {
        assert!(read(b"begin 644 app.conf\nnot data {}\n", 0).is_none());
        assert!(read(b"begin the work\nM\n", 0).is_none());
        assert!(read(b"beginning\n", 0).is_none());
    }
}

//! Hex dumps, byte-code lists, git binary patches and uuencoding of a file, written here as the tools
//! write them, so the tests need no `xxd` on the machine.

/// The dump tools' formats: an offset (counted from `base`, as `xxd -o` or an excerpt of a
/// longer dump has it), then the bytes in groups, then (some of them) the bytes as text.
pub fn hex_dumps(bytes: &[u8], base: usize) -> Vec<(&'static str, String)> {
    let hex = |chunk: &[u8], width: usize, swapped: bool| -> Vec<String> {
        chunk
            .chunks(width)
            .map(|group| {
                let mut group = group.to_vec();
                if swapped {
                    group.reverse();
                }
                group.iter().map(|b| format!("{b:02x}")).collect()
            })
            .collect()
    };
    let text = |chunk: &[u8]| -> String {
        chunk
            .iter()
            .map(|&b| if (0x20..0x7f).contains(&b) { b as char } else { '.' })
            .collect()
    };
    let mut xxd = String::new();
    let mut hexdump_c = String::new();
    let mut od = String::new();
    let mut hexdump = String::new();
    for (line, chunk) in bytes.chunks(16).enumerate() {
        let offset = base + line * 16;
        let groups = hex(chunk, 2, false).join(" ");
        xxd.push_str(&format!("{offset:08x}: {groups:<39}  {}\n", text(chunk)));
        let bytes = hex(chunk, 1, false);
        let (left, right) = bytes.split_at(bytes.len().min(8));
        let columns = format!("{}  {}", left.join(" "), right.join(" "));
        hexdump_c.push_str(&format!("{offset:08x}  {columns:<48}  |{}|\n", text(chunk)));
        od.push_str(&format!("{offset:06x} {}  >{}<\n", bytes.join(" "), text(chunk)));
        hexdump.push_str(&format!("{offset:07x} {}\n", hex(chunk, 2, true).join(" ")));
    }
    vec![
        ("dump.xxd", xxd),
        ("dump.hexdump", hexdump_c),
        ("dump.od", od),
        ("dump.words", hexdump),
    ]
}

/// `bytes` as `xxd -i NAME` writes them into C: twelve codes a line.
pub fn xxd_include(bytes: &[u8], name: &str) -> String {
    let lines: Vec<String> = bytes
        .chunks(12)
        .map(|chunk| {
            let codes: Vec<String> = chunk.iter().map(|b| format!("0x{b:02x}")).collect();
            format!("  {}", codes.join(", "))
        })
        .collect();
    format!(
        "unsigned char {name}[] = {{\n{}\n}};\nunsigned int {name}_len = {};\n",
        lines.join(",\n"),
        bytes.len()
    )
}

/// A `GIT binary patch` of `hunks` as git writes it: each hunk (`literal N` with a file's bytes,
/// or `delta N` with a delta's) deflated, in base85 lines of up to 52 bytes with a length
/// letter in front, and a blank line after it.
pub fn git_binary_patch(hunks: &[(&str, &[u8])]) -> String {
    const ALPHABET: &[u8; 85] =
        b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~";
    let mut out = String::from("GIT binary patch\n");
    for (kind, bytes) in hunks {
        out.push_str(&format!("{kind} {}\n", bytes.len()));
        for chunk in super::compress::zlib(bytes).chunks(52) {
            let length = chunk.len() as u8;
            out.push(if length <= 26 {
                b'A' + length - 1
            } else {
                b'a' + length - 27
            } as char);
            for group in chunk.chunks(4) {
                let mut word = [0u8; 4];
                word[..group.len()].copy_from_slice(group);
                let mut value = u32::from_be_bytes(word);
                let mut digits = [0u8; 5];
                for digit in digits.iter_mut().rev() {
                    *digit = ALPHABET[(value % 85) as usize];
                    value /= 85;
                }
                out.push_str(std::str::from_utf8(&digits).unwrap());
            }
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

/// A git delta that makes `base` with `inserted` put in its middle: the sizes, a copy of the
/// first half, the inserts (127 bytes at most each), a copy of the second half.
pub fn git_delta_inserting(base: &[u8], inserted: &[u8]) -> Vec<u8> {
    let size = |mut n: usize, out: &mut Vec<u8>| loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    };
    let half = base.len() / 2;
    let copy = |offset: usize, len: usize, out: &mut Vec<u8>| {
        out.push(0x80 | 0x0f | 0x30);
        out.extend_from_slice(&(offset as u32).to_le_bytes());
        out.extend_from_slice(&(len as u16).to_le_bytes());
    };
    let mut delta = Vec::new();
    size(base.len(), &mut delta);
    size(base.len() + inserted.len(), &mut delta);
    copy(0, half, &mut delta);
    for piece in inserted.chunks(127) {
        delta.push(piece.len() as u8);
        delta.extend_from_slice(piece);
    }
    copy(half, base.len() - half, &mut delta);
    delta
}

/// `bytes` as `uuencode NAME` writes them: `begin 644 NAME`, lines of 45 bytes (a length
/// character, four characters per three bytes, `` ` `` for 0), a zero-length line and `end`.
pub fn uuencode(bytes: &[u8], name: &str) -> String {
    let char_of = |six: u8| if six == 0 { '`' } else { (six + b' ') as char };
    let mut out = format!("begin 644 {name}\n");
    for line in bytes.chunks(45) {
        out.push(char_of(line.len() as u8));
        for group in line.chunks(3) {
            let mut three = [0u8; 3];
            three[..group.len()].copy_from_slice(group);
            let [a, b, c] = three;
            for six in [a >> 2, (a & 3) << 4 | b >> 4, (b & 15) << 2 | c >> 6, c & 63] {
                out.push(char_of(six));
            }
        }
        out.push('\n');
    }
    out.push_str("`\nend\n");
    out
}

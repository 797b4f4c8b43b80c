//! Hex dumps and byte-code lists of a file, written here as the tools write them, so the tests
//! need no `xxd` on the machine.

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

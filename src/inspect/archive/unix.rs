//! The archives Unix packages are made of: `ar` (a Debian `.deb`, whose `data.tar.*` holds the
//! package's files, and static libraries `.a`), cpio (an RPM's payload, initramfs images) and
//! RPM packages (a lead and two headers in front of a compressed cpio payload). Each is a run of
//! small fixed headers, read here by hand: the `ar` crate allocates a name table of whatever
//! size a header declares and indexes it unchecked, which a hostile archive turns into an
//! abort. Every size is checked against what is left of the budget before anything is read.

use std::cell::RefCell;
use std::io::Read;

use super::{take_member, Budget, Member};

/// What an `ar` archive starts with.
pub const AR_MAGIC: &[u8] = b"!<arch>\n";

/// An RPM's lead starts with these four bytes; its signature header follows at byte 96.
const RPM_LEAD: &[u8] = &[0xed, 0xab, 0xee, 0xdb];
const RPM_LEAD_SIZE: usize = 96;
/// Both of an RPM's headers start with these bytes.
const RPM_HEADER: &[u8] = &[0x8e, 0xad, 0xe8, 0x01];

/// A name in a cpio or `ar` header longer than any path a file system takes is a broken or
/// hostile archive, not a name to allocate.
const LONGEST_NAME: u64 = 4096;

/// Whether the first block is an RPM package: its lead, then its signature header where the
/// lead ends (four bytes alone could start any binary).
pub fn is_rpm(first_block: &[u8]) -> bool {
    first_block.starts_with(RPM_LEAD) && first_block.get(RPM_LEAD_SIZE..RPM_LEAD_SIZE + 4) == Some(RPM_HEADER)
}

/// Whether the first block starts a cpio archive in one of the portable formats: "newc" (and
/// its checksummed twin), whose header is 13 fields of 8 hex digits, or "odc", whose header is
/// octal. The whole header must read, with a file type in its mode and a NUL ending the name
/// where its size says, so a text file that starts with `070701` stays text.
pub fn is_cpio(first_block: &[u8]) -> bool {
    let Some(kind) = CpioKind::of(first_block) else {
        return false;
    };
    let header_len = kind.header_len();
    let Some(fields) = first_block.get(6..header_len) else {
        return false;
    };
    if !fields.iter().all(|&digit| kind.is_digit(digit)) {
        return false;
    }
    let Ok((mode, name_size, _)) = kind.fields(&first_block[..header_len]) else {
        return false;
    };
    const FILE_TYPES: [u64; 7] = [
        0o010000, 0o020000, 0o040000, 0o060000, 0o100000, 0o120000, 0o140000,
    ];
    (1..=LONGEST_NAME).contains(&name_size)
        && FILE_TYPES.contains(&(mode & 0o170000))
        && first_block.get(header_len + name_size as usize - 1) == Some(&0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CpioKind {
    /// `070701` and `070702`: hex fields, names and data padded to four bytes.
    New,
    /// `070707`: octal fields, no padding.
    Portable,
}

impl CpioKind {
    fn of(magic: &[u8]) -> Option<CpioKind> {
        match magic.get(..6)? {
            b"070701" | b"070702" => Some(CpioKind::New),
            b"070707" => Some(CpioKind::Portable),
            _ => None,
        }
    }

    fn header_len(self) -> usize {
        match self {
            CpioKind::New => 110,
            CpioKind::Portable => 76,
        }
    }

    fn is_digit(self, byte: u8) -> bool {
        match self {
            CpioKind::New => byte.is_ascii_hexdigit(),
            CpioKind::Portable => (b'0'..=b'7').contains(&byte),
        }
    }

    /// The header's (mode, name size, file size).
    fn fields(self, header: &[u8]) -> Result<(u64, u64, u64), String> {
        let number = |range: std::ops::Range<usize>, radix: u32| {
            std::str::from_utf8(&header[range])
                .ok()
                .and_then(|digits| u64::from_str_radix(digits, radix).ok())
                .ok_or_else(|| "a cpio header with a field that is not a number".to_string())
        };
        match self {
            CpioKind::New => Ok((number(14..22, 16)?, number(94..102, 16)?, number(54..62, 16)?)),
            CpioKind::Portable => Ok((number(18..24, 8)?, number(59..65, 8)?, number(65..76, 8)?)),
        }
    }

    /// What follows `length` bytes to bring them to the format's alignment.
    fn padding(self, length: u64) -> u64 {
        match self {
            CpioKind::New => (4 - length % 4) % 4,
            CpioKind::Portable => 0,
        }
    }
}

/// Every regular file of a cpio archive, in order.
pub fn cpio_members(
    mut reader: impl Read,
    largest: u64,
    budget: &RefCell<Budget>,
    visit: &mut dyn FnMut(Member),
) -> Result<(), String> {
    loop {
        let mut header = [0u8; 110];
        read_exactly(&mut reader, &mut header[..6], "a cpio header")?;
        let kind = CpioKind::of(&header)
            .ok_or_else(|| "a cpio archive with a broken header (its members are not aligned)".to_string())?;
        let header = &mut header[..kind.header_len()];
        read_exactly(&mut reader, &mut header[6..], "a cpio header")?;
        let (mode, name_size, size) = kind.fields(header)?;
        if name_size == 0 || name_size > LONGEST_NAME {
            return Err(format!("a cpio member name of {name_size} bytes"));
        }
        let mut name = vec![0u8; name_size as usize];
        read_exactly(&mut reader, &mut name, "a cpio member name")?;
        skip(&mut reader, kind.padding(header.len() as u64 + name_size))?;
        let name = String::from_utf8_lossy(name.strip_suffix(&[0]).unwrap_or(&name)).into_owned();
        if name == "TRAILER!!!" {
            return Ok(());
        }
        const REGULAR_FILE: u64 = 0o100000;
        // A directory, a link (its target is its data) or a device is skipped.
        let name = (mode & 0o170000 == REGULAR_FILE).then(|| name.trim_start_matches("./").to_string());
        take_or_skip(name, &mut reader, size, (largest, budget, visit))?;
        skip(&mut reader, kind.padding(size))?;
    }
}

/// Every member of an `ar` archive but its symbol and name tables, in order. Long names are
/// read from GNU's name table (`/123`) or after a BSD header (`#1/17`).
pub fn ar_members(
    mut reader: impl Read,
    largest: u64,
    budget: &RefCell<Budget>,
    visit: &mut dyn FnMut(Member),
) -> Result<(), String> {
    let mut magic = [0u8; 8];
    read_exactly(&mut reader, &mut magic, "an ar archive's signature")?;
    if magic != AR_MAGIC {
        return Err("not an ar archive".to_string());
    }
    let mut long_names: Vec<u8> = Vec::new();
    loop {
        let mut header = [0u8; 60];
        // The archive may end only where a member's header would start.
        let first = read_some(&mut reader, &mut header)?;
        if first == 0 {
            return Ok(());
        }
        read_exactly(&mut reader, &mut header[first..], "an ar member header")?;
        if &header[58..60] != b"`\n" {
            return Err("an ar member header without its end marker".to_string());
        }
        let field =
            |range: std::ops::Range<usize>| String::from_utf8_lossy(&header[range]).trim_end().to_string();
        let identifier = field(0..16);
        let mut size: u64 = field(48..58)
            .parse()
            .map_err(|_| format!("ar member {identifier}: a size that is not a number"))?;
        let padding = size % 2;
        let name = if identifier == "/" || identifier == "/SYM64/" {
            None // GNU's symbol table.
        } else if identifier == "//" {
            if size > LONGEST_NAME * 1024 {
                return Err(format!("an ar name table of {size} bytes"));
            }
            long_names = vec![0; size as usize];
            read_exactly(&mut reader, &mut long_names, "an ar name table")?;
            size = 0;
            None
        } else if let Some(offset) = identifier.strip_prefix('/') {
            let start: usize = offset
                .parse()
                .map_err(|_| format!("ar member {identifier}: not a name table reference"))?;
            let rest = long_names
                .get(start..)
                .ok_or_else(|| format!("ar member {identifier}: past the end of the name table"))?;
            let end = rest.iter().position(|&b| b == b'/' || b == b'\n' || b == 0);
            Some(String::from_utf8_lossy(&rest[..end.unwrap_or(rest.len())]).into_owned())
        } else if let Some(length) = identifier.strip_prefix("#1/") {
            let length: u64 = length
                .parse()
                .map_err(|_| format!("ar member {identifier}: a name length that is not a number"))?;
            if length > size || length > LONGEST_NAME {
                return Err(format!("ar member {identifier}: a name longer than its member"));
            }
            let mut name = vec![0u8; length as usize];
            read_exactly(&mut reader, &mut name, "an ar member name")?;
            size -= length;
            let name = String::from_utf8_lossy(name.split(|&b| b == 0).next().unwrap_or(&[]));
            // BSD's symbol tables.
            (!name.starts_with("__.SYMDEF")).then(|| name.into_owned())
        } else {
            Some(identifier.trim_end_matches('/').to_string())
        };
        take_or_skip(name, &mut reader, size, (largest, budget, visit))?;
        // A member of odd length is followed by a newline; the last one may leave it out.
        let mut pad = [0u8; 1];
        if padding == 1 && read_some(&mut reader, &mut pad)? == 0 {
            return Ok(());
        }
    }
}

/// An RPM's payload (a compressed cpio archive), as its one member: the lead and both headers
/// are stepped over by their declared sizes. The member is named by its compression so that
/// the name says what is inside (`payload.cpio.gz`).
pub fn rpm_payload(
    mut reader: impl Read,
    largest: u64,
    budget: &RefCell<Budget>,
    visit: &mut dyn FnMut(Member),
) -> Result<(), String> {
    skip(&mut reader, RPM_LEAD_SIZE as u64)?;
    for (which, aligned) in [("signature", true), ("main", false)] {
        let mut header = [0u8; 16];
        read_exactly(&mut reader, &mut header, "an RPM header")?;
        if &header[..4] != RPM_HEADER {
            return Err(format!("an RPM whose {which} header is broken"));
        }
        let count = u64::from(u32::from_be_bytes(header[8..12].try_into().expect("4 bytes")));
        let data = u64::from(u32::from_be_bytes(header[12..16].try_into().expect("4 bytes")));
        let length = 16 + 16 * count + data;
        // The signature header is padded to eight bytes.
        let padding = if aligned { (8 - length % 8) % 8 } else { 0 };
        skip(&mut reader, length - 16 + padding)?;
    }
    let mut payload = Vec::new();
    (&mut reader)
        .take(16)
        .read_to_end(&mut payload)
        .map_err(|err| format!("an RPM payload: {err}"))?;
    let suffix = match super::format(&payload) {
        Some(super::Format::Compressed(codec)) => codec
            .suffixes()
            .iter()
            .find(|(_, instead)| instead.is_empty())
            .map_or("", |(suffix, _)| *suffix),
        _ => "",
    };
    let name = format!("payload.cpio{suffix}");
    // The payload's length is not declared: it is whatever follows, read within the budget.
    let mut whole = payload.as_slice().chain(reader);
    let bytes = super::read_bounded(&mut whole, &name, 1 << 20, largest, &budget.borrow())?;
    let size = bytes.len() as u64;
    budget.borrow_mut().take(&name, size, size)?;
    visit(Member { name, bytes });
    Ok(())
}

/// The next `size` bytes, stored as they are: a member named `name`, taken out of the budget
/// and handed on, or (no name: a table, a directory, a link) stepped over.
fn take_or_skip(
    name: Option<String>,
    reader: &mut impl Read,
    size: u64,
    (largest, budget, visit): (u64, &RefCell<Budget>, &mut dyn FnMut(Member)),
) -> Result<(), String> {
    match name {
        Some(name) => take_member(name, &mut reader.take(size), (size, size), largest, budget, visit),
        None => skip(reader, size),
    }
}

/// Fills `buffer`, or says what ended too soon.
fn read_exactly(reader: &mut impl Read, buffer: &mut [u8], what: &str) -> Result<(), String> {
    reader
        .read_exact(buffer)
        .map_err(|err| format!("{what} ends too soon: {err}"))
}

/// Reads until `buffer` is full or the input ends; how much was read.
fn read_some(reader: &mut impl Read, buffer: &mut [u8]) -> Result<usize, String> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err.to_string()),
        }
    }
    Ok(filled)
}

/// Steps over `length` bytes, which must be there.
fn skip(reader: &mut impl Read, length: u64) -> Result<(), String> {
    let skipped =
        std::io::copy(&mut reader.take(length), &mut std::io::sink()).map_err(|err| err.to_string())?;
    if skipped < length {
        return Err(format!(
            "an archive that ends {} bytes too soon",
            length - skipped
        ));
    }
    Ok(())
}

//! Archives are looked into: a jar holding `.env` and `id_rsa` is a jar holding secrets. The zip
//! family (zip, jar, war, ear, whl, nupkg, apk, aar: recognised by their bytes, not their names),
//! tar, and the compressed streams gzip, xz, bzip2, zstd and lz4 (so tar.gz, tgz, tar.xz,
//! tar.bz2, tar.zst), the archives of Unix packages (`ar` as in `.deb` and `.a`, cpio, RPM:
//! `unix.rs`), 7z (`sevenz.rs`), and git pack files (`pack.rs`: each object a member) are opened, and each
//! member becomes a fragment of its own, named `archive.jar!/path/inside`, inspected like any
//! file (archives nested in archives included).
//! Opening is bounded: nesting depth, number of members, bytes expanded in all, and the expansion
//! ratio of each member. Past a bound the archive is reported as not inspected (the scan is
//! incomplete, exit 2) with a message that says which bound: a zip bomb never hangs the gate or
//! exhausts its memory, and never passes it.
//!
//! Formats anteater recognises but cannot open (RAR, CAB, compress's `.Z`, lzip) are searched
//! as binaries and named in the run's notes, so a reviewer knows what went unread.

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Cursor, Read, Seek};

use crate::fragment::Content;

use bounded::{decode, entry_size_hint, read_bounded, zip_lzma, CountingReader};
pub(super) use bounded::{decode_within, room};

mod bounded;
pub mod carve;
mod deflate;
mod sevenz;
mod unix;

/// How far archives are opened.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Archives inside archives, counting the outermost as 1.
    pub depth: usize,
    /// Members of one outermost archive, nested ones included.
    pub members: usize,
    /// Bytes expanded from one outermost archive, nested ones included.
    pub expanded: u64,
    /// The most one member may expand to, per byte stored (only for members over 1 MiB).
    pub ratio: u64,
}

pub const LIMITS: Limits = Limits {
    depth: 4,
    members: 20_000,
    expanded: 2 << 30,
    ratio: 200,
};

/// What is left of an outermost archive's limits.
#[derive(Debug)]
pub struct Budget {
    pub limits: Limits,
    members: usize,
    expanded: u64,
}

impl Budget {
    pub fn new(limits: Limits) -> Self {
        Budget {
            limits,
            members: 0,
            expanded: 0,
        }
    }

    /// Takes one member of `size` bytes, stored in `stored` bytes, out of the budget.
    pub(super) fn take(&mut self, name: &str, size: u64, stored: u64) -> Result<(), String> {
        self.members += 1;
        if self.members > self.limits.members {
            return Err(format!(
                "an archive bomb? more than {} members (at {name}); not inspected",
                self.limits.members
            ));
        }
        if size > 1 << 20 && size / stored.max(1) > self.limits.ratio {
            return Err(format!(
                "an archive bomb? {name} expands {size} bytes from {stored}, more than {} to 1; not inspected",
                self.limits.ratio
            ));
        }
        self.expanded = self.expanded.saturating_add(size);
        if self.expanded > self.limits.expanded {
            return Err(format!(
                "an archive bomb? more than {} bytes expanded (at {name}); not inspected",
                self.limits.expanded
            ));
        }
        Ok(())
    }
}

/// The archive formats anteater opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Zip,
    Tar,
    /// `ar`: a Debian package, a static library.
    Ar,
    /// cpio in its portable forms: an RPM's payload, an initramfs image.
    Cpio,
    /// An RPM package: its payload (a compressed cpio archive) is its one member.
    Rpm,
    /// 7z (LZMA, LZMA2, bzip2 or stored members).
    SevenZip,
    /// A git pack: each object a member (`pack.rs`).
    Pack,
    /// One compressed stream: a single member, itself inspected (a tar inside is opened in turn).
    Compressed(Codec),
}

/// The compressed-stream formats anteater decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Gzip,
    Xz,
    Bzip2,
    Zstd,
    Lz4,
    /// A bare zlib stream: a git loose object, a `.zz` file, what `zlib.compress` writes.
    Zlib,
    /// LZMA's own container (`.lzma`, `.tlz`), older than xz: `lzma`, `xz --format=lzma` and
    /// 7-Zip's SDK write it.
    Lzma,
}

impl Codec {
    /// File-name suffixes of this codec and what the member is named in their place: `.tgz`
    /// holds a `.tar`, `notes.txt.xz` holds `notes.txt`.
    fn suffixes(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Codec::Gzip => &[(".tgz", ".tar"), (".gz", "")],
            Codec::Xz => &[(".txz", ".tar"), (".xz", "")],
            Codec::Bzip2 => &[(".tbz2", ".tar"), (".tbz", ".tar"), (".bz2", ""), (".bz", "")],
            Codec::Zstd => &[(".tzst", ".tar"), (".zst", ""), (".zstd", "")],
            Codec::Lz4 => &[(".lz4", "")],
            Codec::Zlib => &[(".zlib", ""), (".zz", "")],
            Codec::Lzma => &[(".tlz", ".tar"), (".lzma", "")],
        }
    }
}

/// The format of a file whose first block this is, if it is an archive anteater opens.
pub fn format(first_block: &[u8]) -> Option<Format> {
    let starts = |magic: &[u8]| first_block.starts_with(magic);
    if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
        Some(Format::Zip)
    } else if super::pack::is_pack(first_block) {
        Some(Format::Pack)
    } else if starts(&[0x1f, 0x8b]) {
        Some(Format::Compressed(Codec::Gzip))
    } else if starts(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some(Format::Compressed(Codec::Xz))
    } else if is_bzip2(first_block) {
        Some(Format::Compressed(Codec::Bzip2))
    } else if starts(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some(Format::Compressed(Codec::Zstd))
    } else if starts(&[0x04, 0x22, 0x4d, 0x18]) {
        Some(Format::Compressed(Codec::Lz4))
    } else if first_block.get(257..262) == Some(b"ustar") {
        Some(Format::Tar)
    } else if starts(sevenz::MAGIC) {
        Some(Format::SevenZip)
    } else if starts(unix::AR_MAGIC) {
        Some(Format::Ar)
    } else if unix::is_rpm(first_block) {
        Some(Format::Rpm)
    } else if unix::is_cpio(first_block) {
        Some(Format::Cpio)
    } else if is_zlib(first_block) {
        Some(Format::Compressed(Codec::Zlib))
    } else if is_lzma_alone(first_block) {
        Some(Format::Compressed(Codec::Lzma))
    } else {
        None
    }
}

/// A zlib header (deflate, a window of at most 32 KiB, no preset dictionary, a check that makes
/// the first two bytes a multiple of 31) whose first block inflates without error: two bytes
/// alone could begin any binary.
pub(super) fn is_zlib(first_block: &[u8]) -> bool {
    let [method, flags, ..] = first_block else {
        return false;
    };
    if method & 0x0F != 8
        || method >> 4 > 7
        || flags & 0x20 != 0
        || (u16::from(*method) << 8 | u16::from(*flags)) % 31 != 0
    {
        return false;
    }
    let mut inflater = flate2::Decompress::new(true);
    let mut out = vec![0u8; 64 << 10];
    inflater
        .decompress(first_block, &mut out, flate2::FlushDecompress::None)
        .is_ok_and(|_| inflater.total_out() > 0)
}

/// `BZh` and a block size digit, then the magic of a first block (the digits of pi) or of an
/// empty stream's end (those of the square root of pi): three letters alone could be text.
fn is_bzip2(first_block: &[u8]) -> bool {
    const BLOCK: [u8; 6] = [0x31, 0x41, 0x59, 0x26, 0x53, 0x59];
    const END: [u8; 6] = [0x17, 0x72, 0x45, 0x38, 0x50, 0x90];
    first_block.len() >= 10
        && first_block.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&first_block[3])
        && (first_block[4..10] == BLOCK || first_block[4..10] == END)
}

/// An LZMA-alone header. It has no signature, so its fields must be what encoders write: the
/// properties byte 0x5D (lc=3, lp=0, pb=2, every encoder's default), a dictionary of 2^n or
/// 2^n + 2^(n-1) bytes from 4 KiB to 1.5 GiB, and an unpacked size either unknown (all ones) or
/// under 1 TiB; then the range coder's first byte, which is always 0.
fn is_lzma_alone(first_block: &[u8]) -> bool {
    let Some(header) = first_block.get(..14) else {
        return false;
    };
    let dictionary = u32::from_le_bytes([header[1], header[2], header[3], header[4]]);
    let size = u64::from_le_bytes(header[5..13].try_into().expect("eight bytes"));
    let power = |n: u32| n.is_power_of_two() || (n % 3 == 0 && (n / 3).is_power_of_two());
    header[0] == 0x5D
        && (4 << 10..=3 << 29).contains(&dictionary)
        && power(dictionary)
        && (size == u64::MAX || size < 1 << 40)
        && header[13] == 0
}

/// The most a zip's end record stands from the end of its file: the record's 22 bytes and a
/// comment of at most 65,535.
pub const ZIP_END_REACH: usize = 22 + 0xFFFF;

/// Whether a file that is no archive by its first bytes ends with a zip: a zip is read from its
/// end (its directory is there), so `unzip`, Java and Python open a zip appended to a PNG, a
/// JPEG or a shell script (a "self-extracting" archive) as readily as a plain one. Told by the
/// zip's end record, whose comment length must reach exactly to the file's end.
pub fn zip_behind(content: &Content<'_>, length: u64) -> std::io::Result<bool> {
    let reach = length.min(ZIP_END_REACH as u64);
    let tail = match content {
        Content::File { path, .. } => {
            let mut file = std::fs::File::open(path)?;
            file.seek(std::io::SeekFrom::Start(length - reach))?;
            let mut tail = Vec::with_capacity(reach as usize);
            file.take(reach).read_to_end(&mut tail)?;
            tail
        }
        Content::Bytes(bytes) => bytes[bytes.len() - (reach as usize).min(bytes.len())..].to_vec(),
    };
    Ok(memchr::memmem::rfind_iter(&tail, ZIP_END).any(|at| {
        tail.get(at + 20..at + 22).is_some_and(|comment| {
            at + 22 + usize::from(u16::from_le_bytes([comment[0], comment[1]])) == tail.len()
        })
    }))
}

/// The signature of a zip's end record.
pub const ZIP_END: &[u8] = b"PK\x05\x06";

/// The name of an archive format anteater recognises by its bytes but does not open.
pub fn unopened_format(first_block: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| first_block.starts_with(magic);
    if starts(b"Rar!\x1a\x07") {
        Some("RAR")
    } else if starts(b"MSCF\0\0\0\0") {
        Some("CAB")
    } else if starts(&[0x1f, 0x9d]) {
        Some("compress (.Z)")
    } else if starts(b"LZIP") {
        Some("lzip")
    } else {
        None
    }
}

/// One member, read whole.
pub struct Member {
    /// The member's path inside the archive, '/'-separated.
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Every file member of the archive in `content`, in order, each handed to `visit`. `largest` is
/// the most one member may hold in memory (`--max-file-size`). An error says why the archive
/// could not be inspected (whole or in part).
pub fn members(
    format: Format,
    content: &Content<'_>,
    own_name: &str,
    largest: u64,
    budget: &RefCell<Budget>,
    visit: &mut dyn FnMut(Member),
) -> Result<(), String> {
    match content {
        Content::File { path, .. } => {
            let file = std::fs::File::open(path).map_err(|err| err.to_string())?;
            read(format, BufReader::new(file), own_name, largest, budget, visit)
        }
        Content::Bytes(bytes) => read(format, Cursor::new(*bytes), own_name, largest, budget, visit),
    }
}

fn read(
    format: Format,
    reader: impl BufRead + Seek,
    own_name: &str,
    largest: u64,
    budget: &RefCell<Budget>,
    visit: &mut dyn FnMut(Member),
) -> Result<(), String> {
    match format {
        Format::Zip => zip_members(reader, largest, budget, visit),
        Format::Tar => tar_members(reader, largest, budget, visit),
        Format::SevenZip => sevenz::members(reader, largest, budget, visit),
        Format::Ar => unix::ar_members(reader, largest, budget, visit),
        Format::Cpio => unix::cpio_members(reader, largest, budget, visit),
        Format::Rpm => unix::rpm_payload(reader, largest, budget, visit),
        Format::Pack => {
            // A delta's base may be anywhere before it: the pack is read whole, and must fit in
            // --max-file-size (the inspector checks that first).
            let mut pack = Vec::new();
            reader
                .take(largest.saturating_add(1))
                .read_to_end(&mut pack)
                .map_err(|err| err.to_string())?;
            if pack.len() as u64 > largest {
                return Err(format!(
                    "a git pack over --max-file-size ({largest} bytes); not inspected"
                ));
            }
            super::pack::objects(&pack, largest, budget, visit)
        }
        Format::Compressed(codec) => compressed_member(codec, reader, own_name, largest, budget, visit),
    }
}

fn zip_members(
    reader: impl Read + Seek,
    largest: u64,
    budget: &RefCell<Budget>,
    visit: &mut dyn FnMut(Member),
) -> Result<(), String> {
    let mut archive =
        zip::ZipArchive::new(reader).map_err(|err| format!("not a readable zip archive: {err}"))?;
    for index in 0..archive.len() {
        let raw = archive
            .by_index_raw(index)
            .map_err(|err| format!("zip member {index}: {err}"))?;
        if raw.is_dir() {
            continue;
        }
        if let Some(method) = OwnZipMethod::of(raw.compression()) {
            let name = raw.name().to_string();
            let (size, stored) = (raw.size(), raw.compressed_size());
            budget.borrow_mut().take(&name, size, stored)?;
            let bytes = zip_member_decoded(method, raw, &name, size, largest, &budget.borrow())?;
            visit(Member { name, bytes });
            continue;
        }
        drop(raw);
        let mut entry = archive
            .by_index(index)
            .map_err(|err| format!("zip member {index}: {err}"))?;
        let name = entry.name().to_string();
        let (size, stored) = (entry.size(), entry.compressed_size());
        take_member(name, &mut entry, (size, stored), largest, budget, visit)?;
    }
    Ok(())
}

/// Member compressions the zip crate leaves undecoded without a C library or a second LZMA
/// decoder: Info-ZIP, 7-Zip and Python write them (`zip -Z`, `7z -mm=LZMA`, `ZIP_LZMA`), and
/// a member anteater cannot read makes the scan incomplete. Each is decoded from the member's
/// stored bytes by the decoders that open `.zst`, `.xz` and `.lzma` files.
#[derive(Debug, Clone, Copy)]
enum OwnZipMethod {
    /// Method 14: a 4-byte header (the LZMA SDK's version, the properties' length), then the
    /// 5 bytes of properties and the raw stream, with no size in it: the zip's directory has it.
    Lzma,
    /// Method 93 (and 20, its number in early drafts).
    Zstd,
    /// Method 95.
    Xz,
}

impl OwnZipMethod {
    fn of(method: zip::CompressionMethod) -> Option<Self> {
        use zip::CompressionMethod as Method;
        if method == Method::LZMA {
            Some(Self::Lzma)
        } else if method == Method::ZSTD || method == Method::ZSTD_DEPRECATED {
            Some(Self::Zstd)
        } else if method == Method::XZ {
            Some(Self::Xz)
        } else {
            None
        }
    }
}

/// A zip member of `method`, decoded from its stored bytes within the room the budget leaves.
fn zip_member_decoded(
    method: OwnZipMethod,
    stored: impl Read,
    name: &str,
    size: u64,
    largest: u64,
    budget: &Budget,
) -> Result<Vec<u8>, String> {
    let mut input = BufReader::new(stored);
    let (bytes, decoded) = decode_within(
        name,
        entry_size_hint(size),
        largest,
        budget,
        |mut sink| match method {
            OwnZipMethod::Zstd => decode(Codec::Zstd, &mut input, &mut sink),
            OwnZipMethod::Xz => decode(Codec::Xz, &mut input, &mut sink),
            OwnZipMethod::Lzma => zip_lzma(&mut input, size, &mut sink),
        },
    )?;
    decoded.map_err(|err| format!("{name}: not a readable {method:?} zip member: {err}"))?;
    Ok(bytes)
}

fn tar_members(
    reader: impl Read,
    largest: u64,
    budget: &RefCell<Budget>,
    visit: &mut dyn FnMut(Member),
) -> Result<(), String> {
    let mut archive = tar::Archive::new(reader);
    let entries = archive
        .entries()
        .map_err(|err| format!("not a readable tar archive: {err}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|err| format!("a tar member: {err}"))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let size = entry.size();
        // Stored as is: a tar member expands to its own size.
        take_member(name, &mut entry, (size, size), largest, budget, visit)?;
    }
    Ok(())
}

/// One member whose declared size (and stored size) is known: taken out of the budget, read
/// within it, handed on.
fn take_member(
    name: String,
    reader: &mut impl Read,
    (size, stored): (u64, u64),
    largest: u64,
    budget: &RefCell<Budget>,
    visit: &mut dyn FnMut(Member),
) -> Result<(), String> {
    budget.borrow_mut().take(&name, size, stored)?;
    let bytes = read_bounded(reader, &name, entry_size_hint(size), largest, &budget.borrow())?;
    visit(Member { name, bytes });
    Ok(())
}

/// A compressed stream holds one member: its content, named after the file without the codec's
/// suffix (`.tgz` is a `.tar`). Concatenated streams (as `cat a.gz b.gz` makes) are one member.
fn compressed_member(
    codec: Codec,
    reader: impl BufRead,
    own_name: &str,
    largest: u64,
    budget: &RefCell<Budget>,
    visit: &mut dyn FnMut(Member),
) -> Result<(), String> {
    let base = own_name.rsplit('/').next().unwrap_or(own_name);
    let name = codec
        .suffixes()
        .iter()
        .find_map(|(suffix, instead)| {
            base.strip_suffix(suffix)
                .filter(|stem| !stem.is_empty())
                .map(|stem| format!("{stem}{instead}"))
        })
        .unwrap_or_else(|| base.to_string());
    let mut counted = CountingReader {
        inner: reader,
        count: 0,
    };
    let (bytes, decoded) = decode_within(&name, 0, largest, &budget.borrow(), |mut sink| {
        decode(codec, &mut counted, &mut sink)
    })?;
    decoded.map_err(|err| {
        let hint = if codec == Codec::Xz {
            " (concatenated xz streams are not read)"
        } else {
            ""
        };
        format!("{name}: not a readable {codec:?} stream: {err}{hint}")
    })?;
    budget
        .borrow_mut()
        .take(&name, bytes.len() as u64, counted.count)?;
    visit(Member { name, bytes });
    Ok(())
}

#[cfg(test)]
mod tests;

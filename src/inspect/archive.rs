//! Archives are looked into: a jar holding `.env` and `id_rsa` is a jar holding secrets. The zip
//! family (zip, jar, war, ear, whl, nupkg, apk, aar: recognised by their bytes, not their names),
//! tar and gzip (so tar.gz and tgz) are opened, and each member becomes a fragment of its own,
//! named `archive.jar!/path/inside`, inspected like any file (archives nested in archives
//! included). Opening is bounded: nesting depth, number of members, bytes expanded in all, and
//! the expansion ratio of each member. Past a bound the archive is reported as not inspected
//! (the scan is incomplete, exit 2) with a message that says which bound: a zip bomb never
//! hangs the gate or exhausts its memory, and never passes it.

use std::cell::RefCell;
use std::io::{Cursor, Read, Seek};

use crate::fragment::Content;

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
    fn take(&mut self, name: &str, size: u64, stored: u64) -> Result<(), String> {
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
    Gzip,
}

/// The format of a file whose first block this is, if it is an archive.
pub fn format(first_block: &[u8]) -> Option<Format> {
    if first_block.starts_with(b"PK\x03\x04") || first_block.starts_with(b"PK\x05\x06") {
        Some(Format::Zip)
    } else if first_block.starts_with(&[0x1f, 0x8b]) {
        Some(Format::Gzip)
    } else if first_block.get(257..262) == Some(b"ustar") {
        Some(Format::Tar)
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
            read(
                format,
                std::io::BufReader::new(file),
                own_name,
                largest,
                budget,
                visit,
            )
        }
        Content::Bytes(bytes) => read(format, Cursor::new(*bytes), own_name, largest, budget, visit),
    }
}

fn read(
    format: Format,
    reader: impl Read + Seek,
    own_name: &str,
    largest: u64,
    budget: &RefCell<Budget>,
    visit: &mut dyn FnMut(Member),
) -> Result<(), String> {
    match format {
        Format::Zip => zip_members(reader, largest, budget, visit),
        Format::Tar => tar_members(reader, largest, budget, visit),
        Format::Gzip => gzip_member(reader, own_name, largest, budget, visit),
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
        let mut entry = archive
            .by_index(index)
            .map_err(|err| format!("zip member {index}: {err}"))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().to_string();
        let (size, stored) = (entry.size(), entry.compressed_size());
        take_member(name, &mut entry, (size, stored), largest, budget, visit)?;
    }
    Ok(())
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

/// A gzip file holds one member: its content, named after the file without `.gz` (`.tgz` is a
/// `.tar`).
fn gzip_member(
    reader: impl Read,
    own_name: &str,
    largest: u64,
    budget: &RefCell<Budget>,
    visit: &mut dyn FnMut(Member),
) -> Result<(), String> {
    let base = own_name.rsplit('/').next().unwrap_or(own_name);
    let name = if let Some(stem) = base.strip_suffix(".tgz") {
        format!("{stem}.tar")
    } else {
        base.strip_suffix(".gz").unwrap_or(base).to_string()
    };
    let mut counted = CountingReader {
        inner: reader,
        count: 0,
    };
    let mut decoder = flate2::read::MultiGzDecoder::new(&mut counted);
    let bytes = read_bounded(&mut decoder, &name, 0, largest, &budget.borrow())?;
    drop(decoder);
    budget
        .borrow_mut()
        .take(&name, bytes.len() as u64, counted.count)?;
    visit(Member { name, bytes });
    Ok(())
}

/// A reader that counts what it hands out (the compressed bytes of a gzip member).
struct CountingReader<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.count += read as u64;
        Ok(read)
    }
}

fn entry_size_hint(declared: u64) -> usize {
    usize::try_from(declared.min(1 << 20)).unwrap_or(0)
}

/// Reads a member whole, never more than `largest` bytes nor more than the budget has left:
/// a declared size can lie, the bytes read cannot.
fn read_bounded(
    reader: &mut impl Read,
    name: &str,
    hint: usize,
    largest: u64,
    budget: &Budget,
) -> Result<Vec<u8>, String> {
    let room = budget
        .limits
        .expanded
        .saturating_sub(budget.expanded)
        .min(largest);
    let mut bytes = Vec::with_capacity(hint);
    reader
        .take(room.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|err| format!("{name}: {err}"))?;
    if bytes.len() as u64 > room {
        return Err(if room == largest {
            format!("{name} expands past --max-file-size ({largest} bytes); not inspected")
        } else {
            format!(
                "an archive bomb? more than {} bytes expanded (at {name}); not inspected",
                budget.limits.expanded
            )
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut writer = zip::ZipWriter::new(&mut out);
        for (name, bytes) in files {
            let options =
                zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
            writer.start_file(*name, options).unwrap();
            writer.write_all(bytes).unwrap();
        }
        writer.finish().unwrap();
        out.into_inner()
    }

    fn names(format: Format, bytes: &[u8], limits: Limits) -> Result<Vec<String>, String> {
        let mut names = Vec::new();
        let budget = RefCell::new(Budget::new(limits));
        members(
            format,
            &Content::Bytes(bytes),
            "x.gz",
            50 << 20,
            &budget,
            &mut |m| names.push(m.name),
        )?;
        Ok(names)
    }

    #[test]
    fn formats_are_told_by_their_bytes() {
        let zip = zip_of(&[("a.txt", b"x")]);
        assert_eq!(format(&zip), Some(Format::Zip));
        assert_eq!(format(&[0x1f, 0x8b, 8, 0]), Some(Format::Gzip));
        assert_eq!(format(b"plain text"), None);
        assert_eq!(names(Format::Zip, &zip, LIMITS).unwrap(), ["a.txt"]);
    }

    #[test]
    fn a_zip_bomb_is_refused_with_the_bound_it_broke() {
        let zeros = vec![0u8; 8 << 20];
        let bomb = zip_of(&[("zeros.bin", &zeros)]);
        let err = names(Format::Zip, &bomb, LIMITS).unwrap_err();
        assert!(err.contains("archive bomb") && err.contains("to 1"), "{err}");
        let many = zip_of(&[("a", b"1"), ("b", b"2"), ("c", b"3")]);
        let few = Limits { members: 2, ..LIMITS };
        assert!(names(Format::Zip, &many, few)
            .unwrap_err()
            .contains("more than 2 members"));
    }

    #[test]
    fn gzip_holds_one_member_named_after_the_file() {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(b"secret = 1\n").unwrap();
        let gz = encoder.finish().unwrap();
        assert_eq!(names(Format::Gzip, &gz, LIMITS).unwrap(), ["x"]);
    }
}

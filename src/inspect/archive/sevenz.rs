//! 7z archives, read with `sevenz-rust2` (LZMA, LZMA2, bzip2 and stored members; pure Rust).
//! Its memory limit bounds what a header or a decoder's dictionary may claim, the archive
//! budget bounds what the members expand to, and one thread decodes: a scan already uses
//! every core on files.

use std::cell::RefCell;
use std::io::{Read, Seek};

use super::{take_member, Budget, Member};

/// What one 7z header buffer or decoder dictionary may claim, in KiB: 7-Zip's own largest
/// preset (`-mx=9`) uses a 64 MiB dictionary; a header claiming more is a bomb, not an archive.
const MEMORY_LIMIT_KIB: usize = 128 << 10;

/// What a 7z archive starts with.
pub const MAGIC: &[u8] = &[b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c];

/// Every file member of a 7z archive, in order. An encrypted archive, or one packed with a
/// method this build does not decode, is an error that says so.
pub fn members(
    reader: impl Read + Seek,
    largest: u64,
    budget: &RefCell<Budget>,
    visit: &mut dyn FnMut(Member),
) -> Result<(), String> {
    let mut archive = sevenz_rust2::ArchiveReader::new_with_memory_limit(
        reader,
        sevenz_rust2::Password::empty(),
        MEMORY_LIMIT_KIB,
    )
    .map_err(|err| format!("not a readable 7z archive: {err}"))?;
    archive.set_thread_count(1);
    // Why a member stopped the walk, kept apart from the crate's own errors.
    let mut stopped = None;
    let walked = archive.for_each_entries(|entry, data| {
        if entry.is_directory() || !entry.has_stream() {
            return Ok(true);
        }
        let size = entry.size();
        // A solid block's members share one packed stream and carry no packed size of their
        // own: their ratio is not known, and only the budget's bytes bound them.
        let stored = match entry.compressed_size {
            0 => size,
            packed => packed,
        };
        match take_member(
            entry.name().to_string(),
            &mut &mut *data,
            (size, stored),
            largest,
            budget,
            visit,
        ) {
            Ok(()) => Ok(true),
            Err(reason) => {
                stopped = Some(reason);
                Err(sevenz_rust2::Error::Other("stopped".into()))
            }
        }
    });
    if let Some(reason) = stopped {
        return Err(reason);
    }
    walked.map_err(|err| format!("a 7z member could not be read: {err}"))
}

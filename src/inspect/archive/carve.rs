//! Compressed streams and archives inside a binary's own bytes, past its start: a tarball behind
//! a PNG's last chunk (`cat logo.png keys.tgz > logo.png`), a gzip inside a firmware image or
//! an installer. An image viewer shows the picture and `tail -c +N | tar xz` gets the rest out,
//! so what such a stream holds is as much in the change as a file beside it. Its bytes are
//! compressed, so the search of the binary's own bytes never sees what it holds.
//!
//! Each stream whose magic number appears anywhere in the binary and which decodes to anything
//! is a member named by what it is and where it starts (`logo.png!/gzip-at-10264`), opened in
//! turn when it is an archive. A zip or a 7z archive there is handed out whole once its own
//! directory or header checks. Tar, `ar` and cpio are not carved: their members are stored as
//! they are, and the search of the binary's own bytes reads them already. Chance matches in a
//! binary's data decode to nothing or to noise and are dropped, never an error; only a stream
//! that expands past the archive budget is one (a bomb behind a picture is still a bomb).
//!
//! A zlib stream has a two-byte header for a magic number, which chance matches often: one is
//! carved only when it decodes whole and its Adler-32 checksum holds (a PNG's compressed text
//! chunks, an ELF's compressed sections, a stream written in by hand).

use std::cell::RefCell;
use std::io::Cursor;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, Input};

use super::bounded::{decode, decode_within, CountingReader};
use super::deflate::ZlibReader;
use super::{is_bzip2, sevenz, Budget, Codec, Member};

/// What a magic number found in a binary begins.
#[derive(Debug, Clone, Copy)]
enum Carved {
    Stream(Codec),
    Zlib,
    Zip,
    SevenZip,
}

/// The magic numbers looked for, each with what it begins. Gzip's is its two bytes and the
/// deflate method (the only one gzip has); the others are whole, and zlib's are every header
/// (`zlib_headers`). LZMA-alone streams have no magic number and are not carved.
const MAGICS: [(&[u8], Carved); 7] = [
    (&[0x1f, 0x8b, 0x08], Carved::Stream(Codec::Gzip)),
    (&[0xfd, b'7', b'z', b'X', b'Z', 0], Carved::Stream(Codec::Xz)),
    (b"BZh", Carved::Stream(Codec::Bzip2)),
    (&[0x28, 0xb5, 0x2f, 0xfd], Carved::Stream(Codec::Zstd)),
    (&[0x04, 0x22, 0x4d, 0x18], Carved::Stream(Codec::Lz4)),
    (b"PK\x03\x04", Carved::Zip),
    (sevenz::MAGIC, Carved::SevenZip),
];

/// Every zlib header: deflate with any window (zlib writes a smaller one for a short input or
/// when asked), any level, no preset dictionary, the two bytes a multiple of 31.
fn zlib_headers() -> impl Iterator<Item = [u8; 2]> {
    (0..8u8).flat_map(|window| {
        let method = window << 4 | 8;
        (0..4u8).map(move |level| {
            let high = u16::from(method) << 8 | u16::from(level << 6);
            let check = (31 - high % 31) % 31;
            [method, level << 6 | check as u8]
        })
    })
}

fn finder() -> &'static (AhoCorasick, Vec<Carved>) {
    static FINDER: OnceLock<(AhoCorasick, Vec<Carved>)> = OnceLock::new();
    FINDER.get_or_init(|| {
        let mut magics: Vec<Vec<u8>> = MAGICS.iter().map(|(magic, _)| magic.to_vec()).collect();
        let mut carved: Vec<Carved> = MAGICS.iter().map(|(_, carved)| *carved).collect();
        for header in zlib_headers() {
            magics.push(header.to_vec());
            carved.push(Carved::Zlib);
        }
        let finder = AhoCorasick::new(&magics).expect("a few dozen byte strings");
        (finder, carved)
    })
}

/// What to carve besides the streams every binary may hold.
#[derive(Debug, Clone, Copy)]
pub struct Carving {
    /// False when the binary's zip was opened from its end already (`zip_behind`).
    pub zip: bool,
    /// False when the binary's zlib streams are read otherwise (a PDF's, by `pdf.rs`).
    pub zlib: bool,
}

/// Every stream or archive embedded in `binary` past its first byte, in order, handed to
/// `visit` (see the module's doc). An error is a bomb: a stream past the archive budget.
pub fn embedded(
    binary: &[u8],
    carving: Carving,
    largest: u64,
    budget: &RefCell<Budget>,
    visit: &mut dyn FnMut(Member),
) -> Result<(), String> {
    let (finder, carved) = finder();
    let mut zlib = None;
    let mut at = 1;
    while at < binary.len() {
        let Some(found) = finder.find(Input::new(binary).span(at..binary.len())) else {
            break;
        };
        let start = found.start();
        let rest = &binary[start..];
        let taken = match carved[found.pattern().as_usize()] {
            Carved::Stream(codec) => stream(codec, rest, start, largest, budget)?,
            Carved::Zlib if carving.zlib && !opens_png_pixels(binary, start) => zlib
                .get_or_insert_with(ZlibReader::new)
                .read(rest, start, largest, budget)?,
            Carved::Zip if carving.zip => zip(rest, start),
            Carved::SevenZip => seven_zip(rest, start),
            Carved::Zlib | Carved::Zip => None,
        };
        match taken {
            Some((member, stored)) => {
                let size = member.bytes.len() as u64;
                budget.borrow_mut().take(&member.name, size, stored as u64)?;
                visit(member);
                // What the stream's own bytes hold is noise to the finder: go on past them.
                at = start + stored.max(1);
            }
            None => at = start + 1,
        }
    }
    Ok(())
}

/// The stream of `codec` at the start of `rest` decoded (as far as it decodes: a stream cut
/// short or followed by other bytes is still read up to there), and the bytes it took; None when
/// it decodes to nothing. Past the room the budget leaves is an error.
fn stream(
    codec: Codec,
    rest: &[u8],
    start: usize,
    largest: u64,
    budget: &RefCell<Budget>,
) -> Result<Option<(Member, usize)>, String> {
    // Reserved flag bits set: not a gzip header. The other codecs' magic numbers are longer.
    if matches!(codec, Codec::Gzip) && rest.get(3).is_none_or(|flags| flags & 0xe0 != 0)
        || matches!(codec, Codec::Bzip2) && !is_bzip2(rest)
    {
        return Ok(None);
    }
    let name = format!("{}-at-{start}", codec_name(codec));
    let mut input = CountingReader {
        inner: Cursor::new(rest),
        count: 0,
    };
    // One gzip member: the bytes after it are the binary's again, not another member. A stream
    // cut short still gives what it decoded so far: its error is no verdict here.
    let (bytes, _) = decode_within(&name, 0, largest, &budget.borrow(), |mut sink| match codec {
        Codec::Gzip => std::io::copy(&mut flate2::bufread::GzDecoder::new(&mut input), &mut sink).map(drop),
        _ => decode(codec, &mut input, &mut sink),
    })?;
    let stored = usize::try_from(input.count).unwrap_or(rest.len()).min(rest.len());
    if bytes.is_empty() {
        return Ok(None);
    }
    let member = Member { name, bytes };
    Ok(Some((member, stored)))
}

/// Whether the zlib stream at `start` is a PNG's image data (an `IDAT` chunk's, or an animated
/// PNG's `fdAT` behind its sequence number): pixels, which a reviewer sees as the picture, and
/// which compress so well that a plain 512x512 icon expands past the bomb ratio. Only in a file
/// that is a PNG: `IDAT` written before a stream in any other binary hides nothing.
fn opens_png_pixels(binary: &[u8], start: usize) -> bool {
    let before = |back: usize| start.checked_sub(back).map(|at| &binary[at..at + 4]);
    binary.starts_with(b"\x89PNG\r\n\x1a\n") && (before(4) == Some(b"IDAT") || before(8) == Some(b"fdAT"))
}

fn codec_name(codec: Codec) -> &'static str {
    match codec {
        Codec::Gzip => "gzip",
        Codec::Xz => "xz",
        Codec::Bzip2 => "bzip2",
        Codec::Zstd => "zstd",
        Codec::Lz4 => "lz4",
        Codec::Zlib => "zlib",
        Codec::Lzma => "lzma",
    }
}

/// The zip archive that starts at the start of `rest`: up to the end of the first end record
/// after it, when the zip crate reads its directory there.
fn zip(rest: &[u8], start: usize) -> Option<(Member, usize)> {
    const END: &[u8] = b"PK\x05\x06";
    let end_record = memchr::memmem::find(rest, END)?;
    let comment = rest.get(end_record + 20..end_record + 22).map_or(0, |length| {
        usize::from(u16::from_le_bytes([length[0], length[1]]))
    });
    let end = (end_record + 22 + comment).min(rest.len());
    let archive = &rest[..end];
    zip::ZipArchive::new(Cursor::new(archive)).ok()?;
    Some((
        Member {
            name: format!("zip-at-{start}"),
            bytes: archive.to_vec(),
        },
        end,
    ))
}

/// The 7z archive that starts at the start of `rest`, up to the end of its header, when its
/// start header's checksum holds (the magic alone is in every 7z library's code).
fn seven_zip(rest: &[u8], start: usize) -> Option<(Member, usize)> {
    let header = rest.get(..32)?;
    let declared = u32::from_le_bytes(header[8..12].try_into().ok()?);
    if crc32fast::hash(&header[12..32]) != declared {
        return None;
    }
    let offset = u64::from_le_bytes(header[12..20].try_into().ok()?);
    let size = u64::from_le_bytes(header[20..28].try_into().ok()?);
    let end = usize::try_from(32u64.checked_add(offset)?.checked_add(size)?).ok()?;
    let archive = rest.get(..end)?;
    Some((
        Member {
            name: format!("7z-at-{start}"),
            bytes: archive.to_vec(),
        },
        end,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::archive::LIMITS;
    use std::io::Write;

    fn carve(binary: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
        let budget = RefCell::new(Budget::new(LIMITS));
        let mut found = Vec::new();
        let carving = Carving {
            zip: true,
            zlib: true,
        };
        embedded(binary, carving, 1 << 20, &budget, &mut |member| {
            found.push((member.name, member.bytes));
        })?;
        Ok(found)
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    /// Bytes like an image's: every value, many times over, no magic number among them.
    fn picture() -> Vec<u8> {
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        bytes.extend((0..40).flat_map(|_| 0..=255u8));
        bytes
    }

    #[test]
    fn a_gzip_stream_behind_a_picture_is_carved_with_its_offset() {
        let mut binary = picture();
        let start = binary.len();
        binary.extend(gzip(b"the words behind the picture\n"));
        binary.extend(b"IEND trailing bytes");
        let found = carve(&binary).unwrap();
        assert_eq!(
            found,
            [(
                format!("gzip-at-{start}"),
                b"the words behind the picture\n".to_vec()
            )]
        );
    }

    #[test]
    fn two_streams_are_both_carved_and_a_cut_one_is_read_as_far_as_it_goes() {
        let mut binary = picture();
        binary.extend(gzip(b"first\n"));
        binary.extend(picture());
        let mut cut = gzip(&b"second line of a stream cut before its end\n".repeat(50));
        cut.truncate(cut.len() - 8);
        binary.extend(cut);
        let found = carve(&binary).unwrap();
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].1, b"first\n");
        assert!(found[1].1.starts_with(b"second line"), "{:?}", found[1]);
    }

    #[test]
    fn magic_numbers_that_begin_nothing_are_dropped_without_error() {
        let mut binary = picture();
        // A gzip magic with reserved flags, one with noise behind it, a zip header with no
        // directory, and a 7z magic whose start header does not check.
        binary.extend(b"\x1f\x8b\x08\xe0junk");
        binary.extend(b"\x1f\x8b\x08\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff");
        binary.extend(b"PK\x03\x04not a zip at all");
        binary.extend(sevenz::MAGIC);
        binary.extend([0u8; 40]);
        assert_eq!(carve(&binary).unwrap(), Vec::<(String, Vec<u8>)>::new());
    }

    #[test]
    fn a_zip_inside_a_binary_is_handed_out_up_to_its_end_record() {
        let mut zipped = Cursor::new(Vec::new());
        let mut writer = zip::ZipWriter::new(&mut zipped);
        writer
            .start_file("inside.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(b"inside\n").unwrap();
        writer.finish().unwrap();
        let zipped = zipped.into_inner();
        let mut binary = picture();
        let start = binary.len();
        binary.extend(&zipped);
        binary.extend(picture());
        let found = carve(&binary).unwrap();
        assert_eq!(found, [(format!("zip-at-{start}"), zipped)]);
    }

    fn zlib_of(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn every_zlib_header_is_a_magic_and_only_they_are() {
        let headers: Vec<[u8; 2]> = zlib_headers().collect();
        assert_eq!(headers.len(), 32);
        for [method, flags] in headers {
            assert_eq!(method & 0x0f, 8);
            assert_eq!(flags & 0x20, 0, "no preset dictionary");
            assert_eq!((u16::from(method) << 8 | u16::from(flags)) % 31, 0);
        }
        assert!(zlib_headers().any(|header| header == [0x78, 0x9c]));
        assert!(zlib_headers().any(|header| header == [0x28, 0x15]));
    }

    #[test]
    fn a_whole_zlib_stream_is_carved_and_a_broken_one_dropped() {
        let text = b"a compressed text chunk of a picture\n";
        let default = zlib_of(text);
        // The same stream with a 1 KiB window in its header, as zlib writes for short input.
        let mut small_window = default.clone();
        small_window[..2].copy_from_slice(&[0x28, 0x15]);
        let mut wrong_check = default.clone();
        *wrong_check.last_mut().unwrap() ^= 1;
        let cut = &default[..default.len() - 3];
        let mut binary = picture();
        let starts: Vec<usize> = [&default[..], &small_window, &wrong_check, cut]
            .iter()
            .map(|stream| {
                let start = binary.len();
                binary.extend(*stream);
                binary.extend(picture());
                start
            })
            .collect();
        let found = carve(&binary).unwrap();
        assert_eq!(
            found,
            [
                (format!("zlib-at-{}", starts[0]), text.to_vec()),
                (format!("zlib-at-{}", starts[1]), text.to_vec()),
            ]
        );
        let budget = RefCell::new(Budget::new(LIMITS));
        let carving = Carving {
            zip: true,
            zlib: false,
        };
        let mut found = 0;
        embedded(&binary, carving, 1 << 20, &budget, &mut |_| found += 1).unwrap();
        assert_eq!(found, 0, "zlib streams read otherwise are not carved");
    }

    #[test]
    fn a_bomb_behind_a_picture_is_an_error() {
        let mut binary = picture();
        binary.extend(gzip(&vec![0u8; 2 << 20]));
        let error = carve(&binary).unwrap_err();
        assert!(
            error.contains("gzip-at-") && error.contains("--max-file-size"),
            "{error}"
        );
    }
}

//! Bytes compressed by each codec anteater opens, with each codec's own encoder: archives for
//! the tests of the archive inspector (unit tests too, through `src/lib.rs`).

use std::io::Write;

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// (lzma-rs's encoder stores rather than compresses: no bomb can be made with it.)
pub fn zlib(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

pub fn xz(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    lzma_rs::xz_compress(&mut std::io::Cursor::new(bytes), &mut out).unwrap();
    out
}

/// LZMA's own container (`.lzma`), its size unknown and an end marker written, as `lzma`
/// writes a stream.
pub fn lzma(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    lzma_rs::lzma_compress(&mut std::io::Cursor::new(bytes), &mut out).unwrap();
    out
}

pub fn bzip2(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

pub fn zstd(bytes: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(bytes, ruzstd::encoding::CompressionLevel::Fastest)
}

/// One lz4 frame.
pub fn lz4(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = lz4_flex::frame::FrameEncoder::new(Vec::new());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A tar of `files` (name, bytes).
pub fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, name, *bytes).unwrap();
    }
    builder.into_inner().unwrap()
}

/// A zip of `files`, each member deflated.
pub fn zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    zip_with(zip::CompressionMethod::Deflated, files)
}

/// A zip archive of `files`, each member compressed by `method`.
pub fn zip_with(method: zip::CompressionMethod, files: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    let mut writer = zip::ZipWriter::new(&mut out);
    for (name, bytes) in files {
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        writer.start_file(*name, options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap();
    out.into_inner()
}

/// A zip of members already compressed by some `method` (its number): (name, method, stored
/// bytes, the member's content), for methods no Rust writer has. Written as the format says:
/// each member's local header and data, then the central directory and its end record.
pub fn zip_raw(members: &[(&str, u16, &[u8], &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut directory = Vec::new();
    for (name, method, stored, content) in members {
        let offset = out.len() as u32;
        let crc = crc32fast::hash(content);
        let fields = |out: &mut Vec<u8>| {
            out.extend_from_slice(&20u16.to_le_bytes()); // version needed
            out.extend_from_slice(&0u16.to_le_bytes()); // flags
            out.extend_from_slice(&method.to_le_bytes());
            out.extend_from_slice(&[0, 0, 0x21, 0]); // time and date: 1980-01-01
            out.extend_from_slice(&crc.to_le_bytes());
            out.extend_from_slice(&(stored.len() as u32).to_le_bytes());
            out.extend_from_slice(&(content.len() as u32).to_le_bytes());
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes()); // extra field length
        };
        out.extend_from_slice(b"PK\x03\x04");
        fields(&mut out);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(stored);
        directory.extend_from_slice(b"PK\x01\x02");
        directory.extend_from_slice(&20u16.to_le_bytes()); // version made by
        fields(&mut directory);
        directory.extend_from_slice(&[0; 6]); // comment length, disk, internal attributes
        directory.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        directory.extend_from_slice(&offset.to_le_bytes());
        directory.extend_from_slice(name.as_bytes());
    }
    let directory_offset = out.len() as u32;
    out.extend_from_slice(&directory);
    out.extend_from_slice(b"PK\x05\x06");
    out.extend_from_slice(&[0; 4]); // this disk, the directory's disk
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(directory.len() as u32).to_le_bytes());
    out.extend_from_slice(&directory_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // comment length
    out
}

/// A zip LZMA member's stored bytes (method 14), as 7-Zip writes them: the SDK's version, the
/// properties' length, the properties, and the stream without the `.lzma` header's size.
pub fn zip_lzma_member(bytes: &[u8]) -> Vec<u8> {
    let alone = lzma(bytes);
    let mut stored = vec![9, 20, 5, 0];
    stored.extend_from_slice(&alone[..5]);
    stored.extend_from_slice(&alone[13..]);
    stored
}

/// Deflate's stored blocks: a valid Deflate64 stream too (method 9), which no Rust crate writes.
pub fn deflate_stored(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::none());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// An `ar` archive of `files`, as GNU `ar` writes it: a symbol table first, names over 15
/// bytes in a `//` name table, referenced as `/offset`.
pub fn ar_gnu(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = b"!<arch>\n".to_vec();
    let mut names = Vec::new();
    let mut identifiers = Vec::new();
    for (name, _) in files {
        if name.len() > 15 {
            identifiers.push(format!("/{}", names.len()));
            names.extend_from_slice(format!("{name}/\n").as_bytes());
        } else {
            identifiers.push(format!("{name}/"));
        }
    }
    ar_member(&mut out, "/", &[0, 0, 0, 0]);
    if !names.is_empty() {
        ar_member(&mut out, "//", &names);
    }
    for (identifier, (_, bytes)) in identifiers.iter().zip(files) {
        ar_member(&mut out, identifier, bytes);
    }
    out
}

/// An `ar` archive of `files`, as BSD `ar` writes it: each name after its header (`#1/len`).
pub fn ar_bsd(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = b"!<arch>\n".to_vec();
    for (name, bytes) in files {
        let mut data = name.as_bytes().to_vec();
        data.extend_from_slice(bytes);
        ar_member(&mut out, &format!("#1/{}", name.len()), &data);
    }
    out
}

fn ar_member(out: &mut Vec<u8>, identifier: &str, data: &[u8]) {
    let header = format!(
        "{identifier:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
        0,
        0,
        0,
        644,
        data.len()
    );
    assert_eq!(header.len(), 60);
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    if data.len() % 2 == 1 {
        out.push(b'\n');
    }
}

/// A Debian package holding `files`: `debian-binary`, a control tarball and `data.tar.gz`.
pub fn deb(files: &[(&str, &[u8])]) -> Vec<u8> {
    let control = gzip(&tar(&[("control", b"Package: demo\n")]));
    let data = gzip(&tar(files));
    ar_gnu(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar.gz", &control),
        ("data.tar.gz", &data),
    ])
}

/// A cpio archive of `files` in the "newc" format (what `cpio -H newc` and RPM write), with
/// a directory entry first.
pub fn cpio_newc(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let pad = |out: &mut Vec<u8>| out.resize(out.len().div_ceil(4) * 4, 0);
    let entry = |out: &mut Vec<u8>, name: &str, mode: u32, data: &[u8]| {
        out.extend_from_slice(b"070701");
        let name_size = name.len() + 1;
        for field in [
            1,
            mode,
            0,
            0,
            1,
            0,
            data.len() as u32,
            0,
            0,
            0,
            0,
            name_size as u32,
            0,
        ] {
            out.extend_from_slice(format!("{field:08X}").as_bytes());
        }
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        pad(out);
        out.extend_from_slice(data);
        pad(out);
    };
    entry(&mut out, "./usr", 0o040755, b"");
    for (name, bytes) in files {
        entry(&mut out, &format!("./{name}"), 0o100644, bytes);
    }
    entry(&mut out, "TRAILER!!!", 0, b"");
    out
}

/// A cpio archive of `files` in the portable "odc" format (`cpio -H odc`).
pub fn cpio_odc(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut entry = |name: &str, mode: u32, data: &[u8]| {
        out.extend_from_slice(
            format!(
                "070707{:06o}{:06o}{:06o}{:06o}{:06o}{:06o}{:06o}{:011o}{:06o}{:011o}",
                0,
                1,
                mode,
                0,
                0,
                1,
                0,
                0,
                name.len() + 1,
                data.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.extend_from_slice(data);
    };
    for (name, bytes) in files {
        entry(name, 0o100644, bytes);
    }
    entry("TRAILER!!!", 0, b"");
    out
}

/// An RPM package whose payload is `files` in a gzip-compressed newc cpio: a lead, a
/// signature header (padded to eight bytes) and a main header, each with one index entry.
pub fn rpm(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = vec![0xed, 0xab, 0xee, 0xdb, 3, 0];
    out.resize(96, 0);
    let header = |data: &[u8]| {
        let mut h = vec![0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0];
        h.extend_from_slice(&1u32.to_be_bytes());
        h.extend_from_slice(&(data.len() as u32).to_be_bytes());
        h.extend_from_slice(&[0, 0, 3, 0xe8, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 1]);
        h.extend_from_slice(data);
        h
    };
    out.extend_from_slice(&header(b"sig\0x"));
    out.resize(out.len().div_ceil(8) * 8, 0);
    out.extend_from_slice(&header(b"demo\0"));
    out.extend_from_slice(&gzip(&cpio_newc(files)));
    out
}

/// A 7z archive of `files`, packed with LZMA2 (7-Zip's default), in one solid block.
pub fn seven_zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = sevenz_rust2::ArchiveWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    let entries = files
        .iter()
        .map(|(name, _)| sevenz_rust2::ArchiveEntry::new_file(name))
        .collect();
    let readers = files
        .iter()
        .map(|(_, bytes)| sevenz_rust2::SourceReader::new(*bytes))
        .collect();
    writer.push_archive_entries(entries, readers).unwrap();
    writer.finish().unwrap().into_inner()
}

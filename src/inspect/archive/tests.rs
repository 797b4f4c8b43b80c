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
    assert_eq!(format(&[0x1f, 0x8b, 8, 0]), Some(Format::Compressed(Codec::Gzip)));
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

/// `bytes` compressed with `codec`, by each codec's own encoder.
fn compressed(codec: Codec, bytes: &[u8]) -> Vec<u8> {
    use crate::test_support::compress;
    match codec {
        Codec::Gzip => compress::gzip(bytes),
        Codec::Xz => compress::xz(bytes),
        Codec::Bzip2 => compress::bzip2(bytes),
        Codec::Zstd => compress::zstd(bytes),
        Codec::Lz4 => compress::lz4(bytes),
        Codec::Zlib => compress::zlib(bytes),
        Codec::Lzma => compress::lzma(bytes),
    }
}

const CODECS: [Codec; 7] = [
    Codec::Gzip,
    Codec::Xz,
    Codec::Bzip2,
    Codec::Zstd,
    Codec::Lz4,
    Codec::Zlib,
    Codec::Lzma,
];

fn decoded(codec: Codec, stream: &[u8], own_name: &str, limits: Limits) -> Result<Vec<Member>, String> {
    let mut found = Vec::new();
    let budget = RefCell::new(Budget::new(limits));
    members(
        format(stream).ok_or("not recognised")?,
        &Content::Bytes(stream),
        own_name,
        50 << 20,
        &budget,
        &mut |m| found.push(m),
    )?;
    assert!(matches!(format(stream), Some(Format::Compressed(c)) if c == codec));
    Ok(found)
}

#[test]
fn every_codec_is_told_by_its_bytes_and_decoded_whole() {
    let text = b"GITHUB_TOKEN=placeholder\nline two\n".repeat(100);
    for codec in CODECS {
        let stream = compressed(codec, &text);
        let found = decoded(codec, &stream, "build/notes.txt.bin", LIMITS).unwrap();
        assert_eq!(found.len(), 1, "{codec:?}");
        assert_eq!(found[0].name, "notes.txt.bin", "{codec:?}");
        assert_eq!(found[0].bytes, text, "{codec:?}");
    }
}

#[test]
fn a_compressed_tar_holds_a_tar_named_after_the_file() {
    for (codec, own, inner) in [
        (Codec::Gzip, "r.tgz", "r.tar"),
        (Codec::Xz, "r.tar.xz", "r.tar"),
        (Codec::Xz, "r.txz", "r.tar"),
        (Codec::Bzip2, "r.tbz2", "r.tar"),
        (Codec::Bzip2, "r.tar.bz2", "r.tar"),
        (Codec::Zstd, "r.tar.zst", "r.tar"),
        (Codec::Zstd, "r.tzst", "r.tar"),
        (Codec::Lz4, "r.tar.lz4", "r.tar"),
        (Codec::Lzma, "r.tlz", "r.tar"),
        (Codec::Lzma, "r.tar.lzma", "r.tar"),
    ] {
        let found = decoded(codec, &compressed(codec, b"x"), own, LIMITS).unwrap();
        assert_eq!(found[0].name, inner, "{own}");
    }
}

#[test]
fn concatenated_streams_are_one_member_or_an_error_never_a_part() {
    for codec in CODECS {
        let mut stream = compressed(codec, b"first part\n");
        stream.extend(compressed(codec, b"second part\n"));
        let found = decoded(codec, &stream, "x.log", LIMITS);
        if matches!(codec, Codec::Xz | Codec::Lzma) {
            // The xz and LZMA decoders read one stream: more is an error (the scan is
            // incomplete), never the first part passed off as the whole.
            let err = found.map(|_| ()).unwrap_err();
            assert!(
                err.contains(&format!("x.log: not a readable {codec:?} stream")),
                "{err}"
            );
        } else {
            assert_eq!(found.unwrap()[0].bytes, b"first part\nsecond part\n", "{codec:?}");
        }
    }
}

#[test]
fn a_compressed_bomb_is_refused_for_every_codec() {
    let zeros = vec![0u8; 8 << 20];
    for codec in CODECS {
        // lzma-rs's encoder stores rather than compresses: the xz and LZMA bombs are ones
        // `xz -9` made.
        let bomb = match codec {
            Codec::Xz => include_bytes!("../../../tests/fixtures/archives/zeros-8m.xz").to_vec(),
            Codec::Lzma => include_bytes!("../../../tests/fixtures/archives/zeros-8m.lzma").to_vec(),
            _ => compressed(codec, &zeros),
        };
        let err = decoded(codec, &bomb, "z.bin", LIMITS).map(|_| ()).unwrap_err();
        assert!(err.contains("archive bomb"), "{codec:?}: {err}");
        let small = Limits {
            expanded: 1 << 20,
            ..LIMITS
        };
        let err = decoded(codec, &bomb, "z.bin", small).map(|_| ()).unwrap_err();
        assert!(
            err.contains("more than 1048576 bytes expanded"),
            "{codec:?}: {err}"
        );
    }
}

#[test]
fn a_truncated_stream_is_an_error_never_an_empty_member() {
    let text = b"some text that compresses\n".repeat(50);
    for codec in CODECS {
        let stream = compressed(codec, &text);
        let cut = &stream[..stream.len() / 2];
        assert!(decoded(codec, cut, "x", LIMITS).is_err(), "{codec:?}");
    }
}

#[test]
fn formats_not_opened_are_named_and_text_is_not_taken_for_bzip2() {
    assert_eq!(format(b"7z\xbc\xaf\x27\x1c\x00\x04"), Some(Format::SevenZip));
    assert_eq!(unopened_format(b"Rar!\x1a\x07\x01\x00"), Some("RAR"));
    assert_eq!(unopened_format(b"MSCF\0\0\0\0rest"), Some("CAB"));
    assert_eq!(unopened_format(b"plain"), None);
    assert_eq!(format(b"BZh9 is how a note may begin"), None);
}

#[test]
fn gzip_holds_one_member_named_after_the_file() {
    let gz = compressed(Codec::Gzip, b"secret = 1\n");
    assert_eq!(
        names(Format::Compressed(Codec::Gzip), &gz, LIMITS).unwrap(),
        ["x"]
    );
}

/// Each member's name and bytes.
fn read_members(format: Format, bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut found = Vec::new();
    let budget = RefCell::new(Budget::new(LIMITS));
    members(
        format,
        &Content::Bytes(bytes),
        "pkg",
        50 << 20,
        &budget,
        &mut |m| found.push((m.name, m.bytes)),
    )?;
    Ok(found)
}

#[test]
fn unix_package_archives_are_told_by_their_bytes_and_opened() {
    use crate::test_support::compress;
    let files: &[(&str, &[u8])] = &[
        ("etc/app.conf", b"odd length\n"),
        ("a-name-longer-than-fifteen.txt", b"even"),
    ];
    let cases = [
        (compress::ar_gnu(files), Format::Ar),
        (compress::ar_bsd(files), Format::Ar),
        (compress::cpio_odc(files), Format::Cpio),
    ];
    for (bytes, expected) in cases {
        assert_eq!(format(&bytes), Some(expected));
        let read = read_members(expected, &bytes).unwrap();
        let want: Vec<(String, Vec<u8>)> = files
            .iter()
            .map(|(name, bytes)| (name.to_string(), bytes.to_vec()))
            .collect();
        assert_eq!(read, want, "{expected:?}");
    }
    // newc names its members `./path` and holds a directory, which is no member.
    let newc = compress::cpio_newc(files);
    assert_eq!(format(&newc), Some(Format::Cpio));
    let names: Vec<String> = read_members(Format::Cpio, &newc)
        .unwrap()
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(names, ["etc/app.conf", "a-name-longer-than-fifteen.txt"]);
    // An RPM's one member is its payload, named by its compression.
    let rpm = compress::rpm(files);
    assert_eq!(format(&rpm), Some(Format::Rpm));
    let payload = read_members(Format::Rpm, &rpm).unwrap();
    assert_eq!(payload.len(), 1);
    assert_eq!(payload[0].0, "payload.cpio.gz");
    assert_eq!(format(&payload[0].1), Some(Format::Compressed(Codec::Gzip)));
}

#[test]
fn text_that_starts_like_a_cpio_header_stays_text() {
    assert_eq!(format(b"070701,070702,070707\nsecond line of a table\n"), None);
    assert_eq!(format(&b"070707".repeat(20)), None);
    assert_eq!(format(b"!<arch> is how a note may begin"), None);
}

/// A hostile header is an error that names the problem, never a panic or an allocation of
/// what it declares.
#[test]
fn broken_unix_archives_are_errors_never_panics() {
    use crate::test_support::compress;
    let deb = compress::ar_gnu(&[("a-name-longer-than-fifteen.txt", b"x")]);
    let cases: Vec<(Vec<u8>, Format)> = vec![
        // A long name past the end of the name table.
        (
            String::from_utf8_lossy(&deb).replace("/0  ", "/999").into_bytes(),
            Format::Ar,
        ),
        // A name table declaring gigabytes.
        (
            [
                b"!<arch>\n".as_slice(),
                format!("{:<16}{:<32}{:<10}`\n", "//", "0", "9999999999").as_bytes(),
            ]
            .concat(),
            Format::Ar,
        ),
        // A size that is no number, and a header without its end marker.
        (
            [
                b"!<arch>\n".as_slice(),
                format!("{:<16}{:<32}{:<10}`\n", "a/", "0", "12x").as_bytes(),
            ]
            .concat(),
            Format::Ar,
        ),
        ([b"!<arch>\n".as_slice(), &[b' '; 60]].concat(), Format::Ar),
        // cpio: a name size of gigabytes, a member cut short.
        (
            format!("070701{}{:08X}{}", "00000000".repeat(11), u32::MAX, "00000000").into_bytes(),
            Format::Cpio,
        ),
        (
            compress::cpio_odc(&[("a", b"0123456789")])[..90].to_vec(),
            Format::Cpio,
        ),
        // An RPM whose headers declare more than it holds.
        (compress::rpm(&[("a", b"x")])[..100].to_vec(), Format::Rpm),
    ];
    for (index, (bytes, format)) in cases.into_iter().enumerate() {
        let result = std::panic::catch_unwind(|| read_members(format, &bytes));
        let err = result.unwrap_or_else(|_| panic!("case {index} panicked"));
        assert!(err.is_err(), "case {index}: {err:?}");
    }
}

#[test]
fn a_7z_archive_is_opened_and_a_broken_one_is_an_error() {
    use crate::test_support::compress;
    let files: &[(&str, &[u8])] = &[("tools/app.conf", b"x = 1\n"), ("b.txt", b"two")];
    let archive = compress::seven_zip(files);
    assert_eq!(format(&archive), Some(Format::SevenZip));
    let read = read_members(Format::SevenZip, &archive).unwrap();
    assert_eq!(
        read,
        files
            .iter()
            .map(|(name, bytes)| (name.to_string(), bytes.to_vec()))
            .collect::<Vec<_>>()
    );
    let cut = &archive[..archive.len() - 10];
    assert!(read_members(Format::SevenZip, cut).is_err());
    let mut garbage = b"7z\xbc\xaf\x27\x1c\x00\x04".to_vec();
    garbage.extend((0..4096u32).map(|n| (n.wrapping_mul(2_654_435_761) >> 24) as u8));
    assert!(read_members(Format::SevenZip, &garbage).is_err());
}

#[test]
fn a_7z_bomb_is_refused_with_the_bound_it_broke() {
    use crate::test_support::compress;
    let zeros = vec![0u8; 8 << 20];
    let archive = compress::seven_zip(&[("zeros.bin", &zeros)]);
    let budget = RefCell::new(Budget::new(Limits {
        expanded: 4 << 20,
        ..LIMITS
    }));
    let err = members(
        Format::SevenZip,
        &Content::Bytes(&archive),
        "x.7z",
        50 << 20,
        &budget,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(err.contains("archive bomb"), "{err}");
}

/// Hostile bytes are errors or members, never a panic: every reader of a format written
/// here or taken from a crate, fed its own archives with bytes flipped, cut and inserted.
#[test]
fn mutated_archives_of_every_format_never_panic() {
    use crate::test_support::compress;
    let files: &[(&str, &[u8])] = &[
        ("etc/app.conf", b"token = 1\nsecond line\n"),
        ("a-name-longer-than-fifteen.txt", &[7u8; 300]),
    ];
    let archives = [
        (Format::Ar, compress::ar_gnu(files)),
        (Format::Ar, compress::ar_bsd(files)),
        (Format::Cpio, compress::cpio_newc(files)),
        (Format::Cpio, compress::cpio_odc(files)),
        (Format::Rpm, compress::rpm(files)),
        (Format::SevenZip, compress::seven_zip(files)),
        (Format::Zip, compress::zip(files)),
        (Format::Tar, compress::tar(files)),
        (
            Format::Compressed(Codec::Gzip),
            compress::gzip(&compress::tar(files)),
        ),
        (Format::Compressed(Codec::Xz), compress::xz(b"token = 1\n")),
        (Format::Compressed(Codec::Bzip2), compress::bzip2(b"token = 1\n")),
        (Format::Compressed(Codec::Zstd), compress::zstd(b"token = 1\n")),
        (Format::Compressed(Codec::Lz4), compress::lz4(b"token = 1\n")),
        (Format::Compressed(Codec::Zlib), compress::zlib(b"token = 1\n")),
        (Format::Compressed(Codec::Lzma), compress::lzma(b"token = 1\n")),
    ];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |below: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % below as u64) as usize
    };
    for (format, archive) in archives {
        for round in 0..300 {
            let mut bytes = archive.clone();
            for _ in 0..1 + next(4) {
                let at = next(bytes.len());
                match next(3) {
                    0 => bytes[at] ^= 1 << next(8),
                    1 => bytes.truncate(at.max(1)),
                    _ => bytes.insert(at, next(256) as u8),
                }
            }
            let result = std::panic::catch_unwind(|| read_members(format, &bytes));
            assert!(result.is_ok(), "{format:?} round {round} panicked");
        }
    }
}

use super::*;

fn utf16(text: &str, little_endian: bool, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut push = |unit: u16| {
        out.extend(if little_endian {
            unit.to_le_bytes()
        } else {
            unit.to_be_bytes()
        })
    };
    if bom {
        push(0xfeff);
    }
    text.encode_utf16().for_each(&mut push);
    out
}

fn utf32(text: &str, little_endian: bool, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let chars = bom.then_some('\u{feff}').into_iter().chain(text.chars());
    for c in chars {
        let unit = c as u32;
        out.extend(if little_endian {
            unit.to_le_bytes()
        } else {
            unit.to_be_bytes()
        });
    }
    out
}

const TEXT: &str = "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\nline two\n";

#[test]
fn wide_text_is_recognised_in_every_form() {
    for little_endian in [true, false] {
        for bom in [true, false] {
            let bytes = utf16(TEXT, little_endian, bom);
            let kind = classify(&bytes);
            assert_eq!(
                kind.encoding,
                Some(Encoding::Utf16 { little_endian }),
                "utf16 {little_endian} {bom}"
            );
            assert_eq!(decode(&bytes, kind.encoding.unwrap()), TEXT.as_bytes());
            let bytes = utf32(TEXT, little_endian, bom);
            let kind = classify(&bytes);
            assert_eq!(
                kind.encoding,
                Some(Encoding::Utf32 { little_endian }),
                "utf32 {little_endian} {bom}"
            );
            assert!(!kind.binary);
            assert_eq!(decode(&bytes, kind.encoding.unwrap()), TEXT.as_bytes());
        }
    }
}

#[test]
fn wide_text_behind_a_mark_that_does_not_claim_it_is_read_from_where_it_starts() {
    let text = "token = ghp_abc\nnext line\n";
    let prefixes: [&[u8]; 5] = [
        &[0xef, 0xbb, 0xbf],
        &[0xfe, 0xff],
        &[0xff, 0xfe],
        &[0xff, 0xfe, 0, 0],
        &[0, 0, 0xfe, 0xff],
    ];
    for prefix in prefixes {
        for little_endian in [true, false] {
            for wide in [
                utf16(text, little_endian, false),
                utf32(text, little_endian, false),
            ] {
                let bytes = [prefix, &wide[..]].concat();
                let kind = classify(&bytes);
                let encoding = kind
                    .encoding
                    .unwrap_or_else(|| panic!("{prefix:?} {little_endian}"));
                let decoded =
                    String::from_utf8_lossy(&decode_from(&bytes, kind.start, encoding)).into_owned();
                let newlines = prefix.iter().filter(|&&b| b == b'\n').count();
                assert!(
                    decoded.contains(&format!("{}token = ghp_abc\nnext line", "\n".repeat(newlines))),
                    "{prefix:?} {little_endian}: {decoded:?}"
                );
            }
        }
    }
}

/// `text` in EBCDIC, through the decoder's own table.
fn to_ebcdic(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| {
            (0..=255u8)
                .find(|&b| ebcdic_char(b) == Some(c))
                .expect("encodable")
        })
        .collect()
}

#[test]
fn sparse_ebcdic_is_still_ebcdic() {
    let text = format!("GITHUB_TOKEN={}\n", "ghp_".to_owned() + &"a1B2".repeat(9));
    let encoded = to_ebcdic(&text);
    assert_eq!(classify(&encoded).encoding, Some(Encoding::Ebcdic));
}

#[test]
fn a_byte_order_mark_is_a_claim_the_bytes_must_bear_out() {
    // Plain text behind a UTF-16 mark: not decoded as UTF-16 (it would match nothing).
    let mut forged = vec![0xff, 0xfe];
    forged.extend(TEXT.repeat(4).as_bytes());
    assert_eq!(
        classify(&forged),
        Kind {
            binary: false,
            encoding: None,
            start: 0,
        }
    );
    let mut forged = vec![0xfe, 0xff];
    forged.extend(TEXT.repeat(4).as_bytes());
    assert_eq!(classify(&forged).encoding, None);
    // A zip behind the mark is a binary, not text.
    let mut zip = vec![0xff, 0xfe];
    zip.extend(b"PK\x03\x04\x14\x00\x00\x00\x08\x00\x21\x00\xb7\xac\xce\x34\x00\x00\x00\x00");
    zip.extend((0..2000u32).map(|n| (n.wrapping_mul(2_654_435_761) >> 13) as u8));
    assert!(classify(&zip).binary);
    assert_eq!(classify(&zip).encoding, None);
}

#[test]
fn comparable_text_is_decoded_only_when_wide() {
    assert_eq!(&*comparable(b"plain\n"), b"plain\n");
    assert_eq!(&*comparable(&utf16(TEXT, true, true)), TEXT.as_bytes());
}

#[test]
fn ebcdic_text_is_told_by_its_bytes_and_decoded() {
    let text = "//DEPLOY JOB (ACCT),'RELEASE'\n// SET TOKEN=ghp_abc123 user@host:~/[x]\n";
    let encoded = to_ebcdic(text);
    assert_eq!(classify(&encoded).encoding, Some(Encoding::Ebcdic));
    assert_eq!(
        String::from_utf8(decode(&encoded, Encoding::Ebcdic)).unwrap(),
        text
    );
    // ASCII and UTF-8 text, and bytes that only fit the alphabet, are not EBCDIC.
    assert_eq!(classify(text.as_bytes()).encoding, None);
    assert_eq!(classify("é à ü ".repeat(10).as_bytes()).encoding, None);
    assert_eq!(classify(&[0xC1; 64]).encoding, None);
}

#[test]
fn ebcdic_text_behind_a_prefix_is_read_from_the_prefix_last_line_break() {
    let text = "//DEPLOY JOB (ACCT),'RELEASE'\n// SET TOKEN=ghp_abc123 user@host:~/[x]\n".repeat(3);
    let encoded = to_ebcdic(&text);
    for prefix in [&b"\xef\xbb\xbf"[..], b"#!/bin/sh\n"] {
        let file = [prefix, &encoded].concat();
        let kind = classify(&file);
        assert_eq!(kind.encoding, Some(Encoding::Ebcdic), "{prefix:?}");
        let decoded = decode_from(&file, kind.start, Encoding::Ebcdic);
        let lines_before = prefix.iter().filter(|&&b| b == b'\n').count();
        let decoded = String::from_utf8(decoded).unwrap();
        assert_eq!(
            decoded.lines().nth(lines_before + 1),
            text.lines().nth(1),
            "{prefix:?}"
        );
    }
    // Behind a NUL, a PNG or a `%PDF` signature the file stays a binary, its text still
    // found from the signature's last line break.
    let png = [&b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"[..], &encoded].concat();
    assert!(classify(&png).binary);
    assert_eq!(ebcdic_text_behind_a_prefix(&png), Some(8));
    let pdf = [&b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"[..], &encoded].concat();
    assert!(classify(&pdf).binary);
    assert_eq!(ebcdic_text_behind_a_prefix(&pdf), Some(15));
    // A NUL inside EBCDIC text costs that byte alone.
    let mut with_nul = encoded.clone();
    with_nul.insert(40, 0);
    assert_eq!(ebcdic_text_behind_a_prefix(&with_nul), Some(0));
    // ASCII text with an EBCDIC-looking tail is not EBCDIC.
    let ascii = [text.as_bytes(), &[0xC1; 40]].concat();
    assert_eq!(ebcdic_text_behind_a_prefix(&ascii), None);
}

#[test]
fn a_byte_inserted_inside_wide_text_costs_that_byte_alone() {
    let text = "line one\ntoken = ghp_abc123def456\nline three\n";
    for little_endian in [true, false] {
        for stray in [0u8, b'X'] {
            for at in [3usize, 10, 17] {
                let mut bytes = utf16(text, little_endian, true);
                bytes.insert(at, stray);
                let decoded = String::from_utf8(decode(&bytes, Encoding::Utf16 { little_endian })).unwrap();
                assert!(decoded.contains("token = ghp_abc123def456"), "{decoded:?}");
                let mut bytes = utf32(text, little_endian, true);
                bytes.insert(2 * at, stray);
                let kind = classify(&bytes);
                assert_eq!(
                    kind.encoding,
                    Some(Encoding::Utf32 { little_endian }),
                    "{at} {stray}"
                );
                let decoded = String::from_utf8(decode(&bytes, Encoding::Utf32 { little_endian })).unwrap();
                assert!(decoded.contains("token = ghp_abc123def456"), "{decoded:?}");
            }
        }
    }
    // Text with no ASCII in it reads as it always did.
    let cjk = "\u{4e2d}\u{6587}\u{6587}\u{5b57}".repeat(8);
    let bytes = utf16(&cjk, true, true);
    assert_eq!(
        decode(&bytes, Encoding::Utf16 { little_endian: true }),
        cjk.as_bytes()
    );
}

#[test]
fn a_binary_header_in_front_of_utf32_text_keeps_it_a_binary() {
    // An ELF header, then UTF-32 text: the header is forgiven nothing.
    let mut file = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00".to_vec();
    file.extend(utf32(&"plain text line\n".repeat(100), true, false));
    assert!(classify(&file).binary);
    assert_eq!(classify(&file).encoding, None);
}

//! The one place that decides whether a file is binary, and hashes binaries.

use std::io::Read;

use sha2::{Digest, Sha256};

use crate::finding::hex;

/// How much of a file's start is inspected to classify it.
pub const FIRST_BLOCK: usize = 8 * 1024;

/// Classifies a file by its first block: NUL bytes or other binary signatures make it binary;
/// UTF-8 and UTF-16 text with a byte-order mark, and other text, does not.
pub fn is_binary(first_block: &[u8]) -> bool {
    content_inspector::inspect(first_block).is_binary()
}

/// The UTF-8 form of text that starts with a UTF-16 byte-order mark (little or big endian);
/// `None` for anything else. Unpaired surrogates become U+FFFD, as in any lossy decoding.
pub fn utf16_to_utf8(bytes: &[u8]) -> Option<Vec<u8>> {
    let little_endian = match bytes {
        [0xff, 0xfe, ..] => true,
        [0xfe, 0xff, ..] => false,
        _ => return None,
    };
    let units = bytes[2..].chunks_exact(2).map(|pair| {
        let pair = [pair[0], pair[1]];
        if little_endian {
            u16::from_le_bytes(pair)
        } else {
            u16::from_be_bytes(pair)
        }
    });
    let text: String = char::decode_utf16(units)
        .map(|unit| unit.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    Some(text.into_bytes())
}

/// sha256 of `first_block` followed by the rest of `reader`, streamed in blocks.
pub fn sha256_hex(first_block: &[u8], reader: &mut impl Read) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    hasher.update(first_block);
    let mut block = vec![0; 64 * 1024];
    loop {
        match reader.read(&mut block) {
            Ok(0) => break,
            Ok(n) => hasher.update(&block[..n]),
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        }
    }
    Ok(hex(&hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_bytes_make_a_file_binary() {
        assert!(is_binary(b"hello\0world, 15"));
        assert!(is_binary(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"));
        assert!(!is_binary(b"fn main() {}\n"));
        assert!(!is_binary("caf\u{e9} cr\u{e8}me".as_bytes()));
        assert!(!is_binary(b"latin-1 caf\xe9\n"));
        assert!(!is_binary(b""));
    }

    #[test]
    fn utf16_text_is_decoded() {
        let mut le = vec![0xff, 0xfe];
        le.extend("pass=1\n".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(utf16_to_utf8(&le).unwrap(), b"pass=1\n");
        let mut be = vec![0xfe, 0xff];
        be.extend("é".encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(utf16_to_utf8(&be).unwrap(), "é".as_bytes());
        assert_eq!(utf16_to_utf8(b"plain"), None);
        assert!(!is_binary(&le), "UTF-16 with a BOM is text");
    }

    #[test]
    fn hashes_stream_the_whole_file() {
        let mut rest: &[u8] = b"c";
        assert_eq!(
            sha256_hex(b"ab", &mut rest).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}

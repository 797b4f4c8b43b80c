//! Binaries: hashing them, reporting them (unless allowlisted) and the keys stored in binary
//! form, and telling UTF-16 without a byte-order mark from binary data (for `text`, which
//! decides what a file is).

use std::io::Read;

use sha2::{Digest, Sha256};

use super::indicators::{Indicator, UploadSource};
use super::{der, Context, FileReport, IndicatorHit, Inspector};
use crate::finding::{hex, Finding};
use crate::fragment::Content;
use crate::rules::IndicatorKind;

impl Inspector<'_> {
    /// Reports a binary unless the allowlist has it for this path; queues it for VirusTotal when
    /// --bincheck asks. A binary whose content and name are both old is not the change's.
    pub(super) fn check_binary(
        &self,
        sha256: String,
        length: u64,
        context: &Context<'_>,
        report: &mut FileReport,
    ) {
        let settings = &self.settings;
        let fragment = context.fragment;
        if !fragment.name_is_new && fragment.added.is_empty() {
            return;
        }
        if settings.exceptions.allows_binary(fragment.scan_path, &sha256) {
            return;
        }
        if settings.indicators.files {
            report.indicators.push(IndicatorHit {
                indicator: Indicator {
                    kind: IndicatorKind::File,
                    value: sha256.clone(),
                },
                line: 1,
                columns: None,
            });
            // Only a file of the tree is ever sent: a blob of history is looked up by hash.
            if let Content::File { path, upload: true } = &fragment.content {
                let source = UploadSource {
                    path: path.to_path_buf(),
                    size: length,
                };
                report.upload = Some((sha256.clone(), source));
            }
        }
        let finding = self.file_finding(
            settings.rules.binary_rule(),
            context,
            report,
            format!("sha256 {sha256}"),
            sha256,
        );
        report.findings.push(finding);
    }

    /// A finding about a whole file (line 1, no columns): a binary, a key file.
    fn file_finding(
        &self,
        rule: usize,
        context: &Context<'_>,
        report: &FileReport,
        evidence: String,
        match_hash: String,
    ) -> Finding {
        Finding {
            rule,
            level: self.level(rule, context.in_tests),
            path: report.path.clone(),
            line: 1,
            columns: None,
            evidence,
            match_hash,
            detail: None,
            introduced: None,
            secret: None,
            validation: None,
        }
    }

    /// Reports a private key stored in binary (DER) form, told by its structure from the
    /// file's first bytes, when the change makes the file.
    pub(super) fn check_key_file(
        &self,
        prefix: &[u8],
        length: u64,
        context: &Context<'_>,
        report: &mut FileReport,
    ) {
        if context.fragment.added.is_empty() {
            return;
        }
        let Some(kind) = der::private_key(prefix, length) else {
            return;
        };
        let Some(rule) = self.settings.rules.index_of(crate::rules::DER_PRIVATE_KEY) else {
            return;
        };
        let finding = self.file_finding(
            rule,
            context,
            report,
            format!("{kind}, {length} bytes"),
            crate::finding::sha256_hex(prefix),
        );
        report.findings.push(finding);
    }
}

/// How much of a file's start is inspected to classify it.
pub const FIRST_BLOCK: usize = 8 * 1024;

/// Text in UTF-16 without a byte-order mark, as some Windows tools write it: NUL every other
/// byte in at least one code unit of sixteen (every ASCII character, line breaks included, has
/// one: text in CJK scripts has few) and never in the other byte, and every code unit a
/// character text holds (no NUL, no control characters but tab, form feed and line breaks, no
/// unpaired surrogates). `Some(true)` for little endian. Judged on the whole code units of the
/// first block; binaries fail it within a few bytes, and ASCII text with a stray NUL has too
/// few NULs.
pub(crate) fn utf16_without_bom(first_block: &[u8]) -> Option<bool> {
    const MIN_UNITS: usize = 2;
    let pairs = first_block.chunks_exact(2);
    let total = pairs.len();
    if total < MIN_UNITS {
        return None;
    }
    // At least four (or every unit of a shorter text): one stray NUL in ASCII text is not it.
    let enough = |count: usize| count * 16 >= total && count >= total.min(4);
    let even_nul = pairs.clone().filter(|pair| pair[0] == 0).count();
    let odd_nul = pairs.filter(|pair| pair[1] == 0).count();
    let little_endian = match (odd_nul, even_nul) {
        (odd, 0) if enough(odd) => true,
        (0, even) if enough(even) => false,
        _ => return None,
    };
    let units = first_block.chunks_exact(2).map(|pair| unit(pair, little_endian));
    let textual = char::decode_utf16(units)
        .all(|c| c.is_ok_and(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\u{c}')));
    textual.then_some(little_endian)
}

pub(crate) fn unit(pair: &[u8], little_endian: bool) -> u16 {
    let pair = [pair[0], pair[1]];
    if little_endian {
        u16::from_le_bytes(pair)
    } else {
        u16::from_be_bytes(pair)
    }
}

/// sha256 of `first_block` followed by the rest of `reader`, streamed in blocks.
pub fn sha256_hex(first_block: &[u8], reader: &mut impl Read) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    hasher.update(first_block);
    finish_sha256(hasher, reader)
}

/// A hash begun elsewhere, finished with the rest of `reader`, streamed in blocks.
pub fn finish_sha256(mut hasher: Sha256, reader: &mut impl Read) -> std::io::Result<String> {
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

    fn is_binary(block: &[u8]) -> bool {
        crate::inspect::text::classify(block).binary
    }

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
    fn utf16_without_a_byte_order_mark_is_text() {
        let le: Vec<u8> = "key = 1\r\n".encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = "key = 1\n".encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert!(!is_binary(&le) && !is_binary(&be));
        assert_eq!(utf16_without_bom(&le), Some(true));
        assert_eq!(utf16_without_bom(&be), Some(false));
        // Binaries with NULs in other places, or control characters, stay binary.
        assert!(is_binary(b"MZ\x90\0\x03\0\0\0\x04\0\0\0"));
        assert!(is_binary(b"a\0\x01\0b\0c\0"));
        assert!(is_binary(b"\0\0\0\0"));
        // Mostly Japanese comments: few NULs, all in one column.
        let japanese = "# 設定ファイルの説明コメントです。本番環境では使用しないこと。\n".repeat(20)
            + "aws_key = \"AKIA\"\n";
        let le: Vec<u8> = japanese.encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert!(!is_binary(&le[..le.len().min(FIRST_BLOCK)]));
        // ASCII text with one stray NUL is not UTF-16.
        let stray = format!("{}\0{}", "x = 1\n".repeat(100), "y = 2\n".repeat(100));
        assert_eq!(utf16_without_bom(stray.as_bytes()), None);
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

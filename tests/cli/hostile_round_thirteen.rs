//! Never a false pass, round thirteen (issue 18, attacking again): what a binary's own bytes
//! hide, continued.
//! - A zlib stream inside a binary passed every mode: a PNG's compressed text chunk (`zTXt`,
//!   what an image editor writes a comment into, and `exiftool` or Pillow read back), or a
//!   stream written into the middle of an executable or a data file. Only a zlib stream that
//!   starts a file was opened; zlib's two-byte header was no magic number to carve by. Every
//!   zlib header (each window size and level) is looked for now, and a stream there is opened
//!   when it decodes whole with its checksum holding, named `logo.png!/zlib-at-57`.
//!
//! Each case runs in every mode (tree, `--patchset`, `--staged`, `--diff`, `--history`); each
//! failed before.

use crate::support::compress;
use crate::support::every_mode::{fails_everywhere_inside, in_every_mode};
use crate::support::seeded::github_token;

/// Bytes like a picture's: every byte value many times over, with no stream among them.
fn noise() -> Vec<u8> {
    (0..40).flat_map(|_| 0..=255u8).collect()
}

/// A PNG chunk: its length, type, data and CRC over type and data.
fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    let crc = crc32fast::hash(&chunk[4..]);
    chunk.extend_from_slice(&crc.to_be_bytes());
    chunk
}

/// A 1x1 grey PNG whose `zTXt` chunk, keyword `Comment`, holds `text` compressed; with where
/// the compressed text starts.
fn png_with_compressed_text(text: &[u8]) -> (Vec<u8>, usize) {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(png_chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]));
    let mut ztxt = b"Comment\0\0".to_vec();
    let start = png.len() + 8 + ztxt.len();
    ztxt.extend(compress::zlib(text));
    png.extend(png_chunk(b"zTXt", &ztxt));
    png.extend(png_chunk(b"IDAT", &compress::zlib(&[0, 0x80])));
    png.extend(png_chunk(b"IEND", &[]));
    (png, start)
}

#[test]
fn a_zlib_stream_inside_a_binary_is_opened() {
    let token = github_token(51);
    let text = format!("deployed with token {token}\n");
    let (png, start) = png_with_compressed_text(text.as_bytes());
    fails_everywhere_inside(
        "assets/logo.png",
        &png,
        "github-token",
        &token,
        &format!("assets/logo.png!/zlib-at-{start}"),
    );

    // In the middle of an executable, with the header zlib writes for a small window.
    let mut stream = compress::zlib(format!("[deploy]\ntoken = \"{token}\"\n").as_bytes());
    stream[..2].copy_from_slice(&[0x28, 0x15]);
    let mut tool = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00".to_vec();
    tool.extend(noise());
    let start = tool.len();
    tool.extend(&stream);
    tool.extend(noise());
    fails_everywhere_inside(
        "bin/tool",
        &tool,
        "github-token",
        &token,
        &format!("bin/tool!/zlib-at-{start}"),
    );

    // Behind the name of a PNG's pixel chunk, in a file that is no PNG: still opened.
    let mut data = noise();
    data.extend(b"\0\0\0\x40IDAT");
    let start = data.len();
    data.extend(compress::zlib(format!("token = \"{token}\"\n").as_bytes()));
    data.extend(noise());
    fails_everywhere_inside(
        "assets/data.bin",
        &data,
        "github-token",
        &token,
        &format!("assets/data.bin!/zlib-at-{start}"),
    );
}

// What is not a whole zlib stream is no member: a PNG's own image data, and zlib headers that
// chance puts in a binary's data (each followed by noise), raise nothing and leave the scan
// complete.
#[test]
fn a_picture_and_chance_zlib_headers_raise_nothing() {
    let (png, _) = png_with_compressed_text(b"Created with GIMP\n");
    let mut state: u32 = 0x2545_f491;
    let mut data = Vec::new();
    for round in 0..4000 {
        let headers: [[u8; 2]; 4] = [[0x78, 0x9c], [0x78, 0x01], [0x78, 0xda], [0x28, 0x15]];
        data.extend(headers[round % 4]);
        for _ in 0..16 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            data.push(state as u8);
        }
    }
    for (mode, run) in in_every_mode(&[("assets/logo.png", png), ("assets/blob.bin", data)]) {
        assert_eq!(run.code, 0, "{mode}: {}", run.all_output());
        assert!(
            !run.all_output().contains("not inspected"),
            "{mode}: {}",
            run.all_output()
        );
    }
}

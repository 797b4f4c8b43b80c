//! Every expansion in an archive, a carved stream or a PDF stream goes through here: decoders
//! write into a sink bounded by what the archive's budget leaves (and by `--max-file-size`), so
//! a size a stream claims is never trusted, only the bytes it writes.

use std::io::{BufRead, Read, Write};

use super::{Budget, Codec};

/// Decodes with `decoder` into a sink bounded by the room the budget leaves (never more than
/// `largest`): the bytes written and what the decoder returned. Writing past the room is an
/// error that names `name` and the bound it passed; the decoder's own errors are its to judge.
pub(in crate::inspect) fn decode_within<T>(
    name: &str,
    capacity: usize,
    largest: u64,
    budget: &Budget,
    decoder: impl FnOnce(&mut dyn Write) -> T,
) -> Result<(Vec<u8>, T), String> {
    let room = room(largest, budget);
    let mut sink = BoundedSink {
        bytes: Vec::with_capacity(capacity),
        room,
        overflowed: false,
    };
    let said = decoder(&mut sink);
    if sink.overflowed {
        return Err(past_room(name, room, largest, budget));
    }
    Ok((sink.bytes, said))
}

/// The most an LZMA-alone stream's dictionary may take, as for 7z (`sevenz.rs`).
pub(super) const LZMA_MEMORY: usize = 128 << 20;

/// Decodes every stream in `input` (one after another) into `output`.
pub(super) fn decode(codec: Codec, input: &mut impl BufRead, output: &mut impl Write) -> std::io::Result<()> {
    match codec {
        Codec::Gzip => std::io::copy(&mut flate2::bufread::MultiGzDecoder::new(input), output).map(drop),
        Codec::Bzip2 => std::io::copy(&mut bzip2::bufread::MultiBzDecoder::new(input), output).map(drop),
        // Like gzip, streams written one after another are one member.
        Codec::Zlib => loop {
            std::io::copy(&mut flate2::bufread::ZlibDecoder::new(&mut *input), output)?;
            if input.fill_buf()?.is_empty() {
                return Ok(());
            }
        },
        // The lz4 decoder stops after one frame: the frames after it are read in turn.
        Codec::Lz4 => loop {
            std::io::copy(&mut lz4_flex::frame::FrameDecoder::new(&mut *input), output)?;
            if input.fill_buf()?.is_empty() {
                return Ok(());
            }
        },
        // One stream; the dictionary it declares is bounded like a 7z archive's.
        Codec::Lzma => {
            let options = lzma_rs::decompress::Options {
                memlimit: Some(LZMA_MEMORY),
                ..Default::default()
            };
            lzma_rs::lzma_decompress_with_options(&mut *input, output, &options)
                .map_err(std::io::Error::other)?;
            // The container has no concatenation: bytes after the stream are not read, so
            // the member would be a part passed off as the whole.
            if input.fill_buf()?.is_empty() {
                Ok(())
            } else {
                Err(std::io::Error::other("bytes after the stream's end"))
            }
        }
        Codec::Xz => {
            loop {
                lzma_rs::xz_decompress(input, output).map_err(std::io::Error::other)?;
                // Streams may be followed by zero padding, then another stream.
                if !skip_zeros(input)? {
                    return Ok(());
                }
            }
        }
        // A frame may declare a window of up to 128 MiB (`zstd --long`, or a hostile header) and
        // the decoder reserves all of it, but untouched pages cost nothing: only what the frame
        // writes becomes resident, and that is bounded by the sink. Measured: eight 128 MiB-window
        // frames under `--threads 2` peak at the same RSS (36 MB) as eight 2 MiB-window ones.
        Codec::Zstd => loop {
            use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
            match ruzstd::decoding::StreamingDecoder::new(&mut *input) {
                Ok(mut frame) => {
                    std::io::copy(&mut frame, output)?;
                }
                // A skippable frame holds metadata, not content: step over it.
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                    length,
                    ..
                })) => {
                    let skipped =
                        std::io::copy(&mut (&mut *input).take(length.into()), &mut std::io::sink())?;
                    if skipped < u64::from(length) {
                        return Err(std::io::Error::other("a skippable frame ends early"));
                    }
                }
                Err(err) => return Err(std::io::Error::other(err.to_string())),
            }
            if input.fill_buf()?.is_empty() {
                return Ok(());
            }
        },
    }
}

/// Skips zero bytes; whether anything follows them.
fn skip_zeros(input: &mut impl BufRead) -> std::io::Result<bool> {
    loop {
        let buffer = input.fill_buf()?;
        if buffer.is_empty() {
            return Ok(false);
        }
        let zeros = buffer.iter().take_while(|byte| **byte == 0).count();
        let more = zeros < buffer.len();
        input.consume(zeros);
        if more {
            return Ok(true);
        }
    }
}

/// Collects decoded bytes, refusing any past `room`: a stream's claims about its size can lie,
/// the bytes written cannot.
struct BoundedSink {
    bytes: Vec<u8>,
    room: u64,
    overflowed: bool,
}

impl Write for BoundedSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() as u64 + buf.len() as u64 > self.room {
            self.overflowed = true;
            return Err(std::io::Error::other("expands past its bound"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A reader that counts what it hands out (the compressed bytes of a stream).
pub(super) struct CountingReader<R> {
    pub inner: R,
    pub count: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.count += read as u64;
        Ok(read)
    }
}

impl<R: BufRead> BufRead for CountingReader<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.count += amount as u64;
        self.inner.consume(amount);
    }
}

pub(super) fn entry_size_hint(declared: u64) -> usize {
    usize::try_from(declared.min(1 << 20)).unwrap_or(0)
}

/// How much one member may expand to: what the budget has left, never more than `largest`.
pub(in crate::inspect) fn room(largest: u64, budget: &Budget) -> u64 {
    budget
        .limits
        .expanded
        .saturating_sub(budget.expanded)
        .min(largest)
}

/// Why a member that expanded past `room` is not inspected.
fn past_room(name: &str, room: u64, largest: u64, budget: &Budget) -> String {
    if room == largest {
        format!("{name} expands past --max-file-size ({largest} bytes); not inspected")
    } else {
        format!(
            "an archive bomb? more than {} bytes expanded (at {name}); not inspected",
            budget.limits.expanded
        )
    }
}

/// Reads a member whole, never more than `largest` bytes nor more than the budget has left:
/// a declared size can lie, the bytes read cannot.
pub(super) fn read_bounded(
    reader: &mut impl Read,
    name: &str,
    hint: usize,
    largest: u64,
    budget: &Budget,
) -> Result<Vec<u8>, String> {
    let room = room(largest, budget);
    let mut bytes = Vec::with_capacity(hint);
    reader
        .take(room.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|err| format!("{name}: {err}"))?;
    if bytes.len() as u64 > room {
        return Err(past_room(name, room, largest, budget));
    }
    Ok(bytes)
}

/// A zip's LZMA member: the stream ends at the size the directory declares, as unzip and 7-Zip
/// read it (an end marker after it, which the writer may add, is not content).
pub(super) fn zip_lzma(input: &mut impl BufRead, size: u64, output: &mut impl Write) -> std::io::Result<()> {
    let mut header = [0u8; 4];
    input.read_exact(&mut header)?;
    if u16::from_le_bytes([header[2], header[3]]) != 5 {
        return Err(std::io::Error::other("LZMA properties are not 5 bytes long"));
    }
    let options = lzma_rs::decompress::Options {
        unpacked_size: lzma_rs::decompress::UnpackedSize::UseProvided(Some(size)),
        memlimit: Some(LZMA_MEMORY),
        ..Default::default()
    };
    lzma_rs::lzma_decompress_with_options(input, output, &options).map_err(std::io::Error::other)
}

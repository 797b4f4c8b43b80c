//! A PDF's compressed streams. A PDF writer deflates page content, form fields, annotations and
//! embedded files (`/Filter /FlateDecode`), so text a PDF holds is rarely in its bytes as they
//! are. Each stream that inflates is a member of its own (`doc.pdf!/stream-3`), read under the
//! same bounds as an archive's members; streams in other filters (images) are left to the search
//! of the file's own bytes.

use std::cell::RefCell;
use std::io::Write;

use super::archive::{decode_within, Budget, Member};

/// Whether a file whose first block this is is a PDF.
pub fn is_pdf(first_block: &[u8]) -> bool {
    first_block.starts_with(b"%PDF-")
}

/// Every stream of `pdf` that inflates, in order, handed to `visit`.
pub fn streams(
    pdf: &[u8],
    largest: u64,
    budget: &RefCell<Budget>,
    visit: &mut dyn FnMut(Member),
) -> Result<(), String> {
    let opening = memchr::memmem::Finder::new(b"stream");
    let closing = memchr::memmem::Finder::new(b"endstream");
    let mut at = 0;
    let mut number = 0;
    while let Some(found) = opening.find(&pdf[at..]).map(|offset| at + offset) {
        at = found + b"stream".len();
        // `endstream` holds `stream` too; a stream's data starts after the keyword's line break.
        if pdf[..found].ends_with(b"end") {
            continue;
        }
        let data_start = match &pdf[at..] {
            [b'\r', b'\n', ..] => at + 2,
            [b'\n', ..] | [b'\r', ..] => at + 1,
            _ => continue,
        };
        let data_end = closing
            .find(&pdf[data_start..])
            .map_or(pdf.len(), |offset| data_start + offset);
        at = data_end;
        number += 1;
        let name = format!("stream-{number}");
        let Some(bytes) = inflate(&pdf[data_start..data_end], &name, largest, budget)? else {
            continue;
        };
        budget
            .borrow_mut()
            .take(&name, bytes.len() as u64, (data_end - data_start) as u64)?;
        visit(Member { name, bytes });
    }
    Ok(())
}

/// The stream's data inflated, or None when it is not deflated (or not whole: a PDF's streams
/// are no promise, and the file's own bytes are searched anyway). Past the budget is an error.
fn inflate(
    data: &[u8],
    name: &str,
    largest: u64,
    budget: &RefCell<Budget>,
) -> Result<Option<Vec<u8>>, String> {
    if !super::archive::is_zlib(data) {
        return Ok(None);
    }
    let (bytes, written) = decode_within(name, 0, largest, &budget.borrow(), |sink| {
        let mut decoder = flate2::write::ZlibDecoder::new(sink);
        decoder.write_all(data).and_then(|()| decoder.try_finish())
    })?;
    Ok((written.is_ok() || !bytes.is_empty()).then_some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::archive::LIMITS;

    fn deflated(text: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(text).unwrap();
        encoder.finish().unwrap()
    }

    fn pdf_with(streams: &[Vec<u8>]) -> Vec<u8> {
        let mut pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
        for (n, data) in streams.iter().enumerate() {
            pdf.extend(
                format!(
                    "{} 0 obj\n<< /Length {} /Filter /FlateDecode >>\nstream\r\n",
                    n + 1,
                    data.len()
                )
                .bytes(),
            );
            pdf.extend_from_slice(data);
            pdf.extend(b"\r\nendstream\nendobj\n");
        }
        pdf.extend(b"trailer\n<< >>\n%%EOF\n");
        pdf
    }

    fn members(pdf: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
        let budget = RefCell::new(Budget::new(LIMITS));
        let mut found = Vec::new();
        streams(pdf, 1 << 30, &budget, &mut |m| found.push((m.name, m.bytes)))?;
        Ok(found)
    }

    #[test]
    fn deflated_streams_are_inflated_and_others_left_alone() {
        let pdf = pdf_with(&[
            deflated(b"BT (page one) Tj ET"),
            b"\xff\xd8\xff\xe0 a jpeg".to_vec(),
            deflated(b"second"),
        ]);
        assert!(is_pdf(&pdf));
        let found = members(&pdf).unwrap();
        assert_eq!(
            found,
            vec![
                ("stream-1".to_string(), b"BT (page one) Tj ET".to_vec()),
                ("stream-3".to_string(), b"second".to_vec())
            ]
        );
    }

    #[test]
    fn a_stream_that_inflates_past_the_budget_is_an_error() {
        let pdf = pdf_with(&[deflated(&vec![b'a'; 8 << 20])]);
        let err = members(&pdf).unwrap_err();
        assert!(err.contains("archive bomb"), "{err}");
    }
}

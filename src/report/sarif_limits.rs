//! GitHub code scanning's upload limits, which reject a SARIF file whole: more than 25,000
//! results or rules in a run, more than 10 MB gzip-compressed, over-long descriptions, too many
//! tags, locations or runs. anteater's SARIF never crosses them: it keeps the most severe results
//! and says what it left out, rather than have the upload fail and every finding vanish.

use std::io::Write;

use crate::finding::{Finding, Level};

/// Results per run GitHub accepts.
pub const MAX_RESULTS: usize = 25_000;
/// Rules per run GitHub accepts.
pub const MAX_RULES: usize = 25_000;
/// The gzip-compressed upload limit is 10 MB; a margin keeps clear of how the limit is counted.
pub const MAX_GZIP_BYTES: u64 = 9_500_000;
/// `shortDescription.text` and `fullDescription.text` of a rule.
pub const MAX_DESCRIPTION_CHARS: usize = 1024;
/// A rule's `name`.
pub const MAX_NAME_CHARS: usize = 255;
/// Tags per rule accepted (only 10 are kept, so anteater stays within those).
pub const MAX_TAGS: usize = 10;
// One run per file, one location per result and no thread flows or extensions: anteater's
// SARIF never approaches those limits (20 runs, 1,000 locations, 10,000 thread-flow locations,
// 100 extensions); `sarif::tests` checks the shape.

/// Which findings go into the SARIF run, and what was left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Indices into the report's findings, in report order.
    pub kept: Vec<usize>,
    pub dropped: Option<Dropped>,
}

/// Findings left out of the SARIF run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    pub total: usize,
    pub kept: usize,
    /// Left out, per level.
    pub error: usize,
    pub warning: usize,
    pub note: usize,
    /// Why: the result count or the compressed size.
    pub reason: &'static str,
}

impl Dropped {
    pub fn count(&self) -> usize {
        self.total - self.kept
    }

    /// One sentence for the run's notification and the console.
    pub fn message(&self) -> String {
        format!(
            "The SARIF log holds the {} most severe of {} findings: {} left out ({} error, {} warning, {} note) \
             because {}; every finding is in the console and JSON output.",
            self.kept,
            self.total,
            self.count(),
            self.error,
            self.warning,
            self.note,
            self.reason
        )
    }
}

pub const REASON_COUNT: &str = "GitHub code scanning rejects runs of more than 25,000 results";
pub const REASON_SIZE: &str = "GitHub code scanning rejects files over 10 MB compressed";

/// The `cap` most severe findings (all of them when there are no more), kept in report order.
/// Equal levels keep report order, so what is dropped is the tail of the least severe level.
pub fn select(findings: &[Finding], cap: usize, reason: &'static str) -> Selection {
    if findings.len() <= cap {
        return Selection {
            kept: (0..findings.len()).collect(),
            dropped: None,
        };
    }
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_by_key(|&index| std::cmp::Reverse(findings[index].level));
    let mut kept = order[..cap].to_vec();
    let mut dropped = Dropped {
        total: findings.len(),
        kept: cap,
        error: 0,
        warning: 0,
        note: 0,
        reason,
    };
    for &index in &order[cap..] {
        match findings[index].level {
            Level::Error => dropped.error += 1,
            Level::Warning => dropped.warning += 1,
            Level::Note => dropped.note += 1,
        }
    }
    kept.sort_unstable();
    Selection {
        kept,
        dropped: Some(dropped),
    }
}

/// `text` cut to `max` characters, with an ellipsis when it was cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

/// Passes writes through while counting what they compress to with gzip, as the upload does.
pub struct GzipMeter<'a> {
    inner: &'a mut dyn Write,
    gzip: flate2::write::GzEncoder<ByteCounter>,
}

impl<'a> GzipMeter<'a> {
    pub fn new(inner: &'a mut dyn Write) -> Self {
        Self {
            inner,
            gzip: flate2::write::GzEncoder::new(ByteCounter(0), flate2::Compression::default()),
        }
    }

    /// The compressed size of everything written.
    pub fn finish(self) -> std::io::Result<u64> {
        Ok(self.gzip.finish()?.0)
    }
}

impl Write for GzipMeter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.gzip.write_all(&buf[..written])?;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

pub struct ByteCounter(u64);

impl Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testing::{finding, rules};

    #[test]
    fn the_most_severe_are_kept_in_report_order() {
        let rules = rules();
        let findings = [
            finding(&rules, "low", "a", 1, "x"),
            finding(&rules, "crit", "b", 1, "x"),
            finding(&rules, "medium", "c", 1, "x"),
            finding(&rules, "high", "d", 1, "x"),
            finding(&rules, "low", "e", 1, "x"),
        ];
        let selection = select(&findings, 3, REASON_COUNT);
        assert_eq!(selection.kept, [1, 2, 3]);
        let dropped = selection.dropped.unwrap();
        assert_eq!((dropped.count(), dropped.note, dropped.error), (2, 2, 0));
        assert!(dropped.message().contains("3 most severe of 5 findings"));
        assert_eq!(select(&findings, 5, REASON_COUNT).dropped, None);
    }

    #[test]
    fn long_text_is_cut() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }

    #[test]
    fn the_meter_counts_compressed_bytes() {
        let mut out = Vec::new();
        let mut meter = GzipMeter::new(&mut out);
        meter.write_all(&[b'a'; 100_000]).unwrap();
        let compressed = meter.finish().unwrap();
        assert_eq!(out.len(), 100_000);
        assert!(compressed > 20 && compressed < 1_000, "{compressed}");
    }
}

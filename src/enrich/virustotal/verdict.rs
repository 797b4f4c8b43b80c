//! What VirusTotal said about one indicator, in the form the cache stores and reports show.

use serde::{Deserialize, Serialize};

pub use crate::rules::IndicatorKind;

/// Engine counts from `last_analysis_stats` (reports) or `stats` (analyses), with the GUI link.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub malicious: u32,
    pub suspicious: u32,
    pub harmless: u32,
    pub undetected: u32,
    /// `https://www.virustotal.com/gui/...` for this indicator.
    pub permalink: String,
    /// Unix seconds of the analysis the counts come from, when VirusTotal gave one.
    pub analysis_date: Option<i64>,
}

impl Verdict {
    /// Malicious when at least `min_detections` engines say so.
    pub fn is_malicious(&self, min_detections: u32) -> bool {
        self.malicious >= min_detections.max(1)
    }
}

//! Verdicts kept in a file between runs (`--vt-cache-file`), for ephemeral runners without a
//! shared Redis: GitHub-hosted runners restore the file with `actions/cache`, so an unchanged
//! repository is re-scanned without a single VirusTotal request.
//!
//! The file holds no indicator values: entries are keyed like the Redis cache (kind and sha256 of
//! the value), and a permalink that spells out the value is dropped and rebuilt on reading.
//! It is authenticated with an HMAC keyed by the VirusTotal API key: the file may sit in the
//! workspace a pull request writes to, and a forged "clean" verdict for a malicious address must
//! not pass the gate. A file that fails the check is ignored (with a warning), never trusted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::cache::key;
use super::verdict::{IndicatorKind, Verdict};
use crate::finding::hex;
use crate::platform_env::ApiKey;

/// The file format's version; another version is ignored like a damaged file.
const VERSION: u32 = 1;
/// Files larger than this are not read (a cache of a million verdicts is about 200 MB).
const MAX_FILE_SIZE: u64 = 256 << 20;

/// One verdict and when it stops being trusted (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    expires: u64,
    verdict: Verdict,
}

/// Another enricher's answer (`--validate`'s), opaque here, and when it stops being trusted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Answer {
    expires: u64,
    value: String,
}

/// What is written: the entries, and the MAC over their canonical JSON.
#[derive(Serialize, Deserialize)]
struct Stored {
    version: u32,
    entries: BTreeMap<String, Entry>,
    /// Answers of `--validate`, keyed by an HMAC of the credential ([`CacheFile::answer_key`]).
    /// Absent in files without any, which keep their MAC.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    answers: BTreeMap<String, Answer>,
    mac: String,
}

/// The verdict cache file of one run.
pub struct CacheFile {
    path: PathBuf,
    mac_key: [u8; 32],
    ttl: Duration,
    entries: BTreeMap<String, Entry>,
    answers: BTreeMap<String, Answer>,
    changed: bool,
}

impl CacheFile {
    /// Reads `path` when it exists. A missing file is an empty cache; a damaged, forged, foreign
    /// (another API key) or unreadable one is an empty cache too, with the reason returned as a
    /// warning to show: the run then asks VirusTotal, which is slower, never wrong.
    pub fn load(path: &Path, api_key: &ApiKey, ttl: Duration) -> (CacheFile, Option<String>) {
        let mut cache = CacheFile {
            path: path.to_path_buf(),
            mac_key: mac_key(api_key),
            ttl,
            entries: BTreeMap::new(),
            answers: BTreeMap::new(),
            changed: false,
        };
        let warning = match cache.read() {
            Ok(()) => None,
            Err(reason) => Some(format!(
                "--vt-cache-file {}: {reason}; starting with an empty cache",
                path.display()
            )),
        };
        (cache, warning)
    }

    fn read(&mut self) -> Result<(), String> {
        let metadata = match std::fs::metadata(&self.path) {
            Ok(metadata) => metadata,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(format!("cannot read it: {err}")),
        };
        if !metadata.is_file() {
            return Err("not a regular file".to_string());
        }
        if metadata.len() > MAX_FILE_SIZE {
            return Err(format!("larger than {} MiB", MAX_FILE_SIZE >> 20));
        }
        let bytes = std::fs::read(&self.path).map_err(|err| format!("cannot read it: {err}"))?;
        let stored: Stored =
            serde_json::from_slice(&bytes).map_err(|_| "not a verdict cache file".to_string())?;
        if stored.version != VERSION {
            return Err(format!("format version {} is not {VERSION}", stored.version));
        }
        let expected = self.mac(&stored.entries, &stored.answers);
        if !constant_time_eq(expected.as_bytes(), stored.mac.as_bytes()) {
            return Err("its integrity check failed (written with another API key, or altered)".to_string());
        }
        let now = now_secs();
        self.entries = stored
            .entries
            .into_iter()
            .filter(|(_, entry)| entry.expires > now)
            .collect();
        self.answers = stored
            .answers
            .into_iter()
            .filter(|(_, answer)| answer.expires > now)
            .collect();
        Ok(())
    }

    /// The cached verdict for an indicator, unless it expired.
    pub fn get(&self, kind: IndicatorKind, value: &str) -> Option<Verdict> {
        let entry = self.entries.get(&key(kind, value))?;
        if entry.expires <= now_secs() {
            return None;
        }
        let mut verdict = entry.verdict.clone();
        if verdict.permalink.is_empty() {
            verdict.permalink = permalink(kind, value);
        }
        Some(verdict)
    }

    /// Records a verdict for `--vt-cache-ttl` from now.
    pub fn put(&mut self, kind: IndicatorKind, value: &str, verdict: &Verdict) {
        let mut verdict = verdict.clone();
        // The IP report link names the address: rebuilt from the value when read.
        if verdict.permalink.contains(value) {
            verdict.permalink.clear();
        }
        let expires = now_secs().saturating_add(self.ttl.as_secs().max(1));
        self.entries.insert(key(kind, value), Entry { expires, verdict });
        self.changed = true;
    }

    /// The key under which another enricher keeps its answer about `secret`: an HMAC keyed by
    /// a key derived from the API key, so that the file never holds the secret nor a plain hash
    /// of it.
    pub fn answer_key(&self, label: &str, secret: &[u8]) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.mac_key).expect("HMAC takes keys of any length");
        mac.update(b"answer key\0");
        mac.update(label.as_bytes());
        mac.update(&[0]);
        mac.update(secret);
        format!("{label}:{}", hex(&mac.finalize().into_bytes()))
    }

    /// The answer kept under `key`, unless it expired.
    pub fn get_answer(&self, key: &str) -> Option<&str> {
        let answer = self.answers.get(key)?;
        (answer.expires > now_secs()).then_some(answer.value.as_str())
    }

    /// Keeps `value` under `key` for `ttl` from now.
    pub fn put_answer(&mut self, key: String, value: String, ttl: Duration) {
        let expires = now_secs().saturating_add(ttl.as_secs().max(1));
        self.answers.insert(key, Answer { expires, value });
        self.changed = true;
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Writes the unexpired entries back, atomically, when anything changed or expired.
    pub fn save(&mut self) -> anyhow::Result<()> {
        let now = now_secs();
        let before = self.entries.len() + self.answers.len();
        self.entries.retain(|_, entry| entry.expires > now);
        self.answers.retain(|_, answer| answer.expires > now);
        let after = self.entries.len() + self.answers.len();
        if !self.changed && after == before && self.path.exists() {
            return Ok(());
        }
        // Only a regular file (or none yet) is a cache: a FIFO would block the run at its end
        // and a device would take the verdicts somewhere else.
        if let Ok(metadata) = std::fs::metadata(&self.path) {
            if !metadata.is_file() {
                anyhow::bail!("--vt-cache-file {}: not a regular file", self.path.display());
            }
        }
        let stored = Stored {
            version: VERSION,
            mac: self.mac(&self.entries, &self.answers),
            entries: std::mem::take(&mut self.entries),
            answers: std::mem::take(&mut self.answers),
        };
        let written = crate::atomic_file::write(&self.path, "--vt-cache-file", |out| {
            serde_json::to_writer(out, &stored).context("encoding the verdict cache")
        });
        self.entries = stored.entries;
        self.answers = stored.answers;
        written?;
        self.changed = false;
        Ok(())
    }

    fn mac(&self, entries: &BTreeMap<String, Entry>, answers: &BTreeMap<String, Answer>) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.mac_key).expect("HMAC takes keys of any length");
        mac.update(&VERSION.to_be_bytes());
        // A BTreeMap serialises in key order: the same entries always give the same bytes.
        mac.update(&serde_json::to_vec(entries).expect("verdicts encode as JSON"));
        // Files without answers keep the MAC they had before answers existed.
        if !answers.is_empty() {
            mac.update(b"\0answers");
            mac.update(&serde_json::to_vec(answers).expect("answers encode as JSON"));
        }
        hex(&mac.finalize().into_bytes())
    }
}

/// The MAC key: derived from the API key, so that only jobs holding the key can write a file
/// the gate trusts, and the key itself never sits in the file.
fn mac_key(api_key: &ApiKey) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"anteater verdict cache file v1\0");
    hasher.update(api_key.expose().as_bytes());
    hasher.finalize().into()
}

/// The VirusTotal page of an indicator whose stored link was dropped.
fn permalink(kind: IndicatorKind, value: &str) -> String {
    const GUI: &str = "https://www.virustotal.com/gui";
    match kind {
        IndicatorKind::Ip => format!("{GUI}/ip-address/{value}"),
        IndicatorKind::File => format!("{GUI}/file/{value}"),
        // VirusTotal's URL identifier: the sha256 of the URL.
        IndicatorKind::Url => format!("{GUI}/url/{:x}", Sha256::digest(value.as_bytes())),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(malicious: u32, permalink: &str) -> Verdict {
        Verdict {
            malicious,
            permalink: permalink.to_string(),
            ..Verdict::default()
        }
    }

    #[test]
    fn round_trip_without_indicator_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vt-cache.json");
        let key = ApiKey::new("k-one");
        let (mut cache, warning) = CacheFile::load(&path, &key, Duration::from_secs(3600));
        assert!(warning.is_none() && cache.is_empty());
        let ip = "198.51.100.77";
        let url = "https://evil.example/p?token=s3cr3t-value";
        cache.put(
            IndicatorKind::Ip,
            ip,
            &verdict(3, &format!("https://www.virustotal.com/gui/ip-address/{ip}")),
        );
        cache.put(
            IndicatorKind::Url,
            url,
            &verdict(0, "https://www.virustotal.com/gui/url/abc"),
        );
        cache.save().unwrap();

        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains(ip) && !text.contains("evil.example") && !text.contains("s3cr3t"),
            "{text}"
        );
        assert!(!text.contains("k-one"), "{text}");

        let (cache, warning) = CacheFile::load(&path, &key, Duration::from_secs(3600));
        assert!(warning.is_none(), "{warning:?}");
        let back = cache.get(IndicatorKind::Ip, ip).unwrap();
        assert_eq!(back.malicious, 3);
        assert_eq!(
            back.permalink,
            format!("https://www.virustotal.com/gui/ip-address/{ip}")
        );
        assert_eq!(
            cache.get(IndicatorKind::Url, url).unwrap().permalink,
            "https://www.virustotal.com/gui/url/abc"
        );
        assert!(cache.get(IndicatorKind::Ip, "198.51.100.78").is_none());
    }

    #[test]
    fn a_forged_or_foreign_file_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vt-cache.json");
        let key = ApiKey::new("k-one");
        let (mut cache, _) = CacheFile::load(&path, &key, Duration::from_secs(3600));
        cache.put(IndicatorKind::Ip, "198.51.100.77", &verdict(5, ""));
        cache.save().unwrap();

        // Another key cannot read it (nor write one this key trusts).
        let (other, warning) = CacheFile::load(&path, &ApiKey::new("k-two"), Duration::from_secs(3600));
        assert!(other.is_empty());
        assert!(warning.unwrap().contains("integrity check failed"));

        // Turning the malicious verdict into a clean one breaks the MAC.
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("\"malicious\":5", "\"malicious\":0")).unwrap();
        let (forged, warning) = CacheFile::load(&path, &key, Duration::from_secs(3600));
        assert!(forged.get(IndicatorKind::Ip, "198.51.100.77").is_none());
        assert!(warning.unwrap().contains("integrity check failed"));

        std::fs::write(&path, b"{not json").unwrap();
        let (damaged, warning) = CacheFile::load(&path, &key, Duration::from_secs(3600));
        assert!(damaged.is_empty());
        assert!(warning.unwrap().contains("not a verdict cache file"));
    }

    #[test]
    fn answers_are_keyed_by_a_mac_and_authenticated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vt-cache.json");
        let key = ApiKey::new("k-one");
        let (mut cache, _) = CacheFile::load(&path, &key, Duration::from_secs(3600));
        let answer_key = cache.answer_key("validate:github", b"ghp_s3cr3t");
        assert!(!answer_key.contains("s3cr3t"));
        cache.put_answer(
            answer_key.clone(),
            "{\"state\":\"live\"}".into(),
            Duration::from_secs(60),
        );
        cache.save().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("s3cr3t"), "{text}");
        let (back, warning) = CacheFile::load(&path, &key, Duration::from_secs(3600));
        assert!(warning.is_none());
        assert_eq!(back.get_answer(&answer_key), Some("{\"state\":\"live\"}"));
        // Turning a live answer into a revoked one breaks the MAC.
        std::fs::write(&path, text.replace("live", "revoked")).unwrap();
        let (forged, warning) = CacheFile::load(&path, &key, Duration::from_secs(3600));
        assert!(forged.get_answer(&answer_key).is_none());
        assert!(warning.unwrap().contains("integrity check failed"));
    }

    #[test]
    fn a_fifo_is_never_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&path).status().unwrap();
        assert!(made.success());
        let (mut cache, warning) = CacheFile::load(&path, &ApiKey::new("k"), Duration::from_secs(60));
        assert!(warning.unwrap().contains("not a regular file"));
        cache.put(IndicatorKind::File, "ab", &verdict(0, ""));
        let err = cache.save().unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
    }

    #[test]
    fn expired_entries_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vt-cache.json");
        let key = ApiKey::new("k");
        let (mut cache, _) = CacheFile::load(&path, &key, Duration::from_secs(3600));
        cache.put(IndicatorKind::File, "ab", &verdict(0, ""));
        cache
            .entries
            .values_mut()
            .for_each(|entry| entry.expires = now_secs() - 1);
        assert!(cache.get(IndicatorKind::File, "ab").is_none());
        cache.save().unwrap();
        let (cache, _) = CacheFile::load(&path, &key, Duration::from_secs(3600));
        assert!(cache.is_empty());
    }
}

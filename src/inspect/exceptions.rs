//! Exceptions compiled for scanning: the global ignore list merged with the project's exception
//! file. All exception regexes ignore case, as in the original.

use std::collections::{HashMap, HashSet};

use anyhow::{bail, Context};
use regex::bytes::{RegexSet as BytesRegexSet, RegexSetBuilder as BytesRegexSetBuilder};
use regex::{Regex, RegexSet, RegexSetBuilder};

use crate::legacy::lists::ExceptionFile;
use crate::rules::compile::case_insensitive_regex;

/// One exception file and how to name it in errors.
pub struct Source<'a> {
    pub file: &'a ExceptionFile,
    pub origin: String,
}

#[derive(Debug)]
pub struct Exceptions {
    file_name_waivers: RegexSet,
    content_waivers: BytesRegexSet,
    content_waiver_count: usize,
    file_ignore_suffixes: Vec<String>,
    /// Each `ignore_directories` entry as the path components it names.
    ignore_directories: Vec<Vec<String>>,
    binaries: HashMap<String, HashSet<String>>,
    pub url_ignore: Vec<Regex>,
    pub ip_ignore: Vec<Regex>,
    pub report_url: Option<String>,
}

impl Default for Exceptions {
    fn default() -> Self {
        Self::compile(&[]).expect("no exceptions always compile")
    }
}

impl Exceptions {
    /// Merges the sources in order (global first, then the project's): lists add up, a later
    /// `report_url` replaces an earlier one. Every regex is checked here, before any file is read.
    pub fn compile(sources: &[Source<'_>]) -> anyhow::Result<Self> {
        let mut file_names = Vec::new();
        let mut contents = Vec::new();
        let mut file_ignore_suffixes = Vec::new();
        let mut ignore_directories = Vec::new();
        let mut binaries: HashMap<String, HashSet<String>> = HashMap::new();
        let mut url_ignore = Vec::new();
        let mut ip_ignore = Vec::new();
        let mut report_url = None;

        for Source { file, origin } in sources {
            file_names.extend(checked_patterns(
                file.file_audits("file_names"),
                origin,
                "file_audits.file_names",
            )?);
            contents.extend(checked_patterns(
                file.file_audits("file_contents"),
                origin,
                "file_audits.file_contents",
            )?);
            url_ignore.extend(compiled(&file.url_ignore.0, origin, "url_ignore")?);
            ip_ignore.extend(compiled(&file.ip_ignore.0, origin, "ip_ignore")?);
            file_ignore_suffixes.extend(non_empty(&file.file_ignore.0, origin, "file_ignore")?);
            ignore_directories.extend(non_empty(
                &file.ignore_directories.0,
                origin,
                "ignore_directories",
            )?);
            for (path, sums) in &file.binaries.0 {
                let allowed = binaries
                    .entry(path.trim_start_matches("./").to_string())
                    .or_default();
                for sum in &sums.0 {
                    let sum = sum.trim().to_ascii_lowercase();
                    if sum.len() != 64 || !sum.bytes().all(|b| b.is_ascii_hexdigit()) {
                        bail!(
                            "{origin}: binaries: `{path}`: `{sum}` is not a sha256 checksum (64 hex digits)"
                        );
                    }
                    allowed.insert(sum);
                }
            }
            if let Some(url) = file.report_url() {
                report_url = Some(url.to_string());
            }
        }
        let mut ignore_directories: Vec<Vec<String>> = ignore_directories
            .iter()
            .filter(|dir: &&String| dir.as_str() != ".git/")
            .map(|dir| components(dir))
            .filter(|parts| !parts.is_empty())
            .collect();
        ignore_directories.sort();
        ignore_directories.dedup();

        let content_waiver_count = contents.len();
        Ok(Self {
            file_name_waivers: RegexSetBuilder::new(&file_names)
                .case_insensitive(true)
                .build()
                .context("compiling the file-name exceptions together")?,
            content_waivers: BytesRegexSetBuilder::new(&contents)
                .case_insensitive(true)
                .build()
                .context("compiling the content exceptions together")?,
            content_waiver_count,
            file_ignore_suffixes,
            ignore_directories,
            binaries,
            url_ignore,
            ip_ignore,
            report_url,
        })
    }

    /// A file-name finding on this path is waived.
    pub fn waives_file_name(&self, relative_path: &str) -> bool {
        self.file_name_waivers.is_match(relative_path)
    }

    /// Content findings on this line are waived.
    pub fn waives_line(&self, line: &[u8]) -> bool {
        self.content_waiver_count > 0 && self.content_waivers.is_match(line)
    }

    /// The file's contents are not scanned (`file_ignore` suffix).
    pub fn skips_contents(&self, relative_path: &str) -> bool {
        self.file_ignore_suffixes
            .iter()
            .any(|suffix| relative_path.ends_with(suffix.as_str()))
    }

    /// The path is under an ignored directory: the entry's components are whole components of
    /// the relative path, anywhere in it (`target/` skips `target/` and `crates/x/target/`, never
    /// `app/retarget/`). The original tested a substring, which let a change put files in a
    /// folder no one meant to skip. Git's own folder is the exception: only a path component
    /// exactly `.git` is git's, so `deploy/prod.git/` (a bare repository's name, or any folder
    /// so named) is scanned. An `ignore_directories` entry that is exactly `.git/` means git's
    /// folder too, and is tested the same way.
    pub fn ignores_path(&self, relative_path: &str) -> bool {
        if in_git_dir(relative_path) {
            return true;
        }
        if self.ignore_directories.is_empty() {
            return false;
        }
        let parts: Vec<&str> = relative_path.split('/').filter(|part| !part.is_empty()).collect();
        self.ignore_directories.iter().any(|wanted| {
            parts
                .windows(wanted.len())
                .any(|window| window.iter().zip(wanted).all(|(part, want)| part == want))
        })
    }

    /// `sha256` is allowlisted for this relative path.
    pub fn allows_binary(&self, relative_path: &str, sha256: &str) -> bool {
        self.binaries
            .get(relative_path)
            .is_some_and(|allowed| allowed.contains(sha256))
    }
}

/// The components an `ignore_directories` entry names (`./vendor/`, `/vendor` and `vendor/` are
/// one entry).
fn components(entry: &str) -> Vec<String> {
    entry
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .map(str::to_string)
        .collect()
}

/// A folder on the path (every component but the last: a file named `.git` is a submodule's
/// pointer, scanned like any file) is exactly `.git`.
fn in_git_dir(relative_path: &str) -> bool {
    relative_path
        .split('/')
        .rev()
        .skip(1)
        .any(|component| component == ".git")
}

/// Rejects empty entries: the original turned an empty waiver into a regex matching everything,
/// which silently disabled a whole check.
fn non_empty(entries: &[String], origin: &str, key: &str) -> anyhow::Result<Vec<String>> {
    entries
        .iter()
        .map(|entry| {
            if entry.trim().is_empty() {
                bail!("{origin}: {key}: an empty entry would match everything; remove it or use `nullvalue`")
            }
            Ok(entry.clone())
        })
        .collect()
}

/// Waiver patterns, checked one by one so that an error names the bad one, but only parsed: they
/// are compiled once, together, into the waiver sets.
fn checked_patterns(entries: &[String], origin: &str, key: &str) -> anyhow::Result<Vec<String>> {
    let patterns = non_empty(entries, origin, key)?;
    for pattern in &patterns {
        regex_syntax::ParserBuilder::new()
            .case_insensitive(true)
            .build()
            .parse(pattern)
            .with_context(|| format!("{origin}: {key}: invalid regex `{pattern}`"))?;
    }
    Ok(patterns)
}

fn compiled(entries: &[String], origin: &str, key: &str) -> anyhow::Result<Vec<Regex>> {
    non_empty(entries, origin, key)?
        .iter()
        .map(|pattern| {
            case_insensitive_regex(pattern)
                .with_context(|| format!("{origin}: {key}: invalid regex `{pattern}`"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::legacy::lists::{NullableMap, StringList};

    fn file() -> ExceptionFile {
        ExceptionFile {
            file_audits: NullableMap(
                [
                    (
                        "file_names".to_string(),
                        StringList(vec!["ignore-me\\.txt".into()]),
                    ),
                    (
                        "file_contents".to_string(),
                        StringList(vec!["\\bcurl|wget\\s+\\\\".into()]),
                    ),
                ]
                .into_iter()
                .collect(),
            ),
            file_ignore: StringList(vec![".rst".into()]),
            ..ExceptionFile::default()
        }
    }

    #[test]
    fn waivers_ignore_case() {
        let exceptions = Exceptions::compile(&[Source {
            file: &file(),
            origin: "x".into(),
        }])
        .unwrap();
        assert!(exceptions.waives_line(b"CURL -L http://example.org"));
        assert!(!exceptions.waives_line(b"password = x"));
        assert!(exceptions.waives_file_name("docs/IGNORE-ME.txt"));
        assert!(exceptions.skips_contents("docs/a.rst"));
        assert!(exceptions.ignores_path(".git/config"));
        assert!(!exceptions.ignores_path("src/git/x"));
        assert!(exceptions.ignores_path("vendored/.git/"));
        assert!(exceptions.ignores_path("a/.git/objects/x"));
        assert!(!exceptions.ignores_path("deploy/prod.git/"));
        assert!(!exceptions.ignores_path("deploy/prod.git/config"));
        assert!(!exceptions.ignores_path("x.git/a"));
    }

    #[test]
    fn ignored_directories_are_whole_path_components() {
        let mut list = file();
        list.ignore_directories.0 = vec!["target/".into(), "./tests/fixtures".into()];
        let exceptions = Exceptions::compile(&[Source {
            file: &list,
            origin: "x".into(),
        }])
        .unwrap();
        assert!(exceptions.ignores_path("target/"));
        assert!(exceptions.ignores_path("target/debug/x"));
        assert!(exceptions.ignores_path("crates/a/target/x"));
        assert!(exceptions.ignores_path("tests/fixtures/a.txt"));
        assert!(exceptions.ignores_path("web/tests/fixtures/"));
        assert!(!exceptions.ignores_path("app/retarget/x.env"));
        assert!(!exceptions.ignores_path("app/target2/x.env"));
        assert!(!exceptions.ignores_path("tests/fixtures2/x"));
        assert!(!exceptions.ignores_path("tests/x/fixtures/y"));
    }

    #[test]
    fn no_waivers_waive_nothing() {
        let exceptions = Exceptions::default();
        assert!(!exceptions.waives_line(b"anything"));
        assert!(!exceptions.waives_file_name("anything"));
    }

    #[test]
    fn empty_and_invalid_entries_are_errors() {
        let mut empty = file();
        empty.file_ignore = StringList(vec!["".into()]);
        let err = Exceptions::compile(&[Source {
            file: &empty,
            origin: "list.yaml".into(),
        }])
        .unwrap_err();
        assert!(format!("{err:#}").contains("list.yaml: file_ignore"));

        let mut bad = file();
        bad.ip_ignore = StringList(vec!["(".into()]);
        let err = Exceptions::compile(&[Source {
            file: &bad,
            origin: "list.yaml".into(),
        }])
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("ip_ignore: invalid regex `(`"),
            "{err:#}"
        );
    }
}

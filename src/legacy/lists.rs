//! The original's YAML lists: the flag list (rules) and the ignore list / project exception files
//! (exceptions). Written by whoever opens a pull request, so parsing is strict about shapes,
//! lenient about the original's conventions (`nullvalue`, scalars for one-item lists), and every
//! problem becomes an error naming the file, never a panic.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::path::Path;

use anyhow::Context;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::rules::Severity;

/// The original's placeholder for "no entries".
const NULL_VALUE: &str = "nullvalue";

/// `flag_list.yaml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagList {
    #[serde(default)]
    pub file_audits: FlagAudits,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagAudits {
    /// Regexes searched case-insensitively in relative paths.
    #[serde(default)]
    pub file_names: StringList,
    /// Rule name → regex and description.
    #[serde(default)]
    pub file_contents: NullableMap<ContentEntry>,
}

/// One content rule of a flag list. `severity` and `redact` are anteater additions; the original
/// fails the build on every rule, so the default severity is `high` (SARIF `error`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentEntry {
    pub regex: String,
    #[serde(default)]
    pub desc: String,
    #[serde(default)]
    pub severity: Option<Severity>,
    /// Matched text is redacted unless this is `false`.
    #[serde(default)]
    pub redact: Option<bool>,
}

/// `ignore_list.yaml` and the per-project exception files, which share its shape.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionFile {
    /// Relative path → allowed sha256 checksums.
    #[serde(default)]
    pub binaries: NullableMap<StringList>,
    /// `file_names` and `file_contents` waivers.
    #[serde(default)]
    pub file_audits: NullableMap<StringList>,
    /// File-name suffixes whose contents are not scanned.
    #[serde(default)]
    pub file_ignore: StringList,
    #[serde(default)]
    pub url_ignore: StringList,
    #[serde(default)]
    pub ip_ignore: StringList,
    /// Substrings of relative paths that are never scanned.
    #[serde(default)]
    pub ignore_directories: StringList,
    #[serde(default)]
    pub project_exceptions: ProjectExceptions,
    #[serde(default)]
    pub report_url: Option<String>,
}

impl FlagList {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = read(path, "flag list")?;
        Self::parse_bytes(text.as_bytes(), path)
    }

    pub fn parse_bytes(bytes: &[u8], path: &Path) -> anyhow::Result<Self> {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("flag list {}: not valid UTF-8", path.display()))?;
        let list: Option<Self> = parse(text).with_context(|| format!("flag list {}", path.display()))?;
        Ok(list.unwrap_or_default())
    }

    /// How many rules the list defines (content rules and file-name patterns).
    pub fn rule_count(&self) -> usize {
        self.file_audits.file_names.0.len() + self.file_audits.file_contents.0.len()
    }
}

impl ExceptionFile {
    pub fn load(path: &Path, what: &str) -> anyhow::Result<Self> {
        let text = read(path, what)?;
        Self::parse_text(&text, path, what)
    }

    /// Parses the text of an exception file (read from disk or from a git revision); `path` and
    /// `what` name it in errors.
    pub fn parse_bytes(bytes: &[u8], path: &Path, what: &str) -> anyhow::Result<Self> {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("{what} {}: not valid UTF-8", path.display()))?;
        Self::parse_text(text, path, what)
    }

    fn parse_text(text: &str, path: &Path, what: &str) -> anyhow::Result<Self> {
        let file: Option<Self> = parse(text).with_context(|| format!("{what} {}", path.display()))?;
        let file = file.unwrap_or_default();
        for key in file.file_audits.0.keys() {
            if key != "file_names" && key != "file_contents" {
                anyhow::bail!(
                    "{what} {}: unknown key `file_audits.{key}` (expected file_names or file_contents){}",
                    path.display(),
                    did_you_mean(key, &["file_names", "file_contents"])
                );
            }
        }
        Ok(file)
    }

    /// `report_url`, unless it is the `nullvalue` placeholder or blank.
    pub fn report_url(&self) -> Option<&str> {
        self.report_url
            .as_deref()
            .map(str::trim)
            .filter(|url| !url.is_empty() && *url != NULL_VALUE)
    }

    pub fn file_audits(&self, key: &str) -> &[String] {
        self.file_audits
            .0
            .get(key)
            .map(|list| list.0.as_slice())
            .unwrap_or_default()
    }
}

fn read(path: &Path, what: &str) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {what} {}", path.display()))?;
    String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{what} {}: not valid UTF-8", path.display()))
}

/// Parses YAML; an empty document (only comments, or the original's `nullvalue` placeholder) is
/// `None`. An unknown key is an error naming it, with the closest known key as a suggestion.
fn parse<T: for<'de> Deserialize<'de>>(text: &str) -> anyhow::Result<Option<T>> {
    let mut content = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#') && *line != "---" && *line != "...");
    match (content.next(), content.next()) {
        (None, _) => return Ok(None),
        (Some(only), None) if only.trim_matches(['"', '\'']) == NULL_VALUE => return Ok(None),
        _ => {}
    }
    serde_saphyr::from_str::<Option<T>>(text).map_err(|err| {
        let message = without_quoted_lines(&err.to_string());
        let hint = unknown_key_hint(&message).unwrap_or_default();
        anyhow::anyhow!("{message}{hint}")
    })
}

/// The parser's message without the lines of the file it quotes (` 3 | aws_secret = …`), and with
/// any secret left in it masked: the file may not be a list at all (a credential file named by
/// mistake or by a hostile change), and errors are printed in CI logs.
fn without_quoted_lines(message: &str) -> String {
    let quoted = |line: &str| {
        let line = line.trim_start();
        let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        digits > 0 && line[digits..].starts_with(" |")
    };
    let kept: Vec<&str> = message.lines().filter(|line| !quoted(line)).collect();
    crate::redact::mask_secrets(&kept.join("\n"))
}

/// serde's unknown-field message is "unknown field `x`, expected `a`" or "... expected one of a,
/// b, c"; a misspelled key deserves the one it most likely meant.
fn unknown_key_hint(message: &str) -> Option<String> {
    let rest = &message[message.find("unknown field `")? + "unknown field `".len()..];
    let (key, rest) = rest.split_once('`')?;
    let expected = rest.strip_prefix(", expected ")?;
    let expected = expected.strip_prefix("one of ").unwrap_or(expected);
    let line = expected.lines().next().unwrap_or_default();
    let known: Vec<&str> = line
        .split(',')
        .map(|name| name.trim().trim_matches('`'))
        .filter(|name| !name.is_empty())
        .collect();
    let hint = did_you_mean(key, &known);
    (!hint.is_empty()).then(|| format!("\nunknown key `{key}`{hint}"))
}

/// "; did you mean `candidate`?" for the known key closest to `key`, or nothing when none is
/// close.
fn did_you_mean(key: &str, known: &[&str]) -> String {
    known
        .iter()
        .map(|candidate| (strsim::jaro_winkler(key, candidate), *candidate))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| format!("; did you mean `{candidate}`?"))
        .unwrap_or_default()
}

/// A list of strings the way the original's files write them: a YAML sequence, one scalar,
/// `nullvalue` or nothing. `nullvalue` items are dropped; numbers and booleans become strings.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StringList(pub Vec<String>);

impl<'de> Deserialize<'de> for StringList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = StringList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of strings, a string, or `nullvalue`")
            }
            fn visit_unit<E: de::Error>(self) -> Result<StringList, E> {
                Ok(StringList::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<StringList, E> {
                Ok(StringList::default())
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<StringList, E> {
                Ok(StringList(Scalar::keep(value.to_string()).into_iter().collect()))
            }
            fn visit_bool<E: de::Error>(self, value: bool) -> Result<StringList, E> {
                Ok(StringList(vec![value.to_string()]))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<StringList, E> {
                Ok(StringList(vec![value.to_string()]))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<StringList, E> {
                Ok(StringList(vec![value.to_string()]))
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<StringList, E> {
                Ok(StringList(vec![value.to_string()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StringList, A::Error> {
                let mut items = Vec::new();
                while let Some(Scalar(item)) = seq.next_element()? {
                    items.extend(item.and_then(Scalar::keep));
                }
                Ok(StringList(items))
            }
        }
        deserializer.deserialize_any(ListVisitor)
    }
}

/// One list item: a scalar turned into a string (`None` for a YAML null).
struct Scalar(Option<String>);

impl Scalar {
    fn keep(value: String) -> Option<String> {
        (value.trim() != NULL_VALUE).then_some(value)
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar(None))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Scalar, E> {
                Ok(Scalar(Some(value.to_string())))
            }
            fn visit_bool<E: de::Error>(self, value: bool) -> Result<Scalar, E> {
                Ok(Scalar(Some(value.to_string())))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Scalar, E> {
                Ok(Scalar(Some(value.to_string())))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Scalar, E> {
                Ok(Scalar(Some(value.to_string())))
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Scalar, E> {
                Ok(Scalar(Some(value.to_string())))
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// A mapping from names to `V`, or `nullvalue` / nothing for an empty one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NullableMap<V>(pub BTreeMap<String, V>);

impl<V> Default for NullableMap<V> {
    fn default() -> Self {
        Self(BTreeMap::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for NullableMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for MapVisitor<V> {
            type Value = NullableMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping, or `nullvalue`")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(NullableMap::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(NullableMap::default())
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                if value.trim() == NULL_VALUE {
                    Ok(NullableMap::default())
                } else {
                    Err(E::invalid_value(de::Unexpected::Str(value), &self))
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = BTreeMap::new();
                while let Some((Scalar(key), value)) = map.next_entry::<Scalar, V>()? {
                    let key = key.ok_or_else(|| de::Error::custom("a key is empty (null)"))?;
                    if entries.insert(key.clone(), value).is_some() {
                        return Err(de::Error::custom(format!("key `{key}` appears twice")));
                    }
                }
                Ok(NullableMap(entries))
            }
        }
        deserializer.deserialize_any(MapVisitor(PhantomData))
    }
}

/// `project_exceptions`: the original writes a list of one-entry mappings
/// (`- testproject: anteater_files/testproject.yaml`); a plain mapping is accepted too.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ProjectExceptions(pub Vec<(String, String)>);

impl ProjectExceptions {
    pub fn file_for(&self, project: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(name, _)| name == project)
            .map(|(_, file)| file.as_str())
    }
}

impl<'de> Deserialize<'de> for ProjectExceptions {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ProjectsVisitor;
        impl<'de> Visitor<'de> for ProjectsVisitor {
            type Value = ProjectExceptions;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of `project: file` entries, or `nullvalue`")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(ProjectExceptions::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(ProjectExceptions::default())
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                if value.trim() == NULL_VALUE {
                    Ok(ProjectExceptions::default())
                } else {
                    Err(E::invalid_value(de::Unexpected::Str(value), &self))
                }
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut projects = Vec::new();
                while let Some(entry) = seq.next_element::<NullableMap<String>>()? {
                    projects.extend(entry.0);
                }
                Ok(ProjectExceptions(projects))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let entries: NullableMap<String> =
                    Deserialize::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(ProjectExceptions(entries.0.into_iter().collect()))
            }
        }
        deserializer.deserialize_any(ProjectsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exceptions(yaml: &str) -> anyhow::Result<ExceptionFile> {
        Ok(parse::<ExceptionFile>(yaml)?.unwrap_or_default())
    }

    #[test]
    fn reads_the_original_ignore_list_shape() {
        let file = exceptions(
            "binaries:\n  images/pal.png:\n    - a71e\nfile_audits:\n  file_names:\n    - x.txt\n  file_contents:\n    - \\bcurl\n\
             file_ignore:\n  - '.rst'\nip_ignore:\n  - '192.0.43.8'\nignore_directories:\n  - .git/\n\
             project_exceptions:\n  - testproject: anteater_files/testproject.yaml\n  - functest: f.yaml\n\
             report_url: 'http://example.org'\n",
        )
        .unwrap();
        assert_eq!(file.binaries.0["images/pal.png"].0, vec!["a71e"]);
        assert_eq!(file.file_audits("file_contents"), ["\\bcurl"]);
        assert_eq!(file.file_ignore.0, vec![".rst"]);
        assert_eq!(file.project_exceptions.file_for("functest"), Some("f.yaml"));
        assert_eq!(file.report_url(), Some("http://example.org"));
    }

    #[test]
    fn nullvalue_means_empty_everywhere() {
        let file = exceptions(
            "binaries: nullvalue\nfile_audits:\n  file_names:\n    - nullvalue\n  file_contents: nullvalue\n\
             file_ignore: nullvalue\nproject_exceptions: nullvalue\nreport_url: nullvalue\n",
        )
        .unwrap();
        assert!(file.binaries.0.is_empty());
        assert!(file.file_audits("file_names").is_empty());
        assert!(file.file_audits("file_contents").is_empty());
        assert!(file.file_ignore.0.is_empty());
        assert_eq!(file.report_url(), None);
    }

    #[test]
    fn malformed_files_are_errors_not_panics() {
        for yaml in [
            "binaries: [unclosed",
            "file_ignore: {a: b}",
            "unknown_section: 1",
            "binaries:\n  a.png: 1\n  a.png: 2\n",
            ":\n  - - - ]]",
            "\t- tab",
        ] {
            assert!(exceptions(yaml).is_err(), "{yaml:?} should be rejected");
        }
    }

    #[test]
    fn misspelled_keys_are_named_with_a_suggestion() {
        let err = parse::<FlagList>("file_audit:\n  file_names:\n    - x\n").unwrap_err();
        assert!(
            format!("{err}").contains("unknown key `file_audit`; did you mean `file_audits`?"),
            "{err}"
        );
        let err = parse::<FlagList>("file_audits:\n  file_name:\n    - x\n").unwrap_err();
        assert!(format!("{err}").contains("did you mean `file_names`?"), "{err}");
        let err = parse::<FlagList>("file_audits:\n  file_contents:\n    r:\n      regx: x\n").unwrap_err();
        assert!(format!("{err}").contains("did you mean `regex`?"), "{err}");
        let err = exceptions("file_ignor:\n  - x\n").unwrap_err();
        assert!(format!("{err}").contains("did you mean `file_ignore`?"), "{err}");
        assert!(parse::<FlagList>("nullvalue\n").unwrap().is_none());
    }

    #[test]
    fn empty_documents_are_empty_lists() {
        assert!(exceptions("# nothing here\n---\n")
            .unwrap()
            .file_ignore
            .0
            .is_empty());
        assert!(parse::<FlagList>("").unwrap().is_none());
    }

    #[test]
    fn flag_list_rules_read_with_optional_additions() {
        let list = parse::<FlagList>(
            "file_audits:\n  file_names:\n    - \\.pem\n  file_contents:\n    md5:\n      regex: md5\n      desc: weak\n      severity: medium\n      redact: false\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(list.file_audits.file_names.0, vec!["\\.pem"]);
        let rule = &list.file_audits.file_contents.0["md5"];
        assert_eq!(rule.severity, Some(Severity::Medium));
        assert_eq!(rule.redact, Some(false));
    }
}

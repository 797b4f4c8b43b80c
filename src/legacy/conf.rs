//! `anteater.conf`: an INI file in Python ConfigParser style, whose `[config]` section names the
//! lists directory and the flag and ignore lists, with `%(name)s` interpolation.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use ini::{Ini, ParseOption};

/// Python's ConfigParser gives up after this many nested interpolations; so do we.
const MAX_INTERPOLATION_DEPTH: usize = 10;

/// What anteater uses from `anteater.conf`. Relative paths are resolved against the directory
/// holding the conf file (the working directory, for the original's users).
#[derive(Debug, Clone, Default)]
pub struct LegacyConf {
    pub path: PathBuf,
    /// The lists directory: never scanned.
    pub anteater_files: Option<PathBuf>,
    pub flag_list: Option<PathBuf>,
    pub ignore_list: Option<PathBuf>,
}

impl LegacyConf {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading config {}", path.display()))?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> anyhow::Result<Self> {
        let shown = path.display();
        // ConfigParser keeps backslashes and quotes as they are.
        let options = ParseOption {
            enabled_quote: false,
            enabled_escape: false,
            ..ParseOption::default()
        };
        let ini = Ini::load_from_str_opt(text, options).map_err(|err| anyhow!("config {shown}: {err}"))?;
        let Some(section) = ini.section(Some("config")) else {
            bail!("config {shown}: no [config] section (the original anteater.conf has one)");
        };
        // ConfigParser matches keys case-insensitively; [DEFAULT] values are visible in every
        // section.
        let mut values: HashMap<String, String> = HashMap::new();
        for (key, value) in ini.section(Some("DEFAULT")).into_iter().flat_map(|s| s.iter()) {
            values.insert(key.to_ascii_lowercase(), value.to_string());
        }
        for (key, value) in section.iter() {
            values.insert(key.to_ascii_lowercase(), value.to_string());
        }

        let base = path.parent().unwrap_or(Path::new("."));
        let get = |key: &str| -> anyhow::Result<Option<PathBuf>> {
            match values.get(key) {
                None => Ok(None),
                Some(raw) => {
                    // The message quotes the value: masked, as every quote of a file's content.
                    let value = interpolate(raw, &values, 0)
                        .map_err(|err| anyhow!(crate::redact::mask_secrets(&err.to_string())))
                        .with_context(|| format!("config {shown}: key `{key}`"))?;
                    let value = value.trim();
                    Ok((!value.is_empty()).then(|| crate::paths::normalize(&base.join(value))))
                }
            }
        };
        Ok(Self {
            path: path.to_path_buf(),
            anteater_files: get("anteater_files")?,
            flag_list: get("flag_list")?,
            ignore_list: get("ignore_list")?,
        })
    }
}

/// Expands `%(name)s` and `%%` the way ConfigParser's BasicInterpolation does.
fn interpolate(raw: &str, values: &HashMap<String, String>, depth: usize) -> anyhow::Result<String> {
    if depth > MAX_INTERPOLATION_DEPTH {
        bail!("interpolation nested deeper than {MAX_INTERPOLATION_DEPTH} levels (a reference loop?)");
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('%') {
            out.push('%');
            rest = tail;
        } else if let Some(reference) = after.strip_prefix('(') {
            let Some(close) = reference.find(")s") else {
                bail!("bad interpolation syntax in `{raw}`: expected `%(name)s`");
            };
            let name = reference[..close].to_ascii_lowercase();
            let Some(value) = values.get(&name) else {
                bail!("`{raw}` refers to `{name}`, which is not set");
            };
            out.push_str(&interpolate(value, values, depth + 1)?);
            rest = &reference[close + 2..];
        } else {
            bail!("`%` must be followed by `%` or `(name)s` in `{raw}`");
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGINAL: &str = "[config]\n\
        anteater_files = anteater_files/\n\
        reports_dir = %(anteater_files)s./.reports/\n\
        anteater_log = %(anteater_files)s/.reports/anteater.log\n\
        flag_list =  %(anteater_files)s/flag_list.yaml\n\
        ignore_list = %(anteater_files)s/ignore_list.yaml\n\
        vt_rate_type = public\n";

    #[test]
    fn reads_the_original_conf_with_interpolation() {
        let conf = LegacyConf::parse(ORIGINAL, Path::new("/w/anteater.conf")).unwrap();
        assert_eq!(conf.anteater_files, Some(PathBuf::from("/w/anteater_files")));
        assert_eq!(
            conf.flag_list,
            Some(PathBuf::from("/w/anteater_files/flag_list.yaml"))
        );
        assert_eq!(
            conf.ignore_list,
            Some(PathBuf::from("/w/anteater_files/ignore_list.yaml"))
        );
    }

    #[test]
    fn missing_reference_names_the_key() {
        let err =
            LegacyConf::parse("[config]\nflag_list = %(nowhere)s/f.yaml\n", Path::new("a.conf")).unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("a.conf") && text.contains("flag_list") && text.contains("nowhere"),
            "{text}"
        );
    }

    #[test]
    fn reference_loops_are_an_error_not_a_hang() {
        let err = LegacyConf::parse(
            "[config]\na = %(b)s\nb = %(a)s\nflag_list = %(a)s\n",
            Path::new("x.conf"),
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("deeper"));
    }

    #[test]
    fn missing_section_is_explained() {
        let err = LegacyConf::parse("[other]\nx = 1\n", Path::new("x.conf")).unwrap_err();
        assert!(format!("{err:#}").contains("[config]"));
    }

    #[test]
    fn percent_escapes() {
        let values = HashMap::new();
        assert_eq!(interpolate("100%% sure", &values, 0).unwrap(), "100% sure");
    }
}

//! Every rule anteater ships (both rulesets and the fixed rules), and where each is explained:
//! one anchor per rule id in the README's rule table, which SARIF's `helpUri` points at. The
//! table is generated from the same list, and a test checks that README has every anchor.

use std::collections::BTreeMap;

use super::RulesetName;

use super::{builtin, RuleMeta};

/// The README every `helpUri` points into.
pub const README_URL: &str = "https://github.com/anteater/anteater/blob/main/README.md";
/// Where rules from the user's own flag list are explained (they have no row of their own).
const FLAG_LIST_ANCHOR: &str = "rules";

/// Every rule anteater ships, by id, with the rulesets it is in (`default`, `classic`,
/// `built-in`). An id in both rulesets is listed once, with the default's description.
pub fn shipped_rules() -> anyhow::Result<BTreeMap<String, (RuleMeta, Vec<&'static str>)>> {
    let mut out: BTreeMap<String, (RuleMeta, Vec<&'static str>)> = BTreeMap::new();
    for (name, label) in [
        (RulesetName::Default, "default"),
        (RulesetName::Classic, "classic"),
    ] {
        let rules = builtin::rules(name)?;
        for rule in rules {
            out.entry(rule.id.clone())
                .or_insert_with(|| (rule, Vec::new()))
                .1
                .push(label);
        }
    }
    let fixed = std::iter::once(super::binary_rule())
        .chain(std::iter::once(super::der_key_rule()))
        .chain(super::virustotal_rules(false))
        .chain(std::iter::once(super::config_changed_rule()))
        .chain(std::iter::once(super::waiver_added_rule(false)));
    for rule in fixed {
        out.entry(rule.id.clone())
            .or_insert_with(|| (rule, Vec::new()))
            .1
            .push("built-in");
    }
    Ok(out)
}

/// Whether anteater ships a rule with this id (so the README has a row for it).
pub fn is_shipped(id: &str) -> bool {
    static IDS: std::sync::OnceLock<std::collections::BTreeSet<String>> = std::sync::OnceLock::new();
    IDS.get_or_init(|| {
        shipped_rules()
            .map(|rules| rules.into_keys().collect())
            .unwrap_or_default()
    })
    .contains(id)
}

/// The README anchor of a shipped rule: `rule-` and the id, with anything but letters, digits,
/// `-` and `_` made `-`.
pub fn anchor(id: &str) -> String {
    let slug: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("rule-{slug}")
}

/// The `helpUri` of a rule: its own row of the README table when anteater ships it, the README's
/// section on flag lists otherwise.
pub fn help_uri(id: &str, shipped: bool) -> String {
    let anchor = if shipped {
        anchor(id)
    } else {
        FLAG_LIST_ANCHOR.to_string()
    };
    format!("{README_URL}#{anchor}")
}

/// The README's rule table, in Markdown: one row per shipped rule, each with its anchor.
#[cfg(test)]
pub fn readme_table() -> anyhow::Result<String> {
    let mut out =
        String::from("| Rule | Ruleset | Severity | In test paths | Finds |\n|---|---|---|---|---|\n");
    for (id, (rule, sets)) in shipped_rules()? {
        let description = rule
            .description
            .trim()
            .trim_matches('"')
            .trim()
            .replace('|', "\\|");
        let description = description.replace('\n', " ");
        out.push_str(&format!(
            "| <a id=\"{}\"></a>`{id}` | {} | {} | {} | {description} |\n",
            anchor(&id),
            sets.join(", "),
            rule.severity.as_str(),
            // Demotion by evidence (issue 19): which rules drop a level in test paths.
            if rule.demote_in_tests {
                "one level lower"
            } else {
                "same level"
            },
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: &str = "<!-- rule-table:start";
    const END: &str = "<!-- rule-table:end -->";

    /// Every shipped rule's `helpUri` anchor must exist in README.md. The rule list is read from
    /// the rulesets at test time, so a new or renamed rule fails here until the table is
    /// regenerated: `ANTEATER_WRITE_RULE_TABLE=1 cargo test --lib rule_table`.
    #[test]
    fn rule_table_in_readme_has_every_rule_anchor() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
        let mut readme = std::fs::read_to_string(path).unwrap();
        if std::env::var_os("ANTEATER_WRITE_RULE_TABLE").is_some() {
            let start = readme
                .find(START)
                .expect("README has the rule-table:start marker");
            let body = start + readme[start..].find("-->").unwrap() + 3;
            let end = readme.find(END).expect("README has the rule-table:end marker");
            readme.replace_range(body..end, &format!("\n{}", readme_table().unwrap()));
            std::fs::write(path, &readme).unwrap();
        }
        let missing: Vec<String> = shipped_rules()
            .unwrap()
            .keys()
            .filter(|id| !readme.contains(&format!("<a id=\"{}\"></a>", anchor(id))))
            .cloned()
            .collect();
        assert!(
            missing.is_empty(),
            "README.md has no rule-table anchor for {missing:?}; regenerate the table with \
             ANTEATER_WRITE_RULE_TABLE=1 cargo test --lib rule_table"
        );
    }

    #[test]
    fn anchors_are_distinct_and_plain() {
        let rules = shipped_rules().unwrap();
        let anchors: std::collections::BTreeSet<String> = rules.keys().map(|id| anchor(id)).collect();
        assert_eq!(anchors.len(), rules.len());
        assert_eq!(anchor("file-name:pem"), "rule-file-name-pem");
        assert!(help_uri("x", false).ends_with("#rules"));
    }
}

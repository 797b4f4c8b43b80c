//! Inline suppressions: a line containing `anteater:ignore` waives the findings on that line;
//! `anteater:ignore RULE-ID[,RULE-ID...]` waives only those rules.

/// What a line's `anteater:ignore` marker waives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Suppression {
    All,
    Rules(Vec<String>),
}

impl Suppression {
    /// The marker on `line`, if any.
    pub fn of_line(line: &[u8]) -> Option<Suppression> {
        const MARKER: &[u8] = b"anteater:ignore";
        let at = memchr::memmem::find(line, MARKER)?;
        let rest = &line[at + MARKER.len()..];
        // `anteater:ignored` or `anteater:ignore_x` is some other word, not the marker.
        if rest
            .first()
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
        {
            return None;
        }
        let rest = String::from_utf8_lossy(rest);
        let rest = rest.trim_start_matches([' ', '\t', '=', ':']);
        let is_id_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.');
        let mut ids = Vec::new();
        for token in rest.split([',', ' ', '\t']) {
            if token.is_empty() {
                continue;
            }
            if token.chars().all(is_id_char) && token.chars().any(|c| c.is_ascii_alphanumeric()) {
                ids.push(token.to_string());
                if !rest.contains(',') {
                    break; // `anteater:ignore RULE trailing words`: one id, then prose.
                }
            } else {
                break;
            }
        }
        Some(if ids.is_empty() {
            Suppression::All
        } else {
            Suppression::Rules(ids)
        })
    }

    pub fn waives(&self, rule_id: &str) -> bool {
        match self {
            Suppression::All => true,
            Suppression::Rules(ids) => ids.iter().any(|id| id == rule_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_and_rule_lists() {
        assert_eq!(
            Suppression::of_line(b"x = 1 # anteater:ignore"),
            Some(Suppression::All)
        );
        assert_eq!(
            Suppression::of_line(b"x // anteater:ignore */"),
            Some(Suppression::All)
        );
        assert_eq!(
            Suppression::of_line(b"x # anteater:ignore github-token"),
            Some(Suppression::Rules(vec!["github-token".into()]))
        );
        assert_eq!(
            Suppression::of_line(b"x # anteater:ignore sha, md245"),
            Some(Suppression::Rules(vec!["sha".into(), "md245".into()]))
        );
        assert_eq!(Suppression::of_line(b"nothing here"), None);
        assert_eq!(Suppression::of_line(b"anteater:ignored"), None);
    }

    #[test]
    fn rule_lists_waive_only_their_rules() {
        let only = Suppression::Rules(vec!["sha".into()]);
        assert!(only.waives("sha"));
        assert!(!only.waives("md245"));
        assert!(Suppression::All.waives("anything"));
    }
}

//! The one placeholder and template check every secret rule shares: a value that is a template
//! (`${VAR}`, `{{ x }}`, `<your-key>`, `$(cmd)`, `%VAR%`) or made of a pattern (runs of one
//! character, sequential alphabets such as `abcdef`, `a1b2c3d4`, `abc123xyz`) is someone's
//! stand-in for a secret, not a secret. Random tokens almost never hold such patterns: a character
//! of a random base62 string starts an ascending run of three with a probability of about 1 in
//! 3,800, so a value that is mostly patterns was typed by a person.

/// Whether `value` is a template reference rather than a literal.
pub fn is_template(value: &str) -> bool {
    let v = value.trim_matches(|c| c == '"' || c == '\'');
    v.contains("${")
        || v.contains("{{")
        || v.contains("}}")
        || v.contains("$(")
        || v.contains("#{")
        || (v.starts_with('<') && v.ends_with('>'))
        || (v.len() > 2 && v.starts_with('%') && v.ends_with('%'))
        || (v.len() > 1
            && v.starts_with('$')
            && v[1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && v[1..].chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// Whether `value` is mostly made of patterns a person types for a stand-in: at least 40 % of
/// the letters and digits of its longest alphanumeric segment (the random part of a token; the
/// others are prefixes and numeric ids such as Slack's `xoxb-123456789012-`) are in runs of one
/// character (4 or more), ascending runs (`abc`, `123`, 3 or more) or interleaved ascending runs
/// (`a1b2c3`). Short values are left to the rules' entropy checks.
pub fn is_patterned(value: &str) -> bool {
    let chars: &[u8] = value
        .as_bytes()
        .split(|b| !b.is_ascii_alphanumeric())
        .max_by_key(|segment| segment.len())
        .unwrap_or_default();
    let n = chars.len();
    if n < 8 {
        return false;
    }
    let mut marked = vec![false; n];
    let same_class = |a: u8, b: u8| {
        (a.is_ascii_digit() && b.is_ascii_digit())
            || (a.is_ascii_lowercase() && b.is_ascii_lowercase())
            || (a.is_ascii_uppercase() && b.is_ascii_uppercase())
    };
    // Runs with a fixed step between neighbours at a given stride: identical characters (step
    // 0, at least 4), ascending ones (step 1, at least 3), interleaved ascending ones (stride 2).
    for (stride, step, min) in [(1, 0i16, 4), (1, 1, 3), (2, 1, 3)] {
        for start in 0..stride.min(n) {
            let mut run_start = start;
            let mut i = start;
            while i < n {
                let next = i + stride;
                let continues = next < n
                    && same_class(chars[i], chars[next])
                    && chars[next] as i16 - chars[i] as i16 == step;
                if !continues {
                    let len = (i - run_start) / stride + 1;
                    if len >= min {
                        for j in (run_start..=i).step_by(stride) {
                            marked[j] = true;
                        }
                    }
                    run_start = next;
                }
                i = next;
            }
        }
    }
    let patterned = marked.iter().filter(|&&m| m).count();
    patterned * 10 >= n * 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_recognised() {
        for value in [
            "${DB_PASSWORD}",
            "{{ .Values.apiToken }}",
            "<your-key>",
            "$(cat /run/secrets/db)",
            "%DB_PASSWORD%",
            "$DB_PASSWORD",
            "#{db.password}",
            "\"${TOKEN}\"",
        ] {
            assert!(is_template(value), "{value}");
        }
        for value in ["Zq8!vLx2Wm", "pa$sw0rd", "$2a$10$abcdefghijkl", "50%off", "a<b"] {
            assert!(!is_template(value), "{value}");
        }
    }

    #[test]
    fn patterned_values_are_placeholders_and_random_ones_are_not() {
        for value in [
            "AIzaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "sk-ant-api03-abc123xyz-456def789ghij-klmnopqrstuvwx-3456yza789bcde-1234fghijklmnop",
            "a1b2c3d4e5f6g7h8",
            "abcdefghijklmnopqrstuvwx",
            "0123456789abcdef0123",
            "xxxxxxxxxxxxxxxxxxxx",
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345",
        ] {
            assert!(is_patterned(value), "{value}");
        }
        for value in [
            "wJ8rXUtnFEMI/K7MDENG/bPxRfiCYzq3Lk9Vt2Qa",
            "Vq7-rT2zLk9w",
            "AKIAQ3TZ7VK2MXWJ4RNA",
            "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
            "xoxb-123456789012-1234567890123-Zq8vLx2Wkk9JqT3bRmN4aPyU",
            "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ",
            "abc",
        ] {
            assert!(!is_patterned(value), "{value}");
        }
    }
}

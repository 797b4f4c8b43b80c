//! A secret named by a field of its own: an ECS task definition's
//! `{"name": "AWS_SECRET_ACCESS_KEY", "value": "…"}`, a Kubernetes container's
//! `- name: DB_PASSWORD` / `value: …`, CloudFormation's `ParameterKey`/`ParameterValue`, a .NET
//! `appSettings` entry `<add key="…" value="…" />`. Rules
//! that know a secret by the name it is assigned to see `NAME = value` instead.

use std::sync::OnceLock;

use regex::bytes::Regex;

/// A value field: `value`, `Value`, `"parameterValue"`, `secret_value`, before `:`, `=` or `=>`.
fn value_field() -> &'static Regex {
    static FIELD: OnceLock<Regex> = OnceLock::new();
    FIELD.get_or_init(|| {
        Regex::new(
            r#"(?i-u)(?:^|[^A-Za-z0-9_])["']?(?:value|parameter_?value|secret_?value)["']?\s*(?::|=>|=)\s*"#,
        )
        .expect("value field pattern")
    })
}

/// A name field and the name it gives: a name alone as the field's value (`Name:
/// aws.String("x")` is code, not a name), ended by a separator, the line's end, or, as XML
/// attributes are (`<add key="X" value="…" />` in a .NET config), the tag's end or the next
/// attribute.
fn name_field() -> &'static Regex {
    static FIELD: OnceLock<Regex> = OnceLock::new();
    FIELD.get_or_init(|| {
        Regex::new(
            r#"(?i-u)(?:^|[^A-Za-z0-9_])["']?(?:name|key|variable|parameter_?key|parameter_?name|env_?name)["']?\s*(?::|=>|=)\s*["']?(?P<name>[A-Za-z_][A-Za-z0-9_.-]{2,63})["']?(?:\s*(?:[,;})\]]|/?>|$)|\s+[A-Za-z_:-]+\s*=)"#,
        )
        .expect("name field pattern")
    })
}

/// The `v`s of a chunk (bits of the chunk at `base`) that start a value field: `value` or
/// `VALUE` (the `v` of either case) before an assignment.
#[inline]
pub(super) fn value_hits(text: &[u8], base: usize, vees: u64) -> u64 {
    super::encodings::hits_where(vees, |bit| {
        let after = base + bit + 1;
        matches!(text.get(after..after + 4), Some(b"alue" | b"ALUE")) && is_value_field_at(text, after)
    })
}

/// Whether the `alue` at `at` ends a value field's name followed by an assignment: told from
/// the bytes around it, since `value` is one of the commonest words in code.
fn is_value_field_at(text: &[u8], at: usize) -> bool {
    if at == 0 || !matches!(text[at - 1], b'v' | b'V') {
        return false;
    }
    let after = &text[at + 4..];
    let after = after
        .strip_prefix(b"\"")
        .or_else(|| after.strip_prefix(b"'"))
        .unwrap_or(after);
    let spaces = after.iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
    match &after[spaces..] {
        [b':', ..] => true,
        [b'=', b'=', ..] => false,
        [b'=', ..] => true,
        _ => false,
    }
}

/// A value and the name given to it by a field near it.
pub(super) struct Pair {
    /// `NAME = value…`: the name, then the line from the value on.
    pub assignment: Vec<u8>,
    /// How many lines before and after the value's the name was found.
    pub lines_before: usize,
    pub lines_after: usize,
}

/// The pair whose value is on the line `start..end` of `text`: the name on the same line, else
/// on one of the `neighbours` lines before it, else after it (JSON keeps no order), never past
/// another value field.
pub(super) fn assignment(text: &[u8], start: usize, end: usize, neighbours: usize) -> Option<Pair> {
    let line = &text[start..end];
    let value = value_field().find(line)?;
    let value_text = &line[value.end()..];
    let same_line = name_field()
        .captures_iter(line)
        .filter_map(|found| found.name("name"))
        .find(|name| name.end() <= value.start() || name.start() >= value.end());
    let (name, before, after) = match same_line {
        Some(name) => (name.as_bytes().to_vec(), 0, 0),
        None => neighbour_name(text, start, end, neighbours)?,
    };
    let mut assignment = name;
    assignment.extend_from_slice(b" = ");
    assignment.extend_from_slice(value_text);
    Some(Pair {
        assignment,
        lines_before: before,
        lines_after: after,
    })
}

fn neighbour_name(
    text: &[u8],
    start: usize,
    end: usize,
    neighbours: usize,
) -> Option<(Vec<u8>, usize, usize)> {
    let name_in = |line: &[u8]| -> Option<Option<Vec<u8>>> {
        if value_field().is_match(line) {
            return None; // Another pair's value: stop looking this way.
        }
        Some(
            name_field()
                .captures(line)
                .and_then(|found| found.name("name"))
                .map(|name| name.as_bytes().to_vec()),
        )
    };
    let mut line_start = start;
    for distance in 1..=neighbours {
        if line_start == 0 {
            break;
        }
        let previous_end = line_start - 1;
        line_start = memchr::memrchr(b'\n', &text[..previous_end]).map_or(0, |nl| nl + 1);
        match name_in(&text[line_start..previous_end]) {
            None => break,
            Some(Some(name)) => return Some((name, distance, 0)),
            Some(None) => {}
        }
    }
    let mut line_end = end;
    for distance in 1..=neighbours {
        if line_end >= text.len() {
            break;
        }
        let next_start = line_end + 1;
        line_end = memchr::memchr(b'\n', &text[next_start..]).map_or(text.len(), |nl| next_start + nl);
        match name_in(&text[next_start..line_end]) {
            None => break,
            Some(Some(name)) => return Some((name, 0, distance)),
            Some(None) => {}
        }
    }
    None
}

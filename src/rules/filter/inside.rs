//! File-name rules that look inside the file (`inside:`): where, if at all, a credential file's
//! name is reported.

use super::lines::LineCounter;
use super::{Inside, RuleFilter};

/// Where a file-name rule that looks inside (`inside:`) reports a file, if at all: a credential
/// file's name is reported only when its content holds a secret, at the line that holds it, and
/// never next to a content finding on that line (one secret, one finding). `text` is `None` when
/// the content could not be read as text whole (binary, unreadable, too large): the name is all
/// there is to go by, and it is reported at line 1.
pub fn name_finding_line(filter: &RuleFilter, text: Option<&[u8]>, content_lines: &[u32]) -> Option<u32> {
    let Some(text) = text else {
        return Some(1);
    };
    match filter.inside {
        Some(Inside::Secret) | None => None,
        Some(Inside::TfstateSensitive) => tfstate_has_sensitive_value(text).then_some(1),
        Some(Inside::Pattern) => filter.inside_pattern.as_ref().and_then(|pattern| {
            let mut counter = LineCounter::default();
            pattern
                .find_iter(text)
                .map(|m| counter.line_of(text, m.start()))
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
                .find(|n| !content_lines.contains(n))
        }),
    }
}

/// Whether a Terraform state holds a non-null sensitive value: an output marked sensitive, or
/// a resource attribute listed in `sensitive_attributes`. Not JSON, or no such value: false.
pub fn tfstate_has_sensitive_value(buffer: &[u8]) -> bool {
    let Ok(state) = serde_json::from_slice::<serde_json::Value>(buffer) else {
        return false;
    };
    let present = |value: &serde_json::Value| match value {
        serde_json::Value::Null => false,
        serde_json::Value::String(s) => !s.is_empty(),
        serde_json::Value::Array(a) => !a.is_empty(),
        serde_json::Value::Object(o) => !o.is_empty(),
        _ => true,
    };
    if let Some(outputs) = state.get("outputs").and_then(|o| o.as_object()) {
        for output in outputs.values() {
            if output.get("sensitive").and_then(|s| s.as_bool()) == Some(true)
                && output.get("value").is_some_and(present)
            {
                return true;
            }
        }
    }
    let resources = state.get("resources").and_then(|r| r.as_array());
    for resource in resources.into_iter().flatten() {
        let instances = resource.get("instances").and_then(|i| i.as_array());
        for instance in instances.into_iter().flatten() {
            let Some(attributes) = instance.get("attributes") else {
                continue;
            };
            let paths = instance.get("sensitive_attributes").and_then(|s| s.as_array());
            for path in paths.into_iter().flatten() {
                // A path is a list of steps ([{"type":"get_attr","value":"password"}]); newer
                // states wrap it as {"value": [...]}.
                let steps = path
                    .as_array()
                    .or_else(|| path.get("value").and_then(|v| v.as_array()));
                let mut value = attributes;
                let mut found = true;
                for step in steps.into_iter().flatten() {
                    let next = match step.get("value") {
                        Some(serde_json::Value::String(key)) => value.get(key),
                        Some(serde_json::Value::Number(n)) => n.as_u64().and_then(|i| value.get(i as usize)),
                        _ => None,
                    };
                    match next {
                        Some(next) => value = next,
                        None => {
                            found = false;
                            break;
                        }
                    }
                }
                if found && present(value) {
                    return true;
                }
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tfstate_sensitive_values() {
        let empty = br#"{"version":4,"outputs":{"a":{"value":"x","type":"string"}},"resources":[]}"#;
        assert!(!tfstate_has_sensitive_value(empty));
        let output =
            br#"{"version":4,"outputs":{"pw":{"value":"hunter22","type":"string","sensitive":true}}}"#;
        assert!(tfstate_has_sensitive_value(output));
        let null_output = br#"{"version":4,"outputs":{"pw":{"value":null,"sensitive":true}}}"#;
        assert!(!tfstate_has_sensitive_value(null_output));
        let attribute = br#"{"version":4,"resources":[{"instances":[{"attributes":{"password":"s3cr3t"},"sensitive_attributes":[[{"type":"get_attr","value":"password"}]]}]}]}"#;
        assert!(tfstate_has_sensitive_value(attribute));
        let null_attribute = br#"{"version":4,"resources":[{"instances":[{"attributes":{"password":null},"sensitive_attributes":[[{"type":"get_attr","value":"password"}]]}]}]}"#;
        assert!(!tfstate_has_sensitive_value(null_attribute));
        assert!(!tfstate_has_sensitive_value(b"not json"));
    }
}

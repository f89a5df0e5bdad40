//! Small helpers for reading JSON configuration with useful line numbers.

use serde_json::{Map, Value};

/// The 1-based line of the first `"field"` in the text (a good-enough
/// pointer for diagnostics; JSON parsers keep no positions).
pub(crate) fn line_of(text: &str, field: &str) -> Option<usize> {
    let needle = format!("\"{field}\"");
    let pos = text.find(&needle)?;
    Some(text.get(..pos)?.matches('\n').count() + 1)
}

/// The first of `names` present in the object, with the name used.
pub(crate) fn field<'a>(
    obj: &'a Map<String, Value>,
    names: &[&'static str],
) -> Option<(&'static str, &'a Value)> {
    names.iter().find_map(|n| obj.get(*n).map(|v| (*n, v)))
}

/// A value as text: strings as they are, numbers written out.
pub(crate) fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

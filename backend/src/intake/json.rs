//! Parsing JSON request bodies with errors a client can act on.
//!
//! serde's messages are good but do not say *where*; `serde_path_to_error` gives the path,
//! and this module turns both into [`Error::Invalid`] with a `field` and a stable `code`.

use serde::de::DeserializeOwned;

use crate::{Error, Result};

/// Parses `bytes` as JSON into `T`, rejecting invalid UTF-8 and naming the offending field.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(Error::invalid(
            "invalid_utf8",
            utf8_culprit(bytes).unwrap_or_default(),
            format!(
                "request body is not valid UTF-8 (first bad byte at offset {})",
                e.valid_up_to()
            ),
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let mut value: serde_json::Value = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        from_serde(&path, e.into_inner())
    })?;
    whole_numbers(&mut value);
    from_value(value)
}

/// `5.0` is the whole number 5 (JSON Schema says so, and clients that only have doubles
/// send it that way): numbers without a fraction become integers, so integer fields take
/// them. Others stay as they are.
fn whole_numbers(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64() {
                // Within ±2^53 every whole f64 is exactly an i64.
                if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 {
                    *v = Value::from(f as i64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers),
        Value::Object(map) => map.values_mut().for_each(whole_numbers),
        _ => {}
    }
}

/// Converts an already-parsed JSON value (a JSONL line, a CSV row) into `T`, with the same
/// field-naming errors as [`parse`].
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        from_serde(&path, e.into_inner())
    })
}

fn from_serde(path: &str, e: serde_json::Error) -> Error {
    let path = if path == "." || path == "?" { "" } else { path };
    let msg = e.to_string();
    let join = |name: &str| {
        // For unknown fields serde_path_to_error's path already ends with the name.
        if path == name || path.ends_with(&format!(".{name}")) {
            path.to_string()
        } else if path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        }
    };
    if e.is_syntax() || e.is_eof() {
        return Error::invalid("invalid_json", path, format!("malformed JSON: {msg}"));
    }
    if let Some(name) = backticked(&msg, "missing field `") {
        let field = join(&name);
        return Error::invalid("missing_field", &field, format!("{field} is required"));
    }
    if let Some(name) = backticked(&msg, "unknown field `") {
        let field = join(&name);
        return Error::invalid("unknown_field", &field, format!("unknown field {field}"));
    }
    let code = if msg.starts_with("invalid type") || msg.starts_with("data did not match") {
        "invalid_type"
    } else {
        "invalid_value"
    };
    let field = if path.is_empty() { "body" } else { path };
    Error::invalid(code, field, format!("{field}: {msg}"))
}

/// The name in "prefix`name`…".
fn backticked(msg: &str, prefix: &str) -> Option<String> {
    let rest = msg.strip_prefix(prefix)?;
    Some(rest[..rest.find('`')?].to_string())
}

/// For a body that is JSON apart from invalid UTF-8, the path of the first string that
/// holds the bad bytes, so the error can name the field.
fn utf8_culprit(bytes: &[u8]) -> Option<String> {
    let lossy = String::from_utf8_lossy(bytes);
    let value: serde_json::Value = serde_json::from_str(&lossy).ok()?;
    find_replacement(&value, "")
}

fn find_replacement(v: &serde_json::Value, path: &str) -> Option<String> {
    let child = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match v {
        serde_json::Value::String(s) if s.contains('\u{FFFD}') => Some(path.to_string()),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k.contains('\u{FFFD}') {
                Some(child(k))
            } else {
                find_replacement(v, &child(k))
            }
        }),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_replacement(v, &format!("{path}[{i}]"))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::input::TicketInput;

    fn field_and_code(body: &[u8]) -> (Option<String>, &'static str) {
        match parse::<TicketInput>(body) {
            Err(Error::Invalid { field, code, .. }) => (field, code),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(
            field_and_code(br#"{"body":"x"}"#),
            (Some("subject".into()), "missing_field")
        );
        assert_eq!(
            field_and_code(br#"{"subject":"s","body":"b","colour":1}"#),
            (Some("colour".into()), "unknown_field")
        );
        assert_eq!(
            field_and_code(br#"{"subject":5,"body":"b"}"#),
            (Some("subject".into()), "invalid_type")
        );
        assert_eq!(
            field_and_code(br#"{"subject":"s","body":"b","customer":{"mail":"x"}}"#),
            (Some("customer.mail".into()), "unknown_field")
        );
        assert_eq!(
            field_and_code(b"{\"subject\":\"s\",\"body\":\"b\xff\"}"),
            (Some("body".into()), "invalid_utf8")
        );
        // Truncated JSON: the error still points at the field being read.
        assert_eq!(
            field_and_code(b"{\"subject\":"),
            (Some("subject".into()), "invalid_json")
        );
    }
}

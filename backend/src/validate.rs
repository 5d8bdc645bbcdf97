//! Field checks shared by every layer: required and optional text, lengths, emails,
//! timestamps, one-of-a-list. Each check names the field it failed on, as a dotted path
//! (`customer.email`), so a 400 says which field to fix.
//!
//! This module sits below storage (`db::users` checks a new account's email with it) and
//! depends on nothing but the error type; what a ticket, rating or survey must hold is
//! intake's business (`intake::validate`).

use chrono::{DateTime, Utc};

use crate::{Error, Result};

/// A plausible email address, trimmed and lower-cased. (Only delivery proves an address;
/// this catches typos such as a missing `@` or a space.)
pub fn email(field: &str, value: &str) -> Result<String> {
    let email = required(field, value, 254)?.to_lowercase();
    let ok = email
        .split_once('@')
        .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'));
    if !ok || email.contains(char::is_whitespace) {
        return Err(Error::invalid(
            "invalid_value",
            field,
            format!("{field} is not an email address: {email:?}"),
        ));
    }
    Ok(email)
}

/// RFC 3339 (`2026-11-02T09:30:00Z`) or a plain date (`2026-11-02`, midnight UTC).
pub fn timestamp(field: &str, text: &str) -> Result<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    Err(Error::invalid(
        "invalid_value",
        field,
        format!("{field} must be an RFC 3339 time or a YYYY-MM-DD date, got {text:?}"),
    ))
}

/// Trimmed, non-blank, at most `max` characters as sent (the limit is the OpenAPI
/// document's `maxLength`, which counts the value before any trimming).
pub fn required(field: &str, value: &str, max: usize) -> Result<String> {
    let v = without_nul(value);
    let v = v.trim();
    if v.is_empty() {
        return Err(Error::invalid(
            "missing_field",
            field,
            format!("{field} must not be empty"),
        ));
    }
    check_len(field, value, max)?;
    Ok(v.to_string())
}

/// Like [`required`], but blank means absent.
pub fn optional(field: &str, value: Option<String>, max: usize) -> Result<Option<String>> {
    if let Some(raw) = &value {
        check_len(field, raw, max)?;
    }
    let value = value.map(|v| without_nul(&v).into_owned());
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => Ok(Some(v.to_string())),
    }
}

fn check_len(field: &str, v: &str, max: usize) -> Result<()> {
    let n = v.chars().count();
    if n > max {
        return Err(Error::invalid(
            "too_long",
            field,
            format!("{field} is {n} characters long; the limit is {max}"),
        ));
    }
    Ok(())
}

/// Text without NUL characters: no reader wants them, and PostgreSQL text cannot hold them
/// (SQLite could), so both backends store the same text.
fn without_nul(v: &str) -> std::borrow::Cow<'_, str> {
    if v.contains('\0') {
        v.replace('\0', "").into()
    } else {
        v.into()
    }
}

pub fn one_of(field: &str, value: Option<&str>, allowed: &[&str], default: &str) -> Result<String> {
    match value.map(str::trim) {
        None | Some("") if !default.is_empty() => Ok(default.to_string()),
        Some(v) if allowed.contains(&v.to_lowercase().as_str()) => Ok(v.to_lowercase()),
        other => Err(Error::invalid(
            "invalid_value",
            field,
            format!(
                "{field} must be one of {}, got {:?}",
                allowed.join(", "),
                other.unwrap_or("")
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_counts_the_value_as_sent_before_trimming() {
        let padded = format!(" {}", "x".repeat(200));
        assert!(matches!(
            required("owner", &padded, 200),
            Err(Error::Invalid { .. })
        ));
        assert!(optional("owner", Some(padded), 200).is_err());
        assert!(optional("owner", Some(" ".repeat(201)), 200).is_err());
        assert_eq!(required("owner", " Pat ", 200).unwrap(), "Pat");
        assert_eq!(optional("owner", Some("  ".into()), 200).unwrap(), None);
    }
}

//! What personal data triage keeps: which kinds are masked at intake (`TRIAGE_REDACT`) and
//! how long items are kept (`TRIAGE_RETENTION_DAYS`). The detectors themselves live in
//! `intake::redact`; this is only the operator's choice.

use crate::{Error, Result};

/// A kind of personal data masked at intake, with the placeholder that replaces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PiiKind {
    Email,
    Phone,
    Card,
    Iban,
    Ip,
}

impl PiiKind {
    pub const ALL: [PiiKind; 5] = [
        PiiKind::Email,
        PiiKind::Phone,
        PiiKind::Card,
        PiiKind::Iban,
        PiiKind::Ip,
    ];

    /// The name used in `TRIAGE_REDACT`.
    pub fn as_str(self) -> &'static str {
        match self {
            PiiKind::Email => "email",
            PiiKind::Phone => "phone",
            PiiKind::Card => "card",
            PiiKind::Iban => "iban",
            PiiKind::Ip => "ip",
        }
    }

    /// What the stored text says instead.
    pub fn placeholder(self) -> &'static str {
        match self {
            PiiKind::Email => "[email]",
            PiiKind::Phone => "[phone]",
            PiiKind::Card => "[card]",
            PiiKind::Iban => "[iban]",
            PiiKind::Ip => "[ip]",
        }
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// The kinds masked at intake: all by default; `TRIAGE_REDACT=email,card` picks some,
/// `TRIAGE_REDACT=none` turns redaction off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redact(u8);

impl Default for Redact {
    fn default() -> Self {
        Redact::all()
    }
}

impl Redact {
    pub fn all() -> Self {
        Redact(PiiKind::ALL.iter().fold(0, |m, k| m | k.bit()))
    }

    pub fn none() -> Self {
        Redact(0)
    }

    pub fn only(kinds: &[PiiKind]) -> Self {
        Redact(kinds.iter().fold(0, |m, k| m | k.bit()))
    }

    pub fn contains(self, kind: PiiKind) -> bool {
        self.0 & kind.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The kinds on, in a fixed order.
    pub fn kinds(self) -> impl Iterator<Item = PiiKind> {
        PiiKind::ALL.into_iter().filter(move |k| self.contains(*k))
    }

    pub fn parse(s: &str) -> Result<Redact> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("none") || s.eq_ignore_ascii_case("off") {
            return Ok(Redact::none());
        }
        if s.eq_ignore_ascii_case("all") {
            return Ok(Redact::all());
        }
        let mut kinds = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let kind = PiiKind::ALL
                .into_iter()
                .find(|k| k.as_str().eq_ignore_ascii_case(part))
                .ok_or_else(|| {
                    Error::Config(format!(
                        "TRIAGE_REDACT lists kinds among email, phone, card, iban, ip (or says \
                         all or none), got {part:?}"
                    ))
                })?;
            kinds.push(kind);
        }
        Ok(Redact::only(&kinds))
    }
}

/// How long items are kept (`TRIAGE_RETENTION_DAYS`); unset keeps them.
pub fn retention_days(value: Option<String>) -> Result<Option<u32>> {
    value
        .map(|t| {
            t.trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    Error::Config(format!(
                        "TRIAGE_RETENTION_DAYS must be a positive number of days, got {t:?}"
                    ))
                })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_all_and_none() {
        let r = Redact::parse("email, CARD").unwrap();
        assert!(r.contains(PiiKind::Email) && r.contains(PiiKind::Card));
        assert!(!r.contains(PiiKind::Phone));
        assert_eq!(Redact::parse("none").unwrap(), Redact::none());
        assert_eq!(Redact::parse("all").unwrap(), Redact::all());
        assert_eq!(Redact::default().kinds().count(), 5);
        let e = Redact::parse("email,passport").unwrap_err().to_string();
        assert!(e.contains("TRIAGE_REDACT") && e.contains("passport"), "{e}");
    }

    #[test]
    fn retention_is_positive_days_or_unset() {
        assert_eq!(retention_days(None).unwrap(), None);
        assert_eq!(retention_days(Some("30".into())).unwrap(), Some(30));
        assert!(retention_days(Some("0".into())).is_err());
        assert!(retention_days(Some("a week".into())).is_err());
    }
}

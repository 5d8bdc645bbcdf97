//! Masking personal data in feedback text before anything stores, indexes or embeds it.
//!
//! Customers paste card numbers, phone numbers, email addresses, IBANs and IP addresses
//! into tickets. None of that helps find a theme, and all of it is a liability, so intake
//! replaces each with a typed placeholder (`[card]`, `[phone]`, …) that still reads
//! naturally to search, embeddings and people. The original is never written anywhere.
//!
//! Each detector finds candidates with a regular expression, then confirms them with the
//! structure the real thing has, so look-alikes stay:
//!
//! - **card**: 13–19 digits (spaces or dashes between groups) that pass the Luhn check and
//!   start with an issuer prefix of that length (Visa, Mastercard, Amex, Discover, JCB,
//!   Diners, UnionPay, Maestro) — order numbers fail one or the other nine times in ten.
//! - **iban**: a country code, two check digits and the country's exact length, passing
//!   the ISO 13616 mod-97 check.
//! - **email**: `local@domain.tld`.
//! - **ip**: IPv4 dotted quads that parse (each part ≤ 255) and are not written as a
//!   version (`v1.2.3.4`, `version 10.0.0.1`); IPv6 addresses that parse.
//! - **phone**: international numbers (`+` or `00`, 8–15 digits); national numbers in
//!   phone grouping (a trunk 0 or an `(area)`, 9–11 digits, or North American 3-3-4);
//!   any 7–15-digit number right after a word such as "phone", "call" or "mobile". Dates,
//!   prices, times and numbers after "order", "invoice", "ref", "isbn", "#" and the like
//!   are not phone numbers (unless they start with `+`).
//!
//! Precision and recall, measured on a labelled sample (`triage bench redact`), are in
//! docs/privacy.md with the false positives listed. No maintained Rust crate finds these
//! kinds in free text (the `phonenumber` port validates a number it is given, it does not
//! find one), which is why this is written here.

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use regex::Regex;

pub use crate::config::{PiiKind, Redact};

/// One detected piece of personal data: its kind and byte range in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub kind: PiiKind,
    pub start: usize,
    pub end: usize,
}

/// `text` with every kind in `kinds` masked; borrowed when there was nothing to mask.
pub fn redact(text: &str, kinds: Redact) -> Cow<'_, str> {
    if kinds.is_empty() || !might_hold_pii(text) {
        return Cow::Borrowed(text);
    }
    let found = find(text, kinds);
    if found.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in found {
        out.push_str(&text[at..f.start]);
        out.push_str(f.kind.placeholder());
        at = f.end;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// [`redact`] for an optional field.
pub fn redact_opt(text: &Option<String>, kinds: Redact) -> Option<String> {
    text.as_deref().map(|t| redact(t, kinds).into_owned())
}

/// Every piece of personal data of the kinds in `kinds`, in text order, not overlapping.
/// Where two detectors claim the same characters the stricter one wins (email, IBAN,
/// card, IP, then phone), so a card number is never half-masked as a phone number.
pub fn find(text: &str, kinds: Redact) -> Vec<Found> {
    let mut found: Vec<Found> = Vec::new();
    let mut claim = |kind: PiiKind, start: usize, end: usize| {
        if !found.iter().any(|f| f.start < end && start < f.end) {
            found.push(Found { kind, start, end });
        }
    };
    if kinds.contains(PiiKind::Email) {
        for m in EMAIL.find_iter(text) {
            claim(PiiKind::Email, m.start(), m.end());
        }
    }
    if kinds.contains(PiiKind::Iban) {
        for (s, e) in ibans(text) {
            claim(PiiKind::Iban, s, e);
        }
    }
    if kinds.contains(PiiKind::Card) {
        for (s, e) in cards(text) {
            claim(PiiKind::Card, s, e);
        }
    }
    if kinds.contains(PiiKind::Ip) {
        for (s, e) in ips(text) {
            claim(PiiKind::Ip, s, e);
        }
    }
    if kinds.contains(PiiKind::Phone) {
        for (s, e) in phones(text) {
            claim(PiiKind::Phone, s, e);
        }
    }
    found.sort_by_key(|f| f.start);
    found
}

/// A cheap pre-check: every kind holds either `@`, `:` or at least four digits, so most
/// feedback skips the regular expressions entirely.
fn might_hold_pii(text: &str) -> bool {
    let mut digits = 0;
    for b in text.bytes() {
        match b {
            b'@' | b':' => return true,
            b'0'..=b'9' => {
                digits += 1;
                if digits >= 4 {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

/// The last few words before a candidate: all the context the detectors read (and what
/// keeps them linear in the text's length).
fn tail(before: &str) -> &str {
    let cut = before.len().saturating_sub(48);
    let cut = (cut..before.len())
        .find(|i| before.is_char_boundary(*i))
        .unwrap_or(before.len());
    &before[cut..]
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("the redaction patterns are valid")
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)[\w.%+\-']*\w@[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)*\.[a-z]{2,24}\b",
    )
});

/// Digit groups separated by one space or dash: the shape of a written card number.
static DIGIT_GROUPS: LazyLock<Regex> = LazyLock::new(|| re(r"\d+(?:[ \-]\d+)*"));

/// Card numbers: within each run of digit groups, the longest span of whole groups that is
/// a valid card number.
fn cards(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for m in DIGIT_GROUPS.find_iter(text) {
        if !standalone(text, m.start(), m.end()) {
            continue;
        }
        // (start, end) of every group in the run, in text offsets.
        let groups: Vec<(usize, usize)> = GROUP
            .find_iter(m.as_str())
            .map(|g| (m.start() + g.start(), m.start() + g.end()))
            .collect();
        let mut i = 0;
        while i < groups.len() {
            let mut best = None;
            let mut digits = String::new();
            for (j, g) in groups.iter().enumerate().skip(i) {
                digits.push_str(&text[g.0..g.1]);
                if digits.len() > 19 {
                    break;
                }
                if is_card(&digits) {
                    best = Some(j);
                }
            }
            match best {
                Some(j) => {
                    out.push((groups[i].0, groups[j].1));
                    i = j + 1;
                }
                None => i += 1,
            }
        }
    }
    out
}

static GROUP: LazyLock<Regex> = LazyLock::new(|| re(r"\d+"));

/// Not glued to letters or other digits (`AB12345…` or `12.345…` is something else).
fn standalone(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    let glued = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let decimal = |c: Option<char>, next: Option<char>| {
        matches!(c, Some('.' | ',')) && next.is_some_and(|n| n.is_ascii_digit())
    };
    let before2 = text[..start].chars().rev().nth(1);
    let after2 = text[end..].chars().nth(1);
    !glued(before) && !glued(after) && !decimal(before, before2) && !decimal(after, after2)
}

/// A payment card number: issuer prefix and length, then Luhn.
pub fn is_card(digits: &str) -> bool {
    let n = digits.len();
    if !(13..=19).contains(&n) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let p = |k: usize| digits[..k].parse::<u32>().unwrap_or(0);
    let issuer = match digits.as_bytes()[0] {
        b'4' => matches!(n, 13 | 16 | 19), // Visa
        b'5' => (51..=55).contains(&p(2)) && n == 16 || p(2) == 50 || (56..=59).contains(&p(2)), // Mastercard, Maestro
        b'2' => (2221..=2720).contains(&p(4)) && n == 16, // Mastercard 2-series
        b'3' => {
            (matches!(p(2), 34 | 37) && n == 15)                            // Amex
                || ((3528..=3589).contains(&p(4)) && n >= 16)               // JCB
                || (((300..=305).contains(&p(3)) || matches!(p(2), 36 | 38 | 39)) && n >= 14)
            // Diners
        }
        b'6' => n >= 16 || n >= 13 && p(2) != 60, // Discover, UnionPay (62), Maestro (6x)
        _ => false,
    };
    issuer && luhn(digits)
}

fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 {
                    d2 - 9
                } else {
                    d2
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// A country code, two check digits and then letters and digits, optionally in groups of
/// four separated by one space.
static IBAN_START: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b[a-z]{2}\d{2}(?: ?[a-z0-9]){10,32}"));

fn ibans(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for m in IBAN_START.find_iter(text) {
        let country = m.as_str()[..2].to_ascii_uppercase();
        let Some(len) = iban_length(&country) else {
            continue;
        };
        // Take exactly the country's length in letters and digits, skipping spaces.
        let mut compact = String::with_capacity(len);
        let mut end = m.start();
        for (i, c) in m.as_str().char_indices() {
            if c == ' ' {
                continue;
            }
            compact.push(c.to_ascii_uppercase());
            end = m.start() + i + c.len_utf8();
            if compact.len() == len {
                break;
            }
        }
        let whole_word = !text[end..]
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric());
        if compact.len() == len && whole_word && iban_checksum_ok(&compact) {
            out.push((m.start(), end));
        }
    }
    out
}

/// ISO 13616: move the first four characters to the end, letters become 10–35, and the
/// number modulo 97 must be 1.
pub fn iban_checksum_ok(iban: &str) -> bool {
    let (head, tail) = iban.split_at(4);
    let mut rem: u32 = 0;
    for c in tail.chars().chain(head.chars()) {
        let v = match c {
            '0'..='9' => c as u32 - '0' as u32,
            'A'..='Z' => c as u32 - 'A' as u32 + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1 && head[2..].bytes().all(|b| b.is_ascii_digit())
}

/// IBAN length per country (the SWIFT registry).
fn iban_length(country: &str) -> Option<usize> {
    const LENGTHS: &[(&str, usize)] = &[
        ("AD", 24),
        ("AE", 23),
        ("AL", 28),
        ("AT", 20),
        ("AZ", 28),
        ("BA", 20),
        ("BE", 16),
        ("BG", 22),
        ("BH", 22),
        ("BR", 29),
        ("BY", 28),
        ("CH", 21),
        ("CR", 22),
        ("CY", 28),
        ("CZ", 24),
        ("DE", 22),
        ("DK", 18),
        ("DO", 28),
        ("EE", 20),
        ("EG", 29),
        ("ES", 24),
        ("FI", 18),
        ("FO", 18),
        ("FR", 27),
        ("GB", 22),
        ("GE", 22),
        ("GI", 23),
        ("GL", 18),
        ("GR", 27),
        ("GT", 28),
        ("HR", 21),
        ("HU", 28),
        ("IE", 22),
        ("IL", 23),
        ("IQ", 23),
        ("IS", 26),
        ("IT", 27),
        ("JO", 30),
        ("KW", 30),
        ("KZ", 20),
        ("LB", 28),
        ("LC", 32),
        ("LI", 21),
        ("LT", 20),
        ("LU", 20),
        ("LV", 21),
        ("LY", 25),
        ("MC", 27),
        ("MD", 24),
        ("ME", 22),
        ("MK", 19),
        ("MR", 27),
        ("MT", 31),
        ("MU", 30),
        ("NL", 18),
        ("NO", 15),
        ("PK", 24),
        ("PL", 28),
        ("PS", 29),
        ("PT", 25),
        ("QA", 29),
        ("RO", 24),
        ("RS", 22),
        ("SA", 24),
        ("SC", 31),
        ("SE", 24),
        ("SI", 19),
        ("SK", 24),
        ("SM", 27),
        ("ST", 25),
        ("SV", 28),
        ("TL", 23),
        ("TN", 24),
        ("TR", 26),
        ("UA", 29),
        ("VA", 22),
        ("VG", 24),
        ("XK", 20),
    ];
    LENGTHS.iter().find(|(c, _)| *c == country).map(|(_, n)| *n)
}

static IPV4: LazyLock<Regex> = LazyLock::new(|| re(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b"));
static IPV6: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)[0-9a-f:]*:[0-9a-f:]*:[0-9a-f:.]*"));
/// Words after which a dotted quad is a version, not an address.
static VERSION_BEFORE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?:\bv|\bversion|\bver\.?|\bbuild|\brelease|\bfirmware|\bapp|\bios|\bandroid|\bwindows|\bmacos|\bchrome|\bfirefox|\bsafari|\bupdate|\bupdated to|\bupgraded to)\s*$",
    )
});

fn ips(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for m in IPV4.find_iter(text) {
        let dotted_on = |c: Option<char>, next: Option<char>| {
            c == Some('.') && next.is_some_and(|n| n.is_ascii_digit())
        };
        let before = text[..m.start()].chars().rev();
        let after = text[m.end()..].chars();
        let longer = dotted_on(before.clone().next(), before.clone().nth(1))
            || dotted_on(after.clone().next(), after.clone().nth(1));
        let version = VERSION_BEFORE.is_match(tail(&text[..m.start()]));
        if !longer && !version && m.as_str().parse::<Ipv4Addr>().is_ok() {
            out.push((m.start(), m.end()));
        }
    }
    for m in IPV6.find_iter(text) {
        let s = m.as_str().trim_end_matches('.');
        let glued = text[..m.start()]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric());
        let hex_digits = s.bytes().filter(u8::is_ascii_hexdigit).count();
        if !glued && hex_digits >= 1 && s.parse::<Ipv6Addr>().is_ok() {
            out.push((m.start(), m.start() + s.len()));
        }
    }
    out
}

/// A run that could be a phone number: an optional `+`, then groups of digits (a group may
/// be in parentheses) joined by a space, or by one `-`, `.` or `/` with an optional space
/// either side (`089 / 12 34 56`).
static PHONE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:\+\s?)?\(?\+?\d+\)?(?:(?:\s?[\-./]\s?|\s)?\(?\d+\)?)*"));
/// Words right before a number that make it a phone number ("phone", "call me on", …; a
/// bare "number" says nothing: account numbers are numbers too).
static PHONE_WORD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:phone|tel|telephone|call|called|calling|ring|mobile|mobil|cell|cellphone|whatsapp|sms|text|texted|fax|reach me|contact me|contact number|contact no|hotline|line)\b\.?\W{0,3}(?:\w+\W{1,3}){0,2}$",
    )
});
/// Words right before a number that make it something else (an order, an invoice, a book),
/// with up to two joining words ("account number is", "order no.").
static NOT_PHONE_WORD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?:\b(?:order|invoice|ref|reference|ticket|case|tracking|transaction|txn|account|acct|id|sku|serial|receipt|confirmation|booking|policy|iban|version|build|code|pin|otp|postcode|zip|isbn|issn|gtin|ean|upc|item|product|customer)\b(?:\W{1,3}(?:no|number|nr|id|is|was|ref))*\W{0,3}|#\s*)$",
    )
});
static DATE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(?:\d{4}[\-./]\d{1,2}[\-./]\d{1,2}|\d{1,2}[\-./]\d{1,2}[\-./]\d{2,4})$")
});

fn phones(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for m in PHONE.find_iter(text) {
        let (start, mut end) = (m.start(), m.end());
        // A closing parenthesis without its opening one belongs to the sentence.
        while text[start..end].ends_with(')')
            && text[start..end].matches('(').count() < text[start..end].matches(')').count()
        {
            end -= 1;
        }
        let glued = !standalone(text, start, end);
        if glued && !text[start..end].starts_with(['+', '(']) {
            continue;
        }
        let before = tail(&text[..start]);
        // The whole run, or else the run without its last groups ("call 0800 123 4567 2
        // times"): the longest that is a phone number.
        let mut cut = end;
        loop {
            let s = &text[start..cut];
            if is_phone(s, before) {
                out.push((start, cut));
                break;
            }
            match s.rfind(|c: char| !c.is_ascii_digit() && c != '(' && c != ')') {
                Some(i) if i > 0 => {
                    cut = start + s[..i].trim_end_matches([' ', '-', '.', '/']).len()
                }
                _ => break,
            }
            if cut <= start {
                break;
            }
        }
    }
    out
}

/// Whether `s` (a digit run from [`PHONE`]) is a phone number, given the text before it.
fn is_phone(s: &str, before: &str) -> bool {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    let n = digits.len();
    let plus = s.starts_with('+') || s.starts_with("(+");
    // Country codes never start with 0: `00` + a country code is the other way to dial out.
    let dial_out = digits.starts_with("00") && digits[2..].starts_with(|c: char| c != '0');
    if NOT_PHONE_WORD.is_match(before) && !plus {
        return false;
    }
    if DATE.is_match(s) || looks_like_price_or_version(s) || is_time(s) {
        return false;
    }
    if plus {
        return (8..=15).contains(&n) && !digits.starts_with('0');
    }
    if dial_out {
        return (8..=15).contains(&(n - 2));
    }
    if PHONE_WORD.is_match(before) {
        return (7..=15).contains(&n);
    }
    let grouped = s.contains([' ', '-', '.', '(', '/']);
    let nanp = NANP.is_match(s);
    // National numbers: a trunk 0 and 9–11 digits in phone grouping (area codes make
    // them 9 digits in parts of Germany and Austria), or 11 digits written together.
    let national = digits.starts_with('0') && !digits.starts_with("00");
    let area = s.starts_with('(') && (9..=11).contains(&n);
    nanp || area || (national && ((grouped && (9..=11).contains(&n)) || n == 11))
}

static NANP: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?:1[ \-.])?(?:\(\d{3}\) ?|\d{3}[\-. ])\d{3}[\-. ]\d{4}$"));

/// `1.2.3`, `12.50`, `3.14`: dots only, and no dot-separated part of four digits in a row
/// of three (phone numbers written with dots look like `020.7946.0958` or `415.555.2671`).
fn looks_like_price_or_version(s: &str) -> bool {
    if !s.contains('.') || s.contains([' ', '-', '(', '/']) {
        return false;
    }
    let parts: Vec<&str> = s.split('.').collect();
    let lens: Vec<usize> = parts.iter().map(|p| p.len()).collect();
    !(parts.len() >= 3
        && lens.iter().filter(|l| **l >= 3).count() >= 2
        && lens.iter().sum::<usize>() >= 9)
}

fn is_time(s: &str) -> bool {
    s.len() <= 8 && s.contains(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(text: &str) -> String {
        redact(text, Redact::all()).into_owned()
    }

    #[test]
    fn masks_each_kind_with_its_placeholder() {
        assert_eq!(
            masked("mail me at jane.doe+bank@example.co.uk please"),
            "mail me at [email] please"
        );
        assert_eq!(
            masked("my card 4111 1111 1111 1111 was charged twice"),
            "my card [card] was charged twice"
        );
        assert_eq!(
            masked("IBAN DE89 3704 0044 0532 0130 00, thanks"),
            "IBAN [iban], thanks"
        );
        assert_eq!(masked("call +44 20 7946 0958 today"), "call [phone] today");
        assert_eq!(masked("from 192.168.10.42 at noon"), "from [ip] at noon");
        assert_eq!(masked("from 2001:db8::ff00:42:8329 only"), "from [ip] only");
    }

    #[test]
    fn leaves_look_alikes_alone() {
        for text in [
            "order 4111111111111112 never arrived", // fails Luhn
            "order #123-456-7890 is late",
            "on 2024-03-15 I paid £1,234.56",
            "updated to version 10.2.3.4 and 2.1.0",
            "the meeting is at 10:30:15",
            "reference 12345678 and 98765432100",
            "postcode SW1A 1AA, 3 items at 19.99",
            "DE89 3704 0044 0532 0130 01 has a bad checksum",
        ] {
            assert_eq!(masked(text), text);
        }
    }

    #[test]
    fn only_the_chosen_kinds_are_masked() {
        let text = "jane@example.com 4111-1111-1111-1111";
        assert_eq!(
            redact(text, Redact::only(&[PiiKind::Card])),
            "jane@example.com [card]"
        );
        assert_eq!(redact(text, Redact::none()), text);
    }

    #[test]
    fn text_without_pii_is_not_copied() {
        assert!(matches!(
            redact("the app crashes on login", Redact::all()),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn checks_are_the_published_algorithms() {
        assert!(is_card("378282246310005")); // Amex test number
        assert!(is_card("5555555555554444")); // Mastercard test number
        assert!(!is_card("1234567812345670")); // Luhn-valid, no issuer starts with 1
        assert!(iban_checksum_ok("GB82WEST12345698765432"));
        assert!(!iban_checksum_ok("GB82WEST12345698765433"));
    }
}

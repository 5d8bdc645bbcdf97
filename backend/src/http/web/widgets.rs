//! Small pieces shared by pages: charts drawn as inline SVG (no script, scale with the
//! page, readable by screen readers through their `aria-label`), badges, pagers.

use maud::{html, Markup};

use crate::backlog::workflow::Status;
use crate::backlog::COMPONENTS;

/// Percent-encodes one query-string value.
pub fn url_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A query string from the non-empty pairs (`?a=1&b=x`), or "" when there are none.
pub fn query(pairs: &[(&str, String)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", url_encode(v)))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// A score component's figure as people read it: counts whole, velocity as a ratio,
/// rating impact in points, money with thousands separators.
pub fn figure(component: usize, value: f64) -> String {
    match component {
        0 | 1 => format!("{value:.0}"),
        2 => format!("{value:.2}×"),
        3 => format!("{value:+.2} pts"),
        4 => thousands(value.round() as i64),
        _ => format!("{value:.2}"),
    }
}

fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

pub fn csrf(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// A tiny line chart of weekly counts, oldest first.
pub fn sparkline(weekly: &[u32]) -> Markup {
    let (w, h) = (96.0, 24.0);
    let max = f64::from(weekly.iter().copied().max().unwrap_or(0).max(1));
    let step = w / (weekly.len().max(2) - 1) as f64;
    let points: Vec<String> = weekly
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                "{:.1},{:.1}",
                i as f64 * step,
                h - 2.0 - f64::from(*v) / max * (h - 4.0)
            )
        })
        .collect();
    let label = format!(
        "Items per week, last {} weeks: {}",
        weekly.len(),
        weekly
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    html! {
        svg width=(w) height=(h) viewBox={"0 0 " (w) " " (h)} role="img" aria-label=(label) {
            polyline points=(points.join(" ")) fill="none" stroke="#2456c9" stroke-width="1.5";
        }
    }
}

/// A bar per week with its count, oldest first; `labels` name the weeks.
pub fn week_bars(weekly: &[u32], labels: &[String]) -> Markup {
    let (bar, gap, h) = (28.0, 6.0, 120.0);
    let max = f64::from(weekly.iter().copied().max().unwrap_or(0).max(1));
    let width = weekly.len() as f64 * (bar + gap);
    let label = format!(
        "Items per week: {}",
        labels
            .iter()
            .zip(weekly)
            .map(|(l, v)| format!("{l}: {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    html! {
        svg viewBox={"0 0 " (width) " " (h + 34.0)} width="100%" style="max-width:520px" role="img" aria-label=(label) {
            @for (i, v) in weekly.iter().enumerate() {
                @let x = i as f64 * (bar + gap);
                @let bh = f64::from(*v) / max * h;
                rect x=(x) y=(h - bh + 14.0) width=(bar) height=(bh) fill="#5b8def" {}
                text x=(x + bar / 2.0) y=(h - bh + 10.0) font-size="10" text-anchor="middle" { (v) }
                text x=(x + bar / 2.0) y=(h + 28.0) font-size="9" text-anchor="middle" fill="#5b6474" {
                    (labels.get(i).map(String::as_str).unwrap_or(""))
                }
            }
        }
    }
}

/// The score as a stacked bar of its components' points (out of 100).
pub fn scorebar(contributions: &[f64; 6]) -> Markup {
    let label = COMPONENTS
        .iter()
        .zip(contributions)
        .map(|(c, p)| format!("{}: {p:.1}", c.replace('_', " ")))
        .collect::<Vec<_>>()
        .join(", ");
    html! {
        div.scorebar role="img" aria-label={"Score breakdown: " (label)} {
            @for (i, p) in contributions.iter().enumerate() {
                @if *p > 0.0 {
                    span class={"c" (i)} style={"width:" (p) "%"} title={(COMPONENTS[i].replace('_', " ")) ": " (p)} {}
                }
            }
        }
    }
}

pub fn legend() -> Markup {
    html! {
        div.legend.small aria-hidden="true" {
            @for (i, c) in COMPONENTS.iter().enumerate() {
                span { i class={"c" (i)} {} (c.replace('_', " ")) }
            }
        }
    }
}

pub fn status(status: Status) -> Markup {
    html! { span class={"status " (status.as_str())} { (status.label()) } }
}

pub fn flags(rising: bool, new: bool, pinned: bool) -> Markup {
    html! {
        @if pinned { span.badge.pinned { "pinned" } }
        @if rising { span.badge.rising { "rising" } }
        @if new { span.badge.new { "new" } }
    }
}

/// "Previous / next" links for a listing at `offset` of `total`, `limit` per page.
pub fn pager(base: &str, extra: &[(&str, String)], offset: u64, limit: u64, total: u64) -> Markup {
    let link = |off: u64| {
        let mut pairs = extra.to_vec();
        pairs.push(("offset", off.to_string()));
        format!("{base}{}", query(&pairs))
    };
    html! {
        nav.pager aria-label="Pages" {
            @if offset > 0 {
                a href=(link(offset.saturating_sub(limit))) { "← Previous" }
            }
            span.muted {
                @if total == 0 { "nothing here" }
                @else { (offset + 1) "–" ((offset + limit).min(total)) " of " (total) }
            }
            @if offset + limit < total {
                a href=(link(offset + limit)) { "Next →" }
            }
        }
    }
}

pub fn flash(message: Option<&str>) -> Markup {
    html! {
        @if let Some(m) = message {
            p.flash role="status" { (m) }
        }
    }
}

/// Items close in meaning to something (an item, a theme), each linking to its page.
pub fn similar_list(hits: &[triage_index::SearchHit]) -> Markup {
    html! {
        @if hits.is_empty() { p.muted.small { "None close enough (or search by meaning is off)." } }
        ul.small { @for h in hits {
            // The index escapes the text; the excerpt has no markup of its own.
            li { (maud::PreEscaped(&h.snippet)) span.muted { " · " a href={"/items/" (h.id)} { (h.kind.replace('_', " ")) " #" (h.source_id) } " · "
                (format!("{:.0}", h.relevance * 100.0)) "% similar" } }
        } }
    }
}

/// Two themes that look like one problem: a quote from each, Merge (the smaller into the
/// larger, which keeps its name; the card says so, so it is the merge's confirmation) and
/// "Different problems" (which returns to `back`). On the backlog and on a theme's page.
pub fn lookalike_pair(
    l: &crate::themes::lookalike::Lookalike,
    csrf_token: &str,
    back: &str,
) -> Markup {
    html! {
        @let (small, large) = if l.a.size <= l.b.size { (&l.a, &l.b) } else { (&l.b, &l.a) };
        div.lookalike {
            p {
                a href={"/themes/" (large.theme_id)} { (large.label) } " (" (large.size) " items) and "
                a href={"/themes/" (small.theme_id)} { (small.label) } " (" (small.size) " items), similarity "
                (format!("{:.2}", l.similarity))
            }
            div.grid2 {
                blockquote { (large.quote.text) }
                blockquote { (small.quote.text) }
            }
            p.small.muted id={"lookalike-" (small.theme_id) "-" (large.theme_id)} {
                "Merging moves " (small.size) " item" @if small.size != 1 { "s" } " into \u{201c}" (large.label) "\u{201d}, which keeps its name; it can be undone from that theme's history."
            }
            div.row {
                form method="post" action={"/themes/" (small.theme_id) "/merge"} {
                    (csrf(csrf_token))
                    input type="hidden" name="into" value=(large.theme_id);
                    // The card says what the merge does, so it is its confirmation.
                    input type="hidden" name="confirmed" value="true";
                    button type="submit" aria-describedby={"lookalike-" (small.theme_id) "-" (large.theme_id)} { "Merge into \u{201c}" (large.label) "\u{201d}" }
                }
                form method="post" action="/teach/dismiss" {
                    (csrf(csrf_token))
                    input type="hidden" name="back" value=(back);
                    input type="hidden" name="a" value=(l.a.theme_id);
                    input type="hidden" name="b" value=(l.b.theme_id);
                    button.secondary type="submit" { "Different problems" }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(url_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(
            query(&[("q", "x y".into()), ("kind", String::new())]),
            "?q=x%20y"
        );
        assert_eq!(query(&[("q", String::new())]), "");
    }

    #[test]
    fn figures_read_naturally() {
        assert_eq!(figure(4, 2_881_191.4), "2,881,191");
        assert_eq!(figure(4, 950.0), "950");
        assert_eq!(figure(2, 2.0345), "2.03×");
        assert_eq!(figure(3, 0.5), "+0.50 pts");
        assert_eq!(figure(0, 83.0), "83");
    }

    #[test]
    fn charts_escape_nothing_they_should_not() {
        let svg = sparkline(&[0, 3, 1]).into_string();
        assert!(
            svg.contains("Items per week, last 3 weeks: 0, 3, 1"),
            "{svg}"
        );
        let bars = week_bars(&[2], &["W<47>".into()]).into_string();
        assert!(bars.contains("W&lt;47&gt;"), "{bars}");
    }
}

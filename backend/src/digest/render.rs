//! A digest as email: a plain-text part and an HTML part (inline styles and tables only,
//! which is what common mail clients render), both with links into the web UI and the
//! unsubscribe link. All user text in the HTML is escaped by maud.

use crate::db::items::ItemKind;
use std::fmt::Write;

use maud::{html, Markup, DOCTYPE};

use super::compose::{Content, ThemeLine};

/// Links the digest needs.
pub struct Links<'a> {
    pub base_url: &'a str,
    pub unsubscribe: &'a str,
}

pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

fn change(c: Option<f64>) -> String {
    match c {
        Some(d) if d.abs() < 0.05 => "unchanged".into(),
        Some(d) => format!("{d:+.1} since last week"),
        None => "new to the list".into(),
    }
}

fn channel(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Ticket => "Tickets",
        ItemKind::Rating => "Ratings",
        ItemKind::SurveyResponse => "Survey answers",
    }
}

pub fn render(c: &Content, recipient_name: &str, links: &Links) -> Rendered {
    let subject = format!(
        "triage weekly digest, {}: {}",
        c.week,
        c.top
            .first()
            .map_or("no themes yet".to_string(), |t| format!(
                "top theme “{}”",
                t.label
            ))
    );
    Rendered {
        text: text(c, recipient_name, links),
        html: html(c, recipient_name, links).into_string(),
        subject,
    }
}

fn text_themes(out: &mut String, title: &str, lines: &[ThemeLine], base: &str) {
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{title}\n{}", "-".repeat(title.chars().count()));
    for t in lines {
        let _ = writeln!(
            out,
            "#{} {} — score {:.1} ({}), {}\n   {base}/themes/{}",
            t.rank,
            t.label,
            t.score,
            change(t.change),
            t.status.label(),
            t.id
        );
        for q in &t.quotes {
            let _ = writeln!(out, "   > {q}");
        }
    }
}

fn text(c: &Content, name: &str, links: &Links) -> String {
    let mut out = format!(
        "Hello {name},\n\nthis is what customers told you in {}.\n",
        c.week
    );
    text_themes(&mut out, "Top of the backlog", &c.top, links.base_url);
    text_themes(&mut out, "New this week", &c.new, links.base_url);
    text_themes(&mut out, "Rising", &c.rising, links.base_url);
    if !c.measured.is_empty() {
        out.push_str("\nShipped and measured\n--------------------\n");
        for m in &c.measured {
            let flag = if m.reopened { " [REOPENED]" } else { "" };
            let _ = writeln!(
                out,
                "{}{flag}: {}\n   {}/themes/{}",
                m.label, m.sentence, links.base_url, m.id
            );
        }
    }
    if !c.status_changes.is_empty() {
        out.push_str("\nStatus changes\n--------------\n");
        for s in &c.status_changes {
            let _ = writeln!(
                out,
                "{}: {} → {} ({})",
                s.label,
                s.before.replace('_', " "),
                s.after.replace('_', " "),
                s.actor
            );
        }
    }
    out.push_str("\nVolume by channel (this week / last week)\n");
    for v in &c.volume {
        let _ = writeln!(
            out,
            "{}: {} / {}",
            channel(v.kind),
            v.this_week,
            v.last_week
        );
    }
    let _ = write!(
        out,
        "\nThe whole backlog: {base}/backlog\nDigest settings: {base}/settings\nUnsubscribe: {}\n",
        links.unsubscribe,
        base = links.base_url
    );
    out
}

const CELL: &str =
    "padding:6px 8px;border-bottom:1px solid #e3e6ec;vertical-align:top;word-break:break-word;";
const H2: &str = "font-size:17px;margin:24px 0 8px;color:#1d2330;";

fn html_themes(title: &str, lines: &[ThemeLine], base: &str) -> Markup {
    html! {
        @if !lines.is_empty() {
            h2 style=(H2) { (title) }
            table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border-collapse:collapse;" {
                @for t in lines {
                    tr {
                        td style={(CELL) "width:28px;color:#5b6474;"} { "#" (t.rank) }
                        td style=(CELL) {
                            a href={(base) "/themes/" (t.id)} style="color:#2456c9;font-weight:bold;text-decoration:none;" { (t.label) }
                            div style="font-size:13px;color:#5b6474;" {
                                "score " (format!("{:.1}", t.score)) " · " (change(t.change)) " · " (t.status.label())
                            }
                            @for q in &t.quotes {
                                div style="margin:4px 0 0;padding:4px 8px;border-left:3px solid #d9dde5;color:#333;font-size:14px;" { (q) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn html(c: &Content, name: &str, links: &Links) -> Markup {
    let base = links.base_url;
    html! {
        (DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { "triage digest " (c.week) } }
            body style="margin:0;padding:0;background:#f6f7f9;" {
                table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f6f7f9;" { tr { td align="center" style="padding:16px;" {
                    table role="presentation" width="600" cellpadding="0" cellspacing="0" style="max-width:600px;width:100%;background:#ffffff;border:1px solid #e3e6ec;font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.45;color:#1d2330;" {
                        tr { td style="background:#172033;color:#ffffff;padding:12px 16px;font-weight:bold;" { "triage · weekly digest · " (c.week) } }
                        tr { td style="padding:16px;" {
                            p { "Hello " (name) "," }
                            p { "this is what customers told you in " (c.week) "." }
                            (html_themes("Top of the backlog", &c.top, base))
                            (html_themes("New this week", &c.new, base))
                            (html_themes("Rising", &c.rising, base))
                            @if !c.measured.is_empty() {
                                h2 style=(H2) { "Shipped and measured" }
                                @for m in &c.measured {
                                    p style="margin:4px 0;" {
                                        a href={(base) "/themes/" (m.id)} style="color:#2456c9;font-weight:bold;" { (m.label) }
                                        @if m.reopened { " " span style="color:#c0392b;font-weight:bold;" { "reopened" } }
                                        br;
                                        span style="font-size:14px;" { (m.sentence) }
                                    }
                                }
                            }
                            @if !c.status_changes.is_empty() {
                                h2 style=(H2) { "Status changes" }
                                @for s in &c.status_changes {
                                    p style="margin:4px 0;" {
                                        a href={(base) "/themes/" (s.theme_id)} style="color:#2456c9;" { (s.label) } ": "
                                        (s.before.replace('_', " ")) " → " strong { (s.after.replace('_', " ")) }
                                        span style="color:#5b6474;" { " (" (s.actor) ")" }
                                    }
                                }
                            }
                            h2 style=(H2) { "Volume by channel" }
                            table role="presentation" cellpadding="0" cellspacing="0" style="border-collapse:collapse;" {
                                tr { th style={(CELL) "text-align:left;"} { "Channel" } th style={(CELL) "text-align:right;"} { "This week" } th style={(CELL) "text-align:right;"} { "Last week" } }
                                @for v in &c.volume {
                                    tr { td style=(CELL) { (channel(v.kind)) } td style={(CELL) "text-align:right;"} { (v.this_week) } td style={(CELL) "text-align:right;"} { (v.last_week) } }
                                }
                            }
                            p style="margin-top:24px;" {
                                a href={(base) "/backlog"} style="background:#2456c9;color:#ffffff;padding:8px 14px;border-radius:4px;text-decoration:none;" { "Open the backlog" }
                            }
                        } }
                        tr { td style="padding:12px 16px;font-size:12px;color:#5b6474;border-top:1px solid #e3e6ec;" {
                            a href={(base) "/settings"} style="color:#5b6474;" { "Digest settings" } " · "
                            a href=(links.unsubscribe) style="color:#5b6474;" { "Unsubscribe" }
                        } }
                    }
                } } }
            }
        }
    }
}

//! The page shell: head, navigation, styles. One stylesheet, inline, so a page is one
//! request and works offline; it is written mobile-first (one column under 700px) and
//! lets long or unbroken text wrap instead of widening the page.

use axum::http::StatusCode;
use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::session::Viewer;

const STYLE: &str = r#"
:root{--fg:#1d2330;--muted:#5b6474;--line:#d9dde5;--bg:#f6f7f9;--card:#fff;--accent:#2456c9;--bad:#b3261e;--ok:#1e7a3c;--warn:#9a5b00}
*{box-sizing:border-box}
body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:var(--fg);background:var(--bg);overflow-wrap:break-word}
h1,.text,blockquote,td{overflow-wrap:anywhere}
th,td.num,.scorebar,.nowrap{white-space:nowrap;overflow-wrap:normal}
a{color:var(--accent)}
header.top{background:#172033;color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;gap:.25rem 1rem;align-items:center}
header.top a{color:#fff;text-decoration:none;padding:.25rem 0}
header.top a[aria-current=page]{border-bottom:2px solid #fff}
header.top .brand{font-weight:700;margin-right:1rem}
header.top .who{margin-left:auto;display:flex;gap:.5rem;align-items:center;font-size:.9rem}
main{max-width:1100px;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0 1rem}
h2{font-size:1.15rem;margin:1.5rem 0 .5rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:1rem;margin:0 0 1rem}
.muted{color:var(--muted)}
.small{font-size:.85rem}
.row{display:flex;flex-wrap:wrap;gap:.75rem;align-items:flex-end}
.row>*{min-width:0}
.row select{max-width:18rem;text-overflow:ellipsis}
label{display:block;font-size:.85rem;color:var(--muted);margin-bottom:.15rem}
input,select,textarea,button{font:inherit;max-width:100%}
input[type=text],input[type=url],input[type=email],input[type=password],input[type=search],input[type=date],input[type=number],select,textarea{padding:.4rem .5rem;border:1px solid var(--line);border-radius:6px;background:#fff;width:100%}
textarea{min-height:6rem}
button,.button{padding:.45rem .9rem;border-radius:6px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary,.button.secondary{background:#fff;color:var(--accent)}
button.danger{background:var(--bad);border-color:var(--bad)}
form.inline{display:inline;margin-left:.5rem}
button.link{background:none;border:none;padding:0;color:var(--accent);text-decoration:underline;font-size:.85rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.85rem;color:var(--muted);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td[data-label=Kind],td[data-label=Date]{white-space:nowrap}
.badge{display:inline-block;font-size:.75rem;padding:.05rem .45rem;border-radius:999px;border:1px solid var(--line);background:#eef1f6;margin-right:.25rem;white-space:nowrap}
.badge.rising{background:#fdecea;border-color:#f3b7b2;color:var(--bad)}
.badge.new{background:#e8f3ec;border-color:#a9d5b8;color:var(--ok)}
.badge.pinned{background:#fff4e0;border-color:#f0c987;color:var(--warn)}
.status{font-size:.8rem;padding:.1rem .5rem;border-radius:4px;background:#eef1f6;white-space:nowrap}
.status.shipped{background:#e8f3ec;color:var(--ok)}.status.declined{background:#f1f1f1;color:var(--muted)}
.status.planned,.status.in_progress{background:#e6edfb;color:var(--accent)}
.scorebar{display:flex;height:10px;width:140px;max-width:100%;background:#eef1f6;border-radius:3px;overflow:hidden}
.c0{background:#2456c9}.c1{background:#5b8def}.c2{background:#d9822b}.c3{background:#b3261e}.c4{background:#1e7a3c}.c5{background:#7b4fb0}
.legend span{display:inline-flex;align-items:center;gap:.25rem;margin-right:.75rem;font-size:.8rem}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px}
blockquote{margin:.5rem 0;padding:.5rem .75rem;border-left:3px solid var(--line);background:#fafbfc}
mark,b.hl,.snippet b{background:#fff2a8;font-weight:600}
.flash{background:#e8f3ec;border:1px solid #a9d5b8;padding:.5rem .75rem;border-radius:6px;margin-bottom:1rem}
.error{background:#fdecea;border:1px solid #f3b7b2;padding:.5rem .75rem;border-radius:6px;margin-bottom:1rem}
.pager{display:flex;gap:1rem;margin-top:1rem}
.grid2{display:grid;grid-template-columns:1fr;gap:1rem}
@media(min-width:900px){.grid2{grid-template-columns:3fr 2fr}}
@media(max-width:700px){
 table.stack thead{display:none}
 table.stack tr{display:block;border:1px solid var(--line);border-radius:8px;margin-bottom:.75rem;background:#fff;padding:.25rem .5rem}
 table.stack td{display:flex;gap:.5rem;border:0;padding:.25rem 0}
 table.stack td::before{content:attr(data-label);min-width:6.5rem;color:var(--muted);font-size:.85rem}
 header.top .who{margin-left:0}
}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
"#;

/// Navigation entries: (path, label).
const NAV: [(&str, &str); 6] = [
    ("/backlog", "Backlog"),
    ("/search", "Search"),
    ("/tickets", "Tickets"),
    ("/unthemed", "Unthemed"),
    ("/tickets/new", "New ticket"),
    ("/settings", "Digest"),
];

/// A full page for a signed-in user; `active` is the nav entry to highlight.
pub fn page(title: &str, viewer: &Viewer, active: &str, body: Markup) -> Markup {
    shell(
        title,
        html! {
            header.top {
                a.brand href="/backlog" { "triage" }
                nav aria-label="Main" {
                    @for (path, label) in NAV {
                        a href=(path) aria-current=[(path == active).then_some("page")] style="margin-right:1rem" { (label) }
                    }
                }
                div.who {
                    span { (viewer.user.name) " · " (viewer.role.as_str()) }
                    form method="post" action="/logout" {
                        input type="hidden" name="csrf" value=(viewer.csrf);
                        button.secondary type="submit" { "Sign out" }
                    }
                }
            }
            main { (body) }
        },
    )
}

/// A page without navigation (sign-in, the public survey, errors).
pub fn bare(title: &str, body: Markup) -> Markup {
    shell(
        title,
        html! {
            header.top { span.brand { "triage" } }
            main style="max-width:640px" { (body) }
        },
    )
}

fn shell(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · triage" }
                style { (PreEscaped(STYLE)) }
            }
            body { (body) }
        }
    }
}

pub fn error_page(status: StatusCode, message: &str) -> Markup {
    bare(
        status.canonical_reason().unwrap_or("Error"),
        html! {
            h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("Error")) }
            p.error role="alert" { (message) }
            p { a href="javascript:history.back()" { "Go back" } " · " a href="/backlog" { "Backlog" } }
        },
    )
}

//! Impact on the theme page (rollouts, per-cohort before/after, customers' answers; the
//! rollout form for product managers), and the public "did it work for you?" pages the
//! close-the-loop email links to.
//!
//! The answer links carry a signature of the customer and theme
//! (`digest::notices::fixed_url`), so they work without signing in and cannot be forged for
//! another customer or theme. Opening one shows a page with a button (mail scanners open
//! every link); only the POST records, and a second answer replaces the first.

use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};

use super::layout::bare;
use super::session::{Form, PublicForm, Viewer};
use super::widgets::csrf;
use super::{done, Html, WebResult};
use crate::db::entity::fix_answer::FixOutcome;
use crate::digest::{notices, signing};
use crate::http::{ApiContext, Params, PathIds};
use crate::impact::estimate::Phases;
use crate::impact::measure::CohortImpact;
use crate::impact::rollouts::{self, NewRollout};
use crate::impact::{answers, Impact};
use crate::Error;

pub fn router() -> Router<ApiContext> {
    Router::new()
        .route("/themes/{id}/rollouts", post(add_rollout))
        .route(
            "/themes/{id}/rollouts/{rollout_id}/delete",
            post(remove_rollout),
        )
        .route("/fixed", get(fixed_page).post(fixed_answer))
}

/// The theme page's impact card (`can_record`: the viewer may add rollouts and the theme is
/// in progress or shipped).
pub fn card(viewer: &Viewer, impact: &Impact, can_record: bool) -> Markup {
    let id = impact.theme_id;
    html! {
        section.card aria-labelledby="impact-h" {
            h2 #impact-h { "Impact" @if impact.reopened { " " span.badge.rising { "reopened" } } }
            @if impact.rollouts.is_empty() {
                p.muted { "No rollout recorded. Once the change reaches customers, record when and for whom, and triage compares their feedback before and after with the customers not reached yet." }
            } @else {
                ul.small { @for r in &impact.rollouts {
                    li { (r.starts_on) ": " (r.who()) @if !r.note.is_empty() { " — " (r.note) }
                        @if viewer.can_edit() {
                            form.inline method="post" action={"/themes/" (id) "/rollouts/" (r.id) "/delete"} {
                                (csrf(&viewer.csrf))
                                button.link type="submit" aria-label={"Remove the rollout of " (r.starts_on)} { "remove" }
                            }
                        }
                    }
                } }
            }
            @for c in &impact.cohorts { (cohort(c, impact.weeks)) }
            @if impact.reopened {
                p role="status" { "Reports came back: in each of the last two weeks this theme's share of feedback was above its level before the rollout." }
            }
            @if let Some(s) = impact.answers.sentence() {
                p { "Customers: " (s) " (" (impact.answers.still_a_problem) " said it is still a problem)." }
            }
            @if can_record { (rollout_form(viewer, id)) }
        }
    }
}

/// A colour key for a chart's legend.
fn swatch(color: &str) -> Markup {
    html! {
        span style=(format!("display:inline-block;width:.8em;height:.8em;background:{color};vertical-align:-.1em;border-radius:2px")) {}
    }
}

fn cohort(c: &CohortImpact, weeks: u32) -> Markup {
    html! {
        h3 { (c.cohort) " — from " (c.starts_on) }
        p { (c.sentence) }
        @if c.rates.is_some() {
            (rate_chart(&c.treated, c.comparison.as_ref(), &c.cohort))
            // Swatches without text: the legend's words keep the page's contrast.
            p.small.muted { "Reports per 1,000 items, week by week: "
                (swatch("#5b8def")) " " (c.cohort)
                @if c.comparison.is_some() { " " (swatch("#b8bfcc")) " the rest" } }
        }
        @if let Some(s) = &c.satisfaction {
            p.small {
                "Satisfaction of the " (s.customers) " customers who had reported it: "
                (format!("{:.0} → {:.0}", s.treated_before, s.treated_after))
                (format!(" ({:+.1} points, 95 % CI {:+.1} to {:+.1})", s.treated.value, s.treated.low, s.treated.high))
                @if let (Some(e), Some(b), Some(a)) = (s.effect, s.comparison_before, s.comparison_after) {
                    (format!("; the rest {b:.0} → {a:.0}; difference {:+.1} points (95 % CI {:+.1} to {:+.1})", e.value, e.low, e.high))
                }
                "."
            }
        }
        @for m in &c.missing { p.small.muted { (m) } }
        p.small.muted { (weeks) " weeks before, " (c.days_after) " days after"
            @if let Some(w) = &c.compared_with { "; compared with " (w) " (customers not reached yet)" } "." }
    }
}

/// Reports per 1,000 items, week by week: the cohort (blue) and the rest (grey), the
/// rollout as a line.
fn rate_chart(treated: &Phases, comparison: Option<&Phases>, label: &str) -> Markup {
    let rates = |p: Option<&Phases>| -> Vec<Option<f64>> {
        let Some(p) = p else {
            return vec![None; treated.before.all.len() + treated.after.all.len()];
        };
        [&p.before, &p.after]
            .iter()
            .flat_map(|w| {
                w.theme
                    .iter()
                    .zip(&w.all)
                    .map(|(&k, &n)| (n > 0).then(|| 1_000.0 * k as f64 / n as f64))
            })
            .collect()
    };
    let (t, r) = (rates(Some(treated)), rates(comparison));
    let max = t.iter().chain(&r).flatten().fold(1.0_f64, |m, v| m.max(*v));
    let (bar, gap, h) = (12.0, 8.0, 100.0);
    let slot = 2.0 * bar + gap;
    let split = treated.before.all.len() as f64 * slot - gap / 2.0;
    let aria = format!(
        "Reports per 1,000 items per week in {label}: {}",
        t.iter()
            .map(|v| v.map_or("none".into(), |v| format!("{v:.1}")))
            .collect::<Vec<_>>()
            .join(", ")
    );
    html! {
        svg viewBox={"0 0 " (t.len() as f64 * slot) " " (h + 20.0)} width="100%" style="max-width:520px" role="img" aria-label=(aria) {
            @for (i, (a, b)) in t.iter().zip(&r).enumerate() {
                @let x = i as f64 * slot;
                @if let Some(v) = a { rect x=(x) y=(h - v / max * h) width=(bar) height=(v / max * h) fill="#5b8def" {} }
                @if let Some(v) = b { rect x=(x + bar) y=(h - v / max * h) width=(bar) height=(v / max * h) fill="#b8bfcc" {} }
            }
            line x1=(split) x2=(split) y1="0" y2=(h) stroke="#c0392b" stroke-dasharray="4 3" {}
            text x=(split + 3.0) y=(h + 14.0) font-size="10" fill="#c0392b" { "rollout" }
        }
    }
}

fn rollout_form(viewer: &Viewer, id: i64) -> Markup {
    html! {
        form method="post" action={"/themes/" (id) "/rollouts"} style="margin-top:1rem" {
            (csrf(&viewer.csrf))
            h3 { "Record a rollout" }
            div.row {
                div { label for="ro-day" { "Reached customers on" } input #ro-day type="date" name="starts_on" required; }
                div { label for="ro-seg" { "Segments (comma-separated; empty: everyone)" } input #ro-seg type="text" name="segments" maxlength="2000"; }
            }
            p { label for="ro-note" { "Note" } input #ro-note type="text" name="note" maxlength="2000"; }
            button type="submit" { "Record rollout" }
        }
    }
}

async fn add_rollout(
    State(ctx): State<ApiContext>,
    ids: PathIds,
    Form(viewer, f): Form,
) -> WebResult<Response> {
    viewer.require_editor()?;
    let segments = f.text("segments").map(|s| {
        s.split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
    });
    let input = NewRollout {
        starts_on: f.required("starts_on")?,
        segments: segments.filter(|s| !s.is_empty()),
        note: f.text("note"),
    };
    rollouts::add(&ctx.db, ids.first(), input, &viewer.actor()).await?;
    Ok(done(
        &format!("/themes/{}", ids.first()),
        "Rollout recorded.",
    ))
}

async fn remove_rollout(
    State(ctx): State<ApiContext>,
    ids: PathIds,
    Form(viewer, _): Form,
) -> WebResult<Response> {
    viewer.require_editor()?;
    let rollout = ids.0.get(1).copied().unwrap_or_default();
    rollouts::remove(&ctx.db, ids.first(), rollout, &viewer.actor()).await?;
    Ok(done(
        &format!("/themes/{}", ids.first()),
        "Rollout removed.",
    ))
}

/// A verified answer link: who, about which theme, and what they clicked.
struct FixedLink {
    customer: i64,
    theme: i64,
    answer: FixOutcome,
}

/// `?customer=ID&theme=ID&answer=fixed|still_a_problem&sig=…`.
async fn fixed_link(ctx: &ApiContext, mut params: Params) -> WebResult<FixedLink> {
    let customer = params.int("customer", 1, i64::MAX)?;
    let theme = params.int("theme", 1, i64::MAX)?;
    let answer = params.text("answer");
    let sig = params.text("sig").unwrap_or_default();
    params.finish()?;
    let invalid = || {
        Error::invalid(
            "invalid_value",
            "sig",
            "this link is not valid (was it cut short?)",
        )
    };
    let (Some(customer), Some(theme)) = (customer, theme) else {
        return Err(invalid().into());
    };
    let answer = FixOutcome::parse_field("answer", answer.as_deref().unwrap_or(""))?;
    let key = signing::key(&ctx.db).await?;
    if !signing::verify(&key, &notices::fixed_message(customer, theme), &sig) {
        return Err(invalid().into());
    }
    Ok(FixedLink {
        customer,
        theme,
        answer,
    })
}

/// GET, the link in the email: what they are about to say, and a button.
async fn fixed_page(
    State(ctx): State<ApiContext>,
    uri: axum::http::Uri,
    params: Params,
) -> WebResult<Html> {
    let link = fixed_link(&ctx, params).await?;
    let theme = crate::themes::edits::live(&ctx.db, link.theme).await?;
    let before = answers::current(&ctx.db, link.customer, link.theme).await?;
    let action = uri.path_and_query().map_or("/fixed", |p| p.as_str());
    let still = link.answer == FixOutcome::StillAProblem;
    Ok(Html(bare(
        "Did it work?",
        html! {
            h1 { "“" (theme.display_label()) "”" }
            @if let Some(b) = before { p.muted { "You answered “" (said(b.answer)) "” on " (b.answered_at.format("%Y-%m-%d")) "; a new answer replaces it." } }
            form.card method="post" action=(action) {
                p { "Tell us: " strong { (said(link.answer)) } }
                @if still {
                    p { label for="comment" { "What still goes wrong? (optional)" }
                        textarea #comment name="comment" maxlength=(answers::MAX_COMMENT) {} }
                }
                button type="submit" { "Send" }
            }
        },
    )))
}

fn said(a: FixOutcome) -> &'static str {
    match a {
        FixOutcome::Fixed => "Fixed for me",
        FixOutcome::StillAProblem => "Still a problem",
    }
}

/// POST: records the answer (replacing an earlier one).
async fn fixed_answer(
    State(ctx): State<ApiContext>,
    params: Params,
    PublicForm(f): PublicForm,
) -> WebResult<Html> {
    let link = fixed_link(&ctx, params).await?;
    let comment = f.raw("comment");
    answers::record(
        &ctx.db,
        link.customer,
        link.theme,
        link.answer,
        comment,
        ctx.config.redact,
    )
    .await?;
    ctx.wake_workers();
    Ok(Html(bare(
        "Thank you",
        html! {
            h1 { "Thank you" }
            p role="status" { "We recorded: " (said(link.answer)) "." }
        },
    )))
}

//! The backlog page: ranked themes with their score breakdown, trend and status, the
//! same filters as `GET /api/v1/backlog`, and a CSV export of what is shown.

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};

use super::layout::page;
use super::session::Viewer;
use super::widgets::{figure, flags, legend, query, scorebar, sparkline, status};
use super::{Html, WebResult};
use crate::backlog::workflow::STATUSES;
use crate::backlog::{self, Filter, COMPONENTS};
use crate::db::customers;
use crate::http::{backlog as api, ApiContext, Params};

pub fn router() -> Router<ApiContext> {
    Router::new()
        .route("/backlog", get(show))
        .route("/backlog/export.csv", get(export))
}

const PERIODS: [(&str, &str); 5] = [
    ("7d", "last 7 days"),
    ("28d", "last 4 weeks"),
    ("90d", "last 90 days"),
    ("365d", "last year"),
    ("all", "all time"),
];

/// The filter from the query string; the page shows open themes unless told otherwise.
fn page_filter(params: &mut Params) -> WebResult<(Filter, [(&'static str, String); 5])> {
    let raw = [
        (
            "period",
            params.peek("period").unwrap_or_else(|| "28d".into()),
        ),
        (
            "status",
            params.peek("status").unwrap_or_else(|| "open".into()),
        ),
        ("segment", params.peek("segment").unwrap_or_default()),
        (
            "sort",
            params.peek("sort").unwrap_or_else(|| "score".into()),
        ),
        ("area", params.peek("area").unwrap_or_default()),
    ];
    params.text("status");
    let mut f = api::filter(params)?;
    f.statuses = backlog::workflow::parse_statuses(&raw[1].1)?;
    Ok((f, raw))
}

async fn show(
    State(ctx): State<ApiContext>,
    viewer: Viewer,
    mut params: Params,
) -> WebResult<Html> {
    let (f, raw) = page_filter(&mut params)?;
    let by_area = params.text("view").as_deref() == Some("areas");
    params.finish()?;
    // One ranking either way: grouped by area, or the plain list.
    let weights = &ctx.config.backlog_weights;
    let (groups, entries) = if by_area {
        (backlog::by_area(&ctx.db, weights, &f).await?, Vec::new())
    } else {
        (Vec::new(), backlog::rank(&ctx.db, weights, &f).await?)
    };
    let segments = customers::segments(&ctx.db).await?;
    let areas: Vec<(i64, String)> = crate::themes::areas::live(&ctx.db).await?;
    let period_text = match f.period_days {
        Some(d) => format!("the last {d} days"),
        None => "all time".into(),
    };
    let body = html! {
        h1 { "Backlog" }
        p.muted {
            "Themes ranked by a 0–100 priority score over " (period_text) ", as of "
            (f.as_of.format("%Y-%m-%d %H:%M UTC")) ". Pinned themes stay on top. Weights: "
            @for (i, c) in COMPONENTS.iter().enumerate() {
                (c.replace('_', " ")) " " (weights.0[i]) @if i + 1 < COMPONENTS.len() { ", " }
            }
            " (" code { "TRIAGE_BACKLOG_WEIGHTS" } ")."
        }
        form.card.row method="get" action="/backlog" aria-label="Filter the backlog" {
            div { label for="period" { "Period" }
                select #period name="period" {
                    @for (v, l) in PERIODS { option value=(v) selected[raw[0].1 == v] { (l) } }
                } }
            div { label for="status" { "Status" }
                select #status name="status" {
                    option value="open" selected[raw[1].1 == "open"] { "open (not shipped or declined)" }
                    option value="all" selected[raw[1].1 == "all"] { "all" }
                    @for s in STATUSES { option value=(s) selected[raw[1].1 == s] { (s.replace('_', " ")) } }
                } }
            div { label for="segment" { "Segment" }
                select #segment name="segment" {
                    option value="" { "all customers" }
                    @for s in &segments { option value=(s) selected[raw[2].1 == *s] { (s) } }
                } }
            div { label for="area" { "Area" }
                select #area name="area" {
                    option value="" { "all areas" }
                    @for (id, name) in &areas { option value=(id) selected[raw[4].1 == id.to_string()] { (name) } }
                } }
            div { label for="view" { "View" }
                select #view name="view" {
                    option value="themes" { "themes" }
                    option value="areas" selected[by_area] { "by area" }
                } }
            div { label for="sort" { "Sort by" }
                select #sort name="sort" {
                    option value="score" { "score" }
                    @for c in COMPONENTS { option value=(c) selected[raw[3].1 == c] { (c.replace('_', " ")) } }
                } }
            button type="submit" { "Apply" }
            a.button.secondary href={"/backlog/export.csv" (query(&raw))} download { "Export CSV" }
        }
        (legend())
        @if by_area && !groups.is_empty() {
            @for g in &groups {
                section.card aria-label={"Area " (g.label())} {
                    h2 {
                        @match &g.area {
                            Some(a) => { a href={"/backlog" (query(&[("area", a.id.to_string()), ("period", raw[0].1.clone()), ("status", raw[1].1.clone()), ("segment", raw[2].1.clone())]))} { (g.label()) } }
                            None => { (g.label()) }
                        }
                        " " span.muted.small { (format!("{:.1}", g.score)) " points · " (g.themes.len()) " themes · " (g.volume) " items" }
                    }
                    table.stack {
                        thead { tr { th.num { "#" } th { "Theme" } th { "Score" } th { "Trend, 12 weeks" } th { "Status" } th { "Owner" } } }
                        tbody { @for (i, e) in g.themes.iter().enumerate() { (row(i + 1, e)) } }
                    }
                }
            }
        } @else if entries.is_empty() {
            p.card { "No themes match. Themes appear once feedback has been embedded and clustered (" code { "triage themes rebuild" } ")." }
        } @else {
            table.stack.card {
                thead { tr { th.num { "#" } th { "Theme" } th { "Score" } th { "Trend, 12 weeks" } th { "Status" } th { "Owner" } } }
                tbody {
                    @for (i, e) in entries.iter().enumerate() { (row(i + 1, e)) }
                }
            }
        }
    };
    Ok(Html(page("Backlog", &viewer, "/backlog", body)))
}

fn row(rank: usize, e: &backlog::Entry) -> Markup {
    let s = &e.score;
    html! {
        tr {
            td.num data-label="Rank" { (rank) }
            td data-label="Theme" {
                a href={"/themes/" (e.theme.id)} { (e.label()) }
                " " (flags(s.rising, s.is_new, e.workflow.pinned))
                div.small.muted { (e.keywords().join(" · ")) }
            }
            td data-label="Score" {
                details {
                    summary { strong { (format!("{:.1}", s.score)) } " " (scorebar(&s.contributions)) }
                    table.small {
                        @for (i, c) in COMPONENTS.iter().enumerate() {
                            tr { td { (c.replace('_', " ")) } td.num { (figure(i, s.components[i])) } td.num { "+" (s.contributions[i]) } }
                        }
                    }
                }
            }
            td data-label="Trend" { (sparkline(&s.weekly)) }
            td data-label="Status" { (status(&e.workflow.status)) }
            td data-label="Owner" { (e.workflow.owner.as_deref().unwrap_or("—")) }
        }
    }
}

async fn export(
    State(ctx): State<ApiContext>,
    _viewer: Viewer,
    mut params: Params,
) -> WebResult<Response> {
    let (f, _) = page_filter(&mut params)?;
    params.finish()?;
    let entries = backlog::rank(&ctx.db, &ctx.config.backlog_weights, &f).await?;
    Ok(api::csv_response(entries)?)
}

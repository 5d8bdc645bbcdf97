//! The backlog page: ranked themes with their score breakdown, trend and status, the
//! same filters as `GET /api/v1/backlog`, and a CSV export of what is shown.
//!
//! Loaded in one step ([`load`]) and rendered by a pure function ([`render`]).

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};

use super::layout::page;
use super::session::Viewer;
use super::widgets::{
    figure, flags, flash, legend, lookalike_pair, query, scorebar, sparkline, status,
};
use super::{Html, WebResult};
use crate::backlog::workflow::Status;
use crate::backlog::{self, Filter, COMPONENTS};
use crate::db::customers;
use crate::http::queries::backlog_filter;
use crate::http::{csv_download, ApiContext, Params};
use crate::themes::lookalike::{self, Lookalike};

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
    let mut f = backlog_filter(params)?;
    f.statuses = backlog::workflow::parse_statuses(&raw[1].1)?;
    Ok((f, raw))
}

/// What the backlog page shows, read in one step ([`load`]).
struct BacklogPage {
    filter: Filter,
    /// The filter fields as given (period, status, segment, sort, area), for the form and
    /// the links that keep them.
    form: [(&'static str, String); 5],
    /// Grouped by area (`view=areas`) or the plain list: one ranking either way.
    by_area: bool,
    groups: Vec<backlog::AreaEntry>,
    entries: Vec<backlog::Entry>,
    /// What the rollouts of themes that have them did.
    impacts: std::collections::HashMap<i64, crate::impact::Headline>,
    weights: backlog::Weights,
    segments: Vec<String>,
    areas: Vec<(i64, String)>,
    /// Product managers and admins: the teaching link and look-alike themes to merge.
    can_edit: bool,
    lookalikes: Vec<Lookalike>,
}

async fn show(
    State(ctx): State<ApiContext>,
    viewer: Viewer,
    mut params: Params,
) -> WebResult<Html> {
    let (filter, form) = page_filter(&mut params)?;
    let by_area = params.text("view").as_deref() == Some("areas");
    // What a form that returns here did (a dismissed look-alike pair).
    let message = params.text("done");
    params.finish()?;
    let p = load(&ctx, filter, form, by_area, viewer.can_edit()).await?;
    let body = html! { (flash(message.as_deref())) (render(&p, &viewer.csrf)) };
    Ok(Html(page("Backlog", &viewer, "/backlog", body)))
}

async fn load(
    ctx: &ApiContext,
    filter: Filter,
    form: [(&'static str, String); 5],
    by_area: bool,
    can_edit: bool,
) -> crate::Result<BacklogPage> {
    let weights = ctx.config.backlog_weights.clone();
    let ranked = async {
        Ok(if by_area {
            (
                backlog::by_area(&ctx.db, &weights, &filter).await?,
                Vec::new(),
            )
        } else {
            (Vec::new(), backlog::rank(&ctx.db, &weights, &filter).await?)
        })
    };
    let lookalikes = async {
        if can_edit {
            lookalike::suggestions(&ctx.db, LOOKALIKES_SHOWN).await
        } else {
            Ok(Vec::new())
        }
    };
    // Independent reads, at once on the pool.
    let ((groups, mut entries), segments, areas, lookalikes) = tokio::try_join!(
        ranked,
        customers::segments(&ctx.db),
        crate::themes::areas::live(&ctx.db),
        lookalikes,
    )?;
    let (weeks, as_of) = (ctx.config.impact_weeks, filter.as_of);
    let impacts = if by_area {
        // The themes are in the groups, and keep their order there.
        let shipped = crate::impact::shipped(groups.iter().flat_map(|g| &g.themes));
        crate::impact::headlines(&ctx.db, &shipped, weeks, as_of).await?
    } else {
        crate::impact::on_backlog(&ctx.db, &mut entries, &filter.sort, weeks, as_of).await?
    };
    Ok(BacklogPage {
        impacts,
        segments,
        areas,
        filter,
        form,
        by_area,
        groups,
        entries,
        weights,
        can_edit,
        lookalikes,
    })
}

/// Suggested merges on the backlog: a few, so that the ranking stays the page's subject.
const LOOKALIKES_SHOWN: usize = 3;

/// "These themes look like one problem": each pair with a quote from each side, Merge (the
/// smaller into the larger, which keeps its name) and "Different problems".
fn lookalikes(p: &BacklogPage, csrf_token: &str) -> Markup {
    html! {
        @if !p.lookalikes.is_empty() {
            section.card aria-labelledby="lookalikes" {
                h2 #lookalikes { "These themes look like one problem" }
                p.muted { "Merging says they are one problem; \"Different problems\" says they are not. Either is an answer that teaches triage how fine a theme should be." }
                @for l in &p.lookalikes {
                    (lookalike_pair(l, csrf_token, "/backlog"))
                }
            }
        }
    }
}

fn render(p: &BacklogPage, csrf_token: &str) -> Markup {
    let period_text = match p.filter.period_days {
        Some(d) => format!("the last {d} days"),
        None => "all time".into(),
    };
    html! {
        h1 { "Backlog" }
        @if p.can_edit { p {
            a href="/teach" { "Teach triage how fine a theme should be" }
            @if !p.lookalikes.is_empty() {
                " · " a href="#lookalikes" { (p.lookalikes.len()) " pair(s) of themes look like one problem" }
            }
        } }
        p.muted {
            "Themes ranked by a 0–100 priority score over " (period_text) ", as of "
            (p.filter.as_of.format("%Y-%m-%d %H:%M UTC")) ". Pinned themes stay on top. Weights: "
            @for (i, c) in COMPONENTS.iter().enumerate() {
                (c.replace('_', " ")) " " (p.weights.0[i]) @if i + 1 < COMPONENTS.len() { ", " }
            }
            " (" code { "TRIAGE_BACKLOG_WEIGHTS" } ")."
        }
        form.card.row method="get" action="/backlog" aria-label="Filter the backlog" {
            div { label for="period" { "Period" }
                select #period name="period" {
                    @for (v, l) in PERIODS { option value=(v) selected[p.form[0].1 == v] { (l) } }
                } }
            div { label for="status" { "Status" }
                select #status name="status" {
                    option value="open" selected[p.form[1].1 == "open"] { "open (not shipped or declined)" }
                    option value="all" selected[p.form[1].1 == "all"] { "all" }
                    @for s in Status::ALL { option value=(s.as_str()) selected[p.form[1].1 == s.as_str()] { (s.label()) } }
                } }
            div { label for="segment" { "Segment" }
                select #segment name="segment" {
                    option value="" { "all customers" }
                    @for s in &p.segments { option value=(s) selected[p.form[2].1 == *s] { (s) } }
                } }
            div { label for="area" { "Area" }
                select #area name="area" {
                    option value="" { "all areas" }
                    @for (id, name) in &p.areas { option value=(id) selected[p.form[4].1 == id.to_string()] { (name) } }
                } }
            div { label for="view" { "View" }
                select #view name="view" {
                    option value="themes" { "themes" }
                    option value="areas" selected[p.by_area] { "by area" }
                } }
            div { label for="sort" { "Sort by" }
                select #sort name="sort" {
                    option value="score" { "score" }
                    option value="impact" selected[p.form[3].1 == "impact"] { "impact (shipped)" }
                    @for c in COMPONENTS { option value=(c) selected[p.form[3].1 == c] { (c.replace('_', " ")) } }
                } }
            button type="submit" { "Apply" }
            a.button.secondary href={"/backlog/export.csv" (query(&p.form))} download { "Export CSV" }
        }
        (legend())
        @if p.by_area && !p.groups.is_empty() {
            @for g in &p.groups {
                section.card aria-label={"Area " (g.label())} {
                    h2 {
                        @match &g.area {
                            Some(a) => { a href={"/backlog" (query(&[("area", a.id.to_string()), ("period", p.form[0].1.clone()), ("status", p.form[1].1.clone()), ("segment", p.form[2].1.clone())]))} { (g.label()) } }
                            None => { (g.label()) }
                        }
                        " " span.muted.small { (format!("{:.1}", g.score)) " points · " (g.themes.len()) " themes · " (g.volume) " items" }
                    }
                    table.stack {
                        thead { tr { th.num { "#" } th { "Theme" } th { "Score" } th { "Trend, 12 weeks" } th { "Status" } th { "Impact" } th { "Owner" } } }
                        tbody { @for (i, e) in g.themes.iter().enumerate() { (row(i + 1, e, p.impacts.get(&e.theme.id))) } }
                    }
                }
            }
        } @else if p.entries.is_empty() {
            p.card { "No themes match. Themes appear once feedback has been embedded and clustered (" code { "triage themes rebuild" } ")." }
        } @else {
            table.stack.card {
                thead { tr { th.num { "#" } th { "Theme" } th { "Score" } th { "Trend, 12 weeks" } th { "Status" } th { "Impact" } th { "Owner" } } }
                tbody {
                    @for (i, e) in p.entries.iter().enumerate() { (row(i + 1, e, p.impacts.get(&e.theme.id))) }
                }
            }
        }
        (lookalikes(p, csrf_token))
    }
}

fn row(rank: usize, e: &backlog::Entry, impact: Option<&crate::impact::Headline>) -> Markup {
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

            td data-label="Status" { (status(e.workflow.status)) }
            td data-label="Impact" { (impact_cell(impact)) }
            td data-label="Owner" { (e.workflow.owner.as_deref().unwrap_or("—")) }
        }
    }
}

/// "−71 %" with its sentence on hover, "reopened" when reports came back; "—" without a
/// rollout or a measurement yet.
fn impact_cell(h: Option<&crate::impact::Headline>) -> Markup {
    html! {
        @match h {
            Some(h) => {
                @match h.effect {
                    Some(e) => span title=(h.sentence) { (format!("{:+.0} %", e.value * 100.0))
                        @if !e.excludes_zero() { span.muted.small { " (unclear)" } } },
                    None => span.muted title=(h.sentence) { "not yet" },
                }
                @if h.reopened { " " span.badge.rising { "reopened" } }
            }
            None => span.muted { "—" },
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
    Ok(csv_download(
        "backlog.csv",
        backlog::export::to_csv(&entries)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::web::fixtures::entry;

    fn render_page(p: &BacklogPage) -> Markup {
        render(p, "csrf")
    }

    fn backlog_page(entries: Vec<backlog::Entry>) -> BacklogPage {
        BacklogPage {
            filter: Filter::new(chrono::Utc::now()),
            form: [
                ("period", "28d".into()),
                ("status", "open".into()),
                ("segment", "enterprise".into()),
                ("sort", "score".into()),
                ("area", String::new()),
            ],
            by_area: false,
            groups: Vec::new(),
            impacts: Default::default(),
            entries,
            weights: backlog::Weights::default(),
            segments: vec!["enterprise".into(), "smb".into()],
            areas: Vec::new(),
            can_edit: true,
            lookalikes: Vec::new(),
        }
    }

    #[test]
    fn ranks_themes_in_order_and_keeps_the_filter_in_the_form_and_the_export() {
        let html = render_page(&backlog_page(vec![
            entry(3, "Card delivery", 80.0),
            entry(9, "Refunds <slow>", 40.0),
        ]))
        .into_string();
        let first = html.find(r#"href="/themes/3""#).expect("theme 3 listed");
        let second = html.find(r#"href="/themes/9""#).expect("theme 9 listed");
        assert!(first < second, "ranked order");
        assert!(html.contains("Refunds &lt;slow&gt;"));
        assert!(html.contains("over the last 28 days"));
        assert!(
            html.contains(r#"<option value="enterprise" selected>enterprise</option>"#),
            "{html}"
        );
        assert!(
            html.contains("/backlog/export.csv?period=28d&amp;status=open&amp;segment=enterprise"),
            "{html}"
        );
    }

    #[test]
    fn an_empty_backlog_says_how_themes_appear() {
        let html = render_page(&backlog_page(Vec::new())).into_string();
        assert!(html.contains("No themes match."));
        assert!(html.contains("triage themes rebuild"));
    }

    #[test]
    fn look_alike_themes_merge_the_smaller_into_the_larger_for_editors_only() {
        use crate::themes::lookalike::Side;
        use crate::themes::teach::Quote;
        let side = |theme_id, label: &str, size, text: &str| Side {
            theme_id,
            label: label.into(),
            size,
            quote: Quote {
                item_id: theme_id * 10,
                text: text.into(),
            },
        };
        let mut p = backlog_page(Vec::new());
        p.lookalikes = vec![Lookalike {
            a: side(4, "Card not arrived", 12, "still no card"),
            b: side(9, "Card delivery", 40, "when does my card come"),
            similarity: 0.91,
            quote_similarity: 0.8,
        }];
        let html = render_page(&p).into_string();
        assert!(html.contains("These themes look like one problem"));
        assert!(html.contains(r##"href="#lookalikes""##));
        assert!(html.contains(r#"action="/themes/4/merge""#), "{html}");
        assert!(html.contains(r#"name="into" value="9""#));
        assert!(html.contains("Merge into \u{201c}Card delivery\u{201d}"));
        // The card is the merge's confirmation: it says what will happen.
        assert!(html.contains(
            "Merging moves 12 items into \u{201c}Card delivery\u{201d}, which keeps its name"
        ));
        assert!(html.contains(r#"name="confirmed" value="true""#));
        assert!(html.contains(r#"action="/teach/dismiss""#));
        assert!(html.contains("still no card") && html.contains("0.91"));
        p.can_edit = false;
        p.lookalikes.clear();
        let support = render_page(&p).into_string();
        assert!(!support.contains("/teach"));
    }
}

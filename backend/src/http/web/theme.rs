//! The theme page: what the theme is about (label, keywords, quotes), why it ranks where
//! it does (score breakdown, rating impact, weekly volume, customers), its items, the
//! feedback outside it that is closest in meaning, and —
//! for product managers — the workflow form and the rename / merge / split / move tools.
//!
//! Loaded in one step ([`load`]) and rendered by a pure function ([`render`]).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::Duration;
use maud::{html, Markup};
use sea_orm::EntityTrait;

use super::layout::page;
use super::session::{Form, Viewer};
use super::widgets::{
    csrf, figure, flags, flash, lookalike_pair, pager, scorebar, similar_list, status, week_bars,
};
use super::{done, see_other, Html, WebResult};
use crate::backlog::score::WEEKS;
use crate::backlog::workflow::{self, Effort, EntryChange, Status};
use crate::backlog::{self, Entry, COMPONENTS};
use crate::db::entity::theme;
use crate::db::tokens::Role;
use crate::db::{actors, customers};
use crate::digest::notices;
use crate::http::{ApiContext, Listing, Page, Params, PathIds};
use crate::themes::edits;
use crate::themes::members::{members, MemberView};
use crate::themes::undo::{self, EditView};

pub fn router() -> Router<ApiContext> {
    Router::new()
        .route("/themes/{id}", get(show))
        .route("/themes/{id}/backlog", post(save_workflow))
        .route("/themes/{id}/rename", post(rename))
        .route("/themes/{id}/merge", post(merge))
        .route("/themes/{id}/undo", post(undo))
        .route("/themes/{id}/items", post(items_action))
}

/// Quotes shown under "What customers say".
const QUOTES: u64 = 3;

/// What the theme page shows, read in one step ([`load`]).
struct ThemePage {
    entry: Entry,
    /// A page of the theme's items, best fitting first.
    items: Listing<MemberView>,
    quotes: Vec<MemberView>,
    contributors: Vec<customers::Contributor>,
    similar: Vec<triage_index::SearchHit>,
    /// What its rollouts did.
    impact: crate::impact::Impact,
    /// Every other live theme, by label, for the merge and move menus.
    others: Vec<(i64, String)>,
    /// Themes that look like the same problem as this one (editors only).
    lookalikes: Vec<crate::themes::lookalike::Lookalike>,
    changes: Vec<workflow::NamedChange>,
    edits: Vec<EditView>,
    /// Who made the edits: stored actor → the name shown.
    actors: std::collections::HashMap<String, String>,
    /// `W48`-style labels of the weeks in the volume chart.
    week_labels: Vec<String>,
}

impl ThemePage {
    fn actor_name<'a>(&'a self, stored: &str) -> &'a str {
        self.actors
            .get(stored)
            .map_or(crate::db::actors::FORMER_USER, String::as_str)
    }
}

/// A theme id either shows its page or, once merged, points at the theme it went into.
enum Loaded {
    Page(Box<ThemePage>),
    MergedInto(i64),
}

async fn show(
    State(ctx): State<ApiContext>,
    viewer: Viewer,
    ids: PathIds,
    mut params: Params,
) -> WebResult<Response> {
    let message = params.text("done");
    let page_at = params.page(50, 200)?;
    params.finish()?;
    let p = match load(&ctx, ids.first(), page_at, viewer.role).await? {
        Loaded::MergedInto(into) => return Ok(see_other(&format!("/themes/{into}"))),
        Loaded::Page(p) => p,
    };
    let body = render(&p, &viewer, message.as_deref());
    Ok(Html(page(p.entry.label(), &viewer, "/backlog", body)).into_response())
}

/// Reads the page as `role` may see it: support gets customers without contact details.
async fn load(ctx: &ApiContext, id: i64, page_at: Page, role: Role) -> crate::Result<Loaded> {
    let t = theme::Entity::find_by_id(id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| crate::Error::not_found("theme", id))?;
    if let Some(into) = t.merged_into {
        return Ok(Loaded::MergedInto(into));
    }
    // The quotes are the best-fitting members: the listed page's first ones, unless it
    // is a later page.
    let quotes_page = (page_at.offset > 0 || page_at.limit < QUOTES).then_some(Page {
        limit: QUOTES,
        offset: 0,
    });
    let quotes = async {
        match quotes_page {
            Some(p) => members(&ctx.db, Some(id), p).await.map(|l| Some(l.items)),
            None => Ok(None),
        }
    };
    let engines = ctx.search_engines();
    let lookalikes = async {
        match role.edits_themes() {
            true => crate::themes::lookalike::suggestions(&ctx.db, LOOKALIKES_READ).await,
            false => Ok(Vec::new()),
        }
    };
    // Independent reads, at once on the pool.
    let (
        entry,
        mut others,
        changes,
        theme_edits,
        items,
        quotes,
        contributors,
        similar,
        impact,
        mut lookalikes,
    ) = tokio::try_join!(
        backlog::entry(&ctx.db, &ctx.config.backlog_weights, t, chrono::Utc::now()),
        edits::live_labels(&ctx.db),
        workflow::named_history(&ctx.db, id, Some(HISTORY)),
        edits::history(&ctx.db, id, Some(HISTORY)),
        members(&ctx.db, Some(id), page_at),
        quotes,
        customers::contributors(&ctx.db, id, 10),
        engines.similar_to_theme(&ctx.db, id, 5),
        crate::impact::of(&ctx.db, id, ctx.config.impact_weeks, chrono::Utc::now()),
        lookalikes,
    )?;
    lookalikes.retain(|l| l.a.theme_id == id || l.b.theme_id == id);
    others.retain(|(t, _)| *t != id);
    let now = chrono::Utc::now();
    Ok(Loaded::Page(Box::new(ThemePage {
        quotes: quotes
            .unwrap_or_else(|| items.items.iter().take(QUOTES as usize).cloned().collect()),
        items,
        contributors: contributors
            .into_iter()
            .map(|c| {
                if role.sees_customer_contact() {
                    c
                } else {
                    c.without_contact()
                }
            })
            .collect(),
        similar,
        impact,
        others,
        lookalikes,
        actors: actors::names(&ctx.db, theme_edits.iter().map(|e| e.actor.as_str())).await?,
        changes,
        edits: theme_edits,
        week_labels: (0..WEEKS)
            .map(|i| {
                (now - Duration::weeks((WEEKS - i) as i64))
                    .format("W%V")
                    .to_string()
            })
            .collect(),
        entry,
    })))
}

/// Suggested merges read for a theme page, of which those with this theme are shown.
const LOOKALIKES_READ: usize = 50;

/// Changes of each kind listed under "History".
const HISTORY: u64 = 20;

fn render(p: &ThemePage, viewer: &Viewer, message: Option<&str>) -> Markup {
    let id = p.entry.theme.id;
    let s = &p.entry.score;
    let label = p.entry.label();
    let recordable = viewer.can_edit()
        && matches!(
            p.entry.workflow.status,
            Status::InProgress | Status::Shipped
        );
    html! {
        (flash(message))
        p.small { a href="/backlog" { "← Backlog" } }
        h1 { (label) " " (flags(s.rising, s.is_new, p.entry.workflow.pinned)) }
        p.muted { "Keywords: " (p.entry.keywords().join(", ")) " · " (p.entry.theme.size) " items · " (status(p.entry.workflow.status))
            @if let Some(o) = &p.entry.workflow.owner { " · owner " (o) }
            @if let Some(e) = p.entry.workflow.effort { " · effort " (e.as_str().to_uppercase()) } }
        div.grid2 {
            div {
                section.card aria-labelledby="quotes-h" {
                    h2 #quotes-h { "What customers say" }
                    @for q in &p.quotes { blockquote { (q.text) } }
                }
                section.card aria-labelledby="score-h" {
                    h2 #score-h { "Score " (format!("{:.1}", s.score)) " / 100" }
                    (scorebar(&s.contributions))
                    table.small {
                        thead { tr { th { "Component" } th.num { "Figure" } th.num { "Points" } } }
                        tbody { @for (i, c) in COMPONENTS.iter().enumerate() {
                            tr { td { (c.replace('_', " ")) } td.num { (figure(i, s.components[i])) } td.num { (s.contributions[i]) } }
                        } }
                    }
                    p.small.muted { (impact_sentence(s.components[3])) " Figures cover the last 28 days; velocity compares the last 7 days with the 4 weeks before." }
                }
                section.card aria-labelledby="weeks-h" {
                    h2 #weeks-h { "Items per week" }
                    (week_bars(&s.weekly, &p.week_labels))
                    @if s.rising { p.small { "Rising: this week is " (s.z_score) " standard deviations above the 8 weeks before." } }
                }
            }
            div {
                @if viewer.can_edit() { (workflow_form(viewer, &p.entry)) }
                @if !p.impact.rollouts.is_empty() || recordable {
                    (super::impact::card(viewer, &p.impact, recordable))
                }
                section.card aria-labelledby="cust-h" {
                    h2 #cust-h { "Customers" }
                    @if p.contributors.is_empty() { p.muted { "No identified customers." } }
                    ul { @for c in &p.contributors {
                        li { (c.name.clone().or(c.email.clone()).unwrap_or_else(|| format!("customer #{}", c.id))) " — " (c.items) " item" @if c.items != 1 { "s" }
                            @if let Some(seg) = &c.segment { " · " (seg) }
                            @if let Some(v) = c.account_value { " · value " (format!("{v:.0}")) } }
                    } }
                }
                section.card aria-labelledby="similar-h" {
                    h2 #similar-h { "Similar feedback outside this theme" }
                    (similar_list(&p.similar))
                }
                @if viewer.can_edit() && !p.lookalikes.is_empty() {
                    section.card aria-labelledby="same-h" {
                        h2 #same-h { "Looks like the same problem as" }
                        @for l in &p.lookalikes { (lookalike_pair(l, &viewer.csrf, &format!("/themes/{id}"))) }
                    }
                }
                @if viewer.can_edit() { (tools(viewer, id, label, &p.others)) }
                section.card aria-labelledby="hist-h" {
                    h2 #hist-h { "History" }
                    ul.small {
                        @for c in &p.changes { li { (c.change.created_at.format("%Y-%m-%d %H:%M"))  " · " (c.actor_name) " set " (c.change.field) ": " (c.change.before.as_deref().unwrap_or("—")) " → " (c.change.after.as_deref().unwrap_or("—")) } }
                        @for e in &p.edits { li {
                            (e.created_at.format("%Y-%m-%d %H:%M"))  " · " (p.actor_name(&e.actor)) " " (e.summary)
                            @if e.undone_by.is_some() { " " span.muted { "(undone)" } }
                            @if e.can_undo && viewer.can_edit() {
                                form.inline method="post" action={"/themes/" (id) "/undo"} {
                                    (csrf(&viewer.csrf))
                                    input type="hidden" name="edit" value=(e.id);
                                    " " button.link type="submit" aria-label={"Undo " (e.action) ": " (e.summary)} { "Undo " (e.action) }
                                }
                            }
                        } }
                    }
                    @if p.changes.is_empty() && p.edits.is_empty() { p.muted.small { "No changes yet." } }
                }
            }
        }
        section.card aria-labelledby="items-h" {
            h2 #items-h { "All items" }
            form method="post" action={"/themes/" (id) "/items"} {
                (csrf(&viewer.csrf))
                table.stack {
                    thead { tr { @if viewer.can_edit() { th { span.visually-hidden { "Select" } } } th { "Item" } th { "Kind" } th { "Date" } } }
                    tbody { @for i in &p.items.items { tr {
                        @if viewer.can_edit() { td data-label="Select" { input type="checkbox" name="item_ids" value=(i.item_id) aria-label={"Select item " (i.item_id)}; } }
                        td data-label="Item" { @if let Some(sub) = &i.subject { strong { (sub) } br; } (i.text) }
                        td data-label="Kind" { (i.kind.label()) }
                        td data-label="Date" { (i.created_at.format("%Y-%m-%d")) }
                    } } }
                }
                @if viewer.can_edit() && !p.items.items.is_empty() {
                    div.row style="margin-top:.75rem" {
                        div { label for="split-label" { "New theme name" } input #split-label type="text" name="label" maxlength="200"; }
                        button.secondary type="submit" name="action" value="split" { "Split selected into a new theme" }
                        div { label for="move-to" { "Move selected to" }
                            select #move-to name="to" {
                                option value="" { "the unthemed queue" }
                                @for (tid, l) in &p.others { option value=(tid) { (l) } }
                            } }
                        button.secondary type="submit" name="action" value="move" { "Move" }
                    }
                }
            }
            (pager(&format!("/themes/{id}"), &[], p.items.offset, p.items.limit, p.items.total))
        }
    }
}

fn impact_sentence(points: f64) -> String {
    if points > 0.0 {
        format!("Without this theme's feedback, average satisfaction would be {points:.2} points higher (0–100 scale).")
    } else {
        "This theme's feedback does not lower average satisfaction.".into()
    }
}

fn workflow_form(viewer: &Viewer, e: &Entry) -> Markup {
    let w = &e.workflow;
    html! {
        form.card method="post" action={"/themes/" (e.theme.id) "/backlog"} aria-labelledby="wf-h" {
            h2 #wf-h { "Backlog" }
            (csrf(&viewer.csrf))
            div.row {
                div { label for="wf-status" { "Status" }
                    select #wf-status name="status" { @for s in Status::ALL { option value=(s.as_str()) selected[w.status == *s] { (s.label()) } } } }
                div { label for="wf-effort" { "Effort" }
                    select #wf-effort name="effort" {
                        option value="" { "not estimated" }
                        @for x in Effort::ALL { option value=(x.as_str()) selected[w.effort == Some(*x)] { (x.as_str().to_uppercase()) } }
                    } }
                div { label for="wf-owner" { "Owner" } input #wf-owner type="text" name="owner" value=(w.owner.as_deref().unwrap_or("")) maxlength="200"; }
            }
            p { label for="wf-notes" { "Notes" } textarea #wf-notes name="notes" maxlength="10000" { (w.notes) } }
            p { input #wf-pinned type="checkbox" name="pinned" value="true" checked[w.pinned]; " " label for="wf-pinned" style="display:inline" { "Pin to the top of the backlog" } }
            button type="submit" { "Save" }
        }
    }
}

fn tools(viewer: &Viewer, id: i64, label: &str, others: &[(i64, String)]) -> Markup {
    html! {
        section.card aria-labelledby="tools-h" {
            h2 #tools-h { "Edit theme" }
            form method="post" action={"/themes/" (id) "/rename"} {
                (csrf(&viewer.csrf))
                label for="rename" { "Name" }
                div.row { input #rename type="text" name="label" value=(label) maxlength="200" required style="flex:1"; button.secondary type="submit" { "Rename" } }
            }
            form method="post" action={"/themes/" (id) "/merge"} style="margin-top:1rem" {
                (csrf(&viewer.csrf))
                label for="merge-into" { "Merge this theme into" }
                div.row {
                    select #merge-into name="into" required style="flex:1" {
                        option value="" { "choose a theme…" }
                        @for (tid, l) in others { option value=(tid) { (l) } }
                    }
                    button.danger type="submit" { "Merge" }
                }
            }
        }
    }
}

async fn save_workflow(
    State(ctx): State<ApiContext>,
    ids: PathIds,
    Form(viewer, f): Form,
) -> WebResult<Response> {
    viewer.require_editor()?;
    let change = EntryChange {
        status: f.text("status"),
        notes: Some(f.raw("notes").unwrap_or_default()),
        effort: Some(f.text("effort").unwrap_or_default()),
        owner: Some(f.text("owner").unwrap_or_default()),
        pinned: Some(f.checked("pinned")),
    };
    // A status that mails customers is saved only once the person saw who gets what.
    if let (Some(status), false) = (change.status.as_deref(), f.checked("confirmed")) {
        let status = Status::parse_field("status", status)?;
        let base = &ctx.config.base_url;
        if let Some(p) = notices::preview_status_change(&ctx.db, base, ids.first(), status).await? {
            let body = confirm_status(&viewer, ids.first(), &change, status, &p);
            return Ok(Html(page("Tell customers?", &viewer, "/backlog", body)).into_response());
        }
    }
    let (id, actor) = (ids.first(), viewer.actor());
    let (_, changes) = match f.text("notify").as_deref() {
        // The person chose to change the status without telling anyone.
        Some("no") => workflow::update_without_notices(&ctx.db, id, change, &actor).await?,
        _ => workflow::update(&ctx.db, id, change, &actor, &ctx.config.base_url).await?,
    };
    let message = if changes.is_empty() {
        "Nothing changed."
    } else {
        "Saved."
    };
    Ok(done(&format!("/themes/{}", ids.first()), message))
}

/// The workflow form again, hidden, with the note it will send and to how many.
fn confirm_status(
    viewer: &Viewer,
    id: i64,
    change: &EntryChange,
    status: Status,
    p: &notices::Preview,
) -> Markup {
    let who = match p.recipients {
        1 => "1 customer who asked to hear back will get this".to_string(),
        n => format!("{n} customers who asked to hear back will get this"),
    };
    html! {
        section.card aria-labelledby="notify-h" {
            h1 #notify-h { "Set the status to \u{201c}" (status.label()) "\u{201d} and tell customers?" }
            p { strong { (who) } ", by email, once each:" }
            blockquote.small {
                p { strong { (p.subject) } }
                @for line in p.text.lines() { (line) br; }
            }
            form method="post" action={"/themes/" (id) "/backlog"} {
                (csrf(&viewer.csrf))
                input type="hidden" name="status" value=(status.as_str());
                input type="hidden" name="notes" value=(change.notes.as_deref().unwrap_or(""));
                input type="hidden" name="effort" value=(change.effort.as_deref().unwrap_or(""));
                input type="hidden" name="owner" value=(change.owner.as_deref().unwrap_or(""));
                @if change.pinned == Some(true) { input type="hidden" name="pinned" value="true"; }
                input type="hidden" name="confirmed" value="true";
                p.small.muted { "Sent mail cannot be taken back. Customers are told once per status: a later change back and forth sends nothing more." }
                div.row {
                    button type="submit" { "Save and send" }
                    button.secondary type="submit" name="notify" value="no" { "Save without emailing" }
                    a href={"/themes/" (id)} { "Cancel" }
                }
            }
        }
    }
}

async fn rename(
    State(ctx): State<ApiContext>,
    ids: PathIds,
    Form(viewer, f): Form,
) -> WebResult<Response> {
    viewer.require_editor()?;
    edits::rename(&ctx.db, ids.first(), &f.required("label")?, &viewer.actor()).await?;
    Ok(done(&format!("/themes/{}", ids.first()), "Renamed."))
}

/// A merge: first a page saying what it will do, then (`confirmed`) the merge.
async fn merge(
    State(ctx): State<ApiContext>,
    ids: PathIds,
    Form(viewer, f): Form,
) -> WebResult<Response> {
    viewer.require_editor()?;
    let into = f.id("into")?.ok_or_else(|| {
        crate::Error::invalid("missing_field", "into", "choose the theme to merge into")
    })?;
    if !f.checked("confirmed") {
        let preview = edits::merge_preview(&ctx.db, ids.first(), into).await?;
        let body = confirm_merge(&viewer, &preview);
        return Ok(Html(page("Merge themes?", &viewer, "/backlog", body)).into_response());
    }
    edits::merge(&ctx.db, ids.first(), into, &viewer.actor()).await?;
    ctx.wake_workers();
    Ok(done(
        &format!("/themes/{into}"),
        "Merged. To take it back, use Undo in the history below.",
    ))
}

fn confirm_merge(viewer: &Viewer, p: &edits::MergePreview) -> Markup {
    html! {
        section.card aria-labelledby="merge-h" {
            h1 #merge-h { "Merge \u{201c}" (p.from.display_label()) "\u{201d} into \u{201c}" (p.into.display_label()) "\u{201d}?" }
            p { (p.sentence()) }
            form method="post" action={"/themes/" (p.from.id) "/merge"} {
                (csrf(&viewer.csrf))
                input type="hidden" name="into" value=(p.into.id);
                input type="hidden" name="confirmed" value="true";
                div.row {
                    button.danger type="submit" { "Merge" }
                    a href={"/themes/" (p.from.id)} { "Cancel" }
                }
            }
        }
    }
}

/// Undo one edit from the theme's history.
async fn undo(
    State(ctx): State<ApiContext>,
    ids: PathIds,
    Form(viewer, f): Form,
) -> WebResult<Response> {
    viewer.require_editor()?;
    let edit = f
        .id("edit")?
        .ok_or_else(|| crate::Error::invalid("missing_field", "edit", "name the edit to undo"))?;
    let record = undo::undo(&ctx.db, edit, &viewer.actor()).await?;
    ctx.wake_workers();
    let summary = EditView::of(&record).summary;
    Ok(done(
        &format!("/themes/{}", ids.first()),
        &format!("Done: {summary}."),
    ))
}

/// Split or move the checked items.
async fn items_action(
    State(ctx): State<ApiContext>,
    ids: PathIds,
    Form(viewer, f): Form,
) -> WebResult<Response> {
    viewer.require_editor()?;
    let id = ids.first();
    let items = f.selected("item_ids")?;
    let actor = viewer.actor();
    let to = match f.text("action").as_deref() {
        Some("split") => {
            let created =
                edits::split(&ctx.db, id, &items, f.text("label").as_deref(), &actor).await?;
            created.id
        }
        Some("move") => {
            let to = f.id("to")?;
            edits::move_items(&ctx.db, &items, to, &actor).await?;
            id
        }
        other => {
            return Err(crate::Error::invalid(
                "invalid_value",
                "action",
                format!(
                    "action must be split or move, got {:?}",
                    other.unwrap_or("")
                ),
            )
            .into())
        }
    };
    ctx.wake_workers();
    Ok(done(
        &format!("/themes/{to}"),
        &format!("Done: {} item(s).", items.len()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::tokens::Role;
    use crate::http::web::fixtures::{entry, viewer};
    use chrono::{TimeZone, Utc};

    fn member(id: i64, text: &str) -> MemberView {
        MemberView {
            item_id: id,
            kind: crate::db::items::ItemKind::Ticket,
            source_id: id,
            subject: None,
            text: text.into(),
            similarity: Some(0.8),
            placed_by_person: false,
            created_at: Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap(),
        }
    }

    fn theme_page() -> ThemePage {
        let items = vec![
            member(1, "my card has not arrived"),
            member(2, "still waiting for the card"),
        ];
        ThemePage {
            entry: entry(7, "Cards <late>", 42.5),
            quotes: items[..1]
                .iter()
                .map(|m| member(m.item_id, &m.text))
                .collect(),
            items: Listing {
                items,
                total: 2,
                limit: 50,
                offset: 0,
            },
            contributors: Vec::new(),
            similar: Vec::new(),
            impact: crate::impact::Impact {
                theme_id: 7,
                weeks: 4,
                rollouts: Vec::new(),
                cohorts: Vec::new(),
                answers: Default::default(),
                reopened: false,
                as_of: chrono::Utc::now(),
            },
            others: vec![(8, "Refunds".into())],
            lookalikes: Vec::new(),
            changes: Vec::new(),
            edits: Vec::new(),
            actors: Default::default(),
            week_labels: (1..=WEEKS).map(|w| format!("W{w}")).collect(),
        }
    }

    #[test]
    fn shows_the_custom_label_escaped_the_score_and_every_item() {
        let html = render(&theme_page(), &viewer(Role::Support), None).into_string();
        assert!(html.contains("Cards &lt;late&gt;"), "{html}");
        assert!(!html.contains("Cards <late>"));
        assert!(html.contains("Score 42.5 / 100"));
        assert!(html.contains("Keywords: card, arrive"));
        assert!(html.contains("my card has not arrived"));
        assert!(html.contains("still waiting for the card"));
        assert!(html.contains("No identified customers."));
        assert!(html.contains("No changes yet."));
    }

    #[test]
    fn only_editors_get_the_workflow_form_and_the_edit_tools() {
        let page = theme_page();
        let support = render(&page, &viewer(Role::Support), None).into_string();
        assert!(!support.contains(r#"action="/themes/7/backlog""#));
        assert!(!support.contains(r#"action="/themes/7/merge""#));
        assert!(!support.contains(r#"name="item_ids""#));
        let pm = render(&page, &viewer(Role::Pm), Some("Saved.")).into_string();
        assert!(pm.contains(r#"action="/themes/7/backlog""#), "{pm}");
        assert!(pm.contains(r#"action="/themes/7/merge""#));
        assert!(
            pm.contains(r#"value="token-123""#),
            "forms carry the CSRF token"
        );
        assert!(pm.contains(r#"<option value="8">Refunds</option>"#), "{pm}");
        assert!(pm.contains("Saved."));
    }

    #[test]
    fn editors_see_the_themes_that_look_like_this_one() {
        use crate::themes::lookalike::{Lookalike, Side};
        use crate::themes::teach::Quote;
        let side = |theme_id, label: &str, size| Side {
            theme_id,
            label: label.into(),
            size,
            quote: Quote {
                item_id: theme_id * 10,
                text: format!("a quote of {label}"),
            },
        };
        let mut page = theme_page();
        page.lookalikes = vec![Lookalike {
            a: side(7, "Cards late", 2),
            b: side(9, "Card delivery", 40),
            similarity: 0.9,
            quote_similarity: 0.8,
        }];
        let html = render(&page, &viewer(Role::Pm), None).into_string();
        assert!(html.contains("Looks like the same problem as"), "{html}");
        assert!(
            html.contains(r#"action="/themes/7/merge""#)
                && html.contains(r#"name="into" value="9""#)
        );
        // "Different problems" comes back to this page.
        assert!(html.contains(r#"name="back" value="/themes/7""#), "{html}");
        let html = render(&page, &viewer(Role::Support), None).into_string();
        assert!(!html.contains("Looks like the same problem as"));
    }

    #[test]
    fn a_status_that_mails_customers_says_to_how_many_and_offers_not_to() {
        let change = EntryChange {
            status: Some("planned".into()),
            notes: Some("<b>ship</b> it".into()),
            effort: Some("m".into()),
            owner: Some("Dana".into()),
            pinned: Some(true),
        };
        let p = notices::Preview {
            recipients: 38,
            subject: "Update: \u{201c}Cards\u{201d} is now planned".into(),
            text: "Hello [their name],\n\nyou told us".into(),
        };
        let html = confirm_status(&viewer(Role::Pm), 7, &change, Status::Planned, &p).into_string();
        assert!(
            html.contains("38 customers who asked to hear back will get this"),
            "{html}"
        );
        assert!(html.contains("is now planned") && html.contains("Hello [their name],"));
        // Every field of the form goes again, escaped; both ways to save are offered.
        assert!(
            html.contains(r#"name="notes" value="&lt;b&gt;ship&lt;/b&gt; it""#),
            "{html}"
        );
        assert!(html.contains(r#"name="pinned" value="true""#));
        assert!(html.contains(r#"name="confirmed" value="true""#));
        assert!(
            html.contains(r#"name="notify" value="no""#) && html.contains("Save without emailing")
        );
    }

    #[test]
    fn history_shows_names_and_former_users_and_customers_without_contact_by_id() {
        let mut page = theme_page();
        let change = |actor: &str, name: &str| workflow::NamedChange {
            change: crate::db::entity::backlog_change::Model {
                id: 1,
                theme_id: 7,
                field: "status".into(),
                before: Some("new".into()),
                after: Some("planned".into()),
                actor: actor.into(),
                created_at: Utc.with_ymd_and_hms(2026, 11, 3, 9, 0, 0).unwrap(),
            },
            actor_name: name.into(),
        };
        page.changes = vec![change("user:3", "Pat Lee")];
        page.edits = vec![EditView::of(&crate::db::entity::theme_edit::Model {
            id: 1,
            theme_id: 7,
            action: crate::db::entity::theme_edit::EditAction::Rename,
            detail: r#"{"before": "Cards", "after": "Late cards"}"#.into(),
            actor: "user:99".into(),
            created_at: Utc.with_ymd_and_hms(2026, 11, 3, 9, 0, 0).unwrap(),
            restore: Some("{}".into()),
            undone_by: None,
            undoes: None,
        })];
        page.contributors = vec![customers::Contributor {
            id: 5,
            name: None,
            email: Some("vip@corp.test".into()),
            segment: Some("enterprise".into()),
            account_value: Some(9000.0),
            items: 2,
        }
        .without_contact()];
        let html = render(&page, &viewer(Role::Support), None).into_string();
        assert!(html.contains("Pat Lee set status"), "{html}");
        assert!(
            html.contains(
                "former user renamed \u{201c}Cards\u{201d} to \u{201c}Late cards\u{201d}"
            ),
            "{html}"
        );
        assert!(!html.contains("user:3"));
        assert!(html.contains("customer #5"), "{html}");
        assert!(!html.contains("vip@corp.test") && !html.contains("9000"));
        // Support sees the history but not the undo; a product manager gets the button.
        assert!(!html.contains("/themes/7/undo"), "{html}");
        let html = render(&page, &viewer(Role::Pm), None).into_string();
        assert!(html.contains(r#"action="/themes/7/undo""#), "{html}");
        assert!(html.contains(r#"name="edit" value="1""#), "{html}");
        page.edits[0].can_undo = false;
        page.edits[0].undone_by = Some(2);
        let html = render(&page, &viewer(Role::Pm), None).into_string();
        assert!(
            !html.contains("/themes/7/undo") && html.contains("(undone)"),
            "{html}"
        );
    }
}

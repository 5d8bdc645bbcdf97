//! The Teach page: "same problem?" about two customer messages, Yes / No / Skip, and what
//! the answers so far did to the number of themes. Calls the same service as
//! `/api/v1/themes/questions` (`themes::teach`).

use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use maud::html;

use super::layout::page;
use super::session::{Form, Viewer};
use super::widgets::{csrf, flash, pager};
use super::{done, Html, WebResult};
use crate::db::actors;
use crate::db::entity::theme_answer::PairAnswer;
use crate::http::{ApiContext, Params};
use crate::themes::{lookalike, teach};
use crate::Error;

pub fn router() -> Router<ApiContext> {
    Router::new()
        .route("/teach", get(show).post(answer))
        .route("/teach/withdraw", post(withdraw))
        .route("/teach/dismiss", post(dismiss))
}

async fn show(
    State(ctx): State<ApiContext>,
    viewer: Viewer,
    mut params: Params,
) -> WebResult<Html> {
    let message = params.text("done");
    let at = params.page(20, 200)?;
    params.finish()?;
    viewer.require_editor()?;
    let state = teach::view(&ctx.db).await?;
    let answers = teach::list(&ctx.db, at).await?;
    let names = actors::names(&ctx.db, answers.items.iter().map(|a| a.actor.as_str())).await?;
    let quotes = crate::db::items::by_ids(
        &ctx.db,
        &answers
            .items
            .iter()
            .flat_map(|a| [a.item_a, a.item_b])
            .collect::<Vec<_>>(),
    )
    .await?;
    let quote = |id: i64| quotes.get(&id).map(|i| i.text.clone()).unwrap_or_default();
    let body = html! {
        (flash(message.as_deref()))
        h1 { "Teach triage" }
        p.muted { "How fine should a theme be? That is your team's call, not the algorithm's. Say whether two messages are the same problem; after each answer triage picks the granularity that fits every answer and edit so far, and the next rebuild uses it. Merges, splits and moves count as answers too." }
        @if !state.ready {
            p.card { "There are no themes yet: teaching starts after the first rebuild." }
        } @else {
            section.card aria-labelledby="now" {
                h2 #now { "Now " (state.themes) " themes" }
                p {
                    "With no answers: " (state.themes_default) " themes. "
                    @if state.answers == 0 { "No answers yet." }
                    @else { (state.answers) " answer(s) so far" @if state.waiting > 0 { ", " (state.waiting) " of them about items that join the tree at the next rebuild" } ". " }
                    @if state.more_answers > 0 {
                        "The answers allow " (state.themes_fewest) "–" (state.themes_most) " themes; about " (state.more_answers) " more would settle it."
                    } @else if state.answers > 0 {
                        "That is settled: more answers would change little."
                    }
                }
            }
            @if let Some(q) = &state.question {
                form.card method="post" action="/teach" {
                    (csrf(&viewer.csrf))
                    input type="hidden" name="a" value=(q.a.item_id);
                    input type="hidden" name="b" value=(q.b.item_id);
                    h2 { "Same problem?" }
                    div.grid2 {
                        blockquote { (q.a.text) }
                        blockquote { (q.b.text) }
                    }
                    div.row {
                        button type="submit" name="answer" value="same" { "Yes, same problem" }
                        button.secondary type="submit" name="answer" value="different" { "No, different" }
                        button.secondary type="submit" name="answer" value="skip" { "Skip" }
                    }
                }
            } @else {
                p.card { "Nothing left to ask: every pair that would change the themes is answered." }
            }
        }
        h2 { "Answers" }
        @if answers.items.is_empty() { p.muted { "None yet." } } @else {
            table.stack {
                thead { tr { th { "Messages" } th { "Answer" } th { "From" } th { "By" } th { "When" } th { span.visually-hidden { "Withdraw" } } } }
                tbody { @for a in &answers.items { tr {
                    td data-label="Messages" { (quote(a.item_a)) br; span.muted { "vs " } (quote(a.item_b)) }
                    td data-label="Answer" { (a.answer.as_str()) @if a.withdrawn_at.is_some() { " (withdrawn)" } }
                    td data-label="From" { (a.source.as_str()) }
                    td data-label="By" { (names.get(&a.actor).map_or(actors::FORMER_USER, String::as_str)) }
                    td data-label="When" { (a.created_at.format("%Y-%m-%d %H:%M")) }
                    td data-label="Withdraw" { @if a.withdrawn_at.is_none() {
                        form method="post" action="/teach/withdraw" {
                            (csrf(&viewer.csrf))
                            input type="hidden" name="id" value=(a.id);
                            button.secondary type="submit" aria-label={"Withdraw answer " (a.id)} { "Withdraw" }
                        }
                    } }
                } } }
            }
        }
        (pager("/teach", &[], answers.offset, answers.limit, answers.total))
    };
    Ok(Html(page("Teach", &viewer, "/teach", body)))
}

async fn answer(State(ctx): State<ApiContext>, Form(viewer, f): Form) -> WebResult<Response> {
    viewer.require_editor()?;
    let a = f
        .id("a")?
        .ok_or_else(|| Error::invalid("missing_field", "a", "a is required"))?;
    let b = f
        .id("b")?
        .ok_or_else(|| Error::invalid("missing_field", "b", "b is required"))?;
    let answer = PairAnswer::parse_field("answer", &f.text("answer").unwrap_or_default())?;
    let (now, before) = teach::answer(&ctx.db, a, b, answer, &viewer.actor()).await?;
    let message = if now.themes == before {
        format!("Recorded. Still {} themes.", now.themes)
    } else {
        format!("Recorded. Now {} themes, was {}.", now.themes, before)
    };
    Ok(done("/teach", &message))
}

async fn withdraw(State(ctx): State<ApiContext>, Form(viewer, f): Form) -> WebResult<Response> {
    viewer.require_editor()?;
    let id = f
        .id("id")?
        .ok_or_else(|| Error::invalid("missing_field", "id", "id is required"))?;
    teach::withdraw(&ctx.db, id, &viewer.actor()).await?;
    let now = teach::view(&ctx.db).await?;
    Ok(done(
        "/teach",
        &format!("Answer withdrawn. Now {} themes.", now.themes),
    ))
}

/// "Different problems" on a suggested merge (the backlog's look-alike themes).
async fn dismiss(State(ctx): State<ApiContext>, Form(viewer, f): Form) -> WebResult<Response> {
    viewer.require_editor()?;
    let theme = |field: &'static str| {
        f.id(field)?
            .ok_or_else(|| Error::invalid("missing_field", field, format!("{field} is required")))
    };
    let (a, b) = (theme("a")?, theme("b")?);
    lookalike::dismiss(&ctx.db, a, b, &viewer.actor()).await?;
    // Back to the page it was dismissed on: the backlog or a theme's page (nothing else,
    // so that the field cannot send anyone elsewhere).
    let back = f
        .text("back")
        .filter(|b| {
            b == "/backlog"
                || b.strip_prefix("/themes/")
                    .is_some_and(|id| id.parse::<i64>().is_ok())
        })
        .unwrap_or_else(|| "/backlog".into());
    Ok(done(
        &back,
        "Noted: different problems. They will not be offered together again.",
    ))
}

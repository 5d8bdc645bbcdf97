//! The public survey page: a customer follows a link (`/s/{survey_id}`), answers (an NPS
//! score, a comment, whatever the survey asks) and may leave an email to hear back when
//! their issue is fixed. No account is needed; answers go through the same validation and
//! storage as `POST /api/v1/surveys/{id}/responses`.
//!
//! Anyone can post here, so nothing posted here changes a customer: the email is stored on
//! the response as typed (unverified) and names no customer, and asking to hear back mails
//! a confirmation link to that address (double opt-in, [`crate::digest::consent`]). Only
//! following it ties the answer to a customer. Answers are rate-limited per IP address and
//! per survey (429 with `Retry-After`), and a closed survey takes none (409).

use std::collections::BTreeMap;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};

use super::layout::bare;
use super::session::{Fields, PublicForm};
use super::{Html, WebResult};
use crate::db::entity::survey_question;
use crate::digest::consent::{self, Confirmed};
use crate::http::{ApiContext, PathIds};
use crate::intake::input::{AnswerInput, SurveyResponseInput};
use crate::intake::store::Source;
use crate::intake::surveys::{self, ResponseValidator, SurveyWithQuestions};
use crate::intake::validate::Respondent;
use crate::validate;
use crate::Error;

pub fn router() -> Router<ApiContext> {
    Router::new()
        .route("/s/{survey_id}", get(show).post(answer))
        .route("/confirm-email", get(confirm_page).post(confirm))
}

fn scale(q: &survey_question::Model) -> Option<std::ops::RangeInclusive<i32>> {
    match q.kind.as_str() {
        "nps" => Some(0..=10),
        "csat" => Some(1..=5),
        _ => None,
    }
}

fn form(s: &SurveyWithQuestions, values: &Fields, error: Option<&str>) -> Markup {
    let field = |q: &survey_question::Model| format!("q{}", q.id);
    html! {
        h1 { (s.survey.title) }
        @if let Some(e) = error { p.error role="alert" { (e) } }
        form.card method="post" action={"/s/" (s.survey.id)} {
            @for q in &s.questions {
                @if let Some(range) = scale(q) {
                    fieldset style="border:0;padding:0;margin:0 0 1rem" {
                        legend { strong { (q.prompt) } }
                        div.row style="gap:.25rem" role="radiogroup" {
                            @for n in range {
                                @let id = format!("{}-{n}", field(q));
                                span { input type="radio" id=(id) name=(field(q)) value=(n) checked[values.raw(&field(q)) == Some(n.to_string())];
                                    label for=(id) style="display:inline;padding:0 .35rem 0 .1rem;color:inherit" { (n) } }
                            }
                        }
                        @if q.kind == "nps" { p.small.muted { "0 = not at all likely, 10 = extremely likely" } }
                    }
                } @else {
                    p { label for=(field(q)) { strong { (q.prompt) } }
                        textarea id=(field(q)) name=(field(q)) maxlength="5000" { (values.raw(&field(q)).unwrap_or_default()) } }
                }
            }
            p { label for="email" { "Your email (optional)" }
                input #email type="email" name="email" value=(values.raw("email").unwrap_or_default()) autocomplete="email"; }
            p { input #notify type="checkbox" name="notify_opt_in" value="true" checked[values.checked("notify_opt_in")]; " "
                label for="notify" style="display:inline" { "Tell me when the problem I described is fixed" } }
            button type="submit" { "Send" }
        }
    }
}

fn closed_page(s: &SurveyWithQuestions) -> Response {
    let page = bare(
        &s.survey.title,
        html! {
            h1 { (s.survey.title) }
            p { "This survey is closed and no longer takes answers. Thank you for your interest." }
        },
    );
    (StatusCode::CONFLICT, Html(page)).into_response()
}

async fn show(State(ctx): State<ApiContext>, ids: PathIds) -> WebResult<Response> {
    let s = surveys::get(&ctx.db, ids.first()).await?;
    if s.survey.closed_at.is_some() {
        return Ok(closed_page(&s));
    }
    Ok(Html(bare(&s.survey.title, form(&s, &Fields::default(), None))).into_response())
}

async fn answer(
    State(ctx): State<ApiContext>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ids: PathIds,
    PublicForm(f): PublicForm,
) -> WebResult<Response> {
    let s = surveys::get(&ctx.db, ids.first()).await?;
    if s.survey.closed_at.is_some() {
        return Ok(closed_page(&s));
    }
    ctx.limits.survey_answer(peer.ip(), s.survey.id)?;
    let mut answers = BTreeMap::new();
    for q in &s.questions {
        let Some(value) = f.text(&format!("q{}", q.id)) else {
            continue;
        };
        let answer = match scale(q) {
            Some(_) => AnswerInput::Number(value.parse::<serde_json::Number>().map_err(|_| {
                Error::invalid(
                    "invalid_type",
                    format!("answers.{}", q.id),
                    format!("{:?} is not a number", value),
                )
            })?),
            None => AnswerInput::Text(value),
        };
        answers.insert(q.id.to_string(), answer);
    }
    if answers.is_empty() {
        let page = form(&s, &f, Some("Please answer at least one question."));
        return Ok((StatusCode::BAD_REQUEST, Html(bare(&s.survey.title, page))).into_response());
    }
    let input = SurveyResponseInput {
        answers,
        external_id: None,
        customer: None,
        created_at: None,
        survey_id: None,
    };
    let respondent = f
        .text("email")
        .map(|e| validate::email("email", &e))
        .transpose();
    let stored = match (
        respondent,
        ResponseValidator::default()
            .validate(&ctx.db, s.survey.id, "survey_id", input)
            .await,
    ) {
        (Ok(respondent), Ok(mut new)) => {
            new.respondent = respondent.map(|email| Respondent {
                email,
                notify: f.checked("notify_opt_in"),
            });
            ctx.writes.responses.store(new, Source::Web).await
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    match stored {
        Ok((response_id, _)) => {
            ctx.wake_workers();
            let asked =
                consent::request(&ctx.db, &ctx.config.base_url, response_id, &s.survey.title)
                    .await?;
            Ok(Html(bare("Thank you", html! {
                h1 { "Thank you" }
                p { "Your answer was received. It goes straight to the team that decides what to fix next." }
                @if asked {
                    p { "To hear back when it is fixed, follow the link we just sent to your email address. Until you do, we will not write to you." }
                }
            }))
            .into_response())
        }
        // A wrong answer (out of range for its question) shows the form again, named.
        Err(e @ (Error::Invalid { .. } | Error::Unprocessable { .. })) => {
            let message = e.to_string();
            Ok((
                StatusCode::BAD_REQUEST,
                Html(bare(&s.survey.title, form(&s, &f, Some(&message)))),
            )
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(serde::Deserialize)]
struct ConfirmLink {
    response: i64,
    sig: String,
}

/// The page a confirmation link opens: a button, since mail scanners open every link in a
/// message and must not opt anyone in by doing so.
async fn confirm_page(Query(link): Query<ConfirmLink>) -> Html {
    Html(bare(
        "Confirm your email",
        html! {
            h1 { "Hear back about your feedback" }
            p { "Press the button to confirm this address is yours and that you want one short note when the problem you told us about is fixed." }
            form.card method="post" action="/confirm-email" {
                input type="hidden" name="response" value=(link.response);
                input type="hidden" name="sig" value=(link.sig);
                button type="submit" { "Confirm" }
            }
        },
    ))
}

async fn confirm(State(ctx): State<ApiContext>, PublicForm(f): PublicForm) -> WebResult<Html> {
    let response = f.id("response")?.ok_or_else(|| {
        Error::invalid(
            "missing_field",
            "response",
            "the link is missing its response",
        )
    })?;
    let sig = f.required("sig")?;
    let outcome = consent::confirm(&ctx.db, response, &sig).await?;
    ctx.wake_workers();
    Ok(Html(bare(
        "Confirmed",
        html! {
            h1 { "Confirmed" }
            p { @match outcome {
                Confirmed::Now => "Thank you: we will write to you once when the problem you described is fixed.",
                Confirmed::Already => "This address was already confirmed; nothing else to do.",
            } }
        },
    )))
}

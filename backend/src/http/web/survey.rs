//! The public survey page: a customer follows a link (`/s/{survey_id}`), answers (an NPS
//! score, a comment, whatever the survey asks) and may leave an email to hear back when
//! their issue is fixed. No account is needed; answers go through the same validation and
//! storage as `POST /api/v1/surveys/{id}/responses`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};

use super::layout::bare;
use super::session::{Fields, PublicForm};
use super::{Html, WebResult};
use crate::db::entity::survey_question;
use crate::http::{ApiContext, PathIds};
use crate::intake::input::{AnswerInput, CustomerInput, SurveyResponseInput};
use crate::intake::store::{self, Source};
use crate::intake::surveys::{self, ResponseValidator, SurveyWithQuestions};
use crate::Error;

pub fn router() -> Router<ApiContext> {
    Router::new().route("/s/{survey_id}", get(show).post(answer))
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

async fn show(State(ctx): State<ApiContext>, ids: PathIds) -> WebResult<Html> {
    let s = surveys::get(&ctx.db, ids.first()).await?;
    Ok(Html(bare(
        &s.survey.title,
        form(&s, &Fields::default(), None),
    )))
}

async fn answer(
    State(ctx): State<ApiContext>,
    ids: PathIds,
    PublicForm(f): PublicForm,
) -> WebResult<Response> {
    let s = surveys::get(&ctx.db, ids.first()).await?;
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
    let email = f.text("email");
    let input = SurveyResponseInput {
        answers,
        external_id: None,
        customer: email.map(|e| CustomerInput {
            email: Some(e),
            notify_opt_in: Some(f.checked("notify_opt_in")),
            ..Default::default()
        }),
        created_at: None,
        survey_id: None,
    };
    let stored = match ResponseValidator::default()
        .validate(&ctx.db, s.survey.id, "survey_id", input)
        .await
    {
        Ok(new) => store::store_one(&ctx.db, &new, Source::Web).await,
        Err(e) => Err(e),
    };
    match stored {
        Ok(_) => {
            ctx.wake_workers();
            Ok(Html(bare("Thank you", html! {
                h1 { "Thank you" }
                p { "Your answer was received. It goes straight to the team that decides what to fix next." }
            }))
            .into_response())
        }
        Err(e @ Error::Invalid { .. }) => {
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

//! Everything triage holds about one customer, as one JSON document (GDPR article 15).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::entity::{
    consent_event, customer, feedback_item, fix_answer, item_theme, mail, rating, survey,
    survey_answer, survey_question, survey_response, theme, ticket,
};
use crate::db::erase::items_of_customer;
use crate::db::items::ItemKind;
use crate::{Error, Result};

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerExport {
    pub exported_at: DateTime<Utc>,
    pub customer: customer::Model,
    pub tickets: Vec<TicketExport>,
    pub ratings: Vec<RatingExport>,
    pub survey_responses: Vec<ResponseExport>,
    /// Mail triage sent (or is about to send) to the customer's address.
    pub mails: Vec<MailExport>,
    pub consent: Consent,
}

/// The theme an item was placed in.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Placement {
    pub theme_id: i64,
    pub theme: String,
    /// Placed by a person rather than by clustering.
    pub by_human: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketExport {
    pub item_id: i64,
    pub id: i64,
    pub external_id: Option<String>,
    pub subject: String,
    pub body: String,
    pub priority: String,
    pub status: String,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub theme: Option<Placement>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RatingExport {
    pub item_id: i64,
    pub id: i64,
    pub external_id: Option<String>,
    pub score: i32,
    pub subject: Option<String>,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
    pub theme: Option<Placement>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResponseExport {
    pub item_id: i64,
    pub id: i64,
    pub survey: String,
    pub answers: Vec<AnswerExport>,
    /// The address typed on the public survey page, if it was answered there.
    pub respondent_email: Option<String>,
    pub created_at: DateTime<Utc>,
    pub theme: Option<Placement>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnswerExport {
    pub question: String,
    pub number: Option<i32>,
    pub text: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MailExport {
    pub kind: mail::MailKind,
    pub subject: String,
    pub state: mail::MailState,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Consent {
    /// The customer wants to hear back when a theme they reported ships.
    pub notify_opt_in: bool,
    /// Every change to that wish, oldest first: given with an item, changed by a product
    /// manager, confirmed on the survey page, withdrawn by a mail's link.
    pub history: Vec<consent_event::Model>,
    /// Requests to hear back made on the public survey page, and when each was confirmed
    /// through the mailed link (double opt-in).
    pub survey_requests: Vec<ConsentRequest>,
    /// Their answers to "did the fix work for you?" after a theme they reported shipped.
    pub fix_answers: Vec<fix_answer::Model>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentRequest {
    pub response_id: i64,
    pub requested_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
}

/// The export of customer `id`; 404 when there is no such customer.
pub async fn export<C: ConnectionTrait>(db: &C, id: i64) -> Result<CustomerExport> {
    let customer = customer::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("customer", id))?;
    let item_ids = items_of_customer(db, id, customer.email.as_deref()).await?;
    let mut items = Vec::new();
    let mut placements = HashMap::new();
    for chunk in item_ids.chunks(1000) {
        items.extend(
            feedback_item::Entity::find()
                .filter(feedback_item::Column::Id.is_in(chunk.to_vec()))
                .all(db)
                .await?,
        );
        placements.extend(placements_of(db, chunk).await?);
    }
    let source_ids = |k: ItemKind| -> Vec<i64> {
        items
            .iter()
            .filter(|i| i.kind == k)
            .map(|i| i.source_id)
            .collect()
    };
    let item_of = |k: ItemKind, source: i64| {
        items
            .iter()
            .find(|i| i.kind == k && i.source_id == source)
            .map_or(0, |i| i.id)
    };
    let theme_of = |item: i64| placements.get(&item).cloned();

    let mut tickets = Vec::new();
    for chunk in source_ids(ItemKind::Ticket).chunks(1000) {
        for t in ticket::Entity::find()
            .filter(ticket::Column::Id.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            let item_id = item_of(ItemKind::Ticket, t.id);
            tickets.push(TicketExport {
                item_id,
                id: t.id,
                external_id: t.external_id,
                subject: t.subject,
                body: t.body,
                priority: t.priority,
                status: t.status,
                tags: serde_json::from_str(&t.tags).unwrap_or_default(),
                created_at: t.created_at,
                theme: theme_of(item_id),
            });
        }
    }
    let mut ratings = Vec::new();
    for chunk in source_ids(ItemKind::Rating).chunks(1000) {
        for r in rating::Entity::find()
            .filter(rating::Column::Id.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            let item_id = item_of(ItemKind::Rating, r.id);
            ratings.push(RatingExport {
                item_id,
                id: r.id,
                external_id: r.external_id,
                score: r.score,
                subject: r.subject,
                comment: r.comment,
                created_at: r.created_at,
                theme: theme_of(item_id),
            });
        }
    }
    let mut survey_responses = Vec::new();
    let mut survey_requests = Vec::new();
    // Each survey's title and question prompts, read once however many answers it has.
    let mut surveys: HashMap<i64, (String, HashMap<i64, String>)> = HashMap::new();
    for chunk in source_ids(ItemKind::SurveyResponse).chunks(1000) {
        for r in survey_response::Entity::find()
            .filter(survey_response::Column::Id.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            let item_id = item_of(ItemKind::SurveyResponse, r.id);
            if let std::collections::hash_map::Entry::Vacant(slot) = surveys.entry(r.survey_id) {
                let title = survey::Entity::find_by_id(r.survey_id)
                    .one(db)
                    .await?
                    .map(|s| s.title)
                    .unwrap_or_default();
                let prompts: HashMap<i64, String> = survey_question::Entity::find()
                    .filter(survey_question::Column::SurveyId.eq(r.survey_id))
                    .all(db)
                    .await?
                    .into_iter()
                    .map(|q| (q.id, q.prompt))
                    .collect();
                slot.insert((title, prompts));
            }
            let (title, prompts) = &surveys[&r.survey_id];
            let answers = survey_answer::Entity::find()
                .filter(survey_answer::Column::ResponseId.eq(r.id))
                .all(db)
                .await?
                .into_iter()
                .map(|a| AnswerExport {
                    question: prompts.get(&a.question_id).cloned().unwrap_or_default(),
                    number: a.number_value,
                    text: a.text_value,
                })
                .collect();
            if r.notify_requested {
                survey_requests.push(ConsentRequest {
                    response_id: r.id,
                    requested_at: r.created_at,
                    confirmed_at: r.notify_confirmed_at,
                });
            }
            survey_responses.push(ResponseExport {
                item_id,
                id: r.id,
                survey: title.clone(),
                answers,
                respondent_email: r.respondent_email,
                created_at: r.created_at,
                theme: theme_of(item_id),
            });
        }
    }
    let mails = match customer.email.as_deref() {
        Some(email) => mail::Entity::find()
            .filter(
                sea_orm::sea_query::Expr::expr(sea_orm::sea_query::Func::lower(
                    sea_orm::sea_query::Expr::col(mail::Column::Recipient),
                ))
                .eq(email.to_lowercase()),
            )
            .all(db)
            .await?
            .into_iter()
            .map(|m| MailExport {
                kind: m.kind,
                subject: m.subject,
                state: m.state,
                created_at: m.created_at,
                sent_at: m.sent_at,
            })
            .collect(),
        None => Vec::new(),
    };
    Ok(CustomerExport {
        exported_at: Utc::now(),
        consent: Consent {
            notify_opt_in: customer.notify_opt_in,
            history: consent_event::Entity::find()
                .filter(consent_event::Column::CustomerId.eq(id))
                .order_by_asc(consent_event::Column::Id)
                .all(db)
                .await?,
            survey_requests,
            fix_answers: fix_answer::Entity::find()
                .filter(fix_answer::Column::CustomerId.eq(id))
                .order_by_asc(fix_answer::Column::Id)
                .all(db)
                .await?,
        },
        customer,
        tickets,
        ratings,
        survey_responses,
        mails,
    })
}

/// Item id → the theme it is placed in, for these items.
async fn placements_of<C: ConnectionTrait>(
    db: &C,
    item_ids: &[i64],
) -> Result<HashMap<i64, Placement>> {
    let rows = item_theme::Entity::find()
        .filter(item_theme::Column::ItemId.is_in(item_ids.to_vec()))
        .all(db)
        .await?;
    let theme_ids: Vec<i64> = rows.iter().filter_map(|r| r.theme_id).collect();
    let themes: HashMap<i64, theme::Model> = theme::Entity::find()
        .filter(theme::Column::Id.is_in(theme_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let t = themes.get(&r.theme_id?)?;
            Some((
                r.item_id,
                Placement {
                    theme_id: t.id,
                    theme: t.display_label().to_string(),
                    by_human: r.by_human,
                },
            ))
        })
        .collect())
}

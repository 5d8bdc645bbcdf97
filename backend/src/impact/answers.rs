//! Customers who reported a theme say whether its fix worked for them: "Fixed for me" or
//! "Still a problem" from the links in the close-the-loop email (signed per customer and
//! theme; checking the signature is the caller's job, `http::web::fixed`).
//!
//! One answer per customer and theme: a second replaces the first (an upsert on the pair,
//! so a replayed click records nothing new). A sentence added to "still a problem" becomes a
//! ticket from that customer, placed in the theme by hand (so re-clustering keeps it there);
//! its external id is `fix:<theme>:<customer>`, so a replay stores it once.

use chrono::Utc;
use sea_orm::sea_query::{Expr, Func, OnConflict, SimpleExpr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QuerySelect,
};
use serde::Serialize;

use crate::db::entity::fix_answer::{self, FixOutcome};
use crate::db::entity::{customer, ticket};
use crate::db::items::{self, ItemKind};
use crate::intake::input::CustomerInput;
use crate::intake::redact::Redact;
use crate::intake::store::{store, Outcome, Source};
use crate::intake::validate::{ItemMeta, NewTicket};
use crate::themes::edits;
use crate::{validate, Error, Result};

/// The longest sentence a customer may add.
pub const MAX_COMMENT: usize = 2_000;

/// What the customers who answered said.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Tally {
    pub answered: u64,
    pub fixed: u64,
    pub still_a_problem: u64,
}

impl Tally {
    /// "confirmed fixed by 78 % of 41 customers who answered" (`None`: nobody answered).
    pub fn sentence(&self) -> Option<String> {
        (self.answered > 0).then(|| {
            let share = (100.0 * self.fixed as f64 / self.answered as f64).round();
            let who = if self.answered == 1 {
                "the 1 customer who answered".to_string()
            } else {
                format!("{} customers who answered", self.answered)
            };
            format!("confirmed fixed by {share} % of {who}")
        })
    }
}

/// The answers about `theme_id`, counted.
pub async fn tally<C: ConnectionTrait>(db: &C, theme_id: i64) -> Result<Tally> {
    let rows: Vec<(FixOutcome, i64)> = fix_answer::Entity::find()
        .select_only()
        .column(fix_answer::Column::Answer)
        .column_as(
            SimpleExpr::from(Func::count(Expr::col(fix_answer::Column::Id))),
            "n",
        )
        .filter(fix_answer::Column::ThemeId.eq(theme_id))
        .group_by(fix_answer::Column::Answer)
        .into_tuple()
        .all(db)
        .await?;
    let mut t = Tally::default();
    for (answer, n) in rows {
        let n = n.max(0) as u64;
        t.answered += n;
        match answer {
            FixOutcome::Fixed => t.fixed += n,
            FixOutcome::StillAProblem => t.still_a_problem += n,
        }
    }
    Ok(t)
}

/// The customer's current answer about the theme, if any.
pub async fn current<C: ConnectionTrait>(
    db: &C,
    customer_id: i64,
    theme_id: i64,
) -> Result<Option<fix_answer::Model>> {
    Ok(fix_answer::Entity::find()
        .filter(fix_answer::Column::ThemeId.eq(theme_id))
        .filter(fix_answer::Column::CustomerId.eq(customer_id))
        .one(db)
        .await?)
}

/// Records `answer` (replacing an earlier one); a `comment` with "still a problem" becomes
/// a ticket in the theme, masked for `redact` like any intake.
pub async fn record(
    db: &DatabaseConnection,
    customer_id: i64,
    theme_id: i64,
    answer: FixOutcome,
    comment: Option<String>,
    redact: Redact,
) -> Result<fix_answer::Model> {
    let comment = validate::optional("comment", comment, MAX_COMMENT)?;
    if comment.is_some() && answer != FixOutcome::StillAProblem {
        return Err(Error::invalid(
            "invalid_value",
            "comment",
            "a comment goes with \"still a problem\"",
        ));
    }
    let theme = edits::live(db, theme_id).await?;
    let who = customer::Entity::find_by_id(customer_id)
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("customer", customer_id))?;
    let item_id = match comment {
        Some(text) => {
            Some(follow_up(db, &who, theme.display_label(), theme_id, text, redact).await?)
        }
        None => None,
    };
    let row = fix_answer::ActiveModel {
        customer_id: Set(customer_id),
        theme_id: Set(theme_id),
        answer: Set(answer),
        item_id: Set(item_id),
        answered_at: Set(Utc::now()),
        ..Default::default()
    };
    let mut update = vec![fix_answer::Column::Answer, fix_answer::Column::AnsweredAt];
    if item_id.is_some() {
        update.push(fix_answer::Column::ItemId);
    }
    fix_answer::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([fix_answer::Column::ThemeId, fix_answer::Column::CustomerId])
                .update_columns(update)
                .to_owned(),
        )
        .exec(db)
        .await?;
    current(db, customer_id, theme_id)
        .await?
        .ok_or_else(|| Error::Internal("a recorded answer vanished".into()))
}

/// The customer's sentence as a ticket in the theme (once: a replay finds the stored one).
async fn follow_up(
    db: &DatabaseConnection,
    who: &customer::Model,
    label: &str,
    theme_id: i64,
    text: String,
    redact: Redact,
) -> Result<i64> {
    let external_id = format!("fix:{theme_id}:{}", who.id);
    let ticket = NewTicket {
        meta: ItemMeta {
            external_id: Some(external_id.clone()),
            customer: Some(CustomerInput {
                external_id: who.external_id.clone(),
                email: who.email.clone(),
                ..Default::default()
            })
            .filter(|c| c.external_id.is_some() || c.email.is_some()),
            created_at: Utc::now(),
        },
        subject: format!("Still a problem: {label}"),
        body: text,
        priority: "normal".into(),
        status: "open".into(),
        tags: vec!["still-a-problem".into()],
        source_updated_at: None,
    };
    let outcome = store(db, std::slice::from_ref(&ticket), Source::Web, redact).await?;
    let item_id = match outcome.first() {
        Some(Outcome::Created { item_id, .. }) => *item_id,
        _ => {
            let source: i64 = ticket::Entity::find()
                .select_only()
                .column(ticket::Column::Id)
                .filter(ticket::Column::ExternalId.eq(external_id))
                .into_tuple()
                .one(db)
                .await?
                .ok_or_else(|| Error::Internal("a duplicate follow-up has no ticket".into()))?;
            items::by_source(db, ItemKind::Ticket, source)
                .await?
                .ok_or_else(|| Error::Internal("a follow-up ticket has no item".into()))?
                .id
        }
    };
    let actor = crate::db::actors::Actor::Customer.stored();
    edits::move_item(db, item_id, Some(theme_id), &actor).await?;
    Ok(item_id)
}

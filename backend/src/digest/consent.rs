//! Double opt-in for the public survey page: an email typed there is only a claim, so
//! asking to hear back sends one mail with a signed link to that address, and only
//! following it (and pressing the button on the page it opens) opts the address in.
//!
//! Until then the answer belongs to no customer: it cannot change anyone's consent, nor
//! count in anyone's share of the backlog. Confirming ties the answer to the customer with
//! that email — created if new — and opts them in; the person proved the address is theirs.
//! The link signs the response id *and* the email, so it confirms nothing else.

use chrono::Utc;
use maud::html;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QuerySelect,
};

use super::signing;
use crate::db::entity::consent_event::ConsentSource;
use crate::db::entity::{customer, feedback_item, survey_response};
use crate::db::items::ItemKind;
use crate::db::mail::{self, NewMail};
use crate::db::outbox;
use crate::intake::customers;
use crate::intake::validate::CustomerRef;
use crate::{Error, Result};

fn message(response_id: i64, email: &str) -> String {
    format!("confirm:{response_id}:{email}")
}

/// The link that confirms response `response_id`'s request to hear back.
pub fn confirm_url(base_url: &str, key: &str, response_id: i64, email: &str) -> String {
    let sig = signing::sign(key, &message(response_id, email));
    format!("{base_url}/confirm-email?response={response_id}&sig={sig}")
}

/// Queues the confirmation mail for a response that asked to hear back (once per
/// response); false when there is nothing to confirm or it was queued before.
pub async fn request(
    db: &DatabaseConnection,
    base_url: &str,
    response_id: i64,
    survey_title: &str,
) -> Result<bool> {
    let Some(response) = survey_response::Entity::find_by_id(response_id)
        .one(db)
        .await?
    else {
        return Ok(false);
    };
    let Some(email) = response.respondent_email.as_deref() else {
        return Ok(false);
    };
    if !response.notify_requested {
        return Ok(false);
    }
    let key = signing::key(db).await?;
    let link = confirm_url(base_url, &key, response.id, email);
    let text = format!(
        "Hello,\n\nyou answered “{survey_title}” and asked to hear back when the problem you \
         described is fixed. Confirm that this address is yours and that you want that note:\n\n\
         {link}\n\nIf this was not you, ignore this email: nothing will be sent to you.\n"
    );
    let html = html! {
        p { "Hello," }
        p { "you answered “" (survey_title) "” and asked to hear back when the problem you described is fixed." }
        p { a href=(link) { "Confirm this address" } }
        p style="font-size:12px;color:#5b6474;" { "If this was not you, ignore this email: nothing will be sent to you." }
    }
    .into_string();
    mail::enqueue(
        db,
        NewMail {
            dedupe_key: format!("confirm:{}", response.id),
            kind: crate::db::mail::MailKind::Confirm,
            recipient: email.to_string(),
            subject: "Please confirm: hear back about your feedback".into(),
            text,
            html,
            unsubscribe_url: None,
        },
    )
    .await
}

/// The outcome of following a confirmation link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmed {
    /// Opted in now; the answer is the customer's.
    Now,
    /// The link was used before; nothing changed.
    Already,
}

/// Confirms response `response_id`'s request if `sig` is its link's signature: the customer
/// with the response's email (created if new) is opted in and the answer becomes theirs,
/// in one transaction. A wrong or cut-short link is a 400 naming `sig`.
pub async fn confirm(db: &DatabaseConnection, response_id: i64, sig: &str) -> Result<Confirmed> {
    let invalid = || {
        Error::invalid(
            "invalid_link",
            "sig",
            "this confirmation link is not valid (was it cut short?)",
        )
    };
    let key = signing::key(db).await?;
    let txn = crate::db::begin_write(db).await?;
    let response = survey_response::Entity::find_by_id(response_id)
        .one(&txn)
        .await?
        .ok_or_else(invalid)?;
    let email = response.respondent_email.clone().ok_or_else(invalid)?;
    if !response.notify_requested || !signing::verify(&key, &message(response_id, &email), sig) {
        return Err(invalid());
    }
    if response.notify_confirmed_at.is_some() {
        return Ok(Confirmed::Already);
    }
    let who = CustomerRef {
        email: Some(email),
        notify_opt_in: Some(true),
        ..Default::default()
    };
    let customer_id = customers::resolve(&txn, &[Some(&who)]).await?[0]
        .ok_or_else(|| Error::Internal("a confirmed email resolved to no customer".into()))?;
    if let Some(c) = customer::Entity::find_by_id(customer_id).one(&txn).await? {
        if !c.notify_opt_in {
            let mut am = c.into_active_model();
            am.notify_opt_in = Set(true);
            am.update(&txn).await?;
        }
    }
    crate::db::customers::record_consent(&txn, customer_id, true, ConsentSource::Confirmed).await?;
    let mut am = response.into_active_model();
    am.customer_id = Set(Some(customer_id));
    am.notify_confirmed_at = Set(Some(Utc::now()));
    am.update(&txn).await?;
    let of_response = sea_orm::Condition::all()
        .add(feedback_item::Column::Kind.eq(ItemKind::SurveyResponse))
        .add(feedback_item::Column::SourceId.eq(response_id));
    let ids: Vec<i64> = feedback_item::Entity::find()
        .select_only()
        .column(feedback_item::Column::Id)
        .filter(of_response.clone())
        .into_tuple()
        .all(&txn)
        .await?;
    // The answer now counts in the customer's share of the backlog (customers, value,
    // segment): the tallies move in this transaction like every change of an item's facts.
    let snap = crate::db::tallies::snapshot(&txn, &ids).await?;
    feedback_item::Entity::update_many()
        .col_expr(
            feedback_item::Column::CustomerId,
            sea_orm::sea_query::Expr::value(customer_id),
        )
        .filter(of_response)
        .exec(&txn)
        .await?;
    crate::db::tallies::commit(&txn, snap).await?;
    outbox::enqueue(&txn, outbox::TOPIC_INDEX, &ids).await?;
    txn.commit().await?;
    Ok(Confirmed::Now)
}

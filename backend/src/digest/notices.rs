//! Closing the loop: when a theme becomes `planned` or `shipped`, every customer who
//! contributed an item to it, left an email and opted in to hear back gets one short
//! email — at most one per customer, theme and status (`notice:<customer>:<theme>:<status>`
//! in the mail outbox), and none after they opt out.
//!
//! Notices are queued in the same transaction as the status change, so a change that is
//! saved always has its notices queued, and one that fails has none.

use maud::html;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use super::signing;
use crate::db::entity::backlog_entry::Status;
use crate::db::entity::fix_answer::FixOutcome;
use crate::db::entity::{backlog_entry, customer, feedback_item as item, item_theme, theme};
use crate::db::mail::{self, NewMail};
use crate::Result;

/// The signed link that stops notices to a customer.
pub fn opt_out_url(base_url: &str, key: &str, customer_id: i64) -> String {
    let sig = signing::sign(key, &format!("notice:{customer_id}"));
    format!("{base_url}/unsubscribe?customer={customer_id}&sig={sig}")
}

/// What an answer link signs: the customer and the theme (the answer itself is a choice
/// the customer makes, so it is not signed).
pub fn fixed_message(customer_id: i64, theme_id: i64) -> String {
    format!("fixed:{customer_id}:{theme_id}")
}

/// The signed link by which a customer says whether a shipped fix worked for them.
pub fn fixed_url(
    base_url: &str,
    key: &str,
    customer_id: i64,
    theme_id: i64,
    answer: FixOutcome,
) -> String {
    let sig = signing::sign(key, &fixed_message(customer_id, theme_id));
    format!(
        "{base_url}/fixed?customer={customer_id}&theme={theme_id}&answer={}&sig={sig}",
        answer.as_str()
    )
}

/// Queues the notices for `theme` reaching `status`; returns how many were new.
pub async fn queue<C: ConnectionTrait>(
    db: &C,
    base_url: &str,
    t: &theme::Model,
    status: Status,
) -> Result<u64> {
    if !status.is_announced() {
        return Ok(0);
    }
    let key = signing::key(db).await?;
    let label = t.display_label().to_string();
    let mut queued = 0;
    for c in recipients(db, t).await? {
        let m = notice_for(&c, base_url, &key, &label, status, t.id);
        if mail::enqueue(db, m).await? {
            queued += 1;
        }
    }
    Ok(queued)
}

/// What a status change would send, shown to the person making it before it is saved.
pub struct Preview {
    /// Customers who would get the note (opted in, with an email, not sent this one yet).
    pub recipients: usize,
    pub subject: String,
    /// The note as the first of them would read it.
    pub text: String,
}

/// The notes `theme` reaching `status` would send, or `None` when it sends none.
pub async fn preview<C: ConnectionTrait>(
    db: &C,
    base_url: &str,
    t: &theme::Model,
    status: Status,
) -> Result<Option<Preview>> {
    if !status.is_announced() {
        return Ok(None);
    }
    let key = signing::key(db).await?;
    let label = t.display_label().to_string();
    let (mut first, mut count) = (None, 0);
    for c in recipients(db, t).await? {
        let m = notice_for(&c, base_url, &key, &label, status, t.id);
        if mail::exists(db, &m.dedupe_key).await? {
            continue;
        }
        count += 1;
        first.get_or_insert((c, m));
    }
    Ok(first.map(|(c, _)| {
        // One customer's note, made general: not their name, nor their signed links (an
        // opt-out link works for whoever holds it).
        let mut c: customer::Model = c;
        c.name = Some("[their name]".into());
        let m = notice_for(&c, base_url, &key, &label, status, t.id);
        let text = m
            .text
            .split_inclusive(char::is_whitespace)
            .map(|w| match w.starts_with(base_url) {
                true => format!("[their own link]{}", &w[w.trim_end().len()..]),
                false => w.to_string(),
            })
            .collect();
        Preview {
            recipients: count,
            subject: m.subject,
            text,
        }
    }))
}

/// What setting theme `theme_id`'s status to `status` would send: `None` when the status
/// does not change, is not announced, or nobody is waiting to hear.
pub async fn preview_status_change<C: ConnectionTrait>(
    db: &C,
    base_url: &str,
    theme_id: i64,
    status: Status,
) -> Result<Option<Preview>> {
    let current = backlog_entry::Entity::find_by_id(theme_id)
        .one(db)
        .await?
        .map_or(Status::New, |e| e.status);
    if current == status {
        return Ok(None);
    }
    let Some(t) = theme::Entity::find_by_id(theme_id).one(db).await? else {
        return Ok(None);
    };
    preview(db, base_url, &t, status).await
}

/// Customers with an item in the theme who left an email and opted in to hear back.
async fn recipients<C: ConnectionTrait>(db: &C, t: &theme::Model) -> Result<Vec<customer::Model>> {
    let members: Vec<i64> = item_theme::Entity::find()
        .select_only()
        .column(item_theme::Column::ItemId)
        .filter(item_theme::Column::ThemeId.eq(t.id))
        .into_tuple()
        .all(db)
        .await?;
    let mut customer_ids = Vec::new();
    for chunk in members.chunks(1000) {
        let ids: Vec<Option<i64>> = item::Entity::find()
            .select_only()
            .column(item::Column::CustomerId)
            .filter(item::Column::Id.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        customer_ids.extend(ids.into_iter().flatten());
    }
    customer_ids.sort_unstable();
    customer_ids.dedup();
    let mut people = Vec::new();
    for chunk in customer_ids.chunks(1000) {
        people.extend(
            customer::Entity::find()
                .filter(customer::Column::Id.is_in(chunk.to_vec()))
                .filter(customer::Column::NotifyOptIn.eq(true))
                .filter(customer::Column::Email.is_not_null())
                .all(db)
                .await?,
        );
    }
    Ok(people)
}

/// The note to one customer, with their signed opt-out (and, once shipped, answer) links.
fn notice_for(
    c: &customer::Model,
    base_url: &str,
    key: &str,
    label: &str,
    status: Status,
    theme_id: i64,
) -> NewMail {
    let email = c.email.clone().unwrap_or_default();
    let opt_out = opt_out_url(base_url, key, c.id);
    let answer = |a| fixed_url(base_url, key, c.id, theme_id, a);
    let ask = (status == Status::Shipped)
        .then(|| (answer(FixOutcome::Fixed), answer(FixOutcome::StillAProblem)));
    notice(c, &email, label, status, &opt_out, ask, theme_id)
}

fn notice(
    c: &customer::Model,
    email: &str,
    label: &str,
    status: Status,
    opt_out: &str,
    ask: Option<(String, String)>,
    theme_id: i64,
) -> NewMail {
    let news = if status == Status::Shipped {
        "has been fixed"
    } else {
        "is now planned"
    };
    let hello = c
        .name
        .as_deref()
        .map_or("Hello".to_string(), |n| format!("Hello {n}"));
    let ask_text = ask.as_ref().map_or(String::new(), |(fixed, still)| {
        format!("Did it work for you? One click tells us:\n  Fixed for me: {fixed}\n  Still a problem: {still}\n\n")
    });
    let text = format!(
        "{hello},\n\nyou told us about this, so we wanted you to know: “{label}” {news}.\n\
         Thank you for taking the time to write to us.\n\n{ask_text}\
         Stop these notes: {opt_out}\n"
    );
    let html = html! {
        p { (hello) "," }
        p { "you told us about this, so we wanted you to know: “" strong { (label) } "” " (news) "." }
        p { "Thank you for taking the time to write to us." }
        @if let Some((fixed, still)) = &ask {
            p { "Did it work for you? " a href=(fixed) { "Fixed for me" } " · " a href=(still) { "Still a problem" } }
        }
        p style="font-size:12px;color:#5b6474;" { a href=(opt_out) style="color:#5b6474;" { "Stop these notes" } }
    }
    .into_string();
    NewMail {
        dedupe_key: format!("notice:{}:{theme_id}:{status}", c.id),
        kind: mail::MailKind::Notice,
        recipient: email.to_string(),
        subject: format!("Update: “{label}” {news}"),
        text,
        html,
        unsubscribe_url: Some(opt_out.to_string()),
    }
}

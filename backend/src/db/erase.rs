//! Removing stored items and mail for good: the storage half of erasure and retention.
//!
//! Everything here runs inside the caller's transaction, so an erasure is all or nothing.
//! Removing an item removes its source row (ticket, rating, survey response and its
//! answers), its embeddings and theme placement, corrects the size (and, when it was the
//! erased item, the representative) of the themes it was in, and queues an index and an
//! embedding job for it: the workers find the item gone and take it out of the search
//! index and the vector graph. A crash after the commit therefore loses nothing — the jobs
//! are in the database like the deletion itself.

use std::collections::BTreeSet;

use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect, Statement,
};

use super::entity::{
    embedding, feedback_item, item_theme, mail, rating, survey_answer, survey_response,
    theme_answer, ticket,
};
use super::items::ItemKind;
use super::mail::MailState;
use super::outbox;
use crate::Result;

/// What [`remove_items`] removed, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removed {
    pub item_ids: Vec<i64>,
    /// Themes that lost members.
    pub themes: Vec<i64>,
    /// The removed items' texts, to find them quoted elsewhere ([`scrub_mail_quoting`]).
    pub texts: Vec<String>,
    pub tickets: i64,
    pub ratings: i64,
    pub survey_responses: i64,
}

#[derive(FromQueryResult)]
struct ItemRef {
    id: i64,
    kind: ItemKind,
    source_id: i64,
    text: String,
}

/// Ids per statement: well inside every backend's bound-parameter limit.
const CHUNK: usize = 1000;

/// The items of `customer_id`, and the public-page survey answers left under `email` that
/// were never tied to a customer.
pub async fn items_of_customer<C: ConnectionTrait>(
    db: &C,
    customer_id: i64,
    email: Option<&str>,
) -> Result<Vec<i64>> {
    let mut ids: BTreeSet<i64> = feedback_item::Entity::find()
        .select_only()
        .column(feedback_item::Column::Id)
        .filter(feedback_item::Column::CustomerId.eq(customer_id))
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    if let Some(email) = email {
        let responses: Vec<i64> = survey_response::Entity::find()
            .select_only()
            .column(survey_response::Column::Id)
            .filter(
                Expr::expr(Func::lower(Expr::col(
                    survey_response::Column::RespondentEmail,
                )))
                .eq(email.to_lowercase()),
            )
            .into_tuple()
            .all(db)
            .await?;
        for chunk in responses.chunks(CHUNK) {
            ids.extend(
                feedback_item::Entity::find()
                    .select_only()
                    .column(feedback_item::Column::Id)
                    .filter(feedback_item::Column::Kind.eq(ItemKind::SurveyResponse))
                    .filter(feedback_item::Column::SourceId.is_in(chunk.to_vec()))
                    .into_tuple::<i64>()
                    .all(db)
                    .await?,
            );
        }
    }
    Ok(ids.into_iter().collect())
}

/// Ids of items created before `cutoff`, at most `limit` of them (oldest first).
pub async fn items_before<C: ConnectionTrait>(
    db: &C,
    cutoff: chrono::DateTime<chrono::Utc>,
    limit: u64,
) -> Result<Vec<i64>> {
    use sea_orm::QueryOrder;
    Ok(feedback_item::Entity::find()
        .select_only()
        .column(feedback_item::Column::Id)
        .filter(feedback_item::Column::CreatedAt.lt(cutoff))
        .order_by_asc(feedback_item::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?)
}

/// Removes these items and everything derived from them (see the module doc).
pub async fn remove_items<C: ConnectionTrait>(db: &C, item_ids: &[i64]) -> Result<Removed> {
    let mut removed = Removed::default();
    let mut themes: BTreeSet<i64> = BTreeSet::new();
    for chunk in item_ids.chunks(CHUNK) {
        super::webhooks::forget_items(db, chunk).await?;
        let refs = ItemRef::find_by_statement(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT id, kind, source_id, text FROM feedback_items WHERE id IN ({})",
                id_list(chunk)
            ),
        ))
        .all(db)
        .await?;
        let of = |k: ItemKind| -> Vec<i64> {
            refs.iter()
                .filter(|r| r.kind == k)
                .map(|r| r.source_id)
                .collect()
        };
        let (tickets, ratings, responses) = (
            of(ItemKind::Ticket),
            of(ItemKind::Rating),
            of(ItemKind::SurveyResponse),
        );
        let ids: Vec<i64> = refs.iter().map(|r| r.id).collect();
        removed.item_ids.extend(&ids);
        removed.texts.extend(refs.iter().map(|r| r.text.clone()));
        themes.extend(
            item_theme::Entity::find()
                .select_only()
                .column(item_theme::Column::ThemeId)
                .filter(item_theme::Column::ItemId.is_in(ids.clone()))
                .into_tuple::<Option<i64>>()
                .all(db)
                .await?
                .into_iter()
                .flatten(),
        );
        let snap = super::tallies::snapshot(db, &ids).await?;
        delete_in::<item_theme::Entity, _>(db, item_theme::Column::ItemId, &ids).await?;
        delete_in::<embedding::Entity, _>(db, embedding::Column::ItemId, &ids).await?;
        // What people said about these items goes with them (the keys cascade too).
        delete_in::<theme_answer::Entity, _>(db, theme_answer::Column::ItemA, &ids).await?;
        delete_in::<theme_answer::Entity, _>(db, theme_answer::Column::ItemB, &ids).await?;
        delete_in::<feedback_item::Entity, _>(db, feedback_item::Column::Id, &ids).await?;
        removed.tickets += delete_in::<ticket::Entity, _>(db, ticket::Column::Id, &tickets).await?;
        removed.ratings += delete_in::<rating::Entity, _>(db, rating::Column::Id, &ratings).await?;
        delete_in::<survey_answer::Entity, _>(db, survey_answer::Column::ResponseId, &responses)
            .await?;
        removed.survey_responses +=
            delete_in::<survey_response::Entity, _>(db, survey_response::Column::Id, &responses)
                .await?;
        outbox::enqueue(db, outbox::TOPIC_INDEX, &ids).await?;
        outbox::enqueue(db, outbox::TOPIC_EMBED, &ids).await?;
        super::tallies::commit(db, snap).await?;
    }
    removed.themes = themes.into_iter().collect();
    refresh_themes(db, &removed.themes).await?;
    Ok(removed)
}

/// Deletes the rows of `E` whose `column` is one of `ids`; how many.
async fn delete_in<E: EntityTrait, C: ConnectionTrait>(
    db: &C,
    column: E::Column,
    ids: &[i64],
) -> Result<i64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let done = E::delete_many()
        .filter(column.is_in(ids.to_vec()))
        .exec(db)
        .await?;
    Ok(done.rows_affected as i64)
}

/// Recounts these themes' members and, where the representative item is gone, picks the
/// member closest to the centre (highest similarity) instead.
async fn refresh_themes<C: ConnectionTrait>(db: &C, theme_ids: &[i64]) -> Result<()> {
    for chunk in theme_ids.chunks(CHUNK) {
        let list = id_list(chunk);
        db.execute(Statement::from_string(
            db.get_database_backend(),
            format!(
                "UPDATE themes SET size = (SELECT COUNT(*) FROM item_themes \
                 WHERE item_themes.theme_id = themes.id) WHERE id IN ({list})"
            ),
        ))
        .await?;
        db.execute(Statement::from_string(
            db.get_database_backend(),
            format!(
                "UPDATE themes SET representative_item_id = (SELECT item_id FROM item_themes \
                 WHERE item_themes.theme_id = themes.id \
                 ORDER BY similarity DESC, item_id LIMIT 1) \
                 WHERE id IN ({list}) AND (representative_item_id IS NULL OR NOT EXISTS \
                 (SELECT 1 FROM feedback_items WHERE feedback_items.id = \
                 themes.representative_item_id))"
            ),
        ))
        .await?;
    }
    Ok(())
}

/// Mail addressed to `email`: waiting mail is cancelled and sent mail leaves the log.
/// Returns (cancelled, removed).
pub async fn remove_mail_to<C: ConnectionTrait>(db: &C, email: &str) -> Result<(i64, i64)> {
    let to = Expr::expr(Func::lower(Expr::col(mail::Column::Recipient))).eq(email.to_lowercase());
    let sent = mail::Entity::delete_many()
        .filter(to.clone())
        .filter(mail::Column::State.eq(MailState::Sent))
        .exec(db)
        .await?
        .rows_affected as i64;
    let cancelled = mail::Entity::delete_many()
        .filter(to)
        .exec(db)
        .await?
        .rows_affected as i64;
    Ok((cancelled, sent))
}

/// Digests quote items (a line `   > <text>` in the text part): a digest already composed
/// or sent keeps a copy of an erased item's words. Every mail whose text quotes one of
/// `texts` has its body replaced by a note saying so. Returns how many mails changed.
pub async fn scrub_mail_quoting<C: ConnectionTrait>(db: &C, texts: &[String]) -> Result<i64> {
    // The start of each quote line is enough to find it (and rules out chance matches of
    // short texts inside other words).
    let needles: Vec<String> = texts
        .iter()
        .filter(|t| !t.trim().is_empty())
        .map(|t| format!("> {}", t.chars().take(80).collect::<String>()))
        .collect();
    if needles.is_empty() {
        return Ok(0);
    }
    let finder = aho_corasick::AhoCorasick::new(&needles)
        .map_err(|e| crate::Error::Internal(format!("building the quote finder: {e}")))?;
    let mut scrubbed = 0;
    let mut after = 0i64;
    loop {
        use sea_orm::QueryOrder;
        let page: Vec<(i64, String)> = mail::Entity::find()
            .select_only()
            .column(mail::Column::Id)
            .column(mail::Column::Text)
            .filter(mail::Column::Id.gt(after))
            .order_by_asc(mail::Column::Id)
            .limit(500)
            .into_tuple()
            .all(db)
            .await?;
        let Some((last, _)) = page.last() else { break };
        after = *last;
        let hit: Vec<i64> = page
            .iter()
            .filter(|(_, text)| finder.is_match(text))
            .map(|(id, _)| *id)
            .collect();
        if !hit.is_empty() {
            let note =
                "This message quoted feedback that has since been erased; its text was removed.";
            mail::Entity::update_many()
                .col_expr(mail::Column::Text, Expr::value(note))
                .col_expr(mail::Column::Html, Expr::value(format!("<p>{note}</p>")))
                .filter(mail::Column::Id.is_in(hit.clone()))
                .exec(db)
                .await?;
            scrubbed += hit.len() as i64;
        }
    }
    Ok(scrubbed)
}

/// SQLite only: copies the write-ahead log into the database file and empties it, so
/// pages that held erased rows before the erasure (deletes overwrite rows with zeros:
/// `secure_delete`) are not left behind in the log. Best effort: a reader holding an old
/// snapshot defers it to the next checkpoint, and that is logged.
pub async fn checkpoint(db: &sea_orm::DatabaseConnection) -> Result<()> {
    if db.get_database_backend() != sea_orm::DbBackend::Sqlite {
        return Ok(());
    }
    let row = db
        .query_one(Statement::from_string(
            sea_orm::DbBackend::Sqlite,
            "PRAGMA wal_checkpoint(TRUNCATE)",
        ))
        .await?;
    let busy: i64 = row.map_or(0, |r| r.try_get_by_index(0).unwrap_or(0));
    if busy != 0 {
        tracing::info!(
            "the log checkpoint after an erasure waits for a reader; the next one completes it"
        );
    }
    Ok(())
}

/// Ids as an SQL list: they are numbers from the database, never text from a request.
fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

//! Writing validated feedback: source rows, unified items and outbox jobs in one transaction.
//!
//! Every kind goes through [`store`]; a kind only says how to write its own rows
//! ([`Intake::insert_rows`]) and what its unified item looks like ([`Intake::content`]).
//! Source rows are inserted with `ON CONFLICT DO NOTHING`, so an external id that is
//! already stored is reported as a duplicate instead of failing the batch — that is
//! what makes imports idempotent and concurrent API retries safe.

use std::collections::{HashMap, HashSet};

use chrono::SubsecRound;

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, IntoActiveModel, QueryFilter, Statement, TryInsertResult,
};

use super::customers;
use super::redact::{redact_opt, Redact};
use super::score;
use super::validate::{ItemMeta, NewRating, NewResponse, NewTicket};
use crate::db::entity::feedback_item::ItemKind;
use crate::db::entity::{feedback_item, rating, survey_answer, survey_response, ticket};
use crate::db::{self, items, outbox, tallies};
use crate::{Error, Result};

/// Where an item came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Api,
    Import,
    Web,
    /// A webhook call from another tool (`POST /api/v1/hooks/{name}`).
    Hook,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Api => "api",
            Source::Import => "import",
            Source::Web => "web",
            Source::Hook => "hook",
        }
    }
}

/// What happened to one input of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stored: the source row's id and the unified feedback item's id.
    Created { id: i64, item_id: i64 },
    /// An item of this kind with the same external id was already stored; nothing changed.
    Duplicate { external_id: String },
}

/// The unified view of one item: what search, embeddings and themes read.
pub struct ItemContent {
    pub subject: Option<String>,
    pub text: String,
    pub score: Option<f64>,
}

/// One kind of feedback (ticket, rating, survey response).
pub trait Intake: Sized + Send + Sync + 'static {
    const KIND: ItemKind;
    /// The kind's own table, whose `external_id` column is unique.
    const TABLE: &'static str;
    fn meta(&self) -> &ItemMeta;
    fn content(&self) -> ItemContent;
    /// A copy with personal data masked in every free-text field (see [`super::redact`]).
    fn redacted(&self, kinds: Redact) -> Self;
    /// Writes the source rows, each with its resolved customer id. Returns, per input, the
    /// new row's id, or `None` when the external id was already taken.
    fn insert_rows<C: ConnectionTrait>(
        db: &C,
        rows: &[(&Self, Option<i64>)],
    ) -> impl std::future::Future<Output = Result<Vec<Option<i64>>>> + Send;
}

/// Stores a batch atomically: either every new item, its unified row and its outbox job are
/// committed, or nothing is. Text is masked for `redact` first: what is written, indexed
/// and embedded never held the personal data.
pub async fn store<T: Intake>(
    db: &DatabaseConnection,
    batch: &[T],
    source: Source,
    redact: Redact,
) -> Result<Vec<Outcome>> {
    let redacted: Vec<T>;
    let batch = if redact.is_empty() {
        batch
    } else {
        redacted = batch.iter().map(|i| i.redacted(redact)).collect();
        &redacted
    };
    let txn = crate::db::begin_write(db).await?;
    let refs: Vec<_> = batch.iter().map(|i| i.meta().customer.as_ref()).collect();
    let customer_ids = customers::resolve(&txn, &refs).await?;
    let rows: Vec<(&T, Option<i64>)> = batch.iter().zip(customer_ids).collect();
    let source_ids = T::insert_rows(&txn, &rows).await?;

    let mut new_items = Vec::new();
    for ((input, customer_id), source_id) in rows.iter().zip(&source_ids) {
        let Some(source_id) = source_id else { continue };
        let c = input.content();
        new_items.push(feedback_item::ActiveModel {
            kind: Set(T::KIND),
            source_id: Set(*source_id),
            source: Set(source.as_str().to_string()),
            customer_id: Set(*customer_id),
            subject: Set(c.subject),
            text: Set(c.text),
            score: Set(c.score),
            created_at: Set(input.meta().created_at),
            ..Default::default()
        });
    }
    let item_by_source: HashMap<i64, i64> = items::insert_many(&txn, new_items)
        .await?
        .into_iter()
        .map(|m| (m.source_id, m.id))
        .collect();
    let new_ids: Vec<i64> = item_by_source.values().copied().collect();
    outbox::enqueue(&txn, outbox::TOPIC_EMBED, &new_ids).await?;
    outbox::enqueue(&txn, outbox::TOPIC_INDEX, &new_ids).await?;
    tallies::commit(&txn, tallies::Snapshot::new_items(new_ids)).await?;
    item_created_events(&txn, &rows, &source_ids, &item_by_source, source).await?;
    txn.commit().await?;

    Ok(batch
        .iter()
        .zip(source_ids)
        .map(
            |(input, id)| match id.and_then(|id| Some((id, *item_by_source.get(&id)?))) {
                Some((id, item_id)) => Outcome::Created { id, item_id },
                None => Outcome::Duplicate {
                    external_id: input.meta().external_id.clone().unwrap_or_default(),
                },
            },
        )
        .collect())
}

/// Webhooks out: `item.created` for every new item, queued in its transaction (nothing is
/// built when no subscription wants it).
async fn item_created_events<T: Intake, C: ConnectionTrait>(
    txn: &C,
    rows: &[(&T, Option<i64>)],
    source_ids: &[Option<i64>],
    item_by_source: &HashMap<i64, i64>,
    source: Source,
) -> Result<()> {
    use crate::db::entity::webhook_subscription::EventType;
    use crate::db::webhooks::{self, Event};
    if item_by_source.is_empty()
        || webhooks::wanting(txn, EventType::ItemCreated)
            .await?
            .is_empty()
    {
        return Ok(());
    }
    let mut events = Vec::new();
    for ((input, customer_id), source_id) in rows.iter().zip(source_ids) {
        let Some(item_id) = source_id.and_then(|s| item_by_source.get(&s).copied()) else {
            continue;
        };
        let c = input.content();
        let kind = T::KIND.as_str();
        let summary = format!(
            "New {}: {}",
            kind.replace('_', " "),
            c.subject
                .as_deref()
                .unwrap_or(&c.text)
                .chars()
                .take(200)
                .collect::<String>()
        );
        events.push(Event::new(
            EventType::ItemCreated,
            item_id,
            serde_json::json!({
                "item_id": item_id,
                "kind": kind,
                "source": source.as_str(),
                "subject": c.subject,
                "text": c.text,
                "score": c.score,
                "customer_id": customer_id,
                "created_at": input.meta().created_at,
            }),
            summary,
        ));
    }
    webhooks::emit(txn, &events).await?;
    Ok(())
}

/// Stores one item (an API request) in its own transaction. Fails with 409 `conflict` on
/// `external_id` when an item of this kind with the same external id exists, naming its id.
/// The server goes through [`super::group`] instead, which shares transactions between
/// concurrent requests with the same outcome per request.
pub async fn store_one<T: Intake>(
    db: &DatabaseConnection,
    item: &T,
    source: Source,
    redact: Redact,
) -> Result<(i64, i64)> {
    let outcome = store(db, std::slice::from_ref(item), source, redact)
        .await?
        .pop();
    created_or_conflict(db, item, outcome).await
}

/// What a helpdesk's later word on a stored ticket did ([`update_ticket`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketUpdate {
    /// Status, priority or tags changed.
    Updated { item_id: i64 },
    /// Nothing to change (a replay, or a change to fields triage does not keep).
    Unchanged { item_id: i64 },
    /// Older than the state already stored (updates delivered out of order).
    Stale { item_id: i64 },
}

impl TicketUpdate {
    pub fn item_id(self) -> i64 {
        match self {
            Self::Updated { item_id } | Self::Unchanged { item_id } | Self::Stale { item_id } => {
                item_id
            }
        }
    }
}

/// Applies a helpdesk's newer state of the stored ticket with `t`'s external id: its status,
/// priority and tags. Subject and body stay as first filed — they are what was embedded,
/// themed and perhaps quoted; a ticket's later comments are not feedback triage reads.
/// `source_updated_at` orders updates: one not newer than the stored one changes nothing.
/// A priority change moves the backlog tallies in the same transaction.
pub async fn update_ticket(
    db: &DatabaseConnection,
    t: &NewTicket,
    redact: Redact,
) -> Result<TicketUpdate> {
    let Some(ext) = t.meta.external_id.clone() else {
        return Err(Error::Internal(
            "a ticket update without an external id".into(),
        ));
    };
    let mut t = t.redacted(redact);
    // As precise as both databases keep it (PostgreSQL: microseconds), so a repeat compares
    // equal to what was stored.
    t.source_updated_at = t.source_updated_at.map(|at| at.trunc_subsecs(6));
    let txn = crate::db::begin_write(db).await?;
    // Two updates of one ticket apply one after the other, each to what the other left.
    crate::db::lock_rows(&txn, "tickets", "external_id", [ext.clone()]).await?;
    let stored = ticket::Entity::find()
        .filter(ticket::Column::ExternalId.eq(ext.clone()))
        .one(&txn)
        .await?
        .ok_or_else(|| Error::not_found("ticket", ext.clone()))?;
    let item_id = items::by_source(&txn, ItemKind::Ticket, stored.id)
        .await?
        .map(|i| i.id)
        .ok_or_else(|| Error::Internal(format!("ticket {} has no item", stored.id)))?;
    if let (Some(new), Some(old)) = (t.source_updated_at, stored.source_updated_at) {
        if new <= old {
            return Ok(TicketUpdate::Stale { item_id });
        }
    }
    let tags =
        serde_json::to_string(&tags_after(&stored.tags, &t.tags)).unwrap_or_else(|_| "[]".into());
    let changed = stored.priority != t.priority || stored.status != t.status || stored.tags != tags;
    if !changed && t.source_updated_at.is_none() {
        // A repeat without a time (a trigger body sent again): nothing to write.
        return Ok(TicketUpdate::Unchanged { item_id });
    }
    let snap = if stored.priority != t.priority {
        Some(tallies::snapshot(&txn, &[item_id]).await?)
    } else {
        None
    };
    let mut am = stored.into_active_model();
    am.priority = Set(t.priority.clone());
    am.status = Set(t.status.clone());
    am.tags = Set(tags);
    if t.source_updated_at.is_some() {
        am.source_updated_at = Set(t.source_updated_at);
    }
    am.update(&txn).await?;
    if let Some(snap) = snap {
        tallies::commit(&txn, snap).await?;
    }
    txn.commit().await?;
    Ok(if changed {
        TicketUpdate::Updated { item_id }
    } else {
        TicketUpdate::Unchanged { item_id }
    })
}

/// A ticket's tags after an update to `new`: the update's, plus the stored labels of a
/// [`DERIVED_LABELS`](super::sources::DERIVED_LABELS) kind the update says nothing about.
fn tags_after(stored: &str, new: &[String]) -> Vec<String> {
    let old: Vec<String> = serde_json::from_str(stored).unwrap_or_default();
    let mut tags = new.to_vec();
    for prefix in super::sources::DERIVED_LABELS {
        if !new.iter().any(|t| t.starts_with(prefix)) {
            tags.extend(old.iter().filter(|t| t.starts_with(prefix)).cloned());
        }
    }
    tags.truncate(super::validate::MAX_TAGS);
    tags
}

/// One input's outcome as a single request sees it: the new ids, or 409 naming the item that
/// already holds the external id.
pub(crate) async fn created_or_conflict<T: Intake>(
    db: &DatabaseConnection,
    item: &T,
    outcome: Option<Outcome>,
) -> Result<(i64, i64)> {
    if let Some(Outcome::Created { id, item_id }) = outcome {
        return Ok((id, item_id));
    }
    let ext = item.meta().external_id.clone().unwrap_or_default();
    let sql = format!("SELECT id FROM {} WHERE external_id = $1", T::TABLE);
    let row = db
        .query_one(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            [ext.clone().into()],
        ))
        .await?;
    let existing: Option<i64> = row.map(|r| r.try_get("", "id")).transpose()?;
    Err(Error::Conflict {
        field: "external_id".into(),
        message: format!(
            "a {} with external_id {ext:?} already exists (id {})",
            T::KIND.as_str().replace('_', " "),
            existing.map_or_else(|| "unknown".to_string(), |id| id.to_string())
        ),
    })
}

/// Inserts one source row per input (built by `to_model` from the input and its customer id),
/// skipping external ids already stored. Returns the new id per input, `None` for skipped
/// ones. Rows that all carry distinct external ids go in as multi-row statements, matched
/// back by external id; otherwise one statement per row.
pub(crate) async fn insert_skipping_duplicates<T, A, C>(
    db: &C,
    rows: &[(&T, Option<i64>)],
    to_model: impl Fn(&T, Option<i64>) -> A,
    key_of: impl Fn(&<A::Entity as EntityTrait>::Model) -> (Option<String>, i64),
    params_per_row: usize,
) -> Result<Vec<Option<i64>>>
where
    T: Intake,
    A: ActiveModelTrait + Send + Clone,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
    C: ConnectionTrait,
{
    let external_ids: Vec<Option<&String>> = rows
        .iter()
        .map(|(t, _)| t.meta().external_id.as_ref())
        .collect();
    if external_ids.iter().any(Option::is_none) {
        let mut out = Vec::with_capacity(rows.len());
        for (t, c) in rows {
            out.push(
                db::insert_or_skip(db, to_model(t, *c))
                    .await?
                    .map(|m| key_of(&m).1),
            );
        }
        return Ok(out);
    }
    // All keyed: one multi-row statement per chunk, over the first row of each key (a key
    // repeated within the batch is a duplicate of that first row).
    let mut seen = HashSet::new();
    let models: Vec<A> = rows
        .iter()
        .zip(&external_ids)
        .filter(|(_, k)| seen.insert(*k))
        .map(|((t, c), _)| to_model(t, *c))
        .collect();
    let mut by_key: HashMap<String, i64> = HashMap::with_capacity(models.len());
    for chunk in db::chunks_for(&models, params_per_row) {
        let r = A::Entity::insert_many(chunk.to_vec())
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .do_nothing()
            .exec_with_returning_many(db)
            .await?;
        if let TryInsertResult::Inserted(rows) = r {
            for m in rows {
                if let (Some(k), id) = key_of(&m) {
                    by_key.insert(k, id);
                }
            }
        }
    }
    let mut claimed = HashSet::new();
    Ok(external_ids
        .iter()
        .map(|k| {
            let k = (*k)?;
            let id = by_key.get(k).copied()?;
            claimed.insert(k).then_some(id)
        })
        .collect())
}

impl Intake for NewTicket {
    const KIND: ItemKind = ItemKind::Ticket;
    const TABLE: &'static str = "tickets";

    fn meta(&self) -> &ItemMeta {
        &self.meta
    }

    fn redacted(&self, kinds: Redact) -> Self {
        let mask = |t: &str| super::redact::redact(t, kinds).into_owned();
        NewTicket {
            subject: mask(&self.subject),
            body: mask(&self.body),
            tags: self.tags.iter().map(|t| mask(t)).collect(),
            ..self.clone()
        }
    }

    fn content(&self) -> ItemContent {
        ItemContent {
            subject: Some(self.subject.clone()),
            text: self.body.clone(),
            score: None,
        }
    }

    async fn insert_rows<C: ConnectionTrait>(
        db: &C,
        rows: &[(&Self, Option<i64>)],
    ) -> Result<Vec<Option<i64>>> {
        let to_model = |t: &Self, customer_id| ticket::ActiveModel {
            subject: Set(t.subject.clone()),
            body: Set(t.body.clone()),
            priority: Set(t.priority.clone()),
            status: Set(t.status.clone()),
            tags: Set(serde_json::to_string(&t.tags).unwrap_or_else(|_| "[]".into())),
            customer_id: Set(customer_id),
            external_id: Set(t.meta.external_id.clone()),
            created_at: Set(t.meta.created_at),
            source_updated_at: Set(t.source_updated_at),
            ..Default::default()
        };
        insert_skipping_duplicates(
            db,
            rows,
            to_model,
            |m: &ticket::Model| (m.external_id.clone(), m.id),
            9,
        )
        .await
    }
}

impl Intake for NewRating {
    const KIND: ItemKind = ItemKind::Rating;
    const TABLE: &'static str = "ratings";

    fn meta(&self) -> &ItemMeta {
        &self.meta
    }

    fn redacted(&self, kinds: Redact) -> Self {
        NewRating {
            subject: redact_opt(&self.subject, kinds),
            comment: redact_opt(&self.comment, kinds),
            ..self.clone()
        }
    }

    fn content(&self) -> ItemContent {
        ItemContent {
            subject: self.subject.clone(),
            text: self.comment.clone().unwrap_or_default(),
            score: Some(score::one_to_five(self.score)),
        }
    }

    async fn insert_rows<C: ConnectionTrait>(
        db: &C,
        rows: &[(&Self, Option<i64>)],
    ) -> Result<Vec<Option<i64>>> {
        let to_model = |r: &Self, customer_id| rating::ActiveModel {
            score: Set(r.score),
            subject: Set(r.subject.clone()),
            comment: Set(r.comment.clone()),
            customer_id: Set(customer_id),
            external_id: Set(r.meta.external_id.clone()),
            created_at: Set(r.meta.created_at),
            ..Default::default()
        };
        insert_skipping_duplicates(
            db,
            rows,
            to_model,
            |m: &rating::Model| (m.external_id.clone(), m.id),
            6,
        )
        .await
    }
}

impl Intake for NewResponse {
    const KIND: ItemKind = ItemKind::SurveyResponse;
    const TABLE: &'static str = "survey_responses";

    fn meta(&self) -> &ItemMeta {
        &self.meta
    }

    /// The survey's title is the team's own words; the answers are the customer's.
    fn redacted(&self, kinds: Redact) -> Self {
        let mut r = self.clone();
        for a in &mut r.answers {
            a.text = redact_opt(&a.text, kinds);
        }
        r
    }

    fn content(&self) -> ItemContent {
        let text: Vec<&str> = self
            .answers
            .iter()
            .filter_map(|a| a.text.as_deref())
            .collect();
        let numeric = |kind: &str| {
            self.answers
                .iter()
                .find(|a| a.kind == kind)
                .and_then(|a| a.number)
        };
        let score = numeric("nps")
            .map(score::nps)
            .or_else(|| numeric("csat").map(score::one_to_five));
        ItemContent {
            subject: Some(self.survey_title.clone()),
            text: text.join("\n"),
            score,
        }
    }

    async fn insert_rows<C: ConnectionTrait>(
        db: &C,
        rows: &[(&Self, Option<i64>)],
    ) -> Result<Vec<Option<i64>>> {
        let to_model = |r: &Self, customer_id| survey_response::ActiveModel {
            survey_id: Set(r.survey_id),
            customer_id: Set(customer_id),
            external_id: Set(r.meta.external_id.clone()),
            created_at: Set(r.meta.created_at),
            respondent_email: Set(r.respondent.as_ref().map(|p| p.email.clone())),
            notify_requested: Set(r.respondent.as_ref().is_some_and(|p| p.notify)),
            ..Default::default()
        };
        let ids = insert_skipping_duplicates(
            db,
            rows,
            to_model,
            |m: &survey_response::Model| (m.external_id.clone(), m.id),
            6,
        )
        .await?;
        let mut answers = Vec::new();
        for ((r, _), id) in rows.iter().zip(&ids) {
            let Some(response_id) = id else { continue };
            answers.extend(r.answers.iter().map(|a| survey_answer::ActiveModel {
                response_id: Set(*response_id),
                question_id: Set(a.question_id),
                number_value: Set(a.number),
                text_value: Set(a.text.clone()),
                ..Default::default()
            }));
        }
        for chunk in db::chunks_for(&answers, 4) {
            survey_answer::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(db)
                .await?;
        }
        Ok(ids)
    }
}

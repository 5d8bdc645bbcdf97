//! Rollouts: a theme's change reached some customer segments, or everyone, on a day.
//! "Enterprise on 3 March, everyone on 20 March" is two rollouts; together they make the
//! cohorts whose feedback [`super::measure`] compares.
//!
//! A rollout can be recorded once a theme is `in_progress` or `shipped` (a change being
//! built may already be in some customers' hands). Each add, edit and removal is one
//! transaction with its `backlog_changes` row (field `rollout`), so the theme's history
//! shows who changed which rollout from what to what.

use chrono::{NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
};
use serde::{Deserialize, Serialize};

use crate::backlog::workflow::Status;
use crate::db::entity::{backlog_change, backlog_entry, rollout};
use crate::themes::edits::live;
use crate::validate;
use crate::{Error, Result};

/// Segments one rollout can name.
const MAX_SEGMENTS: usize = 50;
/// How far ahead a rollout may be planned.
const MAX_DAYS_AHEAD: i64 = 366;

/// A new rollout (`POST`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRollout {
    /// The UTC day the change reached its customers (`YYYY-MM-DD`, from 2000 to a year
    /// ahead; a day that does not exist or lies outside that range is a 422).
    #[schema(example = "2026-03-03", pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub starts_on: String,
    /// The customer segments that got it first (1 to 50 names); absent or null: everyone
    /// not reached by an earlier rollout.
    #[serde(default)]
    #[schema(schema_with = segments_schema)]
    pub segments: Option<Vec<String>>,
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// A change to a rollout (`PATCH`): absent fields are left alone; `segments: null` widens
/// it to everyone.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolloutChange {
    #[schema(example = "2026-03-03", pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub starts_on: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = segments_schema)]
    pub segments: Option<Option<Vec<String>>>,
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// `segments`: null, or 1 to [`MAX_SEGMENTS`] names, each not blank and at most 100
/// characters.
fn segments_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(100))
                .pattern(Some(crate::intake::input::NOT_BLANK)),
        )
        .min_items(Some(1))
        .max_items(Some(MAX_SEGMENTS))
        .build()
}

/// A field that may be sent as null: `Some(None)`, where absent is `None`.
fn present<'de, D, T>(d: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A rollout as the API and the theme page show it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Rollout {
    pub id: i64,
    pub theme_id: i64,
    pub starts_on: NaiveDate,
    /// `null`: everyone not reached by an earlier rollout.
    pub segments: Option<Vec<String>>,
    pub note: String,
    pub updated_at: chrono::DateTime<Utc>,
}

impl Rollout {
    fn of(m: rollout::Model) -> Self {
        Self {
            segments: m.segment_list(),
            id: m.id,
            theme_id: m.theme_id,
            starts_on: m.starts_on,
            note: m.note,
            updated_at: m.updated_at,
        }
    }

    /// "enterprise, smb from 2026-03-03" / "everyone from 2026-03-20 (beta flag)": the
    /// history's words.
    pub fn describe(&self) -> String {
        match self.note.as_str() {
            "" => format!("{} from {}", self.who(), self.starts_on),
            n => format!("{} from {} ({n})", self.who(), self.starts_on),
        }
    }

    /// "enterprise, smb" or "everyone".
    pub fn who(&self) -> String {
        self.segments
            .as_ref()
            .map_or_else(|| "everyone".into(), |s| s.join(", "))
    }
}

/// A `YYYY-MM-DD` day: not that shape is a 400; a day that does not exist, or lies before
/// 2000 or more than a year ahead, a 422 (the document can say the shape, not the calendar).
fn starts_on(text: &str) -> Result<NaiveDate> {
    let t = text.trim();
    let shaped = t.len() == 10
        && t.char_indices().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shaped {
        return Err(Error::invalid(
            "invalid_value",
            "starts_on",
            format!("starts_on must be a YYYY-MM-DD date, got {text:?}"),
        ));
    }
    let today = Utc::now().date_naive();
    let earliest = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
    match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        Ok(day) if day >= earliest && day <= today + chrono::Duration::days(MAX_DAYS_AHEAD) => {
            Ok(day)
        }
        _ => Err(Error::unprocessable(
            "out_of_range",
            "starts_on",
            format!("starts_on must be a day between 2000-01-01 and a year from today, got {t}"),
        )),
    }
}

fn segments(list: Option<Vec<String>>) -> Result<Option<Vec<String>>> {
    let Some(list) = list else { return Ok(None) };
    if list.is_empty() {
        return Err(Error::invalid(
            "invalid_value",
            "segments",
            "segments must name at least one segment; send null for everyone",
        ));
    }
    if list.len() > MAX_SEGMENTS {
        return Err(Error::invalid(
            "too_long",
            "segments",
            format!("segments may name at most {MAX_SEGMENTS} segments"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, s) in list.into_iter().enumerate() {
        let s = validate::required(&format!("segments[{i}]"), &s, 100)?;
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(Some(out))
}

fn note(text: Option<String>) -> Result<Option<String>> {
    text.map(|n| validate::optional("note", Some(n), 2_000).map(Option::unwrap_or_default))
        .transpose()
}

/// The theme's rollouts, earliest first.
pub async fn list<C: ConnectionTrait>(db: &C, theme_id: i64) -> Result<Vec<Rollout>> {
    Ok(rollout::Entity::find()
        .filter(rollout::Column::ThemeId.eq(theme_id))
        .order_by_asc(rollout::Column::StartsOn)
        .order_by_asc(rollout::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Rollout::of)
        .collect())
}

/// Every theme's rollouts, earliest first within each theme.
pub async fn all<C: ConnectionTrait>(
    db: &C,
) -> Result<std::collections::HashMap<i64, Vec<Rollout>>> {
    let mut out: std::collections::HashMap<i64, Vec<Rollout>> = Default::default();
    for r in rollout::Entity::find()
        .order_by_asc(rollout::Column::StartsOn)
        .order_by_asc(rollout::Column::Id)
        .all(db)
        .await?
    {
        out.entry(r.theme_id).or_default().push(Rollout::of(r));
    }
    Ok(out)
}

/// Records a rollout of a theme that is in progress or shipped.
pub async fn add(
    db: &DatabaseConnection,
    theme_id: i64,
    input: NewRollout,
    actor: &str,
) -> Result<Rollout> {
    let day = starts_on(&input.starts_on)?;
    let segs = segments(input.segments)?;
    let note = note(input.note)?.unwrap_or_default();
    let txn = crate::db::begin_write(db).await?;
    live(&txn, theme_id).await?;
    let status = backlog_entry::Entity::find_by_id(theme_id)
        .one(&txn)
        .await?
        .map_or(Status::New, |e| e.status);
    if !matches!(status, Status::InProgress | Status::Shipped) {
        return Err(Error::Conflict {
            field: "status".into(),
            message: format!(
                "a rollout can be recorded once the theme is in progress or shipped; it is {}",
                status.label()
            ),
        });
    }
    let now = Utc::now();
    let saved = rollout::ActiveModel {
        theme_id: Set(theme_id),
        starts_on: Set(day),
        segments: Set(segs.map(|s| serde_json::Value::from(s).to_string())),
        note: Set(note),
        created_at: Set(now),
        updated_at: Set(now),
        updated_by: Set(actor.into()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let saved = Rollout::of(saved);
    record(&txn, theme_id, None, Some(saved.describe()), actor).await?;
    txn.commit().await?;
    Ok(saved)
}

/// Changes a rollout's day, segments or note.
pub async fn update(
    db: &DatabaseConnection,
    theme_id: i64,
    rollout_id: i64,
    input: RolloutChange,
    actor: &str,
) -> Result<Rollout> {
    let day = input.starts_on.as_deref().map(starts_on).transpose()?;
    let segs = input.segments.map(segments).transpose()?;
    let note = note(input.note)?;
    let txn = crate::db::begin_write(db).await?;
    let row = one(&txn, theme_id, rollout_id).await?;
    let before = Rollout::of(row.clone());
    let mut am = row.into_active_model();
    if let Some(d) = day {
        am.starts_on = Set(d);
    }
    if let Some(s) = segs {
        am.segments = Set(s.map(|s| serde_json::Value::from(s).to_string()));
    }
    if let Some(n) = note {
        am.note = Set(n);
    }
    am.updated_at = Set(Utc::now());
    am.updated_by = Set(actor.into());
    let after = Rollout::of(am.update(&txn).await?);
    if (after.starts_on, &after.segments, &after.note)
        == (before.starts_on, &before.segments, &before.note)
    {
        // Nothing changed: no history row, and the stored row as it was.
        return Ok(before);
    }
    record(
        &txn,
        theme_id,
        Some(before.describe()),
        Some(after.describe()),
        actor,
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// Removes a rollout recorded by mistake.
pub async fn remove(
    db: &DatabaseConnection,
    theme_id: i64,
    rollout_id: i64,
    actor: &str,
) -> Result<()> {
    let txn = crate::db::begin_write(db).await?;
    let row = one(&txn, theme_id, rollout_id).await?;
    let gone = Rollout::of(row.clone());
    rollout::Entity::delete_by_id(row.id).exec(&txn).await?;
    record(&txn, theme_id, Some(gone.describe()), None, actor).await?;
    txn.commit().await?;
    Ok(())
}

async fn one<C: ConnectionTrait>(db: &C, theme_id: i64, rollout_id: i64) -> Result<rollout::Model> {
    rollout::Entity::find_by_id(rollout_id)
        .filter(rollout::Column::ThemeId.eq(theme_id))
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("rollout", rollout_id))
}

async fn record<C: ConnectionTrait>(
    db: &C,
    theme_id: i64,
    before: Option<String>,
    after: Option<String>,
    actor: &str,
) -> Result<()> {
    backlog_change::ActiveModel {
        theme_id: Set(theme_id),
        field: Set("rollout".into()),
        before: Set(before),
        after: Set(after),
        actor: Set(actor.into()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

//! Who gets the weekly digest, when, and about what.
//!
//! New product managers are subscribed by default (Monday 09:00 UTC), everyone else opts
//! in from the settings page. Unsubscribing (from the email's link or the settings page)
//! keeps the row with `active = false`, so subscribing again restores the choices.

use chrono::Utc;
use chrono_tz::Tz;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    TransactionTrait,
};

use crate::backlog::workflow::Status;
use crate::db::entity::subscription::{self, Column, Entity as Subscriptions};
use crate::db::entity::user;
use crate::db::tokens::Role;
use crate::db::users;
use crate::{Error, Result};

/// Creates a web UI account ([`users::create`]); a product manager is subscribed with the
/// default choices in the same transaction.
pub async fn create_user(
    db: &DatabaseConnection,
    email: &str,
    name: &str,
    role: Role,
    password: &str,
) -> Result<user::Model> {
    let txn = db.begin().await?;
    let u = users::create(&txn, email, name, role, password).await?;
    if role == Role::Pm {
        save(&txn, u.id, Choice::default()).await?;
    }
    txn.commit().await?;
    Ok(u)
}

/// Weekday (1 = Monday), hour, time zone, filters, on/off.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub weekday: i32,
    pub hour: i32,
    pub time_zone: String,
    pub segment: Option<String>,
    pub status: Option<String>,
    pub active: bool,
}

impl Default for Choice {
    fn default() -> Self {
        Self {
            weekday: 1,
            hour: 9,
            time_zone: "UTC".into(),
            segment: None,
            status: None,
            active: true,
        }
    }
}

impl From<subscription::Model> for Choice {
    fn from(s: subscription::Model) -> Self {
        Self {
            weekday: s.weekday,
            hour: s.hour,
            time_zone: s.time_zone,
            segment: s.segment,
            status: s.status,
            active: s.active,
        }
    }
}

impl Choice {
    /// Checks every field, naming the first that is wrong.
    pub fn validate(self) -> Result<Self> {
        if !(1..=7).contains(&self.weekday) {
            return Err(Error::invalid(
                "out_of_range",
                "weekday",
                "weekday must be 1 (Monday) to 7 (Sunday)",
            ));
        }
        if !(0..=23).contains(&self.hour) {
            return Err(Error::invalid(
                "out_of_range",
                "hour",
                "hour must be 0 to 23",
            ));
        }
        self.time_zone.parse::<Tz>().map_err(|_| {
            Error::invalid(
                "invalid_value",
                "time_zone",
                format!(
                    "time_zone must be an IANA zone such as Europe/Berlin, got {:?}",
                    self.time_zone
                ),
            )
        })?;
        if let Some(s) = &self.status {
            if s != "open" && Status::parse(s).is_none() {
                return Err(Error::invalid(
                    "invalid_value",
                    "status",
                    format!("status must be open or one of {}", Status::names()),
                ));
            }
        }
        Ok(self)
    }
}

pub async fn get<C: ConnectionTrait>(db: &C, user_id: i64) -> Result<Option<subscription::Model>> {
    Ok(Subscriptions::find()
        .filter(Column::UserId.eq(user_id))
        .one(db)
        .await?)
}

/// Creates or replaces the user's subscription.
pub async fn save<C: ConnectionTrait>(
    db: &C,
    user_id: i64,
    c: Choice,
) -> Result<subscription::Model> {
    let c = c.validate()?;
    let now = Utc::now();
    Subscriptions::insert(subscription::ActiveModel {
        user_id: Set(user_id),
        weekday: Set(c.weekday),
        hour: Set(c.hour),
        time_zone: Set(c.time_zone),
        segment: Set(c.segment),
        status: Set(c.status),
        active: Set(c.active),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::column(Column::UserId)
            .update_columns([
                Column::Weekday,
                Column::Hour,
                Column::TimeZone,
                Column::Segment,
                Column::Status,
                Column::Active,
                Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec(db)
    .await?;
    get(db, user_id)
        .await?
        .ok_or_else(|| Error::Internal("subscription vanished after saving".into()))
}

/// Turns the digest off (or on) and keeps the other choices.
pub async fn set_active<C: ConnectionTrait>(db: &C, user_id: i64, active: bool) -> Result<()> {
    let mut c: Choice = get(db, user_id)
        .await?
        .map(Choice::from)
        .unwrap_or_default();
    c.active = active;
    save(db, user_id, c).await.map(|_| ())
}

/// Every active subscription.
pub async fn active<C: ConnectionTrait>(db: &C) -> Result<Vec<subscription::Model>> {
    Ok(Subscriptions::find()
        .filter(Column::Active.eq(true))
        .all(db)
        .await?)
}

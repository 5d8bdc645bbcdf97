//! Deciding which digests are due and putting them in the mail outbox.
//!
//! The digest a recipient gets during ISO week W reports on week W−1 (the last complete
//! week), and its outbox key is `digest:<user>:<W−1>`: whichever replica inserts that row
//! first sends it, everyone else skips. It is due once the recipient's local weekday and
//! hour (their time zone) reach the ones they chose.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::compose::{gather, Content, Scope};
use super::render::{render, Links};
use super::signing;
use super::subscriptions;
use super::week::IsoWeek;
use crate::backlog::workflow::parse_statuses;
use crate::db::entity::{subscription, user};
use crate::db::mail::{self, NewMail};
use crate::{Config, Result};
use sea_orm::{ConnectionTrait, EntityTrait};

pub fn dedupe_key(user_id: i64, week: IsoWeek) -> String {
    format!("digest:{user_id}:{week}")
}

/// The week whose digest is due for `sub` at `now`, if one is.
pub fn due_week(sub: &subscription::Model, now: DateTime<Utc>) -> Option<IsoWeek> {
    let tz: Tz = sub.time_zone.parse().unwrap_or(Tz::UTC);
    let local = now.with_timezone(&tz);
    let weekday = local.weekday().number_from_monday() as i32;
    let reached = (weekday, local.hour() as i32) >= (sub.weekday, sub.hour);
    reached.then(|| IsoWeek::of(local.date_naive()).previous())
}

/// The signed one-click unsubscribe link of a user's digest.
pub async fn unsubscribe_url<C: ConnectionTrait>(
    db: &C,
    config: &Config,
    user_id: i64,
) -> Result<String> {
    let key = signing::key(db).await?;
    let sig = signing::sign(&key, &format!("digest:{user_id}"));
    Ok(format!(
        "{}/unsubscribe?user={user_id}&sig={sig}",
        config.base_url
    ))
}

fn scope(sub: Option<&subscription::Model>) -> Result<Scope> {
    Ok(Scope {
        segment: sub.and_then(|s| s.segment.clone()),
        statuses: parse_statuses(sub.and_then(|s| s.status.as_deref()).unwrap_or(""))?,
    })
}

/// The digest `u` would get for `week`, ready to store.
pub async fn compose<C: ConnectionTrait>(
    db: &C,
    config: &Config,
    u: &user::Model,
    sub: Option<&subscription::Model>,
    week: IsoWeek,
) -> Result<NewMail> {
    Composer::default().compose(db, config, u, sub, week).await
}

/// Composes many digests, gathering the content of each (week, scope) once: subscribers who
/// follow the same segment and statuses get the same figures, each rendered with their own
/// name and unsubscribe link.
#[derive(Default)]
pub struct Composer {
    gathered: HashMap<(IsoWeek, Scope), Content>,
}

impl Composer {
    pub async fn compose<C: ConnectionTrait>(
        &mut self,
        db: &C,
        config: &Config,
        u: &user::Model,
        sub: Option<&subscription::Model>,
        week: IsoWeek,
    ) -> Result<NewMail> {
        let key = (week, scope(sub)?);
        let content = match self.gathered.get(&key) {
            Some(c) => c,
            None => {
                let c = gather(
                    db,
                    &config.backlog_weights,
                    config.impact_weeks,
                    week,
                    &key.1,
                )
                .await?;
                self.gathered.entry(key).or_insert(c)
            }
        };
        let unsubscribe = unsubscribe_url(db, config, u.id).await?;
        let r = render(
            content,
            &u.name,
            &Links {
                base_url: &config.base_url,
                unsubscribe: &unsubscribe,
            },
        );
        Ok(NewMail {
            dedupe_key: dedupe_key(u.id, week),
            kind: crate::db::mail::MailKind::Digest,
            recipient: u.email.clone(),
            subject: r.subject,
            text: r.text,
            html: r.html,
            unsubscribe_url: Some(unsubscribe),
        })
    }
}

#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct Queued {
    /// Digests put in the outbox by this call.
    pub queued: u64,
    /// Recipients whose digest for the week was already there (sent or on its way).
    pub skipped: u64,
}

/// Queues the digest of every active subscriber: for `week` when given (by hand), else for
/// whoever is due at `now` (the scheduler).
pub async fn enqueue<C: ConnectionTrait>(
    db: &C,
    config: &Config,
    week: Option<IsoWeek>,
    now: DateTime<Utc>,
) -> Result<Queued> {
    let mut out = Queued::default();
    let mut composer = Composer::default();
    for sub in subscriptions::active(db).await? {
        let Some(w) = week.or_else(|| due_week(&sub, now)) else {
            continue;
        };
        let Some(u) = user::Entity::find_by_id(sub.user_id).one(db).await? else {
            continue;
        };
        if u.disabled {
            continue;
        }
        if mail::exists(db, &dedupe_key(u.id, w)).await? {
            out.skipped += 1;
            continue;
        }
        // Composing takes a moment; another replica may win the insert meanwhile.
        let m = composer.compose(db, config, &u, Some(&sub), w).await?;
        if mail::enqueue(db, m).await? {
            out.queued += 1;
        } else {
            out.skipped += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(weekday: i32, hour: i32, tz: &str) -> subscription::Model {
        subscription::Model {
            id: 1,
            user_id: 1,
            weekday,
            hour,
            time_zone: tz.into(),
            segment: None,
            status: None,
            active: true,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn due_once_the_local_hour_is_reached_and_reports_last_week() {
        // Monday 2026-11-23 08:30 UTC is 09:30 in Berlin.
        let now: DateTime<Utc> = "2026-11-23T08:30:00Z".parse().unwrap();
        assert_eq!(due_week(&sub(1, 9, "UTC"), now), None);
        assert_eq!(
            due_week(&sub(1, 9, "Europe/Berlin"), now).map(|w| w.to_string()),
            Some("2026-W47".into())
        );
        // Later in the week it stays due (a server that was down catches up).
        let thursday: DateTime<Utc> = "2026-11-26T10:00:00Z".parse().unwrap();
        assert_eq!(
            due_week(&sub(1, 9, "UTC"), thursday).map(|w| w.to_string()),
            Some("2026-W47".into())
        );
        assert_eq!(due_week(&sub(5, 9, "UTC"), thursday), None);
    }
}

//! Events that are states, found by looking: `theme.rising` (a theme the backlog marks
//! rising, as the digest does — once per theme and ISO week) and `theme.impact_measured`
//! (a shipped theme whose latest rollout's effect became measurable — once per rollout).
//! Every [`EVERY`], by one process at a time (a lease); finding the same event again queues
//! nothing (its id is the same).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde_json::json;

use crate::backlog::{self, Filter};
use crate::db::webhooks::{self, Event};
use crate::digest::week::IsoWeek;
use crate::jobs::lease::{Leases, Work};
use crate::webhooks::EventType;
use crate::{impact, Config, Result};

pub const EVERY: Duration = Duration::from_secs(300);

/// Looks every [`EVERY`] until the task is dropped.
pub async fn run(db: DatabaseConnection, config: Arc<Config>, leases: Leases) {
    let mut every = tokio::time::interval(EVERY);
    loop {
        every.tick().await;
        if !leases.holds(Work::WebhookWatch).await {
            continue;
        }
        if let Err(e) = look(&db, &config, Utc::now()).await {
            tracing::warn!(error = %e, "looking for rising and measured themes failed");
        }
    }
}

/// Queues this moment's rising and measured themes for the subscriptions that want them;
/// returns the deliveries queued.
pub async fn look(db: &DatabaseConnection, config: &Config, now: DateTime<Utc>) -> Result<u64> {
    let rising = webhooks::wanting(db, EventType::ThemeRising).await?;
    let measured = webhooks::wanting(db, EventType::ThemeImpactMeasured).await?;
    if rising.is_empty() && measured.is_empty() {
        return Ok(0);
    }
    let ranked = backlog::rank(db, &config.backlog_weights, &Filter::new(now)).await?;
    let week = IsoWeek::containing(now);
    let url = |id: i64| format!("{}/themes/{id}", config.base_url);
    let mut events = Vec::new();
    if !rising.is_empty() {
        for (i, e) in ranked.iter().enumerate() {
            if !e.score.rising || e.score.score <= 0.0 {
                continue;
            }
            events.push(Event::new(
                EventType::ThemeRising,
                format!("{}_{week}", e.theme.id),
                json!({
                    "theme_id": e.theme.id,
                    "label": e.label(),
                    "rank": i + 1,
                    "score": e.score.score,
                    "week": week.to_string(),
                    "url": url(e.theme.id),
                }),
                format!(
                    "Rising this week: \"{}\" (#{} in the backlog) {}",
                    e.label(),
                    i + 1,
                    url(e.theme.id)
                ),
            ));
        }
    }
    if !measured.is_empty() {
        let shipped = impact::shipped(&ranked);
        let headlines = impact::headlines(db, &shipped, config.impact_weeks, now).await?;
        let rollouts = impact::rollouts::all(db).await?;
        for e in ranked.iter().filter(|e| shipped.contains(&e.theme.id)) {
            let (Some(h), Some(latest)) = (
                headlines.get(&e.theme.id),
                rollouts
                    .get(&e.theme.id)
                    .and_then(|l| l.iter().map(|r| r.id).max()),
            ) else {
                continue;
            };
            if h.effect.is_none() {
                continue;
            }
            events.push(Event::new(
                EventType::ThemeImpactMeasured,
                format!("{}_{latest}", e.theme.id),
                json!({
                    "theme_id": e.theme.id,
                    "label": e.label(),
                    "rollout_id": latest,
                    "sentence": h.sentence,
                    "reopened": h.reopened,
                    "url": url(e.theme.id),
                }),
                format!(
                    "Impact measured for \"{}\": {} {}",
                    e.label(),
                    h.sentence,
                    url(e.theme.id)
                ),
            ));
        }
    }
    webhooks::emit(db, &events).await
}

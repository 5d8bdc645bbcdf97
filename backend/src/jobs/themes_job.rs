//! The periodic theme rebuild inside `triage serve`.
//!
//! New items are placed in existing themes as they arrive (see `themes::assign`); what
//! that cannot do — find new themes, let themes drift with their members — needs a full
//! rebuild. It runs when there are embedded items but no themes yet (a fresh install,
//! the demo) and then every `TRIAGE_THEMES_EVERY_HOURS` (default 6), each time only once
//! the embedding backlog is empty, and on one process at a time (a lease).

use std::time::Duration;

use chrono::Utc;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};

use super::lease::{Leases, Work};
use crate::db::entity::theme;
use crate::db::{embeddings, outbox};
use crate::embed::SharedEmbedder;
use crate::themes::discover::DiscoverOptions;
use crate::themes::rebuild::rebuild;
use crate::Result;

/// Fewer embedded items than this make no themes worth showing.
const MIN_ITEMS: u64 = 20;
const CHECK_EVERY: Duration = Duration::from_secs(5);

/// `embedder` names the themes (phrase labels); its model's vectors are the ones clustered.
pub async fn run(
    db: DatabaseConnection,
    embedder: SharedEmbedder,
    every: Duration,
    leases: Leases,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
) {
    let model = embedder.model_name().to_string();
    loop {
        tokio::time::sleep(CHECK_EVERY).await;
        let opts = DiscoverOptions::default();
        match due(&db, &model, every).await {
            // One replica at a time: the others find the themes fresh afterwards.
            Ok(true) if !leases.holds(Work::ThemeRebuild).await => {}
            Ok(true) => match rebuild(&db, &model, &opts, Some(embedder.clone())).await {
                Ok(r) => {
                    metrics.theme_rebuild(r.seconds);
                    tracing::info!(
                        themes = r.themes,
                        items = r.items,
                        seconds = r.seconds,
                        "rebuilt themes"
                    )
                }
                Err(e) => tracing::error!(error = %e, "rebuilding themes failed; will retry"),
            },
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "could not check whether themes are due"),
        }
    }
}

async fn due(db: &DatabaseConnection, model: &str, every: Duration) -> Result<bool> {
    if outbox::pending(db, outbox::TOPIC_EMBED).await? > 0
        || embeddings::count(db, model).await? < MIN_ITEMS
    {
        return Ok(false);
    }
    let live = theme::Entity::find().filter(theme::Column::MergedInto.is_null());
    if live.clone().count(db).await? == 0 {
        return Ok(true);
    }
    let last = live
        .order_by_desc(theme::Column::UpdatedAt)
        .one(db)
        .await?
        .map(|t| t.updated_at);
    let every = chrono::Duration::from_std(every).unwrap_or(chrono::Duration::hours(6));
    Ok(last.is_none_or(|t| Utc::now() - t >= every))
}

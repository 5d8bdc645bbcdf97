//! Database schema for triage, as sea-orm migrations that run on SQLite and PostgreSQL.
//!
//! The database is the only source of truth: the search index, embeddings and themes are
//! all rebuilt from these tables. Every migration must go up *and* down cleanly on both
//! backends (the storage tests run the full down/up cycle against each).

pub use sea_orm_migration::prelude::*;

mod m20261126_000001_intake;
mod m20261126_000002_themes;
mod m20261126_000003_backlog;
mod m20261126_000004_digests;
mod m20261201_000005_areas;
mod m20261202_000006_survey_consent;
mod m20261202_000007_token_expiry;
mod m20261202_000008_dead_jobs;
mod m20261203_000009_privacy;
mod m20261203_000010_consent_events;
mod m20261203_000011_backlog_tallies;
mod m20261203_000012_outbox_log;
mod m20261203_000013_member_order;
mod m20261203_000014_backlog_rollups;
mod m20261204_000015_impact;
mod m20261205_000016_webhooks;
mod m20261206_000017_ticket_updates;
mod m20261207_000018_granularity;
mod m20261208_000019_edit_undo;

/// How the backlog's rollups are filled from the tallies they roll up (also after a bulk
/// move, which defers them).
pub use m20261203_000014_backlog_rollups::{FILL_LAST_DAYS, FILL_WEEKS};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_intake::Migration),
            Box::new(m20261126_000002_themes::Migration),
            Box::new(m20261126_000003_backlog::Migration),
            Box::new(m20261126_000004_digests::Migration),
            Box::new(m20261201_000005_areas::Migration),
            Box::new(m20261202_000006_survey_consent::Migration),
            Box::new(m20261202_000007_token_expiry::Migration),
            Box::new(m20261202_000008_dead_jobs::Migration),
            Box::new(m20261203_000009_privacy::Migration),
            Box::new(m20261203_000010_consent_events::Migration),
            Box::new(m20261203_000011_backlog_tallies::Migration),
            Box::new(m20261203_000012_outbox_log::Migration),
            Box::new(m20261203_000013_member_order::Migration),
            Box::new(m20261203_000014_backlog_rollups::Migration),
            Box::new(m20261204_000015_impact::Migration),
            Box::new(m20261205_000016_webhooks::Migration),
            Box::new(m20261206_000017_ticket_updates::Migration),
            Box::new(m20261207_000018_granularity::Migration),
            Box::new(m20261208_000019_edit_undo::Migration),
        ]
    }
}

//! Outbox jobs that keep failing are set aside: `outbox_jobs.dead_at` (none: still live).
//! A dead job is never claimed again until a person retries it (`triage jobs retry`), so
//! one item that cannot be handled no longer blocks every job of its topic behind it.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000008_dead_jobs"
    }
}

#[derive(DeriveIden)]
enum OutboxJobs {
    Table,
    DeadAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(OutboxJobs::Table)
                .add_column(ColumnDef::new(OutboxJobs::DeadAt).timestamp_with_time_zone())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(OutboxJobs::Table)
                .drop_column(OutboxJobs::DeadAt)
                .to_owned(),
        )
        .await
    }
}

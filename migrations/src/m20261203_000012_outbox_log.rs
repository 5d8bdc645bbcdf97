//! The index topic of the outbox becomes a log that every replica's search index reads at
//! its own cursor, so each replica's index sees every item.
//!
//! * `outbox_jobs.txid`: the writing transaction's id (PostgreSQL `pg_current_xact_id()`;
//!   0 in SQLite, where one writer at a time commits ids in order). A reader takes only
//!   jobs of transactions older than every transaction still running, in (txid, id) order,
//!   so a job committed late by a long transaction is never skipped.
//! * `index_cursors`: per index instance, the last job it has indexed and when it was last
//!   seen; jobs every live cursor has passed are deleted.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000012_outbox_log"
    }
}

#[derive(DeriveIden)]
enum OutboxJobs {
    Table,
    Topic,
    Txid,
    Id,
}

#[derive(DeriveIden)]
enum IndexCursors {
    Table,
    Consumer,
    Txid,
    JobId,
    SeenAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(OutboxJobs::Table)
                .add_column(
                    ColumnDef::new(OutboxJobs::Txid)
                        .big_integer()
                        .not_null()
                        .default(0),
                )
                .to_owned(),
        )
        .await?;
        if m.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            m.get_connection()
                .execute_unprepared(
                    "ALTER TABLE outbox_jobs ALTER COLUMN txid \
                     SET DEFAULT (pg_current_xact_id()::text::bigint)",
                )
                .await?;
        }
        m.create_index(
            Index::create()
                .name("ix_outbox_jobs_topic_txid_id")
                .table(OutboxJobs::Table)
                .col(OutboxJobs::Topic)
                .col(OutboxJobs::Txid)
                .col(OutboxJobs::Id)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(IndexCursors::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(IndexCursors::Consumer)
                        .string()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(IndexCursors::Txid).big_integer().not_null())
                .col(ColumnDef::new(IndexCursors::JobId).big_integer().not_null())
                .col(
                    ColumnDef::new(IndexCursors::SeenAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(IndexCursors::Table).to_owned())
            .await?;
        m.drop_index(
            Index::drop()
                .name("ix_outbox_jobs_topic_txid_id")
                .table(OutboxJobs::Table)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(OutboxJobs::Table)
                .drop_column(OutboxJobs::Txid)
                .to_owned(),
        )
        .await
    }
}

//! A ticket remembers when its source last changed it: `tickets.source_updated_at` (the
//! helpdesk's `updated_at`; none for tickets filed in triage). A webhook call that updates a
//! stored ticket applies only when it is newer than that, so updates delivered out of order
//! cannot roll a ticket back.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000017_ticket_updates"
    }
}

#[derive(DeriveIden)]
enum Tickets {
    Table,
    SourceUpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Tickets::Table)
                .add_column(ColumnDef::new(Tickets::SourceUpdatedAt).timestamp_with_time_zone())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Tickets::Table)
                .drop_column(Tickets::SourceUpdatedAt)
                .to_owned(),
        )
        .await
    }
}

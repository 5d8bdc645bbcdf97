//! `consent_events`: every change to a customer's wish to hear back — given with their
//! first item, changed by a product manager, confirmed on the survey page, withdrawn by the
//! link in a mail — so an export can show the history, not only the current value.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000010_consent_events"
    }
}

#[derive(DeriveIden)]
enum ConsentEvents {
    Table,
    Id,
    CustomerId,
    OptIn,
    /// `given`, `changed`, `confirmed` or `unsubscribed`.
    Source,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ConsentEvents::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(ConsentEvents::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(ConsentEvents::CustomerId)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(ConsentEvents::OptIn).boolean().not_null())
                .col(ColumnDef::new(ConsentEvents::Source).string().not_null())
                .col(
                    ColumnDef::new(ConsentEvents::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(ConsentEvents::Table, ConsentEvents::CustomerId)
                        .to(Customers::Table, Customers::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("consent_events_customer")
                .table(ConsentEvents::Table)
                .col(ConsentEvents::CustomerId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ConsentEvents::Table).to_owned())
            .await
    }
}

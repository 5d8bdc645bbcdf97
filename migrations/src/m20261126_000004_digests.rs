//! Email: digest subscriptions, the mail outbox, and the key that signs unsubscribe links.
//!
//! * `subscriptions`: one per user — weekday, hour and time zone of their weekly digest,
//!   optional segment and status filters, and whether it is on.
//! * `mail_outbox`: every email triage decides to send, with its full content, before it
//!   is sent. `dedupe_key` is unique (`digest:<user>:<ISO week>`,
//!   `notice:<customer>:<theme>:<status>`): inserting the row *is* the claim, so two
//!   replicas, a restart or a re-run cannot send the same email twice. The row then
//!   records attempts, the last error and when it was sent.
//! * `app_secrets`: random keys generated on first use (the unsubscribe-link key), shared
//!   by every replica through the database.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000004_digests"
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Subscriptions {
    Table,
    Id,
    UserId,
    Weekday,
    Hour,
    TimeZone,
    Segment,
    Status,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum MailOutbox {
    Table,
    Id,
    DedupeKey,
    Kind,
    Recipient,
    Subject,
    Text,
    Html,
    UnsubscribeUrl,
    State,
    Attempts,
    NextAttemptAt,
    LastError,
    ClaimedBy,
    ClaimedAt,
    SentAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AppSecrets {
    Table,
    Name,
    Value,
}

fn ts(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Subscriptions::Table)
                .col(
                    ColumnDef::new(Subscriptions::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(Subscriptions::UserId)
                        .big_integer()
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new(Subscriptions::Weekday).integer().not_null())
                .col(ColumnDef::new(Subscriptions::Hour).integer().not_null())
                .col(ColumnDef::new(Subscriptions::TimeZone).string().not_null())
                .col(ColumnDef::new(Subscriptions::Segment).string())
                .col(ColumnDef::new(Subscriptions::Status).string())
                .col(ColumnDef::new(Subscriptions::Active).boolean().not_null())
                .col(ts(Subscriptions::CreatedAt))
                .col(ts(Subscriptions::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Subscriptions::Table, Subscriptions::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(MailOutbox::Table)
                .col(
                    ColumnDef::new(MailOutbox::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(MailOutbox::DedupeKey)
                        .string()
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new(MailOutbox::Kind).string().not_null())
                .col(ColumnDef::new(MailOutbox::Recipient).string().not_null())
                .col(ColumnDef::new(MailOutbox::Subject).string().not_null())
                .col(ColumnDef::new(MailOutbox::Text).text().not_null())
                .col(ColumnDef::new(MailOutbox::Html).text().not_null())
                .col(ColumnDef::new(MailOutbox::UnsubscribeUrl).text())
                .col(ColumnDef::new(MailOutbox::State).string().not_null())
                .col(
                    ColumnDef::new(MailOutbox::Attempts)
                        .integer()
                        .not_null()
                        .default(0),
                )
                .col(ts(MailOutbox::NextAttemptAt))
                .col(ColumnDef::new(MailOutbox::LastError).text())
                .col(ColumnDef::new(MailOutbox::ClaimedBy).string())
                .col(ColumnDef::new(MailOutbox::ClaimedAt).timestamp_with_time_zone())
                .col(ColumnDef::new(MailOutbox::SentAt).timestamp_with_time_zone())
                .col(ts(MailOutbox::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_mail_outbox_due")
                .table(MailOutbox::Table)
                .col(MailOutbox::State)
                .col(MailOutbox::NextAttemptAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AppSecrets::Table)
                .col(
                    ColumnDef::new(AppSecrets::Name)
                        .string()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(AppSecrets::Value).string().not_null())
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let tables: [DynIden; 3] = [
            AppSecrets::Table.into_iden(),
            MailOutbox::Table.into_iden(),
            Subscriptions::Table.into_iden(),
        ];
        for t in tables {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

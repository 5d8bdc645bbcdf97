//! Privacy:
//!
//! * `erasures`: receipts of what an erasure (a customer's request, or the retention job)
//!   removed, when and on whose authority — counts and ids only, never personal data.
//! * History records who acted by id (`user:<id>`, `token:<id>`), not by name and email:
//!   rows written before are rewritten — `Name <email>` of a known user to `user:<id>`, a
//!   token's name to `token:<id>`, anything else to `former` (shown as "former user").

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000009_privacy"
    }
}

#[derive(DeriveIden)]
enum Erasures {
    Table,
    Id,
    /// `request` (a customer asked) or `retention` (older than `TRIAGE_RETENTION_DAYS`).
    Reason,
    /// The erased customer's former id (a number that names nobody once the row is gone).
    CustomerId,
    Items,
    Tickets,
    Ratings,
    SurveyResponses,
    MailsCancelled,
    MailsRemoved,
    MailsScrubbed,
    /// Who asked: `user:<id>`, `token:<id>`, `cli` or `retention`.
    Actor,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let count = |c: Erasures| {
            ColumnDef::new(c)
                .big_integer()
                .not_null()
                .default(0)
                .to_owned()
        };
        m.create_table(
            Table::create()
                .table(Erasures::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(Erasures::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(ColumnDef::new(Erasures::Reason).string().not_null())
                .col(ColumnDef::new(Erasures::CustomerId).big_integer())
                .col(count(Erasures::Items))
                .col(count(Erasures::Tickets))
                .col(count(Erasures::Ratings))
                .col(count(Erasures::SurveyResponses))
                .col(count(Erasures::MailsCancelled))
                .col(count(Erasures::MailsRemoved))
                .col(count(Erasures::MailsScrubbed))
                .col(ColumnDef::new(Erasures::Actor).string().not_null())
                .col(
                    ColumnDef::new(Erasures::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        for (table, column) in [
            ("backlog_changes", "actor"),
            ("theme_edits", "actor"),
            ("backlog_entries", "updated_by"),
        ] {
            for sql in [
                format!(
                    "UPDATE {table} SET {column} = 'user:' || CAST((SELECT u.id FROM users u \
                     WHERE {table}.{column} LIKE '%<' || u.email || '>' ORDER BY u.id LIMIT 1) \
                     AS TEXT) WHERE EXISTS (SELECT 1 FROM users u \
                     WHERE {table}.{column} LIKE '%<' || u.email || '>')"
                ),
                format!(
                    "UPDATE {table} SET {column} = 'token:' || CAST((SELECT a.id FROM api_tokens a \
                     WHERE a.name = {table}.{column} ORDER BY a.id LIMIT 1) AS TEXT) \
                     WHERE {column} IN (SELECT name FROM api_tokens)"
                ),
                format!(
                    "UPDATE {table} SET {column} = 'former' WHERE {column} <> '' \
                     AND {column} NOT LIKE 'user:%' AND {column} NOT LIKE 'token:%' \
                     AND {column} NOT IN ('cli', 'retention')"
                ),
            ] {
                db.execute_unprepared(&sql).await?;
            }
        }
        Ok(())
    }

    /// Drops the receipts; history keeps its ids (the names and emails are not recoverable).
    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Erasures::Table).to_owned())
            .await
    }
}

//! The backlog and the people who work it.
//!
//! * `backlog_entries`: a product manager's view of one theme — status, notes, effort,
//!   owner, pinned. A theme without a row is simply `new`; rows are created on first edit,
//!   so a theme rebuild never has to touch them (theme ids survive rebuilds).
//! * `backlog_changes`: every change to an entry, field by field, with who and when.
//! * `users` and `sessions`: web UI accounts (argon2 password hashes) and their sign-ins;
//!   only a hash of each session token is stored.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000003_backlog"
    }
}

#[derive(DeriveIden)]
enum Themes {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum BacklogEntries {
    Table,
    ThemeId,
    Status,
    Notes,
    Effort,
    Owner,
    Pinned,
    UpdatedAt,
    UpdatedBy,
}

#[derive(DeriveIden)]
enum BacklogChanges {
    Table,
    Id,
    ThemeId,
    Field,
    Before,
    After,
    Actor,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    Name,
    Role,
    PasswordHash,
    Disabled,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    TokenHash,
    UserId,
    CsrfToken,
    CreatedAt,
    ExpiresAt,
}

fn ts(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn id(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(BacklogEntries::Table)
                .col(
                    ColumnDef::new(BacklogEntries::ThemeId)
                        .big_integer()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(BacklogEntries::Status).string().not_null())
                .col(ColumnDef::new(BacklogEntries::Notes).text().not_null())
                .col(ColumnDef::new(BacklogEntries::Effort).string())
                .col(ColumnDef::new(BacklogEntries::Owner).string())
                .col(
                    ColumnDef::new(BacklogEntries::Pinned)
                        .boolean()
                        .not_null()
                        .default(false),
                )
                .col(ts(BacklogEntries::UpdatedAt))
                .col(
                    ColumnDef::new(BacklogEntries::UpdatedBy)
                        .string()
                        .not_null(),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(BacklogEntries::Table, BacklogEntries::ThemeId)
                        .to(Themes::Table, Themes::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(BacklogChanges::Table)
                .col(id(BacklogChanges::Id))
                .col(
                    ColumnDef::new(BacklogChanges::ThemeId)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(BacklogChanges::Field).string().not_null())
                .col(ColumnDef::new(BacklogChanges::Before).text())
                .col(ColumnDef::new(BacklogChanges::After).text())
                .col(ColumnDef::new(BacklogChanges::Actor).string().not_null())
                .col(ts(BacklogChanges::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_backlog_changes_time")
                .table(BacklogChanges::Table)
                .col(BacklogChanges::CreatedAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(id(Users::Id))
                .col(
                    ColumnDef::new(Users::Email)
                        .string()
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new(Users::Name).string().not_null())
                .col(ColumnDef::new(Users::Role).string().not_null())
                .col(ColumnDef::new(Users::PasswordHash).string().not_null())
                .col(
                    ColumnDef::new(Users::Disabled)
                        .boolean()
                        .not_null()
                        .default(false),
                )
                .col(ts(Users::CreatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Sessions::Table)
                .col(
                    ColumnDef::new(Sessions::TokenHash)
                        .string()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(Sessions::UserId).big_integer().not_null())
                .col(ColumnDef::new(Sessions::CsrfToken).string().not_null())
                .col(ts(Sessions::CreatedAt))
                .col(ts(Sessions::ExpiresAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Sessions::Table, Sessions::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let tables: [DynIden; 4] = [
            Sessions::Table.into_iden(),
            Users::Table.into_iden(),
            BacklogChanges::Table.into_iden(),
            BacklogEntries::Table.into_iden(),
        ];
        for t in tables {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

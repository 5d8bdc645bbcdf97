//! Closing the loop after shipping: `rollouts` (a theme's fix reached some customer segments,
//! or everyone, on a day) and `fix_answers` (a customer who reported the theme says whether
//! the fix worked for them — one answer per customer and theme, a later one replacing it).
//!
//! A rollout's segments are a JSON list of segment names; NULL is everyone (not yet reached
//! by an earlier rollout). Changes to rollouts are recorded in `backlog_changes` like the
//! rest of a theme's workflow.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000015_impact"
    }
}

#[derive(DeriveIden)]
enum Rollouts {
    Table,
    Id,
    ThemeId,
    /// The UTC day the change reached its segments (`YYYY-MM-DD`).
    StartsOn,
    Segments,
    Note,
    CreatedAt,
    UpdatedAt,
    UpdatedBy,
}

#[derive(DeriveIden)]
enum FixAnswers {
    Table,
    Id,
    CustomerId,
    ThemeId,
    /// `fixed` or `still_a_problem`.
    Answer,
    /// The sentence a customer added, stored as a feedback item in the theme.
    ItemId,
    AnsweredAt,
}

#[derive(DeriveIden)]
enum Themes {
    Table,
    Id,
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
                .table(Rollouts::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(Rollouts::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(ColumnDef::new(Rollouts::ThemeId).big_integer().not_null())
                .col(ColumnDef::new(Rollouts::StartsOn).date().not_null())
                .col(ColumnDef::new(Rollouts::Segments).text().null())
                .col(ColumnDef::new(Rollouts::Note).text().not_null().default(""))
                .col(
                    ColumnDef::new(Rollouts::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Rollouts::UpdatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(ColumnDef::new(Rollouts::UpdatedBy).string().not_null())
                .foreign_key(
                    ForeignKey::create()
                        .from(Rollouts::Table, Rollouts::ThemeId)
                        .to(Themes::Table, Themes::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("rollouts_theme")
                .table(Rollouts::Table)
                .col(Rollouts::ThemeId)
                .col(Rollouts::StartsOn)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(FixAnswers::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(FixAnswers::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(FixAnswers::CustomerId)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(FixAnswers::ThemeId).big_integer().not_null())
                .col(ColumnDef::new(FixAnswers::Answer).string().not_null())
                .col(ColumnDef::new(FixAnswers::ItemId).big_integer().null())
                .col(
                    ColumnDef::new(FixAnswers::AnsweredAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(FixAnswers::Table, FixAnswers::CustomerId)
                        .to(Customers::Table, Customers::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(FixAnswers::Table, FixAnswers::ThemeId)
                        .to(Themes::Table, Themes::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("fix_answers_one_per_customer")
                .table(FixAnswers::Table)
                .col(FixAnswers::ThemeId)
                .col(FixAnswers::CustomerId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("fix_answers_customer")
                .table(FixAnswers::Table)
                .col(FixAnswers::CustomerId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(FixAnswers::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Rollouts::Table).to_owned())
            .await
    }
}

//! What the team said about how fine a theme should be.
//!
//! * `theme_answers`: "same problem?" answers about two items — from the Teach page, or
//!   implied by an edit (a merge says "same", a split or a move says "different", a
//!   dismissed merge suggestion says "different"). Kept with who gave them and when;
//!   withdrawn answers keep their row (`withdrawn_at`) so the record stays whole. An answer
//!   goes with either item (an erased item takes its answers with it).
//! * `theme_trees`: the merge tree of the last rebuild (its sample's item ids and the tree as
//!   JSON), so that re-choosing the cut after an answer reads one row instead of clustering
//!   again. Only the newest row is kept.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000018_granularity"
    }
}

#[derive(DeriveIden)]
enum ThemeAnswers {
    Table,
    Id,
    ItemA,
    ItemB,
    /// `same`, `different` or `skip`.
    Answer,
    /// `question`, `merge`, `split`, `move` or `dismiss`.
    Source,
    Actor,
    CreatedAt,
    WithdrawnAt,
    WithdrawnBy,
}

#[derive(DeriveIden)]
enum ThemeTrees {
    Table,
    Id,
    Model,
    /// JSON list: the item id of every sample position.
    Items,
    /// JSON: `themes::granularity::Tree`.
    Tree,
    DefaultCut,
    CreatedAt,
}

#[derive(DeriveIden)]
enum FeedbackItems {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let item = |col: ThemeAnswers, name: &str| {
            ForeignKey::create()
                .name(name)
                .from(ThemeAnswers::Table, col)
                .to(FeedbackItems::Table, FeedbackItems::Id)
                .on_delete(ForeignKeyAction::Cascade)
                .to_owned()
        };
        m.create_table(
            Table::create()
                .table(ThemeAnswers::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(ThemeAnswers::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(ColumnDef::new(ThemeAnswers::ItemA).big_integer().not_null())
                .col(ColumnDef::new(ThemeAnswers::ItemB).big_integer().not_null())
                .col(ColumnDef::new(ThemeAnswers::Answer).string().not_null())
                .col(ColumnDef::new(ThemeAnswers::Source).string().not_null())
                .col(ColumnDef::new(ThemeAnswers::Actor).string().not_null())
                .col(
                    ColumnDef::new(ThemeAnswers::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(ColumnDef::new(ThemeAnswers::WithdrawnAt).timestamp_with_time_zone())
                .col(ColumnDef::new(ThemeAnswers::WithdrawnBy).string())
                .foreign_key(&mut item(ThemeAnswers::ItemA, "fk_theme_answers_item_a"))
                .foreign_key(&mut item(ThemeAnswers::ItemB, "fk_theme_answers_item_b"))
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("idx_theme_answers_item_a", ThemeAnswers::ItemA),
            ("idx_theme_answers_item_b", ThemeAnswers::ItemB),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(ThemeAnswers::Table)
                    .col(col)
                    .to_owned(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table(ThemeTrees::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(ThemeTrees::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(ColumnDef::new(ThemeTrees::Model).string().not_null())
                .col(ColumnDef::new(ThemeTrees::Items).text().not_null())
                .col(ColumnDef::new(ThemeTrees::Tree).text().not_null())
                .col(ColumnDef::new(ThemeTrees::DefaultCut).double().not_null())
                .col(
                    ColumnDef::new(ThemeTrees::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ThemeTrees::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(ThemeAnswers::Table).to_owned())
            .await
    }
}

//! Embeddings and themes.
//!
//! * `embeddings`: one vector per feedback item, with the model that made it, so a model
//!   change re-embeds instead of mixing vectors of different spaces.
//! * `themes`: a theme's generated label and keywords, a human label when renamed, its
//!   centroid, and `locked` (a locked theme keeps its members through rebuilds).
//! * `item_themes`: which theme each item is in (none: unthemed), and whether a person put
//!   it there — human placements survive re-clustering.
//! * `theme_edits`: every human edit, for the record and for replay after a rebuild.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000002_themes"
    }
}

#[derive(DeriveIden)]
enum FeedbackItems {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Embeddings {
    Table,
    ItemId,
    Model,
    Precision,
    Dims,
    Vector,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Themes {
    Table,
    Id,
    Label,
    CustomLabel,
    Keywords,
    RepresentativeItemId,
    Size,
    Centroid,
    Locked,
    MergedInto,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ItemThemes {
    Table,
    ItemId,
    ThemeId,
    Similarity,
    ByHuman,
    AssignedAt,
}

#[derive(DeriveIden)]
enum ThemeEdits {
    Table,
    Id,
    ThemeId,
    Action,
    Detail,
    Actor,
    CreatedAt,
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
                .table(Embeddings::Table)
                .col(
                    ColumnDef::new(Embeddings::ItemId)
                        .big_integer()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(Embeddings::Model).string().not_null())
                .col(ColumnDef::new(Embeddings::Precision).string().not_null())
                .col(ColumnDef::new(Embeddings::Dims).integer().not_null())
                .col(ColumnDef::new(Embeddings::Vector).binary().not_null())
                .col(ts(Embeddings::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Embeddings::Table, Embeddings::ItemId)
                        .to(FeedbackItems::Table, FeedbackItems::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Themes::Table)
                .col(
                    ColumnDef::new(Themes::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(ColumnDef::new(Themes::Label).string().not_null())
                .col(ColumnDef::new(Themes::CustomLabel).string())
                .col(ColumnDef::new(Themes::Keywords).text().not_null())
                .col(ColumnDef::new(Themes::RepresentativeItemId).big_integer())
                .col(ColumnDef::new(Themes::Size).integer().not_null().default(0))
                .col(ColumnDef::new(Themes::Centroid).binary().not_null())
                .col(
                    ColumnDef::new(Themes::Locked)
                        .boolean()
                        .not_null()
                        .default(false),
                )
                .col(ColumnDef::new(Themes::MergedInto).big_integer())
                .col(ts(Themes::CreatedAt))
                .col(ts(Themes::UpdatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ItemThemes::Table)
                .col(
                    ColumnDef::new(ItemThemes::ItemId)
                        .big_integer()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(ItemThemes::ThemeId).big_integer())
                .col(ColumnDef::new(ItemThemes::Similarity).double())
                .col(
                    ColumnDef::new(ItemThemes::ByHuman)
                        .boolean()
                        .not_null()
                        .default(false),
                )
                .col(ts(ItemThemes::AssignedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(ItemThemes::Table, ItemThemes::ItemId)
                        .to(FeedbackItems::Table, FeedbackItems::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(ItemThemes::Table, ItemThemes::ThemeId)
                        .to(Themes::Table, Themes::Id)
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_item_themes_theme")
                .table(ItemThemes::Table)
                .col(ItemThemes::ThemeId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ThemeEdits::Table)
                .col(
                    ColumnDef::new(ThemeEdits::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(ColumnDef::new(ThemeEdits::ThemeId).big_integer().not_null())
                .col(ColumnDef::new(ThemeEdits::Action).string().not_null())
                .col(ColumnDef::new(ThemeEdits::Detail).text().not_null())
                .col(ColumnDef::new(ThemeEdits::Actor).string().not_null())
                .col(ts(ThemeEdits::CreatedAt))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let tables: [DynIden; 4] = [
            ThemeEdits::Table.into_iden(),
            ItemThemes::Table.into_iden(),
            Themes::Table.into_iden(),
            Embeddings::Table.into_iden(),
        ];
        for t in tables {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

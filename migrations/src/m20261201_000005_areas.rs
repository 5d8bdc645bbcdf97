//! Areas: the second, coarser level of themes ("Cards", "Transfers", "Account access"), as
//! product managers group their work.
//!
//! * `areas`: a generated phrase label (and a person's, when renamed), keywords and size.
//! * `themes.area_id`: the area a theme belongs to, rewritten by every rebuild. No foreign
//!   key: SQLite cannot add one to an existing table, and an area row is never deleted
//!   (an area that loses all its themes keeps its row, with size 0, so its id and any name
//!   a person gave it survive until a later rebuild finds it again).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000005_areas"
    }
}

#[derive(DeriveIden)]
enum Areas {
    Table,
    Id,
    Label,
    CustomLabel,
    Keywords,
    Size,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Themes {
    Table,
    AreaId,
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
                .table(Areas::Table)
                .col(
                    ColumnDef::new(Areas::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(ColumnDef::new(Areas::Label).string().not_null())
                .col(ColumnDef::new(Areas::CustomLabel).string())
                .col(ColumnDef::new(Areas::Keywords).text().not_null())
                .col(ColumnDef::new(Areas::Size).integer().not_null())
                .col(ts(Areas::CreatedAt))
                .col(ts(Areas::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Themes::Table)
                .add_column(ColumnDef::new(Themes::AreaId).big_integer())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_themes_area")
                .table(Themes::Table)
                .col(Themes::AreaId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_themes_area")
                .table(Themes::Table)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Themes::Table)
                .drop_column(Themes::AreaId)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(Areas::Table).to_owned())
            .await
    }
}

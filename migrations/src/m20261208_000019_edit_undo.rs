//! Undo for theme edits.
//!
//! * `theme_edits.restore`: JSON with what the edit changed, as it was before (the moved
//!   items' placement rows, the edited theme fields, the theme it created, the answers it
//!   recorded) — enough for `themes::undo` to put it back exactly, also after a rebuild.
//!   Edits made before this migration have none and cannot be undone.
//! * `theme_edits.undone_by`: the edit (action `undo`) that undid this one; an edit is
//!   undone at most once.
//! * `theme_edits.undoes`: on an undo, the edit it undid.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261208_000019_edit_undo"
    }
}

#[derive(DeriveIden)]
enum ThemeEdits {
    Table,
    Restore,
    UndoneBy,
    Undoes,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for col in [
            ColumnDef::new(ThemeEdits::Restore).text().to_owned(),
            ColumnDef::new(ThemeEdits::UndoneBy)
                .big_integer()
                .to_owned(),
            ColumnDef::new(ThemeEdits::Undoes).big_integer().to_owned(),
        ] {
            let mut col = col;
            m.alter_table(
                Table::alter()
                    .table(ThemeEdits::Table)
                    .add_column(&mut col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            ThemeEdits::Restore,
            ThemeEdits::UndoneBy,
            ThemeEdits::Undoes,
        ] {
            m.alter_table(
                Table::alter()
                    .table(ThemeEdits::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}

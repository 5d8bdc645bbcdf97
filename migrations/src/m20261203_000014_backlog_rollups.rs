//! Two rollups of the backlog tallies, so that a 28-day backlog at a million items reads
//! a few thousand rows instead of tens of thousands (docs/backlog.md):
//!
//! * `backlog_weeks`: themed items per theme × week (`day` div 7, weeks of the Unix epoch)
//!   × segment key — `backlog_days` summed by week, for the 12-week trend. A trend week
//!   starts on the moment's weekday, so it is read as whole weeks from here and at most
//!   three days at each end from `backlog_days`.
//! * `backlog_last_days`: per theme × day × segment key, how many theme × customer pairs
//!   (`backlog_pairs`) have their last item on that day, and the sum of their counted
//!   account values: the customers of a period that ends now.
//! * `backlog_pairs` gains the pair's state before the last upsert (`prev_*`), set by the
//!   upsert itself from the row it replaces, so a writer knows exactly what it changed even
//!   when it waited for another writer's row.
//!
//! Both rollups are filled from the tallies already stored.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000014_backlog_rollups"
    }
}

#[derive(DeriveIden)]
enum BacklogWeeks {
    Table,
    ThemeId,
    Week,
    Segment,
    Items,
}

#[derive(DeriveIden)]
enum BacklogLastDays {
    Table,
    ThemeId,
    LastDay,
    Segment,
    Customers,
    Value,
}

#[derive(DeriveIden)]
enum BacklogPairs {
    Table,
    PrevItems,
    PrevLastDay,
    PrevSegment,
    PrevValue,
}

/// Fills `backlog_weeks` (empty) from `backlog_days`. Days are never negative in practice;
/// the CASE keeps weeks floored if they were.
pub const FILL_WEEKS: &str = "INSERT INTO backlog_weeks (theme_id, week, segment, items)
    SELECT theme_id, CASE WHEN day >= 0 THEN day / 7 ELSE (day - 6) / 7 END AS wk,
           segment, SUM(items)
    FROM backlog_days WHERE theme_id <> 0
    GROUP BY theme_id, CASE WHEN day >= 0 THEN day / 7 ELSE (day - 6) / 7 END, segment
    HAVING SUM(items) <> 0";

/// Fills `backlog_last_days` (empty) from `backlog_pairs`.
pub const FILL_LAST_DAYS: &str =
    "INSERT INTO backlog_last_days (theme_id, last_day, segment, customers, value)
    SELECT theme_id, last_day, segment, COUNT(*), SUM(value)
    FROM backlog_pairs WHERE items > 0 GROUP BY theme_id, last_day, segment
    UNION ALL
    SELECT theme_id, last_day, '*', COUNT(*), SUM(value)
    FROM backlog_pairs WHERE items > 0 GROUP BY theme_id, last_day";

fn id(name: impl IntoIden) -> ColumnDef {
    ColumnDef::new(name).big_integer().not_null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(BacklogWeeks::Table)
                .if_not_exists()
                .col(id(BacklogWeeks::ThemeId))
                .col(ColumnDef::new(BacklogWeeks::Week).integer().not_null())
                .col(ColumnDef::new(BacklogWeeks::Segment).string().not_null())
                .col(id(BacklogWeeks::Items))
                .primary_key(
                    Index::create()
                        .col(BacklogWeeks::ThemeId)
                        .col(BacklogWeeks::Week)
                        .col(BacklogWeeks::Segment),
                )
                .to_owned(),
        )
        .await?;
        // Covering the trend's read: one segment key, a range of weeks.
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("ix_backlog_weeks_segment_week")
                .table(BacklogWeeks::Table)
                .col(BacklogWeeks::Segment)
                .col(BacklogWeeks::Week)
                .col(BacklogWeeks::ThemeId)
                .col(BacklogWeeks::Items)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(BacklogLastDays::Table)
                .if_not_exists()
                .col(id(BacklogLastDays::ThemeId))
                .col(
                    ColumnDef::new(BacklogLastDays::LastDay)
                        .integer()
                        .not_null(),
                )
                .col(ColumnDef::new(BacklogLastDays::Segment).string().not_null())
                .col(id(BacklogLastDays::Customers))
                .col(ColumnDef::new(BacklogLastDays::Value).double().not_null())
                .primary_key(
                    Index::create()
                        .col(BacklogLastDays::ThemeId)
                        .col(BacklogLastDays::LastDay)
                        .col(BacklogLastDays::Segment),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("ix_backlog_last_days_segment_day")
                .table(BacklogLastDays::Table)
                .col(BacklogLastDays::Segment)
                .col(BacklogLastDays::LastDay)
                .col(BacklogLastDays::ThemeId)
                .col(BacklogLastDays::Customers)
                .col(BacklogLastDays::Value)
                .to_owned(),
        )
        .await?;

        let prev = [
            ColumnDef::new(BacklogPairs::PrevItems)
                .big_integer()
                .not_null()
                .default(0)
                .to_owned(),
            ColumnDef::new(BacklogPairs::PrevLastDay)
                .integer()
                .not_null()
                .default(0)
                .to_owned(),
            ColumnDef::new(BacklogPairs::PrevSegment)
                .string()
                .not_null()
                .default("")
                .to_owned(),
            ColumnDef::new(BacklogPairs::PrevValue)
                .double()
                .not_null()
                .default(0.0)
                .to_owned(),
        ];
        // One column per statement: SQLite adds one at a time.
        for mut col in prev {
            m.alter_table(
                Table::alter()
                    .table(BacklogPairs::Table)
                    .add_column(&mut col)
                    .to_owned(),
            )
            .await?;
        }

        // Filled from the tallies as they stand.
        let db = m.get_connection();
        db.execute_unprepared(FILL_WEEKS).await?;
        db.execute_unprepared(FILL_LAST_DAYS).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            BacklogPairs::PrevItems,
            BacklogPairs::PrevLastDay,
            BacklogPairs::PrevSegment,
            BacklogPairs::PrevValue,
        ] {
            m.alter_table(
                Table::alter()
                    .table(BacklogPairs::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        m.drop_table(Table::drop().table(BacklogLastDays::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(BacklogWeeks::Table).to_owned())
            .await
    }
}

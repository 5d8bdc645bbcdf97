//! Backlog tallies: the sums the backlog's scores are computed from, kept up to date as
//! items arrive, move between themes, change customer segment or are erased, so that a
//! backlog page reads a few thousand aggregate rows instead of every item.
//!
//! * `backlog_days`: per theme (0 = every item, themed or not) × UTC day × customer
//!   segment ('' = none, '=name' = a segment, '*' = all of them together): items, scored items and their score sum (in
//!   twentieths, the grid every normalised score lies on), tickets and their priority sum
//!   (in levels 0–3).
//! * `backlog_totals`: the same per theme × segment over all time, plus the theme's distinct
//!   customers and the sum of their account values.
//! * `backlog_customer_days`: which customers contributed to a theme on which day (distinct
//!   customers over a period).
//! * `backlog_pairs`: items per theme × customer over all time (when a customer joins or
//!   leaves a theme), with the customer's segment key and counted account value and the
//!   pair's last day: the customers of a period that ends now are the pairs whose last day
//!   lies in it, one index range.
//! * `backlog_facts`: each item's fact as the tallies counted it (time in nanoseconds,
//!   theme, customer, segment key, value, score, priority), ordered by time: the edges of
//!   a period (part of a day) are read from here in one range, without joining the items'
//!   tables. In SQLite a `WITHOUT ROWID` table, so the range is the table itself.
//! * `backlog_first_seen`: each theme's oldest item ("new this week").
//! * `backlog_tally_state`: one row once the tallies were built from the items already
//!   stored (the application builds them on first start after this migration).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261203_000011_backlog_tallies"
    }
}

#[derive(DeriveIden)]
enum BacklogDays {
    Table,
    ThemeId,
    Day,
    Segment,
}

#[derive(DeriveIden)]
enum BacklogTotals {
    Table,
    ThemeId,
    Segment,
    Customers,
    Value,
}

#[derive(DeriveIden)]
enum BacklogCustomerDays {
    Table,
    ThemeId,
    CustomerId,
    Day,
    Items,
}

#[derive(DeriveIden)]
enum BacklogPairs {
    Table,
    ThemeId,
    CustomerId,
    Items,
    LastDay,
    Segment,
    Value,
}

#[derive(DeriveIden)]
enum BacklogFirstSeen {
    Table,
    ThemeId,
    FirstAt,
}

#[derive(DeriveIden)]
enum BacklogTallyState {
    Table,
    Id,
    BuiltAt,
}

/// The additive sums both `backlog_days` and `backlog_totals` carry.
fn sums(t: &mut TableCreateStatement) -> &mut TableCreateStatement {
    for name in [
        "items",
        "scored",
        "score_units",
        "tickets",
        "priority_levels",
    ] {
        t.col(
            ColumnDef::new(Alias::new(name))
                .big_integer()
                .not_null()
                .default(0),
        );
    }
    t
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let mut days = Table::create();
        days.table(BacklogDays::Table)
            .if_not_exists()
            .col(
                ColumnDef::new(BacklogDays::ThemeId)
                    .big_integer()
                    .not_null(),
            )
            .col(ColumnDef::new(BacklogDays::Day).integer().not_null())
            .col(ColumnDef::new(BacklogDays::Segment).string().not_null());
        sums(&mut days).primary_key(
            Index::create()
                .col(BacklogDays::ThemeId)
                .col(BacklogDays::Day)
                .col(BacklogDays::Segment),
        );
        m.create_table(days.to_owned()).await?;
        // Covering the period queries (one segment key, a range of days, grouped by theme):
        // they read the index alone, in order.
        let mut covering = Index::create();
        covering
            .name("ix_backlog_days_segment_day")
            .table(BacklogDays::Table)
            .col(BacklogDays::Segment)
            .col(BacklogDays::Day)
            .col(BacklogDays::ThemeId);
        for name in [
            "items",
            "scored",
            "score_units",
            "tickets",
            "priority_levels",
        ] {
            covering.col(Alias::new(name));
        }
        m.create_index(covering.to_owned()).await?;

        let mut totals = Table::create();
        totals
            .table(BacklogTotals::Table)
            .if_not_exists()
            .col(
                ColumnDef::new(BacklogTotals::ThemeId)
                    .big_integer()
                    .not_null(),
            )
            .col(ColumnDef::new(BacklogTotals::Segment).string().not_null());
        sums(&mut totals)
            .col(
                ColumnDef::new(BacklogTotals::Customers)
                    .big_integer()
                    .not_null()
                    .default(0),
            )
            .col(
                ColumnDef::new(BacklogTotals::Value)
                    .double()
                    .not_null()
                    .default(0.0),
            )
            .primary_key(
                Index::create()
                    .col(BacklogTotals::ThemeId)
                    .col(BacklogTotals::Segment),
            );
        m.create_table(totals.to_owned()).await?;

        m.create_table(
            Table::create()
                .table(BacklogCustomerDays::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(BacklogCustomerDays::ThemeId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(BacklogCustomerDays::CustomerId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(BacklogCustomerDays::Day)
                        .integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(BacklogCustomerDays::Items)
                        .big_integer()
                        .not_null(),
                )
                .primary_key(
                    Index::create()
                        .col(BacklogCustomerDays::ThemeId)
                        .col(BacklogCustomerDays::CustomerId)
                        .col(BacklogCustomerDays::Day),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_backlog_customer_days_day")
                .table(BacklogCustomerDays::Table)
                .col(BacklogCustomerDays::Day)
                .col(BacklogCustomerDays::ThemeId)
                .col(BacklogCustomerDays::CustomerId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(BacklogPairs::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(BacklogPairs::ThemeId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(BacklogPairs::CustomerId)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(BacklogPairs::Items).big_integer().not_null())
                .col(
                    ColumnDef::new(BacklogPairs::LastDay)
                        .integer()
                        .not_null()
                        .default(0),
                )
                .col(
                    ColumnDef::new(BacklogPairs::Segment)
                        .string()
                        .not_null()
                        .default(""),
                )
                .col(
                    ColumnDef::new(BacklogPairs::Value)
                        .double()
                        .not_null()
                        .default(0.0),
                )
                .primary_key(
                    Index::create()
                        .col(BacklogPairs::ThemeId)
                        .col(BacklogPairs::CustomerId),
                )
                .to_owned(),
        )
        .await?;
        // Covering "customers whose last item in a theme is after day D".
        m.create_index(
            Index::create()
                .name("ix_backlog_pairs_last_day")
                .table(BacklogPairs::Table)
                .col(BacklogPairs::LastDay)
                .col(BacklogPairs::Segment)
                .col(BacklogPairs::ThemeId)
                .col(BacklogPairs::Value)
                .to_owned(),
        )
        .await?;

        // Rows in time order; in SQLite the primary key is the table (no rowid).
        let facts = "CREATE TABLE IF NOT EXISTS backlog_facts (
            at_ns BIGINT NOT NULL,
            item_id BIGINT NOT NULL,
            theme_id BIGINT,
            customer_id BIGINT,
            segment TEXT NOT NULL,
            value DOUBLE PRECISION NOT NULL,
            score BIGINT,
            priority BIGINT,
            PRIMARY KEY (at_ns, item_id))";
        let facts = match m.get_database_backend() {
            sea_orm::DatabaseBackend::Sqlite => format!("{facts} WITHOUT ROWID"),
            _ => facts.to_string(),
        };
        m.get_connection().execute_unprepared(&facts).await?;

        m.create_table(
            Table::create()
                .table(BacklogFirstSeen::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(BacklogFirstSeen::ThemeId)
                        .big_integer()
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(BacklogFirstSeen::FirstAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(BacklogTallyState::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(BacklogTallyState::Id)
                        .integer()
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(BacklogTallyState::BuiltAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("DROP TABLE IF EXISTS backlog_facts")
            .await?;
        for t in [
            BacklogTallyState::Table.into_iden(),
            BacklogFirstSeen::Table.into_iden(),
            BacklogPairs::Table.into_iden(),
            BacklogCustomerDays::Table.into_iden(),
            BacklogTotals::Table.into_iden(),
            BacklogDays::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

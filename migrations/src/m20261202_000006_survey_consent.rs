//! The public survey page, hardened: surveys can be closed, and what an anonymous visitor
//! types is kept on their response, not on any customer.
//!
//! * `surveys.closed_at`: set when a PM closes the survey; a closed survey takes no answers.
//! * `survey_responses.respondent_email`: the (unverified) email typed on the public page.
//! * `survey_responses.notify_requested` / `notify_confirmed_at`: the visitor asked to hear
//!   back, and when they confirmed it through the signed link mailed to that address
//!   (double opt-in). Only a confirmed request ties the response to a customer.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000006_survey_consent"
    }
}

#[derive(DeriveIden)]
enum Surveys {
    Table,
    ClosedAt,
}

#[derive(DeriveIden)]
enum SurveyResponses {
    Table,
    RespondentEmail,
    NotifyRequested,
    NotifyConfirmedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Surveys::Table)
                .add_column(ColumnDef::new(Surveys::ClosedAt).timestamp_with_time_zone())
                .to_owned(),
        )
        .await?;
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for col in [
            ColumnDef::new(SurveyResponses::RespondentEmail)
                .string()
                .to_owned(),
            ColumnDef::new(SurveyResponses::NotifyRequested)
                .boolean()
                .not_null()
                .default(false)
                .to_owned(),
            ColumnDef::new(SurveyResponses::NotifyConfirmedAt)
                .timestamp_with_time_zone()
                .to_owned(),
        ] {
            m.alter_table(
                Table::alter()
                    .table(SurveyResponses::Table)
                    .add_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            SurveyResponses::NotifyConfirmedAt,
            SurveyResponses::NotifyRequested,
            SurveyResponses::RespondentEmail,
        ] {
            m.alter_table(
                Table::alter()
                    .table(SurveyResponses::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        m.alter_table(
            Table::alter()
                .table(Surveys::Table)
                .drop_column(Surveys::ClosedAt)
                .to_owned(),
        )
        .await
    }
}

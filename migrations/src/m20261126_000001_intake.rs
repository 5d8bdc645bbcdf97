//! Intake tables: customers, surveys and their questions, survey responses and answers,
//! star ratings, support tickets, the unified `feedback_items` table later stages read,
//! the transactional outbox and hashed API tokens.
//!
//! `feedback_items` is a real table rather than a SQL view so that every item of every
//! kind shares one id space (the search index, embeddings and themes key on it) and so
//! that it can be written in the same transaction as the source row and its outbox job.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000001_intake"
    }
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
    ExternalId,
    Email,
    Name,
    Segment,
    AccountValue,
    NotifyOptIn,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Surveys {
    Table,
    Id,
    Title,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SurveyQuestions {
    Table,
    Id,
    SurveyId,
    Position,
    Kind,
    Prompt,
}

#[derive(DeriveIden)]
enum SurveyResponses {
    Table,
    Id,
    SurveyId,
    CustomerId,
    ExternalId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SurveyAnswers {
    Table,
    Id,
    ResponseId,
    QuestionId,
    NumberValue,
    TextValue,
}

#[derive(DeriveIden)]
enum Ratings {
    Table,
    Id,
    Score,
    Subject,
    Comment,
    CustomerId,
    ExternalId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Tickets {
    Table,
    Id,
    Subject,
    Body,
    Priority,
    Status,
    Tags,
    CustomerId,
    ExternalId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum FeedbackItems {
    Table,
    Id,
    Kind,
    SourceId,
    Source,
    CustomerId,
    Subject,
    Text,
    Score,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OutboxJobs {
    Table,
    Id,
    Topic,
    ItemId,
    ClaimedBy,
    Attempts,
    LastError,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    Name,
    Role,
    TokenHash,
    CreatedAt,
    LastUsedAt,
    Revoked,
}

fn id(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

fn created_at(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn fk(
    from_table: impl IntoIden + 'static,
    from_col: impl IntoIden + 'static,
    to_table: impl IntoIden + 'static,
    to_col: impl IntoIden + 'static,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from_table, from_col)
        .to(to_table, to_col)
        .on_delete(on_delete)
        .to_owned()
}

/// A row that belongs to its parent: deleting the parent deletes it.
fn owned_by(
    table: impl IntoIden + 'static,
    col: impl IntoIden + 'static,
    parent: impl IntoIden + 'static,
    parent_id: impl IntoIden + 'static,
) -> ForeignKeyCreateStatement {
    fk(table, col, parent, parent_id, ForeignKeyAction::Cascade)
}

/// The optional customer of a row: deleting the customer keeps the feedback, anonymised.
fn customer_fk(
    table: impl IntoIden + 'static,
    col: impl IntoIden + 'static,
) -> ForeignKeyCreateStatement {
    fk(
        table,
        col,
        Customers::Table,
        Customers::Id,
        ForeignKeyAction::SetNull,
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Customers::Table)
                .col(id(Customers::Id))
                .col(ColumnDef::new(Customers::ExternalId).string().unique_key())
                .col(ColumnDef::new(Customers::Email).string().unique_key())
                .col(ColumnDef::new(Customers::Name).string())
                .col(ColumnDef::new(Customers::Segment).string())
                .col(ColumnDef::new(Customers::AccountValue).double())
                .col(
                    ColumnDef::new(Customers::NotifyOptIn)
                        .boolean()
                        .not_null()
                        .default(false),
                )
                .col(created_at(Customers::CreatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Surveys::Table)
                .col(id(Surveys::Id))
                .col(ColumnDef::new(Surveys::Title).string().not_null())
                .col(created_at(Surveys::CreatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(SurveyQuestions::Table)
                .col(id(SurveyQuestions::Id))
                .col(
                    ColumnDef::new(SurveyQuestions::SurveyId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(SurveyQuestions::Position)
                        .integer()
                        .not_null(),
                )
                .col(ColumnDef::new(SurveyQuestions::Kind).string().not_null())
                .col(ColumnDef::new(SurveyQuestions::Prompt).string().not_null())
                .foreign_key(&mut owned_by(
                    SurveyQuestions::Table,
                    SurveyQuestions::SurveyId,
                    Surveys::Table,
                    Surveys::Id,
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(SurveyResponses::Table)
                .col(id(SurveyResponses::Id))
                .col(
                    ColumnDef::new(SurveyResponses::SurveyId)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(SurveyResponses::CustomerId).big_integer())
                .col(
                    ColumnDef::new(SurveyResponses::ExternalId)
                        .string()
                        .unique_key(),
                )
                .col(created_at(SurveyResponses::CreatedAt))
                .foreign_key(&mut owned_by(
                    SurveyResponses::Table,
                    SurveyResponses::SurveyId,
                    Surveys::Table,
                    Surveys::Id,
                ))
                .foreign_key(&mut customer_fk(
                    SurveyResponses::Table,
                    SurveyResponses::CustomerId,
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(SurveyAnswers::Table)
                .col(id(SurveyAnswers::Id))
                .col(
                    ColumnDef::new(SurveyAnswers::ResponseId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(SurveyAnswers::QuestionId)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(SurveyAnswers::NumberValue).integer())
                .col(ColumnDef::new(SurveyAnswers::TextValue).text())
                .foreign_key(&mut owned_by(
                    SurveyAnswers::Table,
                    SurveyAnswers::ResponseId,
                    SurveyResponses::Table,
                    SurveyResponses::Id,
                ))
                .foreign_key(&mut owned_by(
                    SurveyAnswers::Table,
                    SurveyAnswers::QuestionId,
                    SurveyQuestions::Table,
                    SurveyQuestions::Id,
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Ratings::Table)
                .col(id(Ratings::Id))
                .col(ColumnDef::new(Ratings::Score).integer().not_null())
                .col(ColumnDef::new(Ratings::Subject).string())
                .col(ColumnDef::new(Ratings::Comment).text())
                .col(ColumnDef::new(Ratings::CustomerId).big_integer())
                .col(ColumnDef::new(Ratings::ExternalId).string().unique_key())
                .col(created_at(Ratings::CreatedAt))
                .foreign_key(&mut customer_fk(Ratings::Table, Ratings::CustomerId))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Tickets::Table)
                .col(id(Tickets::Id))
                .col(ColumnDef::new(Tickets::Subject).string().not_null())
                .col(ColumnDef::new(Tickets::Body).text().not_null())
                .col(ColumnDef::new(Tickets::Priority).string().not_null())
                .col(ColumnDef::new(Tickets::Status).string().not_null())
                .col(ColumnDef::new(Tickets::Tags).text().not_null())
                .col(ColumnDef::new(Tickets::CustomerId).big_integer())
                .col(ColumnDef::new(Tickets::ExternalId).string().unique_key())
                .col(created_at(Tickets::CreatedAt))
                .foreign_key(&mut customer_fk(Tickets::Table, Tickets::CustomerId))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(FeedbackItems::Table)
                .col(id(FeedbackItems::Id))
                .col(ColumnDef::new(FeedbackItems::Kind).string().not_null())
                .col(
                    ColumnDef::new(FeedbackItems::SourceId)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(FeedbackItems::Source).string().not_null())
                .col(ColumnDef::new(FeedbackItems::CustomerId).big_integer())
                .col(ColumnDef::new(FeedbackItems::Subject).string())
                .col(ColumnDef::new(FeedbackItems::Text).text().not_null())
                .col(ColumnDef::new(FeedbackItems::Score).double())
                .col(created_at(FeedbackItems::CreatedAt))
                .foreign_key(&mut customer_fk(
                    FeedbackItems::Table,
                    FeedbackItems::CustomerId,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_feedback_items_kind_source")
                .table(FeedbackItems::Table)
                .col(FeedbackItems::Kind)
                .col(FeedbackItems::SourceId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_feedback_items_created_at")
                .table(FeedbackItems::Table)
                .col(FeedbackItems::CreatedAt)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(OutboxJobs::Table)
                .col(id(OutboxJobs::Id))
                .col(ColumnDef::new(OutboxJobs::Topic).string().not_null())
                .col(ColumnDef::new(OutboxJobs::ItemId).big_integer().not_null())
                .col(ColumnDef::new(OutboxJobs::ClaimedBy).string())
                .col(
                    ColumnDef::new(OutboxJobs::Attempts)
                        .integer()
                        .not_null()
                        .default(0),
                )
                .col(ColumnDef::new(OutboxJobs::LastError).text())
                .col(created_at(OutboxJobs::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_outbox_jobs_topic_id")
                .table(OutboxJobs::Table)
                .col(OutboxJobs::Topic)
                .col(OutboxJobs::Id)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ApiTokens::Table)
                .col(id(ApiTokens::Id))
                .col(ColumnDef::new(ApiTokens::Name).string().not_null())
                .col(ColumnDef::new(ApiTokens::Role).string().not_null())
                .col(
                    ColumnDef::new(ApiTokens::TokenHash)
                        .string()
                        .not_null()
                        .unique_key(),
                )
                .col(created_at(ApiTokens::CreatedAt))
                .col(ColumnDef::new(ApiTokens::LastUsedAt).timestamp_with_time_zone())
                .col(
                    ColumnDef::new(ApiTokens::Revoked)
                        .boolean()
                        .not_null()
                        .default(false),
                )
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Children before parents, so foreign keys never block a drop.
        let tables: [DynIden; 10] = [
            ApiTokens::Table.into_iden(),
            OutboxJobs::Table.into_iden(),
            FeedbackItems::Table.into_iden(),
            Tickets::Table.into_iden(),
            Ratings::Table.into_iden(),
            SurveyAnswers::Table.into_iden(),
            SurveyResponses::Table.into_iden(),
            SurveyQuestions::Table.into_iden(),
            Surveys::Table.into_iden(),
            Customers::Table.into_iden(),
        ];
        for t in tables {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

//! Webhooks in and out.
//!
//! * `inbound_hooks`: a named endpoint (`POST /api/v1/hooks/{name}`) that turns another
//!   tool's calls into tickets or ratings — `zendesk` (its signature scheme) or `generic`
//!   (a field map, Standard Webhooks signatures) — with the secret that signs its calls.
//! * `webhook_subscriptions`: where to send which events (`theme.created`, …), in which
//!   format (`standard` or `slack`), signed with which secret; `disabled_at` is set after
//!   repeated failures (or by an admin) and says why in `disabled_reason`.
//! * `webhook_deliveries`: one row per (subscription, event) — the outbox of webhooks out.
//!   Written in the transaction of the change it reports, retried with backoff until
//!   delivered or given up; `(subscription_id, event_id)` is unique, so an event found
//!   twice is sent once and a retry keeps its id.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000016_webhooks"
    }
}

#[derive(DeriveIden)]
enum InboundHooks {
    Table,
    Id,
    Name,
    /// `zendesk` or `generic`.
    Source,
    /// `ticket` or `rating` (generic hooks).
    ItemKind,
    /// JSON object: triage field → path in the payload (generic hooks).
    Mapping,
    Secret,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookSubscriptions {
    Table,
    Id,
    Url,
    /// JSON list of event types.
    Events,
    /// `standard` or `slack`.
    Format,
    Secret,
    Description,
    ConsecutiveFailures,
    /// After a failed attempt: nothing is sent to this subscription before this time.
    PausedUntil,
    DisabledAt,
    DisabledReason,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    SubscriptionId,
    /// Stable per event: the `webhook-id` header of every attempt.
    EventId,
    EventType,
    /// The JSON body, as signed.
    Payload,
    /// `pending`, `delivering`, `delivered` or `failed`.
    State,
    Attempts,
    NextAttemptAt,
    ClaimedUntil,
    LastStatus,
    LastError,
    CreatedAt,
    DeliveredAt,
}

fn id(c: impl IntoIden) -> ColumnDef {
    ColumnDef::new(c)
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
                .table(InboundHooks::Table)
                .if_not_exists()
                .col(id(InboundHooks::Id))
                .col(
                    ColumnDef::new(InboundHooks::Name)
                        .string()
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new(InboundHooks::Source).string().not_null())
                .col(ColumnDef::new(InboundHooks::ItemKind).string().not_null())
                .col(ColumnDef::new(InboundHooks::Mapping).text().null())
                .col(ColumnDef::new(InboundHooks::Secret).text().not_null())
                .col(
                    ColumnDef::new(InboundHooks::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(WebhookSubscriptions::Table)
                .if_not_exists()
                .col(id(WebhookSubscriptions::Id))
                .col(ColumnDef::new(WebhookSubscriptions::Url).text().not_null())
                .col(
                    ColumnDef::new(WebhookSubscriptions::Events)
                        .text()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(WebhookSubscriptions::Format)
                        .string()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(WebhookSubscriptions::Secret)
                        .text()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(WebhookSubscriptions::Description)
                        .text()
                        .not_null()
                        .default(""),
                )
                .col(
                    ColumnDef::new(WebhookSubscriptions::ConsecutiveFailures)
                        .integer()
                        .not_null()
                        .default(0),
                )
                .col(
                    ColumnDef::new(WebhookSubscriptions::PausedUntil)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(
                    ColumnDef::new(WebhookSubscriptions::DisabledAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(
                    ColumnDef::new(WebhookSubscriptions::DisabledReason)
                        .text()
                        .null(),
                )
                .col(
                    ColumnDef::new(WebhookSubscriptions::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(WebhookDeliveries::Table)
                .if_not_exists()
                .col(id(WebhookDeliveries::Id))
                .col(
                    ColumnDef::new(WebhookDeliveries::SubscriptionId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(WebhookDeliveries::EventId)
                        .string()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(WebhookDeliveries::EventType)
                        .string()
                        .not_null(),
                )
                .col(ColumnDef::new(WebhookDeliveries::Payload).text().not_null())
                .col(ColumnDef::new(WebhookDeliveries::State).string().not_null())
                .col(
                    ColumnDef::new(WebhookDeliveries::Attempts)
                        .integer()
                        .not_null()
                        .default(0),
                )
                .col(
                    ColumnDef::new(WebhookDeliveries::NextAttemptAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(WebhookDeliveries::ClaimedUntil)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(
                    ColumnDef::new(WebhookDeliveries::LastStatus)
                        .integer()
                        .null(),
                )
                .col(ColumnDef::new(WebhookDeliveries::LastError).text().null())
                .col(
                    ColumnDef::new(WebhookDeliveries::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(WebhookDeliveries::DeliveredAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(WebhookDeliveries::Table, WebhookDeliveries::SubscriptionId)
                        .to(WebhookSubscriptions::Table, WebhookSubscriptions::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("webhook_deliveries_event")
                .table(WebhookDeliveries::Table)
                .col(WebhookDeliveries::SubscriptionId)
                .col(WebhookDeliveries::EventId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("webhook_deliveries_due")
                .table(WebhookDeliveries::Table)
                .col(WebhookDeliveries::State)
                .col(WebhookDeliveries::NextAttemptAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(WebhookDeliveries::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(WebhookSubscriptions::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(InboundHooks::Table).to_owned())
            .await?;
        Ok(())
    }
}

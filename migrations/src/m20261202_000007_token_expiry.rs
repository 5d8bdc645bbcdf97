//! API tokens may expire: `api_tokens.expires_at` (none: until revoked).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000007_token_expiry"
    }
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(ApiTokens::Table)
                .add_column(ColumnDef::new(ApiTokens::ExpiresAt).timestamp_with_time_zone())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(ApiTokens::Table)
                .drop_column(ApiTokens::ExpiresAt)
                .to_owned(),
        )
        .await
    }
}

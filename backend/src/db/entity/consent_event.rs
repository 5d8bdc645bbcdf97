//! One change to a customer's wish to hear back when a theme they reported ships.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, utoipa::ToSchema)]
#[schema(as = ConsentEvent)]
#[sea_orm(table_name = "consent_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    #[serde(skip)]
    pub id: i64,
    #[serde(skip)]
    pub customer_id: i64,
    pub opt_in: bool,
    pub source: ConsentSource,
    pub created_at: DateTime<Utc>,
}

super::text_enum! {
    pub enum ConsentSource {
        /// With the customer's first item or when the customer was created.
        Given = "given",
        /// Changed by a product manager or admin (`PATCH /api/v1/customers/{id}`).
        Changed = "changed",
        /// Confirmed through the link mailed after the public survey page (double opt-in).
        Confirmed = "confirmed",
        /// Withdrawn through the unsubscribe link in a mail.
        Unsubscribed = "unsubscribed",
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

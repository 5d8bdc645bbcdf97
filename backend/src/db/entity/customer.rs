//! A person or account that gave feedback. Matched on intake by external id, then email.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, utoipa::ToSchema)]
#[schema(as = CustomerRow)]
#[sea_orm(table_name = "customers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub external_id: Option<String>,
    /// Left out (null) for support tokens and users: least access.
    pub email: Option<String>,
    pub name: Option<String>,
    pub segment: Option<String>,
    /// Left out (null) for support tokens and users.
    pub account_value: Option<f64>,
    pub notify_opt_in: bool,
    pub created_at: DateTime<Utc>,
}

impl Model {
    /// The customer as a role that does not see contact details and value is shown it
    /// (`Role::sees_customer_contact`): email and account value left out.
    pub fn without_contact(self) -> Self {
        Model {
            email: None,
            account_value: None,
            ..self
        }
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

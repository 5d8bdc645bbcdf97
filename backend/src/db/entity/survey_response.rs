//! One respondent's answers to one survey.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, utoipa::ToSchema)]
#[schema(as = SurveyResponseRow)]
#[sea_orm(table_name = "survey_responses")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub survey_id: i64,
    pub customer_id: Option<i64>,
    pub external_id: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The email typed on the public survey page: unverified, so it names no customer.
    /// Left out (null) for support tokens: least access.
    pub respondent_email: Option<String>,
    /// The respondent asked to hear back when their issue is fixed…
    pub notify_requested: bool,
    /// …and confirmed it through the link mailed to `respondent_email` (double opt-in).
    pub notify_confirmed_at: Option<DateTime<Utc>>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

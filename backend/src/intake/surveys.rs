//! Surveys: creating them, and looking them up to validate responses.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder,
};
use serde::Serialize;

use super::input::SurveyResponseInput;
use super::validate::{self, NewResponse, NewSurvey};
use crate::db::entity::{survey, survey_question};
use crate::{Error, Result};

/// A survey with its questions in order: what the API returns.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Survey)]
pub struct SurveyWithQuestions {
    #[serde(flatten)]
    pub survey: survey::Model,
    pub questions: Vec<survey_question::Model>,
}

pub async fn create(db: &DatabaseConnection, new: NewSurvey) -> Result<SurveyWithQuestions> {
    let txn = crate::db::begin_write(db).await?;
    let survey = survey::ActiveModel {
        title: Set(new.title),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let mut questions = Vec::with_capacity(new.questions.len());
    for (position, (kind, prompt)) in new.questions.into_iter().enumerate() {
        let q = survey_question::ActiveModel {
            survey_id: Set(survey.id),
            position: Set(position as i32),
            kind: Set(kind),
            prompt: Set(prompt),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        questions.push(q);
    }
    txn.commit().await?;
    Ok(SurveyWithQuestions { survey, questions })
}

/// Closes survey `id` (now) or opens it again; closing twice keeps the first time.
pub async fn set_closed(
    db: &DatabaseConnection,
    id: i64,
    closed: bool,
) -> Result<SurveyWithQuestions> {
    let current = get(db, id).await?;
    if current.survey.closed_at.is_some() != closed {
        let mut am: survey::ActiveModel = current.survey.into();
        am.closed_at = Set(closed.then(Utc::now));
        am.update(db).await?;
    }
    get(db, id).await
}

pub async fn get<C: ConnectionTrait>(db: &C, id: i64) -> Result<SurveyWithQuestions> {
    let survey = survey::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("survey", id))?;
    let questions = survey_question::Entity::find()
        .filter(survey_question::Column::SurveyId.eq(id))
        .order_by_asc(survey_question::Column::Position)
        .all(db)
        .await?;
    Ok(SurveyWithQuestions { survey, questions })
}

/// Validates responses against their surveys, loading each survey once.
#[derive(Default)]
pub struct ResponseValidator {
    surveys: HashMap<i64, Option<SurveyWithQuestions>>,
}

impl ResponseValidator {
    /// The survey with its questions, loaded once; fails with `unknown_survey` on `field`
    /// (where the survey id came from) when there is no such survey.
    pub async fn survey<C: ConnectionTrait>(
        &mut self,
        db: &C,
        survey_id: i64,
        field: &str,
    ) -> Result<&SurveyWithQuestions> {
        if let std::collections::hash_map::Entry::Vacant(slot) = self.surveys.entry(survey_id) {
            slot.insert(match get(db, survey_id).await {
                Ok(s) => Some(s),
                Err(Error::NotFound { .. }) => None,
                Err(e) => return Err(e),
            });
        }
        self.surveys[&survey_id].as_ref().ok_or_else(|| {
            Error::invalid(
                "unknown_survey",
                field,
                format!("there is no survey {survey_id}"),
            )
        })
    }

    pub async fn validate<C: ConnectionTrait>(
        &mut self,
        db: &C,
        survey_id: i64,
        field: &str,
        input: SurveyResponseInput,
    ) -> Result<NewResponse> {
        let s = self.survey(db, survey_id, field).await?;
        validate::response(input, &s.survey, &s.questions)
    }
}

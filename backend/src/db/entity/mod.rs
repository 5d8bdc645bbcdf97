//! sea-orm entities, one per table created by the `migration` crate.

pub mod api_token;
pub mod app_secret;
pub mod area;
pub mod backlog_change;
pub mod backlog_entry;
pub mod customer;
pub mod embedding;
pub mod feedback_item;
pub mod item_theme;
pub mod mail;
pub mod outbox_job;
pub mod rating;
pub mod session;
pub mod subscription;
pub mod survey;
pub mod survey_answer;
pub mod survey_question;
pub mod survey_response;
pub mod theme;
pub mod theme_edit;
pub mod ticket;
pub mod user;

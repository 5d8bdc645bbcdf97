//! Webhooks out: telling other systems what happened in triage.
//!
//! Events are queued where they happen, in the transaction of the change they report
//! (`db::webhooks::emit`: an item stored in `intake::store`, a theme made in
//! `themes::assign`, a status changed in `backlog::workflow`). Two kinds of event are
//! states rather than changes — a theme rising this week, a rollout's impact becoming
//! measurable — and [`watch`] looks for them every few minutes; the delivery table's unique
//! `(subscription, event id)` makes finding one again harmless. [`deliver`] sends what is
//! queued, signed per Standard Webhooks, with retries.
//!
//! This module sits with the digest (it reads the backlog and impact to find rising and
//! measured themes); the storage underneath is `db::webhooks`.

pub mod deliver;
pub mod subscriptions;
pub mod watch;

pub use crate::db::entity::webhook_subscription::{EventType, WebhookFormat};

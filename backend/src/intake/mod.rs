//! Intake: turning requests and import rows into stored feedback.
//!
//! The flow is the same for the JSON API and for bulk import, so both enforce the same
//! rules and produce the same rows:
//!
//! 1. [`input`]: the accepted shapes (serde, unknown fields rejected);
//!    [`json`] parses them with errors that name the offending field.
//! 2. [`validate`]: ranges, lengths and formats, producing validated values.
//!    [`redact`] then masks personal data in their text (in [`store`], so no path skips it).
//! 3. [`store`]: one transaction per batch writes the source rows, their unified
//!    `feedback_items` rows and one outbox job per item — so an acknowledged item is never
//!    missing from the index for longer than the worker takes to catch up.
//!
//!    Single items posted to the API or the web pages go through [`group`], which lets
//!    concurrent posts share one transaction (group commit).
//!
//! [`import`] streams CSV/JSONL files through the same steps in batches; [`sources`] reads
//! other tools' exports (Zendesk, app stores, survey tools, …) as such files.

pub mod customers;
pub mod group;
pub mod hooks;
pub mod import;
pub mod input;
pub mod json;
pub mod redact;
pub mod score;
pub mod sources;
pub mod store;
pub mod surveys;
pub mod validate;

//! triage: a self-hosted customer feedback triage system.
//!
//! Feedback (tickets, star ratings, survey responses) comes in through the JSON API or bulk
//! import, is stored in SQLite or PostgreSQL (the only source of truth), and is mirrored into
//! a tantivy full-text index through a transactional outbox. See `docs/architecture.md`.
//!
//! Modules, in the order data flows through them:
//! * [`intake`]: validation, storage of new feedback, CSV/JSONL import.
//! * [`db`]: entities, connection, queries, the outbox.
//! * [`jobs`]: the worker that keeps the search index in step.
//! * [`themes`]: embeddings grouped into recurring themes.
//! * [`search`]: search by words, by meaning, or both fused (API and search page).
//! * [`backlog`]: themes ranked by an explainable score, and the PM workflow.
//! * [`digest`]: weekly email digests and close-the-loop notes, through a mail outbox.
//! * [`http`]: the axum API and the web UI.
//! * [`cli`] and [`bench`]: the `triage` command and its benchmarks.

pub mod backlog;
pub mod bench;
pub mod cli;
pub mod config;
pub mod db;
pub mod digest;
pub mod embed;
mod error;
pub mod http;
pub mod intake;
pub mod jobs;
pub mod search;
pub mod server;
pub mod themes;

pub use config::Config;
pub use error::{Error, Result};

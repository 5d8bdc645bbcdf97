//! triage: a self-hosted customer feedback triage system.
//!
//! Feedback (tickets, star ratings, survey responses) comes in through the JSON API or bulk
//! import, is stored in SQLite or PostgreSQL (the only source of truth), and is mirrored into
//! a tantivy full-text index through a transactional outbox. See `docs/architecture.md`.
//!
//! Modules, from the bottom layer up (a module uses only its layer and those below it;
//! `tests/layers.rs` checks, docs/architecture.md draws it):
//! * [`Error`], [`config`], [`validate`], [`metrics`]: the error type, settings, field
//!   checks, the process metrics registry.
//! * [`db`]: entities, connection, queries, pagination, the outbox.
//! * [`intake`]: validation and storage of new feedback, customers, CSV/JSONL import.
//! * [`embed`], [`themes`], [`search`]: vectors, recurring themes, search by words and
//!   by meaning.
//! * [`jobs`]: the outbox workers (index, embeddings, graph, theme rebuilds).
//! * [`backlog`]: themes ranked by an explainable score, and the PM workflow.
//! * [`impact`]: what a shipped theme's rollouts did to its feedback, per cohort.
//! * [`digest`]: weekly email digests and close-the-loop notes, through a mail outbox;
//!   [`privacy`]: a customer's data exported or erased on request, and retention;
//!   [`webhooks`]: events sent to other systems, signed, with retries.
//! * [`http`]: the axum API and the web UI; [`cli`] and [`bench`]: the `triage` command and
//!   its benchmarks; [`server`]: `triage serve`.

pub mod backlog;
pub mod bench;
pub mod cli;
pub mod config;
pub mod db;
pub mod digest;
pub mod embed;
mod error;
pub mod http;
pub mod impact;
pub mod intake;
pub mod jobs;
pub mod metrics;
pub mod privacy;
pub mod search;
pub mod server;
pub mod themes;
pub mod validate;
pub mod webhooks;

pub use config::Config;
pub use error::{Error, Result};

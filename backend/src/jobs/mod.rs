//! Background work fed by the transactional outbox.
//!
//! [`consumer`] is the claim → handle → complete loop they all share.
//!
//! [`index_sync`] keeps the search index in step with the database: the worker inside
//! `triage serve` drains index jobs continuously, `triage import` drains the jobs it
//! created itself, and `triage reindex` rebuilds everything.

pub mod consumer;
pub mod embed_sync;
pub mod index_sync;
pub mod themes_job;
pub mod vector_sync;

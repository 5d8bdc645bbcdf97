//! Background work fed by the transactional outbox, and what drives it.
//!
//! * [`consumer`]: the claim → handle → complete loop every worker shares (retries,
//!   jobs set aside after repeated failures, claims released after a crash).
//! * [`index_sync`]: keeps the search index in step with the database — continuously
//!   inside `triage serve`, for its own jobs in `triage import`, wholly in `triage reindex`;
//!   each replica's index reads the job log at its own cursor.
//! * [`embed_sync`]: embeds new items and places them in the nearest theme.
//! * [`vector_sync`]: the nearest-neighbour graph of search by meaning: filled from the
//!   stored vectors at start, saved while it changes.
//! * [`themes_job`]: the periodic full theme rebuild.
//! * [`import`]: a file imported with the index kept in step (CLI, demo, benchmarks).
//! * [`lease`]: once-only work (theme rebuilds, digest queueing, retention) on one process
//!   at a time, by PostgreSQL advisory locks.

pub mod consumer;
pub mod embed_sync;
pub mod import;
pub mod index_sync;
pub mod lease;
pub mod themes_job;
pub mod vector_sync;

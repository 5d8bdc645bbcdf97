//! A customer's rights over their data: export (GDPR article 15), erasure (article 17)
//! and retention.
//!
//! Both export and erasure start from one customer and cover the same ground — their
//! items (tickets, ratings, survey answers, including public-page answers left under their
//! email), theme placements, mail addressed to them and their consent — so what an export
//! shows is exactly what an erasure removes. Erasure and retention share the storage step
//! (`db::erase`): one transaction removes the rows and queues the jobs that take the items
//! out of the search index and the vector graph, then records a receipt
//! ([`crate::db::entity::erasure`]) that names counts, never personal data.
//!
//! Redaction at intake is `intake::redact`; what triage holds and for how long is written
//! up for operators in docs/privacy.md.

pub mod erase;
pub mod export;
pub mod retention;

/// Who asked for an erasure, as recorded on its receipt.
pub use crate::db::actors::Actor;

//! Themes: recurring topics in feedback, found from sentence embeddings.
//!
//! * [`areas`]: the coarser level, groups of related themes.
//! * [`assign`]: placing new items in existing themes on arrival.
//! * [`vectors`]: item vectors in one flat buffer; `.npy` input/output.
//! * [`knn`]: exact nearest neighbours in blocks (no n × n matrix).
//! * [`louvain`]: community detection on the neighbour graph.
//! * [`discover`]: the pipeline from vectors to themes and the unthemed queue.
//! * [`suggest`]: the themes and past items closest to a draft (the ticket form).
//! * [`metrics`]: NMI, ARI and ACC against true labels, for `triage eval`.

pub mod areas;
pub mod assign;
pub mod discover;
pub mod edits;
pub mod knn;
pub mod labels;
pub mod louvain;
pub mod metrics;
pub mod rebuild;
pub mod suggest;
pub mod vectors;

//! Themes: recurring topics in feedback, found from sentence embeddings.
//!
//! The vectors themselves are `embed::vectors` (one flat buffer, `.npy` input/output).
//!
//! * [`knn`]: exact nearest neighbours in blocks (no n × n matrix).
//! * [`louvain`]: community detection on the neighbour graph.
//! * [`discover`]: the pipeline from vectors to themes and the unthemed queue.
//! * [`labels`]: naming a theme from its keywords and its most central item.
//! * [`rebuild`]: a full re-clustering that keeps what people edited.
//! * [`areas`]: the coarser level, groups of related themes.
//! * [`assign`]: placing new items in existing themes on arrival.
//! * [`edits`]: rename, merge, split, move, lock — the edits that survive rebuilds.
//! * [`undo`]: putting an edit back exactly, also after a rebuild.
//! * [`members`]: the items of a theme, best fitting first.
//! * [`suggest`]: the themes and past items closest to a draft (the ticket form).
//! * [`metrics`]: NMI, ARI and ACC against true labels, for `triage eval`.

pub mod areas;
pub mod assign;
pub mod discover;
pub mod edits;
pub mod granularity;
pub mod knn;
pub mod labels;
pub mod lookalike;
pub mod louvain;
pub mod members;
pub mod metrics;
pub mod rebuild;
pub mod suggest;
pub mod teach;
pub mod undo;

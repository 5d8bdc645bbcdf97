//! The index crate's one error type.

use std::path::{Path, PathBuf};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the search index is locked by another process (is `triage serve` running on this data dir?)")]
    Locked,
    #[error("the search index was written with another schema and must be rebuilt")]
    SchemaMismatch,
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("search index: {0}")]
    Tantivy(tantivy::TantivyError),
    #[error("vector index: {0}")]
    Vectors(String),
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl From<tantivy::TantivyError> for Error {
    fn from(e: tantivy::TantivyError) -> Self {
        match e {
            tantivy::TantivyError::LockFailure(..) => Self::Locked,
            other => Self::Tantivy(other),
        }
    }
}

impl From<tantivy::query::QueryParserError> for Error {
    fn from(e: tantivy::query::QueryParserError) -> Self {
        Self::Tantivy(tantivy::TantivyError::InvalidArgument(e.to_string()))
    }
}

//! The crate's one error type.
//!
//! Variants fall in two groups: the client's mistakes (validation, not found, conflict,
//! auth), which carry the offending field and are shown as they are; and our own failures
//! (database, index, I/O), whose details are logged but never sent to API clients.
//! `http::error` maps each variant to an HTTP status in one place.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: `code` is machine-readable (`missing_field`, `out_of_range`, …),
    /// `field` the dotted path of the offending field when there is one.
    #[error("{message}")]
    Invalid {
        code: &'static str,
        field: Option<String>,
        message: String,
    },
    /// Well-formed input that what is stored rules out (an unknown question or theme, a
    /// theme merged into itself): answered 422, where `Invalid` (400) is input that no state
    /// of the database would accept.
    #[error("{message}")]
    Unprocessable {
        code: &'static str,
        field: String,
        message: String,
    },
    #[error("request body is larger than the {limit}-byte limit")]
    PayloadTooLarge { limit: usize },
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("{message}")]
    Conflict { field: String, message: String },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    /// A rate limit was hit; the client may try again after `retry_after_secs`.
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    #[error("configuration: {0}")]
    Config(String),
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Index(#[from] triage_index::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A broken invariant of our own, described (no underlying error to keep).
    #[error("{0}")]
    Internal(String),
    /// Our own failure caused by another error, kept as its `source` for the log.
    #[error("{context}: {source}")]
    Failed {
        context: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// One failure answered to several requests: a grouped write (`intake::group`) whose
    /// transaction failed fails every request in it the same way.
    #[error(transparent)]
    Shared(std::sync::Arc<Error>),
}

impl Error {
    /// Wraps another error as ours, keeping it as the source: `.map_err(Error::failed("…"))`.
    pub fn failed<E>(context: &'static str) -> impl Fn(E) -> Self + Copy
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        move |e| Self::Failed {
            context,
            source: Box::new(e),
        }
    }

    /// A validation error on `field`.
    pub fn invalid(
        code: &'static str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let field = field.into();
        Self::Invalid {
            code,
            field: (!field.is_empty()).then_some(field),
            message: message.into(),
        }
    }

    /// Input that is well-formed but refers to, or asks for, what the stored data rules out.
    pub fn unprocessable(
        code: &'static str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::Unprocessable {
            code,
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn not_found(what: &'static str, id: impl ToString) -> Self {
        Self::NotFound {
            what,
            id: id.to_string(),
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// True for errors caused by the request rather than by the server.
    pub fn is_client_error(&self) -> bool {
        if let Self::Shared(e) = self {
            return e.is_client_error();
        }
        matches!(
            self,
            Self::Invalid { .. }
                | Self::Unprocessable { .. }
                | Self::PayloadTooLarge { .. }
                | Self::NotFound { .. }
                | Self::Conflict { .. }
                | Self::Unauthorized(_)
                | Self::Forbidden(_)
                | Self::TooManyRequests { .. }
        )
    }
}

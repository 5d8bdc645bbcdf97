//! What a database error means for the caller: the database is unreachable or restarting
//! (try again shortly), it is out of disk space, or something else went wrong.
//!
//! The HTTP layer answers the first two with 503 and 507 and a sentence that says so,
//! instead of a bare 500, and the first with `Retry-After`: a client (or a load balancer)
//! can tell "come back in a moment" from "this request is broken".

use sea_orm::sqlx;
use sea_orm::{DbErr, RuntimeErr};

/// The kind of a database failure, as far as a caller can act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trouble {
    /// Connection refused, lost or timed out; the server shutting down or restarting;
    /// the connection pool exhausted; SQLite busy past its timeout.
    Unavailable,
    /// No space left for the write (PostgreSQL `disk_full`, SQLite `SQLITE_FULL`).
    Full,
    /// Anything else: a bug or a constraint, not a passing condition.
    Other,
}

pub fn trouble(e: &DbErr) -> Trouble {
    match e {
        DbErr::ConnectionAcquire(_) => Trouble::Unavailable,
        DbErr::Conn(r) | DbErr::Exec(r) | DbErr::Query(r) => match r {
            RuntimeErr::SqlxError(e) => sqlx_trouble(e),
            RuntimeErr::Internal(_) => Trouble::Other,
        },
        _ => Trouble::Other,
    }
}

fn sqlx_trouble(e: &sqlx::Error) -> Trouble {
    match e {
        sqlx::Error::Io(io) if io.raw_os_error() == Some(28) => Trouble::Full, // ENOSPC
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Trouble::Unavailable,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            let message = db.message().to_ascii_lowercase();
            match code.as_ref() {
                // PostgreSQL SQLSTATE: disk_full; connection exceptions (08…), the server
                // shutting down or starting (57P01–57P03), too many connections (53300).
                "53100" => Trouble::Full,
                c if c.starts_with("08") || c.starts_with("57P") || c == "53300" => {
                    Trouble::Unavailable
                }
                // SQLite result codes (extended codes keep the primary one in the low byte):
                // SQLITE_FULL 13, SQLITE_BUSY 5, SQLITE_LOCKED 6, SQLITE_IOERR 10.
                c => match c.parse::<u32>().map(|n| n & 0xff) {
                    Ok(13) => Trouble::Full,
                    Ok(10) if message.contains("disk is full") => Trouble::Full,
                    Ok(5) | Ok(6) => Trouble::Unavailable,
                    _ => Trouble::Other,
                },
            }
        }
        _ => Trouble::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_and_full_disks_are_told_apart() {
        let io = |code| {
            DbErr::Conn(RuntimeErr::SqlxError(sqlx::Error::Io(
                std::io::Error::from_raw_os_error(code),
            )))
        };
        assert_eq!(trouble(&io(111)), Trouble::Unavailable); // ECONNREFUSED
        assert_eq!(trouble(&io(28)), Trouble::Full);
        assert_eq!(
            trouble(&DbErr::Query(RuntimeErr::SqlxError(
                sqlx::Error::PoolTimedOut
            ))),
            Trouble::Unavailable
        );
        assert_eq!(trouble(&DbErr::RecordNotFound("x".into())), Trouble::Other);
    }
}

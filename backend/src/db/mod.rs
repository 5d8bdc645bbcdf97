//! Storage: connecting to SQLite or PostgreSQL, running migrations, and the queries the
//! rest of the crate needs, grouped by table.
//!
//! SQLite runs in WAL mode with `synchronous=FULL`, so an acknowledged write survives a
//! crash or power loss, and a busy timeout so that `triage import` and `triage serve` can
//! write to the same file. Foreign keys are enforced on both backends.

pub mod actors;
pub mod customers;
pub mod embeddings;
pub mod entity;
pub mod erase;
pub mod items;
pub mod mail;
pub mod outbox;
pub mod outbox_log;
pub mod sessions;
pub mod tallies;
pub mod tokens;
pub mod trouble;
pub mod users;
pub mod webhooks;

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

use crate::{Config, Error, Result};

/// Connects and brings the schema up to date.
pub async fn connect(config: &Config) -> Result<DatabaseConnection> {
    if config.is_sqlite() {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| Error::io(&config.data_dir, e))?;
    }
    let mut opts = ConnectOptions::new(config.database_url.clone());
    opts.sqlx_logging(false)
        .max_connections(if config.is_sqlite() { 4 } else { 10 })
        .connect_timeout(Duration::from_secs(10))
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
                // Erased rows are overwritten with zeros, not left in free pages.
                .pragma("secure_delete", "on")
        });
    let db = Database::connect(opts).await.map_err(|e| {
        Error::Config(format!(
            "cannot open the database at {}: {e}",
            redact(&config.database_url)
        ))
    })?;
    Migrator::up(&db, None).await?;
    tallies::ensure_built(&db).await?;
    Ok(db)
}

/// Connections of the pool: (in use, idle, most allowed).
pub fn pool_usage(db: &DatabaseConnection) -> (u64, u64, u64) {
    fn of<DB: sea_orm::sqlx::Database>(p: &sea_orm::sqlx::Pool<DB>) -> (u64, u64, u64) {
        let size = u64::from(p.size());
        let idle = p.num_idle() as u64;
        (
            size.saturating_sub(idle),
            idle,
            u64::from(p.options().get_max_connections()),
        )
    }
    match db {
        DatabaseConnection::SqlxSqlitePoolConnection(_) => of(db.get_sqlite_connection_pool()),
        DatabaseConnection::SqlxPostgresPoolConnection(_) => of(db.get_postgres_connection_pool()),
        _ => (0, 0, 0),
    }
}

/// The URL with any password removed, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{}@{}", &url[..s + 3], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// Splits `values` into chunks small enough for one multi-row statement on every backend
/// (SQLite allows 32,766 bound parameters, PostgreSQL 65,535).
pub fn chunks_for<T>(values: &[T], params_per_row: usize) -> std::slice::Chunks<'_, T> {
    values.chunks((30_000 / params_per_row.max(1)).max(1))
}

/// Inserts one row with `ON CONFLICT DO NOTHING`; `None` when a unique key was taken.
pub async fn insert_or_skip<A, C>(
    db: &C,
    model: A,
) -> Result<Option<<A::Entity as sea_orm::EntityTrait>::Model>>
where
    A: sea_orm::ActiveModelTrait + Send,
    <A::Entity as sea_orm::EntityTrait>::Model: sea_orm::IntoActiveModel<A>,
    C: sea_orm::ConnectionTrait,
{
    use sea_orm::{EntityTrait, TryInsertResult};
    let r = A::Entity::insert(model)
        .on_conflict(
            sea_orm::sea_query::OnConflict::new()
                .do_nothing()
                .to_owned(),
        )
        .do_nothing()
        .exec_with_returning(db)
        .await;
    match r {
        Ok(TryInsertResult::Inserted(m)) => Ok(Some(m)),
        Ok(_) => Ok(None),
        // sea-orm reports a RETURNING that came back empty (the conflict) this way.
        Err(sea_orm::DbErr::RecordNotFound(_)) | Err(sea_orm::DbErr::RecordNotInserted) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Which rows of a list to return: at most `limit`, after skipping `offset`.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: u64,
    pub offset: u64,
}

/// A page of results as every list endpoint returns it.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
}

impl<T> Listing<T> {
    pub fn new(items: Vec<T>, total: u64, page: Page) -> Self {
        Self {
            items,
            total,
            limit: page.limit,
            offset: page.offset,
        }
    }

    /// The same page with each item turned into something else.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Listing<U> {
        Listing {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            limit: self.limit,
            offset: self.offset,
        }
    }
}

/// One page of `select`, newest (highest id) first, and the total row count.
pub async fn page<E, C>(
    db: &C,
    select: sea_orm::Select<E>,
    id_column: E::Column,
    limit: u64,
    offset: u64,
) -> Result<(Vec<E::Model>, u64)>
where
    E: sea_orm::EntityTrait,
    E::Model: Sync,
    C: sea_orm::ConnectionTrait,
{
    use sea_orm::{PaginatorTrait, QueryOrder, QuerySelect};
    let total = select.clone().count(db).await?;
    let rows = select
        .order_by_desc(id_column)
        .limit(limit)
        .offset(offset)
        .all(db)
        .await?;
    Ok((rows, total))
}

/// Takes the write lock on the rows of `table` whose `column` is one of `values`, before the
/// transaction reads them: a change that decides from what it reads (the backlog tallies'
/// "before") must not read a row another transaction is about to change. PostgreSQL:
/// `SELECT … ORDER BY column FOR UPDATE`, so rows are locked in `column` order within a
/// statement — callers pass many values sorted, so statements follow one another in that
/// order too and two lockers cannot deadlock on each other. SQLite: nothing to do, a
/// transaction begun with [`begin_write`] already holds the database's one write lock.
pub async fn lock_rows<C, V>(
    txn: &C,
    table: &str,
    column: &str,
    values: impl IntoIterator<Item = V>,
) -> Result<()>
where
    C: sea_orm::ConnectionTrait,
    V: Into<sea_orm::Value>,
{
    use sea_orm::sea_query::{Alias, Expr, LockType, Order, Query};
    if txn.get_database_backend() != sea_orm::DbBackend::Postgres {
        return Ok(());
    }
    let values: Vec<sea_orm::Value> = values.into_iter().map(Into::into).collect();
    for chunk in values.chunks(10_000) {
        let q = Query::select()
            .column(Alias::new(column))
            .from(Alias::new(table))
            .and_where(Expr::col(Alias::new(column)).is_in(chunk.iter().cloned()))
            .order_by(Alias::new(column), Order::Asc)
            .lock(LockType::Update)
            .to_owned();
        txn.query_all(sea_orm::DbBackend::Postgres.build(&q))
            .await?;
    }
    Ok(())
}

/// Begins a transaction that will write.
///
/// On SQLite it takes the write lock at once, as `BEGIN IMMEDIATE` would (sea-orm cannot
/// issue that): a transaction that reads first and writes later fails with
/// `SQLITE_BUSY_SNAPSHOT` when another connection committed in between, and the busy
/// timeout does not help there. A write statement that changes nothing takes the lock and
/// waits for it like any write. PostgreSQL needs nothing of the kind.
pub async fn begin_write(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction> {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let txn = db.begin().await?;
    if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        txn.execute_unprepared("UPDATE outbox_jobs SET attempts = attempts WHERE 0")
            .await?;
    }
    Ok(txn)
}

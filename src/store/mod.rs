//! SQLite storage (sqlx): one transaction per batch of incoming mail, the outbox, queries.
//!
//! Every write transaction starts with `BEGIN IMMEDIATE` so concurrent writers wait for the
//! lock instead of failing half-way; the file is created mode 0600.

pub mod blob;
pub mod cases;
pub mod deadlines;
pub mod intake;
pub mod keys;
pub mod outbox;
pub mod service;
pub mod space;
pub mod thread;
pub mod vacuum;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database file {path}: {message}")]
    File { path: String, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A mail could not be made (a template or composition failure).
    #[error(transparent)]
    Mail(#[from] crate::outbox::MailError),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// The database.
#[derive(Clone, Debug)]
pub struct Store {
    pub pool: SqlitePool,
}

/// Creates the file with mode 0600 (and its directory) if it does not exist yet.
fn create_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let err = |e: std::io::Error| StoreError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    if !path.exists() {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(err)?;
    }
    Ok(())
}

impl Store {
    /// Opens (creating it private if needed) and migrates the database.
    #[tracing::instrument(skip_all, fields(path = %path.display()))]
    pub async fn open(path: &Path) -> Result<Store> {
        create_private(path)?;
        let opts = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            // Raw mail is stored as blobs: larger pages mean fewer writes (new databases only).
            .page_size(16384)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(opts).await?;
        let store = Store { pool };
        MIGRATOR.run(&store.pool).await?;
        Ok(store)
    }

    /// A write transaction (`BEGIN IMMEDIATE`).
    pub async fn write(&self) -> Result<WriteTx> {
        let mut conn = self.pool.acquire().await?;
        if let Err(e) = sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await {
            // A connection left inside a transaction (or otherwise unwell) is not reused.
            conn.close_on_drop();
            return Err(e.into());
        }
        Ok(WriteTx {
            conn: Some(conn),
            events: Vec::new(),
            next_outbox_id: None,
        })
    }
}

/// An audit event waiting in its transaction (written just before COMMIT).
#[derive(Debug)]
pub(crate) struct PendingEvent {
    pub case_id: Option<String>,
    pub at: String,
    pub actor: String,
    pub kind: String,
    pub detail: String,
    pub message: Option<i64>,
}

/// Events per INSERT statement when flushing (6 values each, well under SQLite's limit).
const EVENTS_PER_STATEMENT: usize = 200;

/// A `BEGIN IMMEDIATE` transaction on a pooled connection. Unlike sqlx's own transaction, a
/// failed COMMIT (disk full, read-only file) never returns a connection stuck inside a
/// transaction to the pool: it is rolled back, or closed.
///
/// Audit events are collected and written in a few multi-row statements just before COMMIT
/// (nothing reads them inside a write transaction), and the next outbox row id is counted
/// here after the first lookup: the transaction holds the write lock, so nobody else adds
/// rows meanwhile. Both save round trips to sqlx's SQLite thread on the hot ingest path.
pub struct WriteTx {
    conn: Option<PoolConnection<Sqlite>>,
    events: Vec<PendingEvent>,
    next_outbox_id: Option<i64>,
}

impl std::ops::Deref for WriteTx {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        self.conn.as_ref().expect("open transaction")
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.conn.as_mut().expect("open transaction")
    }
}

impl WriteTx {
    /// Adds an audit event to this transaction.
    pub(crate) fn push_event(&mut self, e: PendingEvent) {
        self.events.push(e);
    }

    /// The id for the next outbox row in this transaction.
    pub(crate) async fn next_outbox_id(&mut self) -> Result<i64> {
        let next = match self.next_outbox_id {
            Some(n) => n,
            None => {
                let (n,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(id), 0) + 1 FROM outbox")
                    .fetch_one(&mut **self)
                    .await?;
                n
            }
        };
        self.next_outbox_id = Some(next + 1);
        Ok(next)
    }

    async fn flush_events(&mut self) -> std::result::Result<(), sqlx::Error> {
        let events = std::mem::take(&mut self.events);
        for chunk in events.chunks(EVENTS_PER_STATEMENT) {
            let mut q =
                sqlx::QueryBuilder::<Sqlite>::new("INSERT INTO events (case_id, at, actor, kind, detail, message) ");
            q.push_values(chunk, |mut b, e| {
                b.push_bind(e.case_id.as_deref())
                    .push_bind(e.at.as_str())
                    .push_bind(e.actor.as_str())
                    .push_bind(e.kind.as_str())
                    .push_bind(e.detail.as_str())
                    .push_bind(e.message);
            });
            q.build().execute(&mut **self).await?;
        }
        Ok(())
    }

    async fn finish(mut self, sql: &'static str) -> Result<()> {
        let flushed = if sql == "COMMIT" {
            self.flush_events().await
        } else {
            self.events.clear();
            Ok(())
        };
        let mut conn = self.conn.take().expect("open transaction");
        let outcome = match flushed {
            Ok(()) => sqlx::query(sql).execute(&mut *conn).await.map(|_| ()),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(_) => Ok(()),
            Err(e) => {
                if sqlx::query("ROLLBACK").execute(&mut *conn).await.is_err() {
                    conn.close_on_drop();
                }
                Err(e.into())
            }
        }
    }

    pub async fn commit(self) -> Result<()> {
        self.finish("COMMIT").await
    }

    pub async fn rollback(self) -> Result<()> {
        self.finish("ROLLBACK").await
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        // Dropped without commit (an error path): closing the connection rolls it back.
        if let Some(mut c) = self.conn.take() {
            c.close_on_drop();
        }
    }
}

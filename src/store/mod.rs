//! SQLite storage (sqlx for reads, rusqlite for writes): one transaction per batch of incoming mail, the outbox, queries.
//!
//! Every write transaction starts with `BEGIN IMMEDIATE` so concurrent writers wait for the
//! lock instead of failing half-way; the file is created mode 0600.

pub mod blob;
pub mod cases;
pub mod checkpoint;
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

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database: {0}")]
    Write(#[from] rusqlite::Error),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database file {path}: {message}")]
    File { path: String, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A read on a blocking thread did not finish (it panicked).
    #[error("database read: {0}")]
    Reader(#[from] tokio::task::JoinError),
    /// A mail could not be made (a template or composition failure).
    #[error(transparent)]
    Mail(#[from] crate::outbox::MailError),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// The database.
#[derive(Clone, Debug)]
pub struct Store {
    /// Reads (and migrations).
    pub pool: SqlitePool,
    /// Write transactions, one at a time.
    writer: std::sync::Arc<tokio::sync::Mutex<rusqlite::Connection>>,
    /// Synchronous reads on the caller's thread (the similar-case lookups of a batch).
    reader: std::sync::Arc<std::sync::Mutex<rusqlite::Connection>>,
    /// Copies committed pages from the WAL into the file, off the writer's thread.
    checkpoint: std::sync::Arc<checkpoint::Checkpointer>,
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
            .busy_timeout(BUSY_TIMEOUT)
            // Raw mail is stored as blobs: larger pages mean fewer writes (new databases only).
            .page_size(16384)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(opts).await?;
        MIGRATOR.run(&pool).await?;
        let writer = open_writer(path)?;
        let checkpoint = std::sync::Arc::new(checkpoint::Checkpointer::start(path)?);
        let reader = rusqlite::Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        reader.busy_timeout(BUSY_TIMEOUT)?;
        trace_statements(&reader);
        Ok(Store {
            pool,
            writer: std::sync::Arc::new(tokio::sync::Mutex::new(writer)),
            reader: std::sync::Arc::new(std::sync::Mutex::new(reader)),
            checkpoint,
        })
    }

    /// Runs `f` with the reading connection, on this thread (blocks: call it where blocking
    /// is allowed, e.g. in `spawn_blocking`).
    pub fn read_sync<R>(&self, f: impl FnOnce(&rusqlite::Connection) -> R) -> R {
        let conn = self.reader.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&conn)
    }

    /// A write transaction (`BEGIN IMMEDIATE`) on the store's one writing connection.
    pub async fn write(&self) -> Result<WriteTx> {
        let conn = self.writer.clone().lock_owned().await;
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            // Left inside a transaction by a panic elsewhere: end that one and try once more.
            if conn.is_autocommit() {
                return Err(e.into());
            }
            let _ = conn.execute_batch("ROLLBACK");
            conn.execute_batch("BEGIN IMMEDIATE")?;
        }
        Ok(WriteTx {
            conn: Some(conn),
            events: Vec::new(),
            index: Vec::new(),
            next_outbox_id: None,
            checkpoint: self.checkpoint.clone(),
        })
    }
}

/// How long a writer waits for another (the CLI, a second daemon) to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The connection write transactions use: statements run on the caller's thread.
fn open_writer(path: &Path) -> Result<rusqlite::Connection> {
    let c = rusqlite::Connection::open(path)?;
    c.busy_timeout(BUSY_TIMEOUT)?;
    c.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")?;
    // Checkpoints are the checkpointing thread's job; this is only the backstop.
    c.pragma_update(None, "wal_autocheckpoint", checkpoint::BACKSTOP_PAGES)?;
    c.set_prepared_statement_cache_capacity(64);
    trace_statements(&c);
    Ok(c)
}

/// With `RUST_LOG=secintake::sql=trace`, every statement the connection runs is logged: its
/// SQL text as written, never the values bound to it.
fn trace_statements(c: &rusqlite::Connection) {
    c.trace_v2(
        rusqlite::trace::TraceEventCodes::SQLITE_TRACE_STMT,
        Some(|e| {
            if let rusqlite::trace::TraceEvent::Stmt(_, sql) = e {
                tracing::trace!(target: "secintake::sql", statement = %sql.split_whitespace().collect::<Vec<_>>().join(" "));
            }
        }),
    );
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

/// A `BEGIN IMMEDIATE` transaction on the store's writing connection (rusqlite, on the
/// caller's thread: no round trip to another thread per statement). A failed COMMIT (disk
/// full, read-only file) is rolled back, so the connection is never left inside a
/// transaction; dropping a `WriteTx` without committing rolls it back.
///
/// Audit events are collected and written just before COMMIT (nothing reads them inside a
/// write transaction), and the next outbox row id is counted here after the first lookup:
/// the transaction holds the write lock, so nobody else adds rows meanwhile.
///
/// Full-text index rows are collected too and written last, just before COMMIT. FTS5 writes
/// its pending terms to disk at every statement savepoint, and most writes (a message row,
/// an `INSERT OR REPLACE`) open one: written between them, each message's words became an
/// index segment of their own, merged again and again. Written together, a batch's words
/// reach the disk once. Nothing reads the index inside a write transaction.
pub struct WriteTx {
    conn: Option<tokio::sync::OwnedMutexGuard<rusqlite::Connection>>,
    events: Vec<PendingEvent>,
    /// Each row, and the subject of its case when the row's text is also what the
    /// similar-case scorer reads of the case (see [`WriteTx::push_report_index`]).
    index: Vec<(crate::search::index::Entry, Option<String>)>,
    next_outbox_id: Option<i64>,
    checkpoint: std::sync::Arc<checkpoint::Checkpointer>,
}

impl std::ops::Deref for WriteTx {
    type Target = rusqlite::Connection;
    fn deref(&self) -> &rusqlite::Connection {
        self.conn.as_ref().expect("open transaction")
    }
}

impl WriteTx {
    /// Adds an audit event to this transaction.
    pub(crate) fn push_event(&mut self, e: PendingEvent) {
        self.events.push(e);
    }

    /// Adds a full-text index row to this transaction (written just before COMMIT).
    pub(crate) fn push_index(&mut self, e: crate::search::index::Entry) {
        self.index.push((e, None));
    }

    /// Adds the index row of a new case's report whose text is also what the similar-case
    /// scorer reads of the case: the case's `report_text` row then names this index row
    /// instead of holding a second copy of the text.
    pub(crate) fn push_report_index(&mut self, e: crate::search::index::Entry, case_subject: &str) {
        self.index.push((e, Some(case_subject.to_string())));
    }

    /// The id for the next outbox row in this transaction.
    pub(crate) fn next_outbox_id(&mut self) -> Result<i64> {
        let next = match self.next_outbox_id {
            Some(n) => n,
            None => self.query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM outbox", [], |r| r.get(0))?,
        };
        self.next_outbox_id = Some(next + 1);
        Ok(next)
    }

    fn flush_events(&mut self) -> rusqlite::Result<()> {
        let events = std::mem::take(&mut self.events);
        let mut insert = self.prepare_cached(
            "INSERT INTO events (case_id, at, actor, kind, detail, message) VALUES (?, ?, ?, ?, ?, ?)",
        )?;
        for e in &events {
            insert.execute(rusqlite::params![e.case_id, e.at, e.actor, e.kind, e.detail, e.message])?;
        }
        Ok(())
    }

    /// The index rows, after every other write of the transaction.
    fn flush_index(&mut self) -> rusqlite::Result<()> {
        let rows = std::mem::take(&mut self.index);
        for (e, report) in &rows {
            crate::search::index::insert(self, e)?;
            if let Some(subject) = report {
                crate::search::index::save_report_row(self, &e.case_id, subject, self.last_insert_rowid())?;
            }
        }
        Ok(())
    }

    fn finish(mut self, sql: &'static str) -> Result<()> {
        let flushed = if sql == "COMMIT" {
            self.flush_events().and_then(|()| self.flush_index())
        } else {
            self.events.clear();
            self.index.clear();
            Ok(())
        };
        let conn = self.conn.take().expect("open transaction");
        let outcome = flushed.and_then(|()| conn.execute_batch(sql));
        if outcome.is_err() && !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        if outcome.is_ok() && sql == "COMMIT" {
            self.checkpoint.wake();
        }
        Ok(outcome?)
    }

    pub async fn commit(self) -> Result<()> {
        self.finish("COMMIT")
    }

    pub async fn rollback(self) -> Result<()> {
        self.finish("ROLLBACK")
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        // Dropped without commit (an error path): roll back.
        if let Some(c) = self.conn.take() {
            if !c.is_autocommit() {
                let _ = c.execute_batch("ROLLBACK");
            }
        }
    }
}

//! `secintake vacuum`: checkpoints the WAL and rebuilds the database file (VACUUM), so the pages freed inside it go back to the file system.
//!
//! Safe beside a running daemon: VACUUM takes SQLite's write lock like any write
//! transaction, waiting up to the store's busy timeout for it; the daemon's own writes wait
//! for the VACUUM the same way. Readers keep reading throughout (WAL).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{ConnectOptions, Connection};

use super::{Store, StoreError};

/// What a vacuum did. Sizes count the database file and its WAL (`DB-wal`): what the
/// database takes on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vacuumed {
    pub database: String,
    pub before_bytes: u64,
    pub after_bytes: u64,
    pub freed_bytes: u64,
    /// False when a reader kept the last checkpoint from emptying the WAL (the space comes
    /// back at a later checkpoint).
    pub wal_truncated: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum VacuumError {
    #[error(
        "the database {path} stayed locked for {} s (another process held the write lock the whole time); nothing was changed, try again",
        .waited.as_secs_f64()
    )]
    Busy { path: String, waited: Duration },
    #[error("not enough free space next to {path}: VACUUM needs about {need} bytes more (the size of the database), {free} bytes are free")]
    NoSpace { path: String, need: u64, free: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for VacuumError {
    fn from(e: sqlx::Error) -> Self {
        VacuumError::Store(e.into())
    }
}

/// SQLITE_BUSY or SQLITE_LOCKED (any extended code of them).
fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => d
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|c| matches!(c & 0xff, 5 | 6)),
        _ => false,
    }
}

/// The bytes the database takes on disk: the file and its WAL.
pub fn on_disk(db: &Path) -> u64 {
    let wal = wal_path(db);
    [db.to_path_buf(), wal]
        .iter()
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum()
}

fn wal_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push("-wal");
    PathBuf::from(s)
}

/// Checkpoints the WAL (TRUNCATE), runs VACUUM, and checkpoints again (the rebuilt pages
/// are written through the WAL). `busy` is how long to wait for the write lock; None: the
/// store's own busy timeout.
pub async fn vacuum(store: &Store, db: &Path, busy: Option<Duration>) -> Result<Vacuumed, VacuumError> {
    let path = db.display().to_string();
    let before = on_disk(db);
    // VACUUM writes a copy of the database (a temporary file, then the WAL): about its size.
    if let Ok(free) = super::space::available_bytes(db) {
        let need = std::fs::metadata(db).map(|m| m.len()).unwrap_or(0);
        if free < need {
            return Err(VacuumError::NoSpace { path, need, free });
        }
    }
    let (store_busy_ms,): (i64,) = sqlx::query_as("PRAGMA busy_timeout").fetch_one(&store.pool).await?;
    let waited = busy.unwrap_or(Duration::from_millis(store_busy_ms.max(0) as u64));
    // A connection of its own, not one of the pool's: its own busy timeout, and no sqlx
    // statement log (a VACUUM of a large database is a "slow statement" warning otherwise).
    let opts = SqliteConnectOptions::new()
        .filename(db)
        .create_if_missing(false)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(waited)
        .disable_statement_logging();
    let outcome = async {
        let mut conn = opts.connect().await?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .await?;
        sqlx::query("VACUUM").execute(&mut conn).await?;
        let (blocked, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&mut conn)
            .await?;
        conn.close().await?;
        Ok::<bool, sqlx::Error>(blocked == 0)
    }
    .await;
    let wal_truncated = match outcome {
        Ok(t) => t,
        Err(e) if is_busy(&e) => return Err(VacuumError::Busy { path, waited }),
        Err(e) => return Err(e.into()),
    };
    let after = on_disk(db);
    Ok(Vacuumed {
        database: path,
        before_bytes: before,
        after_bytes: after,
        freed_bytes: before.saturating_sub(after),
        wal_truncated,
    })
}

/// Bytes for people: `512 B`, `1.5 KiB`, `12.3 MiB`, `1.2 GiB`.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_for_people() {
        assert_eq!(human(0), "0 B");
        assert_eq!(human(1023), "1023 B");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(12 * 1024 * 1024 + 300 * 1024), "12.3 MiB");
        assert_eq!(human(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }

    #[tokio::test]
    async fn freed_pages_go_back_and_a_held_lock_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("v.db");
        let store = Store::open(&db).await.unwrap();
        sqlx::query("CREATE TABLE filler (b BLOB)")
            .execute(&store.pool)
            .await
            .unwrap();
        for _ in 0..64 {
            sqlx::query("INSERT INTO filler VALUES (zeroblob(65536))")
                .execute(&store.pool)
                .await
                .unwrap();
        }
        sqlx::query("DELETE FROM filler").execute(&store.pool).await.unwrap();
        let v = vacuum(&store, &db, None).await.unwrap();
        assert!(v.wal_truncated);
        assert!(v.freed_bytes >= 4 * 1024 * 1024, "{v:?}");
        assert_eq!(v.after_bytes, on_disk(&db));
        assert_eq!(std::fs::metadata(wal_path(&db)).map(|m| m.len()).unwrap_or(0), 0);

        // Another writer holds the lock: VACUUM waits `busy`, then says so.
        let tx = store.write().await.unwrap();
        let e = vacuum(&store, &db, Some(Duration::from_millis(200))).await.unwrap_err();
        assert!(matches!(e, VacuumError::Busy { .. }), "{e}");
        assert!(e.to_string().contains("stayed locked for 0.2 s"), "{e}");
        tx.rollback().await.unwrap();
        // The lock is free again: the next vacuum works.
        vacuum(&store, &db, None).await.unwrap();
    }
}

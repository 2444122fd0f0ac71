//! WAL checkpoints on a thread of their own: a commit never waits for its pages to be
//! copied into the database file.
//!
//! SQLite's own automatic checkpoint runs inside the COMMIT that fills the WAL, on the
//! writer's thread: during an intake pass that was a sixth of all the work, spent while the
//! next batch waited. Here the writer only wakes this thread after each commit, which copies
//! what it can (`PASSIVE`: it never blocks a reader or the writer). Should it fall behind or
//! fail, the writer's own automatic checkpoint is still there, at a much larger WAL
//! ([`BACKSTOP_PAGES`]).

use std::path::Path;
use std::sync::mpsc;

/// WAL pages at which the writer checkpoints by itself (16 KiB pages: 128 MiB).
pub const BACKSTOP_PAGES: u32 = 8192;

/// Wakes the checkpointing thread; the thread ends when the last handle is dropped.
#[derive(Debug)]
pub struct Checkpointer {
    wake: mpsc::SyncSender<()>,
}

impl Checkpointer {
    /// Starts the thread, with a connection of its own to the database at `path`.
    pub fn start(path: &Path) -> rusqlite::Result<Checkpointer> {
        let conn = rusqlite::Connection::open(path)?;
        // One pending wake is enough: a checkpoint copies everything committed before it.
        let (wake, woken) = mpsc::sync_channel::<()>(1);
        std::thread::Builder::new()
            .name("wal-checkpoint".into())
            .spawn(move || {
                // A failure (a full disk) is logged once, not at every commit until it ends.
                let mut failing = false;
                while woken.recv().is_ok() {
                    let span = tracing::debug_span!("checkpoint");
                    let _in = span.enter();
                    match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                        Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
                    }) {
                        Ok((log, done)) => {
                            if std::mem::take(&mut failing) {
                                tracing::info!("WAL checkpoints work again");
                            }
                            tracing::debug!(log, done, "WAL checkpoint");
                        }
                        Err(e) if !failing => {
                            failing = true;
                            tracing::warn!(error = %e, "WAL checkpoint failed; what was committed is safe in the WAL, retried at the next commit");
                        }
                        Err(_) => {}
                    }
                }
            })
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        Ok(Checkpointer { wake })
    }

    /// Asks for a checkpoint soon (after a commit); never blocks.
    pub fn wake(&self) {
        let _ = self.wake.try_send(());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a commit leaves in the WAL reaches the database file after a wake, with the
    /// writer's own automatic checkpoint turned off.
    #[test]
    fn a_wake_copies_the_committed_pages_into_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let w = rusqlite::Connection::open(&path).unwrap();
        w.execute_batch("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (x BLOB);")
            .unwrap();
        let c = Checkpointer::start(&path).unwrap();
        w.execute("INSERT INTO t VALUES (zeroblob(200000))", []).unwrap();
        // Only a checkpoint writes pages into the main file, and this connection makes none.
        assert!(std::fs::metadata(&path).unwrap().len() < 200_000);
        c.wake();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::fs::metadata(&path).unwrap().len() < 200_000 {
            assert!(
                std::time::Instant::now() < deadline,
                "the committed pages never reached the database file"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

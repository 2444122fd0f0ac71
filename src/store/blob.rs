//! Large message bodies written into their row piece by piece (SQLite incremental blob I/O),
//! so a 30 MB message is not copied whole, several times over, on its way into the database.
//!
//! A bound blob is copied by sqlx, then by SQLite when it binds it, then again when SQLite
//! builds the row; a `zeroblob(n)` placeholder filled through `sqlite3_blob_write` is not.

use std::ffi::{c_int, c_void, CString};
use std::ptr::null_mut;

use libsqlite3_sys as ffi;
use sqlx::SqliteConnection;

use super::{Result, StoreError};

/// Bytes written per call.
pub const PIECE: usize = 1 << 20;

/// Raw messages larger than this are written piece by piece.
pub const PIECEWISE_ABOVE: usize = PIECE;

/// Fills `table.column` of row `rowid`, which must already hold a zero blob of exactly
/// `data.len()` bytes, inside the connection's current transaction.
#[tracing::instrument(skip_all, fields(table, rowid, bytes = data.len()))]
pub async fn fill(conn: &mut SqliteConnection, table: &str, column: &str, rowid: i64, data: &[u8]) -> Result<()> {
    let fail = |m: String| StoreError::Corrupt(format!("writing {} bytes into {table}.{column}: {m}", data.len()));
    let total = c_int::try_from(data.len()).map_err(|_| fail("too large".into()))?;
    let (t, c) = (
        CString::new(table).map_err(|e| fail(e.to_string()))?,
        CString::new(column).map_err(|e| fail(e.to_string()))?,
    );
    // While the handle is locked, sqlx's worker thread does not touch the connection.
    let mut locked = conn.lock_handle().await?;
    let db = locked.as_raw_handle().as_ptr();
    // SAFETY: `db` is a live connection that only this thread uses while `locked` is held;
    // every pointer passed points into `t`, `c` or `data`, which outlive the calls, and the
    // writes stay within the blob's `total` bytes (checked against its size first).
    unsafe {
        let message = |db: *mut ffi::sqlite3| {
            std::ffi::CStr::from_ptr(ffi::sqlite3_errmsg(db))
                .to_string_lossy()
                .into_owned()
        };
        let mut blob: *mut ffi::sqlite3_blob = null_mut();
        if ffi::sqlite3_blob_open(db, c"main".as_ptr(), t.as_ptr(), c.as_ptr(), rowid, 1, &mut blob) != ffi::SQLITE_OK {
            let m = message(db);
            if !blob.is_null() {
                ffi::sqlite3_blob_close(blob);
            }
            return Err(fail(m));
        }
        if ffi::sqlite3_blob_bytes(blob) != total {
            ffi::sqlite3_blob_close(blob);
            return Err(fail("the placeholder has another size".into()));
        }
        for (i, piece) in data.chunks(PIECE).enumerate() {
            let at = (i * PIECE) as c_int; // < total, which fits
            let rc = ffi::sqlite3_blob_write(blob, piece.as_ptr() as *const c_void, piece.len() as c_int, at);
            if rc != ffi::SQLITE_OK {
                let m = message(db);
                ffi::sqlite3_blob_close(blob);
                return Err(fail(m));
            }
        }
        if ffi::sqlite3_blob_close(blob) != ffi::SQLITE_OK {
            return Err(fail(message(db)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[tokio::test]
    async fn a_large_blob_is_stored_byte_for_byte_and_errors_are_values() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).await.unwrap();
        let data: Vec<u8> = (0..(3 * PIECE + 12_345)).map(|i| (i * 7 % 251) as u8).collect();
        let mut tx = store.write().await.unwrap();
        sqlx::query("CREATE TABLE b (x BLOB)").execute(&mut *tx).await.unwrap();
        let (id,): (i64,) = sqlx::query_as("INSERT INTO b (x) VALUES (zeroblob(?)) RETURNING rowid")
            .bind(data.len() as i64)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        fill(&mut tx, "b", "x", id, &data).await.unwrap();
        // A placeholder of the wrong size, or no such row, is an error, not a partial write.
        assert!(fill(&mut tx, "b", "x", id, &data[..10]).await.is_err());
        assert!(fill(&mut tx, "b", "x", id + 1, &data).await.is_err());
        // The connection is still usable for ordinary statements afterwards.
        let (back,): (Vec<u8>,) = sqlx::query_as("SELECT x FROM b WHERE rowid = ?")
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert!(back == data, "stored bytes differ");
        tx.commit().await.unwrap();
    }
}

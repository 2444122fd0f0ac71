//! Large message bodies written into their row piece by piece (SQLite incremental blob I/O),
//! so a 30 MB message is not copied whole, several times over, on its way into the database.
//!
//! A bound blob is copied when SQLite binds it, and again when SQLite builds the row; a
//! `zeroblob(n)` placeholder filled through the blob handle is not.

use rusqlite::blob::ZeroBlob;
use rusqlite::{Connection, MAIN_DB};

use super::{Result, StoreError};

/// Bytes written per call.
pub const PIECE: usize = 1 << 20;

/// Raw messages larger than this are written piece by piece.
pub const PIECEWISE_ABOVE: usize = PIECE;

/// A placeholder of `n` zero bytes, to bind where the blob goes.
pub fn placeholder(n: usize) -> Result<ZeroBlob> {
    i32::try_from(n)
        .map(ZeroBlob)
        .map_err(|_| StoreError::Corrupt(format!("{n} bytes is too large for one blob")))
}

/// Fills `table.column` of row `rowid`, which must already hold a zero blob of exactly
/// `data.len()` bytes, inside the connection's current transaction.
#[tracing::instrument(skip_all, fields(table, rowid, bytes = data.len()))]
pub fn fill(conn: &Connection, table: &str, column: &str, rowid: i64, data: &[u8]) -> Result<()> {
    let fail = |m: String| StoreError::Corrupt(format!("writing {} bytes into {table}.{column}: {m}", data.len()));
    let mut blob = conn
        .blob_open(MAIN_DB, table, column, rowid, false)
        .map_err(|e| fail(e.to_string()))?;
    if blob.len() != data.len() {
        return Err(fail("the placeholder has another size".into()));
    }
    for (i, piece) in data.chunks(PIECE).enumerate() {
        blob.write_at(piece, i * PIECE).map_err(|e| fail(e.to_string()))?;
    }
    blob.close().map_err(|e| fail(e.to_string()))?;
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
        let tx = store.write().await.unwrap();
        tx.execute_batch("CREATE TABLE b (x BLOB)").unwrap();
        let id: i64 = tx
            .query_row(
                "INSERT INTO b (x) VALUES (?) RETURNING rowid",
                [placeholder(data.len()).unwrap()],
                |r| r.get(0),
            )
            .unwrap();
        fill(&tx, "b", "x", id, &data).unwrap();
        // A placeholder of the wrong size, or no such row, is an error, not a partial write.
        assert!(fill(&tx, "b", "x", id, &data[..10]).is_err());
        assert!(fill(&tx, "b", "x", id + 1, &data).is_err());
        // The connection is still usable for ordinary statements afterwards.
        let back: Vec<u8> = tx
            .query_row("SELECT x FROM b WHERE rowid = ?", [id], |r| r.get(0))
            .unwrap();
        assert!(back == data, "stored bytes differ");
        tx.commit().await.unwrap();
    }
}

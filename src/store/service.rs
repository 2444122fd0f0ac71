//! Health facts the daemon records for `status`: last IMAP contact, mode, last errors.

use chrono::{DateTime, Utc};

use super::{Result, Store};
use crate::clock::stamp;

impl Store {
    pub async fn set_service(&self, key: &str, value: &str, now: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "INSERT INTO service_state (key, value, updated_at) VALUES (?, ?, ?)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(key)
        .bind(value)
        .bind(stamp(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// One recorded fact.
    pub async fn service_value(&self, key: &str) -> Result<Option<String>> {
        let r: Option<(String,)> = sqlx::query_as("SELECT value FROM service_state WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(r.map(|(v,)| v))
    }

    pub async fn service(&self) -> Result<Vec<(String, String, String)>> {
        Ok(
            sqlx::query_as("SELECT key, value, updated_at FROM service_state ORDER BY key")
                .fetch_all(&self.pool)
                .await?,
        )
    }
}

impl Store {
    /// Tries a write (rolled back): fails when the disk is full or the file read-only.
    pub async fn probe_write(&self, now: DateTime<Utc>) -> Result<()> {
        let tx = self.write().await?;
        tx.execute(
            "INSERT OR REPLACE INTO service_state (key, value, updated_at) VALUES ('write_probe', ?, ?)",
            rusqlite::params!["x".repeat(4096), stamp(now)],
        )?;
        tx.rollback().await?;
        Ok(())
    }
}

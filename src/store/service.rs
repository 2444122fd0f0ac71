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

    pub async fn service(&self) -> Result<Vec<(String, String, String)>> {
        Ok(
            sqlx::query_as("SELECT key, value, updated_at FROM service_state ORDER BY key")
                .fetch_all(&self.pool)
                .await?,
        )
    }
}

//! The channel deliveries table: rows written in the caller's transaction (with their
//! cause), claimed under a lease by the delivery task, and marked delivered, due again, or
//! failed; plus what `case ID` and `status` show of them.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde::Serialize;
use sqlx::SqlitePool;

use super::{Alert, Channel};
use crate::clock::{parse_stamp, stamp};

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

pub type Result<T> = std::result::Result<T, QueueError>;

/// A delivery written by [`enqueue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub id: i64,
    pub delivery_id: String,
    pub channel: String,
}

/// Writes one delivery of `alert` for every channel that wants its event, inside the
/// caller's (write) transaction, so the alert exists exactly when its cause does.
pub fn enqueue(
    conn: &rusqlite::Connection,
    channels: &[Channel],
    alert: &Alert,
    now: DateTime<Utc>,
) -> rusqlite::Result<Vec<Queued>> {
    let mut out = Vec::new();
    let json = serde_json::to_string(alert).expect("an alert serialises");
    for c in channels.iter().filter(|c| c.wants(alert.event)) {
        let next: i64 = conn
            .prepare_cached("SELECT COALESCE(MAX(id), 0) + 1 FROM channel_deliveries")?
            .query_row([], |r| r.get(0))?;
        // Unique beyond this database too (a Matrix homeserver remembers transaction ids of
        // the token, and a receiver its webhook ids): the row and its creation time.
        let delivery_id = format!("secintake-{next}-{}", now.timestamp_millis());
        conn.prepare_cached(
            "INSERT INTO channel_deliveries (id, delivery_id, case_id, channel, event, alert, created_at, next_attempt_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )?
        .execute(rusqlite::params![
            next,
            delivery_id,
            alert.case_id,
            c.key(),
            alert.event.as_str(),
            json,
            stamp(now),
            stamp(now),
        ])?;
        out.push(Queued {
            id: next,
            delivery_id,
            channel: c.key().to_string(),
        });
    }
    Ok(out)
}

/// A delivery claimed for an attempt.
#[derive(Debug, Clone)]
pub struct Due {
    pub id: i64,
    pub delivery_id: String,
    pub case_id: Option<String>,
    pub channel: String,
    /// The stored alert; `Err` holds why it cannot be read (the row then fails).
    pub alert: std::result::Result<Alert, String>,
    pub attempts: i64,
}

#[derive(sqlx::FromRow)]
struct DueRow {
    id: i64,
    delivery_id: String,
    case_id: Option<String>,
    channel: String,
    alert: String,
    attempts: i64,
}

/// Claims up to `limit` due deliveries for `lease`, so two tasks never send the same one.
pub async fn claim_due(
    pool: &SqlitePool,
    now: DateTime<Utc>,
    limit: i64,
    lease: std::time::Duration,
) -> Result<Vec<Due>> {
    let mut conn = pool.acquire().await?;
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    let claimed = async {
        let rows: Vec<DueRow> = sqlx::query_as(
            "SELECT id, delivery_id, case_id, channel, alert, attempts FROM channel_deliveries
             WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?
               AND (lease_until IS NULL OR lease_until < ?)
             ORDER BY id LIMIT ?",
        )
        .bind(stamp(now))
        .bind(stamp(now))
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
        let until = stamp(now + ChronoDuration::from_std(lease).unwrap_or(ChronoDuration::minutes(5)));
        for r in &rows {
            sqlx::query("UPDATE channel_deliveries SET lease_until = ? WHERE id = ?")
                .bind(&until)
                .bind(r.id)
                .execute(&mut *conn)
                .await?;
        }
        Ok::<_, sqlx::Error>(rows)
    }
    .await;
    match claimed {
        Ok(rows) => {
            sqlx::query("COMMIT").execute(&mut *conn).await?;
            Ok(rows
                .into_iter()
                .map(|r| Due {
                    alert: serde_json::from_str(&r.alert).map_err(|e| format!("stored alert unreadable: {e}")),
                    id: r.id,
                    delivery_id: r.delivery_id,
                    case_id: r.case_id,
                    channel: r.channel,
                    attempts: r.attempts,
                })
                .collect())
        }
        Err(e) => {
            if sqlx::query("ROLLBACK").execute(&mut *conn).await.is_err() {
                conn.close_on_drop();
            }
            Err(e.into())
        }
    }
}

pub async fn mark_delivered(pool: &SqlitePool, id: i64, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "UPDATE channel_deliveries SET delivered_at = ?, attempts = attempts + 1, lease_until = NULL, last_error = NULL
         WHERE id = ?",
    )
    .bind(stamp(now))
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn mark_retry(pool: &SqlitePool, id: i64, reason: &str, next: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "UPDATE channel_deliveries SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, lease_until = NULL
         WHERE id = ?",
    )
    .bind(reason)
    .bind(stamp(next))
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

/// A permanent failure: the row is kept, marked failed, and the case gets a
/// `channel-failed` event (in one transaction).
pub async fn mark_failed(pool: &SqlitePool, due: &Due, reason: &str, now: DateTime<Utc>) -> Result<()> {
    let mut conn = pool.acquire().await?;
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    let done = async {
        sqlx::query(
            "UPDATE channel_deliveries SET attempts = attempts + 1, last_error = ?, failed_at = ?, lease_until = NULL
             WHERE id = ?",
        )
        .bind(reason)
        .bind(stamp(now))
        .bind(due.id)
        .execute(&mut *conn)
        .await?;
        let detail = serde_json::json!({"delivery": due.delivery_id, "channel": due.channel, "error": reason});
        sqlx::query(
            "INSERT INTO events (case_id, at, actor, kind, detail) VALUES (?, ?, 'secintake', 'channel-failed', ?)",
        )
        .bind(&due.case_id)
        .bind(stamp(now))
        .bind(detail.to_string())
        .execute(&mut *conn)
        .await?;
        sqlx::query("COMMIT").execute(&mut *conn).await?;
        Ok::<_, sqlx::Error>(())
    }
    .await;
    if let Err(e) = done {
        if sqlx::query("ROLLBACK").execute(&mut *conn).await.is_err() {
            conn.close_on_drop();
        }
        return Err(e.into());
    }
    Ok(())
}

/// One delivery as `case ID --json` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct DeliveryView {
    pub delivery_id: String,
    pub channel: String,
    pub event: String,
    /// `delivered`, `pending` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
    pub failed_at: Option<String>,
}

/// The view's SELECT, followed by `$tail` (a WHERE/ORDER clause).
macro_rules! view {
    ($tail:literal) => {
        concat!(
            "SELECT delivery_id, channel, event,
                CASE WHEN delivered_at IS NOT NULL THEN 'delivered' WHEN failed_at IS NOT NULL THEN 'failed'
                     ELSE 'pending' END AS status,
                attempts, last_error, created_at, delivered_at, failed_at
             FROM channel_deliveries ",
            $tail
        )
    };
}

/// The deliveries of one case, oldest first.
pub async fn for_case(pool: &SqlitePool, case_id: &str) -> Result<Vec<DeliveryView>> {
    Ok(sqlx::query_as(view!("WHERE case_id = ? ORDER BY id"))
        .bind(case_id)
        .fetch_all(pool)
        .await?)
}

/// What `status` shows of the channels.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Backlog {
    /// Not delivered yet, not failed.
    pub pending: i64,
    /// When the oldest pending one was written.
    pub oldest_pending: Option<String>,
    /// Why the latest attempt of a pending one did not get through.
    pub last_error: Option<String>,
    /// Failed for good (kept, visible here and in `case ID`).
    pub failed: i64,
    /// The latest failures, newest first (at most 10).
    pub recent_failures: Vec<DeliveryView>,
}

pub async fn backlog(pool: &SqlitePool) -> Result<Backlog> {
    let (pending, oldest_pending): (i64, Option<String>) = sqlx::query_as(
        "SELECT COUNT(*), MIN(created_at) FROM channel_deliveries WHERE delivered_at IS NULL AND failed_at IS NULL",
    )
    .fetch_one(pool)
    .await?;
    let last_error: Option<(Option<String>,)> = sqlx::query_as(
        "SELECT last_error FROM channel_deliveries
         WHERE delivered_at IS NULL AND failed_at IS NULL AND last_error IS NOT NULL ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    let (failed,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM channel_deliveries WHERE failed_at IS NOT NULL")
        .fetch_one(pool)
        .await?;
    let recent_failures = sqlx::query_as(view!("WHERE failed_at IS NOT NULL ORDER BY id DESC LIMIT 10"))
        .fetch_all(pool)
        .await?;
    Ok(Backlog {
        pending,
        oldest_pending,
        last_error: last_error.and_then(|(e,)| e),
        failed,
        recent_failures,
    })
}

/// When the next pending delivery is due.
pub async fn next_due(pool: &SqlitePool) -> Result<Option<DateTime<Utc>>> {
    let (t,): (Option<String>,) = sqlx::query_as(
        "SELECT MIN(MAX(COALESCE(lease_until, next_attempt_at), next_attempt_at)) FROM channel_deliveries
         WHERE delivered_at IS NULL AND failed_at IS NULL",
    )
    .fetch_one(pool)
    .await?;
    Ok(t.as_deref().and_then(parse_stamp))
}

//! The outbox: mail is written here in the same transaction as its cause, then delivered.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use rusqlite::params;

use super::{Result, Store};
use crate::case::event::EventKind;
use crate::clock::stamp;
use crate::outbox::compose::{Draft, Identity};

/// A row claimed for delivery.
#[derive(Debug, sqlx::FromRow)]
pub struct Pending {
    pub id: i64,
    pub case_id: Option<String>,
    pub kind: String,
    pub envelope_from: String,
    pub recipients: String,
    pub raw: Vec<u8>,
    pub attempts: i64,
}

impl Pending {
    pub fn recipient_list(&self) -> Vec<String> {
        serde_json::from_str(&self.recipients).unwrap_or_default()
    }
}

/// Outcome of queueing a draft.
#[derive(Debug, Clone, PartialEq)]
pub enum Queued {
    Row {
        id: i64,
        message_id: String,
    },
    /// The per-address daily cap on automatic mail was reached.
    Capped,
}

/// Writes an event row (with the transaction's other events, just before it commits).
pub fn event(
    tx: &mut crate::store::WriteTx,
    case_id: Option<&str>,
    now: DateTime<Utc>,
    actor: &str,
    kind: EventKind,
    detail: serde_json::Value,
    message: Option<i64>,
) {
    tx.push_event(crate::store::PendingEvent {
        case_id: case_id.map(str::to_string),
        at: stamp(now),
        actor: actor.to_string(),
        kind: kind.name(),
        detail: detail.to_string(),
        message,
    });
}

/// Queues a draft inside the caller's transaction, as `identity`, unless `daily_cap`
/// automatic mails went to its recipients in the last 24 hours; returns the row or `Capped`.
pub fn enqueue(
    tx: &mut crate::store::WriteTx,
    identity: &Identity,
    daily_cap: u32,
    draft: &Draft,
    now: DateTime<Utc>,
) -> Result<Queued> {
    let recipients =
        serde_json::to_string(&draft.to.iter().map(|a| a.as_str()).collect::<Vec<_>>()).expect("strings serialise");
    if draft.automatic {
        let since = stamp(now - ChronoDuration::hours(24));
        let sent: i64 = tx
            .prepare_cached("SELECT COUNT(*) FROM outbox WHERE automatic = 1 AND recipients = ? AND created_at > ?")?
            .query_row(params![recipients, since], |r| r.get(0))?;
        if sent >= i64::from(daily_cap) {
            event(
                tx,
                draft.case_id.as_deref(),
                now,
                "secintake",
                EventKind::MailSuppressed,
                serde_json::json!({"kind": draft.kind, "to": draft.to, "reason": "daily cap on automatic mail reached"}),
                None,
            );
            return Ok(Queued::Capped);
        }
    }
    let next = tx.next_outbox_id()?;
    let c = identity
        .compose(draft, next, now)
        .map_err(crate::outbox::MailError::from)?;
    tx.prepare_cached(
        "INSERT INTO outbox (id, case_id, kind, message_id, envelope_from, recipients, subject, raw,
                             automatic, to_reporter, created_at, next_attempt_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
        next,
        draft.case_id,
        draft.kind.as_str(),
        c.message_id,
        c.envelope_from,
        recipients,
        c.subject,
        c.raw,
        draft.automatic,
        draft.to_reporter,
        stamp(now),
        stamp(now),
    ])?;
    if let Some(case) = &draft.case_id {
        tx.prepare_cached("INSERT OR IGNORE INTO message_ids (message_id, case_id) VALUES (?, ?)")?
            .execute(params![c.message_id, case])?;
        if draft.to_reporter {
            tx.prepare_cached("UPDATE cases SET last_reporter_mail_at = ? WHERE id = ?")?
                .execute(params![stamp(now), case])?;
        }
    }
    Ok(Queued::Row {
        id: next,
        message_id: c.message_id,
    })
}

/// The due rows, leased, inside the caller's transaction.
fn claim(
    tx: &crate::store::WriteTx,
    now: DateTime<Utc>,
    limit: i64,
    lease: std::time::Duration,
) -> Result<Vec<Pending>> {
    let rows: Vec<Pending> = tx
        .prepare_cached(
            "SELECT id, case_id, kind, envelope_from, recipients, raw, attempts FROM outbox
             WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?
               AND (lease_until IS NULL OR lease_until < ?)
             ORDER BY id LIMIT ?",
        )?
        .query_map(params![stamp(now), stamp(now), limit], |r| {
            Ok(Pending {
                id: r.get(0)?,
                case_id: r.get(1)?,
                kind: r.get(2)?,
                envelope_from: r.get(3)?,
                recipients: r.get(4)?,
                raw: r.get(5)?,
                attempts: r.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let until = stamp(now + ChronoDuration::from_std(lease).unwrap_or(ChronoDuration::minutes(5)));
    let mut leased = tx.prepare_cached("UPDATE outbox SET lease_until = ? WHERE id = ?")?;
    for r in &rows {
        leased.execute(params![until, r.id])?;
    }
    Ok(rows)
}

impl Store {
    /// Claims up to `limit` due rows for `lease` (so two senders never send the same row).
    pub async fn claim_due(&self, now: DateTime<Utc>, limit: i64, lease: std::time::Duration) -> Result<Vec<Pending>> {
        let tx = self.write().await?;
        let rows = claim(&tx, now, limit, lease)?;
        tx.commit().await?;
        Ok(rows)
    }

    pub async fn mark_sent(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE outbox SET sent_at = ?, lease_until = NULL, attempts = attempts + 1, last_error = NULL WHERE id = ?")
            .bind(stamp(now))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn mark_retry(&self, id: i64, error: &str, next: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, lease_until = NULL WHERE id = ?")
            .bind(error)
            .bind(stamp(next))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A permanent refusal: the row is kept, marked failed, and the case gets an event.
    pub async fn mark_failed(&self, p: &Pending, error: &str, now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.write().await?;
        tx.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, failed_at = ?, lease_until = NULL WHERE id = ?",
            params![error, stamp(now), p.id],
        )?;
        event(
            &mut tx,
            p.case_id.as_deref(),
            now,
            "secintake",
            EventKind::MailFailed,
            serde_json::json!({"outbox": p.id, "kind": p.kind, "error": error}),
            None,
        );
        tx.commit().await?;
        Ok(())
    }

    /// Mail not yet delivered (and not failed for good), and the oldest one's creation time.
    pub async fn outbox_backlog(&self) -> Result<(i64, Option<String>)> {
        Ok(
            sqlx::query_as("SELECT COUNT(*), MIN(created_at) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// When the next pending row is due.
    pub async fn next_outbox_due(&self) -> Result<Option<String>> {
        let r: (Option<String>,) =
            sqlx::query_as("SELECT MIN(next_attempt_at) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL")
                .fetch_one(&self.pool)
                .await?;
        Ok(r.0)
    }
}

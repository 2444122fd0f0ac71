//! `secintake status`: is the service healthy? Facts from the database, judged purely.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::app::App;
use crate::clock::parse_stamp;
use crate::store::{Store, StoreError};

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub healthy: bool,
    pub problems: Vec<String>,
    pub last_imap_contact: Option<String>,
    pub imap_mode: Option<String>,
    pub last_imap_error: Option<String>,
    pub last_imap_error_at: Option<String>,
    pub imap_reconnects: Option<String>,
    pub cursor: Option<Cursor>,
    pub outbox_backlog: i64,
    pub oldest_pending_mail: Option<String>,
    pub failed_mail: i64,
    pub last_send_error: Option<String>,
    pub last_send_error_at: Option<String>,
    pub open_cases: i64,
    pub overdue_deadlines: usize,
    pub database_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cursor {
    pub mailbox: String,
    pub uidvalidity: i64,
    pub last_uid: i64,
    pub updated_at: String,
}

/// How long without IMAP contact is still healthy.
pub fn contact_limit(app: &App) -> Duration {
    let i = &app.settings.imap;
    let d = if i.idle { i.idle_renew * 2 } else { i.poll_interval * 3 };
    Duration::from_std(d).unwrap_or(Duration::hours(1)) + Duration::seconds(60)
}

/// The problems in `s` (empty when healthy).
pub fn problems(s: &Status, now: DateTime<Utc>, contact_limit: Duration) -> Vec<String> {
    let mut p = Vec::new();
    match s.last_imap_contact.as_deref().and_then(parse_stamp) {
        None => p.push("no successful IMAP contact recorded (is the daemon running?)".to_string()),
        Some(t) if now - t > contact_limit => p.push(format!(
            "last successful IMAP contact was {} minutes ago",
            (now - t).num_minutes()
        )),
        _ => {}
    }
    if let (Some(err_at), Some(contact)) = (
        s.last_imap_error_at.as_deref().and_then(parse_stamp),
        s.last_imap_contact.as_deref().and_then(parse_stamp),
    ) {
        if err_at > contact {
            p.push(format!(
                "IMAP is failing: {}",
                s.last_imap_error.clone().unwrap_or_default()
            ));
        }
    }
    if let Some(t) = s.oldest_pending_mail.as_deref().and_then(parse_stamp) {
        if now - t > Duration::hours(1) {
            p.push(format!(
                "{} mail(s) waiting, the oldest for {} minutes: {}",
                s.outbox_backlog,
                (now - t).num_minutes(),
                s.last_send_error.clone().unwrap_or_default()
            ));
        }
    }
    if let Some(e) = &s.database_error {
        p.push(format!("database: {e}"));
    }
    p
}

pub async fn gather(store: &Store, app: &App) -> Result<Status, StoreError> {
    let now = app.clock.now();
    let service = store.service().await?;
    let get = |k: &str| service.iter().find(|(key, _, _)| key == k).map(|(_, v, _)| v.clone());
    let at = |k: &str| service.iter().find(|(key, _, _)| key == k).map(|(_, _, t)| t.clone());
    let cursor: Option<(String, i64, i64, String)> = sqlx::query_as(
        "SELECT mailbox, uidvalidity, last_uid, updated_at FROM imap_cursor ORDER BY updated_at DESC LIMIT 1",
    )
    .fetch_optional(&store.pool)
    .await?;
    let (backlog, oldest) = store.outbox_backlog().await?;
    let (failed,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE failed_at IS NOT NULL")
        .fetch_one(&store.pool)
        .await?;
    let (open,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM cases WHERE state NOT IN ('disclosed', 'invalid', 'duplicate')")
            .fetch_one(&store.pool)
            .await?;
    let overdue = store
        .open_deadlines(&app.policy, now)
        .await?
        .iter()
        .filter(|d| d.status == "overdue")
        .count();
    let mut s = Status {
        healthy: true,
        problems: vec![],
        last_imap_contact: get("last_imap_contact"),
        imap_mode: get("imap_mode"),
        last_imap_error: get("last_imap_error"),
        last_imap_error_at: at("last_imap_error"),
        imap_reconnects: get("imap_reconnects"),
        cursor: cursor.map(|(mailbox, uidvalidity, last_uid, updated_at)| Cursor {
            mailbox,
            uidvalidity,
            last_uid,
            updated_at,
        }),
        outbox_backlog: backlog,
        oldest_pending_mail: oldest,
        failed_mail: failed,
        last_send_error: get("last_send_error"),
        last_send_error_at: at("last_send_error"),
        open_cases: open,
        overdue_deadlines: overdue,
        database_error: get("database_error").filter(|e| !e.is_empty()),
    };
    if let Err(e) = store.probe_write(now).await {
        s.database_error = Some(format!("cannot write: {e}"));
    }
    s.problems = problems(&s, now, contact_limit(app));
    s.healthy = s.problems.is_empty();
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn status() -> Status {
        Status {
            healthy: true,
            problems: vec![],
            last_imap_contact: Some("2026-11-21T10:00:00.000Z".into()),
            imap_mode: Some("idle".into()),
            last_imap_error: None,
            last_imap_error_at: None,
            imap_reconnects: None,
            cursor: None,
            outbox_backlog: 0,
            oldest_pending_mail: None,
            failed_mail: 0,
            last_send_error: None,
            last_send_error_at: None,
            open_cases: 1,
            overdue_deadlines: 0,
            database_error: None,
        }
    }

    #[test]
    fn healthy_and_not() {
        let lim = Duration::minutes(10);
        assert!(problems(&status(), t("2026-11-21T10:05:00Z"), lim).is_empty());
        assert_eq!(problems(&status(), t("2026-11-21T11:00:00Z"), lim).len(), 1);
        let mut s = status();
        s.last_imap_error = Some("IMAP connect: refused".into());
        s.last_imap_error_at = Some("2026-11-21T10:01:00.000Z".into());
        assert!(problems(&s, t("2026-11-21T10:02:00Z"), lim)[0].contains("refused"));
        let mut s = status();
        s.outbox_backlog = 3;
        s.oldest_pending_mail = Some("2026-11-21T08:00:00.000Z".into());
        assert!(problems(&s, t("2026-11-21T10:02:00Z"), lim)[0].contains("3 mail(s) waiting"));
    }
}

//! `secintake status`: is the service healthy? Facts from the database, judged purely.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::app::App;
use crate::clock::parse_stamp;
use crate::store::{Store, StoreError};

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// `ok`, `degraded` (working, but mail waits after a send failure) or `unhealthy`.
    pub health: String,
    pub healthy: bool,
    pub problems: Vec<String>,
    /// Why the service is degraded: `N mails waiting, last send error TEXT at TIME` (N: the
    /// whole outbox backlog, once any of it has failed to send).
    pub degraded: Option<String>,
    /// Outbox rows still to send whose last attempt failed.
    pub waiting_after_send_failure: i64,
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
    /// Automatic mail (auto-replies, bounces) of the last 24 hours that belongs to no case:
    /// stored and never answered, counted here so it does not go unseen.
    pub automatic_without_case_24h: i64,
    pub overdue_deadlines: usize,
    pub database_error: Option<String>,
    /// Mail in the mailbox not yet ingested: how many, and the oldest one's age in seconds
    /// (None when the mailbox was not checked).
    pub mailbox_waiting: Option<usize>,
    pub mailbox_oldest_waiting_secs: Option<i64>,
    pub mailbox_check_error: Option<String>,
    /// How long the oldest mail not yet ingested has been in the mailbox, in seconds (0 when
    /// nothing waits; None when the mailbox was not checked).
    pub intake_lag_seconds: Option<i64>,
    /// The longest time from reaching the mailbox to being stored, over the mail stored in
    /// the last 24 hours, in seconds (None when nothing was stored).
    pub max_delay_24h_seconds: Option<i64>,
    /// The team channels' deliveries: waiting, failed, the latest failures.
    pub channels: crate::channels::queue::Backlog,
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
    if let Some(t) = s.channels.oldest_pending.as_deref().and_then(parse_stamp) {
        if now - t > Duration::hours(1) {
            let last = s.channels.last_error.clone().unwrap_or_default();
            p.push(format!(
                "{} team channel alert(s) waiting, the oldest for {} minutes: {last}",
                s.channels.pending,
                (now - t).num_minutes(),
            ));
        }
    }
    if let Some(e) = &s.database_error {
        p.push(format!("database: {e}"));
    }
    if let Some(e) = &s.mailbox_check_error {
        p.push(format!("cannot check the mailbox: {e}"));
    }
    p
}

/// Degraded, not unhealthy: mail waits in the outbox after a send failure (it is kept and
/// retried; it turns into a problem once the oldest waits over an hour).
pub fn degraded(s: &Status) -> Option<String> {
    if s.waiting_after_send_failure == 0 {
        return None;
    }
    let n = s.outbox_backlog.max(s.waiting_after_send_failure);
    Some(format!(
        "{n} mail{} waiting, last send error {} at {}",
        if n == 1 { "" } else { "s" },
        s.last_send_error.as_deref().unwrap_or("(not recorded)"),
        s.last_send_error_at.as_deref().unwrap_or("-")
    ))
}

/// Mail waiting in the mailbox longer than `max_lag` means intake is stuck (daemon down,
/// database full or read-only, a bug): the strongest end-to-end signal.
pub fn lag_problem(waiting: usize, oldest_secs: Option<i64>, max_lag: Duration) -> Option<String> {
    match oldest_secs {
        Some(age) if waiting > 0 && age > max_lag.num_seconds() => Some(format!(
            "{waiting} message(s) in the mailbox not ingested, the oldest for {age} s (is the daemon running? is the database writable?)"
        )),
        _ => None,
    }
}

/// Looks at the mailbox: how much mail waits above the stored cursor, and since when.
async fn mailbox_lag(app: &App, last_uid: u32) -> Result<(usize, Option<i64>), String> {
    let mut imap = app.settings.imap.clone();
    imap.timeout = imap.timeout.min(std::time::Duration::from_secs(10));
    let mut c = crate::intake::Connection::open(&imap)
        .await
        .map_err(|e| e.to_string())?;
    let r = async {
        let waiting = c.uids_after(last_uid).await?;
        let oldest = match waiting.first() {
            Some(u) => c.arrival(*u).await?.map(|t| (app.clock.now() - t).num_seconds()),
            None => None,
        };
        Ok::<_, crate::intake::ImapError>((waiting.len(), oldest))
    }
    .await
    .map_err(|e| e.to_string());
    c.logout().await;
    r
}

/// Gathers the status; with `max_lag`, also checks the mailbox for mail not ingested.
pub async fn gather(store: &Store, app: &App, max_lag: Option<Duration>) -> Result<Status, StoreError> {
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
    let (after_failure,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL AND last_error IS NOT NULL",
    )
    .fetch_one(&store.pool)
    .await?;
    let (failed,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE failed_at IS NOT NULL")
        .fetch_one(&store.pool)
        .await?;
    let (open,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM cases WHERE state IN ({})",
        crate::store::deadlines::open_states()
    )))
    .fetch_one(&store.pool)
    .await?;
    let (max_delay,): (Option<f64>,) = sqlx::query_as(
        // History (imported, or adopted from before the first start) arrived years ago: not a delay.
        "SELECT MAX((julianday(stored_at) - julianday(received_at)) * 86400.0) FROM messages
          WHERE stored_at > ? AND mailbox <> '(import)'
            AND (case_id IS NULL OR case_id NOT IN (SELECT id FROM cases WHERE state = 'historical'))
          -- (every column from the index messages_stored_at)",
    )
    .bind(crate::clock::stamp(now - Duration::hours(24)))
    .fetch_one(&store.pool)
    .await?;
    let (automatic_without_case,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM messages WHERE case_id IS NULL AND kind IN ('auto-reply', 'bounce') AND received_at > ?",
    )
    .bind(crate::clock::stamp(now - Duration::hours(24)))
    .fetch_one(&store.pool)
    .await?;
    let overdue = store
        .open_deadlines(&app.policy, now)
        .await?
        .iter()
        .filter(|d| d.status == "overdue")
        .count();
    let mut s = Status {
        health: "ok".into(),
        healthy: true,
        problems: vec![],
        degraded: None,
        waiting_after_send_failure: after_failure,
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
        automatic_without_case_24h: automatic_without_case,
        overdue_deadlines: overdue,
        database_error: get("database_error").filter(|e| !e.is_empty()),
        mailbox_waiting: None,
        mailbox_oldest_waiting_secs: None,
        mailbox_check_error: None,
        intake_lag_seconds: None,
        max_delay_24h_seconds: max_delay.map(|d| d.max(0.0).round() as i64),
        channels: crate::channels::queue::backlog(&store.pool)
            .await
            .map_err(|crate::channels::queue::QueueError::Db(e)| StoreError::Db(e))?,
    };
    if let Some(max_lag) = max_lag {
        let last = s.cursor.as_ref().map(|c| c.last_uid as u32).unwrap_or(0);
        match mailbox_lag(app, last).await {
            Ok((n, oldest)) => {
                s.mailbox_waiting = Some(n);
                s.mailbox_oldest_waiting_secs = oldest;
                s.intake_lag_seconds = Some(if n == 0 { 0 } else { oldest.unwrap_or(0).max(0) });
                if let Some(p) = lag_problem(n, oldest, max_lag) {
                    s.problems.push(p);
                }
            }
            Err(e) => s.mailbox_check_error = Some(e),
        }
    }
    if let Err(e) = store.probe_write(now).await {
        s.database_error = Some(format!("cannot write: {e}"));
    } else if let Ok(free) = crate::store::space::available_bytes(&app.settings.database_path()) {
        s.database_error = crate::store::space::low_space_problem(free);
    }
    let mut all = problems(&s, now, contact_limit(app));
    all.append(&mut s.problems);
    s.problems = all;
    s.healthy = s.problems.is_empty();
    s.degraded = degraded(&s);
    s.health = if !s.healthy {
        "unhealthy"
    } else if s.degraded.is_some() {
        "degraded"
    } else {
        "ok"
    }
    .into();
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
            health: "ok".into(),
            healthy: true,
            problems: vec![],
            degraded: None,
            waiting_after_send_failure: 0,
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
            automatic_without_case_24h: 0,
            overdue_deadlines: 0,
            database_error: None,
            mailbox_waiting: None,
            mailbox_oldest_waiting_secs: None,
            mailbox_check_error: None,
            intake_lag_seconds: None,
            max_delay_24h_seconds: None,
            channels: crate::channels::queue::Backlog::default(),
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

    #[test]
    fn mail_waiting_after_a_send_failure_is_degraded() {
        let mut s = status();
        assert!(degraded(&s).is_none());
        s.outbox_backlog = 2;
        s.waiting_after_send_failure = 1;
        s.last_send_error = Some("SMTP 127.0.0.1:25: connect: Connection refused".into());
        s.last_send_error_at = Some("2026-11-21T10:00:00.000Z".into());
        assert_eq!(
            degraded(&s).unwrap(),
            "2 mails waiting, last send error SMTP 127.0.0.1:25: connect: Connection refused at 2026-11-21T10:00:00.000Z"
        );
        // Still healthy: the mail is kept and retried.
        assert!(problems(&s, t("2026-11-21T10:02:00Z"), Duration::minutes(10)).is_empty());
    }

    #[test]
    fn mail_waiting_too_long_is_a_problem() {
        assert!(lag_problem(2, Some(300), Duration::seconds(120))
            .unwrap()
            .contains("2 message(s)"));
        assert!(lag_problem(2, Some(30), Duration::seconds(120)).is_none());
        assert!(lag_problem(0, None, Duration::seconds(120)).is_none());
    }
}

//! The deadline sweeper: in one transaction, writes every due reminder, holding
//! acknowledgement, status update and the daily digest to the outbox, with a record of what
//! was written, so nothing goes out twice across restarts or overlapping passes.

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use serde_json::json;

use crate::address::Address;
use crate::app::App;
use crate::case::{CaseId, State};
use crate::clock::stamp;
use crate::outbox::compose::{tagged_subject, Draft};
use crate::outbox::human_duration;
use crate::policy::{self, Audience, Kind, Reminder, Status};
use crate::store::cases::load_case;
use crate::store::commands::mail_reporter;
use crate::store::deadlines::{open_clocks, record_reminder, sent_reminders, CaseClock};
use crate::store::outbox::{enqueue, event, Queued};
use crate::store::{Store, StoreError};

/// "due in 6 hours", "overdue by 2 hours".
pub fn when(due: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let ms = (due - now).num_milliseconds();
    let secs = if ms > 0 { (ms + 999) / 1000 } else { (ms - 999) / 1000 };
    let round = |s: i64| {
        let s = s.unsigned_abs();
        let s = if s >= 3600 {
            s / 3600 * 3600
        } else if s >= 60 {
            s / 60 * 60
        } else {
            s
        };
        human_duration(std::time::Duration::from_secs(s.max(1)))
    };
    if ms > 0 {
        format!("due in {}", round(secs))
    } else {
        format!("overdue by {}", round(secs))
    }
}

/// Is the daily digest due? (at or after `hour` UTC, not yet sent today)
pub fn digest_due(now: DateTime<Utc>, hour: Option<u32>, last: Option<NaiveDate>) -> bool {
    match hour {
        Some(h) => now.hour() >= h && last != Some(now.date_naive()),
        None => false,
    }
}

fn state_words(s: &str) -> &'static str {
    match State::parse(s) {
        Some(State::New) | Some(State::Triage) => "with the team, waiting for a first assessment",
        Some(State::Assessing) => "being assessed by the team",
        Some(State::NeedsInfo) => "waiting for more information from you",
        Some(State::Accepted) => "accepted, and a fix is being planned",
        Some(State::Patching) => "being fixed",
        Some(State::Released) => "fixed, and the advisory is being prepared",
        _ => "being handled",
    }
}

/// Writes every due reminder; returns how many mails were queued.
pub async fn sweep(store: &Store, app: &App) -> Result<usize, StoreError> {
    let now = app.clock.now();
    let mut tx = store.write().await?;
    let mut queued = 0;
    for c in open_clocks(&mut tx).await? {
        let tl = c.timeline();
        let sent = sent_reminders(&mut tx, &c.id).await?;
        for r in policy::due_reminders(&tl, &app.policy, now, &sent) {
            queued += remind(&mut tx, app, &c, &r, &sent, now).await?;
        }
        queued += keep_informed_escalation(&mut tx, app, &c, &sent, now).await?;
    }
    queued += daily_digest(&mut tx, app, now, false).await?;
    tx.commit().await?;
    Ok(queued)
}

async fn remind(
    tx: &mut crate::store::WriteTx,
    app: &App,
    c: &CaseClock,
    r: &Reminder,
    sent: &[(String, DateTime<Utc>, String)],
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut n = 0;
    // The reporter hears from us when the human acknowledgement is late (once).
    let mut holding_sent = false;
    if r.kind == Kind::Acknowledge && r.stage.starts_with("overdue") && app.settings.policy.holding_acknowledgement {
        let already = sent.iter().any(|(k, _, s)| k == "acknowledge" && s == "holding-ack");
        if !already && record_reminder(tx, &c.id, "acknowledge", r.due, "holding-ack", now, None).await? {
            let case = load_case(tx, &c.id).await?;
            let ctx = json!({"acknowledge_within": human_duration(app.settings.policy.acknowledge_within)});
            if mail_reporter(tx, app, &case, "holding_acknowledgement", ctx, "holding-ack", now)
                .await?
                .is_some()
            {
                event(
                    tx,
                    Some(&c.id),
                    now,
                    "secintake",
                    "holding-acknowledgement",
                    json!({"due": stamp(r.due)}),
                    None,
                )
                .await?;
                holding_sent = true;
                n += 1;
            }
        }
    }
    let coordinator = c.coordinator.as_deref().and_then(|a| Address::parse(a).ok());
    let mut to: Vec<Address> = Vec::new();
    match (r.audience, coordinator) {
        (Audience::Coordinator, Some(a)) => to.push(a),
        (Audience::Both, Some(a)) => {
            to.push(a);
            to.push(app.notify.clone());
        }
        (_, None) => to.push(app.notify.clone()),
    }
    to.dedup();
    let tag = CaseId::parse(&c.id).map(|x| x.tag()).unwrap_or_default();
    let label = r.kind.label();
    let when = if r.kind == Kind::Embargo {
        format!(
            "{} (the embargo ends {})",
            when(r.due, now).replace("due", "coming"),
            r.due.date_naive()
        )
    } else {
        when(r.due, now)
    };
    let since = policy::deadlines(&c.timeline(), &app.policy, now)
        .into_iter()
        .find(|d| d.kind == r.kind)
        .map(|d| stamp(d.since))
        .unwrap_or_default();
    let rendered = app
        .templates
        .render(
            "reminder",
            json!({
                "case_id": c.id, "subject": c.subject, "label": label, "when": when, "due": stamp(r.due),
                "what": r.kind.what(), "state": c.state, "reporter": c.reporter, "coordinator": c.coordinator,
                "since": since, "holding_sent": holding_sent,
            }),
        )
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let q = enqueue(
        tx,
        app,
        &Draft::internal(
            Some(c.id.clone()),
            "reminder",
            to,
            tagged_subject(&tag, &rendered.subject),
            rendered.body,
        ),
        now,
    )
    .await?;
    let outbox = match q {
        Queued::Row { id, .. } => Some(id),
        Queued::Capped => None,
    };
    if record_reminder(tx, &c.id, r.kind.as_str(), r.due, &r.stage, now, outbox).await? {
        event(
            tx,
            Some(&c.id),
            now,
            "secintake",
            "reminder",
            json!({"deadline": r.kind.as_str(), "due": stamp(r.due), "stage": r.stage}),
            None,
        )
        .await?;
        n += 1;
    }
    Ok(n)
}

/// When keep-informed lapses a second time after the coordinator was reminded, the reporter
/// gets a short automatic status update (configurable).
async fn keep_informed_escalation(
    tx: &mut crate::store::WriteTx,
    app: &App,
    c: &CaseClock,
    sent: &[(String, DateTime<Utc>, String)],
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    if !app.settings.policy.automatic_status_update {
        return Ok(0);
    }
    let Some(d) = policy::deadlines(&c.timeline(), &app.policy, now)
        .into_iter()
        .find(|d| d.kind == Kind::KeepInformed)
    else {
        return Ok(0);
    };
    let reminded = sent
        .iter()
        .any(|(k, due, s)| k == "keep-informed" && *due == d.due && s.starts_with("overdue"));
    if d.status != Status::Overdue || !reminded || now < app.policy.calendar.add(d.due, app.policy.keep_informed_every)
    {
        return Ok(0);
    }
    if !record_reminder(tx, &c.id, "keep-informed", d.due, "status-update", now, None).await? {
        return Ok(0);
    }
    let case = load_case(tx, &c.id).await?;
    let sent = mail_reporter(
        tx,
        app,
        &case,
        "status_update",
        json!({"state": case.state, "state_words": state_words(&case.state)}),
        "status-update",
        now,
    )
    .await?;
    if sent.is_some() {
        event(
            tx,
            Some(&c.id),
            now,
            "secintake",
            "status-update",
            json!({"why": "keep-informed lapsed twice"}),
            None,
        )
        .await?;
    }
    Ok(usize::from(sent.is_some()))
}

/// The daily digest to the team (`force` sends it now, for `secintake digest`).
pub async fn daily_digest(
    tx: &mut crate::store::WriteTx,
    app: &App,
    now: DateTime<Utc>,
    force: bool,
) -> Result<usize, StoreError> {
    let last: Option<(String,)> = sqlx::query_as("SELECT value FROM service_state WHERE key = 'digest_date'")
        .fetch_optional(&mut **tx)
        .await?;
    let last = last.and_then(|(v,)| NaiveDate::parse_from_str(&v, "%Y-%m-%d").ok());
    if !force && !digest_due(now, app.settings.policy.digest_hour, last) {
        return Ok(0);
    }
    let clocks = open_clocks(tx).await?;
    let open: Vec<&CaseClock> = clocks
        .iter()
        .filter(|c| State::parse(&c.state).is_some_and(|s| !s.is_closed()))
        .collect();
    let mut by_state = Vec::new();
    for s in State::ALL.iter().filter(|s| !s.is_closed()) {
        let n = open.iter().filter(|c| c.state == s.as_str()).count();
        if n > 0 {
            by_state.push(json!({"state": s.as_str(), "count": n}));
        }
    }
    let mut overdue = Vec::new();
    let mut due_soon = Vec::new();
    for c in &open {
        for d in policy::deadlines(&c.timeline(), &app.policy, now) {
            let row = json!({"case_id": c.id, "label": d.kind.label(), "due": stamp(d.due), "coordinator": c.coordinator.clone().unwrap_or_else(|| "unassigned".into())});
            match d.status {
                Status::Overdue => overdue.push(row),
                Status::Pending if d.due - now <= chrono::Duration::hours(48) => due_soon.push(row),
                _ => {}
            }
        }
    }
    let waiting: Vec<_> = open
        .iter()
        .filter(|c| c.state == "needs-info")
        .map(|c| json!({"case_id": c.id, "since": c.state_since, "subject": c.subject}))
        .collect();
    let r = app
        .templates
        .render("digest", json!({"open_total": open.len(), "by_state": by_state, "overdue": overdue, "due_soon": due_soon, "waiting": waiting}))
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    enqueue(
        tx,
        app,
        &Draft::internal(None, "digest", vec![app.notify.clone()], r.subject, r.body),
        now,
    )
    .await?;
    sqlx::query("INSERT INTO service_state (key, value, updated_at) VALUES ('digest_date', ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at")
        .bind(now.date_naive().to_string())
        .bind(stamp(now))
        .execute(&mut **tx)
        .await?;
    Ok(1)
}

/// `secintake digest`: queue the digest now.
pub async fn digest_now(store: &Store, app: &App) -> Result<(), StoreError> {
    let mut tx = store.write().await?;
    daily_digest(&mut tx, app, app.clock.now(), true).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn when_reads_well() {
        assert_eq!(
            when(t("2026-11-21T16:00:00Z"), t("2026-11-21T10:00:00Z")),
            "due in 6 hours"
        );
        assert_eq!(
            when(t("2026-11-21T10:00:00Z"), t("2026-11-21T12:30:00Z")),
            "overdue by 2 hours"
        );
    }

    #[test]
    fn digest_once_a_day_after_the_hour() {
        let today = t("2026-11-21T08:05:00Z");
        assert!(digest_due(today, Some(8), None));
        assert!(!digest_due(today, Some(9), None));
        assert!(!digest_due(today, Some(8), Some(today.date_naive())));
        assert!(digest_due(t("2026-11-22T08:00:00Z"), Some(8), Some(today.date_naive())));
        assert!(!digest_due(today, None, None));
    }
}

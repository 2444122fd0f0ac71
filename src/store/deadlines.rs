//! Case timelines for the deadline policy, the reminders already sent, and the views the
//! CLI shows (`deadlines`, `report`).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Result, Store};
use crate::case::State;
use crate::clock::parse_stamp;
use crate::policy::{self, Deadline, Policy, Status, Timeline};

/// A case with the facts the policy and the reminder mails need.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CaseClock {
    pub id: String,
    pub state: String,
    pub reporter: String,
    pub reporter_name: Option<String>,
    pub subject: String,
    pub coordinator: Option<String>,
    pub opened_at: String,
    pub state_since: String,
    pub assigned_at: Option<String>,
    pub acknowledged_at: Option<String>,
    pub detailed_response_at: Option<String>,
    pub last_reporter_mail_at: Option<String>,
    pub embargo_date: Option<String>,
    pub decided_at: Option<String>,
    /// `none` unless something of the case arrived encrypted.
    pub encryption: String,
    pub flags: String,
    pub checklist: String,
}

impl CaseClock {
    /// The subject as clear mail may show it (an encrypted report's is left out).
    /// Whether the case's report arrived encrypted (its subject never leaves in clear).
    pub fn confidential(&self) -> bool {
        self.encryption != "none"
    }

    pub fn clear_subject(&self) -> String {
        if self.confidential() {
            crate::outbox::protect::SUBJECT.to_string()
        } else {
            self.subject.clone()
        }
    }

    pub fn timeline(&self) -> Timeline {
        let opened = parse_stamp(&self.opened_at).unwrap_or_default();
        Timeline {
            opened_at: opened,
            state: State::parse(&self.state),
            state_since: parse_stamp(&self.state_since).unwrap_or(opened),
            assigned_at: self.assigned_at.as_deref().and_then(parse_stamp),
            acknowledged_at: self.acknowledged_at.as_deref().and_then(parse_stamp),
            detailed_response_at: self.detailed_response_at.as_deref().and_then(parse_stamp),
            last_reporter_mail_at: self.last_reporter_mail_at.as_deref().and_then(parse_stamp),
            embargo_date: self
                .embargo_date
                .as_deref()
                .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
            decided_at: self.decided_at.as_deref().and_then(parse_stamp),
            premature: serde_json::from_str::<Vec<String>>(&self.flags)
                .unwrap_or_default()
                .iter()
                .any(|f| f == "premature-disclosure"),
            checklist: serde_json::from_str(&self.checklist).unwrap_or_default(),
        }
    }
}

const CLOCK_COLUMNS: &str =
    "SELECT id, state, reporter, reporter_name, subject, coordinator, opened_at, state_since, assigned_at,
    acknowledged_at, detailed_response_at, last_reporter_mail_at, embargo_date, decided_at, encryption, flags, checklist FROM cases";

/// Open cases (a closed case has no deadline left, its embargo included).
fn open_clocks_sql() -> String {
    format!("{CLOCK_COLUMNS} WHERE state NOT IN ('disclosed', 'invalid', 'duplicate') ORDER BY opened_at")
}

pub async fn open_clocks(tx: &mut crate::store::WriteTx) -> Result<Vec<CaseClock>> {
    let sql = open_clocks_sql();
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&mut **tx).await?)
}

/// (deadline, due, stage) already written for a case.
pub async fn sent_reminders(
    tx: &mut crate::store::WriteTx,
    case_id: &str,
) -> Result<Vec<(String, DateTime<Utc>, String)>> {
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT deadline, due_at, stage FROM reminders WHERE case_id = ?")
            .bind(case_id)
            .fetch_all(&mut **tx)
            .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(k, d, s)| Some((k, parse_stamp(&d)?, s)))
        .collect())
}

/// Records that a reminder (or a holding acknowledgement) was written; false if it already was.
pub async fn record_reminder(
    tx: &mut crate::store::WriteTx,
    case_id: &str,
    kind: &str,
    due: DateTime<Utc>,
    stage: &str,
    now: DateTime<Utc>,
    outbox: Option<i64>,
) -> Result<bool> {
    let r = sqlx::query("INSERT OR IGNORE INTO reminders (case_id, deadline, due_at, stage, sent_at, outbox_id) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(case_id)
        .bind(kind)
        .bind(crate::clock::stamp(due))
        .bind(stage)
        .bind(crate::clock::stamp(now))
        .bind(outbox)
        .execute(&mut **tx)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Links a written reminder to its outbox row.
pub async fn set_reminder_outbox(
    tx: &mut crate::store::WriteTx,
    case_id: &str,
    kind: &str,
    due: DateTime<Utc>,
    stage: &str,
    outbox: i64,
) -> Result<()> {
    sqlx::query("UPDATE reminders SET outbox_id = ? WHERE case_id = ? AND deadline = ? AND due_at = ? AND stage = ?")
        .bind(outbox)
        .bind(case_id)
        .bind(kind)
        .bind(crate::clock::stamp(due))
        .bind(stage)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// One open deadline, for `secintake deadlines`.
#[derive(Debug, Clone, Serialize)]
pub struct OpenDeadline {
    pub case_id: String,
    pub deadline: String,
    pub label: String,
    pub due: String,
    pub status: String,
    pub since: String,
    pub state: String,
    pub coordinator: Option<String>,
    pub subject: String,
}

fn open_deadline(c: &CaseClock, d: &Deadline) -> OpenDeadline {
    OpenDeadline {
        case_id: c.id.clone(),
        deadline: d.kind.as_str().into(),
        label: d.kind.label().into(),
        due: crate::clock::stamp(d.due),
        status: if d.status == Status::Overdue {
            "overdue"
        } else {
            "pending"
        }
        .into(),
        since: crate::clock::stamp(d.since),
        state: c.state.clone(),
        coordinator: c.coordinator.clone(),
        subject: c.subject.clone(),
    }
}

impl Store {
    /// Every open (unmet) deadline, soonest first.
    pub async fn open_deadlines(&self, policy: &Policy, now: DateTime<Utc>) -> Result<Vec<OpenDeadline>> {
        let sql = open_clocks_sql();
        let clocks: Vec<CaseClock> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await?;
        let mut out: Vec<(DateTime<Utc>, OpenDeadline)> = Vec::new();
        for c in &clocks {
            for d in policy::deadlines(&c.timeline(), policy, now) {
                if !matches!(d.status, Status::Met(_)) {
                    out.push((d.due, open_deadline(c, &d)));
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.case_id.cmp(&b.1.case_id)));
        Ok(out.into_iter().map(|x| x.1).collect())
    }

    pub async fn all_clocks(&self) -> Result<Vec<CaseClock>> {
        let sql = format!("{CLOCK_COLUMNS} ORDER BY opened_at");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await?)
    }
}

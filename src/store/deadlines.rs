//! Case timelines for the deadline policy, the reminders already sent, and the views the
//! CLI shows (`deadlines`, `report`).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Result, Store, StoreError};
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

impl CaseClock {
    /// The row as the writing connection reads it (the columns of `CLOCK_COLUMNS`, in order).
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<CaseClock> {
        Ok(CaseClock {
            id: r.get(0)?,
            state: r.get(1)?,
            reporter: r.get(2)?,
            reporter_name: r.get(3)?,
            subject: r.get(4)?,
            coordinator: r.get(5)?,
            opened_at: r.get(6)?,
            state_since: r.get(7)?,
            assigned_at: r.get(8)?,
            acknowledged_at: r.get(9)?,
            detailed_response_at: r.get(10)?,
            last_reporter_mail_at: r.get(11)?,
            embargo_date: r.get(12)?,
            decided_at: r.get(13)?,
            encryption: r.get(14)?,
            flags: r.get(15)?,
            checklist: r.get(16)?,
        })
    }
}

/// Open cases (a closed case, history included, has no deadline left, its embargo
/// included), found through the index on `state`: the work grows with the open cases,
/// not with the history.
fn open_clocks_sql() -> String {
    format!("{} ORDER BY opened_at", open_cases())
}

fn open_cases() -> String {
    format!("{CLOCK_COLUMNS} WHERE state IN ({})", open_states())
}

/// Every case but the history, as an SQL condition: two ranges of the state index
/// (`state <> 'historical'` scans every case).
pub(crate) const NOT_HISTORICAL: &str = "(state < 'historical' OR state > 'historical')";

/// The open states as an SQL list (`'new', 'triage', ...`): `state IN (...)` finds the open
/// cases through the state index, whatever the history holds.
pub(crate) fn open_states() -> String {
    State::ALL
        .iter()
        .filter(|s| !s.is_closed())
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A reminder already written: (deadline, due, stage).
pub type Sent = (String, DateTime<Utc>, String);

/// The open cases, each with the reminders already written for it, in one query.
pub fn open_clocks(tx: &crate::store::WriteTx) -> Result<Vec<(CaseClock, Vec<Sent>)>> {
    let sql = format!(
        "SELECT c.*, (SELECT json_group_array(json_array(r.deadline, r.due_at, r.stage))
                        FROM reminders r WHERE r.case_id = c.id) AS sent
           FROM ({}) c ORDER BY c.opened_at",
        open_cases()
    );
    let mut q = tx.prepare_cached(&sql)?;
    let rows = q.query_map([], |r| Ok((CaseClock::read(r)?, r.get::<_, String>(17)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (clock, sent) = row?;
        let sent: Vec<(String, String, String)> =
            serde_json::from_str(&sent).map_err(|e| StoreError::Corrupt(format!("reminders of {}: {e}", clock.id)))?;
        let sent = sent
            .into_iter()
            .filter_map(|(k, d, s)| Some((k, parse_stamp(&d)?, s)))
            .collect();
        out.push((clock, sent));
    }
    Ok(out)
}

/// Records that a reminder (or a holding acknowledgement) was written; false if it already was.
pub fn record_reminder(
    tx: &crate::store::WriteTx,
    case_id: &str,
    kind: &str,
    due: DateTime<Utc>,
    stage: &str,
    now: DateTime<Utc>,
    outbox: Option<i64>,
) -> Result<bool> {
    let n = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO reminders (case_id, deadline, due_at, stage, sent_at, outbox_id) VALUES (?, ?, ?, ?, ?, ?)",
        )?
        .execute(rusqlite::params![
            case_id,
            kind,
            crate::clock::stamp(due),
            stage,
            crate::clock::stamp(now),
            outbox
        ])?;
    Ok(n == 1)
}

/// Links a written reminder to its outbox row.
pub fn set_reminder_outbox(
    tx: &crate::store::WriteTx,
    case_id: &str,
    kind: &str,
    due: DateTime<Utc>,
    stage: &str,
    outbox: i64,
) -> Result<()> {
    tx.prepare_cached(
        "UPDATE reminders SET outbox_id = ? WHERE case_id = ? AND deadline = ? AND due_at = ? AND stage = ?",
    )?
    .execute(rusqlite::params![
        outbox,
        case_id,
        kind,
        crate::clock::stamp(due),
        stage
    ])?;
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

    /// Every case but the history, oldest first.
    pub async fn clocks_without_history(&self) -> Result<Vec<CaseClock>> {
        let sql = format!("{CLOCK_COLUMNS} WHERE {NOT_HISTORICAL} ORDER BY opened_at");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await?)
    }

    /// The history's cases as far as a report needs them: id and opening, read from the
    /// covering index `cases_state_opened` on the reading connection (thousands of rows: one
    /// sqlx round trip per row would cost more than the read).
    pub async fn history_openings(&self) -> Result<Vec<(String, String)>> {
        let store = self.clone();
        let rows = tokio::task::spawn_blocking(move || {
            store.read_sync(|c| -> rusqlite::Result<Vec<(String, String)>> {
                c.prepare_cached("SELECT id, opened_at FROM cases WHERE state = 'historical' ORDER BY opened_at")?
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
            })
        })
        .await??;
        Ok(rows)
    }
}

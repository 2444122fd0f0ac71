//! Cases: the row, its typed form for the planner, the contract's JSON views, and saving a
//! case the planner changed.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{Result, Store, StoreError};
use crate::case::lifecycle::CaseFile;
use crate::case::plan::{self, Case, CaseWrite, Thread};
use crate::case::{CaseId, State};
use crate::clock::{parse_stamp, stamp};

/// A case row as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CaseRow {
    pub id: String,
    pub state: String,
    pub reporter: String,
    pub reporter_name: Option<String>,
    pub subject: String,
    pub opened_at: String,
    pub updated_at: String,
    pub coordinator: Option<String>,
    pub acknowledged_at: Option<String>,
    pub detailed_response_at: Option<String>,
    pub body_check: String,
    pub missing: String,
    pub evidence: String,
    pub flags: String,
    pub hints: String,
    pub severity: Option<String>,
    pub cvss_vector: Option<String>,
    pub cvss_score: Option<f64>,
    pub cve: Option<String>,
    pub ghsa: Option<String>,
    pub affected_versions: Option<String>,
    pub patched_versions: Option<String>,
    pub embargo_date: Option<String>,
    pub duplicate_of: Option<String>,
    pub credit: Option<String>,
    pub anonymous: bool,
    pub state_since: String,
    pub last_reporter_mail_at: Option<String>,
    pub closed_at: Option<String>,
    pub close_reason: Option<String>,
    pub encryption: String,
    pub signature: Option<String>,
    pub packages: String,
    pub affected: String,
    pub patched: String,
    pub cwes: String,
    pub advisory_summary: Option<String>,
    pub advisory_description: Option<String>,
    pub checklist: String,
}

/// The contract's case summary (`cases --json`).
#[derive(Debug, Clone, Serialize)]
pub struct CaseSummary {
    pub id: String,
    pub state: String,
    pub reporter: String,
    pub reporter_name: Option<String>,
    pub subject: String,
    pub opened_at: String,
    pub updated_at: String,
    pub coordinator: Option<String>,
    pub acknowledged_at: Option<String>,
    pub detailed_response_at: Option<String>,
    pub body_check: String,
    pub missing: Vec<String>,
    pub flags: Vec<String>,
    pub hints: Vec<String>,
    pub message_count: i64,
    pub severity: Option<String>,
    pub cvss_vector: Option<String>,
    pub cvss_score: Option<f64>,
    pub cve: Option<String>,
    pub ghsa: Option<String>,
    pub affected_versions: Option<String>,
    pub patched_versions: Option<String>,
    pub embargo_date: Option<String>,
    pub duplicate_of: Option<String>,
    /// The name the advisory will credit (`/credit`, else the display name; never the
    /// address); null when anonymous or nameless.
    pub credit: Option<String>,
    /// The reporter chose `/anonymous`.
    pub anonymous: bool,
    pub closed_at: Option<String>,
    pub close_reason: Option<String>,
    /// How the report arrived: `none`, `pgp-mime`, `pgp-inline` (an encrypted follow-up
    /// makes a clear case encrypted: its text never leaves in clear from then on).
    pub encryption: String,
    /// The report's OpenPGP signature: null (unsigned), `valid`, `invalid`, `unknown-key`.
    pub signature: Option<String>,
    /// The advisory's affected packages (`/package`, `/affected`, `/patched`).
    pub packages: Vec<String>,
    /// `[{package, range}]` (npm semver ranges)
    pub affected: Vec<crate::advisory::Affected>,
    /// `[{package, version}]`
    pub patched: Vec<crate::advisory::Patched>,
    pub cwes: Vec<String>,
    /// The advisory's one-line summary (`/summary`).
    pub summary: Option<String>,
    /// The advisory's description, Markdown (`/advisory`).
    pub description: Option<String>,
    /// The runbook steps that apply, done or not: `[{step, done_at, by}]`.
    pub checklist: Vec<crate::case::checklist::Item>,
}

fn json_list(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

fn hint_labels(s: &str) -> Vec<String> {
    let v: Vec<crate::analysis::Hint> = serde_json::from_str(s).unwrap_or_default();
    v.into_iter().map(|h| h.label).collect()
}

impl CaseRow {
    /// The advisory facts stored in the row.
    pub fn advisory(&self) -> crate::advisory::Facts {
        crate::advisory::Facts {
            packages: json_list(&self.packages),
            affected: serde_json::from_str(&self.affected).unwrap_or_default(),
            patched: serde_json::from_str(&self.patched).unwrap_or_default(),
            cwes: json_list(&self.cwes),
            summary: self.advisory_summary.clone(),
            description: self.advisory_description.clone(),
        }
    }

    pub fn summary(&self, message_count: i64) -> CaseSummary {
        CaseSummary {
            id: self.id.clone(),
            state: self.state.clone(),
            reporter: self.reporter.clone(),
            reporter_name: self.reporter_name.clone(),
            subject: self.subject.clone(),
            opened_at: self.opened_at.clone(),
            updated_at: self.updated_at.clone(),
            coordinator: self.coordinator.clone(),
            acknowledged_at: self.acknowledged_at.clone(),
            detailed_response_at: self.detailed_response_at.clone(),
            body_check: self.body_check.clone(),
            missing: json_list(&self.missing),
            flags: json_list(&self.flags),
            hints: hint_labels(&self.hints),
            message_count,
            severity: self.severity.clone(),
            cvss_vector: self.cvss_vector.clone(),
            cvss_score: self.cvss_score,
            cve: self.cve.clone(),
            ghsa: self.ghsa.clone(),
            affected_versions: self.affected_versions.clone(),
            patched_versions: self.patched_versions.clone(),
            embargo_date: self.embargo_date.clone(),
            duplicate_of: self.duplicate_of.clone(),
            credit: plan::credit(self.anonymous, self.credit.as_deref(), self.reporter_name.as_deref()),
            anonymous: self.anonymous,
            closed_at: self.closed_at.clone(),
            close_reason: self.close_reason.clone(),
            encryption: self.encryption.clone(),
            signature: self.signature.clone(),
            packages: json_list(&self.packages),
            affected: serde_json::from_str(&self.affected).unwrap_or_default(),
            patched: serde_json::from_str(&self.patched).unwrap_or_default(),
            cwes: json_list(&self.cwes),
            summary: self.advisory_summary.clone(),
            description: self.advisory_description.clone(),
            checklist: crate::case::checklist::view(
                json_list(&self.flags).iter().any(|f| f == "premature-disclosure"),
                &serde_json::from_str::<Vec<crate::case::checklist::Done>>(&self.checklist).unwrap_or_default(),
            ),
        }
    }
}

/// One message of a case's timeline, in or out.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TimelineMessage {
    pub direction: String,
    pub id: i64,
    pub at: String,
    pub kind: String,
    pub message_id: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub subject: Option<String>,
    pub size: i64,
    pub status: Option<String>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct EventRow {
    pub at: String,
    pub actor: String,
    pub kind: String,
    #[serde(serialize_with = "raw_json")]
    pub detail: String,
    pub message: Option<i64>,
}

fn raw_json<S: serde::Serializer>(s: &str, ser: S) -> std::result::Result<S::Ok, S::Error> {
    let v: serde_json::Value = serde_json::from_str(s).unwrap_or(serde_json::Value::Null);
    v.serialize(ser)
}

/// `case ID --json`: the summary plus the full timeline.
#[derive(Debug, Clone, Serialize)]
pub struct CaseDetail {
    #[serde(flatten)]
    pub summary: CaseSummary,
    pub hint_details: serde_json::Value,
    /// For each checklist item judged present, the phrase of the report that made it count
    /// (`{"affected-versions": "express 4.21.2 ...", ...}`).
    pub evidence: serde_json::Value,
    /// The earlier cases its report resembled on arrival: `[{id, score}]`, best first.
    pub similar: serde_json::Value,
    /// The cases marked `/duplicate` of this one (their `duplicate_of` is this id).
    pub duplicates: Vec<String>,
    pub messages: Vec<TimelineMessage>,
    pub events: Vec<EventRow>,
    /// The team channels' deliveries about this case (delivered, pending or failed).
    pub deliveries: Vec<crate::channels::queue::DeliveryView>,
}

const CASE_COLUMNS: &str = "id, state, reporter, reporter_name, subject, opened_at, updated_at, coordinator,
    acknowledged_at, detailed_response_at, body_check, missing, evidence, flags, hints, severity, cvss_vector,
    cvss_score, cve, ghsa, affected_versions, patched_versions, embargo_date, duplicate_of, credit,
    anonymous, state_since, last_reporter_mail_at, closed_at, close_reason, encryption, signature,
    packages, affected, patched, cwes, advisory_summary, advisory_description, checklist";

impl CaseRow {
    /// The row as the writing connection reads it (the same columns as `CASE_COLUMNS`).
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<CaseRow> {
        Ok(CaseRow {
            id: r.get("id")?,
            state: r.get("state")?,
            reporter: r.get("reporter")?,
            reporter_name: r.get("reporter_name")?,
            subject: r.get("subject")?,
            opened_at: r.get("opened_at")?,
            updated_at: r.get("updated_at")?,
            coordinator: r.get("coordinator")?,
            acknowledged_at: r.get("acknowledged_at")?,
            detailed_response_at: r.get("detailed_response_at")?,
            body_check: r.get("body_check")?,
            missing: r.get("missing")?,
            evidence: r.get("evidence")?,
            flags: r.get("flags")?,
            hints: r.get("hints")?,
            severity: r.get("severity")?,
            cvss_vector: r.get("cvss_vector")?,
            cvss_score: r.get("cvss_score")?,
            cve: r.get("cve")?,
            ghsa: r.get("ghsa")?,
            affected_versions: r.get("affected_versions")?,
            patched_versions: r.get("patched_versions")?,
            embargo_date: r.get("embargo_date")?,
            duplicate_of: r.get("duplicate_of")?,
            credit: r.get("credit")?,
            anonymous: r.get("anonymous")?,
            state_since: r.get("state_since")?,
            last_reporter_mail_at: r.get("last_reporter_mail_at")?,
            closed_at: r.get("closed_at")?,
            close_reason: r.get("close_reason")?,
            encryption: r.get("encryption")?,
            signature: r.get("signature")?,
            packages: r.get("packages")?,
            affected: r.get("affected")?,
            patched: r.get("patched")?,
            cwes: r.get("cwes")?,
            advisory_summary: r.get("advisory_summary")?,
            advisory_description: r.get("advisory_description")?,
            checklist: r.get("checklist")?,
        })
    }
}

/// The columns of a case beyond the JSON view that the planner needs.
#[derive(Debug, Clone)]
struct CaseClocks {
    no_patch: bool,
    assigned_at: Option<String>,
    decided_at: Option<String>,
}

fn time(id: &str, column: &str, s: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    parse_stamp(s).ok_or_else(|| StoreError::Corrupt(format!("case {id}: {column} `{s}` is not a time")))
}

fn opt_time(id: &str, column: &str, s: &Option<String>) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    s.as_deref().map(|s| time(id, column, s)).transpose()
}

/// Decodes a stored case into typed values (the one place that reads the row's strings).
fn decode(r: &CaseRow, k: &CaseClocks, thread_root: Thread) -> Result<Case> {
    let id = CaseId::parse(&r.id).ok_or_else(|| StoreError::Corrupt(format!("case id `{}`", r.id)))?;
    let state =
        State::parse(&r.state).ok_or_else(|| StoreError::Corrupt(format!("case {}: state `{}`", r.id, r.state)))?;
    let embargo_date = r
        .embargo_date
        .as_deref()
        .map(|d| {
            chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| StoreError::Corrupt(format!("case {}: embargo date `{d}`", r.id)))
        })
        .transpose()?;
    let file = CaseFile {
        id: r.id.clone(),
        state: Some(state),
        reporter: r.reporter.clone(),
        coordinator: r.coordinator.clone(),
        acknowledged_at: opt_time(&r.id, "acknowledged_at", &r.acknowledged_at)?,
        severity: r.severity.clone(),
        cvss_vector: r.cvss_vector.clone(),
        cvss_score: r.cvss_score,
        cve: r.cve.clone(),
        ghsa: r.ghsa.clone(),
        patched_versions: r.patched_versions.clone(),
        embargo_date,
        duplicate_of: r.duplicate_of.clone(),
        no_patch: k.no_patch,
        credit: r.credit.clone(),
        anonymous: r.anonymous,
        flags: serde_json::from_str(&r.flags).unwrap_or_default(),
        close_reason: r.close_reason.clone(),
        missing: json_list(&r.missing),
        evidence: serde_json::from_str(&r.evidence).unwrap_or_default(),
        advisory: r.advisory(),
        checklist: serde_json::from_str(&r.checklist).unwrap_or_default(),
    };
    Ok(Case {
        id,
        file,
        subject: r.subject.clone(),
        reporter_name: r.reporter_name.clone(),
        opened_at: time(&r.id, "opened_at", &r.opened_at)?,
        updated_at: time(&r.id, "updated_at", &r.updated_at)?,
        state_since: time(&r.id, "state_since", &r.state_since)?,
        assigned_at: opt_time(&r.id, "assigned_at", &k.assigned_at)?,
        decided_at: opt_time(&r.id, "decided_at", &k.decided_at)?,
        detailed_response_at: opt_time(&r.id, "detailed_response_at", &r.detailed_response_at)?,
        last_reporter_mail_at: opt_time(&r.id, "last_reporter_mail_at", &r.last_reporter_mail_at)?,
        closed_at: opt_time(&r.id, "closed_at", &r.closed_at)?,
        thread_root,
    })
}

/// The case `id`, typed, for the planner.
pub fn load(tx: &crate::store::WriteTx, id: &str) -> Result<Case> {
    let sql = format!("SELECT {CASE_COLUMNS}, no_patch, assigned_at, decided_at FROM cases WHERE id = ?");
    let (row, clocks) = tx
        .prepare_cached(&sql)?
        .query_row([id], |r| {
            let clocks = CaseClocks {
                no_patch: r.get("no_patch")?,
                assigned_at: r.get("assigned_at")?,
                decided_at: r.get("decided_at")?,
            };
            Ok((CaseRow::read(r)?, clocks))
        })
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("no case {id}")))?;
    let root: Option<(Option<String>, Option<String>)> = tx
        .prepare_cached(
            "SELECT message_id, refs FROM messages WHERE case_id = ? AND kind = 'report' ORDER BY id LIMIT 1",
        )?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let thread_root = match root {
        None => Thread::default(),
        Some((mid, refs)) => {
            let mut references: Vec<String> = refs.unwrap_or_default().split_whitespace().map(String::from).collect();
            references.extend(mid.clone());
            Thread {
                in_reply_to: mid,
                references,
            }
        }
    };
    decode(&row, &clocks, thread_root)
}

/// Which of `ids` are cases.
pub fn existing(tx: &crate::store::WriteTx, ids: &[String]) -> Result<Vec<String>> {
    let mut q = tx.prepare_cached("SELECT 1 FROM cases WHERE id = ?")?;
    let mut out = Vec::new();
    for id in ids {
        if q.exists([id])? {
            out.push(id.clone());
        }
    }
    Ok(out)
}

pub(crate) fn json_text<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).expect("plain data serialises")
}

/// Writes the case row the planner made (a new case, or every column a message may change).
pub fn save(tx: &crate::store::WriteTx, w: &CaseWrite) -> Result<()> {
    let c = w.case();
    let f = &c.file;
    let t = |x: Option<chrono::DateTime<chrono::Utc>>| x.map(stamp);
    if let CaseWrite::Open(_, o) = w {
        let similar = json_text(
            &o.similar
                .iter()
                .map(|(id, score)| serde_json::json!({"id": id, "score": score}))
                .collect::<Vec<_>>(),
        );
        tx.prepare_cached(
            "INSERT INTO cases (id, year, seq, state, reporter, reporter_name, subject, opened_at, updated_at,
                body_check, missing, evidence, flags, hints, state_since, decided_at, closed_at, encryption, signature,
                similar)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )?
        .execute(params![
            c.id.to_string(),
            c.id.year,
            i64::from(c.id.seq),
            c.state().as_str(),
            f.reporter,
            c.reporter_name,
            c.subject,
            stamp(c.opened_at),
            stamp(c.updated_at),
            o.body_check,
            json_text(&o.missing),
            json_text(&o.evidence),
            json_text(&o.flags),
            json_text(&o.hints),
            stamp(c.state_since),
            t(c.decided_at),
            t(c.closed_at),
            o.encryption.as_str(),
            o.signature.map(|v| v.as_str()),
            similar,
        ])?;
        return Ok(());
    }
    tx.prepare_cached(
        "UPDATE cases SET state = ?, coordinator = ?, acknowledged_at = ?, severity = ?, cvss_vector = ?, cvss_score = ?,
            cve = ?, ghsa = ?, patched_versions = ?, embargo_date = ?, duplicate_of = ?, no_patch = ?, credit = ?,
            anonymous = ?, flags = ?, missing = ?, evidence = ?, close_reason = ?, closed_at = ?, updated_at = ?, state_since = ?,
            assigned_at = ?, decided_at = ?, detailed_response_at = ?, last_reporter_mail_at = ?,
            packages = ?, affected = ?, patched = ?, cwes = ?, advisory_summary = ?, advisory_description = ?,
            checklist = ?
         WHERE id = ?",
    )?
    .execute(params![
        c.state().as_str(),
        f.coordinator,
        t(f.acknowledged_at),
        f.severity,
        f.cvss_vector,
        f.cvss_score,
        f.cve,
        f.ghsa,
        f.patched_versions,
        f.embargo_date.map(|d| d.to_string()),
        f.duplicate_of,
        f.no_patch,
        f.credit,
        f.anonymous,
        json_text(&f.flags),
        json_text(&f.missing),
        json_text(&f.evidence),
        f.close_reason,
        t(c.closed_at),
        stamp(c.updated_at),
        stamp(c.state_since),
        t(c.assigned_at),
        t(c.decided_at),
        t(c.detailed_response_at),
        t(c.last_reporter_mail_at),
        json_text(&f.advisory.packages),
        json_text(&f.advisory.affected),
        json_text(&f.advisory.patched),
        json_text(&f.advisory.cwes),
        f.advisory.summary,
        f.advisory.description,
        json_text(&f.checklist),
        c.id.to_string(),
    ])?;
    Ok(())
}

impl Store {
    /// One case as the advisory exports see it: its facts, the decided credit, the public
    /// links of a premature disclosure and the report's text (the decrypted copy of an
    /// encrypted report; none when it has not been decrypted).
    pub async fn advisory_case(&self, id: &str) -> Result<crate::advisory::CaseInput> {
        let r = self.case_row(id).await?;
        let report: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM messages WHERE case_id = ? AND kind = 'report' ORDER BY id LIMIT 1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        let raw = match (r.encryption.as_str(), report) {
            ("none", Some((m,))) => Some(self.message_raw(m).await?),
            (_, Some(_)) => self.decrypted_report(id).await?,
            (_, None) => None,
        };
        let report_text = raw.map(|b| crate::message::Incoming::parse(&b).text);
        let events: Vec<(String, String)> = sqlx::query_as(
            "SELECT kind, detail FROM events WHERE case_id = ? AND kind IN ('opened', 'public') ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let mut public_links: Vec<String> = Vec::new();
        for (kind, detail) in events {
            let d: serde_json::Value = serde_json::from_str(&detail).unwrap_or_default();
            let found: Vec<String> = if kind == "public" {
                d["url"].as_str().map(str::to_string).into_iter().collect()
            } else {
                serde_json::from_value(d["public_links"].clone()).unwrap_or_default()
            };
            for l in found {
                if !public_links.contains(&l) {
                    public_links.push(l);
                }
            }
        }
        Ok(crate::advisory::CaseInput {
            id: r.id.clone(),
            state: r.state.clone(),
            subject: r.subject.clone(),
            opened_at: time(&r.id, "opened_at", &r.opened_at)?,
            updated_at: time(&r.id, "updated_at", &r.updated_at)?,
            facts: r.advisory(),
            cve: r.cve.clone(),
            ghsa: r.ghsa.clone(),
            cvss_vector: r.cvss_vector.clone(),
            cvss_score: r.cvss_score,
            severity: r.severity.clone(),
            credit: plan::credit(r.anonymous, r.credit.as_deref(), r.reporter_name.as_deref()),
            public_links,
            report_text,
        })
    }

    pub async fn case_row(&self, id: &str) -> Result<CaseRow> {
        let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = ?");
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no case {id}")))
    }

    /// Every case in `state` (any state when `None`; then the history only `with_history`),
    /// oldest first. The state index picks the rows: the history costs nothing when left out.
    pub async fn cases(&self, state: Option<&str>, with_history: bool) -> Result<Vec<CaseSummary>> {
        let states: Vec<&str> = match state {
            Some(s) => vec![s],
            None => crate::case::State::ALL
                .iter()
                .filter(|s| with_history || **s != crate::case::State::Historical)
                .map(|s| s.as_str())
                .collect(),
        };
        let sql = format!(
            "SELECT {CASE_COLUMNS}, (SELECT COUNT(*) FROM messages m WHERE m.case_id = cases.id) AS n
             FROM cases WHERE state IN (SELECT value FROM json_each(?1)) ORDER BY opened_at, year, seq"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(serde_json::to_string(&states).expect("strings serialise"))
            .fetch_all(&self.pool)
            .await?;
        use sqlx::{FromRow, Row};
        rows.iter()
            .map(|r| {
                let c = CaseRow::from_row(r)?;
                let n: i64 = r.try_get("n")?;
                Ok(c.summary(n))
            })
            .collect()
    }

    pub async fn case_detail(&self, id: &str) -> Result<CaseDetail> {
        let row = self.case_row(id).await?;
        let messages: Vec<TimelineMessage> = sqlx::query_as(
            "SELECT 'in' AS direction, id, received_at AS at, kind, message_id, from_addr AS \"from\",
                    NULL AS \"to\", subject, size, NULL AS status
               FROM messages WHERE case_id = ?1
             UNION ALL
             SELECT 'out', id, created_at, kind, message_id, envelope_from, recipients, subject, length(raw),
                    CASE WHEN sent_at IS NOT NULL THEN 'sent' WHEN failed_at IS NOT NULL THEN 'failed' ELSE 'queued' END
               FROM outbox WHERE case_id = ?1
             ORDER BY at, direction",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let events: Vec<EventRow> =
            sqlx::query_as("SELECT at, actor, kind, detail, message FROM events WHERE case_id = ? ORDER BY at, id")
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
        let duplicates: Vec<(String,)> =
            sqlx::query_as("SELECT id FROM cases WHERE duplicate_of = ? ORDER BY year, seq")
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
        let n = messages.iter().filter(|m| m.direction == "in").count() as i64;
        let hint_details = serde_json::from_str(&row.hints).unwrap_or(serde_json::Value::Null);
        let evidence = serde_json::from_str(&row.evidence).unwrap_or_else(|_| serde_json::json!({}));
        let (similar,): (String,) = sqlx::query_as("SELECT similar FROM cases WHERE id = ?")
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        let similar = serde_json::from_str(&similar).unwrap_or_else(|_| serde_json::json!([]));
        Ok(CaseDetail {
            summary: row.summary(n),
            hint_details,
            evidence,
            similar,
            duplicates: duplicates.into_iter().map(|(d,)| d).collect(),
            messages,
            events,
            deliveries: crate::channels::queue::for_case(&self.pool, id)
                .await
                .map_err(|crate::channels::queue::QueueError::Db(e)| super::StoreError::Db(e))?,
        })
    }
}

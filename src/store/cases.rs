//! Cases: the row, the contract's JSON views, and what a message in a case's thread does.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use super::outbox::{enqueue, event};
use super::{Result, Store, StoreError};
use crate::analysis::Facts;
use crate::app::App;
use crate::case::authority;
use crate::case::CaseId;
use crate::clock::stamp;
use crate::message::Incoming;
use crate::outbox::compose::{tagged_subject, Draft};
use crate::routing::Sender;

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
}

fn json_list(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

fn hint_labels(s: &str) -> Vec<String> {
    let v: Vec<crate::analysis::Hint> = serde_json::from_str(s).unwrap_or_default();
    v.into_iter().map(|h| h.label).collect()
}

impl CaseRow {
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
            credit: super::commands::effective_credit(self),
            anonymous: self.anonymous,
            closed_at: self.closed_at.clone(),
            close_reason: self.close_reason.clone(),
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
    /// The cases marked `/duplicate` of this one (their `duplicate_of` is this id).
    pub duplicates: Vec<String>,
    pub messages: Vec<TimelineMessage>,
    pub events: Vec<EventRow>,
}

const CASE_COLUMNS: &str = "id, state, reporter, reporter_name, subject, opened_at, updated_at, coordinator,
    acknowledged_at, detailed_response_at, body_check, missing, flags, hints, severity, cvss_vector,
    cvss_score, cve, ghsa, affected_versions, patched_versions, embargo_date, duplicate_of, credit,
    anonymous, state_since, last_reporter_mail_at, closed_at, close_reason";

pub async fn load_case(tx: &mut crate::store::WriteTx, id: &str) -> Result<CaseRow> {
    let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = ?");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("no case {id}")))
}

impl Store {
    pub async fn case_row(&self, id: &str) -> Result<CaseRow> {
        let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = ?");
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no case {id}")))
    }

    /// Every case (optionally in one state), oldest first.
    pub async fn cases(&self, state: Option<&str>) -> Result<Vec<CaseSummary>> {
        let sql = format!(
            "SELECT {CASE_COLUMNS}, (SELECT COUNT(*) FROM messages m WHERE m.case_id = cases.id) AS n
             FROM cases WHERE (?1 IS NULL OR state = ?1) ORDER BY opened_at, year, seq"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(state)
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
        Ok(CaseDetail {
            summary: row.summary(n),
            hint_details,
            duplicates: duplicates.into_iter().map(|(d,)| d).collect(),
            messages,
            events,
        })
    }
}

/// Is `m` addressed (To or Cc) to `reporter`?
fn addressed_to(m: &Incoming, reporter: &str) -> bool {
    !reporter.is_empty()
        && m.to
            .iter()
            .chain(m.cc.iter())
            .any(|a| a.as_str().eq_ignore_ascii_case(reporter))
}

/// What a message in a case's thread does: notices, acknowledgement milestones, commands.
#[allow(clippy::too_many_arguments)]
pub async fn message_in_case(
    tx: &mut crate::store::WriteTx,
    app: &App,
    case_id: &str,
    sender: Sender,
    m: &Incoming,
    facts: &Facts,
    message: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let case = load_case(tx, case_id).await?;
    let from = m
        .from
        .as_ref()
        .map(|f| f.address.to_string())
        .unwrap_or_else(|| "unknown".into());
    sqlx::query("UPDATE cases SET updated_at = ? WHERE id = ?")
        .bind(stamp(now))
        .bind(case_id)
        .execute(&mut **tx)
        .await?;
    match sender {
        Sender::Reporter | Sender::Other => {
            let kind = if sender == Sender::Reporter {
                "reporter-message"
            } else {
                "third-party-message"
            };
            event(
                tx,
                Some(case_id),
                now,
                &from,
                kind,
                json!({"subject": crate::sanitize::header_text(&m.subject)}),
                Some(message),
            )
            .await?;
            crate::store::commands::reporter_words(tx, app, &case, sender, m, facts, message, now).await?;
            notify_team_of_message(tx, app, &case, &from, m, facts, now).await?;
        }
        Sender::Coordinator => {
            let from_domain = m
                .from
                .as_ref()
                .map(|f| f.address.domain().to_string())
                .unwrap_or_default();
            let verdict = authority::judge(
                &m.authentication_results,
                &from_domain,
                &app.settings.team.trusted_authserv_ids,
            );
            let verdict = if !verdict.is_authenticated() && app.settings.team.verify_dkim {
                verify_dkim_directly(tx, app, message, &from_domain, verdict).await?
            } else {
                verdict
            };
            event(
                tx,
                Some(case_id),
                now,
                &from,
                "coordinator-message",
                json!({"authentication": verdict}),
                Some(message),
            )
            .await?;
            if verdict.is_authenticated() && addressed_to(m, &case.reporter) {
                acknowledge(tx, &case, &from, now, message).await?;
            }
            crate::store::commands::run_from_mail(tx, app, &case, &from, &verdict, m, message, now).await?;
        }
    }
    Ok(())
}

/// `team.verify_dkim`: the message's own DKIM signature may authenticate it when the trusted
/// Authentication-Results header did not. Both reasons are kept when it does not.
async fn verify_dkim_directly(
    tx: &mut crate::store::WriteTx,
    app: &App,
    message: i64,
    from_domain: &str,
    ar: authority::Verdict,
) -> Result<authority::Verdict> {
    let raw: Option<(Vec<u8>,)> = sqlx::query_as("SELECT raw FROM message_raw WHERE id = ?")
        .bind(message)
        .fetch_optional(&mut **tx)
        .await?;
    let Some((raw,)) = raw else { return Ok(ar) };
    let v = crate::case::dkim::verify_with_dns(
        &raw,
        from_domain,
        &app.settings.team.dkim_keys,
        std::time::Duration::from_secs(10),
    )
    .await;
    Ok(if v.is_authenticated() {
        v
    } else {
        authority::Verdict::Refused(format!("{}; {}", ar.reason(), v.reason()))
    })
}

/// A coordinator wrote to the reporter: the first time is the human acknowledgement, the
/// second the detailed response.
pub async fn acknowledge(
    tx: &mut crate::store::WriteTx,
    case: &CaseRow,
    actor: &str,
    now: DateTime<Utc>,
    message: i64,
) -> Result<()> {
    if case.acknowledged_at.is_none() {
        sqlx::query("UPDATE cases SET acknowledged_at = ?, last_reporter_mail_at = ? WHERE id = ?")
            .bind(stamp(now))
            .bind(stamp(now))
            .bind(&case.id)
            .execute(&mut **tx)
            .await?;
        event(tx, Some(&case.id), now, actor, "acknowledged", json!({}), Some(message)).await?;
    } else if case.detailed_response_at.is_none() {
        sqlx::query("UPDATE cases SET detailed_response_at = ?, last_reporter_mail_at = ? WHERE id = ?")
            .bind(stamp(now))
            .bind(stamp(now))
            .bind(&case.id)
            .execute(&mut **tx)
            .await?;
        event(
            tx,
            Some(&case.id),
            now,
            actor,
            "detailed-response",
            json!({}),
            Some(message),
        )
        .await?;
    } else {
        sqlx::query("UPDATE cases SET last_reporter_mail_at = ? WHERE id = ?")
            .bind(stamp(now))
            .bind(&case.id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Tells the coordinator (or the team when nobody is assigned) that someone wrote in the case.
async fn notify_team_of_message(
    tx: &mut crate::store::WriteTx,
    app: &App,
    case: &CaseRow,
    from: &str,
    m: &Incoming,
    facts: &Facts,
    now: DateTime<Utc>,
) -> Result<()> {
    let to = case
        .coordinator
        .as_deref()
        .and_then(|c| crate::address::Address::parse(c).ok())
        .unwrap_or_else(|| app.notify.clone());
    let tag = CaseId::parse(&case.id).map(|c| c.tag()).unwrap_or_default();
    let notice = crate::outbox::templates::ctx::FollowUpNotice {
        case_id: case.id.clone(),
        subject: case.subject.clone(),
        sender: from.to_string(),
        state: case.state.clone(),
        attachments: facts.attachments.clone(),
        excerpt: facts.excerpt.clone(),
    };
    let r = super::commands::render_mail(tx, app, Some(&case.id), &notice, now).await?;
    let mut refs = m.references.clone();
    refs.extend(m.message_id.clone());
    enqueue(
        tx,
        app,
        &Draft::internal(
            Some(case.id.clone()),
            "follow-up-notice",
            vec![to],
            tagged_subject(&tag, &r.subject),
            r.body,
        )
        .replying_to(m.message_id.clone(), refs),
        now,
    )
    .await?;
    Ok(())
}

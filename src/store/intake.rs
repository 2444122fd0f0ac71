//! Storing incoming mail: the raw message, the IMAP cursor, and saving the plan of one
//! message (case row, message, events, outbox rows) inside the batch's transaction.

use chrono::{DateTime, Utc};
use rusqlite::params;
use serde_json::json;

use super::outbox::{enqueue, event, Queued};
use super::{Result, Store};
use crate::analysis::Facts;
use crate::case::plan::{Event, Plan};
use crate::clock::stamp;
use crate::message::Incoming;
use crate::outbox::compose::Identity;
use crate::outbox::render::Rendered;

/// Where the batch came from (saved as the cursor in the same transaction).
#[derive(Debug, Clone)]
pub struct Source {
    pub mailbox: String,
    pub uidvalidity: u32,
    /// Mail that reached the mailbox before this time is history: stored and threaded,
    /// never answered.
    pub history_before: Option<DateTime<Utc>>,
}

impl Source {
    /// Mail read from files (`secintake import`): no IMAP cursor to move.
    pub fn import() -> Source {
        Source {
            mailbox: IMPORT.into(),
            uidvalidity: 0,
            history_before: None,
        }
    }

    /// Whether mail that reached the mailbox at `arrived` is history.
    pub fn is_history(&self, arrived: DateTime<Utc>) -> bool {
        self.history_before.is_some_and(|line| arrived < line)
    }

    /// An archive read with `secintake import --history`: all of it is history.
    pub fn history() -> Source {
        Source {
            history_before: Some(DateTime::<Utc>::MAX_UTC),
            ..Source::import()
        }
    }
}

pub const IMPORT: &str = "(import)";

/// What a batch did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BatchOutcome {
    pub stored: usize,
    pub duplicates: usize,
    pub new_cases: Vec<String>,
    pub in_case: usize,
    pub automatic: usize,
    /// New cases opened as history (no mail sent).
    pub history: usize,
}

/// What happened to one message (for logs and metrics).
#[derive(Debug, Clone)]
pub struct MessageOutcome {
    pub uid: u32,
    pub case_id: Option<String>,
    pub kind: &'static str,
}

pub fn sha256_hex(raw: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, raw))
}

/// The stored IMAP cursor: (uidvalidity, last_uid).
pub async fn cursor(store: &Store, mailbox: &str) -> Result<Option<(u32, u32)>> {
    let r: Option<(i64, i64)> = sqlx::query_as("SELECT uidvalidity, last_uid FROM imap_cursor WHERE mailbox = ?")
        .bind(mailbox)
        .fetch_optional(&store.pool)
        .await?;
    Ok(r.map(|(v, u)| (v as u32, u as u32)))
}

pub fn save_cursor(tx: &crate::store::WriteTx, src: &Source, last_uid: u32, now: DateTime<Utc>) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO imap_cursor (mailbox, uidvalidity, last_uid, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(mailbox) DO UPDATE SET
           last_uid = CASE WHEN imap_cursor.uidvalidity = excluded.uidvalidity
                           THEN MAX(imap_cursor.last_uid, excluded.last_uid) ELSE excluded.last_uid END,
           uidvalidity = excluded.uidvalidity, updated_at = excluded.updated_at",
    )?
    .execute(params![
        src.mailbox,
        i64::from(src.uidvalidity),
        i64::from(last_uid),
        stamp(now)
    ])?;
    Ok(())
}

/// Records a UIDVALIDITY change: the cursor restarts at 0 (dedupe makes the re-scan safe).
pub async fn reset_cursor(store: &Store, src: &Source, now: DateTime<Utc>) -> Result<()> {
    let mut tx = store.write().await?;
    tx.execute("DELETE FROM imap_cursor WHERE mailbox = ?", [&src.mailbox])?;
    save_cursor(&tx, src, 0, now)?;
    event(
        &mut tx,
        None,
        now,
        "secintake",
        crate::case::event::EventKind::UidvalidityChanged,
        json!({"mailbox": src.mailbox, "uidvalidity": src.uidvalidity}),
        None,
    );
    tx.commit().await?;
    Ok(())
}

/// One incoming message to store.
#[derive(Debug, Clone, Copy)]
pub struct NewMessage<'a> {
    /// The mailbox it came from (and its UIDVALIDITY).
    pub source: &'a Source,
    pub uid: u32,
    pub raw: &'a [u8],
    /// Only the header was fetched.
    pub truncated: bool,
    pub size: u64,
    pub sha256: &'a str,
    pub dedupe_key: &'a str,
    pub message: &'a Incoming,
    pub facts: &'a Facts,
    /// report, follow-up, coordinator, third-party, own, or the automatic kind.
    pub kind: &'a str,
    /// The case it threads into, when its plan changes no case.
    pub case_id: Option<&'a str>,
    /// When it reached the mailbox.
    pub received_at: DateTime<Utc>,
    /// When it is stored (now).
    pub stored_at: DateTime<Utc>,
    /// The sender's own words, for the full-text index (computed before the transaction).
    pub search_text: &'a str,
    /// What the similar-case scorer reads of a report that opens a case.
    pub report_text: &'a str,
    /// `none`, `pgp-mime` or `pgp-inline`.
    pub encryption: &'a str,
    /// The signature verdict, when signed.
    pub signature: Option<&'a str>,
    /// The decrypted copy, stored beside the raw bytes.
    pub decrypted: Option<&'a [u8]>,
    /// The sender's keys it offered.
    pub learned: &'a [(crate::pgp::PublicKey, crate::pgp::KeySource)],
}

/// Stores a message (in case `case_id`) and its Message-ID's thread entry.
pub fn insert_message(tx: &crate::store::WriteTx, case_id: Option<&str>, n: &NewMessage<'_>) -> Result<i64> {
    let (m, src, raw) = (n.message, n.source, n.raw);
    let piecewise = raw.len() > super::blob::PIECEWISE_ABOVE;
    let id: i64 = tx
        .prepare_cached(
            "INSERT INTO messages (case_id, dedupe_key, message_id, mailbox, uidvalidity, uid, received_at,
            from_addr, from_name, subject, date_header, in_reply_to, refs, kind, size, sha256, raw, truncated, analysis,
            stored_at, encryption, signature)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )?
        .query_row(
            params![
                case_id,
                n.dedupe_key,
                m.message_id,
                src.mailbox,
                i64::from(src.uidvalidity),
                i64::from(n.uid),
                stamp(n.received_at),
                m.from.as_ref().map(|f| f.address.to_string()),
                m.from.as_ref().and_then(|f| f.name.clone()),
                crate::sanitize::header_text(&m.subject),
                m.date.map(stamp),
                m.in_reply_to.first(),
                m.references.join(" "),
                n.kind,
                n.size as i64,
                n.sha256,
                // A large message's bytes go into large_raw, piece by piece (below).
                if piecewise { &[][..] } else { raw },
                n.truncated,
                serde_json::to_string(n.facts).expect("facts serialise"),
                stamp(n.stored_at),
                n.encryption,
                n.signature,
            ],
            |r| r.get(0),
        )?;
    if let Some(mime) = n.decrypted {
        super::keys::save_decrypted(tx, id, mime, n.stored_at)?;
    }
    if let (Some(from), false) = (&m.from, n.learned.is_empty()) {
        super::keys::learn(tx, from.address.as_str(), n.learned, Some(id), n.stored_at)?;
    }
    if n.encryption != "none" {
        // Once anything of a case arrived encrypted, its text never leaves in clear.
        if let Some(case) = case_id {
            tx.prepare_cached("UPDATE cases SET encryption = ? WHERE id = ? AND encryption = 'none'")?
                .execute(params![n.encryption, case])?;
        }
    }
    if piecewise {
        tx.prepare_cached("INSERT INTO large_raw (message_id, raw) VALUES (?, ?)")?
            .execute(params![id, super::blob::placeholder(raw.len())?])?;
        super::blob::fill(tx, "large_raw", "raw", id, raw)?;
    }
    if let (Some(case), Some(mid)) = (case_id, &m.message_id) {
        tx.prepare_cached("INSERT OR IGNORE INTO message_ids (message_id, case_id) VALUES (?, ?)")?
            .execute(params![mid, case])?;
    }
    Ok(id)
}

/// A rendered mail of a plan, with the event to record once it is queued.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub mail: Rendered,
    pub when_queued: Option<Event>,
}

/// How the plan's mail is sent: as whom, and the cap on automatic mail per address and day.
#[derive(Debug, Clone, Copy)]
pub struct Sending<'a> {
    pub identity: &'a Identity,
    pub daily_cap: u32,
    /// The team channels the plan's alerts go to.
    pub channels: &'a [crate::channels::Channel],
    /// The plan's case arrived encrypted: no alert carries its subject.
    pub confidential: bool,
}

fn record(tx: &mut crate::store::WriteTx, e: &Event, message: Option<i64>, now: DateTime<Utc>) {
    tx.push_event(crate::store::PendingEvent {
        case_id: e.case.clone(),
        at: stamp(now),
        actor: e.actor.clone(),
        kind: e.kind.name(),
        detail: e.detail.to_string(),
        message: if e.about_message { message } else { None },
    });
}

/// The full-text index rows of what the plan saves, in the same transaction: a new case's
/// subject and report text, and the message's own words.
fn index_plan(
    tx: &mut crate::store::WriteTx,
    plan: &Plan,
    message: Option<&NewMessage<'_>>,
    case_id: Option<&str>,
    mid: Option<i64>,
    now: DateTime<Utc>,
) -> Result<()> {
    use crate::search::index;
    let mut opened: Option<(String, &str)> = None;
    if let Some(crate::case::plan::CaseWrite::Open(c, _)) = &plan.case {
        let id = c.id.to_string();
        let opened_at = stamp(c.opened_at);
        tx.push_index(index::Entry::subject(&id, &opened_at, &c.file.reporter, &c.subject));
        opened = Some((id, c.subject.as_str()));
    }
    // The report of a case that opens: the scorer's text of the case, kept once.
    let mut report = opened
        .zip(message)
        .map(|((id, subject), n)| (id, subject, n.report_text));
    if let (Some(n), Some(case_id)) = (message, case_id) {
        if n.kind != "own" && !n.search_text.trim().is_empty() {
            let sender = n
                .message
                .from
                .as_ref()
                .map(|f| f.address.to_string())
                .unwrap_or_default();
            let e = index::Entry {
                case_id: case_id.to_string(),
                source: index::Source::Message,
                source_id: mid,
                at: stamp(n.received_at),
                sender,
                subject: crate::sanitize::header_text(&n.message.subject),
                body: n.search_text.to_string(),
            };
            let shared = report
                .as_ref()
                .is_some_and(|(id, _, text)| id == case_id && index::report_text_of(&e.body) == *text);
            match report.take_if(|_| shared) {
                Some((_, subject, _)) => tx.push_report_index(e, subject),
                None => tx.push_index(e),
            }
        }
    }
    if let Some((id, subject, text)) = report {
        index::save_report_text(tx, &id, subject, text)?;
    }
    for e in &plan.events {
        let text = e.detail.get("text").and_then(|t| t.as_str()).unwrap_or("");
        if e.kind == crate::case::event::EventKind::Change("note") && !text.trim().is_empty() {
            if let Some(case) = e.case.as_deref().or(case_id) {
                let note = index::Entry {
                    case_id: case.to_string(),
                    source: index::Source::Note,
                    source_id: None,
                    at: stamp(now),
                    sender: e.actor.clone(),
                    subject: String::new(),
                    body: text.to_string(),
                };
                tx.push_index(note);
            }
        }
    }
    Ok(())
}

/// Saves a plan in the caller's transaction: the case row, then the message (when there is
/// one, in the plan's case), its full-text index rows (when `index`, `search.index`), the
/// events, and the mails (already rendered, in the plan's order). Returns the stored
/// message's row id.
pub fn save_plan(
    tx: &mut crate::store::WriteTx,
    plan: &Plan,
    message: Option<&NewMessage<'_>>,
    mails: &[Outgoing],
    sending: Sending<'_>,
    index: bool,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    if let Some(w) = &plan.case {
        super::cases::save(tx, w)?;
    }
    let case_id = plan
        .case()
        .map(|c| c.id.to_string())
        .or_else(|| message.and_then(|n| n.case_id.map(str::to_string)));
    let mid = match message {
        Some(n) => Some(insert_message(tx, case_id.as_deref(), n)?),
        None => None,
    };
    if index {
        index_plan(tx, plan, message, case_id.as_deref(), mid, now)?;
    }
    for e in &plan.events {
        record(tx, e, mid, now);
    }
    for o in mails {
        let d = &o.mail.draft;
        if let Some(why) = &o.mail.fallback {
            tracing::warn!(kind = %d.kind, error = %why, "template override failed; used the built-in one");
            let detail = json!({"template": d.kind.as_str(), "error": why});
            event(
                tx,
                d.case_id.as_deref(),
                now,
                "secintake",
                crate::case::event::EventKind::TemplateFallback,
                detail,
                None,
            );
        }
        if let Queued::Row { .. } = enqueue(tx, sending.identity, sending.daily_cap, d, now)? {
            if let Some(e) = &o.when_queued {
                record(tx, e, mid, now);
            }
        }
    }
    // The team channels' deliveries, in the same transaction as their cause.
    for a in crate::channels::route::alerts(plan, now, sending.confidential) {
        crate::channels::queue::enqueue(tx, sending.channels, &a, now)?;
    }
    Ok(mid)
}

impl Store {
    /// Which of `uids` (in this mailbox and UIDVALIDITY) are already stored.
    pub async fn stored_uids(&self, mailbox: &str, uidvalidity: u32, uids: &[u32]) -> Result<Vec<u32>> {
        let mut out = Vec::new();
        for chunk in uids.chunks(500) {
            let list = chunk.iter().map(|u| u.to_string()).collect::<Vec<_>>().join(",");
            let sql = format!("SELECT uid FROM messages WHERE mailbox = ? AND uidvalidity = ? AND uid IN ({list})");
            let rows: Vec<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(mailbox)
                .bind(i64::from(uidvalidity))
                .fetch_all(&self.pool)
                .await?;
            out.extend(rows.into_iter().map(|(u,)| u as u32));
        }
        out.sort_unstable();
        Ok(out)
    }
}

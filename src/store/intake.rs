//! Ingestion: a batch of fetched messages and the IMAP cursor in one transaction.
//!
//! For each message: store the raw bytes (deduplicated on Message-ID, or the hash of the raw
//! bytes when it has none), analyse it, thread it, decide (pure), and write the case change,
//! the events and the outbox rows. All of the batch commits together with the cursor, or none.

use std::collections::HashSet;

use chrono::{DateTime, Datelike, Utc};
use serde_json::json;
use tracing::Instrument;

use super::outbox::{enqueue, event, Queued};
use super::{Result, Store};
use crate::address::Address;
use crate::analysis::{Facts, Missing};
use crate::app::App;
use crate::case::CaseId;
use crate::clock::stamp;
use crate::message::Incoming;
use crate::outbox::compose::{tagged_subject, Draft};
use crate::outbox::human_duration;
use crate::outbox::templates::ctx;
use crate::routing::{self, Route, Sender, ThreadCase};
use crate::store::commands::render_mail;

/// One message as fetched from IMAP.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub uid: u32,
    pub raw: Vec<u8>,
    /// Only the header was fetched: the message was over `imap.max_message_size`.
    pub truncated: bool,
    pub size: u64,
    /// When the mail server received it (INTERNALDATE), for the latency metric.
    pub arrived: Option<DateTime<Utc>>,
}

/// Where the batch came from (saved as the cursor in the same transaction).
#[derive(Debug, Clone)]
pub struct Source {
    pub mailbox: String,
    pub uidvalidity: u32,
}

impl Source {
    /// Mail read from files (`secintake import`): no IMAP cursor to move.
    pub fn import() -> Source {
        Source {
            mailbox: IMPORT.into(),
            uidvalidity: 0,
        }
    }
}

const IMPORT: &str = "(import)";

/// What a batch did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BatchOutcome {
    pub stored: usize,
    pub duplicates: usize,
    pub new_cases: Vec<String>,
    pub in_case: usize,
    pub automatic: usize,
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

async fn save_cursor(tx: &mut crate::store::WriteTx, src: &Source, last_uid: u32, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "INSERT INTO imap_cursor (mailbox, uidvalidity, last_uid, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(mailbox) DO UPDATE SET
           last_uid = CASE WHEN imap_cursor.uidvalidity = excluded.uidvalidity
                           THEN MAX(imap_cursor.last_uid, excluded.last_uid) ELSE excluded.last_uid END,
           uidvalidity = excluded.uidvalidity, updated_at = excluded.updated_at",
    )
    .bind(&src.mailbox)
    .bind(i64::from(src.uidvalidity))
    .bind(i64::from(last_uid))
    .bind(stamp(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records a UIDVALIDITY change: the cursor restarts at 0 (dedupe makes the re-scan safe).
pub async fn reset_cursor(store: &Store, src: &Source, now: DateTime<Utc>) -> Result<()> {
    let mut tx = store.write().await?;
    sqlx::query("DELETE FROM imap_cursor WHERE mailbox = ?")
        .bind(&src.mailbox)
        .execute(&mut *tx)
        .await?;
    save_cursor(&mut tx, src, 0, now).await?;
    event(
        &mut tx,
        None,
        now,
        "secintake",
        "uidvalidity-changed",
        json!({"mailbox": src.mailbox, "uidvalidity": src.uidvalidity}),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The case a message's threading headers or subject tag point at.
async fn find_thread(
    tx: &mut crate::store::WriteTx,
    m: &Incoming,
    automatic: bool,
    prefix: &str,
) -> Result<Option<ThreadCase>> {
    let mut case_id: Option<String> = None;
    for id in m.thread_ids(automatic) {
        let r: Option<(String,)> = sqlx::query_as("SELECT case_id FROM message_ids WHERE message_id = ?")
            .bind(&id)
            .fetch_optional(&mut **tx)
            .await?;
        if let Some((c,)) = r {
            case_id = Some(c);
            break;
        }
    }
    if case_id.is_none() {
        for tag in CaseId::find_tags(&m.subject, prefix) {
            let r: Option<(String,)> = sqlx::query_as("SELECT id FROM cases WHERE id = ?")
                .bind(tag.to_string())
                .fetch_optional(&mut **tx)
                .await?;
            if let Some((c,)) = r {
                case_id = Some(c);
                break;
            }
        }
    }
    let Some(id) = case_id else { return Ok(None) };
    let r: Option<(String, String)> = sqlx::query_as("SELECT id, reporter FROM cases WHERE id = ?")
        .bind(&id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(r.map(|(id, reporter)| ThreadCase { id, reporter }))
}

#[allow(clippy::too_many_arguments)]
async fn insert_message(
    tx: &mut crate::store::WriteTx,
    case_id: Option<&str>,
    key: &str,
    f: &Fetched,
    src: &Source,
    m: &Incoming,
    facts: &Facts,
    kind: &str,
    sha: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    let piecewise = f.raw.len() > super::blob::PIECEWISE_ABOVE;
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO messages (case_id, dedupe_key, message_id, mailbox, uidvalidity, uid, received_at,
            from_addr, from_name, subject, date_header, in_reply_to, refs, kind, size, sha256, raw, truncated, analysis)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(case_id)
    .bind(key)
    .bind(&m.message_id)
    .bind(&src.mailbox)
    .bind(i64::from(src.uidvalidity))
    .bind(i64::from(f.uid))
    .bind(stamp(now))
    .bind(m.from.as_ref().map(|f| f.address.to_string()))
    .bind(m.from.as_ref().and_then(|f| f.name.clone()))
    .bind(crate::sanitize::header_text(&m.subject))
    .bind(m.date.map(stamp))
    .bind(m.in_reply_to.first())
    .bind(m.references.join(" "))
    .bind(kind)
    .bind(f.size as i64)
    .bind(sha)
    // A large message's bytes go into large_raw, piece by piece (below).
    .bind(if piecewise { &[][..] } else { f.raw.as_slice() })
    .bind(f.truncated)
    .bind(serde_json::to_string(facts).expect("facts serialise"))
    .fetch_one(&mut **tx)
    .await?;
    if piecewise {
        sqlx::query("INSERT INTO large_raw (message_id, raw) VALUES (?, zeroblob(?))")
            .bind(id)
            .bind(f.raw.len() as i64)
            .execute(&mut **tx)
            .await?;
        super::blob::fill(tx, "large_raw", "raw", id, &f.raw).await?;
    }
    if let (Some(case), Some(mid)) = (case_id, &m.message_id) {
        sqlx::query("INSERT OR IGNORE INTO message_ids (message_id, case_id) VALUES (?, ?)")
            .bind(mid)
            .bind(case)
            .execute(&mut **tx)
            .await?;
    }
    Ok(id)
}

/// Thread headers for a reply to `m`.
fn reply_refs(m: &Incoming) -> (Option<String>, Vec<String>) {
    let mut refs = m.references.clone();
    if let Some(id) = &m.message_id {
        if !refs.contains(id) {
            refs.push(id.clone());
        }
    }
    (m.message_id.clone(), refs)
}

fn strs<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("serialise")
}

/// A fetched message with the pure work done: hashed, parsed and analysed. Preparing needs
/// no database, so it runs on other threads while the previous batch is being written.
#[derive(Debug)]
pub struct Prepared {
    pub fetched: Fetched,
    sha: String,
    message: Incoming,
    facts: Facts,
}

impl Prepared {
    /// What duplicates are recognised by: the Message-ID, or the hash of the raw bytes.
    pub fn dedupe_key(&self) -> String {
        self.message
            .message_id
            .clone()
            .unwrap_or_else(|| format!("sha256:{}", self.sha))
    }
}

/// The dedupe keys of `batch` that are stored already.
async fn already_stored(tx: &mut crate::store::WriteTx, batch: &[Prepared]) -> Result<HashSet<String>> {
    let keys: Vec<String> = batch.iter().map(Prepared::dedupe_key).collect();
    let mut known = HashSet::new();
    for chunk in keys.chunks(500) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new("SELECT dedupe_key FROM messages WHERE dedupe_key IN (");
        let mut list = q.separated(", ");
        for k in chunk {
            list.push_bind(k.as_str());
        }
        q.push(")");
        let rows: Vec<(String,)> = q.build_query_as().fetch_all(&mut **tx).await?;
        known.extend(rows.into_iter().map(|(k,)| k));
    }
    Ok(known)
}

/// Hashes, parses and analyses one message (CPU only).
pub fn prepare(app: &App, fetched: Fetched) -> Prepared {
    let sha = sha256_hex(&fetched.raw);
    // Parsing and analysis read hostile bytes: a panic there (a bug) must not become a
    // crash loop on the same message, so it is caught and the mail treated as unreadable.
    let (message, facts) = parse_and_analyze(app, &fetched.raw);
    Prepared {
        fetched,
        sha,
        message,
        facts,
    }
}

/// Prepares a batch on up to `threads` blocking threads, keeping its order.
pub async fn prepare_batch(
    app: &std::sync::Arc<App>,
    batch: Vec<Fetched>,
    threads: usize,
) -> std::result::Result<Vec<Prepared>, tokio::task::JoinError> {
    let per = batch.len().div_ceil(threads.max(1)).max(1);
    let mut parts: Vec<Vec<Fetched>> = Vec::new();
    let mut it = batch.into_iter().peekable();
    while it.peek().is_some() {
        parts.push(it.by_ref().take(per).collect());
    }
    let handles: Vec<_> = parts
        .into_iter()
        .map(|part| {
            let app = app.clone();
            tokio::task::spawn_blocking(move || part.into_iter().map(|f| prepare(&app, f)).collect::<Vec<_>>())
        })
        .collect();
    let mut out = Vec::new();
    for h in handles {
        out.extend(h.await?);
    }
    Ok(out)
}

/// Ingests one batch in one transaction. Returns what happened to each message.
pub async fn ingest_batch(
    store: &Store,
    app: &App,
    src: &Source,
    batch: &[Fetched],
) -> Result<(BatchOutcome, Vec<MessageOutcome>)> {
    let prepared: Vec<Prepared> = batch.iter().map(|f| prepare(app, f.clone())).collect();
    ingest_prepared(store, app, src, &prepared).await
}

/// Writes one prepared batch and the IMAP cursor in one transaction.
#[tracing::instrument(skip_all, fields(mailbox = %src.mailbox, n = batch.len()))]
pub async fn ingest_prepared(
    store: &Store,
    app: &App,
    src: &Source,
    batch: &[Prepared],
) -> Result<(BatchOutcome, Vec<MessageOutcome>)> {
    let now = app.clock.now();
    let mut tx = store.write().await?;
    // Which of the batch is stored already, in one lookup; the batch's own keys join as
    // they are stored, so a message twice in one batch is one message too.
    let mut stored_keys = already_stored(&mut tx, batch).await?;
    let mut out = BatchOutcome::default();
    let mut per = Vec::with_capacity(batch.len());
    let mut max_uid = 0;
    for p in batch {
        max_uid = max_uid.max(p.fetched.uid);
        let span = tracing::info_span!("message", uid = p.fetched.uid, case = tracing::field::Empty);
        let o = ingest_one(&mut tx, app, src, p, now, &mut out, &mut stored_keys)
            .instrument(span)
            .await?;
        per.push(o);
    }
    if src.mailbox != IMPORT {
        save_cursor(&mut tx, src, max_uid, now).await?;
    }
    tx.commit().await?;
    let done = app.clock.now();
    for (f, o) in batch.iter().map(|p| &p.fetched).zip(per.iter()) {
        crate::metrics::ingested(o.kind);
        if let Some(a) = f.arrived {
            crate::metrics::ingest_latency((done - a).num_milliseconds().max(0) as f64 / 1000.0);
        }
    }
    for _ in &out.new_cases {
        crate::metrics::case_opened();
    }
    Ok((out, per))
}

/// Parses and analyses `raw`; a panic inside either is caught and reported as a parse problem.
pub fn parse_and_analyze(app: &App, raw: &[u8]) -> (Incoming, crate::analysis::Facts) {
    let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let m = Incoming::parse(raw);
        let facts = app.analyzer.analyze(&m);
        (m, facts)
    }));
    attempt.unwrap_or_else(|_| {
        tracing::error!("the parser panicked on a message; it is stored as unreadable");
        let m = Incoming {
            parse_problem: Some("the parser failed on this message (a bug): stored as is".into()),
            ..Default::default()
        };
        let facts = app.analyzer.analyze(&m);
        (m, facts)
    })
}

/// Stores and handles one message inside the batch's transaction.
async fn ingest_one(
    tx: &mut crate::store::WriteTx,
    app: &App,
    src: &Source,
    p: &Prepared,
    now: DateTime<Utc>,
    out: &mut BatchOutcome,
    stored_keys: &mut HashSet<String>,
) -> Result<MessageOutcome> {
    let Prepared {
        fetched: f,
        sha,
        message: m,
        facts,
    } = p;
    let key = p.dedupe_key();
    if !stored_keys.insert(key.clone()) {
        tracing::info!("already stored; skipped");
        out.duplicates += 1;
        return Ok(MessageOutcome {
            uid: f.uid,
            case_id: None,
            kind: "duplicate",
        });
    }
    let thread = find_thread(tx, m, facts.auto.is_some(), &app.settings.policy.case_prefix).await?;
    // Our own Message-IDs all start with `<secintake.`: only those can be our mail.
    let own: Option<(i64,)> = match m.message_id.as_ref().filter(|id| id.starts_with("<secintake.")) {
        Some(mid) => {
            sqlx::query_as("SELECT id FROM outbox WHERE message_id = ?")
                .bind(mid)
                .fetch_optional(&mut **tx)
                .await?
        }
        None => None,
    };
    let route = routing::route(
        m,
        facts,
        thread.as_ref(),
        own.is_some(),
        app.list_address.as_str(),
        |a| app.is_coordinator(a),
    );
    out.stored += 1;
    let (case_id, kind) = match route {
        Route::NewCase { reporter, answer } => {
            let id = open_case(tx, app, f, src, m, facts, &key, sha, reporter, answer, now).await?;
            out.new_cases.push(id.clone());
            (Some(id), "report")
        }
        Route::InCase { case_id, sender } => {
            out.in_case += 1;
            let kind = match sender {
                Sender::Reporter => "follow-up",
                Sender::Coordinator => "coordinator",
                Sender::Other => "third-party",
            };
            let mid = insert_message(tx, Some(&case_id), &key, f, src, m, facts, kind, sha, now).await?;
            crate::store::cases::message_in_case(tx, app, &case_id, sender, m, facts, mid, now).await?;
            (Some(case_id), kind)
        }
        Route::Automatic { case_id, kind } => {
            out.automatic += 1;
            let mid = insert_message(tx, case_id.as_deref(), &key, f, src, m, facts, kind.as_str(), sha, now).await?;
            event(
                tx,
                case_id.as_deref(),
                now,
                &sender_of(m),
                &format!("{}-received", kind.as_str()),
                json!({"subject": crate::sanitize::header_text(&m.subject)}),
                Some(mid),
            )
            .await?;
            (case_id, kind.as_str())
        }
        Route::Own { case_id } => {
            insert_message(tx, case_id.as_deref(), &key, f, src, m, facts, "own", sha, now).await?;
            (case_id, "own")
        }
    };
    if let Some(c) = &case_id {
        tracing::Span::current().record("case", c.as_str());
    }
    tracing::info!(kind, size = f.size, "stored");
    Ok(MessageOutcome {
        uid: f.uid,
        case_id,
        kind,
    })
}

fn sender_of(m: &Incoming) -> String {
    m.from
        .as_ref()
        .map(|f| f.address.to_string())
        .unwrap_or_else(|| "unknown".into())
}

#[allow(clippy::too_many_arguments)]
async fn open_case(
    tx: &mut crate::store::WriteTx,
    app: &App,
    f: &Fetched,
    src: &Source,
    m: &Incoming,
    facts: &Facts,
    key: &str,
    sha: &str,
    reporter: Option<Address>,
    answer: bool,
    now: DateTime<Utc>,
) -> Result<String> {
    let prefix = &app.settings.policy.case_prefix;
    let year = now.year();
    let (seq,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(seq), 0) + 1 FROM cases WHERE year = ?")
        .bind(year)
        .fetch_one(&mut **tx)
        .await?;
    let id = CaseId::new(prefix, year, seq as u32).to_string();
    let subject = crate::sanitize::header_text(&m.subject);
    let reporter_name = m
        .from
        .as_ref()
        .filter(|fm| reporter.as_ref().is_some_and(|r| *r == fm.address))
        .and_then(|fm| fm.name.clone());
    let missing: Vec<&str> = facts.missing.iter().map(|x| x.as_str()).collect();
    sqlx::query(
        "INSERT INTO cases (id, year, seq, state, reporter, reporter_name, subject, opened_at, updated_at,
            body_check, missing, flags, hints, state_since)
         VALUES (?, ?, ?, 'new', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&id)
    .bind(year)
    .bind(seq)
    .bind(reporter.as_ref().map(|r| r.to_string()).unwrap_or_default())
    .bind(&reporter_name)
    .bind(&subject)
    .bind(stamp(now))
    .bind(stamp(now))
    .bind(facts.body_check.as_str())
    .bind(strs(&missing))
    .bind(strs(&facts.flags))
    .bind(strs(&facts.hints))
    .bind(stamp(now))
    .execute(&mut **tx)
    .await?;
    let mid = insert_message(tx, Some(&id), key, f, src, m, facts, "report", sha, now).await?;
    let actor = reporter
        .as_ref()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "unknown".into());
    event(
        tx,
        Some(&id),
        now,
        &actor,
        "opened",
        json!({"body_check": facts.body_check, "missing": missing, "flags": facts.flags}),
        Some(mid),
    )
    .await?;
    if f.truncated {
        event(
            tx,
            Some(&id),
            now,
            "secintake",
            "oversized",
            json!({"size": f.size, "kept": "header only"}),
            Some(mid),
        )
        .await?;
    }
    if let Some(problem) = &m.parse_problem {
        event(
            tx,
            Some(&id),
            now,
            "secintake",
            "parse-problem",
            json!({"problem": problem}),
            Some(mid),
        )
        .await?;
    }
    let tag = CaseId::parse(&id).expect("own id").tag();
    let policy = &app.settings.policy;
    let (irt, refs) = reply_refs(m);
    let public = facts.has_flag("premature-disclosure");
    if let (true, Some(rep)) = (answer, &reporter) {
        let requests: Vec<String> = facts
            .missing
            .iter()
            .map(|x: &Missing| x.request().to_string())
            .collect();
        let receipt = ctx::ToReporter {
            base: ctx::ReporterBase {
                case_id: id.clone(),
                subject: subject.clone(),
                reporter_name: reporter_name.clone(),
                team_name: app.team_name(),
            },
            mail: ctx::Receipt {
                case_tag: tag.clone(),
                reporter: rep.to_string(),
                acknowledge_within: human_duration(policy.acknowledge_within),
                detailed_response_within: human_duration(policy.detailed_response_within),
                body_check: facts.body_check.as_str().to_string(),
                missing: requests,
                missing_items: facts.missing.iter().map(|x| x.as_str().to_string()).collect(),
                premature_disclosure: public,
                ask_credit: true,
                // Credit goes to a name, never to the address: without a display name we ask.
                credit_name: reporter_name
                    .clone()
                    .filter(|n| !n.trim().is_empty() && !n.contains('@')),
            },
        };
        let r = render_mail(tx, app, Some(&id), &receipt, now).await?;
        let draft = Draft {
            case_id: Some(id.clone()),
            kind: "receipt",
            to: vec![rep.clone()],
            subject: tagged_subject(&tag, &r.subject),
            body: r.body,
            in_reply_to: irt.clone(),
            references: refs.clone(),
            auto_submitted: "auto-replied",
            automatic: true,
            to_reporter: true,
        };
        if let Queued::Row { .. } = enqueue(tx, app, &draft, now).await? {
            event(
                tx,
                Some(&id),
                now,
                "secintake",
                "receipt-queued",
                json!({"to": rep}),
                None,
            )
            .await?;
        }
    }
    let notice = ctx::NewCaseNotice {
        case_id: id.clone(),
        subject: subject.clone(),
        reporter: reporter
            .as_ref()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "(unknown sender)".into()),
        reporter_name: reporter_name.clone(),
        opened_at: stamp(now),
        body_check: facts.body_check.as_str().to_string(),
        missing: missing.iter().map(|m| m.to_string()).collect(),
        flags: facts.flags.clone(),
        hints: facts.hints.clone(),
        attachments: facts.attachments.clone(),
        links: facts.links.clone(),
        premature_disclosure: public,
        public_links: facts.public_links.clone(),
        assign_within: human_duration(policy.assign_within),
        acknowledge_within: human_duration(policy.acknowledge_within),
        excerpt: facts.excerpt.clone(),
    };
    let r = render_mail(tx, app, Some(&id), &notice, now).await?;
    let notice = Draft::internal(
        Some(id.clone()),
        "notice",
        vec![app.notify.clone()],
        tagged_subject(&tag, &r.subject),
        r.body,
    )
    .replying_to(irt, refs);
    enqueue(tx, app, &notice, now).await?;
    Ok(id)
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

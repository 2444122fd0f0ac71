//! Ingestion: a prepared batch and the IMAP cursor in one transaction. For each message:
//! skip a duplicate, find its thread, route it, let the planner decide, render the mails
//! and save the plan. All of the batch commits together with the cursor, or none.

use std::collections::HashSet;

use chrono::Datelike;
use serde_json::json;

use super::prepare::{arrival, authenticate_all, prepare, Fetched, Prepared};
use crate::app::App;
use crate::case::plan::{self, Plan, Reply, Report};
use crate::routing::{self, Route, Sender};
use crate::store::intake::{save_cursor, BatchOutcome, MessageOutcome, NewMessage, Source, IMPORT};
use crate::store::thread::{already_stored, find_thread, is_own, next_case_id};
use crate::store::{cases, Result, Store, WriteTx};

/// Prepares and ingests one batch (mail read from files, tests).
pub async fn ingest_batch(
    store: &Store,
    app: &App,
    src: &Source,
    batch: &[Fetched],
) -> Result<(BatchOutcome, Vec<MessageOutcome>)> {
    let known = match app.pgp {
        Some(_) => store.learned_keys(app.clock.now()).await?,
        None => vec![],
    };
    let mut prepared: Vec<Prepared> = batch.iter().map(|f| prepare(app, f.clone(), &known)).collect();
    authenticate_all(app, &mut prepared).await;
    let mut cache = crate::search::index::SimilarCache::default();
    super::prepare::find_similar(store, app, &mut prepared, src, &mut cache);
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
    // Which of the batch is stored already; the batch's own keys join as they are stored,
    // so a message twice in one batch is one message too.
    let keys: Vec<String> = batch.iter().map(Prepared::dedupe_key).collect();
    let mut stored_keys = already_stored(&tx, &keys)?;
    let mut out = BatchOutcome::default();
    let mut per = Vec::with_capacity(batch.len());
    let mut max_uid = 0;
    // The writes are synchronous SQLite calls on this thread (a few milliseconds a message).
    for p in batch {
        max_uid = max_uid.max(p.fetched.uid);
        let span = tracing::info_span!("message", uid = p.fetched.uid, case = tracing::field::Empty);
        let _in = span.enter();
        per.push(ingest_one(&mut tx, app, src, p, now, &mut out, &mut stored_keys)?);
    }
    if src.mailbox != IMPORT {
        save_cursor(&tx, src, max_uid, now)?;
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

/// Plans and saves one message inside the batch's transaction.
fn ingest_one(
    tx: &mut WriteTx,
    app: &App,
    src: &Source,
    p: &Prepared,
    now: chrono::DateTime<chrono::Utc>,
    out: &mut BatchOutcome,
    stored_keys: &mut HashSet<String>,
) -> Result<MessageOutcome> {
    let (f, m, facts) = (&p.fetched, &p.message, &p.facts);
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
    let thread = find_thread(tx, m, facts.auto.is_some(), &app.settings.policy.case_prefix)?;
    let own = is_own(tx, m.message_id.as_deref())?;
    let route = routing::route(m, facts, thread.as_ref(), own, app.list_address.as_str(), |a| {
        app.is_coordinator(a)
    });
    out.stored += 1;
    let arrived = arrival(f, now);
    let history = src.is_history(arrived);
    let (plan, kind, case_id): (Plan, &'static str, Option<String>) = match route {
        Route::NewCase { reporter, answer } => {
            let id = next_case_id(tx, &app.settings.policy.case_prefix, arrived.year())?;
            let report = Report {
                message: m,
                facts,
                reporter,
                answer,
                oversized: f.truncated.then_some(f.size),
                arrived,
                acknowledge_due: app.policy.calendar.add(arrived, app.policy.acknowledge_within),
                encryption: p.openpgp.encryption,
                signature: p.openpgp.signature,
                similar: &p.similar,
            };
            let rules = app.rules(now, &[]);
            let plan = if history {
                out.history += 1;
                plan::on_history(id.clone(), &report, &rules)
            } else {
                plan::on_report(id.clone(), &report, &rules)
            };
            out.new_cases.push(id.to_string());
            (plan, "report", Some(id.to_string()))
        }
        Route::InCase { case_id, sender } => {
            out.in_case += 1;
            let kind = match sender {
                Sender::Reporter => "follow-up",
                Sender::Coordinator => "coordinator",
                Sender::Other => "third-party",
            };
            let case = cases::load(tx, &case_id)?;
            let targets: Vec<String> = p
                .commands
                .commands
                .iter()
                .filter_map(|c| match c {
                    crate::case::command::Command::Duplicate(of) => Some(of.to_string()),
                    _ => None,
                })
                .collect();
            let existing = cases::existing(tx, &targets)?;
            let author = m
                .author(app.list_address.as_str())
                .filter(|a| Some(a) != m.from.as_ref().map(|f| &f.address));
            let reply = Reply {
                message: m,
                facts,
                sender,
                verdict: p.verdict.as_ref(),
                author: author.as_ref(),
                commands: &p.commands,
            };
            let plan = if history {
                plan::on_history_reply(&case, &reply)
            } else {
                plan::on_reply(&case, &reply, &app.rules(now, &existing))
            };
            (plan, kind, Some(case_id))
        }
        Route::Automatic { case_id, kind } => {
            out.automatic += 1;
            let from = m
                .from
                .as_ref()
                .map(|f| f.address.to_string())
                .unwrap_or_else(|| "unknown".into());
            let plan = Plan {
                case: None,
                events: vec![plan::Event {
                    case: case_id.clone(),
                    actor: from,
                    kind: crate::case::event::EventKind::Received(kind),
                    detail: json!({"subject": crate::sanitize::header_text(&m.subject)}),
                    about_message: true,
                }],
                mails: vec![],
            };
            (plan, kind.as_str(), case_id)
        }
        Route::Own { case_id } => (Plan::default(), "own", case_id),
    };
    let message = NewMessage {
        source: src,
        uid: f.uid,
        raw: &f.raw,
        truncated: f.truncated,
        size: f.size,
        sha256: &p.sha,
        dedupe_key: &key,
        message: m,
        facts,
        kind,
        case_id: case_id.as_deref(),
        received_at: arrived,
        stored_at: now,
        search_text: &p.search_text,
        report_text: &p.report_text,
        encryption: p.openpgp.encryption.as_str(),
        signature: p.openpgp.signature.map(|v| v.as_str()),
        decrypted: p.openpgp.decrypted.as_deref(),
        learned: &p.openpgp.learned,
    };
    app.save_plan(tx, &plan, Some(&message), now)?;
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

//! Which case a message belongs to, before it is planned: duplicates, the thread its
//! headers or subject tag point at, our own mail coming back, the next case id.

use std::collections::HashSet;

use rusqlite::OptionalExtension;

use super::{Result, WriteTx};
use crate::case::CaseId;
use crate::message::Incoming;
use crate::routing::ThreadCase;

/// The case a message's threading headers or subject tag point at.
pub fn find_thread(tx: &WriteTx, m: &Incoming, automatic: bool, prefix: &str) -> Result<Option<ThreadCase>> {
    let mut case_id: Option<String> = None;
    let mut by_mid = tx.prepare_cached("SELECT case_id FROM message_ids WHERE message_id = ?")?;
    for id in m.thread_ids(automatic) {
        if let Some(c) = by_mid.query_row([&id], |r| r.get::<_, String>(0)).optional()? {
            case_id = Some(c);
            break;
        }
    }
    let mut case = tx.prepare_cached("SELECT id, reporter FROM cases WHERE id = ?")?;
    if case_id.is_none() {
        for tag in CaseId::find_tags(&m.subject, prefix) {
            if let Some(c) = case
                .query_row([tag.to_string()], |r| r.get::<_, String>(0))
                .optional()?
            {
                case_id = Some(c);
                break;
            }
        }
    }
    let Some(id) = case_id else { return Ok(None) };
    Ok(case
        .query_row([&id], |r| {
            Ok(ThreadCase {
                id: r.get(0)?,
                reporter: r.get(1)?,
            })
        })
        .optional()?)
}

/// The dedupe keys among `keys` that are stored already.
pub fn already_stored(tx: &WriteTx, keys: &[String]) -> Result<HashSet<String>> {
    let mut known = HashSet::new();
    let mut q = tx.prepare_cached("SELECT 1 FROM messages WHERE dedupe_key = ?")?;
    for k in keys {
        if q.exists([k])? {
            known.insert(k.clone());
        }
    }
    Ok(known)
}

/// Is `message_id` one of our own outbox rows?
pub fn is_own(tx: &WriteTx, message_id: Option<&str>) -> Result<bool> {
    // Our own Message-IDs all start with `<secintake.`: only those can be our mail.
    let Some(mid) = message_id.filter(|id| id.starts_with("<secintake.")) else {
        return Ok(false);
    };
    Ok(tx
        .prepare_cached("SELECT 1 FROM outbox WHERE message_id = ?")?
        .exists([mid])?)
}

/// The id the next case opened in `year` gets.
pub fn next_case_id(tx: &WriteTx, prefix: &str, year: i32) -> Result<CaseId> {
    let seq: i64 = tx
        .prepare_cached("SELECT COALESCE(MAX(seq), 0) + 1 FROM cases WHERE year = ?")?
        .query_row([year], |r| r.get(0))?;
    Ok(CaseId::new(prefix, year, seq as u32))
}

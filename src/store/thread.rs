//! Which case a message belongs to, before it is planned: duplicates, the thread its
//! headers or subject tag point at, our own mail coming back, the next case id.

use std::collections::HashSet;

use super::{Result, WriteTx};
use crate::case::CaseId;
use crate::message::Incoming;
use crate::routing::ThreadCase;

/// The case a message's threading headers or subject tag point at.
pub async fn find_thread(tx: &mut WriteTx, m: &Incoming, automatic: bool, prefix: &str) -> Result<Option<ThreadCase>> {
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

/// The dedupe keys among `keys` that are stored already.
pub async fn already_stored(tx: &mut WriteTx, keys: &[String]) -> Result<HashSet<String>> {
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

/// Is `message_id` one of our own outbox rows?
pub async fn is_own(tx: &mut WriteTx, message_id: Option<&str>) -> Result<bool> {
    // Our own Message-IDs all start with `<secintake.`: only those can be our mail.
    let Some(mid) = message_id.filter(|id| id.starts_with("<secintake.")) else {
        return Ok(false);
    };
    let r: Option<(i64,)> = sqlx::query_as("SELECT id FROM outbox WHERE message_id = ?")
        .bind(mid)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(r.is_some())
}

/// The id the next case opened in `year` gets.
pub async fn next_case_id(tx: &mut WriteTx, prefix: &str, year: i32) -> Result<CaseId> {
    let (seq,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(seq), 0) + 1 FROM cases WHERE year = ?")
        .bind(year)
        .fetch_one(&mut **tx)
        .await?;
    Ok(CaseId::new(prefix, year, seq as u32))
}

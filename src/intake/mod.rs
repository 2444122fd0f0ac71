//! IMAP intake: fetch new mail by UID, ingest it in transactions, then mark it `\Seen`.

pub mod archive;
pub mod history;
pub mod imap;
pub mod ingest;
pub mod prepare;
pub mod tls;

use std::collections::HashMap;
use std::sync::Arc;

pub use imap::{Connection, ImapError};

use crate::app::App;
use crate::store::blob::{PIECE, PIECEWISE_ABOVE};
use crate::store::intake::{cursor, reset_cursor, BatchOutcome, Source};
use crate::store::{Store, StoreError};
use ingest::ingest_prepared;
use prepare::{prepare_batch, Fetched, Prepared};

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Imap(#[from] ImapError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A preparing thread died (parser panics are caught inside, so this is not a message's fault).
    #[error("preparing a batch failed: {0}")]
    Worker(#[from] tokio::task::JoinError),
}

/// Most bytes fetched into memory for one batch.
const BATCH_BYTES: u64 = 8 << 20;

/// Groups UIDs into batches of at most `max_n` messages and about `BATCH_BYTES`.
pub fn plan_batches(uids: &[u32], sizes: &HashMap<u32, u64>, max_n: usize, max_size: u64) -> Vec<(Vec<u32>, bool)> {
    let mut out: Vec<(Vec<u32>, bool)> = Vec::new();
    let mut cur: Vec<u32> = Vec::new();
    let mut bytes = 0u64;
    for &u in uids {
        let size = sizes.get(&u).copied().unwrap_or(0);
        if size > max_size {
            if !cur.is_empty() {
                out.push((std::mem::take(&mut cur), false));
                bytes = 0;
            }
            out.push((vec![u], true)); // header only
            continue;
        }
        if !cur.is_empty() && (cur.len() >= max_n || bytes + size > BATCH_BYTES) {
            out.push((std::mem::take(&mut cur), false));
            bytes = 0;
        }
        cur.push(u);
        bytes += size;
    }
    if !cur.is_empty() {
        out.push((cur, false));
    }
    out
}

/// `imap.history_before` for `mailbox`: mail that reached it before this time is history.
/// With `first-start` the line is the moment this database first read the mailbox, kept in
/// `service_state` so it stays put across restarts; a database that read the mailbox before
/// this setting existed (an upgrade) has no history to hold back.
pub async fn history_line(
    store: &Store,
    app: &App,
    mailbox: &str,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
    use crate::config::HistoryBefore;
    use chrono::Timelike;
    match app.settings.imap.history_before {
        HistoryBefore::Nothing => Ok(None),
        HistoryBefore::At(t) => Ok(Some(t)),
        HistoryBefore::FirstStart => {
            let key = format!("history_before:{mailbox}");
            if let Some(v) = store.service_value(&key).await? {
                return Ok(crate::clock::parse_stamp(&v));
            }
            let now = app.clock.now();
            // To the second: INTERNALDATE has no fractions, so mail that reaches the mailbox in
            // the very second of the first start reads as older than a line with milliseconds
            // and would be held back as history. Within that second it is answered instead.
            let line = match cursor(store, mailbox).await? {
                Some(_) => None,
                None => Some(now.with_nanosecond(0).unwrap_or(now)),
            };
            let value = line.map(crate::clock::stamp).unwrap_or_else(|| "none".into());
            store.set_service(&key, &value, now).await?;
            if let Some(t) = line {
                tracing::info!(before = %crate::clock::stamp(t), "first start on this mailbox: older mail is history");
            }
            Ok(line)
        }
    }
}

/// A batch on its way: the UIDs the server returned (only these are marked `\Seen` once
/// the batch committed), and its messages being prepared on other threads.
struct InFlight {
    uids: Vec<u32>,
    prepared: tokio::task::JoinHandle<Result<Vec<Prepared>, tokio::task::JoinError>>,
}

/// Ingests everything new in the mailbox. Each batch commits before its messages are
/// marked `\Seen`; on any error the pass stops and the rest is fetched again next time.
/// `stopping` is asked before each batch (graceful shutdown).
///
/// Batches are pipelined: while batch k is written to the database, batch k+1 is fetched,
/// and each fetched batch is parsed and analysed on blocking threads.
#[tracing::instrument(skip_all, fields(mailbox = conn.mailbox()))]
pub async fn drain(
    conn: &mut Connection,
    store: &Store,
    app: &Arc<App>,
    on_batch: &(dyn Fn(&BatchOutcome) + Sync),
    stopping: &(dyn Fn() -> bool + Sync),
) -> Result<BatchOutcome, IntakeError> {
    let src = Source {
        mailbox: conn.mailbox().to_string(),
        uidvalidity: conn.uidvalidity,
        history_before: history_line(store, app, conn.mailbox()).await?,
    };
    let mut last = match cursor(store, &src.mailbox).await? {
        Some((v, last)) if v == src.uidvalidity => last,
        Some((v, _)) => {
            tracing::warn!(
                old = v,
                new = src.uidvalidity,
                "UIDVALIDITY changed: re-scanning the mailbox (duplicates are skipped)"
            );
            reset_cursor(store, &src, app.clock.now()).await?;
            0
        }
        None => 0,
    };
    if !conn.reconciled {
        // A crash between a batch's commit and its \Seen leaves stored mail unseen: mark it now.
        let unseen = conn.unseen_upto(last).await?;
        let stored = store.stored_uids(&src.mailbox, src.uidvalidity, &unseen).await?;
        if !stored.is_empty() {
            tracing::info!(n = stored.len(), "marking already stored messages \\Seen");
            conn.mark_seen(&stored).await?;
        }
        conn.reconciled = true;
    }
    let mut total = BatchOutcome::default();
    let s = &app.settings.imap;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    // Up to two batches in flight: the older one is written while the newer one is
    // prepared and the next is fetched.
    let mut in_flight: std::collections::VecDeque<InFlight> = std::collections::VecDeque::new();
    // The similar-case lookups of every batch of this pass share what they read.
    let similar = std::sync::Arc::new(tokio::sync::Mutex::new(crate::search::index::SimilarCache::default()));
    // Writes a prepared batch, then marks it \Seen.
    let src = &src;
    let finish = |f: InFlight| async move {
        let prepared = f.prepared.await??;
        let (outcome, _) = ingest_prepared(store, app, src, &prepared).await?;
        drop(prepared);
        Ok::<_, IntakeError>((f.uids, outcome))
    };
    let add = |outcome: BatchOutcome, total: &mut BatchOutcome| {
        on_batch(&outcome);
        total.stored += outcome.stored;
        total.duplicates += outcome.duplicates;
        total.in_case += outcome.in_case;
        total.automatic += outcome.automatic;
        total.history += outcome.history;
        total.new_cases.extend(outcome.new_cases);
    };
    'scan: loop {
        let uids = conn.uids_after(last).await?;
        if uids.is_empty() {
            break;
        }
        // Work through at most a few hundred at a time so progress is saved steadily.
        let chunk: Vec<u32> = uids.into_iter().take(500).collect();
        let sizes = conn.sizes(&chunk).await?;
        for (batch, header_only) in plan_batches(&chunk, &sizes, s.batch_size, s.max_message_size) {
            if stopping() {
                // Shutting down: the batches done are committed and marked; the rest stays
                // untouched on the server for the next start.
                break 'scan;
            }
            // Fetch this batch while an older one is written.
            let previous = if in_flight.len() >= 2 {
                in_flight.pop_front().map(&finish)
            } else {
                None
            };
            let fetch = async {
                match batch.as_slice() {
                    // A large message alone in its batch comes in pieces (bounded memory).
                    [uid] if !header_only && sizes.get(uid).is_some_and(|s| *s > PIECEWISE_ABOVE as u64) => {
                        let size = sizes[uid];
                        Ok(conn.fetch_in_pieces(*uid, size, PIECE).await?.into_iter().collect())
                    }
                    _ => conn.fetch(&batch, header_only).await,
                }
            };
            let (fetched, written) = tokio::join!(fetch, async {
                match previous {
                    Some(p) => Some(p.await),
                    None => None,
                }
            });
            if let Some(written) = written {
                let (uids, outcome) = written?;
                conn.mark_seen(&uids).await?;
                add(outcome, &mut total);
            }
            let msgs: Vec<Fetched> = fetched?
                .into_iter()
                .map(|(uid, raw, arrived)| Fetched {
                    uid,
                    size: sizes.get(&uid).copied().unwrap_or(raw.len() as u64),
                    raw,
                    truncated: header_only,
                    arrived,
                })
                .collect();
            let max = batch.iter().copied().max().unwrap_or(last);
            last = max;
            if msgs.is_empty() {
                continue; // expunged between SEARCH and FETCH
            }
            let known = std::sync::Arc::new(match app.pgp {
                Some(_) => store.learned_keys(app.clock.now()).await?,
                None => vec![],
            });
            let (app, store, similar, src) = (app.clone(), store.clone(), similar.clone(), src.clone());
            in_flight.push_back(InFlight {
                // Not `batch`: a UID asked for but not returned was not stored.
                uids: msgs.iter().map(|m| m.uid).collect(),
                prepared: tokio::spawn(async move {
                    let mut prepared = prepare_batch(&app, msgs, threads, known).await?;
                    // Synchronous SQLite reads: on a blocking thread.
                    tokio::task::spawn_blocking(move || {
                        prepare::find_similar(&store, &app, &mut prepared, &src, &mut similar.blocking_lock());
                        prepared
                    })
                    .await
                }),
            });
        }
    }
    while let Some(f) = in_flight.pop_front() {
        let (uids, outcome) = finish(f).await?;
        conn.mark_seen(&uids).await?;
        add(outcome, &mut total);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_count_size_and_oversize() {
        let big = BATCH_BYTES * 2 / 3;
        let sizes: HashMap<u32, u64> = [(1, 10), (2, 10), (3, 100 << 20), (4, 10), (5, big), (6, big)].into();
        let b = plan_batches(&[1, 2, 3, 4, 5, 6], &sizes, 2, 64 << 20);
        assert_eq!(
            b,
            vec![
                (vec![1, 2], false),
                (vec![3], true),
                (vec![4, 5], false),
                (vec![6], false)
            ]
        );
    }
}

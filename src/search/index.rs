//! The full-text index (SQLite FTS5) of every case: its SQL, and the writes and reads on it.
//!
//! One row per piece of text a case is made of: its subject, each message's own text (quotes
//! and signature left out), each note, each advisory description. Rows name their case; a
//! search ranks rows with BM25 and keeps each case's best row, for its snippet. Nothing here
//! decides what text goes in: the caller (the prepare stage) computes it.

use sqlx::sqlite::SqliteConnection;
use sqlx::Row;

use super::query::Query;

/// The index table. `case_id`, `source`, `source_id`, `at` and `sender` are stored, not
/// searched; `subject` and `body` are searched (subject hits weigh more).
pub const CREATE_TABLE: &str = "CREATE VIRTUAL TABLE IF NOT EXISTS search_index USING fts5(
    case_id UNINDEXED,
    source UNINDEXED,
    source_id UNINDEXED,
    at UNINDEXED,
    sender UNINDEXED,
    subject,
    body,
    tokenize = 'unicode61 remove_diacritics 2'
)";

/// What the similar-case scorer reads of each case: its subject and the report's own text
/// (bounded by the writer), one row per case, read by key for a handful of candidates.
/// When the text is the start of the report's index row (almost always), `text` is '' and
/// `index_row` names that row: the text is stored once.
pub const CREATE_REPORT_TEXT: &str = "CREATE TABLE IF NOT EXISTS report_text (
    case_id TEXT PRIMARY KEY REFERENCES cases(id),
    subject TEXT NOT NULL,
    text    TEXT NOT NULL,
    index_row INTEGER
)";

/// Marks around each hit in a snippet (literal in [`SNIPPETS`]).
pub const HIT_START: &str = "**";
pub const HIT_END: &str = "**";

// BM25 column weights below are in column order; the unindexed columns never match, the
// subject weighs three times the body.

/// Each matching case's best row (SQLite returns the bare `row` of the min(rank) row), with
/// the case's summary, filtered and limited. ?1 MATCH text, ?2 state, ?3 since, ?4 limit.
const SEARCH: &str = "WITH hits AS MATERIALIZED (
         SELECT rowid AS row, case_id, bm25(search_index, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0, 1.0) AS rank
         FROM search_index WHERE search_index MATCH ?1
     ), best AS (
         SELECT case_id, min(rank) AS rank, row FROM hits GROUP BY case_id
     )
     SELECT b.case_id, b.rank, b.row, c.state, c.opened_at, c.reporter, c.subject
     FROM best b JOIN cases c ON c.id = b.case_id
     WHERE (?2 IS NULL OR c.state = ?2) AND (?3 IS NULL OR c.opened_at >= ?3)
     ORDER BY b.rank, c.opened_at DESC
     LIMIT ?4";

/// Snippets (16 words of context) of the given rows only: snippet() is the expensive part.
/// ?1 MATCH text, ?2 JSON array of rowids.
const SNIPPETS: &str = "SELECT rowid, source, at, sender,
         snippet(search_index, -1, '**', '**', '…', 16) AS snippet
     FROM search_index
     WHERE search_index MATCH ?1 AND rowid IN (SELECT value FROM json_each(?2))";

/// Cases whose rows match, best first. ?1 MATCH text, ?2 case to leave out, ?3 limit.
const CANDIDATES: &str = "WITH hits AS MATERIALIZED (
         SELECT case_id, bm25(search_index, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0, 1.0) AS rank
         FROM search_index WHERE search_index MATCH ?1
     )
     SELECT case_id, min(rank) AS rank FROM hits WHERE case_id <> ?2
     GROUP BY case_id ORDER BY rank LIMIT ?3";

/// Where an index row's text comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// The case's subject (one row per case).
    Subject,
    /// A message's own text (`source_id` = messages.id).
    Message,
    /// A `/note` (`source_id` = events.id).
    Note,
    /// An advisory description (`source_id` = events.id).
    Advisory,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Subject => "subject",
            Source::Message => "message",
            Source::Note => "note",
            Source::Advisory => "advisory",
        }
    }

    pub fn parse(s: &str) -> Option<Source> {
        Some(match s {
            "subject" => Source::Subject,
            "message" => Source::Message,
            "note" => Source::Note,
            "advisory" => Source::Advisory,
            _ => return None,
        })
    }
}

/// One row to index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub case_id: String,
    pub source: Source,
    /// messages.id or events.id; None for the subject row.
    pub source_id: Option<i64>,
    /// RFC 3339.
    pub at: String,
    /// The sender's address ('' when unknown).
    pub sender: String,
    pub subject: String,
    pub body: String,
}

impl Entry {
    /// The subject row of a case.
    pub fn subject(case_id: &str, at: &str, sender: &str, subject: &str) -> Entry {
        Entry {
            case_id: case_id.to_string(),
            source: Source::Subject,
            source_id: None,
            at: at.to_string(),
            sender: sender.to_string(),
            subject: subject.to_string(),
            body: String::new(),
        }
    }
}

/// Adds one row (inside the caller's transaction).
pub fn insert(conn: &rusqlite::Connection, e: &Entry) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO search_index (case_id, source, source_id, at, sender, subject, body)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(rusqlite::params![
        e.case_id,
        e.source.as_str(),
        e.source_id,
        e.at,
        e.sender,
        e.subject,
        e.body
    ])?;
    Ok(())
}

/// Adds the subject row of a case that has just opened (case ids are never reused). No
/// delete first: `case_id` is not indexed, so a `DELETE ... WHERE case_id = ?` reads every
/// row of the index, which made each new case cost time in proportion to all earlier ones.
pub fn add_subject(
    conn: &rusqlite::Connection,
    case_id: &str,
    at: &str,
    sender: &str,
    subject: &str,
) -> rusqlite::Result<()> {
    insert(conn, &Entry::subject(case_id, at, sender, subject))
}

/// Saves (or replaces) what the similar-case scorer reads of a case.
pub fn save_report_text(conn: &rusqlite::Connection, case_id: &str, subject: &str, text: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO report_text (case_id, subject, text) VALUES (?, ?, ?)")?
        .execute([case_id, subject, text])?;
    Ok(())
}

/// Saves (or replaces) what the similar-case scorer reads of a case as a reference to the
/// index row `index_row`, whose body starts with it ([`report_text_of`]).
pub fn save_report_row(
    conn: &rusqlite::Connection,
    case_id: &str,
    subject: &str,
    index_row: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO report_text (case_id, subject, text, index_row) VALUES (?, ?, '', ?)")?
        .execute(rusqlite::params![case_id, subject, index_row])?;
    Ok(())
}

/// What the scorer reads of an index row's body: its first
/// [`crate::search::similar::MAX_TEXT_BYTES`], cut on a character boundary.
pub fn report_text_of(body: &str) -> &str {
    crate::search::text::prefix(body, crate::search::similar::MAX_TEXT_BYTES)
}

/// A (case id, subject, text) row of the queries below (the text: `report_text.text`, or the
/// body of the index row it names), the text cut as the scorer reads it.
fn report_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, String)> {
    let mut text: String = r.get(2)?;
    text.truncate(report_text_of(&text).len());
    Ok((r.get(0)?, r.get(1)?, text))
}

/// (case id, subject, text) of the given cases, in no particular order.
pub fn report_texts(
    conn: &rusqlite::Connection,
    case_ids: &[String],
) -> rusqlite::Result<Vec<(String, String, String)>> {
    let ids = serde_json::to_string(case_ids).unwrap_or_else(|_| "[]".into());
    conn.prepare_cached(
        "SELECT r.case_id, r.subject, CASE WHEN r.index_row IS NULL THEN r.text ELSE COALESCE(i.body, '') END
         FROM report_text r LEFT JOIN search_index i ON i.rowid = r.index_row
         WHERE r.case_id IN (SELECT value FROM json_each(?))",
    )?
    .query_map([ids], report_row)?
    .collect()
}

/// (case id, subject, text) of the `n` most recently saved cases other than `exclude`: a
/// background sample for the scorer's word weights.
pub fn recent_report_texts(
    conn: &rusqlite::Connection,
    exclude: &str,
    n: u32,
) -> rusqlite::Result<Vec<(String, String, String)>> {
    conn.prepare_cached(
        "SELECT r.case_id, r.subject, CASE WHEN r.index_row IS NULL THEN r.text ELSE COALESCE(i.body, '') END
         FROM report_text r LEFT JOIN search_index i ON i.rowid = r.index_row
         WHERE r.case_id <> ? ORDER BY r.rowid DESC LIMIT ?",
    )?
    .query_map(rusqlite::params![exclude, i64::from(n)], report_row)?
    .collect()
}

/// Which cases a search may return.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only cases in this state.
    pub state: Option<String>,
    /// Only cases opened at or after this RFC 3339 time.
    pub since: Option<String>,
    pub limit: u32,
}

/// One case found, best first.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Hit {
    pub case_id: String,
    pub state: String,
    pub opened_at: String,
    pub reporter: String,
    pub subject: String,
    /// BM25 of the case's best row (lower is better, FTS5's sign).
    pub rank: f64,
    /// The best row: where it comes from, when and from whom.
    pub source: Source,
    pub at: String,
    pub sender: String,
    /// Text around the hits, each hit between [`HIT_START`] and [`HIT_END`].
    pub snippet: String,
}

/// Cases matching `query`, best BM25 first, at most `filter.limit`. Needs the `cases` table
/// (id, state, opened_at, reporter, subject).
pub async fn search(conn: &mut SqliteConnection, query: &Query, filter: &Filter) -> Result<Vec<Hit>, sqlx::Error> {
    let fts = query.fts5();
    let rows = sqlx::query(SEARCH)
        .bind(&fts)
        .bind(filter.state.as_deref())
        .bind(filter.since.as_deref())
        .bind(i64::from(filter.limit))
        .fetch_all(&mut *conn)
        .await?;
    let mut hits = Vec::with_capacity(rows.len());
    let mut row_ids = Vec::with_capacity(rows.len());
    for r in rows {
        row_ids.push(r.try_get::<i64, _>("row")?);
        hits.push(Hit {
            case_id: r.try_get("case_id")?,
            state: r.try_get("state")?,
            opened_at: r.try_get("opened_at")?,
            reporter: r.try_get("reporter")?,
            subject: r.try_get("subject")?,
            rank: r.try_get("rank")?,
            source: Source::Subject,
            at: String::new(),
            sender: String::new(),
            snippet: String::new(),
        });
    }
    if hits.is_empty() {
        return Ok(hits);
    }
    let ids = serde_json::to_string(&row_ids).unwrap_or_else(|_| "[]".into());
    let rows = sqlx::query(SNIPPETS).bind(&fts).bind(ids).fetch_all(&mut *conn).await?;
    for r in rows {
        let id: i64 = r.try_get("rowid")?;
        if let Some(i) = row_ids.iter().position(|&x| x == id) {
            let h = &mut hits[i];
            h.source = Source::parse(&r.try_get::<String, _>("source")?).unwrap_or(Source::Message);
            h.at = r.try_get("at")?;
            h.sender = r.try_get("sender")?;
            h.snippet = r
                .try_get::<String, _>("snippet")?
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
        }
    }
    Ok(hits)
}

/// Most terms a candidate query ORs together.
const MAX_QUERY_TERMS: usize = 10;

/// The words of `term` as the index's tokenizer (unicode61) stores them.
fn tokens(term: &str) -> Vec<String> {
    term.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Rows holding a word above which it is too common to look up, for an index of `rows`.
fn common_above(rows: i64) -> i64 {
    (rows / 20).max(50)
}

/// `words` that the index holds, without those in more than a twentieth of its rows (they say
/// little about a report and cost a scan of most of the index), rarest first, at most
/// [`MAX_QUERY_TERMS`]. When every word is that common: `None`. Without an index vocabulary
/// (`search_vocab`): the first words as they are. Word counts are read once per `cache`
/// batch; a count kept from an earlier batch is used only while it is still above the
/// threshold of the grown index (it can only have grown since), else counted again.
fn distinctive(
    conn: &rusqlite::Connection,
    words: &[String],
    cache: &mut SimilarCache,
) -> rusqlite::Result<Option<Vec<String>>> {
    let rows = match cache.rows {
        Some(n) => n,
        None => {
            let n: i64 = conn
                .prepare_cached("SELECT COUNT(*) FROM search_index_docsize")?
                .query_row([], |r| r.get(0))?;
            cache.rows = Some(n);
            n
        }
    };
    let common = common_above(rows);
    let unknown: Vec<String> = words
        .iter()
        .flat_map(|w| tokens(w))
        .filter(|t| !cache.doc_counts.contains_key(t) && cache.common_counts.get(t).is_none_or(|n| *n <= common))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if !unknown.is_empty() {
        if cache.doc_counts.len() + cache.common_counts.len() + unknown.len() > SimilarCache::MAX_DOC_COUNTS {
            cache.doc_counts.clear();
            cache.common_counts.clear();
        }
        let list = serde_json::to_string(&unknown).unwrap_or_else(|_| "[]".into());
        let counts: rusqlite::Result<Vec<(String, i64)>> = conn
            .prepare_cached("SELECT term, doc FROM search_vocab WHERE term IN (SELECT value FROM json_each(?))")
            .and_then(|mut q| q.query_map([list], |r| Ok((r.get(0)?, r.get(1)?)))?.collect());
        let Ok(counts) = counts else {
            return Ok(Some(words.iter().take(MAX_QUERY_TERMS).cloned().collect()));
        };
        for t in unknown {
            cache.common_counts.remove(&t);
            cache.doc_counts.insert(t, 0);
        }
        cache.doc_counts.extend(counts);
    }
    let df = |t: &str| {
        cache
            .doc_counts
            .get(t)
            .or_else(|| cache.common_counts.get(t))
            .copied()
            .unwrap_or(0)
    };
    // A phrase matches no more rows than its rarest word; a word no row holds finds nothing.
    let mut scored: Vec<(i64, &String)> = words
        .iter()
        .map(|w| (tokens(w).iter().map(|t| df(t)).min().unwrap_or(0), w))
        .filter(|(d, _)| *d > 0)
        .collect();
    scored.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    let keep: Vec<String> = scored
        .iter()
        .filter(|(d, _)| *d <= common)
        .take(MAX_QUERY_TERMS)
        .map(|(_, w)| (*w).clone())
        .collect();
    Ok(if keep.is_empty() && !scored.is_empty() {
        None
    } else {
        Some(keep)
    })
}

/// Up to `limit` cases whose text shares the most distinctive words with `words` (an OR of
/// the rarer ones, BM25 order), for the similar-case scorer to look at more closely: a
/// bounded, index-driven read instead of every case's text. When every word is in more than
/// a twentieth of the index (nothing in the report singles out a few cases), the most
/// recent cases instead: ranking most of the index would cost time in proportion to all
/// history for each report. `exclude` is the new case itself.
pub fn candidates(
    conn: &rusqlite::Connection,
    words: &[String],
    exclude: &str,
    limit: u32,
    cache: &mut SimilarCache,
) -> rusqlite::Result<Vec<String>> {
    let Some(words) = distinctive(conn, words, cache)? else {
        return conn
            .prepare_cached("SELECT case_id FROM report_text WHERE case_id <> ? ORDER BY rowid DESC LIMIT ?")?
            .query_map(rusqlite::params![exclude, i64::from(limit)], |r| r.get(0))?
            .collect();
    };
    let terms: Vec<String> = words
        .iter()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .map(|w| {
            Query::Term {
                text: w.clone(),
                prefix: false,
            }
            .fts5()
        })
        .collect();
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    conn.prepare_cached(CANDIDATES)?
        .query_map(rusqlite::params![terms.join(" OR "), exclude, i64::from(limit)], |r| {
            r.get("case_id")
        })?
        .collect()
}

pub use super::similar::Similar;

/// What the similar-case lookups of one pass over a mailbox share: the scorer's profile of
/// each case read so far (a case's report text is written once, when it opens) and the
/// background sample of recent cases for the word weights. Holds at most
/// [`SimilarCache::MAX_PROFILES`] profiles: when full it starts again.
#[derive(Debug, Default)]
pub struct SimilarCache {
    profiles: std::collections::HashMap<String, crate::search::similar::Profile>,
    /// Profiles of the reports looked up so far, by [`text_key`] of their subject and text: a
    /// report of this pass that is a candidate for a later one is not profiled again.
    fresh: std::collections::HashMap<u64, crate::search::similar::Profile>,
    /// The word weights of a background sample of recent cases.
    background: Option<std::sync::Arc<crate::search::similar::Idf>>,
    /// Rows of the index holding each word looked up (0: none), as of this batch.
    doc_counts: std::collections::HashMap<String, i64>,
    /// Counts of earlier batches of the words that were too common to look up then: lower
    /// bounds of their counts now.
    common_counts: std::collections::HashMap<String, i64>,
    /// Rows of the index, as of this batch.
    rows: Option<i64>,
}

impl SimilarCache {
    /// Forgets what the index held when the last batch was looked up (the batches written
    /// since have added words and rows); keeps the profiles, which do not change, and the
    /// counts of the words too common to look up. Those counts only grow, and counting a
    /// word walks every row that holds it: recounting the commonest words at every batch
    /// made the lookup cost grow with the index. The threshold grows with the index too, so
    /// a kept count is trusted only while it is above the grown threshold: a word once
    /// common in 100 rows may be rare among 10,000, and looking it up as common would rank
    /// a large share of the index.
    pub fn next_batch(&mut self) {
        if let Some(rows) = self.rows.take() {
            let common = common_above(rows);
            self.common_counts
                .extend(self.doc_counts.drain().filter(|(_, n)| *n > common));
        }
        self.doc_counts.clear();
    }

    /// Profiles kept at most (a profile of a 32 KB report is some tens of KB).
    pub const MAX_PROFILES: usize = 200;
    /// Word counts kept at most.
    pub const MAX_DOC_COUNTS: usize = 50_000;
}

/// Words of a new report looked up in the index vocabulary, its most frequent first: the
/// candidates are found with the rarest of them.
const LOOKUP_TERMS: usize = 200;

/// Earlier cases the scorer looks at closely per new report.
const CANDIDATE_CASES: u32 = 20;

/// The earlier cases most like a new report (`subject`, `text`: what
/// [`crate::search::text::for_similarity`] keeps), above the scorer's threshold, best first,
/// at most [`crate::search::similar::MAX_SIMILAR`]. Reads only; needs the `cases` table.
pub fn similar_cases(
    conn: &rusqlite::Connection,
    subject: &str,
    text: &str,
    cache: &mut SimilarCache,
) -> rusqlite::Result<Vec<Similar>> {
    let new = crate::search::similar::Profile::new(subject, text);
    similar_to_report(conn, subject, text, new, cache)
}

/// [`similar_cases`] of a report whose profile is made already.
pub fn similar_to_report(
    conn: &rusqlite::Connection,
    subject: &str,
    text: &str,
    new: crate::search::similar::Profile,
    cache: &mut SimilarCache,
) -> rusqlite::Result<Vec<Similar>> {
    let found = similar_to_profile(conn, &new, cache);
    if cache.fresh.len() >= SimilarCache::MAX_PROFILES {
        cache.fresh.clear();
    }
    cache.fresh.insert(text_key(subject, text), new);
    found
}

/// Which report a subject and text are, for [`SimilarCache`] (not stored anywhere).
fn text_key(subject: &str, text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    subject.hash(&mut h);
    text.hash(&mut h);
    h.finish()
}

fn similar_to_profile(
    conn: &rusqlite::Connection,
    new: &crate::search::similar::Profile,
    cache: &mut SimilarCache,
) -> rusqlite::Result<Vec<Similar>> {
    use crate::search::similar::{self, Profile};
    if new.is_empty() {
        return Ok(vec![]);
    }
    let terms = new.key_terms(&similar::Idf::default(), LOOKUP_TERMS);
    let ids = candidates(conn, &terms, "", CANDIDATE_CASES, cache)?;
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let mut unread: Vec<String> = ids
        .iter()
        .filter(|id| !cache.profiles.contains_key(*id))
        .cloned()
        .collect();
    if cache.profiles.len() + unread.len() > SimilarCache::MAX_PROFILES {
        cache.profiles.clear();
        unread = ids.clone();
    }
    if !unread.is_empty() {
        for (id, s, t) in report_texts(conn, &unread)? {
            let p = cache
                .fresh
                .remove(&text_key(&s, &t))
                .unwrap_or_else(|| Profile::new(&s, &t));
            cache.profiles.insert(id, p);
        }
    }
    if cache.background.is_none() {
        let rows = recent_report_texts(conn, "", 50)?;
        let sample: Vec<Profile> = rows.iter().map(|(_, s, t)| Profile::new(s, t)).collect();
        cache.background = Some(std::sync::Arc::new(similar::Idf::new(&sample)));
    }
    let candidates: Vec<(String, &Profile)> = ids
        .iter()
        .filter_map(|id| cache.profiles.get(id).map(|p| (id.clone(), p)))
        .collect();
    let background = cache.background.clone().unwrap_or_default();
    let found = similar::similar_among(new, &candidates, background);
    let mut out = Vec::with_capacity(found.len());
    let mut case = conn.prepare_cached(
        "SELECT opened_at, reporter, CASE WHEN encryption = 'none' THEN subject ELSE '(encrypted report)' END
             FROM cases WHERE id = ?",
    )?;
    for (id, score) in found {
        use rusqlite::OptionalExtension;
        let row: Option<(String, String, String)> = case
            .query_row([&id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        if let Some((opened_at, reporter, subject)) = row {
            out.push(Similar {
                id,
                score: (score * 1000.0).round() / 1000.0,
                opened_at,
                reporter,
                subject,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sqlx::Connection;

    /// A database file written as the store writes (rusqlite) and read as it reads (sqlx).
    struct Db {
        _dir: tempfile::TempDir,
        w: rusqlite::Connection,
        r: SqliteConnection,
    }

    async fn db() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.db");
        let w = rusqlite::Connection::open(&path).unwrap();
        w.execute_batch(CREATE_TABLE).unwrap();
        w.execute_batch(CREATE_REPORT_TEXT).unwrap();
        w.execute_batch(
            "CREATE TABLE cases (id TEXT PRIMARY KEY, state TEXT, opened_at TEXT, reporter TEXT, subject TEXT,
                encryption TEXT NOT NULL DEFAULT 'none')",
        )
        .unwrap();
        let r = SqliteConnection::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        Db { _dir: dir, w, r }
    }

    async fn add_case(conn: &mut Db, id: &str, state: &str, opened: &str, subject: &str, body: &str) {
        let conn = &conn.w;
        conn.execute(
            "INSERT INTO cases (id, state, opened_at, reporter, subject) VALUES (?, ?, ?, ?, ?)",
            [id, state, opened, "r@example.net", subject],
        )
        .unwrap();
        add_subject(conn, id, opened, "r@example.net", subject).unwrap();
        let e = Entry {
            case_id: id.into(),
            source: Source::Message,
            source_id: Some(1),
            at: opened.into(),
            sender: "r@example.net".into(),
            subject: String::new(),
            body: body.into(),
        };
        insert(conn, &e).unwrap();
    }

    async fn find(conn: &mut Db, q: &str, filter: Filter) -> Vec<Hit> {
        let q = Query::parse(q).unwrap();
        search(&mut conn.r, &q, &Filter { limit: 10, ..filter }).await.unwrap()
    }

    fn ids(hits: &[Hit]) -> Vec<&str> {
        hits.iter().map(|h| h.case_id.as_str()).collect()
    }

    async fn corpus() -> Db {
        let mut c = db().await;
        add_case(
            &mut c,
            "SEC-1",
            "new",
            "2026-01-01T00:00:00.000Z",
            "Open redirect in res.redirect",
            "res.redirect('//evil.example') sends users away. Needs basic-auth.",
        )
        .await;
        add_case(
            &mut c,
            "SEC-2",
            "invalid",
            "2026-02-01T00:00:00.000Z",
            "qs prototype pollution",
            "qs.parse with __proto__ keys pollutes Object.prototype",
        )
        .await;
        add_case(
            &mut c,
            "SEC-3",
            "triage",
            "2026-03-01T00:00:00.000Z",
            "ReDoS",
            "path-to-regexp backtracking; unrelated to redirects, but mentions basic auth",
        )
        .await;
        c
    }

    #[tokio::test]
    async fn finds_phrases_prefixes_and_hyphenated_words() {
        let mut c = corpus().await;
        assert_eq!(
            ids(&find(&mut c, "res.redirect", Filter::default()).await),
            vec!["SEC-1"]
        );
        assert_eq!(
            ids(&find(&mut c, "\"prototype pollution\"", Filter::default()).await),
            vec!["SEC-2"]
        );
        assert_eq!(
            ids(&find(&mut c, "redirect*", Filter::default()).await),
            vec!["SEC-1", "SEC-3"]
        );
        // `basic-auth` is the phrase "basic auth": both spellings match.
        let hits = find(&mut c, "basic-auth", Filter::default()).await;
        let mut both = ids(&hits);
        both.sort();
        assert_eq!(both, vec!["SEC-1", "SEC-3"]);
        assert_eq!(
            ids(&find(&mut c, "redirect* NOT regexp", Filter::default()).await),
            vec!["SEC-1"]
        );
        assert_eq!(
            ids(&find(&mut c, "(qs OR regexp) AND backtracking", Filter::default()).await),
            vec!["SEC-3"]
        );
    }

    #[tokio::test]
    async fn subject_hits_rank_first_and_snippets_mark_hits() {
        let mut c = corpus().await;
        let hits = find(&mut c, "redirect*", Filter::default()).await;
        // SEC-1 has it in the subject and body, SEC-3 once in the body.
        assert_eq!(hits[0].case_id, "SEC-1");
        assert!(hits[0].rank < hits[1].rank);
        assert_eq!(
            hits[1].snippet,
            "path-to-regexp backtracking; unrelated to **redirects**, but mentions basic auth"
        );
        assert_eq!(hits[1].source, Source::Message);
        assert_eq!(hits[1].sender, "r@example.net");
    }

    #[tokio::test]
    async fn filters_by_state_and_date_and_limits() {
        let mut c = corpus().await;
        let state = Filter {
            state: Some("triage".into()),
            ..Filter::default()
        };
        assert_eq!(ids(&find(&mut c, "redirect*", state).await), vec!["SEC-3"]);
        let since = Filter {
            since: Some("2026-02-15T00:00:00.000Z".into()),
            ..Filter::default()
        };
        assert_eq!(ids(&find(&mut c, "redirect*", since).await), vec!["SEC-3"]);
        let q = Query::parse("redirect*").unwrap();
        let one = search(
            &mut c.r,
            &q,
            &Filter {
                limit: 1,
                ..Filter::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(ids(&one), vec!["SEC-1"]);
        assert!(find(&mut c, "nothingmatches", Filter::default()).await.is_empty());
    }

    #[tokio::test]
    async fn candidates_are_cases_sharing_words_except_the_new_one() {
        let c = corpus().await;
        let words = vec!["redirect".to_string(), "evil".to_string(), "--".to_string()];
        assert_eq!(
            candidates(&c.w, &words, "SEC-9", 5, &mut SimilarCache::default()).unwrap(),
            vec!["SEC-1"]
        );
        assert!(candidates(&c.w, &words, "SEC-1", 5, &mut SimilarCache::default())
            .unwrap()
            .is_empty());
        assert!(candidates(&c.w, &[], "SEC-1", 5, &mut SimilarCache::default())
            .unwrap()
            .is_empty());
    }

    /// A database with the index vocabulary, `n` cases that all say `common` (and a word of
    /// their own), and one more that also says `rare`.
    async fn vocab_corpus(n: usize) -> Db {
        let mut c = db().await;
        c.w.execute_batch("CREATE VIRTUAL TABLE search_vocab USING fts5vocab(search_index, 'row')")
            .unwrap();
        for i in 0..n {
            let id = format!("SEC-{i}");
            let body = format!("common words everywhere own{i}");
            add_case(&mut c, &id, "new", "2026-01-01T00:00:00.000Z", "report", &body).await;
            save_report_text(&c.w, &id, "report", &body).unwrap();
        }
        add_case(
            &mut c,
            "SEC-RARE",
            "new",
            "2026-01-02T00:00:00.000Z",
            "report",
            "common rare",
        )
        .await;
        save_report_text(&c.w, "SEC-RARE", "report", "common rare").unwrap();
        c
    }

    #[tokio::test]
    async fn candidates_come_from_the_rarest_words_the_index_holds() {
        let c = vocab_corpus(120).await;
        let mut cache = SimilarCache::default();
        let words: Vec<String> = ["common", "missing", "rare", "own7"].map(String::from).into();
        let mut got = candidates(&c.w, &words, "", 5, &mut cache).unwrap();
        got.sort();
        // "common" is in every row (left out), "missing" in none: the rare words find them.
        assert_eq!(got, vec!["SEC-7", "SEC-RARE"]);
    }

    #[tokio::test]
    async fn a_new_batch_recounts_the_rare_words_but_keeps_the_counts_of_the_common_ones() {
        let c = vocab_corpus(120).await;
        let mut cache = SimilarCache::default();
        let words: Vec<String> = ["common", "rare", "own7"].map(String::from).into();
        candidates(&c.w, &words, "", 5, &mut cache).unwrap();
        assert_eq!(cache.doc_counts.get("common"), Some(&121));
        assert_eq!(cache.doc_counts.get("rare"), Some(&1));
        cache.next_batch();
        assert_eq!(cache.rows, None);
        assert_eq!(cache.common_counts.get("common"), Some(&121));
        assert!(!cache.doc_counts.contains_key("common"));
        assert!(!cache.doc_counts.contains_key("rare"));
        assert!(!cache.doc_counts.contains_key("own7"));
        // And the next lookup counts them again.
        let got = candidates(&c.w, &words, "", 5, &mut cache).unwrap();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(cache.doc_counts.get("rare"), Some(&1));
    }

    #[tokio::test]
    async fn a_word_kept_as_common_is_counted_again_once_the_index_has_outgrown_its_count() {
        // 60 cases: 121 rows; the floor of 50 rows decides what is common. "common" is in 61
        // message rows, "words" in 60: too common to look up, so the most recent cases.
        let mut c = vocab_corpus(60).await;
        let mut cache = SimilarCache::default();
        let words: Vec<String> = ["common", "words"].map(String::from).into();
        let recent = candidates(&c.w, &words, "", 3, &mut cache).unwrap();
        assert_eq!(recent, vec!["SEC-RARE", "SEC-59", "SEC-58"]);
        // 1,000 cases more, saying both words: 2,121 rows, so above 106 is common. The kept
        // counts (61, 60) are below that: counted again (1,061, 1,060), still common.
        for i in 0..1000 {
            let id = format!("SEC-MORE-{i:04}");
            add_case(
                &mut c,
                &id,
                "new",
                "2026-01-03T00:00:00.000Z",
                "more",
                "common words again",
            )
            .await;
            save_report_text(&c.w, &id, "more", "common words again").unwrap();
        }
        cache.next_batch();
        let got = candidates(&c.w, &words, "", 3, &mut cache).unwrap();
        assert_eq!(cache.doc_counts.get("common"), Some(&1061), "counted again");
        assert_eq!(got, vec!["SEC-MORE-0999", "SEC-MORE-0998", "SEC-MORE-0997"]);
    }

    #[tokio::test]
    async fn when_every_word_is_common_the_most_recent_cases_are_the_candidates() {
        let c = vocab_corpus(120).await;
        let mut cache = SimilarCache::default();
        let words: Vec<String> = ["common", "words", "everywhere"].map(String::from).into();
        let got = candidates(&c.w, &words, "SEC-RARE", 3, &mut cache).unwrap();
        assert_eq!(got, vec!["SEC-119", "SEC-118", "SEC-117"]);
    }

    #[tokio::test]
    async fn a_new_batch_sees_words_the_last_batch_wrote() {
        let mut c = vocab_corpus(3).await;
        let mut cache = SimilarCache::default();
        let words = vec!["fresh".to_string()];
        assert!(candidates(&c.w, &words, "", 5, &mut cache).unwrap().is_empty());
        add_case(
            &mut c,
            "SEC-NEW",
            "new",
            "2026-01-03T00:00:00.000Z",
            "report",
            "fresh words",
        )
        .await;
        cache.next_batch();
        assert_eq!(candidates(&c.w, &words, "", 5, &mut cache).unwrap(), vec!["SEC-NEW"]);
    }

    #[tokio::test]
    async fn a_report_resembles_its_earlier_copy_in_the_same_pass() {
        let mut c = vocab_corpus(30).await;
        let mut cache = SimilarCache::default();
        let text = "Prototype pollution in qs.parse via __proto__ keys: qs.parse('a[__proto__][x]=1')";
        let first = similar_cases(&c.w, "qs pollution", text, &mut cache).unwrap();
        assert!(first.is_empty(), "nothing like it yet: {first:?}");
        assert_eq!(cache.fresh.len(), 1);
        add_case(
            &mut c,
            "SEC-QS",
            "new",
            "2026-01-03T00:00:00.000Z",
            "qs pollution",
            text,
        )
        .await;
        save_report_text(&c.w, "SEC-QS", "qs pollution", text).unwrap();
        cache.next_batch();
        let again = similar_cases(&c.w, "qs pollution", text, &mut cache).unwrap();
        assert_eq!(again.first().map(|s| s.id.as_str()), Some("SEC-QS"), "{again:?}");
        assert!(cache.profiles.contains_key("SEC-QS"));
    }

    #[tokio::test]
    async fn report_texts_are_read_by_case() {
        let c = corpus().await;
        for (id, text) in [("SEC-1", "one"), ("SEC-2", "two"), ("SEC-3", "three")] {
            save_report_text(&c.w, id, "s", text).unwrap();
        }
        save_report_text(&c.w, "SEC-2", "s2", "two again").unwrap();
        let mut got = report_texts(&c.w, &["SEC-2".into(), "SEC-3".into(), "SEC-9".into()]).unwrap();
        got.sort();
        assert_eq!(
            got,
            vec![
                ("SEC-2".into(), "s2".into(), "two again".into()),
                ("SEC-3".into(), "s".into(), "three".into())
            ]
        );
        let recent = recent_report_texts(&c.w, "SEC-2", 1).unwrap();
        assert_eq!(recent[0].0, "SEC-3");
    }

    #[tokio::test]
    async fn a_report_text_kept_as_its_index_row_is_read_as_the_start_of_that_row() {
        let mut c = corpus().await;
        add_case(&mut c, "SEC-LONG", "new", "2026-01-01T00:00:00.000Z", "long", "").await;
        // Longer than the scorer reads, with two-byte characters across the cut.
        let body = format!("é{}", "qs.parse é ".repeat(4000));
        let e = Entry {
            case_id: "SEC-LONG".into(),
            source: Source::Message,
            source_id: Some(9),
            at: "2026-01-01T00:00:00.000Z".into(),
            sender: String::new(),
            subject: String::new(),
            body: body.clone(),
        };
        insert(&c.w, &e).unwrap();
        save_report_row(&c.w, "SEC-LONG", "long", c.w.last_insert_rowid()).unwrap();
        let stored: String =
            c.w.query_row("SELECT text FROM report_text WHERE case_id = 'SEC-LONG'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(stored, "", "not a second copy");
        let got = report_texts(&c.w, &["SEC-LONG".into()]).unwrap();
        let want = report_text_of(&body);
        assert!(want.len() <= crate::search::similar::MAX_TEXT_BYTES && want.len() > 32_000);
        assert_eq!(got, vec![("SEC-LONG".into(), "long".into(), want.to_string())]);
        let recent = recent_report_texts(&c.w, "", 1).unwrap();
        assert_eq!(recent[0].2, want);
    }

    fn junk() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            4 => "[a-zA-Z0-9]{1,6}",
            2 => proptest::sample::select(vec![
                "AND", "OR", "NOT", "NEAR", "(", ")", "\"", "*", "-", ":", "^", "+", "'", "\\", ";", "\u{0}",
                "{", "}", "col:", "NEAR(", "é", "日本", " ", "  ", "\t", "\n", ",", ".", "%", "_", "$", "''",
            ])
            .prop_map(String::from),
            1 => any::<char>().prop_map(String::from),
        ];
        proptest::collection::vec(piece, 0..12).prop_map(|v| v.join(""))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Whatever is typed, the query is refused with a QueryError or runs in FTS5 without
        /// an SQL error.
        #[test]
        fn junk_never_reaches_fts5_as_an_error(input in junk()) {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            rt.block_on(async {
                let mut c = corpus().await;
                if let Ok(q) = Query::parse(&input) {
                    let r = search(&mut c.r, &q, &Filter { limit: 5, ..Filter::default() }).await;
                    prop_assert!(r.is_ok(), "query {:?} -> {} -> {:?}", input, q.fts5(), r.err());
                }
                let words: Vec<String> = input.split_whitespace().map(String::from).collect();
                let r = candidates(&c.w, &words, "SEC-0", 5, &mut SimilarCache::default());
                prop_assert!(r.is_ok(), "candidates {:?} -> {:?}", words, r.err());
                Ok(())
            })?;
        }
    }
}

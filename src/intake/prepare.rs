//! The prepare stage: everything CPU- or network-bound about a fetched message, done before
//! the write transaction. Hash, MIME parse, analysis, the command text of the sender's own
//! words, and for mail from a coordinator the authentication verdict
//! ([`crate::authentication::Authority::judge`]: trusted Authentication-Results, the
//! message's own DKIM signature, a trusted list's ARC seal; keys over DNS or pinned).

use chrono::{DateTime, Utc};

use crate::analysis::Facts;
use crate::app::App;
use crate::authentication::{self, Authority, Verdict};
use crate::case::command;
use crate::case::plan::CommandText;
use crate::message::Incoming;
use crate::pgp::{self, Content, Encryption, KeySource, PublicKey, Verdict as SignatureVerdict};
use crate::quoting;
use crate::store::intake::sha256_hex;

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

/// A fetched message with the facts finished: hashed, parsed, analysed, its commands read
/// and, from a coordinator, authenticated.
#[derive(Debug)]
pub struct Prepared {
    pub fetched: Fetched,
    pub sha: String,
    pub message: Incoming,
    pub facts: Facts,
    /// The commands in the sender's own text.
    pub commands: CommandText,
    /// The authentication verdict, for mail whose author is a configured coordinator.
    pub verdict: Option<Verdict>,
    /// The sender's own words, for the full-text index.
    pub search_text: String,
    /// What the similar-case scorer reads of it, should it open a case.
    pub report_text: String,
    /// How it arrived under OpenPGP (all `none` without a `[pgp]` section).
    pub openpgp: OpenPgp,
    /// For what looks like a new report: the earlier cases it resembles (see [`find_similar`]).
    pub similar: Vec<crate::search::similar::Similar>,
    /// What the similar-case scorer makes of it, when it looks like a new report and the
    /// lookup is on (made here, on the prepare threads, rather than in the lookup).
    pub profile: Option<crate::search::similar::Profile>,
}

/// A message's OpenPGP facts, found before the write transaction.
#[derive(Debug, Clone)]
pub struct OpenPgp {
    pub encryption: Encryption,
    /// The signature's verdict (`None`: not signed).
    pub signature: Option<SignatureVerdict>,
    /// The decrypted message (the outer headers, then the decrypted entity), stored beside
    /// the raw ciphertext.
    pub decrypted: Option<Vec<u8>>,
    /// Why it could not be decrypted (safe to log: no message text).
    pub undecryptable: Option<String>,
    /// The sender's public keys the message offered (Autocrypt header, attached key).
    pub learned: Vec<(PublicKey, KeySource)>,
}

impl Default for OpenPgp {
    fn default() -> Self {
        OpenPgp {
            encryption: Encryption::None,
            signature: None,
            decrypted: None,
            undecryptable: None,
            learned: vec![],
        }
    }
}

impl OpenPgp {
    /// Anything of it arrived encrypted: its text never leaves in clear.
    pub fn encrypted(&self) -> bool {
        self.encryption != Encryption::None
    }
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

/// When `f` reached the mailbox: its INTERNALDATE (the server's clock, not the sender's
/// `Date:`), never later than `now`; `now` when unknown.
pub fn arrival(f: &Fetched, now: DateTime<Utc>) -> DateTime<Utc> {
    f.arrived.map_or(now, |a| a.min(now))
}

/// Parses and analyses `raw`; a panic inside either is caught and reported as a parse problem.
pub fn parse_and_analyze(app: &App, raw: &[u8]) -> (Incoming, Facts) {
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

/// The sender's own text in `m`, where commands are read: quotes and signature removed. An
/// HTML-only mail is read again from its bytes with quotes kept apart (`<blockquote>` as
/// `> `): the intake text flattens HTML, so quoted commands would read as the sender's.
fn own_text(m: &Incoming, raw: &[u8]) -> String {
    if m.html_only {
        if let Some(text) = command::html_message_text(raw) {
            return quoting::own_text(&text);
        }
    }
    quoting::own_text(&m.text)
}

/// Opens `raw` with the list key (`[pgp]`): decrypted, its signature judged against the
/// keyring and `known` (keys learned from earlier mail), and the keys it offers read.
pub fn open(app: &App, raw: &[u8], known: &[PublicKey]) -> OpenPgp {
    let Some(p) = &app.pgp else {
        return OpenPgp::default();
    };
    let now = app.clock.now();
    let mut all: Vec<PublicKey> = p.keyring.keys.clone();
    all.extend(known.iter().cloned());
    let opened = pgp::open(
        raw,
        &pgp::Keys {
            list: &p.list_key,
            known: &all,
            now,
        },
    );
    let mut out = OpenPgp {
        encryption: opened.encryption,
        signature: opened.signature.as_ref().map(|s| s.verdict),
        ..OpenPgp::default()
    };
    match opened.content {
        Content::Clear => {}
        Content::Decrypted { mime, .. } => out.decrypted = Some(mime),
        Content::Undecryptable(why) => out.undecryptable = Some(why.to_string()),
    }
    out
}

/// The sender's keys offered by `readable` (bounded inside [`pgp::learn`]).
fn learn(app: &App, readable: &[u8], m: &Incoming) -> Vec<(PublicKey, KeySource)> {
    let (Some(_), Some(from)) = (&app.pgp, &m.from) else {
        return vec![];
    };
    let learned = pgp::learn(readable, from.address.as_str(), app.clock.now());
    for why in &learned.refused {
        tracing::info!(%why, "an offered key was not learned");
    }
    learned.keys
}

/// Hashes, opens (OpenPGP), parses, analyses and reads the commands of one message (CPU only).
pub fn prepare(app: &App, fetched: Fetched, known: &[PublicKey]) -> Prepared {
    let sha = sha256_hex(&fetched.raw);
    let mut openpgp = open(app, &fetched.raw, known);
    let readable: &[u8] = openpgp.decrypted.as_deref().unwrap_or(&fetched.raw);
    // Parsing and analysis read hostile bytes: a panic there (a bug) must not become a
    // crash loop on the same message, so it is caught and the mail treated as unreadable.
    let (message, mut facts) = parse_and_analyze(app, readable);
    if openpgp.undecryptable.is_some() {
        // Nothing of it could be read: no checklist questions, no excerpt of ciphertext.
        facts.body_check = crate::analysis::BodyCheck::Undecryptable;
        facts.missing.clear();
        facts.evidence.clear();
        facts.excerpt.clear();
        facts.links.clear();
        facts.hints.clear();
    }
    openpgp.learned = learn(app, readable, &message);
    let commands = CommandText::read(&own_text(&message, readable));
    let words = if openpgp.undecryptable.is_some() {
        ""
    } else {
        message.text.as_str()
    };
    let search_text = crate::search::text::indexed(words);
    let report_text = crate::search::text::for_similarity(words, crate::search::similar::MAX_TEXT_BYTES);
    let mut p = Prepared {
        fetched,
        sha,
        message,
        facts,
        commands,
        verdict: None,
        search_text,
        report_text,
        openpgp,
        similar: vec![],
        profile: None,
    };
    if app.settings.search.index && app.settings.search.similar_on_arrival && looks_new(app, &p) {
        let subject = crate::sanitize::header_text(&p.message.subject);
        p.profile = Some(crate::search::similar::Profile::new(&subject, &p.report_text));
    }
    p
}

/// Whether `p` looks like a new report (no thread, no case tag, not automatic mail): the
/// messages worth a similar-case lookup.
fn looks_new(app: &App, p: &Prepared) -> bool {
    let m = &p.message;
    m.in_reply_to.is_empty()
        && m.references.is_empty()
        && p.facts.auto.is_none()
        && p.openpgp.undecryptable.is_none()
        && !m.subject.contains(&format!("[{}-", app.settings.policy.case_prefix))
        && !p.report_text.trim().is_empty()
}

/// Finds, for each message of the batch that looks like a new report, the earlier cases it
/// resembles (reads only, before the write transaction), with what earlier batches of the
/// same pass read in `cache`. A failed lookup is logged and leaves the list empty: it never
/// holds a report back.
pub fn find_similar(
    store: &crate::store::Store,
    app: &App,
    batch: &mut [Prepared],
    src: &crate::store::intake::Source,
    cache: &mut crate::search::index::SimilarCache,
) {
    if !(app.settings.search.index && app.settings.search.similar_on_arrival) {
        return;
    }
    cache.next_batch();
    let now = app.clock.now();
    store.read_sync(|conn| {
        for p in batch.iter_mut() {
            let Some(profile) = p.profile.take() else { continue };
            // History opens no new-case notice: nobody would read what it resembles (and an
            // import of years of mail would spend most of its time looking).
            if src.is_history(arrival(&p.fetched, now)) {
                continue;
            }
            let subject = crate::sanitize::header_text(&p.message.subject);
            match crate::search::index::similar_to_report(conn, &subject, &p.report_text, profile, cache) {
                Ok(found) => p.similar = found,
                Err(e) => tracing::warn!(error = %e, "similar cases: lookup failed; skipped"),
            }
        }
    });
}

/// Judges who wrote a coordinator's message (the author as routing reads it: From, or the
/// X-Original-From/X-Original-Sender of a list that rewrote From). Runs before the write
/// transaction: DNS may take seconds.
pub async fn authenticate(app: &App, p: &mut Prepared) {
    let m = &p.message;
    let Some(author) = m.author(app.list_address.as_str()) else {
        return;
    };
    let named = !m.from_rewritten(app.list_address.as_str()) || m.original_sender() == Some(&author);
    if !named || !app.is_coordinator(&author) {
        return;
    }
    let settings = authentication::Settings::from_team(&app.settings.team);
    let message = authentication::Message {
        raw: &p.fetched.raw,
        incoming: m,
    };
    p.verdict = Some(Authority::judge(&message, &settings).await);
}

/// Prepares a batch on up to `threads` blocking threads, keeping its order, then
/// authenticates its coordinators' mail.
pub async fn prepare_batch(
    app: &std::sync::Arc<App>,
    batch: Vec<Fetched>,
    threads: usize,
    known: std::sync::Arc<Vec<PublicKey>>,
) -> Result<Vec<Prepared>, tokio::task::JoinError> {
    let per = batch.len().div_ceil(threads.max(1)).max(1);
    let mut parts: Vec<Vec<Fetched>> = Vec::new();
    let mut it = batch.into_iter().peekable();
    while it.peek().is_some() {
        parts.push(it.by_ref().take(per).collect());
    }
    let handles: Vec<_> = parts
        .into_iter()
        .map(|part| {
            let (app, known) = (app.clone(), known.clone());
            tokio::task::spawn_blocking(move || part.into_iter().map(|f| prepare(&app, f, &known)).collect::<Vec<_>>())
        })
        .collect();
    let mut out = Vec::new();
    for h in handles {
        out.extend(h.await?);
    }
    authenticate_all(app, &mut out).await;
    Ok(out)
}

/// Authenticates every coordinator's mail of a batch, at the same time.
pub async fn authenticate_all(app: &App, batch: &mut [Prepared]) {
    futures::future::join_all(batch.iter_mut().map(|p| authenticate(app, p))).await;
}

//! `secintake import --history PATH...`: archives (`.eml`, Maildir, mbox) stored as history,
//! quietly: threaded like any mail, opened as `historical` cases, nothing sent. Duplicates
//! (by Message-ID, else the hash of the bytes) are skipped, so a second run imports nothing
//! twice and an interrupted one can simply be run again.

use std::path::PathBuf;

use chrono::{DateTime, TimeZone, Utc};

use super::archive::{self, Archived};
use super::ingest::ingest_batch;
use super::prepare::Fetched;
use crate::app::App;
use crate::store::intake::Source;
use crate::store::{Store, StoreError};

/// Messages per transaction.
const BATCH: usize = 100;

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HistoryImport {
    pub imported: usize,
    pub duplicates: usize,
    pub new_cases: usize,
    /// Paths that could not be read as mail, with why.
    pub unreadable: Vec<String>,
}

/// The earliest arrival date believed: older dates are forged or broken.
fn earliest() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(1990, 1, 1, 0, 0, 0)
        .single()
        .expect("a valid date")
}

/// When an archived message reached a mailbox: the mbox `From ` line, else the newest
/// `Received:` date, else `Date:`; a date after `now` or before 1990 is not believed (the
/// next one is tried), and without any, `now`.
pub fn arrival(a: &Archived, now: DateTime<Utc>) -> DateTime<Utc> {
    let believable = |t: DateTime<Utc>| t <= now && t >= earliest();
    let stamp = |ts: i64| Utc.timestamp_opt(ts, 0).single();
    let headers = mail_parser::MessageParser::default().parse_headers(&a.raw);
    let received = headers.as_ref().and_then(|m| {
        m.header_values(mail_parser::HeaderName::Received)
            .filter_map(|v| v.as_received())
            .filter_map(|r| r.date())
            .filter_map(|d| stamp(d.to_timestamp()))
            .filter(|t| believable(*t))
            .max()
    });
    let date = headers
        .as_ref()
        .and_then(|m| m.date())
        .and_then(|d| stamp(d.to_timestamp()));
    [a.envelope_date, received, date]
        .into_iter()
        .flatten()
        .find(|t| believable(*t))
        .unwrap_or(now)
}

/// Imports every message under `paths` as history.
pub async fn import(store: &Store, app: &App, paths: &[PathBuf]) -> Result<HistoryImport, StoreError> {
    let now = app.clock.now();
    let mut out = HistoryImport::default();
    let mut messages: Vec<Archived> = Vec::new();
    for p in paths {
        match archive::read(p) {
            Ok(v) => messages.extend(v),
            Err(e) => out.unreadable.push(e.to_string()),
        }
    }
    // Oldest first, so a thread's first message opens its case and the replies join it.
    let mut dated: Vec<(DateTime<Utc>, Archived)> = messages.into_iter().map(|a| (arrival(&a, now), a)).collect();
    dated.sort_by_key(|(t, _)| *t);
    let src = Source::history();
    let mut it = dated.into_iter().peekable();
    while it.peek().is_some() {
        let batch: Vec<Fetched> = it
            .by_ref()
            .take(BATCH)
            .map(|(t, a)| Fetched {
                uid: 0,
                size: a.raw.len() as u64,
                raw: a.raw,
                truncated: false,
                arrived: Some(t),
            })
            .collect();
        let (o, _) = ingest_batch(store, app, &src, &batch).await?;
        out.imported += o.stored;
        out.duplicates += o.duplicates;
        out.new_cases += o.new_cases.len();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn archived(raw: &str, envelope: Option<&str>) -> Archived {
        Archived {
            origin: "x".into(),
            raw: raw.as_bytes().to_vec(),
            envelope_date: envelope.map(t),
        }
    }

    #[test]
    fn the_arrival_of_an_archived_message_is_bounded() {
        let now = t("2026-12-02T10:00:00Z");
        let received = "Received: from a by mx.example.org; Tue, 14 Mar 2023 09:00:00 +0000\r\n\
Received: from b by relay.example.org; Tue, 14 Mar 2023 08:59:00 +0000\r\n";
        let m = format!("{received}Date: Mon, 13 Mar 2023 00:00:00 +0000\r\nSubject: x\r\n\r\nbody\r\n");
        assert_eq!(arrival(&archived(&m, None), now), t("2023-03-14T09:00:00Z"));
        assert_eq!(
            arrival(&archived(&m, Some("2023-03-15T10:00:00Z")), now),
            t("2023-03-15T10:00:00Z"),
            "the mbox From line wins"
        );
        // Forged dates move nothing: 2099 and 1970 are not believed.
        let forged = "Date: Thu, 01 Jan 2099 00:00:00 +0000\r\nSubject: x\r\n\r\nb\r\n";
        assert_eq!(arrival(&archived(forged, None), now), now);
        let old = "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\nSubject: x\r\n\r\nb\r\n";
        assert_eq!(arrival(&archived(old, None), now), now);
        let dated = "Date: Mon, 13 Mar 2023 00:00:00 +0000\r\nSubject: x\r\n\r\nb\r\n";
        assert_eq!(arrival(&archived(dated, None), now), t("2023-03-13T00:00:00Z"));
    }
}

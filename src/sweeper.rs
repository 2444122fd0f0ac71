//! The deadline sweeper: in one transaction, writes every due reminder, holding
//! acknowledgement, status update and the daily digest to the outbox, with a record of what
//! was written, so nothing goes out twice across restarts or overlapping passes.

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use serde_json::json;

use crate::address::Address;
use crate::app::App;
use crate::case::{CaseId, State};
use crate::clock::stamp;
use crate::outbox::compose::{tagged_subject, Draft};
use crate::outbox::human_duration;
use crate::outbox::templates::ctx;
use crate::policy::{self, Audience, Kind, Reminder, Status};
use crate::store::cases::load_case;
use crate::store::commands::{mail_reporter, render_mail};
use crate::store::deadlines::{open_clocks, record_reminder, sent_reminders, set_reminder_outbox, CaseClock};
use crate::store::outbox::{enqueue, event, Queued};
use crate::store::{Store, StoreError};

/// "due in 6 hours", "overdue by 2 hours": rounded to the nearest unit, since reminders
/// fire a little after the moment they are for ("due in 5 h 59 min 30 s" reads "6 hours").
pub fn when(due: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let words = distance(due, now);
    if due > now {
        format!("due in {words}")
    } else {
        format!("overdue by {words}")
    }
}

/// How far `due` is from `now`, rounded to the nearest unit: "6 hours", "25 days".
pub fn distance(due: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let ms = (due - now).num_milliseconds();
    let abs = ms.unsigned_abs();
    let nearest = |unit_ms: u64| (abs + unit_ms / 2) / unit_ms;
    let secs = if nearest(3_600_000) >= 72 {
        nearest(86_400_000) * 86400
    } else if nearest(60_000) >= 60 {
        nearest(3_600_000) * 3600
    } else if nearest(1000) >= 60 {
        nearest(60_000) * 60
    } else {
        nearest(1000)
    };
    human_duration(std::time::Duration::from_secs(secs.max(1)))
}

/// Is the daily digest due? (at or after `hour` in `tz`, not yet sent that local day)
pub fn digest_due(now: DateTime<Utc>, hour: Option<u32>, last: Option<NaiveDate>, tz: &Tz) -> bool {
    let local = now.with_timezone(tz);
    match hour {
        Some(h) => local.hour() >= h && last != Some(local.date_naive()),
        None => false,
    }
}

/// "Tuesday 24 November 2026, 10:00 UTC", in the calendar's time zone.
pub fn for_people(t: DateTime<Utc>, tz: &Tz) -> String {
    t.with_timezone(tz).format("%A %-d %B %Y, %H:%M %Z").to_string()
}

/// The state in words, for older status_update overrides that use `state_words` (the
/// built-in template words the raw `state` itself).
fn state_words(s: &str) -> &'static str {
    match State::parse(s) {
        Some(State::New) | Some(State::Triage) => "with the team, waiting for a first assessment",
        Some(State::Assessing) => "being assessed by the team",
        Some(State::NeedsInfo) => "waiting for more information from you",
        Some(State::Accepted) => "accepted, and a fix is being planned",
        Some(State::Patching) => "being fixed",
        Some(State::Released) => "fixed, and the advisory is being prepared",
        _ => "being handled",
    }
}

/// Writes every due reminder; returns how many mails were queued.
pub async fn sweep(store: &Store, app: &App) -> Result<usize, StoreError> {
    let now = app.clock.now();
    let mut tx = store.write().await?;
    let mut queued = 0;
    for c in open_clocks(&mut tx).await? {
        let tl = c.timeline();
        let sent = sent_reminders(&mut tx, &c.id).await?;
        for r in policy::due_reminders(&tl, &app.policy, now, &sent) {
            queued += remind(&mut tx, app, &c, &r, now).await?;
        }
        queued += keep_informed_escalation(&mut tx, app, &c, &sent, now).await?;
    }
    queued += daily_digest(&mut tx, app, now, false).await?;
    tx.commit().await?;
    Ok(queued)
}

async fn remind(
    tx: &mut crate::store::WriteTx,
    app: &App,
    c: &CaseClock,
    r: &Reminder,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut n = 0;
    // The reporter hears from us when the human acknowledgement is late (once). As for every
    // reminder, the record comes first: only a new record queues the mail.
    let mut holding_sent = false;
    if r.kind == Kind::Acknowledge
        && r.stage.starts_with("overdue")
        && app.settings.policy.holding_acknowledgement
        && record_reminder(tx, &c.id, "acknowledge", r.due, "holding-ack", now, None).await?
    {
        let case = load_case(tx, &c.id).await?;
        let reply_by = app.policy.calendar.add(now, app.policy.reminder_repeat);
        let mail = ctx::HoldingAcknowledgement {
            acknowledge_within: human_duration(app.settings.policy.acknowledge_within),
            reply_by: for_people(reply_by, &app.policy.tz),
        };
        if mail_reporter(tx, app, &case, mail, "holding-ack", true, now)
            .await?
            .is_some()
        {
            event(
                tx,
                Some(&c.id),
                now,
                "secintake",
                "holding-acknowledgement",
                json!({"due": stamp(r.due), "reply_by": stamp(reply_by)}),
                None,
            )
            .await?;
            holding_sent = true;
            n += 1;
        }
    }
    if !record_reminder(tx, &c.id, r.kind.as_str(), r.due, &r.stage, now, None).await? {
        // Written already (an overlapping pass): nothing to send.
        return Ok(n);
    }
    let coordinator = c.coordinator.as_deref().and_then(|a| Address::parse(a).ok());
    let mut to: Vec<Address> = Vec::new();
    match (r.audience, coordinator) {
        (Audience::Coordinator, Some(a)) => to.push(a),
        (Audience::Both, Some(a)) => {
            to.push(a);
            to.push(app.notify.clone());
        }
        (_, None) => to.push(app.notify.clone()),
    }
    to.dedup();
    let tag = CaseId::parse(&c.id).map(|x| x.tag()).unwrap_or_default();
    let embargo_ends = (r.kind == Kind::Embargo).then(|| r.due.with_timezone(&app.policy.tz).date_naive().to_string());
    let when = match &embargo_ends {
        Some(date) => format!("coming in {} (the embargo ends {date})", distance(r.due, now)),
        None => when(r.due, now),
    };
    let since = policy::deadlines(&c.timeline(), &app.policy, now)
        .into_iter()
        .find(|d| d.kind == r.kind)
        .map(|d| stamp(d.since))
        .unwrap_or_default();
    let reminder = ctx::Reminder {
        case_id: c.id.clone(),
        subject: c.subject.clone(),
        label: r.kind.label().to_string(),
        when,
        distance: distance(r.due, now),
        overdue: now >= r.due,
        embargo_ends,
        due: stamp(r.due),
        what: r.kind.what().to_string(),
        deadline: r.kind.as_str().to_string(),
        state: c.state.clone(),
        reporter: c.reporter.clone(),
        coordinator: c.coordinator.clone(),
        since,
        holding_sent,
    };
    let rendered = render_mail(tx, app, Some(&c.id), &reminder, now).await?;
    let q = enqueue(
        tx,
        app,
        &Draft::internal(
            Some(c.id.clone()),
            "reminder",
            to,
            tagged_subject(&tag, &rendered.subject),
            rendered.body,
        ),
        now,
    )
    .await?;
    if let Queued::Row { id, .. } = q {
        set_reminder_outbox(tx, &c.id, r.kind.as_str(), r.due, &r.stage, id).await?;
    }
    event(
        tx,
        Some(&c.id),
        now,
        "secintake",
        "reminder",
        json!({"deadline": r.kind.as_str(), "due": stamp(r.due), "stage": r.stage}),
        None,
    )
    .await?;
    n += 1;
    Ok(n)
}

/// When keep-informed lapses a second time after the coordinator was reminded, the reporter
/// gets a short automatic status update (configurable).
async fn keep_informed_escalation(
    tx: &mut crate::store::WriteTx,
    app: &App,
    c: &CaseClock,
    sent: &[(String, DateTime<Utc>, String)],
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    if !app.settings.policy.automatic_status_update {
        return Ok(0);
    }
    let Some(d) = policy::deadlines(&c.timeline(), &app.policy, now)
        .into_iter()
        .find(|d| d.kind == Kind::KeepInformed)
    else {
        return Ok(0);
    };
    let reminded = sent
        .iter()
        .any(|(k, due, s)| k == "keep-informed" && *due == d.due && s.starts_with("overdue"));
    if d.status != Status::Overdue || !reminded || now < app.policy.calendar.add(d.due, app.policy.keep_informed_every)
    {
        return Ok(0);
    }
    if !record_reminder(tx, &c.id, "keep-informed", d.due, "status-update", now, None).await? {
        return Ok(0);
    }
    let case = load_case(tx, &c.id).await?;
    let mail = ctx::StatusUpdate {
        state: case.state.clone(),
        state_words: state_words(&case.state).to_string(),
    };
    let sent = mail_reporter(tx, app, &case, mail, "status-update", true, now).await?;
    if sent.is_some() {
        event(
            tx,
            Some(&c.id),
            now,
            "secintake",
            "status-update",
            json!({"why": "keep-informed lapsed twice"}),
            None,
        )
        .await?;
    }
    Ok(usize::from(sent.is_some()))
}

/// The daily digest to the team (`force` sends it now, for `secintake digest`).
pub async fn daily_digest(
    tx: &mut crate::store::WriteTx,
    app: &App,
    now: DateTime<Utc>,
    force: bool,
) -> Result<usize, StoreError> {
    let last: Option<(String,)> = sqlx::query_as("SELECT value FROM service_state WHERE key = 'digest_date'")
        .fetch_optional(&mut **tx)
        .await?;
    let last = last.and_then(|(v,)| NaiveDate::parse_from_str(&v, "%Y-%m-%d").ok());
    if !force && !digest_due(now, app.settings.policy.digest_hour, last, &app.policy.tz) {
        return Ok(0);
    }
    let clocks = open_clocks(tx).await?;
    let open: Vec<&CaseClock> = clocks
        .iter()
        .filter(|c| State::parse(&c.state).is_some_and(|s| !s.is_closed()))
        .collect();
    let mut by_state = Vec::new();
    for s in State::ALL.iter().filter(|s| !s.is_closed()) {
        let n = open.iter().filter(|c| c.state == s.as_str()).count();
        if n > 0 {
            by_state.push(ctx::StateCount {
                state: s.as_str().to_string(),
                count: n,
            });
        }
    }
    let mut overdue = Vec::new();
    let mut due_soon = Vec::new();
    for c in &open {
        for d in policy::deadlines(&c.timeline(), &app.policy, now) {
            let row = ctx::DigestDeadline {
                case_id: c.id.clone(),
                label: d.kind.label().to_string(),
                due: stamp(d.due),
                coordinator: c.coordinator.clone().unwrap_or_else(|| "unassigned".into()),
            };
            match d.status {
                Status::Overdue => overdue.push(row),
                Status::Pending if d.due - now <= chrono::Duration::hours(48) => due_soon.push(row),
                _ => {}
            }
        }
    }
    let waiting: Vec<_> = open
        .iter()
        .filter(|c| c.state == "needs-info")
        .map(|c| ctx::Waiting {
            case_id: c.id.clone(),
            since: c.state_since.clone(),
            subject: c.subject.clone(),
        })
        .collect();
    let digest = ctx::Digest {
        open_total: open.len(),
        by_state,
        overdue,
        due_soon,
        waiting,
    };
    let r = render_mail(tx, app, None, &digest, now).await?;
    enqueue(
        tx,
        app,
        &Draft::internal(None, "digest", vec![app.notify.clone()], r.subject, r.body),
        now,
    )
    .await?;
    sqlx::query("INSERT INTO service_state (key, value, updated_at) VALUES ('digest_date', ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at")
        .bind(now.with_timezone(&app.policy.tz).date_naive().to_string())
        .bind(stamp(now))
        .execute(&mut **tx)
        .await?;
    Ok(1)
}

/// `secintake digest`: queue the digest now.
pub async fn digest_now(store: &Store, app: &App) -> Result<(), StoreError> {
    let mut tx = store.write().await?;
    daily_digest(&mut tx, app, app.clock.now(), true).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn when_reads_well() {
        assert_eq!(
            when(t("2026-11-21T16:00:00Z"), t("2026-11-21T10:00:00Z")),
            "due in 6 hours"
        );
        assert_eq!(
            when(t("2026-11-21T10:00:00Z"), t("2026-11-21T12:20:00Z")),
            "overdue by 2 hours"
        );
    }

    #[test]
    fn when_rounds_to_the_nearest_unit() {
        // A reminder 6 hours before fires a moment later: it still says 6 hours.
        let due = t("2026-11-21T16:00:00Z");
        assert_eq!(when(due, t("2026-11-21T10:00:30Z")), "due in 6 hours");
        assert_eq!(when(due, t("2026-11-21T10:29:00Z")), "due in 6 hours");
        assert_eq!(when(due, t("2026-11-21T10:31:00Z")), "due in 5 hours");
        assert_eq!(when(due, t("2026-11-21T15:00:20Z")), "due in 1 hour");
        assert_eq!(when(due, t("2026-11-21T15:50:20Z")), "due in 10 minutes");
        assert_eq!(when(due, t("2026-11-21T15:59:58Z")), "due in 2 seconds");
        assert_eq!(
            when(t("2026-11-21T10:00:00Z"), t("2026-11-21T12:59:00Z")),
            "overdue by 3 hours"
        );
    }

    #[test]
    fn digest_once_a_day_after_the_hour() {
        let utc = Tz::UTC;
        let today = t("2026-11-21T08:05:00Z");
        assert!(digest_due(today, Some(8), None, &utc));
        assert!(!digest_due(today, Some(9), None, &utc));
        assert!(!digest_due(today, Some(8), Some(today.date_naive()), &utc));
        assert!(digest_due(
            t("2026-11-22T08:00:00Z"),
            Some(8),
            Some(today.date_naive()),
            &utc
        ));
        assert!(!digest_due(today, None, None, &utc));
    }

    #[test]
    fn the_digest_hour_is_in_the_calendar_time_zone() {
        let tokyo: Tz = "Asia/Tokyo".parse().unwrap();
        // 08:00 in Tokyo is 23:00 UTC the day before.
        assert!(digest_due(t("2026-11-20T23:05:00Z"), Some(8), None, &tokyo));
        assert!(!digest_due(t("2026-11-21T07:05:00Z"), Some(8), None, &Tz::UTC));
        assert!(!digest_due(t("2026-11-20T22:55:00Z"), Some(8), None, &tokyo));
        // Sent on the local day 2026-11-21: not again that (local) day.
        let local_day = NaiveDate::from_ymd_opt(2026, 11, 21);
        assert!(!digest_due(t("2026-11-21T10:00:00Z"), Some(8), local_day, &tokyo));
    }
}

/// The sweeper over a real store with an injected clock (no mail stack: the outbox rows are
/// what would be sent).
#[cfg(test)]
mod store_tests {
    use std::sync::Arc;

    use super::*;
    use crate::case::lifecycle::Actor;
    use crate::clock::FixedClock;
    use crate::config::Settings;
    use crate::store::intake::{ingest_batch, Fetched, Source};

    const LIST: &str = "security@example.test";
    const ALICE: &str = "alice@example.test";

    struct W {
        _dir: tempfile::TempDir,
        store: Store,
        app: App,
        clock: FixedClock,
        t0: DateTime<Utc>,
    }

    async fn world(policy: &str) -> W {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("secintake.toml");
        let db = dir.path().join("secintake.db");
        std::fs::write(
            &config,
            format!(
                r#"
[imap]
host = "127.0.0.1"
username = "security"
password = "x"
[smtp]
host = "127.0.0.1"
from = "Security Team <{LIST}>"
[database]
url = "sqlite://{db}"
[team]
list_address = "{LIST}"
notify = "triage@example.test"
coordinators = ["{ALICE}"]
[policy]
digest_hour = "off"
{policy}
"#,
                db = db.display()
            ),
        )
        .unwrap();
        let settings = Settings::load(&config).unwrap();
        let t0 = DateTime::parse_from_rfc3339("2026-11-23T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = FixedClock::new(t0);
        let app = App::with_clock(settings, Arc::new(clock.clone())).unwrap();
        let store = Store::open(&db).await.unwrap_or_else(|e| panic!("{e}"));
        W {
            _dir: dir,
            store,
            app,
            clock,
            t0,
        }
    }

    impl W {
        async fn report(&self, from: &str, name: Option<&str>, mid: &str) -> String {
            let from_h = match name {
                Some(n) => format!("{n} <{from}>"),
                None => from.to_string(),
            };
            let raw = format!(
                "From: {from_h}\r\nTo: {LIST}\r\nSubject: ReDoS in the router\r\nMessage-ID: {mid}\r\nContent-Type: text/plain\r\n\r\nI found a ReDoS in the path matching of express 4.21.1.\r\nSteps to reproduce: app.get('/:a-:b') and curl a long path.\r\nImpact: a denial of service for every user of the application.\r\n"
            );
            let f = Fetched {
                uid: 1,
                size: raw.len() as u64,
                raw: raw.into_bytes(),
                truncated: false,
                arrived: None,
            };
            let (o, _) = ingest_batch(&self.store, &self.app, &Source::import(), &[f])
                .await
                .unwrap();
            o.new_cases[0].clone()
        }

        async fn at(&self, d: chrono::Duration) -> usize {
            self.clock.set(self.t0 + d);
            sweep(&self.store, &self.app).await.unwrap()
        }

        async fn commands(&self, id: &str, lines: &str) {
            let actor = Actor {
                id: ALICE.into(),
                me: Some(ALICE.into()),
            };
            let lines: Vec<String> = lines.lines().map(String::from).collect();
            let out = self.store.run_commands(&self.app, id, &actor, &lines).await.unwrap();
            assert!(out.applied, "{:?}", out.errors);
        }

        /// (kind, recipients, subject, text) of every outbox row.
        async fn outbox(&self) -> Vec<(String, String, String, String)> {
            let rows: Vec<(String, String, String, Vec<u8>)> =
                sqlx::query_as("SELECT kind, recipients, subject, raw FROM outbox ORDER BY id")
                    .fetch_all(&self.store.pool)
                    .await
                    .unwrap();
            rows.into_iter()
                .map(|(k, r, s, raw)| (k, r, s, crate::message::Incoming::parse(&raw).text))
                .collect()
        }

        async fn events(&self, kind: &str) -> Vec<String> {
            let rows: Vec<(String,)> = sqlx::query_as("SELECT detail FROM events WHERE kind = ? ORDER BY id")
                .bind(kind)
                .fetch_all(&self.store.pool)
                .await
                .unwrap();
            rows.into_iter().map(|(d,)| d).collect()
        }
    }

    fn hours(h: i64) -> chrono::Duration {
        chrono::Duration::hours(h)
    }

    #[tokio::test]
    async fn a_reminder_before_the_deadline_goes_to_the_coordinator_and_says_6_hours() {
        let w = world("holding_acknowledgement = false").await;
        let id = w.report("jane@example.net", Some("Jane"), "<r1@example.net>").await;
        w.commands(&id, "/assign me").await;
        // 6 hours before the 48-hour acknowledgement, a sweep a little late.
        w.at(hours(42) + chrono::Duration::seconds(20)).await;
        let reminders: Vec<_> = w.outbox().await.into_iter().filter(|r| r.0 == "reminder").collect();
        assert_eq!(reminders.len(), 1, "{reminders:?}");
        let (_, to, subject, body) = &reminders[0];
        assert_eq!(to, &format!("[\"{ALICE}\"]"));
        assert!(
            subject.starts_with(&format!("[{id}] acknowledgement due in 6 hours")),
            "{subject}"
        );
        assert!(body.contains("/ack") && body.contains("jane@example.net"), "{body}");
    }

    #[tokio::test]
    async fn a_reminder_already_recorded_is_not_queued_again() {
        let w = world("holding_acknowledgement = false").await;
        let id = w.report("jane@example.net", Some("Jane"), "<r2@example.net>").await;
        let now = w.t0 + hours(49);
        w.clock.set(now);
        let clock = {
            let mut tx = w.store.write().await.unwrap();
            let c = open_clocks(&mut tx).await.unwrap().remove(0);
            tx.rollback().await.unwrap();
            c
        };
        let r = policy::due_reminders(&clock.timeline(), &w.app.policy, now, &[])
            .into_iter()
            .find(|r| r.kind == Kind::Acknowledge)
            .expect("acknowledgement overdue");
        // An overlapping pass wrote it already: this pass's view (no reminders sent) is stale.
        let mut tx = w.store.write().await.unwrap();
        assert!(record_reminder(&mut tx, &id, "acknowledge", r.due, &r.stage, now, None)
            .await
            .unwrap());
        assert_eq!(remind(&mut tx, &w.app, &clock, &r, now).await.unwrap(), 0);
        tx.commit().await.unwrap();
        assert!(
            !w.outbox().await.iter().any(|r| r.0 == "reminder"),
            "no second copy of a recorded reminder"
        );
        // And two sweeps at the same moment write it once.
        w.clock.set(w.t0 + hours(74));
        let (a, b) = tokio::join!(sweep(&w.store, &w.app), sweep(&w.store, &w.app));
        a.unwrap();
        b.unwrap();
        let acks = w
            .outbox()
            .await
            .into_iter()
            .filter(|r| r.2.contains("acknowledgement overdue"))
            .count();
        assert_eq!(acks, 1);
    }

    #[tokio::test]
    async fn the_holding_acknowledgement_says_by_when() {
        let w = world("reminder_repeat = \"24h\"").await;
        let id = w.report("jane@example.net", Some("Jane"), "<r3@example.net>").await;
        w.at(hours(48) + chrono::Duration::seconds(30)).await;
        let mails = w.outbox().await;
        let holding = mails.iter().find(|r| r.0 == "holding-ack").expect("holding ack");
        // Reply by: now + reminder_repeat (Wednesday 09:00:30 + 24 h).
        assert!(
            holding.3.contains(&format!(
                "Your report {id} is with the security team; a coordinator will"
            )) && holding.3.contains("reply by Thursday 26 November 2026, 09:00 UTC"),
            "{}",
            holding.3
        );
        assert!(w.events("holding-acknowledgement").await[0].contains("reply_by"));
    }

    #[tokio::test]
    async fn automatic_mail_to_the_reporter_counts_against_the_daily_cap() {
        let w = world("auto_reply_daily_cap = 1\nacknowledge_within = \"2h\"").await;
        w.report("jane@example.net", Some("Jane"), "<r6@example.net>").await;
        // The receipt used the day's one automatic mail: the holding acknowledgement two
        // hours later is suppressed (with an event), not sent around the cap.
        w.at(hours(2) + chrono::Duration::seconds(30)).await;
        let to_jane: Vec<String> = w
            .outbox()
            .await
            .into_iter()
            .filter(|r| r.1.contains("jane@example.net"))
            .map(|r| r.0)
            .collect();
        assert_eq!(to_jane, ["receipt"]);
        let suppressed = w.events("mail-suppressed").await;
        assert!(suppressed.iter().any(|d| d.contains("holding-ack")), "{suppressed:?}");
        assert!(w.events("holding-acknowledgement").await.is_empty());
    }

    #[tokio::test]
    async fn progress_mails_and_credit_without_a_name() {
        let w = world("holding_acknowledgement = false").await;
        let id = w.report("anon@example.net", None, "<r5@example.net>").await;
        let receipt = w.outbox().await.remove(0);
        assert!(
            receipt.3.contains("/credit YOUR NAME") && !receipt.3.contains("as \"anon@example.net\""),
            "{}",
            receipt.3
        );
        w.commands(&id, "/assign me\n/assess\n/accept\n/severity high").await;
        w.commands(&id, "/patch").await;
        w.commands(&id, "/embargo 2026-12-20").await;
        w.commands(&id, "/embargo 2026-12-21\n/quiet").await;
        w.commands(&id, "/released 4.21.3").await;
        w.commands(&id, "/disclose").await;
        let to_reporter: Vec<_> = w
            .outbox()
            .await
            .into_iter()
            .filter(|r| r.1.contains("anon@example.net"))
            .collect();
        let kinds: Vec<&str> = to_reporter.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "receipt",
                "progress",
                "progress",
                "progress",
                "progress",
                "closing-notice"
            ],
            "{to_reporter:#?}"
        );
        assert!(
            to_reporter[3]
                .3
                .contains("A security release is planned for 2026-12-20"),
            "{}",
            to_reporter[3].3
        );
        let closing = &to_reporter[5].3;
        assert!(!closing.contains("anon@example.net"), "{closing}");
        assert!(closing.contains("\"the reporter\", without a name"), "{closing}");
        let d = w.store.case_detail(&id).await.unwrap();
        let v = serde_json::to_value(&d.summary).unwrap();
        assert_eq!(v["credit"], serde_json::Value::Null);
        assert_eq!(v["anonymous"], false);
    }

    #[tokio::test]
    async fn needs_info_then_assess_keeps_the_detailed_response_met() {
        let w = world("holding_acknowledgement = false").await;
        let id = w.report("jane@example.net", Some("Jane"), "<r7@example.net>").await;
        w.commands(&id, "/assign me\n/ack").await;
        w.clock.set(w.t0 + hours(1));
        w.commands(&id, "/needs-info").await;
        w.clock.set(w.t0 + hours(80));
        w.commands(&id, "/assess").await;
        let now = w.t0 + hours(100);
        let open = w.store.open_deadlines(&w.app.policy, now).await.unwrap();
        assert!(!open.iter().any(|d| d.deadline == "detailed-response"), "{open:?}");
        let d = w.store.case_detail(&id).await.unwrap();
        assert_eq!(
            d.summary.detailed_response_at.as_deref(),
            Some(stamp(w.t0 + hours(1)).as_str())
        );
        w.at(hours(100)).await;
        assert!(!w.outbox().await.iter().any(|r| r.2.contains("detailed response")));
    }
}

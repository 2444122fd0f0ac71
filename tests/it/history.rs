//! Adopting a real mailbox, through the real stack: history stays quiet, deadlines count from
//! arrival (INTERNALDATE), late intake is owned up to, archives import quietly.

use crate::common::*;
use chrono::{DateTime, Duration as Days, Utc};
use std::time::Duration;

/// The kinds and recipients of the queued mail (for failure messages).
async fn outbox(w: &World) -> Vec<(String, String, Option<String>)> {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", w.db.display()))
        .await
        .unwrap();
    sqlx::query_as("SELECT kind, recipients, case_id FROM outbox ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap()
}

/// Where `first-start` drew the line between history and new mail in the list mailbox.
async fn history_line(w: &World) -> DateTime<Utc> {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", w.db.display()))
        .await
        .unwrap();
    let (v,): (String,) = sqlx::query_as("SELECT value FROM service_state WHERE key = 'history_before:INBOX'")
        .fetch_one(&pool)
        .await
        .unwrap();
    t(&v)
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// 200 old messages: 50 reports from 2023-2024, each with a reporter's follow-up, a team
/// reply and an auto-reply in its thread; every other one already `\Seen`.
fn old_mailbox() -> Vec<(Vec<u8>, bool, DateTime<Utc>)> {
    let mut v = Vec::new();
    for i in 0..50 {
        let day = t("2023-03-01T09:00:00Z") + Days::days(i * 9);
        let mid = format!("<old-{i}@example.net>");
        let who = format!("reporter{i}@example.net");
        let seen = i % 2 == 0;
        v.push((
            report(&who, &format!("Old report {i}"), &mid, COMPLETE_BODY).into_bytes(),
            seen,
            day,
        ));
        let follow = reply(
            &who,
            LIST,
            &format!("Re: Old report {i}"),
            &format!("<old-{i}-f@example.net>"),
            &mid,
            "",
            "More details.",
        );
        v.push((follow.into_bytes(), seen, day + Days::hours(5)));
        let team = reply(
            ALICE,
            &who,
            &format!("Re: Old report {i}"),
            &format!("<old-{i}-t@example.test>"),
            &mid,
            "",
            "Thanks, we are on it.\n/accept",
        );
        v.push((team.into_bytes(), seen, day + Days::hours(30)));
        let auto = format!(
            "From: {who}\r\nTo: {LIST}\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\nIn-Reply-To: <old-{i}-t@example.test>\r\nMessage-ID: <old-{i}-a@example.net>\r\n\r\nAway.\r\n"
        );
        v.push((auto.into_bytes(), seen, day + Days::hours(31)));
    }
    v
}

#[tokio::test]
async fn a_mailbox_with_history_is_adopted_quietly_and_later_mail_is_answered() {
    let w = World::with("[imap]\nhistory_before = \"first-start\"\n");
    let old = old_mailbox();
    assert_eq!(old.len(), 200);
    w.deliver_dated(&old).await;
    w.once();
    // Nothing is sent for history: no receipt, notice, reminder or confirmation.
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM outbox").await,
        0,
        "mail queued for history: {:?}",
        &outbox(&w).await[..3]
    );
    assert_eq!(w.db_count("SELECT COUNT(*) FROM messages").await, 200);
    assert!(w.cases().is_empty(), "`cases` hides the history");
    let all: Vec<serde_json::Value> = serde_json::from_str(&w.run(&["cases", "--all", "--json"])).unwrap();
    assert_eq!(all.len(), 50);
    assert!(all.iter().all(|c| c["state"] == "historical"));
    let historical: Vec<serde_json::Value> =
        serde_json::from_str(&w.run(&["cases", "--state", "historical", "--json"])).unwrap();
    assert_eq!(historical.len(), 50);
    // Threads joined their case: report, follow-up, team reply and the auto-reply.
    let first = all.iter().find(|c| c["subject"] == "Old report 0").unwrap();
    assert_eq!(first["message_count"], 4);
    // It opened when it reached the mailbox, in 2023, and its id says so.
    assert_eq!(first["opened_at"], "2023-03-01T09:00:00.000Z");
    assert!(
        first["id"].as_str().unwrap().starts_with("SEC-2023-"),
        "{}",
        first["id"]
    );
    // No command of the history ran (the team's `/accept`).
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM events WHERE kind IN ('state', 'commands-refused', 'commands-rejected')")
            .await,
        0
    );
    // Nothing is due for the history: the deadline sweep sends nothing either.
    w.once();
    assert_eq!(w.db_count("SELECT COUNT(*) FROM outbox").await, 0);

    // The reporter of an old case writes again after the start: a follow-up of that case,
    // the team is told, no second case, no receipt. It reaches the mailbox in the very second
    // of the first start (INTERNALDATE has no fractions of a second): that is not history.
    let id = first["id"].as_str().unwrap().to_string();
    let line = history_line(&w).await;
    assert_eq!(line.timestamp_subsec_nanos(), 0, "the line is to the second: {line}");
    let again = reply(
        "reporter0@example.net",
        LIST,
        "Re: Old report 0",
        "<old-0-again@example.net>",
        "<old-0@example.net>",
        "",
        "Is this fixed yet?",
    );
    w.deliver_dated(&[(again.into_bytes(), false, line)]).await;
    w.once();
    let c = w.case(&id);
    assert_eq!(c["message_count"], 5);
    assert_eq!(c["state"], "historical");
    let team = w.wait_mail("triage", 1, Duration::from_secs(30)).await;
    assert_eq!(
        team.len(),
        1,
        "{:?}",
        team.iter().map(|m| m.subject()).collect::<Vec<_>>()
    );
    assert!(team[0].subject().contains(&id), "{}", team[0].subject());
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM outbox WHERE recipients LIKE '%reporter0@%'")
            .await,
        0,
        "no receipt for an old case"
    );
    // The team can reopen it.
    w.run(&["case", &id, "state", "reopen"]);
    assert_eq!(w.case(&id)["state"], "new");

    // A new report after the start is answered as always.
    w.deliver(&report(REPORTER, "New issue", "<new-1@example.test>", COMPLETE_BODY))
        .await;
    w.once();
    let receipts = w.wait_mail("reporter", 1, Duration::from_secs(10)).await;
    assert_eq!(receipts.len(), 1);
    assert!(
        receipts[0].body().contains("personally within"),
        "{}",
        receipts[0].body()
    );
    assert_eq!(w.cases().len(), 2, "the new report and the reopened case");
}

#[tokio::test]
async fn deadlines_count_from_arrival_and_late_intake_is_owned_up_to() {
    let w = World::new();
    let now = Utc::now();
    let three_days_ago = now - Days::days(3);
    let forged_past = report(REPORTER, "Dated 1970", "<d1970@example.test>", COMPLETE_BODY)
        .replace("Sat, 21 Nov 2026 10:00:00 +0000", "Thu, 01 Jan 1970 00:00:00 +0000");
    let forged_future = report(REPORTER, "Dated 2099", "<d2099@example.test>", COMPLETE_BODY)
        .replace("Sat, 21 Nov 2026 10:00:00 +0000", "Thu, 01 Jan 2099 00:00:00 +0000");
    w.deliver_dated(&[
        (
            report(REPORTER, "Three days old", "<late@example.test>", COMPLETE_BODY).into_bytes(),
            false,
            three_days_ago,
        ),
        (forged_past.into_bytes(), false, now),
        (forged_future.into_bytes(), false, now),
    ])
    .await;
    w.once();
    let cases = w.cases();
    let case = |s: &str| cases.iter().find(|c| c["subject"] == s).unwrap().clone();
    // opened_at is when it reached the mailbox (to the second INTERNALDATE has).
    let late = case("Three days old");
    let opened = t(late["opened_at"].as_str().unwrap());
    assert!(
        (opened - three_days_ago).num_seconds().abs() <= 1,
        "{opened} vs {three_days_ago}"
    );
    // A forged Date: moves nothing.
    for s in ["Dated 1970", "Dated 2099"] {
        let o = t(case(s)["opened_at"].as_str().unwrap());
        assert!((o - now).num_seconds().abs() <= 5, "{s}: opened {o}");
    }
    // The acknowledgement is overdue and the deadlines say so.
    let dl: Vec<serde_json::Value> = serde_json::from_str(&w.run(&["deadlines", "--json"])).unwrap();
    let ack: Vec<&serde_json::Value> = dl
        .iter()
        .filter(|d| d["case_id"] == late["id"] && d["deadline"] == "acknowledge")
        .collect();
    assert_eq!(ack.len(), 1, "{dl:?}");
    assert_eq!(ack[0]["status"], "overdue", "{:?}", ack[0]);
    // The team is reminded in the same pass, not 48 hours later.
    let team = w.wait_mail("triage", 5, Duration::from_secs(10)).await;
    let subjects: Vec<String> = team.iter().map(|m| m.subject()).collect();
    let id = late["id"].as_str().unwrap();
    assert!(
        subjects
            .iter()
            .any(|s| s.contains(id) && s.contains("acknowledgement overdue")),
        "{subjects:?}"
    );
    // The notice says how long ago it arrived.
    let notice = team
        .iter()
        .find(|m| m.subject().contains(id) && m.subject().contains("New report"))
        .unwrap();
    assert!(notice.body().contains("3 days ago"), "{}", notice.body());
    // The receipt says when it arrived and promises no time that has passed.
    let mails = w.wait_mail("reporter", 3, Duration::from_secs(10)).await;
    let receipt = mails.iter().find(|m| m.subject().contains(id)).unwrap();
    let body = receipt.body();
    assert!(body.contains("reached our mailbox on"), "{body}");
    assert!(body.contains("as soon as possible"), "{body}");
    assert!(!body.contains("personally within"), "{body}");
    // The fresh ones promise the usual 48 hours.
    let fresh = mails.iter().find(|m| m.subject().contains("Dated 1970")).unwrap();
    assert!(!fresh.body().contains("reached our mailbox on"), "{}", fresh.body());
    assert!(fresh.body().contains("personally within"), "{}", fresh.body());
    // status reports the delay.
    let s: serde_json::Value = serde_json::from_str(&w.run(&["status", "--json"])).unwrap();
    let delay = s["max_delay_24h_seconds"].as_i64().unwrap();
    assert!(delay >= 3 * 86400 - 5, "{s}");
    assert_eq!(s["intake_lag_seconds"], 0, "{s}");
}

/// Writes an mbox with Python's `mailbox` module (the reader on the other side).
fn python_mbox(path: &std::path::Path) {
    let script = r#"
import mailbox, sys, email.utils
box = mailbox.mbox(sys.argv[1])
for i in range(3):
    m = mailbox.mboxMessage()
    m['From'] = 'Old Reporter <old%d@example.net>' % i
    m['To'] = 'security@example.test'
    m['Subject'] = 'Archived report %d' % i
    m['Message-ID'] = '<archived-%d@example.net>' % i
    m['Date'] = 'Tue, 14 Mar 2023 09:0%d:00 +0000' % i
    m.set_from('old%d@example.net' % i, (2023, 3, 14, 9, i, 0, 1, 73, 0))
    m.set_payload('Hello,\n\nFrom the start this was broken in express 4.18.\nSteps: run it.\nImpact: denial of service.\n')
    box.add(m)
box.flush()
box.close()
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(path)
        .output()
        .expect("python3 (scripts/setup-debian.sh installs it)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn archives_import_quietly_and_only_once() {
    let w = World::new();
    let mbox = w.dir.path().join("list.mbox");
    python_mbox(&mbox);
    assert!(
        std::fs::read_to_string(&mbox).unwrap().contains("\n>From the start"),
        "Python quoted the body line"
    );
    // A Maildir written by Dovecot itself: the reporter user's mailbox of the stack.
    let mut s = imap_login(w.stack.port("IMAP_PORT"), "reporter").await;
    for i in 0..2 {
        let raw = reply(
            &format!("old{i}@example.net"),
            LIST,
            &format!("Re: Archived report {i}"),
            &format!("<archived-{i}-reply@example.net>"),
            &format!("<archived-{i}@example.net>"),
            "",
            "A follow-up from the archive.",
        );
        s.append(
            "INBOX",
            Some("(\\Seen)"),
            Some("\"15-Mar-2023 10:00:00 +0000\""),
            raw.as_bytes(),
        )
        .await
        .unwrap();
    }
    let _ = s.logout().await;
    let maildir = std::path::PathBuf::from(w.stack.get("MAILSTACK_DIR")).join("mail/reporter/Maildir");
    assert!(
        maildir.join("cur").is_dir() || maildir.join("new").is_dir(),
        "{}",
        maildir.display()
    );

    w.run(&["migrate"]); // only `run` and `migrate` create a database
    let out = w.run(&["import", "--history", mbox.to_str().unwrap(), maildir.to_str().unwrap()]);
    assert!(
        out.contains("5 imported as history (3 new case(s)), 0 skipped"),
        "{out}"
    );
    let again = w.run(&["import", "--history", mbox.to_str().unwrap(), maildir.to_str().unwrap()]);
    assert!(
        again.contains("0 imported as history (0 new case(s)), 5 skipped"),
        "{again}"
    );
    assert_eq!(w.db_count("SELECT COUNT(*) FROM outbox").await, 0);
    // The daily list leaves the history out; --all shows it.
    let listed: Vec<serde_json::Value> = serde_json::from_str(&w.run(&["cases", "--json"])).unwrap();
    assert!(listed.is_empty(), "{listed:?}");
    // Mail of 2023 imported today is no intake delay.
    // (exit 1 is fine here: the daemon has not run yet)
    let out = w.output(&["status", "--json", "--offline"]);
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(s["max_delay_24h_seconds"].is_null(), "{s}");
    let all: Vec<serde_json::Value> = serde_json::from_str(&w.run(&["cases", "--all", "--json"])).unwrap();
    assert_eq!(all.len(), 3);
    for c in &all {
        assert_eq!(c["state"], "historical");
        assert_eq!(
            c["message_count"],
            if c["subject"] == "Archived report 2" { 1 } else { 2 }
        );
        assert!(c["opened_at"].as_str().unwrap().starts_with("2023-03-14T09:0"), "{c}");
    }
    // `>From` quoting is undone: the stored report reads as it was written.
    let n = w
        .db_count("SELECT COUNT(*) FROM messages WHERE CAST(raw AS TEXT) LIKE '%' || char(10) || 'From the start%'")
        .await;
    assert_eq!(n, 3);
    w.once();
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM outbox").await,
        0,
        "nothing is ever sent for history: {:?}",
        outbox(&w).await
    );
}

#[tokio::test]
async fn an_explicit_history_line_keeps_older_mail_quiet_and_answers_newer_mail() {
    let w = World::with("[imap]\nhistory_before = \"2025-06-01T00:00:00Z\"\n");
    let line = t("2025-06-01T00:00:00Z");
    w.deliver_dated(&[
        (
            report(
                "old@example.net",
                "Before the line",
                "<line-old@example.net>",
                COMPLETE_BODY,
            )
            .into_bytes(),
            false,
            line - Days::seconds(1),
        ),
        (
            report(
                "new@example.net",
                "At the line",
                "<line-new@example.net>",
                COMPLETE_BODY,
            )
            .into_bytes(),
            false,
            line,
        ),
    ])
    .await;
    w.once();
    let cases: Vec<serde_json::Value> = serde_json::from_str(&w.run(&["cases", "--all", "--json"])).unwrap();
    let state = |who: &str| {
        cases
            .iter()
            .find(|c| c["reporter"] == who)
            .map(|c| c["state"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("no case of {who}: {cases:?}"))
    };
    assert_eq!(state("old@example.net"), "historical");
    assert_eq!(state("new@example.net"), "new");
    // Only the mail at the line is answered: one receipt, to its reporter.
    let receipts: Vec<_> = outbox(&w)
        .await
        .into_iter()
        .filter(|(k, _, _)| k == "receipt")
        .collect();
    assert_eq!(receipts.len(), 1, "{receipts:?}");
    assert!(receipts[0].1.contains("new@example.net"), "{receipts:?}");
}

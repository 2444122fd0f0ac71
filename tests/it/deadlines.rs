//! Deadlines through the real mail stack, with second-scale durations: reminders go out once,
//! repeat while overdue, stop when the deadline is met, and survive restarts without duplicates.

use crate::common::*;
use std::time::{Duration, Instant};

const FAST: &str = "[policy]
assign_within = \"1h\"
acknowledge_within = \"3s\"
detailed_response_within = \"1h\"
invalid_notice_within = \"1h\"
keep_informed_every = \"1h\"
remind_before = \"0s\"
reminder_repeat = \"5s\"
holding_acknowledgement = false
digest_hour = \"off\"
";

fn ack_reminders(mails: &[Mail]) -> Vec<String> {
    mails
        .iter()
        .map(|m| m.subject())
        .filter(|s| s.contains("acknowledgement overdue"))
        .collect()
}

async fn wait_for<F: Fn(&[Mail]) -> bool>(w: &World, user: &str, limit: Duration, f: F) -> Vec<Mail> {
    let start = Instant::now();
    loop {
        let m = w.mailbox(user).await;
        if f(&m) || start.elapsed() > limit {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unacknowledged_case_is_reminded_once_then_repeatedly_until_answered() {
    let w = World::with(FAST);
    // Deadlines count from arrival (IMAP INTERNALDATE, whole seconds): the clock starts
    // before the delivery, and the deadline may be up to 1 s earlier than the exact arrival.
    let t0 = Instant::now();
    w.deliver(&report(REPORTER, "XSS in res.send", "<d1@example.test>", COMPLETE_BODY))
        .await;
    let mut d = w.spawn();

    // First reminder after about 3 s, to the team (nobody is assigned).
    let m = wait_for(&w, "triage", Duration::from_secs(15), |m| !ack_reminders(m).is_empty()).await;
    let first = ack_reminders(&m);
    assert_eq!(first.len(), 1, "{first:?}\n{}", d.log());
    assert!(t0.elapsed() >= Duration::from_secs(2), "not before the deadline");
    assert!(first[0].contains("[SEC-"), "{first:?}");
    let body = m
        .iter()
        .find(|x| x.subject().contains("acknowledgement overdue"))
        .unwrap()
        .body();
    assert!(
        body.contains(REPORTER) && body.contains("/ack"),
        "what is due, the reporter, the command: {body}"
    );

    // A restart right away sends no duplicate.
    d.kill9();
    let d2 = w.spawn();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        ack_reminders(&w.mailbox("triage").await).len(),
        1,
        "no duplicate after a restart\n{}",
        d2.log()
    );

    // Repeated after reminder_repeat (5 s) while overdue.
    let m = wait_for(&w, "triage", Duration::from_secs(15), |m| ack_reminders(m).len() >= 2).await;
    assert_eq!(ack_reminders(&m).len(), 2, "{}", d2.log());

    // The coordinator answers the reporter: no more acknowledgement reminders.
    let id = w.cases()[0]["id"].as_str().unwrap().to_string();
    let ack = reply(
        ALICE,
        &format!("{REPORTER}\r\nCc: {LIST}"),
        &format!("Re: [{id}] XSS"),
        "<ack1@example.test>",
        "<d1@example.test>",
        &authenticated("example.test"),
        "We are on it.",
    );
    w.deliver(&ack).await;
    let start = Instant::now();
    while w.cases()[0]["acknowledged_at"].is_null() {
        assert!(start.elapsed() < Duration::from_secs(10), "{}", d2.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let n = ack_reminders(&w.mailbox("triage").await).len();
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(
        ack_reminders(&w.mailbox("triage").await).len(),
        n,
        "reminders stop once acknowledged"
    );
    assert!(n <= 3);
    drop(d2);

    // The timeline shows the reminders.
    let events = w.case(&id)["events"].as_array().unwrap().clone();
    let stages: Vec<String> = events
        .iter()
        .filter(|e| e["kind"] == "reminder")
        .map(|e| e["detail"]["stage"].as_str().unwrap().to_string())
        .collect();
    assert!(
        stages.starts_with(&["overdue-1".to_string(), "overdue-2".to_string()]),
        "{stages:?}"
    );
    // The case's timeline with its reminders (shown with --nocapture).
    eprintln!("{}", w.run(&["case", &id]));
}

#[tokio::test(flavor = "multi_thread")]
async fn deadlines_and_the_digest_show_the_right_counts() {
    let w = World::with(FAST);
    for i in 0..3 {
        w.deliver(&report(
            REPORTER,
            &format!("Report {i}"),
            &format!("<g{i}@example.test>"),
            COMPLETE_BODY,
        ))
        .await;
    }
    w.once();
    let cases = w.cases();
    let ids: Vec<String> = cases.iter().map(|c| c["id"].as_str().unwrap().to_string()).collect();
    w.run(&["case", &ids[0], "assign", ALICE]);
    w.run(&["case", &ids[1], "assign", BOB]);
    w.run(&["case", &ids[1], "state", "needs-info"]);

    let d: serde_json::Value = serde_json::from_str(&w.run(&["deadlines", "--json"])).unwrap();
    let d = d.as_array().unwrap();
    let dues: Vec<&str> = d.iter().map(|x| x["due"].as_str().unwrap()).collect();
    let mut sorted = dues.clone();
    sorted.sort();
    assert_eq!(dues, sorted, "soonest first");
    assert!(d
        .iter()
        .any(|x| x["deadline"] == "needs-info-nudge" && x["case_id"] == ids[1].as_str()));
    assert!(
        !d.iter()
            .any(|x| x["deadline"] == "assign" && x["case_id"] == ids[0].as_str()),
        "met deadlines are not open"
    );

    tokio::time::sleep(Duration::from_secs(4)).await; // the acknowledgement (3 s) is now overdue everywhere
    w.run(&["digest"]);
    w.once();
    let digest = w
        .wait_mail("triage", 1, Duration::from_secs(5))
        .await
        .into_iter()
        .find(|m| m.subject().contains("Daily digest"))
        .expect("digest")
        .body();
    assert!(
        digest.contains("triage      1") || digest.contains("triage 1"),
        "{digest}"
    );
    assert!(digest.contains("new         1"), "{digest}");
    assert!(digest.contains("needs-info  1"), "{digest}");
    assert_eq!(digest.matches("acknowledgement overdue since").count(), 3, "{digest}");
    let waiting = digest.split("Waiting on the reporter").nth(1).unwrap();
    assert!(waiting.contains(&ids[1]) && !waiting.contains(&ids[0]), "{digest}");

    let status = w.output(&["status", "--json"]);
    let s: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(s["open_cases"], 3);
    assert_eq!(s["overdue_deadlines"], 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reminder_before_the_deadline_goes_to_the_assigned_coordinator() {
    let w = World::with(
        "[policy]
assign_within = \"1h\"
acknowledge_within = \"8s\"
detailed_response_within = \"1h\"
invalid_notice_within = \"1h\"
keep_informed_every = \"1h\"
remind_before = \"6s\"
reminder_repeat = \"1h\"
holding_acknowledgement = false
digest_hour = \"off\"
",
    );
    w.deliver(&report(
        REPORTER,
        "Header injection",
        "<b1@example.test>",
        COMPLETE_BODY,
    ))
    .await;
    w.once();
    let id = w.cases()[0]["id"].as_str().unwrap().to_string();
    w.run(&["case", &id, "assign", ALICE]);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    w.once();
    let m = w.wait_mail("alice", 1, Duration::from_secs(5)).await;
    let before: Vec<String> = m
        .iter()
        .map(|x| x.subject())
        .filter(|s| s.contains("acknowledgement due in"))
        .collect();
    assert_eq!(
        before.len(),
        1,
        "{:?}",
        m.iter().map(|x| x.subject()).collect::<Vec<_>>()
    );
    // Sent a few seconds before the deadline (8 s after the report reached the mailbox),
    // saying how far it was when it was written, rounded to the second.
    let opened = chrono::DateTime::parse_from_rfc3339(w.case(&id)["opened_at"].as_str().unwrap()).unwrap();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", w.db.display()))
        .await
        .unwrap();
    let (written,): (String,) = sqlx::query_as("SELECT created_at FROM outbox WHERE kind = 'reminder'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let written = chrono::DateTime::parse_from_rfc3339(&written).unwrap();
    let left = (opened + chrono::Duration::seconds(8) - written).num_milliseconds();
    assert!(left > 0, "written {written}, after the deadline {opened} + 8 s");
    let seconds = (left + 500) / 1000;
    assert!(
        before[0].starts_with(&format!("[{id}] acknowledgement due in {seconds} second")),
        "{before:?}: {left} ms before the deadline"
    );
    // Not to the team: the case has a coordinator and nothing is overdue.
    assert!(!w
        .mailbox("triage")
        .await
        .iter()
        .any(|x| x.subject().contains("acknowledgement due in")));
}

#[tokio::test(flavor = "multi_thread")]
async fn two_passes_at_the_same_moment_send_one_reminder() {
    let w = World::with(FAST);
    w.deliver(&report(REPORTER, "Overlap", "<o1@example.test>", COMPLETE_BODY))
        .await;
    w.once();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let a = w.cmd().args(["run", "--once"]).spawn().unwrap();
    let b = w.cmd().args(["run", "--once"]).spawn().unwrap();
    assert!(a.wait_with_output().unwrap().status.success());
    assert!(b.wait_with_output().unwrap().status.success());
    let m = wait_for(&w, "triage", Duration::from_secs(5), |m| !ack_reminders(m).is_empty()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let m = if ack_reminders(&m).len() == 1 {
        w.mailbox("triage").await
    } else {
        m
    };
    assert_eq!(ack_reminders(&m).len(), 1, "{:?}", ack_reminders(&m));
    let id = w.cases()[0]["id"].as_str().unwrap().to_string();
    let reminders = w.case(&id)["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "reminder")
        .count();
    assert_eq!(reminders, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn embargo_reminders_go_to_the_coordinator_and_the_team_and_stop_when_closed() {
    let w = World::with(
        "[policy]
embargo_reminders = [\"30d\", \"20d\"]
holding_acknowledgement = false
digest_hour = \"off\"
",
    );
    w.deliver(&report(REPORTER, "Embargoed", "<e1@example.test>", COMPLETE_BODY))
        .await;
    w.deliver(&report(
        "reporter2@example.test",
        "Dismissed",
        "<e2@example.test>",
        COMPLETE_BODY,
    ))
    .await;
    w.once();
    let cases = w.cases();
    let id_of = |s: &str| {
        cases.iter().find(|c| c["subject"] == s).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (open, closed) = (id_of("Embargoed"), id_of("Dismissed"));
    let date = (chrono::Utc::now() + chrono::Duration::days(25))
        .date_naive()
        .to_string();
    for (id, last) in [(&open, "/accept"), (&closed, "/invalid not a vulnerability")] {
        w.run(&["case", id, "assign", ALICE]);
        w.run(&["case", id, "command", &format!("/embargo {date}")]);
        w.run(&["case", id, "command", "/assess"]);
        w.run(&["case", id, "command", last]);
    }
    w.once();
    let alice = w.wait_mail("alice", 1, Duration::from_secs(5)).await;
    let embargo: Vec<String> = alice
        .iter()
        .map(|m| m.subject())
        .filter(|s| s.contains("embargo end coming"))
        .collect();
    assert_eq!(embargo.len(), 1, "one reminder, for the open case only: {embargo:?}");
    assert!(
        embargo[0].starts_with(&format!("[{open}] embargo end coming in")),
        "{embargo:?}"
    );
    let team = w.mailbox("triage").await;
    assert!(team.iter().any(|m| m.subject() == embargo[0]), "the team gets it too");
    assert!(!team
        .iter()
        .any(|m| m.subject().contains(&closed) && m.subject().contains("embargo")));
    // The open case's timeline, with its reminders, for the record.
    eprintln!("{}", w.run(&["case", &open]));
}

/// The policy the round-two database in `tests/data/round2-reminders.sql` was made with
/// (by the round-two binary: two reports imported, one assigned with `/embargo 2035-06-01`,
/// then `run --once` three seconds later). Repeats and the other deadlines are years away,
/// so every reminder that is due now was already written by that binary.
const ROUND2_POLICY: &str = "[policy]
assign_within = \"1s\"
acknowledge_within = \"2s\"
remind_before = \"1s\"
reminder_repeat = \"3650d\"
invalid_notice_within = \"3650d\"
keep_informed_every = \"3650d\"
needs_info_nudge_after = \"3650d\"
detailed_response_within = \"3650d\"
embargo_reminders = [\"3650d\"]
digest_hour = \"off\"
";

#[tokio::test]
async fn a_database_made_by_round_two_sends_no_reminder_twice_after_the_upgrade() {
    use sqlx::Connection as _;
    let w = World::with(ROUND2_POLICY);
    std::fs::create_dir_all(w.db.parent().unwrap()).unwrap();
    let dump =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/round2-reminders.sql")).unwrap();
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", w.db.display()))
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(dump)).execute(&mut c).await.unwrap();
    c.close().await.unwrap();
    let stages = "SELECT COUNT(*) FROM reminders WHERE stage IN ('overdue-1', 'holding-ack', 'embargo-3650days')";
    assert_eq!(w.db_count(stages).await, 6, "the fixture holds round two's reminders");
    assert_eq!(w.db_count("SELECT COUNT(*) FROM outbox").await, 10);
    w.once();
    w.once();
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM reminders").await,
        6,
        "no new reminder record"
    );
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM outbox").await,
        10,
        "no new mail queued"
    );
    // What round two queued (and could not send) goes out now, once.
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL")
            .await,
        10
    );
    let alice = w.wait_mail("alice", 2, Duration::from_secs(10)).await;
    let embargo: Vec<String> = alice
        .iter()
        .map(|m| m.subject())
        .filter(|s| s.contains("embargo"))
        .collect();
    assert_eq!(embargo.len(), 1, "{embargo:?}");
}

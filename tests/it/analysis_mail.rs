//! Analysis through the real mail stack: robots get no answer, a link-only report is asked
//! for the body, a premature disclosure is flagged at the top of the team notice.

use crate::common::*;
use std::time::Duration;

fn fixture(prefix: &str) -> Vec<u8> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let p = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name().unwrap().to_string_lossy().starts_with(prefix) && p.extension().is_some_and(|e| e == "eml")
        })
        .unwrap();
    std::fs::read(p).unwrap()
}

/// A Postfix-style RFC 3464 bounce of the message `returned_id`, addressed to the list.
fn bounce_of(returned_id: &str, subject: &str) -> String {
    format!(
        "Return-Path: <>\r\nFrom: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\nTo: {LIST}\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bounce-1@mx.example.net>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nThis is the mail system. Your message could not be delivered.\r\n\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\nFinal-Recipient: rfc822; gone@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--B\r\nContent-Type: message/rfc822\r\n\r\nFrom: {LIST}\r\nTo: gone@example.net\r\nSubject: {subject}\r\nMessage-ID: {returned_id}\r\n\r\nYour report ...\r\n--B--\r\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn robots_open_no_case_and_get_no_answer_but_a_bounce_joins_its_case() {
    let w = World::new();
    // A report from someone whose mailbox then bounces our receipt.
    w.deliver(&report(
        "gone@example.net",
        "Cookie injection",
        "<g1@example.net>",
        COMPLETE_BODY,
    ))
    .await;
    w.once();
    let id = w.cases()[0]["id"].as_str().unwrap().to_string();
    let detail = w.case(&id);
    let receipt_id = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "receipt")
        .unwrap()["message_id"]
        .as_str()
        .unwrap()
        .to_string();

    w.deliver(&bounce_of(&receipt_id, &format!("[{id}] Re: Cookie injection")))
        .await;
    w.deliver_bytes(&fixture("36-")).await; // out-of-office (RFC 3834)
    w.deliver_bytes(&fixture("38-")).await; // ticket system, Precedence: bulk
    w.deliver_bytes(&fixture("44-")).await; // qmail bounce of an unknown receipt
    let sent_before = w.db_count("SELECT COUNT(*) FROM outbox").await;
    w.once();

    assert_eq!(w.cases().len(), 1, "robots open no case");
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM outbox").await,
        sent_before,
        "robots get no answer"
    );
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM messages").await,
        5,
        "every message is stored"
    );
    let d = w.case(&id);
    let kinds: Vec<&str> = d["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "in")
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec!["report", "bounce"],
        "the bounce of our receipt joins its case"
    );
    assert!(d["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "bounce-received"));
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM messages WHERE case_id IS NULL AND kind IN ('auto-reply', 'bounce')")
            .await,
        3
    );
    // Automatic mail that matches no case does not vanish: `status` counts it.
    let status: serde_json::Value =
        serde_json::from_slice(&w.output(&["status", "--json"]).stdout).expect("status --json");
    assert_eq!(status["automatic_without_case_24h"], 3, "{status}");
}

/// `report()` with extra header lines before the body.
fn report_with(from: &str, subject: &str, message_id: &str, extra: &str) -> String {
    report(from, subject, message_id, COMPLETE_BODY).replacen("MIME-Version:", &format!("{extra}MIME-Version:"), 1)
}

#[tokio::test(flavor = "multi_thread")]
async fn reports_that_look_automatic_open_cases_but_our_own_loop_does_not() {
    let w = World::new();
    // A subject starting with "Absence", and a sender called bouncer@: people, not robots.
    w.deliver(&report(
        REPORTER,
        "Absence of CSRF protection in express-session",
        "<h1@example.test>",
        COMPLETE_BODY,
    ))
    .await;
    w.deliver(&report(
        "bouncer@example.test",
        "Vacation-app XSS via res.jsonp",
        "<h2@example.test>",
        COMPLETE_BODY,
    ))
    .await;
    // A list manager stamping X-Loop: <the list> on relayed mail: still a report.
    w.deliver(&report_with(
        "reporter2@example.test",
        "ReDoS relayed by the list",
        "<h3@example.test>",
        &format!("X-Loop: {LIST}\r\nList-Id: <security.example.test>\r\n"),
    ))
    .await;
    // Our own loop id: never a case, never answered.
    w.deliver(&report_with(
        REPORTER,
        "looped back",
        "<h4@example.test>",
        "X-Loop: secintake@example.test\r\n",
    ))
    .await;
    w.once();
    let mut subjects: Vec<String> = w
        .cases()
        .iter()
        .map(|c| c["subject"].as_str().unwrap().to_string())
        .collect();
    subjects.sort();
    assert_eq!(
        subjects,
        vec![
            "Absence of CSRF protection in express-session",
            "ReDoS relayed by the list",
            "Vacation-app XSS via res.jsonp"
        ]
    );
    let receipts = w.wait_mail("reporter", 1, Duration::from_secs(5)).await;
    assert_eq!(receipts.len(), 1, "one receipt, none for the looped mail");
    assert!(
        receipts[0].subject().contains("Absence of CSRF"),
        "{}",
        receipts[0].subject()
    );
    assert_eq!(
        receipts[0].header("X-Loop").as_deref().map(str::trim),
        Some("secintake@example.test")
    );
    let r2 = w.wait_mail("reporter2", 1, Duration::from_secs(5)).await;
    assert!(r2[0].subject().contains("ReDoS relayed by the list"));
    let notices = w.wait_mail("triage", 3, Duration::from_secs(5)).await;
    let new_reports = notices.iter().filter(|n| n.subject().contains("New report:")).count();
    assert_eq!(new_reports, 3, "the team hears of all three");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_link_only_report_is_asked_for_the_body_and_public_links_are_flagged() {
    let w = World::new();
    w.deliver(&report(
        REPORTER,
        "Vulnerability",
        "<l1@example.test>",
        "Hi,\n\nplease see my report here: https://gist.github.com/someone/0123456789abcdef\n\nThanks",
    ))
    .await;
    w.deliver(&report(
        "reporter2@example.test",
        "ReDoS, also filed publicly",
        "<l2@example.test>",
        &format!("{COMPLETE_BODY}\n\nI also opened https://github.com/expressjs/express/issues/6123 about it."),
    ))
    .await;
    w.once();
    let cases = w.cases();
    assert_eq!(cases[0]["body_check"], "link-only");
    assert_eq!(
        cases[0]["missing"],
        serde_json::json!(["affected-versions", "reproduction", "impact"])
    );
    assert_eq!(cases[1]["body_check"], "ok");
    assert_eq!(cases[1]["flags"], serde_json::json!(["premature-disclosure"]));
    // Why nothing was asked: the phrase behind each item, in `case ID --json`.
    let complete = w.case(cases[1]["id"].as_str().unwrap());
    assert_eq!(
        complete["evidence"]["affected-versions"], "I found a ReDoS in the path matching of express 4.21.1.",
        "{complete}"
    );
    assert!(
        complete["evidence"]["reproduction"]
            .as_str()
            .is_some_and(|e| e.contains("curl 'http://localhost:3000/'")),
        "{complete}"
    );
    assert!(complete["evidence"]["impact"].is_string(), "{complete}");
    // A link-only report carries nothing in its body.
    assert_eq!(
        w.case(cases[0]["id"].as_str().unwrap())["evidence"],
        serde_json::json!({})
    );

    let receipt = w
        .wait_mail("reporter", 1, Duration::from_secs(5))
        .await
        .remove(0)
        .body();
    assert!(receipt.contains("behind a link"), "{receipt}");
    assert!(receipt.contains("paste"), "{receipt}");
    assert!(
        receipt.contains("the affected versions"),
        "asks for what is missing: {receipt}"
    );
    let receipt2 = w
        .wait_mail("reporter2", 1, Duration::from_secs(5))
        .await
        .remove(0)
        .body();
    assert!(
        receipt2.contains("public issue"),
        "premature-disclosure procedure: {receipt2}"
    );
    assert!(!receipt2.contains("please also send"), "{receipt2}");

    let notices = w.wait_mail("triage", 2, Duration::from_secs(5)).await;
    let public = notices
        .iter()
        .find(|n| n.subject().contains("also filed publicly"))
        .unwrap()
        .body();
    assert!(
        public.trim_start().starts_with("!!! PREMATURE DISCLOSURE"),
        "at the top: {public}"
    );
    assert!(public.contains("https://github.com/expressjs/express/issues/6123"));
    // (the notice is format=flowed: a long line may be wrapped at a space)
    let folded = public.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        folded.contains(
            "Present, because the report says: - affected-versions: \"I found a ReDoS in the path matching of express 4.21.1.\" - reproduction: \"2. curl 'http://localhost:3000/'"
        ),
        "the notice quotes the evidence: {public}"
    );
    let link_only = notices
        .iter()
        .find(|n| !n.subject().contains("also filed"))
        .unwrap()
        .body();
    assert!(
        link_only.contains("Body check:  link-only") && link_only.contains("gist.github.com"),
        "{link_only}"
    );
    assert!(!link_only.contains("Present, because"), "{link_only}");
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_fixtures_are_all_stored_and_answered_sensibly() {
    let w = World::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut n = 0;
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    for p in &files {
        w.deliver_bytes(&std::fs::read(p).unwrap()).await;
        n += 1;
    }
    w.once();
    assert_eq!(w.db_count("SELECT COUNT(*) FROM messages").await, n);
    // No robot opened a case.
    assert_eq!(w.db_count("SELECT COUNT(*) FROM cases c JOIN messages m ON m.case_id = c.id AND m.kind IN ('auto-reply','bounce') WHERE NOT EXISTS (SELECT 1 FROM messages r WHERE r.case_id = c.id AND r.kind = 'report')").await, 0);
    let auto = w
        .db_count("SELECT COUNT(*) FROM messages WHERE kind IN ('auto-reply','bounce')")
        .await;
    assert_eq!(auto, 9);
}

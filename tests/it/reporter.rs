//! What the reporter hears, and when, through the real mail stack: holding acknowledgements,
//! configured progress updates, keep-informed status updates, credit, and templates.

use crate::common::*;
use std::time::{Duration, Instant};

fn fast(extra: &str) -> String {
    format!(
        "[policy]
assign_within = \"1h\"
acknowledge_within = \"2s\"
detailed_response_within = \"1h\"
invalid_notice_within = \"1h\"
keep_informed_every = \"1h\"
remind_before = \"0s\"
reminder_repeat = \"1h\"
digest_hour = \"off\"
{extra}"
    )
}

fn subjects(m: &[Mail]) -> Vec<String> {
    m.iter().map(|x| x.subject()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_late_team_sends_exactly_one_holding_acknowledgement_and_an_answered_case_none() {
    let w = World::with(&fast(""));
    w.deliver(&report(
        REPORTER,
        "Unanswered report",
        "<h1@example.test>",
        COMPLETE_BODY,
    ))
    .await;
    w.deliver(&report(
        "reporter2@example.test",
        "Answered report",
        "<h2@example.test>",
        COMPLETE_BODY,
    ))
    .await;
    w.once();
    let cases = w.cases();
    let answered = cases.iter().find(|c| c["subject"] == "Answered report").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The second case is answered in time by a coordinator.
    w.deliver(&reply(
        ALICE,
        &format!("reporter2@example.test\r\nCc: {LIST}"),
        &format!("Re: [{answered}] Answered report"),
        "<h2ack@example.test>",
        "<h2@example.test>",
        &authenticated("example.test"),
        "Thanks, looking.",
    ))
    .await;
    w.once();
    tokio::time::sleep(Duration::from_secs(3)).await;
    w.once();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    w.once();

    let r1 = w.wait_mail("reporter", 2, Duration::from_secs(5)).await;
    assert_eq!(
        r1.len(),
        2,
        "receipt + one holding acknowledgement: {:?}",
        subjects(&r1)
    );
    let holding = r1[1].body();
    assert!(
        holding.contains("is with the security team") && holding.contains("late"),
        "{holding}"
    );
    assert_eq!(
        r1[1].header("In-Reply-To").as_deref(),
        Some("<h1@example.test>"),
        "threaded"
    );
    let r2 = w.mailbox("reporter2").await;
    assert_eq!(
        r2.len(),
        1,
        "an answered case gets no holding acknowledgement: {:?}",
        subjects(&r2)
    );
    // The team is told it went out.
    let team = w.mailbox("triage").await;
    let reminder = team
        .iter()
        .find(|m| m.subject().contains("acknowledgement overdue"))
        .expect("reminder")
        .body();
    assert!(reminder.contains("holding acknowledgement"), "{reminder}");
}

#[tokio::test(flavor = "multi_thread")]
async fn only_configured_progress_updates_go_out_and_quiet_suppresses_one() {
    let w = World::with(&fast(
        "progress_updates = [\"released\", \"disclosed\"]\nholding_acknowledgement = false\n",
    ));
    w.deliver(&report(
        REPORTER,
        "Prototype pollution",
        "<p1@example.test>",
        COMPLETE_BODY,
    ))
    .await;
    w.once();
    let id = w.cases()[0]["id"].as_str().unwrap().to_string();
    let auth = authenticated("example.test");
    let mut n = 0;
    let mut say = |body: &str| {
        n += 1;
        reply(
            ALICE,
            LIST,
            &format!("Re: [{id}] x"),
            &format!("<pc{n}@example.test>"),
            "<p1@example.test>",
            &auth,
            body,
        )
    };
    for body in [
        "/assign me\n/assess\n/accept\n/severity high\n/note the secret fix is in commit abc123",
        "/patch",
        "/released 4.21.3\n/quiet",
        "/credit Jane R. Porter\n/disclose",
    ] {
        w.deliver(&say(body)).await;
        w.once();
    }
    assert_eq!(w.case(&id)["state"], "disclosed");
    let mails = w.wait_mail("reporter", 2, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mails = if mails.len() < 2 {
        w.mailbox("reporter").await
    } else {
        mails
    };
    // receipt, closing notice: no "accepted"/"patching" (not configured), "released" was /quiet.
    assert_eq!(mails.len(), 2, "{:?}", subjects(&mails));
    let closing = mails[1].body();
    assert!(
        closing.contains("publicly disclosed") && closing.contains("Jane R. Porter"),
        "{closing}"
    );
    for m in &mails {
        assert!(!m.body().contains("abc123"), "internal notes never reach the reporter");
        assert!(m.header("References").unwrap().contains("<p1@example.test>"));
    }
    // The receipt asked for consent to credit.
    assert!(mails[0].body().contains("/anonymous"));
}

#[tokio::test(flavor = "multi_thread")]
async fn keep_informed_reminds_the_coordinator_then_updates_the_reporter() {
    let w = World::with(
        "[policy]
keep_informed_every = \"3s\"
reminder_repeat = \"1h\"
remind_before = \"0s\"
holding_acknowledgement = false
digest_hour = \"off\"
",
    );
    w.deliver(&report(REPORTER, "Slow case", "<k1@example.test>", COMPLETE_BODY))
        .await;
    w.once();
    let id = w.cases()[0]["id"].as_str().unwrap().to_string();
    w.run(&["case", &id, "assign", ALICE]);
    let d = w.spawn();
    let start = Instant::now();
    let mut reminded_at = None;
    loop {
        let alice = w.mailbox("alice").await;
        if reminded_at.is_none() && alice.iter().any(|m| m.subject().contains("reporter update overdue")) {
            reminded_at = Some(start.elapsed());
        }
        let rep = w.mailbox("reporter").await;
        if rep.len() >= 2 {
            assert!(
                reminded_at.is_some(),
                "the coordinator is reminded first: {:?} / alice: {:?} / {}",
                subjects(&rep),
                subjects(&w.mailbox("alice").await),
                rep[1].body()
            );
            assert!(
                rep[1].body().contains("status update") && rep[1].body().contains(&id),
                "{}",
                rep[1].body()
            );
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no status update: {}",
            d.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(d);
    let rep = w.mailbox("reporter").await;
    assert_eq!(rep.len(), 2, "one status update: {:?}", subjects(&rep));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_overridden_template_is_used_and_a_broken_one_fails_check_config() {
    let w = World::new();
    let dir = w.dir.path().join("templates");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("receipt.txt"),
        "Subject: We got it: {{ subject }}\n\nDear reporter, {{ case_id }} is yours.\n",
    )
    .unwrap();
    let text = std::fs::read_to_string(&w.config).unwrap() + &format!("\n[templates]\ndir = \"{}\"\n", dir.display());
    std::fs::write(&w.config, text).unwrap();
    w.run(&["check-config"]);
    w.deliver(&report(REPORTER, "Custom", "<t1@example.test>", COMPLETE_BODY))
        .await;
    w.once();
    let r = w.wait_mail("reporter", 1, Duration::from_secs(5)).await;
    assert!(
        r[0].subject().ends_with("We got it: Custom") && r[0].subject().starts_with("[SEC-"),
        "{}",
        r[0].subject()
    );
    assert!(r[0].body().contains("Dear reporter, SEC-"));

    std::fs::write(dir.join("dismissal.txt"), "Subject: x\n\nline three\n{% for %}\n").unwrap();
    let out = w.output(&["check-config"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("dismissal.txt line 4"), "names the file and line: {err}");
    // The daemon refuses to start with it too (never a failure at send time).
    let out = w.output(&["run", "--once"]);
    assert!(!out.status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_override_using_a_key_its_mail_does_not_get_fails_check_config_with_file_and_line() {
    let w = World::new();
    let dir = w.dir.path().join("templates");
    std::fs::create_dir_all(&dir).unwrap();
    // `state` exists in other mails, never in the receipt: this used to pass check-config and
    // then fail at send time, every pass.
    std::fs::write(
        dir.join("receipt.txt"),
        "Subject: We got it: {{ subject }}\n\nDear reporter,\nyour case is {{ state }}.\n",
    )
    .unwrap();
    let text = std::fs::read_to_string(&w.config).unwrap() + &format!("\n[templates]\ndir = \"{}\"\n", dir.display());
    std::fs::write(&w.config, text).unwrap();
    let out = w.output(&["check-config"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("receipt.txt line 4") && err.contains("`state`"),
        "names the file, the line and the key: {err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daily_cap_holds_for_receipts_and_holding_acknowledgements() {
    let w = World::with(&fast("auto_reply_daily_cap = 1\n"));
    w.deliver(&report(REPORTER, "First report", "<cap1@example.test>", COMPLETE_BODY))
        .await;
    w.deliver(&report(REPORTER, "Second report", "<cap2@example.test>", COMPLETE_BODY))
        .await;
    w.once();
    // The acknowledgement (2 s) passes unanswered on both: holding acknowledgements are
    // automatic mail too, and the day's one automatic mail went to the first receipt.
    tokio::time::sleep(Duration::from_secs(3)).await;
    w.once();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mails = w.mailbox("reporter").await;
    assert_eq!(mails.len(), 1, "one receipt, nothing else: {:?}", subjects(&mails));
    assert!(mails[0].subject().contains("First report"), "{:?}", subjects(&mails));
    let cases = w.cases();
    let second = cases.iter().find(|c| c["subject"] == "Second report").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let suppressed: Vec<String> = w.case(&second)["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "mail-suppressed")
        .map(|e| e["detail"]["kind"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(suppressed, ["receipt", "holding-ack"], "suppressed with an event each");
    // The team still hears about both.
    let team = w.mailbox("triage").await;
    assert!(team.iter().any(|m| m.subject().contains("acknowledgement overdue")));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_default_progress_updates_on_the_full_valid_path() {
    let w = World::with(&fast("holding_acknowledgement = false\n"));
    w.deliver(&report(
        REPORTER,
        "ReDoS in the router",
        "<full1@example.test>",
        COMPLETE_BODY,
    ))
    .await;
    w.once();
    let id = w.cases()[0]["id"].as_str().unwrap().to_string();
    let auth = authenticated("example.test");
    let steps = [
        "/assign me\n/assess\n/accept\n/cvss CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H\n/note the secret fix is in commit abc123",
        "/patch\n/note internal: ask the maintainers of path-to-regexp",
        "/released 4.21.3",
        "/cve CVE-2026-1234\n/disclose",
    ];
    for (i, body) in steps.iter().enumerate() {
        w.deliver(&reply(
            ALICE,
            LIST,
            &format!("Re: [{id}] ReDoS in the router"),
            &format!("<full-step{i}@example.test>"),
            "<full1@example.test>",
            &auth,
            body,
        ))
        .await;
        w.once();
    }
    assert_eq!(w.case(&id)["state"], "disclosed");
    let mails = w.wait_mail("reporter", 5, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mails = if mails.len() == 5 {
        w.mailbox("reporter").await
    } else {
        mails
    };
    assert_eq!(mails.len(), 5, "receipt + 4 progress mails: {:?}", subjects(&mails));
    let bodies: Vec<String> = mails.iter().map(|m| m.body()).collect();
    assert!(bodies[0].contains("Thank you for your report"), "{}", bodies[0]);
    assert!(
        bodies[1].contains("accepted the report") && bodies[1].contains("Its severity is high (CVSS 7.5)"),
        "{}",
        bodies[1]
    );
    assert!(bodies[2].contains("A patch is being developed"), "{}", bodies[2]);
    assert!(bodies[3].contains("A security release is out: 4.21.3"), "{}", bodies[3]);
    assert!(
        bodies[4].contains("publicly disclosed") && bodies[4].contains("CVE:       CVE-2026-1234"),
        "{}",
        bodies[4]
    );
    // The display name is the credit, never the address.
    assert!(
        bodies[4].contains("You are credited as \"Jane Reporter\""),
        "{}",
        bodies[4]
    );
    assert_eq!(w.case(&id)["credit"], "Jane Reporter");
    assert_eq!(w.case(&id)["anonymous"], false);
    for m in &mails {
        let subject = m.subject();
        assert!(subject.starts_with(&format!("[{id}]")), "{subject}");
        assert_eq!(
            m.header("In-Reply-To").as_deref(),
            Some("<full1@example.test>"),
            "{subject}"
        );
        assert!(
            m.header("Content-Type").unwrap_or_default().contains("format=flowed"),
            "{subject}"
        );
        let body = m.body();
        assert!(
            !body.contains("abc123") && !body.contains("path-to-regexp") && !body.contains("internal"),
            "no /note text reaches the reporter: {body}"
        );
        assert!(!body.contains(REPORTER), "no address in the text: {body}");
        for line in m.wire_body().lines() {
            assert!(
                line.chars().count() <= 78 || line.contains("http"),
                "line over 78 characters in {subject}: {line:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_override_failing_on_real_data_falls_back_and_never_blocks_the_mailbox() {
    let w = World::new();
    let dir = w.dir.path().join("templates");
    std::fs::create_dir_all(&dir).unwrap();
    // Fine with the sample (something missing), wrong for a complete report (nothing is).
    std::fs::write(
        dir.join("receipt.txt"),
        "Subject: Got it: {{ subject }}\n\nFirst, please send {{ missing[0] }}.\n",
    )
    .unwrap();
    let text = std::fs::read_to_string(&w.config).unwrap() + &format!("\n[templates]\ndir = \"{}\"\n", dir.display());
    std::fs::write(&w.config, text).unwrap();
    w.run(&["check-config"]);
    w.deliver(&report(
        REPORTER,
        "Complete report",
        "<fb1@example.test>",
        COMPLETE_BODY,
    ))
    .await;
    w.deliver(&report(
        "reporter2@example.test",
        "Another",
        "<fb2@example.test>",
        COMPLETE_BODY,
    ))
    .await;
    let out = w.output(&["run", "--once"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(w.cases().len(), 2, "both reports were taken in");
    let r = w.wait_mail("reporter", 1, Duration::from_secs(5)).await;
    assert_eq!(r.len(), 1);
    assert!(
        r[0].subject().ends_with("Re: Complete report") && r[0].body().contains("Thank you for your report"),
        "the built-in receipt: {} / {}",
        r[0].subject(),
        r[0].body()
    );
    let id = r[0].subject()[1..14].to_string();
    let fallback: Vec<serde_json::Value> = w.case(&id)["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "template-fallback")
        .cloned()
        .collect();
    assert_eq!(fallback.len(), 1, "{fallback:?}");
    assert_eq!(fallback[0]["detail"]["template"], "receipt");
    assert!(
        fallback[0]["detail"]["error"]
            .as_str()
            .unwrap()
            .contains("receipt.txt line 3"),
        "{fallback:?}"
    );
}

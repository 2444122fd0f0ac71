//! Coordinators drive cases by email, through the real mail stack; forged mail changes nothing.

use crate::common::*;
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A coordinator's message in the case thread (reply to the team notice, To: the list).
fn command_mail(from: &str, to: &str, case_id: &str, parent: &str, auth: &str, body: &str) -> String {
    let n = SEQ.fetch_add(1, Ordering::SeqCst);
    reply(
        from,
        to,
        &format!("Re: [{case_id}] report"),
        &format!("<cmd{n}@example.test>"),
        parent,
        auth,
        body,
    )
}

struct Case {
    id: String,
    report_id: String,
}

async fn open_case(w: &World) -> Case {
    w.deliver(&report(
        REPORTER,
        "ReDoS in path matching",
        "<rep@example.test>",
        COMPLETE_BODY,
    ))
    .await;
    w.once();
    let id = w.cases()[0]["id"].as_str().unwrap().to_string();
    Case {
        id,
        report_id: "<rep@example.test>".into(),
    }
}

fn state(w: &World, id: &str) -> Value {
    w.case(id)
}

async fn confirmations(w: &World, user: &str, n: usize) -> Vec<Mail> {
    w.wait_mail(user, n, Duration::from_secs(5)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_whole_valid_path_from_a_mail_client() {
    let w = World::new();
    let c = open_case(&w).await;
    let auth = authenticated("example.test");
    let step = |body: &'static str| command_mail(ALICE, LIST, &c.id, &c.report_id, &auth, body);

    w.deliver(&step("/assign me")).await;
    w.once();
    let d = state(&w, &c.id);
    assert_eq!(
        (d["state"].as_str(), d["coordinator"].as_str()),
        (Some("triage"), Some(ALICE))
    );
    let conf = confirmations(&w, "alice", 1).await;
    assert!(
        conf[0].subject().starts_with(&format!("[{}] Done", c.id)),
        "{}",
        conf[0].subject()
    );
    assert!(conf[0].body().contains("coordinator: alice@example.test"));

    // Alice answers the reporter (reply-all: To the reporter, Cc the list): the human acknowledgement.
    let ack = reply(
        ALICE,
        &format!("{REPORTER}\r\nCc: {LIST}"),
        &format!("Re: [{}] ReDoS", c.id),
        "<ack@example.test>",
        &c.report_id,
        &auth,
        "Thanks, we are looking at it.",
    );
    w.deliver(&ack).await;
    w.once();
    assert!(state(&w, &c.id)["acknowledged_at"].is_string());

    w.deliver(&step("/assess")).await;
    w.once();
    assert_eq!(state(&w, &c.id)["state"], "assessing");

    w.deliver(&step("Confirmed.\n/accept\n/cvss CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H\n/cve CVE-2026-41234\n/note internal: fix in router, do not tell reporter yet")).await;
    w.once();
    let d = state(&w, &c.id);
    assert_eq!(d["state"], "accepted");
    assert_eq!(d["cvss_score"], 7.5);
    assert_eq!(d["severity"], "high");
    assert_eq!(d["cve"], "CVE-2026-41234");

    w.deliver(&step("/patch")).await;
    w.once();
    assert_eq!(state(&w, &c.id)["state"], "patching");
    w.deliver(&step("/released 4.21.3")).await;
    w.once();
    let d = state(&w, &c.id);
    assert_eq!(
        (d["state"].as_str(), d["patched_versions"].as_str()),
        (Some("released"), Some("4.21.3"))
    );
    w.deliver(&step("/ghsa GHSA-9wv6-86v2-598j\n/disclose")).await;
    w.once();
    let d = state(&w, &c.id);
    assert_eq!(d["state"], "disclosed");
    assert!(d["closed_at"].is_string());

    // What the reporter heard: receipt, progress (accepted, patching, released), closing notice.
    let mails = w.wait_mail("reporter", 5, Duration::from_secs(5)).await;
    let bodies: Vec<String> = mails.iter().map(|m| m.body()).collect();
    assert_eq!(
        mails.len(),
        5,
        "{:#?}",
        mails.iter().map(|m| m.subject()).collect::<Vec<_>>()
    );
    assert!(bodies[1].contains("accepted") && bodies[1].contains("high"));
    assert!(bodies[2].contains("patch is being developed"));
    assert!(bodies[3].contains("4.21.3"));
    assert!(bodies[4].contains("CVE-2026-41234") && bodies[4].contains("GHSA-9wv6-86v2-598j"));
    for m in &mails {
        assert!(m.subject().contains(&c.id));
        assert!(
            m.header("References").unwrap_or_default().contains(&c.report_id),
            "threaded under the report"
        );
        assert!(
            !m.body().contains("internal: fix in router"),
            "a /note never reaches the reporter"
        );
    }
    // Alice got one confirmation per command message.
    assert_eq!(confirmations(&w, "alice", 6).await.len(), 6);
    // Every change is an event with the actor and the message.
    let events = d["events"].as_array().unwrap();
    assert!(events
        .iter()
        .any(|e| e["kind"] == "note" && e["actor"] == ALICE && e["message"].is_number()));
    assert!(events.iter().filter(|e| e["kind"] == "state").count() >= 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_tells_the_reporter_why_and_closes() {
    let w = World::new();
    let c = open_case(&w).await;
    w.deliver(&command_mail(
        BOB,
        LIST,
        &c.id,
        &c.report_id,
        &authenticated("example.test"),
        "/assign me\n/invalid not a vulnerability per the threat model",
    ))
    .await;
    w.once();
    let d = state(&w, &c.id);
    assert_eq!(d["state"], "invalid");
    assert_eq!(d["close_reason"], "not a vulnerability per the threat model");
    let mails = w.wait_mail("reporter", 2, Duration::from_secs(5)).await;
    assert_eq!(mails.len(), 2);
    assert!(mails[1].body().contains("not a vulnerability per the threat model"));
    assert!(confirmations(&w, "bob", 1).await[0]
        .body()
        .contains("state: triage -> invalid"));
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_commands_change_nothing_and_the_team_is_told() {
    let w = World::new();
    let c = open_case(&w).await;
    let before = state(&w, &c.id);
    let forged = [
        (ALICE, String::new()),
        (ALICE, format!("Authentication-Results: {TRUSTED}; dmarc=fail header.from=example.test\r\nAuthentication-Results: {TRUSTED}; dkim=pass header.d=example.test; dmarc=pass header.from=example.test\r\n")),
        (ALICE, "Authentication-Results: mx.evil.example; dkim=pass header.d=example.test; dmarc=pass header.from=example.test\r\n".to_string()),
        (ALICE, format!("Authentication-Results: {TRUSTED}; dkim=pass header.d=evil.example\r\n")),
        ("mallory@example.test", authenticated("example.test")),
    ];
    for (from, auth) in &forged {
        w.deliver(&command_mail(
            from,
            LIST,
            &c.id,
            &c.report_id,
            auth,
            "/assign me\n/invalid forged",
        ))
        .await;
    }
    // The reporter's own "/close" is only text.
    w.deliver(&reply(
        REPORTER,
        LIST,
        &format!("Re: [{}] x", c.id),
        "<rep-close@example.test>",
        &c.report_id,
        "",
        "/close\n/invalid please",
    ))
    .await;
    w.once();
    let after = state(&w, &c.id);
    for k in ["state", "coordinator", "close_reason", "acknowledged_at"] {
        assert_eq!(before[k], after[k], "{k} changed");
    }
    let refused = after["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "commands-refused")
        .count();
    assert_eq!(refused, forged.len());
    let team = w.wait_mail("triage", 1 + forged.len(), Duration::from_secs(5)).await;
    let notices: Vec<String> = team
        .iter()
        .filter(|m| m.subject().contains("Refused"))
        .map(|m| m.body())
        .collect();
    assert_eq!(notices.len(), forged.len());
    assert!(notices
        .iter()
        .any(|b| b.contains("no Authentication-Results header from a trusted server")));
    assert!(notices.iter().any(|b| b.contains("dmarc=fail")));
    assert!(notices
        .iter()
        .any(|b| b.contains("not a configured coordinator") && b.contains("mallory@example.test")));
    assert_eq!(w.mailbox("alice").await.len(), 0, "no confirmation for forged mail");
    assert_eq!(w.mailbox("reporter").await.len(), 1, "only the receipt");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_commands_get_an_error_reply_and_change_nothing() {
    let w = World::new();
    let c = open_case(&w).await;
    let auth = authenticated("example.test");
    w.deliver(&command_mail(
        ALICE,
        LIST,
        &c.id,
        &c.report_id,
        &auth,
        "/assign me\n/severity high\n/frobnicate now",
    ))
    .await;
    w.once();
    w.deliver(&command_mail(
        ALICE,
        LIST,
        &c.id,
        &c.report_id,
        &auth,
        "/assign me\n/cvss CVSS:3.1/AV:N/AC:Q",
    ))
    .await;
    w.once();
    w.deliver(&command_mail(
        ALICE,
        LIST,
        &c.id,
        &c.report_id,
        &auth,
        "/assign me\n/disclose",
    ))
    .await;
    w.once();
    let d = state(&w, &c.id);
    assert_eq!(d["state"], "new", "no partial change");
    assert!(d["coordinator"].is_null() && d["severity"].is_null());
    let replies = confirmations(&w, "alice", 3).await;
    assert_eq!(replies.len(), 3);
    assert!(replies.iter().all(|r| r.subject().contains("Not applied")));
    assert!(replies[0].body().contains("unknown command /frobnicate"));
    assert!(replies[1].body().contains("bad CVSS vector"));
    assert!(replies[2]
        .body()
        .contains("cannot move the case from triage to disclosed"));
    assert_eq!(w.mailbox("reporter").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_runs_the_same_code_path() {
    let w = World::new();
    let c = open_case(&w).await;
    w.run(&["case", &c.id, "assign", ALICE]);
    w.run(&["case", &c.id, "state", "assessing"]);
    w.run(&["case", &c.id, "note", "called", "the", "reporter"]);
    w.run(&[
        "case",
        &c.id,
        "cvss",
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
    ]);
    w.run(&["case", &c.id, "cve", "CVE-2026-5555"]);
    let out = w.output(&["case", &c.id, "state", "released", "4.0.0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot move the case from assessing to released"));
    let d = state(&w, &c.id);
    assert_eq!(d["state"], "assessing");
    assert_eq!(d["coordinator"], ALICE);
    assert_eq!(d["cvss_score"], 9.3);
    assert_eq!(d["cve"], "CVE-2026-5555");
    let events = d["events"].as_array().unwrap();
    assert!(events
        .iter()
        .any(|e| e["kind"] == "note" && e["actor"].as_str().unwrap().starts_with("cli:")));
    w.run(&["case", &c.id, "state", "invalid", "out", "of", "scope"]);
    w.once();
    let mails = w.wait_mail("reporter", 2, Duration::from_secs(5)).await;
    assert!(mails[1].body().contains("out of scope"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reporter_answering_needs_info_resumes_assessment_and_may_stay_anonymous() {
    let w = World::new();
    let c = open_case(&w).await;
    let auth = authenticated("example.test");
    w.deliver(&command_mail(
        ALICE,
        LIST,
        &c.id,
        &c.report_id,
        &auth,
        "/assign me\n/needs-info",
    ))
    .await;
    w.once();
    assert_eq!(state(&w, &c.id)["state"], "needs-info");
    w.deliver(&reply(
        REPORTER,
        LIST,
        &format!("Re: [{}] x", c.id),
        "<answer@example.test>",
        &c.report_id,
        "",
        "Here is the PoC you asked for.\n/anonymous",
    ))
    .await;
    w.once();
    let d = state(&w, &c.id);
    assert_eq!(d["state"], "assessing");
    assert!(d["credit"].is_null());
}

/// A DKIM signer with a fresh Ed25519 key, and its key record.
struct TestSigner {
    pkcs8: Vec<u8>,
    record: String,
}

impl TestSigner {
    fn new() -> TestSigner {
        use base64::Engine;
        use mail_auth::common::crypto::Ed25519Key;
        let pkcs8 = Ed25519Key::generate_pkcs8().unwrap();
        let public = Ed25519Key::from_pkcs8_der(&pkcs8).unwrap().public_key();
        TestSigner {
            pkcs8,
            record: format!(
                "v=DKIM1; k=ed25519; p={}",
                base64::engine::general_purpose::STANDARD.encode(public)
            ),
        }
    }

    fn sign(&self, domain: &str, message: &str) -> String {
        use mail_auth::common::crypto::Ed25519Key;
        use mail_auth::common::headers::HeaderWriter;
        let sig = mail_auth::dkim::DkimSigner::from_key(Ed25519Key::from_pkcs8_der(&self.pkcs8).unwrap())
            .domain(domain)
            .selector("sel")
            .headers(["From", "To", "Subject", "Message-ID"])
            .sign(message.as_bytes())
            .unwrap();
        format!("{}{message}", sig.to_header())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_verify_dkim_a_good_aligned_signature_authenticates_commands() {
    let ours = TestSigner::new();
    let theirs = TestSigner::new();
    let w = World::with(&format!(
        "[team]\nverify_dkim = true\ndkim_keys = [\"sel._domainkey.example.test {}\", \"sel._domainkey.evil.example {}\"]\n",
        ours.record, theirs.record
    ));
    let c = open_case(&w).await;
    // No Authentication-Results header at all: only the signature can authenticate.
    let good = ours.sign(
        "example.test",
        &command_mail(ALICE, LIST, &c.id, &c.report_id, "", "/assign me"),
    );
    w.deliver(&good).await;
    w.once();
    let d = state(&w, &c.id);
    assert_eq!(
        (d["state"].as_str(), d["coordinator"].as_str()),
        (Some("triage"), Some(ALICE))
    );
    // A tampered body, and a good signature from an unaligned domain, are refused.
    let tampered = ours
        .sign(
            "example.test",
            &command_mail(ALICE, LIST, &c.id, &c.report_id, "", "/assess"),
        )
        .replace("/assess", "/invalid forged");
    w.deliver(&tampered).await;
    let unaligned = theirs.sign(
        "evil.example",
        &command_mail(ALICE, LIST, &c.id, &c.report_id, "", "/invalid forged"),
    );
    w.deliver(&unaligned).await;
    w.once();
    let d = state(&w, &c.id);
    assert_eq!(d["state"], "triage");
    assert!(d["close_reason"].is_null());
    let refused: Vec<&Value> = d["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "commands-refused")
        .collect();
    assert_eq!(refused.len(), 2, "{refused:#?}");
    let reasons: Vec<&str> = refused
        .iter()
        .map(|e| e["detail"]["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("d=example.test failed")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("d=evil.example is not aligned")),
        "{reasons:?}"
    );
}

/// An HTML-only message (as many mail clients send replies), threaded to `parent`.
fn html_mail(from: &str, to: &str, subject: &str, message_id: &str, parent: &str, auth: &str, html: &str) -> String {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\nIn-Reply-To: {parent}\r\nReferences: {parent}\r\nDate: Sat, 21 Nov 2026 11:00:00 +0000\r\n{auth}MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>{html}</body></html>\r\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_duplicate_is_linked_from_the_original_too() {
    let w = World::new();
    let original = open_case(&w).await;
    w.deliver(&report(
        "other@example.test",
        "Same ReDoS again",
        "<rep2@example.test>",
        COMPLETE_BODY,
    ))
    .await;
    w.once();
    let dup = w.cases()[1]["id"].as_str().unwrap().to_string();
    assert_ne!(dup, original.id);
    let auth = authenticated("example.test");
    w.deliver(&command_mail(
        ALICE,
        LIST,
        &dup,
        "<rep2@example.test>",
        &auth,
        &format!("/assign me\n/duplicate {}", original.id),
    ))
    .await;
    w.once();
    assert_eq!(state(&w, &dup)["duplicate_of"], original.id.as_str());
    let o = state(&w, &original.id);
    assert_eq!(o["duplicates"], serde_json::json!([dup]));
    assert_eq!(o["state"], "new", "the original itself does not change");
    let linked: Vec<&Value> = o["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "duplicate-linked")
        .collect();
    assert_eq!(linked.len(), 1, "{:#?}", o["events"]);
    assert_eq!(linked[0]["actor"], ALICE);
    assert_eq!(linked[0]["detail"]["duplicate"], dup.as_str());
    // Reopening the duplicate unlinks it, on both sides.
    w.deliver(&command_mail(
        ALICE,
        LIST,
        &dup,
        "<rep2@example.test>",
        &auth,
        "/reopen",
    ))
    .await;
    w.once();
    assert!(state(&w, &dup)["duplicate_of"].is_null());
    let o = state(&w, &original.id);
    assert_eq!(o["duplicates"], serde_json::json!([]));
    assert!(o["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "duplicate-unlinked" && e["detail"]["duplicate"] == dup.as_str()));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_second_coordinator_mail_to_the_reporter_is_the_detailed_response() {
    let w = World::new();
    let c = open_case(&w).await;
    let auth = authenticated("example.test");
    let to_reporter = |n: usize, body: &str| {
        reply(
            ALICE,
            &format!("{REPORTER}\r\nCc: {LIST}"),
            &format!("Re: [{}] ReDoS", c.id),
            &format!("<to-reporter{n}@example.test>"),
            &c.report_id,
            &auth,
            body,
        )
    };
    w.deliver(&to_reporter(1, "Thanks, we are looking at it.")).await;
    w.once();
    let d = state(&w, &c.id);
    assert!(d["acknowledged_at"].is_string());
    assert!(d["detailed_response_at"].is_null());
    w.deliver(&to_reporter(2, "We reproduced it; a fix is planned for 4.21.3."))
        .await;
    w.once();
    let d2 = state(&w, &c.id);
    assert_eq!(
        d2["acknowledged_at"], d["acknowledged_at"],
        "the first reply stays the acknowledgement"
    );
    assert!(d2["detailed_response_at"].is_string());
    let kinds: Vec<&str> = d2["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"acknowledged") && kinds.contains(&"detailed-response"),
        "{kinds:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ack_by_mail_sets_acknowledged_at() {
    let w = World::new();
    let c = open_case(&w).await;
    assert!(state(&w, &c.id)["acknowledged_at"].is_null());
    // To the list only (the reply to the reporter went elsewhere): /ack records it.
    w.deliver(&command_mail(
        ALICE,
        LIST,
        &c.id,
        &c.report_id,
        &authenticated("example.test"),
        "/assign me\n/ack",
    ))
    .await;
    w.once();
    let d = state(&w, &c.id);
    assert!(d["acknowledged_at"].is_string(), "{d:#?}");
    assert!(d["detailed_response_at"].is_null());
    assert!(confirmations(&w, "alice", 1).await[0].body().contains("acknowledged"));
}

#[tokio::test(flavor = "multi_thread")]
async fn html_commands_work_and_quoted_commands_do_not() {
    let w = World::new();
    let c = open_case(&w).await;
    let auth = authenticated("example.test");
    let subject = format!("Re: [{}] report", c.id);
    // Gmail-style HTML: one <div> per line, the quoted original in a blockquote.
    w.deliver(&html_mail(
        ALICE,
        LIST,
        &subject,
        "<html1@example.test>",
        &c.report_id,
        &auth,
        "<div dir=\"ltr\"><div>/assign me</div><div>/severity high</div><div>Taking this one.</div></div>\
         <div class=\"gmail_quote\"><blockquote class=\"gmail_quote\"><div>/invalid spam</div></blockquote></div>",
    ))
    .await;
    w.once();
    let d = state(&w, &c.id);
    assert_eq!(
        (d["state"].as_str(), d["coordinator"].as_str(), d["severity"].as_str()),
        (Some("triage"), Some(ALICE), Some("high"))
    );
    assert!(d["close_reason"].is_null());
    // Commands only in quoted text, HTML or `>`: nothing happens, not even an error reply.
    w.deliver(&html_mail(
        ALICE,
        LIST,
        &subject,
        "<html2@example.test>",
        &c.report_id,
        &auth,
        "<p>Agreed with the above.</p><blockquote type=\"cite\"><p>/invalid not a bug</p><p>/disclose</p></blockquote>",
    ))
    .await;
    w.deliver(&command_mail(
        ALICE,
        LIST,
        &c.id,
        &c.report_id,
        &auth,
        "Agreed.\n\n> /invalid not a bug\n> /needs-info",
    ))
    .await;
    w.once();
    let after = state(&w, &c.id);
    for k in ["state", "coordinator", "severity", "close_reason"] {
        assert_eq!(after[k], d[k], "{k} changed by a quoted command");
    }
    let kinds: Vec<&str> = after["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(!kinds.contains(&"commands-rejected"), "{kinds:?}");
    let alice = w.wait_mail("alice", 2, Duration::from_secs(2)).await;
    assert_eq!(alice.len(), 1, "one confirmation, for the first mail only");
}

#[tokio::test(flavor = "multi_thread")]
async fn have_impact_corrects_the_checklist_and_the_reporter_is_not_asked_again() {
    let w = World::new();
    // Versions and steps to reproduce, but nothing about what an attacker gains.
    let body = "Hello,\n\nI found a problem in the path matching of express 4.21.1: routes with two parameters in one segment are matched with a slow regular expression.\n\nSteps to reproduce:\n1. app.get('/:a-:b', handler)\n2. curl 'http://localhost:3000/' followed by 30000 dashes\n\nThe request then takes about 40 seconds to answer.\n\nRegards,\nJane";
    w.deliver(&report(REPORTER, "Slow route matching", "<have@example.test>", body))
        .await;
    w.once();
    let id = w.cases()[0]["id"].as_str().unwrap().to_string();
    let d = state(&w, &id);
    assert_eq!(d["missing"], serde_json::json!(["impact"]), "{d:#?}");
    let receipt = w.wait_mail("reporter", 1, Duration::from_secs(5)).await;
    assert!(receipt[0].body().contains("the impact:"), "the receipt asks for it");

    // Unauthenticated, or from someone who is not a coordinator: refused, nothing changes.
    for (from, auth) in [
        (ALICE, String::new()),
        ("mallory@example.test", authenticated("example.test")),
    ] {
        w.deliver(&command_mail(
            from,
            LIST,
            &id,
            "<have@example.test>",
            &auth,
            "/have impact",
        ))
        .await;
    }
    w.once();
    let d = state(&w, &id);
    assert_eq!(d["missing"], serde_json::json!(["impact"]), "forged /have refused");
    assert!(d["evidence"].get("impact").is_none());

    let auth = authenticated("example.test");
    let step = |body: &'static str| command_mail(ALICE, LIST, &id, "<have@example.test>", &auth, body);
    w.deliver(&step(
        "The slow answer blocks the event loop: that is the impact.\n/assign me\n/have impact",
    ))
    .await;
    w.once();
    let d = state(&w, &id);
    assert_eq!(d["missing"], serde_json::json!([]), "{d:#?}");
    assert_eq!(d["evidence"]["impact"], format!("stated by {ALICE}"));
    assert_eq!(
        d["evidence"]["affected-versions"].as_str().map(|s| s.is_empty()),
        Some(false)
    );
    let events = d["events"].as_array().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "have" && e["actor"] == ALICE && e["detail"]["item"] == "impact"),
        "{events:#?}"
    );
    let replies = confirmations(&w, "alice", 1).await;
    assert!(
        replies[0].body().contains("impact: no longer missing"),
        "{}",
        replies[0].body()
    );

    // An unknown item: an error reply naming the valid ones, nothing changes.
    w.deliver(&step("/have exploit")).await;
    w.once();
    let replies = confirmations(&w, "alice", 2).await;
    assert!(replies[1].subject().contains("Not applied"));
    assert!(
        replies[1].body().contains("`exploit` is not a checklist item")
            && replies[1].body().contains("versions, reproduction, impact")
    );
    assert_eq!(state(&w, &id)["missing"], serde_json::json!([]));

    // The case goes on; whatever the reporter hears next does not ask for the impact.
    w.deliver(&step("/assess\n/accept")).await;
    w.once();
    let mails = w.wait_mail("reporter", 2, Duration::from_secs(5)).await;
    assert_eq!(mails.len(), 2, "the receipt and the accepted update");
    for m in &mails[1..] {
        assert!(!m.body().contains("the impact"), "{}", m.body());
    }
}

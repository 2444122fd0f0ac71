//! Intake end to end against a real Dovecot and SMTP server: report -> case -> receipt.

use crate::common::*;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread")]
async fn a_report_becomes_a_case_with_receipt_and_notice() {
    let w = World::new();
    w.deliver(&report(
        REPORTER,
        "ReDoS in path matching",
        "<r1@example.test>",
        COMPLETE_BODY,
    ))
    .await;
    w.once();

    let cases = w.cases();
    assert_eq!(cases.len(), 1, "{cases:?}");
    let c = &cases[0];
    let id = c["id"].as_str().unwrap();
    assert!(id.starts_with("SEC-") && id.len() == "SEC-2026-0001".len(), "{id}");
    assert_eq!(c["state"], "new");
    assert_eq!(c["reporter"], REPORTER);
    assert_eq!(c["subject"], "ReDoS in path matching");
    assert_eq!(c["body_check"], "ok");
    assert_eq!(c["missing"], serde_json::json!([]));
    assert_eq!(c["message_count"], 1);
    assert!(
        c["coordinator"].is_null() && c["acknowledged_at"].is_null() && c["cvss_score"].is_null() && c["cve"].is_null()
    );
    assert!(chrono::DateTime::parse_from_rfc3339(c["opened_at"].as_str().unwrap()).is_ok());

    let inbox = w.wait_mail("reporter", 1, Duration::from_secs(5)).await;
    assert_eq!(inbox.len(), 1, "exactly one receipt");
    let receipt = &inbox[0];
    assert_eq!(receipt.subject(), format!("[{id}] Re: ReDoS in path matching"));
    assert_eq!(receipt.header("In-Reply-To").as_deref(), Some("<r1@example.test>"));
    assert!(receipt.header("References").unwrap().contains("<r1@example.test>"));
    assert_eq!(receipt.header("Auto-Submitted").as_deref(), Some("auto-replied"));
    let body = receipt.body();
    assert!(body.contains(id), "{body}");
    assert!(body.contains("48 hours"), "the promised timing is stated: {body}");

    let team = w.wait_mail("triage", 1, Duration::from_secs(5)).await;
    assert_eq!(team.len(), 1);
    assert!(team[0].subject().contains(id));
    assert!(team[0].subject().contains("ReDoS in path matching"));
    let tb = team[0].body();
    assert!(
        tb.contains(REPORTER) && tb.contains("block the event loop"),
        "notice has reporter and excerpt: {tb}"
    );

    // Every received message is marked \Seen once its transaction committed.
    assert!(seen_flags(w.stack.port("IMAP_PORT")).await.iter().all(|(_, s)| *s));
}

#[tokio::test(flavor = "multi_thread")]
async fn replies_join_their_case_without_a_new_receipt() {
    let w = World::new();
    w.deliver(&report(REPORTER, "XSS in res.send", "<r1@example.test>", COMPLETE_BODY))
        .await;
    w.once();
    let receipt = w.wait_mail("reporter", 1, Duration::from_secs(5)).await.remove(0);
    let id = w.cases()[0]["id"].as_str().unwrap().to_string();

    // Threaded reply to the receipt.
    w.deliver(&reply(
        REPORTER,
        LIST,
        &format!("Re: {}", receipt.subject()),
        "<r2@example.test>",
        &receipt.message_id(),
        "",
        "Here is more detail: it also affects 5.0.0.",
    ))
    .await;
    // No threading headers, only the tag in the subject.
    w.deliver(&report(
        REPORTER,
        &format!("More on [{id}]"),
        "<r3@example.test>",
        "One more thing about this.",
    ))
    .await;
    w.once();

    let cases = w.cases();
    assert_eq!(cases.len(), 1, "no new case: {cases:?}");
    assert_eq!(cases[0]["message_count"], 3);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(w.mailbox("reporter").await.len(), 1, "no second receipt");
    let d = w.case(&id);
    let kinds: Vec<&str> = d["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "in")
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["report", "follow-up", "follow-up"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_message_twice_is_one_case_and_one_receipt() {
    let w = World::new();
    let r = report(REPORTER, "Header injection", "<dup@example.test>", COMPLETE_BODY);
    w.deliver(&r).await;
    w.deliver(&r).await;
    // And a message without Message-ID, twice: deduplicated on its bytes.
    let no_id = "From: reporter2@example.test\r\nTo: security@example.test\r\nSubject: no id\r\n\r\nexpress 4.21.1 crashes with a long header; attacker can DoS it. curl -H 'x: ...' localhost\r\n";
    w.deliver(no_id).await;
    w.deliver(no_id).await;
    w.once();
    let cases = w.cases();
    assert_eq!(cases.len(), 2, "{cases:?}");
    assert_eq!(w.db_count("SELECT COUNT(*) FROM messages").await, 2);
    assert_eq!(w.wait_mail("reporter", 1, Duration::from_secs(5)).await.len(), 1);
    assert_eq!(w.wait_mail("reporter2", 1, Duration::from_secs(5)).await.len(), 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(w.mailbox("reporter").await.len(), 1);
    assert_eq!(w.mailbox("reporter2").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_pass_does_nothing_new() {
    let w = World::new();
    for i in 0..3 {
        w.deliver(&report(
            REPORTER,
            &format!("Report {i}"),
            &format!("<p{i}@example.test>"),
            COMPLETE_BODY,
        ))
        .await;
    }
    w.once();
    let before = (
        w.db_count("SELECT COUNT(*) FROM messages").await,
        w.db_count("SELECT COUNT(*) FROM outbox").await,
        w.db_count("SELECT COUNT(*) FROM events").await,
    );
    w.once();
    let after = (
        w.db_count("SELECT COUNT(*) FROM messages").await,
        w.db_count("SELECT COUNT(*) FROM outbox").await,
        w.db_count("SELECT COUNT(*) FROM events").await,
    );
    assert_eq!(before, after);
    assert_eq!(before.0, 3);
    assert_eq!(w.db_count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").await, 0);
    assert_eq!(w.mailbox("reporter").await.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_while_ingesting_loses_nothing_and_doubles_nothing() {
    // Seven reporters writing 200 reports: lift the per-address cap on automatic mail.
    let w = World::with("[imap]\nbatch_size = 5\n[policy]\nauto_reply_daily_cap = 1000\n");
    let n = 200;
    let mut s = imap_login(w.stack.port("IMAP_PORT"), "security").await;
    for i in 0..n {
        let raw = report(
            &format!("r{}@example.test", i % 7),
            &format!("Report number {i}"),
            &format!("<k{i}@example.test>"),
            COMPLETE_BODY,
        );
        s.append("INBOX", None, None, raw.as_bytes()).await.unwrap();
    }
    let _ = s.logout().await;

    let mut d = w.spawn();
    let start = Instant::now();
    // Kill as soon as the first batches are committed (polled through one read-only connection).
    loop {
        if let Ok(pool) = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", w.db.display())).await {
            loop {
                let r: Result<(i64,), _> = sqlx::query_as("SELECT COUNT(*) FROM messages").fetch_one(&pool).await;
                if matches!(r, Ok((k,)) if k >= 10) {
                    break;
                }
                assert!(
                    start.elapsed() < Duration::from_secs(30),
                    "daemon did not start ingesting: {}",
                    d.log()
                );
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            pool.close().await;
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no database: {}", d.log());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    d.kill9();
    let at_kill = w.db_count("SELECT COUNT(*) FROM messages").await;
    assert!(at_kill < n, "killed too late to prove anything ({at_kill})");

    let log = w.once();
    assert_eq!(w.db_count("SELECT COUNT(*) FROM messages").await, n, "{log}");
    assert_eq!(w.db_count("SELECT COUNT(DISTINCT dedupe_key) FROM messages").await, n);
    assert_eq!(w.db_count("SELECT COUNT(*) FROM cases").await, n);
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM outbox WHERE kind = 'receipt'").await,
        n
    );
    assert_eq!(w.db_count("SELECT COUNT(*) FROM (SELECT case_id FROM outbox WHERE kind = 'receipt' GROUP BY case_id HAVING COUNT(*) > 1)").await, 0);
    let (seen_all, count) = {
        let f = seen_flags(w.stack.port("IMAP_PORT")).await;
        (f.iter().all(|(_, s)| *s), f.len())
    };
    assert_eq!(count as i64, n);
    assert!(seen_all);
}

#[tokio::test(flavor = "multi_thread")]
async fn smtp_outage_delays_receipts_but_loses_none() {
    let w = World::new();
    w.stack.stop_smtp();
    w.deliver(&report(REPORTER, "Open redirect", "<o1@example.test>", COMPLETE_BODY))
        .await;
    w.deliver(&report(
        "reporter2@example.test",
        "Path traversal",
        "<o2@example.test>",
        COMPLETE_BODY,
    ))
    .await;
    // The pass opens the cases; sending fails (an error is reported, the mail waits).
    let out = w.output(&["run", "--once"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(w.cases().len(), 2);
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND attempts > 0 AND last_error IS NOT NULL")
            .await,
        4
    );

    w.stack.start_smtp();
    // Retries are due after the (1 s) backoff; a running daemon delivers them.
    let mut d = w.spawn();
    let r1 = w.wait_mail("reporter", 1, Duration::from_secs(15)).await;
    let r2 = w.wait_mail("reporter2", 1, Duration::from_secs(15)).await;
    let t = w.wait_mail("triage", 2, Duration::from_secs(15)).await;
    assert_eq!((r1.len(), r2.len(), t.len()), (1, 1, 2), "{}", d.log());
    // A graceful stop records the last delivery (a SIGKILL between the server's 250 and that
    // record would leave the row to be retried once its lease runs out).
    d.terminate();
    w.once();
    assert_eq!(w.mailbox("reporter").await.len(), 1, "sent once");
    assert_eq!(w.db_count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_daemon_opens_a_case_within_two_seconds() {
    let w = World::new();
    let d = w.spawn();
    // Wait until it is logged in and idling.
    let start = Instant::now();
    while !d.log().contains("IMAP ready") {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "daemon never got ready: {}",
            d.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut latencies = Vec::new();
    for i in 0..3 {
        let t = Instant::now();
        w.deliver(&report(
            REPORTER,
            &format!("Idle {i}"),
            &format!("<idle{i}@example.test>"),
            COMPLETE_BODY,
        ))
        .await;
        loop {
            if w.try_db_count("SELECT COUNT(*) FROM cases").await.unwrap_or(0) > i {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(2),
                "case {i} not opened within 2 s: {}",
                d.log()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        latencies.push(t.elapsed());
    }
    assert!(
        d.log().contains("mode=\"idle\"") || d.log().contains("mode=idle"),
        "{}",
        d.log()
    );
    eprintln!("case-open latencies with IDLE: {latencies:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn check_config_connects_over_tls_and_starttls() {
    let w = World::new();
    let ca = w.stack.get("CA_FILE");
    for (port, tls, sport, stls) in [
        (
            w.stack.port("IMAPS_PORT"),
            "implicit",
            w.stack.port("SMTPS_PORT"),
            "implicit",
        ),
        (
            w.stack.port("IMAP_PORT"),
            "starttls",
            w.stack.port("SMTP_PORT"),
            "starttls",
        ),
    ] {
        let out = w
            .cmd()
            .env("SECINTAKE__IMAP__PORT", port.to_string())
            .env("SECINTAKE__IMAP__TLS", tls)
            .env("SECINTAKE__IMAP__CA_FILE", &ca)
            .env("SECINTAKE__IMAP__HOST", "localhost")
            .env("SECINTAKE__SMTP__PORT", sport.to_string())
            .env("SECINTAKE__SMTP__TLS", stls)
            .env("SECINTAKE__SMTP__CA_FILE", &ca)
            .env("SECINTAKE__SMTP__HOST", "localhost")
            .args(["check-config", "--connect"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{tls}: {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("imap ok") && text.contains("smtp ok"), "{text}");
    }
    // Without the CA the certificate is refused, and the command says so.
    let out = w
        .cmd()
        .env("SECINTAKE__IMAP__PORT", w.stack.get("IMAPS_PORT"))
        .env("SECINTAKE__IMAP__TLS", "implicit")
        .args(["check-config", "--connect"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("imap FAILED"));
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_config_names_the_key_and_env_overrides_work() {
    let w = World::new();
    let out = w
        .cmd()
        .env("SECINTAKE__POLICY__ACKNOWLEDGE_WITHIN", "soon")
        .args(["check-config"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("acknowledge_within"), "{err}");

    let out = w
        .cmd()
        .env("SECINTAKE__TEAM__COORDINATORS", "x@example.test,not-an-address")
        .args(["check-config"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("team.coordinators"));

    // A secret from a file (as systemd credentials deliver it).
    let pw = w.dir.path().join("imap-password");
    std::fs::write(&pw, "secret\n").unwrap();
    let text = std::fs::read_to_string(&w.config).unwrap().replace(
        "password = \"secret\"",
        &format!("password_file = \"{}\"", pw.display()),
    );
    std::fs::write(&w.config, text).unwrap();
    let out = w.cmd().args(["check-config", "--connect"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

#[tokio::test(flavor = "multi_thread")]
async fn database_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let w = World::new();
    w.run(&["migrate"]);
    let mode = std::fs::metadata(&w.db).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[tokio::test(flavor = "multi_thread")]
async fn import_ingests_files_like_delivered_mail() {
    let w = World::new();
    let f = w.dir.path().join("old-report.eml");
    std::fs::write(
        &f,
        report(
            REPORTER,
            "Reported by phone, pasted here",
            "<import1@example.test>",
            COMPLETE_BODY,
        ),
    )
    .unwrap();
    let out = w.run(&["import", f.to_str().unwrap()]);
    assert!(out.contains("report SEC-"), "{out}");
    let out = w.run(&["import", f.to_str().unwrap()]);
    assert!(out.contains("0 stored, 1 duplicate(s)"), "{out}");
    w.once();
    assert_eq!(w.cases().len(), 1);
    assert_eq!(w.wait_mail("reporter", 1, Duration::from_secs(5)).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_uidvalidity_change_rescans_without_new_cases_or_receipts() {
    let w = World::new();
    let text = std::fs::read_to_string(&w.config)
        .unwrap()
        .replace("mailbox = \"INBOX\"", "mailbox = \"Reports\"");
    std::fs::write(&w.config, text).unwrap();
    let msgs: Vec<String> = (0..3)
        .map(|i| {
            report(
                REPORTER,
                &format!("Report {i}"),
                &format!("<uv{i}@example.test>"),
                COMPLETE_BODY,
            )
        })
        .collect();
    let port = w.stack.port("IMAP_PORT");
    let mut s = imap_login(port, "security").await;
    s.create("Reports").await.unwrap();
    for m in &msgs {
        s.append("Reports", None, None, m.as_bytes()).await.unwrap();
    }
    let before_v = s.select("Reports").await.unwrap().uid_validity.unwrap();
    let _ = s.logout().await;

    w.once();
    assert_eq!(w.cases().len(), 3);
    assert_eq!(w.wait_mail("reporter", 3, Duration::from_secs(5)).await.len(), 3);
    let counts = || async {
        (
            w.db_count("SELECT COUNT(*) FROM cases").await,
            w.db_count("SELECT COUNT(*) FROM messages").await,
            w.db_count("SELECT COUNT(*) FROM outbox").await,
        )
    };
    let before = counts().await;

    // The mailbox is recreated (as after a server migration): same messages, new UIDs,
    // a new UIDVALIDITY.
    let mut s = imap_login(port, "security").await;
    s.delete("Reports").await.unwrap();
    s.create("Reports").await.unwrap();
    for m in msgs.iter().rev() {
        s.append("Reports", None, None, m.as_bytes()).await.unwrap();
    }
    let after_v = s.select("Reports").await.unwrap().uid_validity.unwrap();
    let _ = s.logout().await;
    assert_ne!(
        before_v, after_v,
        "the server kept UIDVALIDITY: the test proves nothing"
    );

    let log = w.once();
    assert!(log.contains("UIDVALIDITY changed"), "{log}");
    assert_eq!(counts().await, before, "no new case, message or outgoing mail");
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM events WHERE kind = 'uidvalidity-changed'")
            .await,
        1
    );
    let cursor: serde_json::Value = serde_json::from_slice(&w.output(&["status", "--json"]).stdout).unwrap();
    assert_eq!(cursor["cursor"]["uidvalidity"], i64::from(after_v), "{cursor}");
    assert_eq!(cursor["cursor"]["last_uid"], 3, "{cursor}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(w.mailbox("reporter").await.len(), 3, "no second receipt");
    // A third pass: nothing to re-scan any more.
    let log = w.once();
    assert!(!log.contains("UIDVALIDITY changed"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn receipts_go_out_over_starttls_with_auth_and_over_implicit_tls() {
    let w = World::new();
    let ca = w.stack.get("CA_FILE");
    for (i, (port, tls, user)) in [
        (w.stack.port("SMTP_PORT"), "starttls", "security"),
        (w.stack.port("SMTPS_PORT"), "implicit", ""),
    ]
    .into_iter()
    .enumerate()
    {
        w.deliver(&report(
            REPORTER,
            &format!("Over {tls}"),
            &format!("<tls{i}@example.test>"),
            COMPLETE_BODY,
        ))
        .await;
        let out = w
            .cmd()
            .env("SECINTAKE__SMTP__PORT", port.to_string())
            .env("SECINTAKE__SMTP__TLS", tls)
            .env("SECINTAKE__SMTP__CA_FILE", &ca)
            .env("SECINTAKE__SMTP__HOST", "localhost")
            .env("SECINTAKE__SMTP__USERNAME", user)
            .env("SECINTAKE__SMTP__PASSWORD", "secret")
            .args(["run", "--once"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{tls}: {}", String::from_utf8_lossy(&out.stderr));
        let inbox = w.wait_mail("reporter", i + 1, Duration::from_secs(10)).await;
        assert_eq!(inbox.len(), i + 1, "{tls}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(inbox[i].subject().contains(&format!("Over {tls}")), "{tls}");
    }
    assert_eq!(w.db_count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").await, 0);
}

//! Running as a service: graceful shutdown mid-batch, logs without secrets, status, metrics.

mod common;

use common::*;
use std::collections::HashSet;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_mid_batch_finishes_the_batch_and_leaves_the_rest_untouched() {
    let w = World::with("[imap]\nbatch_size = 5\n[policy]\nauto_reply_daily_cap = 1000\n");
    let n = 300;
    let mut s = imap_login(w.stack.port("IMAP_PORT"), "security").await;
    for i in 0..n {
        let raw = report(
            &format!("r{}@example.test", i % 5),
            &format!("Report {i}"),
            &format!("<t{i}@example.test>"),
            COMPLETE_BODY,
        );
        s.append("INBOX", None, None, raw.as_bytes()).await.unwrap();
    }
    let _ = s.logout().await;

    let mut d = w.spawn();
    let start = Instant::now();
    loop {
        if w.try_db_count("SELECT COUNT(*) FROM messages").await.unwrap_or(0) >= 10 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "never started: {}", d.log());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (status, took) = d.terminate();
    assert!(status.success(), "exit 0 on SIGTERM: {status:?}\n{}", d.log());
    assert!(took < Duration::from_secs(10), "stopped in {took:?}");
    assert!(d.log().contains("shutting down"));

    let stored: HashSet<i64> = {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", w.db.display()))
            .await
            .unwrap();
        let rows: Vec<(i64,)> = sqlx::query_as("SELECT uid FROM messages")
            .fetch_all(&pool)
            .await
            .unwrap();
        pool.close().await;
        rows.into_iter().map(|r| r.0).collect()
    };
    assert!((stored.len() as i64) < n, "stopped mid-way ({} of {n})", stored.len());
    // Every message is either fully processed (stored, in a case, \Seen) or untouched.
    for (uid, seen) in seen_flags(w.stack.port("IMAP_PORT")).await {
        assert_eq!(
            stored.contains(&i64::from(uid)),
            seen,
            "uid {uid}: stored={} seen={seen}",
            stored.contains(&i64::from(uid))
        );
    }
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM messages WHERE case_id IS NULL").await,
        0
    );
    w.once();
    assert_eq!(w.db_count("SELECT COUNT(*) FROM messages").await, n);
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM outbox WHERE kind = 'receipt'").await,
        n
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_are_json_with_case_spans_and_never_carry_bodies_or_passwords() {
    let w = World::with("[log]\nformat = \"json\"\nlevel = \"info\"\n");
    // A distinctive body and SMTP credentials the log must never show.
    let text = std::fs::read_to_string(&w.config)
        .unwrap()
        .replace("[log]\nlevel = \"info\"\n", "");
    std::fs::write(&w.config, text).unwrap();
    let marker = "ZEBRA-CANARY-7731 the attacker sends a crafted Range header";
    w.deliver(&report(
        REPORTER,
        "Range DoS",
        "<l1@example.test>",
        &format!("{COMPLETE_BODY}\n{marker}"),
    ))
    .await;
    let out = w
        .cmd()
        .env("SECINTAKE__SMTP__USERNAME", "security")
        .env("SECINTAKE__SMTP__PASSWORD", "hunter2-SMTP-pw")
        .args(["run", "--once"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{log}");
    assert!(!log.contains("ZEBRA-CANARY"), "body text in the log:\n{log}");
    assert!(
        !log.contains("hunter2-SMTP-pw") && !log.contains("\"secret\""),
        "a password in the log:\n{log}"
    );
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "stored" && l["span"]["case"].as_str().is_some_and(|c| c.starts_with("SEC-"))),
        "a span with the case id:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn status_is_healthy_after_a_pass_and_unhealthy_when_imap_fails() {
    let w = World::new();
    w.deliver(&report(REPORTER, "Status", "<s1@example.test>", COMPLETE_BODY))
        .await;
    w.once();
    let out = w.output(&["status"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("health:            ok") && text.contains("open cases:        1"),
        "{text}"
    );
    let s: serde_json::Value = serde_json::from_str(&w.run(&["status", "--json"])).unwrap();
    assert_eq!(s["healthy"], true);
    assert_eq!(s["cursor"]["last_uid"], 1);
    assert_eq!(s["outbox_backlog"], 0);

    w.stack.stop_imap();
    let out = w.output(&["run", "--once"]);
    assert!(!out.status.success(), "a pass that cannot reach IMAP fails");
    let out = w.output(&["status"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("IMAP is failing"));
    w.stack.start_imap();
}

async fn scrape(port: u16) -> String {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf).into_owned()
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_metrics_can_be_scraped() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let w = World::with(&format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n"));
    let d = w.spawn();
    w.deliver(&report(REPORTER, "Metrics", "<m1@example.test>", COMPLETE_BODY))
        .await;
    w.wait_mail("reporter", 1, Duration::from_secs(10)).await;
    let start = Instant::now();
    let text = loop {
        let t = scrape(port).await;
        if metric(&t, "secintake_mails_sent_total") >= 2.0 || start.elapsed() > Duration::from_secs(10) {
            break t;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert_eq!(
        metric(&text, "secintake_messages_ingested_total"),
        1.0,
        "{text}\n{}",
        d.log()
    );
    assert_eq!(metric(&text, "secintake_cases_opened_total"), 1.0);
    assert!(metric(&text, "secintake_mails_sent_total") >= 2.0);
    assert!(text.contains("secintake_ingest_latency_seconds_bucket"), "{text}");
    assert!(text.contains("secintake_outbox_backlog"));
    assert!(text.contains("secintake_imap_reconnects_total"));
    // Only on loopback.
    let bad = World::with("[metrics]\nlisten = \"0.0.0.0:9464\"\n");
    let out = bad.output(&["check-config"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("metrics.listen"));
}

#[tokio::test(flavor = "multi_thread")]
async fn systemd_hears_ready_status_watchdog_and_stopping() {
    let w = World::new();
    let sock = w.dir.path().join("notify.sock");
    let listener = std::os::unix::net::UnixDatagram::bind(&sock).unwrap();
    listener.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let mut d = w.spawn_with(&[("NOTIFY_SOCKET", sock.to_str().unwrap())]);
    let mut heard = String::new();
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    while !(heard.contains("READY=1") && heard.contains("WATCHDOG=1")) && start.elapsed() < Duration::from_secs(15) {
        if let Ok(n) = listener.recv(&mut buf) {
            heard.push_str(&String::from_utf8_lossy(&buf[..n]));
            heard.push('\n');
        }
    }
    assert!(heard.contains("READY=1"), "{heard}\n{}", d.log());
    assert!(heard.contains("STATUS=idle: watching INBOX"), "{heard}");
    assert!(heard.contains("WATCHDOG=1"), "{heard}");
    let (status, _) = d.terminate();
    assert!(status.success());
    let mut rest = String::new();
    while let Ok(n) = listener.recv(&mut buf) {
        rest.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(rest.contains("STOPPING=1"), "{rest}");
}

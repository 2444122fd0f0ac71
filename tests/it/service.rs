//! Running as a service: graceful shutdown mid-batch, logs without secrets, status, metrics.

use crate::common::*;
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

/// Distinctive canaries, searched for as bare strings (no quoting that a format could dodge).
const IMAP_PW: &str = "Qx7imapCANARYpw4410";
const SMTP_PW: &str = "Wv3smtpCANARYpw8812";
const BODY_CANARY: &str = "ZEBRA-CANARY-7731";

fn assert_clean(log: &str) {
    assert!(!log.contains(BODY_CANARY), "body text in the log:\n{log}");
    assert!(!log.contains(IMAP_PW), "the IMAP password in the log:\n{log}");
    assert!(!log.contains(SMTP_PW), "the SMTP password in the log:\n{log}");
    // Not even a part of one (a truncated or escaped rendering).
    assert!(!log.contains("CANARYpw"), "a password fragment in the log:\n{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_are_json_with_case_spans_and_never_carry_bodies_or_passwords() {
    // The mail stack's users log in with IMAP_PW; secintake gets it from the environment.
    let w = World::with_stack(
        "[log]\nformat = \"json\"\nlevel = \"info\"\n",
        &[("MAILSTACK_PASSWORD", IMAP_PW)],
    );
    let text = std::fs::read_to_string(&w.config)
        .unwrap()
        .replace("[log]\nlevel = \"info\"\n", "")
        .replace("password = \"secret\"", "password = \"wrong\"");
    std::fs::write(&w.config, text).unwrap();
    let marker = format!("{BODY_CANARY} the attacker sends a crafted Range header");
    let deliver = |subject: &str, id: &str| {
        let raw = report(REPORTER, subject, id, &format!("{COMPLETE_BODY}\n{marker}"));
        let port = w.stack.port("IMAP_PORT");
        async move {
            let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            let mut c = async_imap::Client::new(tcp);
            c.read_response().await.unwrap();
            let mut s = c.login("security", IMAP_PW).await.map_err(|(e, _)| e).unwrap();
            s.append("INBOX", None, None, raw.as_bytes()).await.unwrap();
            let _ = s.logout().await;
        }
    };
    deliver("Range DoS", "<l1@example.test>").await;
    let with_secrets = |c: &mut std::process::Command| {
        c.env("SECINTAKE__IMAP__PASSWORD", IMAP_PW)
            .env("SECINTAKE__SMTP__USERNAME", "security")
            .env("SECINTAKE__SMTP__PASSWORD", SMTP_PW);
    };
    let mut cmd = w.cmd();
    with_secrets(&mut cmd);
    let out = cmd.args(["run", "--once"]).output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{log}");
    assert_clean(&log);
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

    // The long-running daemon, in text format, through a whole ingest and a stop.
    let text = std::fs::read_to_string(&w.config)
        .unwrap()
        .replace("format = \"json\"", "format = \"text\"");
    std::fs::write(&w.config, text).unwrap();
    let mut d = w.spawn_with(&[
        ("SECINTAKE__IMAP__PASSWORD", IMAP_PW),
        ("SECINTAKE__SMTP__USERNAME", "security"),
        ("SECINTAKE__SMTP__PASSWORD", SMTP_PW),
    ]);
    deliver("Range DoS again", "<l2@example.test>").await;
    let start = Instant::now();
    while w.try_db_count("SELECT COUNT(*) FROM cases").await.unwrap_or(0) < 2 {
        assert!(start.elapsed() < Duration::from_secs(15), "{}", d.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, _) = d.terminate();
    let log = d.log();
    assert!(status.success(), "{log}");
    assert!(log.contains("IMAP ready") && log.contains("stored"), "{log}");
    assert!(!log.trim_start().starts_with('{'), "text format: {log}");
    assert_clean(&log);
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

/// Collects sd_notify datagrams on a socket the daemon is pointed at.
struct NotifySocket {
    sock: std::os::unix::net::UnixDatagram,
    path: std::path::PathBuf,
}

impl NotifySocket {
    fn new(w: &World) -> NotifySocket {
        let path = w.dir.path().join("notify.sock");
        let sock = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        NotifySocket { sock, path }
    }
    fn env(&self) -> (&'static str, &str) {
        ("NOTIFY_SOCKET", self.path.to_str().unwrap())
    }
    /// Datagrams heard within `d`, each with when it arrived.
    fn listen(&self, d: Duration, until: impl Fn(&[(Instant, String)]) -> bool) -> Vec<(Instant, String)> {
        let start = Instant::now();
        let mut heard = Vec::new();
        let mut buf = [0u8; 4096];
        while start.elapsed() < d && !until(&heard) {
            if let Ok(n) = self.sock.recv(&mut buf) {
                heard.push((Instant::now(), String::from_utf8_lossy(&buf[..n]).into_owned()));
            }
        }
        heard
    }
}

fn count(heard: &[(Instant, String)], what: &str) -> usize {
    heard.iter().filter(|(_, m)| m.contains(what)).count()
}

fn last_contact(w: &World) -> String {
    let out = w.output(&["status", "--json"]);
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    s["last_imap_contact"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_is_renewed_in_a_quiet_mailbox_although_the_server_sends_keepalives() {
    // Dovecot says "* OK Still here" every second: an IDLE timeout that restarts on every
    // response would never end, and the watchdog would starve.
    let w = World::with_stack(
        "[imap]\nidle_renew = \"2s\"\n",
        &[("MAILSTACK_IDLE_NOTIFY_INTERVAL", "1 secs")],
    );
    let notify = NotifySocket::new(&w);
    let d = w.spawn_with(&[notify.env()]);
    let heard = notify.listen(Duration::from_secs(20), |h| {
        count(h, "READY=1") > 0 && count(h, "WATCHDOG=1") > 0
    });
    assert!(count(&heard, "READY=1") == 1, "{heard:?}\n{}", d.log());
    let contact_before = last_contact(&w);

    // A quiet mailbox for 12 s: IDLE must end and be renewed every 2 s.
    let quiet = notify.listen(Duration::from_secs(12), |_| false);
    let pings: Vec<Instant> = quiet
        .iter()
        .filter(|(_, m)| m.contains("WATCHDOG=1"))
        .map(|(t, _)| *t)
        .collect();
    assert!(
        pings.len() >= 4,
        "only {} watchdog pings in 12 s of IDLE with idle_renew = 2s: {quiet:?}\n{}",
        pings.len(),
        d.log()
    );
    let longest = pings.windows(2).map(|p| p[1] - p[0]).max().unwrap();
    assert!(longest < Duration::from_secs(5), "a gap of {longest:?} between pings");
    assert!(
        quiet.iter().any(|(_, m)| m.contains("STATUS=idle: watching INBOX")),
        "{quiet:?}"
    );
    let contact_after = last_contact(&w);
    assert!(
        contact_after > contact_before,
        "last IMAP contact stays fresh: {contact_before} -> {contact_after}"
    );
    assert!(!d.log().contains("reconnecting"), "{}", d.log());

    // After all those renewals a report still arrives promptly.
    let t = Instant::now();
    w.deliver(&report(
        REPORTER,
        "After renewals",
        "<renew1@example.test>",
        COMPLETE_BODY,
    ))
    .await;
    loop {
        if w.try_db_count("SELECT COUNT(*) FROM cases").await.unwrap_or(0) >= 1 {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "case not opened within 2 s: {}",
            d.log()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!(
        "IDLE arrival -> case latency after {} IDLE renewals (idle_renew 2s, keepalive every 1s): {:?}",
        pings.len(),
        t.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_backlog_feeds_the_watchdog_per_batch() {
    let w = World::with("[imap]\nbatch_size = 5\n[policy]\nauto_reply_daily_cap = 1000\n");
    let mut s = imap_login(w.stack.port("IMAP_PORT"), "security").await;
    for i in 0..40 {
        let raw = report(
            &format!("r{}@example.test", i % 5),
            &format!("Backlog {i}"),
            &format!("<b{i}@example.test>"),
            COMPLETE_BODY,
        );
        s.append("INBOX", None, None, raw.as_bytes()).await.unwrap();
    }
    let _ = s.logout().await;
    let notify = NotifySocket::new(&w);
    let d = w.spawn_with(&[notify.env()]);
    let heard = notify.listen(Duration::from_secs(30), |h| count(h, "STATUS=idle: watching") > 0);
    assert!(count(&heard, "STATUS=idle: watching") > 0, "{heard:?}\n{}", d.log());
    assert!(count(&heard, "STATUS=connecting to 127.0.0.1:") > 0, "{heard:?}");
    // Up to the end of the drain: a ping and a progress line per committed batch of 5.
    let drain: Vec<&String> = heard
        .iter()
        .map(|(_, m)| m)
        .take_while(|m| !m.contains("STATUS=idle: watching"))
        .collect();
    let progress: Vec<&&String> = drain.iter().filter(|m| m.contains("STATUS=ingesting: ")).collect();
    assert!(progress.len() >= 8, "one progress line per batch: {drain:?}");
    assert!(progress.iter().all(|m| m.contains("WATCHDOG=1")), "{progress:?}");
    assert!(
        progress.last().unwrap().contains("ingesting: 40 stored"),
        "{progress:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn reconnects_back_off_when_every_pass_fails_after_login() {
    let w = World::with("[imap]\nreconnect_max = \"4s\"\n");
    w.run(&["migrate"]);
    // A failure that strikes after every successful login: the database refuses to store.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", w.db.display()))
        .await
        .unwrap();
    sqlx::query(
        "CREATE TRIGGER refuse BEFORE INSERT ON messages BEGIN SELECT RAISE(ABORT, 'injected: cannot store'); END",
    )
    .execute(&pool)
    .await
    .unwrap();
    w.deliver(&report(REPORTER, "Backoff", "<bo1@example.test>", COMPLETE_BODY))
        .await;
    let d = w.spawn();
    let failed = |log: &str| log.matches("intake pass failed").count();
    let start = Instant::now();
    while failed(&d.log()) == 0 {
        assert!(start.elapsed() < Duration::from_secs(20), "never failed: {}", d.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let log = d.log();
    let n = failed(&log);
    eprintln!("failed passes in the first 5 s of a persistent post-login failure: {n}");
    assert!(
        (2..=4).contains(&n),
        "{n} failed passes in 5 s (backoff 1 s, 2 s, 4 s): {log}"
    );
    assert!(log.contains("injected: cannot store"), "{log}");
    let out = w.output(&["status"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));

    // Once the cause is gone the next attempt (at most reconnect_max later) succeeds.
    sqlx::query("DROP TRIGGER refuse").execute(&pool).await.unwrap();
    pool.close().await;
    let t = Instant::now();
    while w.try_db_count("SELECT COUNT(*) FROM cases").await.unwrap_or(0) == 0 {
        assert!(t.elapsed() < Duration::from_secs(10), "did not recover: {}", d.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_while_idle_exits_promptly_after_sending_what_was_committed() {
    let w = World::new();
    let mut d = w.spawn();
    let start = Instant::now();
    while !d.log().contains("IMAP ready") {
        assert!(start.elapsed() < Duration::from_secs(20), "never ready: {}", d.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    w.deliver(&report(REPORTER, "Last one", "<last1@example.test>", COMPLETE_BODY))
        .await;
    let t = Instant::now();
    while w.try_db_count("SELECT COUNT(*) FROM messages").await.unwrap_or(0) == 0 {
        assert!(t.elapsed() < Duration::from_secs(5), "not ingested: {}", d.log());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Stopped right after the commit: the receipt and notice still go out before exit.
    let (status, took) = d.terminate();
    assert!(status.success(), "exit 0 on SIGTERM: {status:?}\n{}", d.log());
    assert!(took < Duration::from_secs(2), "stopped in {took:?}: {}", d.log());
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").await,
        0,
        "{}",
        d.log()
    );
    assert_eq!(w.mailbox("reporter").await.len(), 1);

    // And from plain IDLE, with nothing in hand.
    let mut d = w.spawn();
    let start = Instant::now();
    while !d.log().contains("IMAP ready") {
        assert!(start.elapsed() < Duration::from_secs(20), "never ready: {}", d.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, took) = d.terminate();
    assert!(status.success(), "{status:?}\n{}", d.log());
    assert!(took < Duration::from_secs(2), "stopped in {took:?}");
    eprintln!("SIGTERM in IDLE -> exit: {took:?}");
}

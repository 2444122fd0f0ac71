//! Fault injection against the real mail stack: crash loops, IMAP restarts and hangs, a full
//! disk, and hostile mail. The guarantees of DESIGN.md as repeatable evidence.

use crate::common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant};

/// xorshift: a reproducible random sequence without another crate.
fn rng(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

/// Heavy fault tests run one at a time: on 2 cores, a 30 MB message, two 1,000-mail runs and
/// second-scale timing windows would otherwise compete with each other.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// 1,000 mails: reports, and follow-ups threaded to an earlier report by References. Also
/// returns the truth: every Message-ID -> the Message-ID of the report its case must hold.
fn corpus(n: usize, seed: u64) -> (Vec<String>, BTreeMap<String, String>) {
    let mut s = seed;
    let mut reports: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut truth = BTreeMap::new();
    for i in 0..n {
        if !reports.is_empty() && rng(&mut s) % 10 < 3 {
            let parent = reports[(rng(&mut s) % reports.len() as u64) as usize].clone();
            truth.insert(format!("<f{i}@example.test>"), parent.clone());
            out.push(reply(
                &format!("r{}@example.test", i % 9),
                LIST,
                "Re: more details",
                &format!("<f{i}@example.test>"),
                &parent,
                "",
                "Another detail about the same issue.",
            ));
        } else {
            let id = format!("<n{i}@example.test>");
            out.push(report(
                &format!("r{}@example.test", i % 9),
                &format!("Report {i}"),
                &id,
                COMPLETE_BODY,
            ));
            truth.insert(id.clone(), id.clone());
            reports.push(id);
        }
    }
    (out, truth)
}

async fn append_all(w: &World, mails: &[String]) {
    let mut s = imap_login(w.stack.port("IMAP_PORT"), "security").await;
    for m in mails {
        s.append("INBOX", None, None, m.as_bytes()).await.unwrap();
    }
    let _ = s.logout().await;
}

/// message-id -> the Message-ID of the report that opened its case.
async fn threading(w: &World) -> BTreeMap<String, String> {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", w.db.display()))
        .await
        .unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.message_id, r.message_id FROM messages m JOIN messages r ON r.case_id = m.case_id AND r.kind = 'report'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows.into_iter().collect()
}

/// A config change: SMTP points at a closed port (mail stays queued, sends fail fast).
fn no_smtp(w: &World) {
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = std::fs::read_to_string(&w.config).unwrap().replace(
        &format!("port = {}\ntls = \"none\"\nfrom", w.stack.port("SMTP_PORT")),
        &format!("port = {dead}\ntls = \"none\"\nfrom"),
    );
    std::fs::write(&w.config, text).unwrap();
}

/// The In-Reply-To of every receipt in the outbox.
async fn receipt_parents(w: &World) -> Vec<String> {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", w.db.display()))
        .await
        .unwrap();
    let rows: Vec<(Vec<u8>,)> = sqlx::query_as("SELECT raw FROM outbox WHERE kind = 'receipt'")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    rows.iter()
        .map(|(raw,)| {
            let m = mail_parser::MessageParser::default().parse(raw).unwrap();
            format!("<{}>", m.in_reply_to().as_text().unwrap_or(""))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_loop_of_ten_sigkills_changes_nothing_in_the_outcome() {
    let _one = ONE_AT_A_TIME.lock().await;
    let seed = 0x5EC1_27A4_u64 ^ std::process::id() as u64;
    eprintln!("seed {seed:#x}");
    let (mails, truth) = corpus(1000, 0xC0FFEE);
    let reports: BTreeSet<String> = truth.values().cloned().collect();
    let extra = "[imap]\nbatch_size = 10\n[policy]\nauto_reply_daily_cap = 100000\n";

    // The reference: one uninterrupted pass.
    let calm = World::with(extra);
    no_smtp(&calm);
    append_all(&calm, &mails).await;
    let _ = calm.output(&["run", "--once"]);
    let reference = threading(&calm).await;
    assert_eq!(
        reference, truth,
        "an uninterrupted run threads every follow-up to its report"
    );

    // The same mail, with the daemon killed at random points while it ingests: each kill
    // lands after the daemon has committed something new, at a random moment after that.
    let w = World::with(extra);
    no_smtp(&w);
    append_all(&w, &mails).await;
    let mut s = seed;
    let (mut kills, mut mid_ingest, mut last) = (0, 0, 0i64);
    let mut stored_at_kill = Vec::new();
    while mid_ingest < 10 && last < 1000 {
        assert!(kills < 100, "too many kills without progress: {stored_at_kill:?}");
        let mut d = w.spawn();
        let t = Instant::now();
        while w.try_db_count("SELECT COUNT(*) FROM messages").await.unwrap_or(0) <= last {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "no progress after a restart: {}",
                d.log()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng(&mut s) % 80)).await;
        d.kill9();
        kills += 1;
        last = w.try_db_count("SELECT COUNT(*) FROM messages").await.unwrap_or(0);
        if last < 1000 {
            mid_ingest += 1;
        }
        stored_at_kill.push(last);
    }
    eprintln!("{kills} SIGKILLs, {mid_ingest} while ingesting; messages stored at each: {stored_at_kill:?}");
    assert!(
        mid_ingest >= 10,
        "at least ten kills fell while ingesting: {stored_at_kill:?}"
    );
    let _ = w.output(&["run", "--once"]);

    assert_eq!(
        threading(&w).await,
        truth,
        "every message stored exactly once, in the case of the report it belongs to"
    );
    let cases = w.db_count("SELECT COUNT(*) FROM cases").await;
    assert_eq!(cases, reports.len() as i64, "one case per report");
    assert_eq!(cases, calm.db_count("SELECT COUNT(*) FROM cases").await);
    let mut parents = receipt_parents(&w).await;
    parents.sort();
    assert_eq!(
        parents,
        reports.iter().cloned().collect::<Vec<_>>(),
        "exactly one receipt per report, and none for a follow-up"
    );
    assert!(
        seen_flags(w.stack.port("IMAP_PORT")).await.iter().all(|(_, s)| *s),
        "all marked \\Seen"
    );
}

/// Delivers a message straight into a user's Maildir, as the MTA would while Dovecot is down.
fn drop_into_maildir(w: &World, user: &str, name: &str, raw: &str) {
    let dir = w.stack.dir.path().join("stack/mail").join(user).join("Maildir");
    let tmp = dir.join("tmp").join(name);
    std::fs::write(&tmp, raw).unwrap();
    let nobody = Command::new("id").args(["-u", "nobody"]).output().unwrap();
    let uid: u32 = String::from_utf8_lossy(&nobody.stdout).trim().parse().unwrap();
    std::os::unix::fs::chown(&tmp, Some(uid), None).unwrap();
    std::fs::rename(&tmp, dir.join("new").join(name)).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_imap_restart_during_idle_is_survived_and_mail_picked_up_quickly() {
    let _one = ONE_AT_A_TIME.lock().await;
    let w = World::new();
    let d = w.spawn();
    let start = Instant::now();
    while !d.log().contains("IMAP ready") {
        assert!(start.elapsed() < Duration::from_secs(20), "{}", d.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ready = d.log();
    assert!(
        ready.contains("mode=\"idle\"") || ready.contains("mode=idle"),
        "the daemon is in IDLE: {ready}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    w.stack.stop_imap();
    // A report arrives while the IMAP server is down (the MTA writes it into the Maildir).
    drop_into_maildir(
        &w,
        "security",
        "1764583200.outage.localhost",
        &report(REPORTER, "During the outage", "<outage@example.test>", COMPLETE_BODY),
    );
    tokio::time::sleep(Duration::from_secs(6)).await; // an outage: several failed reconnects
    assert_eq!(w.try_db_count("SELECT COUNT(*) FROM cases").await.unwrap_or(0), 0);
    w.stack.start_imap();
    let back = Instant::now();
    loop {
        if w.try_db_count("SELECT COUNT(*) FROM cases").await.unwrap_or(0) == 1 {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(10),
            "not picked up within 10 s of the server being back:\n{}",
            d.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "the report that arrived during the outage was picked up {:?} after the server came back",
        back.elapsed()
    );
    let log = d.log();
    assert!(
        log.contains("IDLE failed") || log.contains("intake pass failed") || log.contains("IMAP connection failed"),
        "{log}"
    );
    let failed = log.matches("IMAP connection failed").count();
    assert!(failed >= 2, "it retried during the outage: {log}");
    assert!(failed <= 8, "with backoff, not in a tight loop: {log}");
    assert!(log.contains("IMAP reconnected"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_imap_server_times_out_and_the_other_tasks_keep_working() {
    let _one = ONE_AT_A_TIME.lock().await;
    // Second-scale deadlines, so the sweeper has a reminder to send while IMAP hangs.
    let w = World::with("[policy]\nassign_within = \"3s\"\nremind_before = \"0s\"\nreminder_repeat = \"1h\"\n");
    w.deliver(&report(
        REPORTER,
        "Before the hang",
        "<hang@example.test>",
        COMPLETE_BODY,
    ))
    .await;
    w.once();
    let id = w.cases()[0]["id"].as_str().unwrap().to_string();
    let notices = w.wait_mail("triage", 1, Duration::from_secs(10)).await.len();
    // A server that accepts TCP and never says a word.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let holder = std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming().take(50) {
            held.push(c);
        }
    });
    let text = std::fs::read_to_string(&w.config)
        .unwrap()
        .replace(
            &format!("port = {}\ntls = \"none\"\nusername", w.stack.port("IMAP_PORT")),
            &format!("port = {port}\ntls = \"none\"\nusername"),
        )
        .replacen("timeout = \"10s\"", "timeout = \"2s\"", 1);
    std::fs::write(&w.config, text).unwrap();
    let mut d = w.spawn();
    let start = Instant::now();
    while !d.log().contains("no answer within 2s") {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the hang is logged as a timeout: {}",
            d.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The sweeper still works: the overdue assignment is reminded to the team.
    let team = w.wait_mail("triage", notices + 1, Duration::from_secs(15)).await;
    assert!(
        team.iter()
            .skip(notices)
            .any(|m| m.subject().contains(&id) && m.subject().contains("overdue")),
        "the reminder went out while IMAP hung: {:?}\n{}",
        team.iter().map(|m| m.subject()).collect::<Vec<_>>(),
        d.log()
    );
    // The outbox still delivers: a dismissal queued from the CLI after the hang reaches the reporter.
    w.run(&["case", &id, "assign", ALICE]);
    w.run(&["case", &id, "state", "invalid", "not", "in", "scope"]);
    let mails = w.wait_mail("reporter", 2, Duration::from_secs(15)).await;
    assert_eq!(mails.len(), 2, "the outbox kept working: {}", d.log());
    assert!(mails[1].body().contains("not in scope"));
    assert!(
        d.child.as_mut().unwrap().try_wait().unwrap().is_none(),
        "the daemon is still running: {}",
        d.log()
    );
    drop(d);
    drop(holder);
}

fn mount_tmpfs(dir: &std::path::Path, size: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let out = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "this test needs root to mount a small tmpfs (run the tests as root, as CI does): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_stops_intake_without_marking_anything_and_it_resumes() {
    let _one = ONE_AT_A_TIME.lock().await;
    let w = World::new();
    let dbdir = w.dir.path().join("data");
    mount_tmpfs(&dbdir, "8m");
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
    let _u = Unmount(dbdir.clone());
    w.deliver(&report(REPORTER, "First", "<disk1@example.test>", COMPLETE_BODY))
        .await;
    let d = w.spawn();
    let start = Instant::now();
    while w.try_db_count("SELECT COUNT(*) FROM cases").await.unwrap_or(0) < 1 {
        assert!(start.elapsed() < Duration::from_secs(20), "{}", d.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Fill the disk.
    let filler = dbdir.join("filler");
    let _ = Command::new("dd")
        .args(["if=/dev/zero", &format!("of={}", filler.display()), "bs=64k"])
        .output();
    // A large report cannot be stored now: larger than the WAL, whose space a checkpointed
    // WAL reuses, so storing it needs space the disk no longer has.
    let wal = std::fs::metadata(dbdir.join("secintake.db-wal")).map_or(0, |m| m.len() as usize);
    let lines = (wal + (1 << 20)) / 22 + 1;
    let big = format!(
        "{COMPLETE_BODY}\n{}",
        "padding line for size\n".repeat(lines.max(20_000))
    );
    w.deliver(&report(REPORTER, "While full", "<disk2@example.test>", &big))
        .await;
    let start = Instant::now();
    while !d
        .log()
        .lines()
        .any(|l| l.contains("intake pass failed") && l.contains("full"))
    {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the failure is logged: {}",
            d.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let flags = seen_flags(w.stack.port("IMAP_PORT")).await;
    assert_eq!(
        flags,
        vec![(1, true), (2, false)],
        "nothing is marked \\Seen that was not stored"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let status = w.output(&["status", "--max-lag", "1s"]);
    let st = String::from_utf8_lossy(&status.stdout);
    eprintln!("status while the disk is full:\n{st}");
    assert_eq!(status.status.code(), Some(1), "status says so: {st}");
    assert!(st.contains("not ingested"), "{st}");
    assert!(
        st.contains("database: disk nearly full"),
        "status names the cause: {st}"
    );
    assert_eq!(
        seen_flags(w.stack.port("IMAP_PORT")).await,
        vec![(1, true), (2, false)],
        "still nothing marked that was not stored"
    );

    // Space again: the daemon resumes on its own.
    std::fs::remove_file(&filler).unwrap();
    let start = Instant::now();
    while w.try_db_count("SELECT COUNT(*) FROM cases").await.unwrap_or(0) < 2 {
        assert!(start.elapsed() < Duration::from_secs(30), "did not resume: {}", d.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let flags = seen_flags(w.stack.port("IMAP_PORT")).await;
    assert_eq!(flags, vec![(1, true), (2, true)]);
}

fn hostile_mails() -> Vec<(&'static str, Vec<u8>)> {
    let mut v: Vec<(&'static str, Vec<u8>)> = Vec::new();
    // 30 MB: a report with a large base64 attachment.
    let blob = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\r\n"
        .repeat(30 * 1024 * 1024 / 78);
    v.push(("30 MB", format!("From: big@example.test\r\nTo: {LIST}\r\nSubject: huge attachment\r\nMessage-ID: <big@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n--b\r\nContent-Type: application/octet-stream; name=dump.bin\r\nContent-Disposition: attachment; filename=dump.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n{blob}--b--\r\n").into_bytes()));
    // 5,000 MIME parts.
    let parts: String = (0..5000)
        .map(|i| format!("--p\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n"))
        .collect();
    v.push(("5000 parts", format!("From: parts@example.test\r\nTo: {LIST}\r\nSubject: many parts\r\nMessage-ID: <parts@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=p\r\n\r\n{parts}--p--\r\n").into_bytes()));
    // 10,000 recipients.
    let to: Vec<String> = (0..10_000).map(|i| format!("user{i}@example.net")).collect();
    v.push(("10000 recipients", format!("From: many@example.test\r\nTo: {}\r\nSubject: many recipients\r\nMessage-ID: <many@example.test>\r\n\r\nexpress 4.21.1 crash; attacker can DoS with curl -H x localhost\r\n", to.join(",\r\n ")).into_bytes()));
    // A 1 MB header.
    v.push(("1 MB header", format!("From: header@example.test\r\nTo: {LIST}\r\nSubject: long header\r\nMessage-ID: <header@example.test>\r\nX-Junk: {}\r\n\r\nbody\r\n", "x".repeat(1 << 20)).into_bytes()));
    // NUL bytes and invalid UTF-8 in headers.
    let mut nul = b"From: nul@example.test\r\nTo: security@example.test\r\nSubject: nul \0 bytes \xff\xfe here\r\nMessage-ID: <nul@example.test>\r\n\r\nbody with \0 NUL and \xc3\x28 bad utf-8\r\n".to_vec();
    nul.extend_from_slice(b"\0\0\0");
    v.push(("NUL and invalid UTF-8", nul));
    // Header injection through the subject (encoded CR LF).
    v.push(("header injection", format!("From: inject@example.test\r\nTo: {LIST}\r\nSubject: =?UTF-8?Q?hello=0D=0ABcc=3A_victim=40example=2Enet?=\r\nMessage-ID: <inject@example.test>\r\n\r\nexpress 4.21.1: attacker can inject headers via res.set; curl -H 'x: y' localhost\r\n").into_bytes()));
    // No Message-ID, no From, no Date.
    v.push(("no Message-ID", format!("From: noid@example.test\r\nTo: {LIST}\r\nSubject: no id\r\n\r\nexpress 4.21.1, attacker can crash it, curl localhost\r\n").into_bytes()));
    v.push((
        "no From",
        format!("To: {LIST}\r\nSubject: no from\r\nMessage-ID: <nofrom@example.test>\r\n\r\nanonymous report\r\n")
            .into_bytes(),
    ));
    v.push(("no Date", format!("From: nodate@example.test\r\nTo: {LIST}\r\nSubject: no date\r\nMessage-ID: <nodate@example.test>\r\n\r\nexpress 4.21.1 crash, attacker DoS, curl localhost\r\n").into_bytes()));
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_mail_is_stored_and_handled_without_crash_injection_or_unbounded_memory() {
    let _one = ONE_AT_A_TIME.lock().await;
    assert!(
        std::path::Path::new("/usr/bin/time").exists(),
        "this test measures peak memory with GNU time: apt-get install -y time (or run scripts/setup-debian.sh)"
    );
    let w = World::new();
    let mails = hostile_mails();
    for (_, raw) in &mails {
        w.deliver_bytes(raw).await;
    }
    let out = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("MAXRSS_KB=%M")
        .arg(env!("CARGO_BIN_EXE_secintake"))
        .arg("--config")
        .arg(&w.config)
        .args(["run", "--once"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let rss_kb: u64 = err
        .lines()
        .find_map(|l| l.strip_prefix("MAXRSS_KB="))
        .expect("GNU time output")
        .trim()
        .parse()
        .unwrap();
    eprintln!("peak RSS with the hostile batch: {} MB", rss_kb / 1024);
    assert!(rss_kb < 100 * 1024, "memory stays bounded: {rss_kb} kB");
    assert!(!err.contains("panicked"), "no parser panic on hostile input: {err}");
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM messages WHERE analysis LIKE '%(a bug)%'")
            .await,
        0,
        "every hostile mail was parsed, none fell back to the panic guard"
    );
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM messages").await,
        mails.len() as i64,
        "every hostile mail is stored"
    );
    assert_eq!(
        w.db_count(
            "SELECT COUNT(*) FROM messages m JOIN message_raw r ON r.id = m.id
             WHERE length(r.raw) = m.size OR m.truncated = 1"
        )
        .await,
        mails.len() as i64,
        "losslessly"
    );
    // Byte for byte: what is stored hashes to what was fetched, and the 30 MB mail (written
    // piece by piece) is exactly the mail that was delivered.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", w.db.display()))
        .await
        .unwrap();
    let rows: Vec<(String, Vec<u8>)> =
        sqlx::query_as("SELECT m.sha256, r.raw FROM messages m JOIN message_raw r ON r.id = m.id")
            .fetch_all(&pool)
            .await
            .unwrap();
    pool.close().await;
    for (sha, raw) in &rows {
        assert_eq!(
            &secintake::store::intake::sha256_hex(raw),
            sha,
            "stored bytes match their hash"
        );
    }
    let big = &mails.iter().find(|(n, _)| *n == "30 MB").unwrap().1;
    assert!(
        rows.iter().any(|(_, raw)| raw == big),
        "the 30 MB mail is stored exactly as delivered"
    );
    // Receipts went out, none with an injected header, none to the 10,000 recipients.
    let sent = std::fs::read_dir(w.stack.get("SENT_DIR")).unwrap().count();
    assert!(sent > 0);
    // The injection attempt got its receipt, with the CR LF turned into nothing harmful.
    let inject = w.mailbox("catchall").await;
    let receipt = inject
        .iter()
        .find(|m| m.header("To").is_some_and(|t| t.contains("inject@example.test")))
        .unwrap_or_else(|| panic!("the injection attempt got a receipt: {}", inject.len()));
    let head = receipt.text().split("\r\n\r\n").next().unwrap().to_string();
    let subject_lines: Vec<&str> = head
        .split("\r\n")
        .skip_while(|l| !l.to_ascii_lowercase().starts_with("subject:"))
        .take_while(|l| l.to_ascii_lowercase().starts_with("subject:") || l.starts_with([' ', '\t']))
        .collect();
    assert!(!subject_lines.is_empty(), "{head}");
    assert!(
        !receipt.parsed().subject().unwrap_or("").contains(['\r', '\n']),
        "the decoded subject is one line: {head}"
    );
    for e in std::fs::read_dir(w.stack.get("SENT_DIR")).unwrap() {
        let raw = std::fs::read(e.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&raw);
        let head = text.split("\r\n\r\n").next().unwrap();
        assert!(
            !head.lines().any(|l| l.to_ascii_lowercase().starts_with("bcc:")),
            "{head}"
        );
        assert!(!head.contains("user9999@example.net"));
    }
    let rcpts: BTreeSet<String> = {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", w.db.display()))
            .await
            .unwrap();
        let rows: Vec<(String,)> = sqlx::query_as("SELECT recipients FROM outbox")
            .fetch_all(&pool)
            .await
            .unwrap();
        pool.close().await;
        rows.into_iter().map(|r| r.0).collect()
    };
    assert!(
        !rcpts
            .iter()
            .any(|r| r.contains("victim") || r.contains("user1@example.net")),
        "{rcpts:?}"
    );
    // The anonymous report opened a case with no receipt.
    let cases = w.cases();
    let anon = cases.iter().find(|c| c["subject"] == "no from").unwrap();
    assert_eq!(anon["reporter"], "");
    assert_eq!(cases.len(), mails.len(), "each hostile mail opened its case");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_smtp_outage_under_a_running_daemon_delays_mail_and_sends_each_once() {
    let _one = ONE_AT_A_TIME.lock().await;
    let w = World::new();
    w.stack.stop_smtp();
    let mut d = w.spawn();
    for i in 0..3 {
        w.deliver(&report(
            ["reporter@example.test", "reporter2@example.test", "carol@example.test"][i],
            &format!("During the SMTP outage {i}"),
            &format!("<smtp-out{i}@example.test>"),
            COMPLETE_BODY,
        ))
        .await;
    }
    // The daemon opens the cases and keeps retrying: at least two failed attempts per mail.
    let start = Instant::now();
    while w
        .try_db_count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND attempts >= 2")
        .await
        .unwrap_or(0)
        < 6
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "retries while SMTP is down: {}",
            d.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(w.cases().len(), 3);
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL")
            .await,
        0
    );
    w.stack.start_smtp();
    let back = Instant::now();
    while w
        .try_db_count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")
        .await
        .unwrap_or(1)
        > 0
    {
        assert!(
            back.elapsed() < Duration::from_secs(20),
            "the queue drains once SMTP is back: {}",
            d.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("queue drained {:?} after SMTP came back", back.elapsed());
    let (status, _) = d.terminate();
    assert!(status.success());
    w.once(); // one more pass: nothing is sent again
    for user in ["reporter", "reporter2", "carol"] {
        assert_eq!(w.mailbox(user).await.len(), 1, "{user} got exactly one receipt");
    }
    assert_eq!(w.mailbox("triage").await.len(), 3, "the team got each notice once");
}

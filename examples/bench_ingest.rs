//! The ingest benchmark (run by scripts/bench-ingest.sh, which starts the mail stack and
//! builds this in release mode). Measures in one run:
//!   (a) the ceiling: a raw IMAP fetch of all N messages by the simplest fast client there is
//!       (one `UID FETCH 1:* BODY.PEEK[]` on a plain socket, literals skipped, nothing parsed),
//!   (a') the same fetch through async-imap (the IMAP library secintake itself uses), in
//!       chunks of 200 UIDs: what a library-based client gets,
//!   (f) the floor: the simplest program that does the work no intake can skip, on the same
//!       messages in the same run: fetch (async-imap, batches of `imap.batch_size` = 50
//!       UIDs, as ingest fetches), SHA-256 of the raw bytes, a full mail-parser parse, and
//!       one durable SQLite transaction per batch (WAL, synchronous=NORMAL, as the store)
//!       inserting the raw bytes and one row per message,
//!   (b) `secintake run --once` ingesting all N (cases, analysis, outbox rows; no SMTP),
//!   (c) the outbox delivering the receipts and notices over SMTP, and (c') the ceiling for
//!       that: the simplest fast SMTP client sending copies of the receipts to the same server,
//!   (d) peak RSS of (b) and (c),
//! then the arrival-to-receipt latency (p50/p99) for a daemon in IDLE mode with reports
//! arriving one at a time.
//!
//! usage: bench_ingest N SECINTAKE_BIN WORKDIR IMAP_PORT SMTP_PORT [--huge] [--ingest-only]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

type Session = async_imap::Session<tokio::net::TcpStream>;

async fn login(port: u16, user: &str) -> Session {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    tcp.set_nodelay(true).ok();
    let mut c = async_imap::Client::new(tcp);
    c.read_response().await.unwrap();
    c.login(user, "secret").await.map_err(|(e, _)| e).expect("login")
}

/// The ceiling: one `UID FETCH 1:* BODY.PEEK[]` over a plain socket, reading each literal
/// into a reused buffer and parsing nothing else. Returns (messages, body bytes).
fn raw_fetch_all(port: u16) -> (usize, usize) {
    use std::io::{BufRead, BufReader, Read, Write};
    let sock = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    sock.set_nodelay(true).ok();
    let mut w = sock.try_clone().unwrap();
    let mut r = BufReader::with_capacity(1 << 20, sock);
    let mut line = Vec::new();
    let mut body = Vec::new();
    r.read_until(b'\n', &mut line).unwrap(); // greeting
    let mut exchange = |tag: &str, cmd: &str| -> (usize, usize) {
        write!(w, "{tag} {cmd}\r\n").unwrap();
        let (mut msgs, mut bytes) = (0, 0);
        loop {
            line.clear();
            if r.read_until(b'\n', &mut line).unwrap() == 0 {
                panic!("server closed the connection during {cmd}");
            }
            if line.starts_with(b"* ") && line.windows(7).any(|x| x == b" FETCH ") {
                msgs += 1;
            }
            let t = line.strip_suffix(b"\r\n").unwrap_or(&line);
            if let Some(open) = t
                .strip_suffix(b"}")
                .and_then(|t| t.iter().rposition(|c| *c == b'{').map(|i| &t[i + 1..]))
            {
                let n: usize = std::str::from_utf8(open).unwrap().parse().unwrap();
                body.resize(n, 0);
                r.read_exact(&mut body).unwrap();
                bytes += n;
                continue;
            }
            if line.starts_with(tag.as_bytes()) {
                assert!(
                    line[tag.len()..].starts_with(b" OK"),
                    "{}",
                    String::from_utf8_lossy(&line)
                );
                return (msgs, bytes);
            }
        }
    };
    exchange("a1", "LOGIN security secret");
    exchange("a2", "EXAMINE INBOX");
    let got = exchange("a3", "UID FETCH 1:* BODY.PEEK[]");
    exchange("a4", "LOGOUT");
    got
}

/// The floor (f): fetch in batches of 50 UIDs, hash, parse, and store each batch durably in
/// one transaction: raw bytes plus one row per message. Sequential and single-threaded: the
/// simplest program doing only what no intake can skip. Returns the messages stored.
async fn floor_ingest(port: u16, db_path: &Path) -> usize {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    use sqlx::ConnectOptions;
    let _ = std::fs::remove_file(db_path);
    let mut db = SqliteConnectOptions::new()
        .filename(db_path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .connect()
        .await
        .unwrap();
    sqlx::query(
        "CREATE TABLE raw (id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE, bytes BLOB NOT NULL);
         CREATE TABLE msg (id INTEGER PRIMARY KEY, raw_id INTEGER NOT NULL, uid INTEGER NOT NULL,
                           message_id TEXT, subject TEXT, sender TEXT, parts INTEGER NOT NULL);",
    )
    .execute(&mut db)
    .await
    .unwrap();
    let mut s = login(port, "security").await;
    let exists = s.examine("INBOX").await.unwrap().exists;
    let parser = mail_parser::MessageParser::default();
    let mut stored = 0usize;
    let mut start = 1u32;
    while stored < exists as usize {
        let set = format!("{}:{}", start, start + 49);
        start += 50;
        let batch: Vec<_> = futures::TryStreamExt::try_collect(s.uid_fetch(&set, "(UID BODY.PEEK[])").await.unwrap())
            .await
            .unwrap();
        if batch.is_empty() {
            break;
        }
        let mut rows = Vec::with_capacity(batch.len());
        for f in &batch {
            let raw = f.body().unwrap_or_default();
            let sha = hex::encode(ring::digest::digest(&ring::digest::SHA256, raw));
            let m = parser.parse(raw);
            let (mid, subject, sender, parts) = match &m {
                Some(m) => (
                    m.message_id().map(str::to_owned),
                    m.subject().map(str::to_owned),
                    m.from()
                        .and_then(|a| a.first())
                        .and_then(|a| a.address())
                        .map(str::to_owned),
                    m.parts.len() as i64,
                ),
                None => (None, None, None, 0),
            };
            rows.push((f.uid.unwrap_or(0), raw, sha, mid, subject, sender, parts));
        }
        let mut tx = sqlx::Connection::begin(&mut db).await.unwrap();
        for (uid, raw, sha, mid, subject, sender, parts) in rows {
            let (raw_id,): (i64,) = sqlx::query_as("INSERT INTO raw (sha256, bytes) VALUES (?, ?) RETURNING id")
                .bind(&sha)
                .bind(raw)
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            sqlx::query("INSERT INTO msg (raw_id, uid, message_id, subject, sender, parts) VALUES (?, ?, ?, ?, ?, ?)")
                .bind(raw_id)
                .bind(uid as i64)
                .bind(mid)
                .bind(subject)
                .bind(sender)
                .bind(parts)
                .execute(&mut *tx)
                .await
                .unwrap();
            stored += 1;
        }
        tx.commit().await.unwrap();
    }
    let _ = s.logout().await;
    stored
}

/// The ceiling for (c): the simplest fast SMTP client, one connection, one mail after the
/// other (MAIL, RCPT, DATA), to the same SMTP server. Returns the time for all `mails`.
fn raw_smtp_send(port: u16, mails: &[Vec<u8>]) -> Duration {
    use std::io::{BufRead, BufReader, Write};
    let sock = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect SMTP");
    sock.set_nodelay(true).ok();
    let mut w = sock.try_clone().unwrap();
    let mut r = BufReader::new(sock);
    let reply = |r: &mut BufReader<std::net::TcpStream>| {
        let mut line = String::new();
        loop {
            line.clear();
            r.read_line(&mut line).unwrap();
            assert!(line.len() >= 4, "SMTP closed: {line:?}");
            if line.as_bytes()[3] == b' ' {
                assert!(matches!(line.as_bytes()[0], b'2' | b'3'), "SMTP said {line}");
                return;
            }
        }
    };
    let t = Instant::now();
    reply(&mut r);
    w.write_all(b"EHLO bench.example.test\r\n").unwrap();
    reply(&mut r);
    for m in mails {
        w.write_all(b"MAIL FROM:<security@example.test>\r\n").unwrap();
        reply(&mut r);
        w.write_all(b"RCPT TO:<ceiling@example.test>\r\n").unwrap();
        reply(&mut r);
        w.write_all(b"DATA\r\n").unwrap();
        reply(&mut r);
        let text = String::from_utf8_lossy(m).replace("\r\n.", "\r\n..");
        w.write_all(text.as_bytes()).unwrap();
        if !text.ends_with("\r\n") {
            w.write_all(b"\r\n").unwrap();
        }
        w.write_all(b".\r\n").unwrap();
        reply(&mut r);
    }
    w.write_all(b"QUIT\r\n").unwrap();
    t.elapsed()
}

fn rng(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

const BODY: &str = "Hello security team,\n\nI found a ReDoS in the route path parsing of express 4.21.1 (path-to-regexp 0.1.x).\n\nSteps to reproduce:\n1. app.get('/:a-:b', (req, res) => res.send('ok'))\n2. curl \"http://localhost:3000/$(printf 'a-%.0s' {1..20000})\"\n\nImpact: an unauthenticated attacker can block the event loop for seconds per request, a denial of service.\n\nRegards,\n";

/// A realistic report: mostly small, some large, a fifth with an attachment.
fn make_report(i: usize, seed: &mut u64) -> Vec<u8> {
    let roll = rng(seed) % 100;
    let target = match roll {
        0..=84 => 2_000 + (rng(seed) % 18_000) as usize,
        85..=98 => 20_000 + (rng(seed) % 180_000) as usize,
        _ => 200_000 + (rng(seed) % 1_800_000) as usize,
    };
    let from = format!("bench{}@example.test", i % 997);
    let head = format!(
        "From: Bench Reporter <{from}>\r\nTo: security@example.test\r\nSubject: Report {i}: ReDoS in path matching\r\nMessage-ID: <bench{i}@example.test>\r\nDate: Sat, 21 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
    );
    let mut text = String::from(BODY);
    let attach = rng(seed).is_multiple_of(5);
    let text_target = if attach { 2_000 } else { target };
    while text.len() < text_target {
        text.push_str("Additional analysis line: the regular expression backtracks on repeated separators.\n");
    }
    let text = text.replace('\n', "\r\n");
    if !attach {
        return format!("{head}Content-Type: text/plain; charset=utf-8\r\n\r\n{text}").into_bytes();
    }
    let mut bin = vec![0u8; target * 3 / 4];
    for b in bin.iter_mut() {
        *b = (rng(seed) & 0xff) as u8;
    }
    let b64 = base64_lines(&bin);
    format!("{head}Content-Type: multipart/mixed; boundary=\"BENCH\"\r\n\r\n--BENCH\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n--BENCH\r\nContent-Type: application/zip; name=\"poc.zip\"\r\nContent-Disposition: attachment; filename=\"poc.zip\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}--BENCH--\r\n").into_bytes()
}

fn base64_lines(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len() * 4 / 3 + data.len() / 38);
    for (n, c) in data.chunks(3).enumerate() {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= c.len() {
                out.push(T[((v >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
        if n % 19 == 18 {
            out.push_str("\r\n");
        }
    }
    out.push_str("\r\n");
    out
}

fn huge_report() -> Vec<u8> {
    let mut seed = 7u64;
    let mut bin = vec![0u8; 30 * 1024 * 1024 * 3 / 4];
    for b in bin.iter_mut() {
        *b = (rng(&mut seed) & 0xff) as u8;
    }
    format!("From: huge@example.test\r\nTo: security@example.test\r\nSubject: a 30 MB report\r\nMessage-ID: <huge@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"H\"\r\n\r\n--H\r\nContent-Type: text/plain\r\n\r\n{BODY}\r\n--H\r\nContent-Type: application/octet-stream; name=core.dump\r\nContent-Disposition: attachment; filename=core.dump\r\nContent-Transfer-Encoding: base64\r\n\r\n{}--H--\r\n", base64_lines(&bin)).into_bytes()
}

fn write_config(dir: &Path, imap: u16, smtp: u16) -> PathBuf {
    let p = dir.join(format!("bench-{smtp}.toml"));
    std::fs::write(
        &p,
        format!(
            "[imap]\nhost = \"127.0.0.1\"\nport = {imap}\ntls = \"none\"\nusername = \"security\"\npassword = \"secret\"\npoll_interval = \"1s\"\nhistory_before = \"none\"\n\n[smtp]\nhost = \"127.0.0.1\"\nport = {smtp}\ntls = \"none\"\nfrom = \"Security Team <security@example.test>\"\nretry_initial = \"1s\"\nretry_max = \"2s\"\n\n[database]\nurl = \"sqlite://{}\"\n\n[team]\nlist_address = \"security@example.test\"\nnotify = \"triage@example.test\"\ncoordinators = [\"alice@example.test\"]\ntrusted_authserv_ids = [\"mx.example.test\"]\n\n[policy]\nauto_reply_daily_cap = 1000000\nsweep_interval = \"60s\"\ndigest_hour = \"off\"\n\n[log]\nlevel = \"warn\"\n",
            dir.join("bench.db").display()
        ),
    )
    .unwrap();
    p
}

/// Runs secintake under GNU time; returns (wall time, peak RSS in MB).
fn timed(bin: &str, config: &Path, args: &[&str]) -> (Duration, f64) {
    let t = Instant::now();
    // BENCH_WRAP="valgrind --tool=callgrind" (or perf record ...) profiles the measured run.
    let wrap: Vec<String> = std::env::var("BENCH_WRAP")
        .map(|w| w.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "MAXRSS_KB=%M\nCPU: user %U s, system %S s, wall %e s (%P)"])
        .args(&wrap)
        .args([bin, "--config"])
        .arg(config)
        .args(args)
        .stdout(Stdio::null())
        .output()
        .expect("run secintake");
    let took = t.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    for l in err.lines().filter(|l| l.starts_with("CPU:")) {
        println!("    {l}");
    }
    let kb: f64 = err
        .lines()
        .find_map(|l| l.strip_prefix("MAXRSS_KB="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    if !out.status.success() && !args.contains(&"--allow-fail") {
        eprintln!(
            "(secintake {args:?} exited {:?}: {})",
            out.status.code(),
            err.lines().rev().take(3).collect::<Vec<_>>().join(" | ")
        );
    }
    (took, kb / 1024.0)
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

#[tokio::main]
async fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 6 {
        eprintln!("usage: bench_ingest N SECINTAKE_BIN WORKDIR IMAP_PORT SMTP_PORT [--huge]");
        std::process::exit(2);
    }
    let n: usize = a[1].parse().unwrap();
    let bin = a[2].clone();
    let dir = PathBuf::from(&a[3]);
    let imap: u16 = a[4].parse().unwrap();
    let smtp: u16 = a[5].parse().unwrap();
    let huge = a.iter().any(|x| x == "--huge");
    std::fs::create_dir_all(&dir).unwrap();

    // Put N reports into the list mailbox (not measured).
    let mut seed = 0xB3AC_u64;
    let mut s = login(imap, "security").await;
    let mut bytes = 0usize;
    let t = Instant::now();
    for i in 0..n {
        let m = make_report(i, &mut seed);
        bytes += m.len();
        s.append("INBOX", None, None, &m).await.unwrap();
        if huge && i == n / 2 {
            let h = huge_report();
            bytes += h.len();
            s.append("INBOX", None, None, &h).await.unwrap();
        }
    }
    let total = n + usize::from(huge);
    println!(
        "setup: {total} messages, {:.1} MB, appended in {:.1} s",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    let _ = s.logout().await;
    // (a) the ceiling: fetch everything with the simplest fast client (best of three).
    let mut a_secs = f64::MAX;
    let mut fetched = 0usize;
    for _ in 0..3 {
        let t = Instant::now();
        let (got, bytes) = raw_fetch_all(imap);
        a_secs = a_secs.min(t.elapsed().as_secs_f64());
        assert_eq!(got, total, "the raw client fetched every message");
        fetched = bytes;
    }
    let a_rate = total as f64 / a_secs;

    // (a') the same through async-imap, the library secintake uses.
    let t = Instant::now();
    let mut lib = login(imap, "security").await;
    lib.examine("INBOX").await.unwrap();
    let mut got = 0usize;
    let mut start = 1u32;
    while got < total {
        let set = format!("{}:{}", start, start + 199);
        let f: Vec<_> = futures::TryStreamExt::try_collect(lib.uid_fetch(&set, "(UID BODY.PEEK[])").await.unwrap())
            .await
            .unwrap();
        got += f.len();
        start += 200;
        if f.is_empty() && start > total as u32 + 400 {
            break;
        }
    }
    let _ = lib.logout().await;
    let a2_secs = t.elapsed().as_secs_f64();
    let a2_rate = total as f64 / a2_secs;

    // (f) the floor: the work no intake can skip (best of three, like (a)).
    let mut f_secs = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let stored = floor_ingest(imap, &dir.join("floor.db")).await;
        f_secs = f_secs.min(t.elapsed().as_secs_f64());
        assert_eq!(stored, total, "the floor stored every message");
    }
    let f_rate = total as f64 / f_secs;
    let floor_db = std::fs::metadata(dir.join("floor.db")).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(dir.join("floor.db-wal"))
            .map(|m| m.len())
            .unwrap_or(0);

    // (b) secintake ingests everything; SMTP points at a closed port so nothing is sent yet.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg_dead = write_config(&dir, imap, dead);
    // (b-) the same without the similar-case lookup, and (b0) with no full-text index at all
    // (`search.index = false`, so no lookup either), each into a database of its own: what the
    // lookup and the index cost (issue 18 allows them 10 %).
    let variant = |name: &str, search: &str| {
        let cfg = dir.join(format!("bench-{name}.toml"));
        std::fs::write(
            &cfg,
            std::fs::read_to_string(&cfg_dead)
                .unwrap()
                .replace("bench.db", &format!("bench-{name}.db"))
                + "\n[search]\n"
                + search
                + "\n",
        )
        .unwrap();
        cfg
    };
    let cfg_nosim = variant("nosim", "similar_on_arrival = false");
    let cfg_noindex = variant("noindex", "index = false");
    // Rounds, alternating, each into fresh databases: the best time of each (run-to-run noise
    // on this VM is larger than the differences measured), the higher peak RSS.
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let (mut n0_time, mut b0_time, mut b_time, mut b_rss) = (Duration::MAX, Duration::MAX, Duration::MAX, 0f64);
    for _ in 0..rounds {
        for db in ["bench-noindex.db", "bench-nosim.db", "bench.db"] {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(dir.join(format!("{db}{suffix}")));
            }
        }
        n0_time = n0_time.min(timed(&bin, &cfg_noindex, &["run", "--once"]).0);
        b0_time = b0_time.min(timed(&bin, &cfg_nosim, &["run", "--once"]).0);
        let (t, rss) = timed(&bin, &cfg_dead, &["run", "--once"]);
        b_time = b_time.min(t);
        b_rss = b_rss.max(rss);
    }
    let search_cost = format!(
        "(b-) the same, no similar lookup {:8.2} s  {:9.1} msg/s  (the lookup adds {:.0} % to it)\n\
         (b0) the same, no full-text index{:8.2} s  {:9.1} msg/s  (index and lookup add {:.0} % to it, \
         the index alone {:.0} %; best of {rounds} each)",
        b0_time.as_secs_f64(),
        total as f64 / b0_time.as_secs_f64(),
        (b_time.as_secs_f64() / b0_time.as_secs_f64() - 1.0) * 100.0,
        n0_time.as_secs_f64(),
        total as f64 / n0_time.as_secs_f64(),
        (b_time.as_secs_f64() / n0_time.as_secs_f64() - 1.0) * 100.0,
        (b0_time.as_secs_f64() / n0_time.as_secs_f64() - 1.0) * 100.0,
    );
    let b_rate = total as f64 / b_time.as_secs_f64();
    {
        let db = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", dir.join("bench.db").display()))
            .await
            .unwrap();
        let (stored,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM messages")
            .fetch_one(&db)
            .await
            .unwrap();
        let (queued,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE kind IN ('receipt', 'notice')")
            .fetch_one(&db)
            .await
            .unwrap();
        db.close().await;
        assert_eq!(stored as usize, total, "(b) stored every message");
        assert_eq!(
            queued as usize,
            2 * total,
            "(b) queued a receipt and a notice per report"
        );
    }
    if a.iter().any(|x| x == "--ingest-only") {
        println!("(a) raw IMAP fetch (ceiling)     {a_secs:8.2} s  {a_rate:9.1} msg/s");
        println!(
            "(b) secintake run --once ingest  {:8.2} s  {b_rate:9.1} msg/s  peak RSS {b_rss:.1} MB",
            b_time.as_secs_f64()
        );
        println!("{search_cost}");
        println!("(f) floor: fetch+hash+parse+store{f_secs:8.2} s  {f_rate:9.1} msg/s");
        println!(
            "ratio (b)/(f)                    {:8.2}   (target >= 0.5)",
            b_rate / f_rate
        );
        println!("ratio (b)/(a)                    {:8.2}", b_rate / a_rate);
        return;
    }

    // (c) the outbox delivers the receipts and notices.
    std::thread::sleep(Duration::from_millis(1100)); // the one failed attempt's retry is due
    let cfg = write_config(&dir, imap, smtp);
    let (c_time, c_rss) = timed(&bin, &cfg, &["run", "--once"]);
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", dir.join("bench.db").display()))
        .await
        .unwrap();
    let (sent,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL AND kind IN ('receipt', 'notice')")
            .fetch_one(&db)
            .await
            .unwrap();
    let (cases,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM cases")
        .fetch_one(&db)
        .await
        .unwrap();
    db.close().await;
    let c_rate = sent as f64 / c_time.as_secs_f64();
    // The ceiling for (c): the same SMTP server fed by the simplest fast client, with copies
    // of the receipts secintake just sent.
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", dir.join("bench.db").display()))
        .await
        .unwrap();
    let samples_raw: Vec<(Vec<u8>,)> = sqlx::query_as("SELECT raw FROM outbox WHERE kind = 'receipt' LIMIT 500")
        .fetch_all(&db)
        .await
        .unwrap();
    db.close().await;
    let raws: Vec<Vec<u8>> = samples_raw.into_iter().map(|(r,)| r).collect();
    let c_ceiling_time = raw_smtp_send(smtp, &raws);
    let c_ceiling = raws.len() as f64 / c_ceiling_time.as_secs_f64();
    assert_eq!(sent as usize, 2 * total, "(c) delivered every queued mail");

    // Latency: a daemon in IDLE mode, reports arriving one at a time.
    let log = std::fs::File::create(dir.join("daemon.log")).unwrap();
    let mut daemon = Command::new(&bin)
        .arg("--config")
        .arg(&cfg)
        .arg("run")
        .env("RUST_LOG", "info")
        .stderr(log)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let ready = Instant::now();
    while !std::fs::read_to_string(dir.join("daemon.log"))
        .unwrap_or_default()
        .contains("IMAP ready")
    {
        assert!(
            ready.elapsed() < Duration::from_secs(30),
            "the daemon did not get ready"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await; // into IDLE
    let mut watch = login(imap, "reporter2").await;
    let mut list = login(imap, "security").await;
    let mut lat = Vec::new();
    let samples = 100;
    let mut late = 0;
    for i in 0..samples {
        let before = watch.status("INBOX", "(MESSAGES)").await.unwrap().exists;
        let m = format!("From: reporter2@example.test\r\nTo: security@example.test\r\nSubject: Latency {i}\r\nMessage-ID: <lat{i}-{}@example.test>\r\n\r\n{}", std::process::id(), BODY.replace('\n', "\r\n"));
        let t = Instant::now();
        list.append("INBOX", None, None, m.as_bytes()).await.unwrap();
        loop {
            let now = watch.status("INBOX", "(MESSAGES)").await.unwrap().exists;
            if now > before {
                break;
            }
            if t.elapsed() > Duration::from_secs(20) {
                eprintln!("receipt {i} did not arrive within 20 s");
                late += 1;
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        lat.push(t.elapsed().as_secs_f64());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = Command::new("kill").arg(daemon.id().to_string()).status();
    let _ = daemon.wait();
    let p50 = pct(&mut lat.clone(), 0.5);
    let p99 = pct(&mut lat, 0.99);

    println!();
    println!(
        "secintake ingest benchmark, N = {total}{} ({:.1} MB)",
        if huge { " incl. one 30 MB message" } else { "" },
        bytes as f64 / 1e6
    );
    println!(
        "(a) raw IMAP fetch (ceiling)     {a_secs:8.2} s  {a_rate:9.1} msg/s  ({:.1} MB)",
        fetched as f64 / 1e6
    );
    println!("(a') async-imap fetch, 200/chunk {a2_secs:8.2} s  {a2_rate:9.1} msg/s");
    println!(
        "(b) secintake run --once ingest  {:8.2} s  {b_rate:9.1} msg/s  peak RSS {b_rss:.1} MB  ({cases} cases)",
        b_time.as_secs_f64()
    );
    println!("{search_cost}");
    println!(
        "(c) outbox delivery over SMTP    {:8.2} s  {c_rate:9.1} mail/s  peak RSS {c_rss:.1} MB  ({sent} mails)",
        c_time.as_secs_f64()
    );
    println!(
        "(c') raw SMTP client (ceiling)   {:8.2} s  {c_ceiling:9.1} mail/s  ({} mails, one connection)",
        c_ceiling_time.as_secs_f64(),
        raws.len()
    );
    println!(
        "(f) floor: fetch+hash+parse+store{f_secs:8.2} s  {f_rate:9.1} msg/s  (database {:.1} MB)",
        floor_db as f64 / 1e6
    );
    let db_bytes = ["bench.db", "bench.db-wal"]
        .iter()
        .map(|f| std::fs::metadata(dir.join(f)).map(|m| m.len()).unwrap_or(0))
        .sum::<u64>();
    println!(
        "database after (b)+(c)           {:8.1} MB  {:9.0} bytes per message stored",
        db_bytes as f64 / 1e6,
        db_bytes as f64 / total as f64
    );
    println!(
        "ratio (b)/(f)                    {:8.2}   (target >= 0.5)",
        b_rate / f_rate
    );
    println!("ratio (b)/(a)                    {:8.2}", b_rate / a_rate);
    println!("ratio (b)/(a')                   {:8.2}", b_rate / a2_rate);
    println!("ratio (c)/(c')                   {:8.2}", c_rate / c_ceiling);
    println!("arrival -> receipt, IDLE daemon  p50 {p50:.3} s  p99 {p99:.3} s  ({samples} reports, one at a time; {late} over 20 s)");
}

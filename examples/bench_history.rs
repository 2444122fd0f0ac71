//! The history benchmark (run by scripts/bench-history.sh, which starts the mail stack and
//! builds this in release mode): what a long history costs the daily work (issue 20).
//!
//! Two databases, both built through the real code paths:
//!   small: an empty database, then `secintake run --once` ingests 20 fresh reports from the
//!          list mailbox (20 open cases);
//!   big:   `secintake import --history` of a generated mbox of 10,000 threads x 10 messages
//!          (a report and 9 replies threaded with In-Reply-To/References, reporters and
//!          coordinators mixed, dated over five years, 1-4 KB bodies of report text), then
//!          the same `run --once` over the same 20 reports.
//! For each it measures: one deadline sweep pass (`secintake::sweeper::sweep` called through
//! the library, median of several, and the SQL statements it runs, counted from the
//! statement logs), wall time and peak RSS of `cases`, `case ID`, `deadlines`,
//! `status --offline`, `digest` and `report` (GNU time), the idle RSS of the daemon (`run`,
//! after its first pass, in IMAP IDLE), the database size and bytes per stored message; and
//! prints big beside small with the ratio and the target.
//!
//! usage: bench_history SECINTAKE_BIN WORKDIR IMAP_PORT SMTP_PORT [THREADS] [MESSAGES_PER_THREAD]
//!        bench_history --write-mbox FILE [THREADS] [MESSAGES_PER_THREAD]   (only the archive)
//! With BENCH_HISTORY_CACHE=DIR the imported database is kept in DIR and reused by later
//! runs on the same mbox (the import is then not measured: the output says so).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};

/// xorshift64*: deterministic, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len())]
    }
}

const PACKAGES: &[&str] = &[
    "express",
    "body-parser",
    "path-to-regexp",
    "send",
    "serve-static",
    "cookie",
    "qs",
    "finalhandler",
    "router",
    "multer",
    "cors",
    "express-session",
    "morgan",
    "compression",
    "on-headers",
];
const KINDS: &[(&str, &str)] = &[
    (
        "ReDoS",
        "a regular expression that backtracks catastrophically on crafted input",
    ),
    (
        "prototype pollution",
        "a merge of user-controlled keys into a plain object, so `__proto__` reaches Object.prototype",
    ),
    (
        "open redirect",
        "a redirect target taken from the request without checking that it stays on the site",
    ),
    (
        "path traversal",
        "a file path joined from the URL without rejecting `..` segments after decoding",
    ),
    (
        "header injection",
        "CR/LF characters in a value that is written into a response header",
    ),
    ("XSS", "user input reflected into an HTML error page without escaping"),
    (
        "denial of service",
        "an unbounded buffer that grows with every chunk of a slow request",
    ),
    (
        "cookie parsing bypass",
        "a cookie name with characters the parser accepts but the spec forbids",
    ),
];
const FIRST: &[&str] = &[
    "Jane", "Ravi", "Mei", "Lukas", "Amara", "Diego", "Sofia", "Kenji", "Olu", "Hanna", "Pierre", "Ines", "Tomasz",
    "Aisha", "Marek", "Yuki",
];
const LAST: &[&str] = &[
    "Reporter", "Kumar", "Chen", "Schmidt", "Okafor", "Garcia", "Rossi", "Tanaka", "Adeyemi", "Virtanen", "Dubois",
    "Silva", "Nowak", "Rahman", "Novak", "Sato",
];
const DOMAINS: &[&str] = &[
    "example.test",
    "research.example",
    "bugbounty.example",
    "mail.example",
    "uni.example.edu",
    "sec.example.net",
];
const COORDINATORS: &[(&str, &str)] = &[
    ("Alice Coordinator", "alice@example.test"),
    ("Bob Maintainer", "bob@example.test"),
    ("Carol Triage", "carol@example.test"),
];
const FILLER: &[&str] = &[
    "I tested this against a fresh install with the default options and the behaviour is the same.",
    "The problem is in the code path that runs before any user middleware, so every application is exposed.",
    "I have not found a configuration option that turns the vulnerable code off.",
    "Node.js 18, 20 and 22 all behave the same; the issue is in the JavaScript, not in the runtime.",
    "A proof of concept is below; it needs nothing but curl and a default application.",
    "I have not shared this with anyone else and will keep it private until you have a fix out.",
    "The fix I would suggest is to bound the input length before the expensive step, and to reject invalid characters early.",
    "Our scanner flagged this first, and I then confirmed it by hand against the latest release.",
    "Please let me know if you need anything else from me, such as a test case for the regression suite.",
    "The CVSS vector I would suggest is CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H, but I leave that to you.",
    "Applications behind a reverse proxy that normalises the path are not affected, the rest are.",
    "I looked through the issue tracker and did not find a public report of this.",
];
const REPLY_TEAM: &[&str] = &[
    "Thank you for the report. I have taken this case and will look at it this week.",
    "We could reproduce this with the steps you gave. We are working on a patch now.",
    "Could you tell us which exact versions you tested, and whether the default configuration is enough to trigger it?",
    "The patch is ready for review; we plan a security release together with the advisory.",
    "We have requested a CVE for this and will credit you in the advisory unless you prefer otherwise.",
    "The release is out and the advisory is public. Thank you again for reporting this responsibly.",
    "After a closer look we believe this is outside our threat model, because it needs a malicious application author.",
    "This looks like the same issue as an earlier report; we will handle both together.",
];
const REPLY_REPORTER: &[&str] = &[
    "Thanks for the quick answer. I tested 4.21.1 and 5.0.0, both with the default options.",
    "Here is a smaller reproduction that triggers it with a single request.",
    "I confirm the patch fixes it on my side; the PoC no longer slows the server down.",
    "Please credit me by name in the advisory, no company affiliation.",
    "Any update on this? I would like to coordinate the publication of my write-up with your release.",
    "Understood, thank you for the explanation.",
];

fn wrap(text: &str, out: &mut String, prefix: &str) {
    let mut line = String::new();
    for w in text.split_whitespace() {
        if !line.is_empty() && line.len() + w.len() > 72 {
            out.push_str(prefix);
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(w);
    }
    if !line.is_empty() {
        out.push_str(prefix);
        out.push_str(&line);
        out.push('\n');
    }
}

struct Report {
    subject: String,
    body: String,
}

/// A plausible vulnerability report of about `target` bytes.
fn report_text(rng: &mut Rng, target: usize, signer: &str) -> Report {
    let pkg = rng.pick(PACKAGES);
    let (kind, how) = KINDS[rng.below(KINDS.len())];
    let (maj, min, pat) = (1 + rng.below(5), rng.below(22), rng.below(12));
    let func = ["parse", "compile", "match", "serialize", "normalize", "resolve"][rng.below(6)];
    let subject = format!("{kind} in {pkg} {maj}.{min}.{pat} ({func})");
    let mut b = String::from("Hello security team,\n\n");
    wrap(
        &format!("I found a {kind} in {pkg} {maj}.{min}.{pat} (and, as far as I can tell, every release since {maj}.0.0). The cause is {how}, in {pkg}'s {func}() function."),
        &mut b,
        "",
    );
    b.push_str("\nAffected versions: ");
    b.push_str(&format!(
        "{pkg} >= {maj}.0.0, <= {maj}.{min}.{pat}\n\nSteps to reproduce:\n"
    ));
    b.push_str(&format!(
        "1. npm install {pkg}@{maj}.{min}.{pat}\n2. node -e \"require('{pkg}').{func}('a'.repeat(50000) + '!')\"\n3. curl -s http://localhost:3000/ -H 'X-Test: {}'\n",
        rng.next() % 100_000
    ));
    b.push('\n');
    wrap(
        &format!("Impact: an unauthenticated remote attacker can exploit this {kind} with one request; for a {kind} that means loss of availability or integrity for every user of the application."),
        &mut b,
        "",
    );
    b.push('\n');
    while b.len() < target {
        wrap(rng.pick(FILLER), &mut b, "");
        if rng.below(3) == 0 {
            b.push('\n');
        }
    }
    b.push_str(&format!("\nRegards,\n{signer}\n"));
    Report { subject, body: b }
}

fn mail_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S +0000").to_string()
}

/// Writes the history mbox; returns (messages, bytes).
fn write_history(path: &Path, threads: usize, per_thread: usize) -> (usize, u64) {
    let f = std::fs::File::create(path).unwrap();
    let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
    let mut rng = Rng(0x0005_EC14_7A4E_u64);
    let start = Utc.with_ymd_and_hms(2021, 6, 1, 0, 0, 0).unwrap();
    let span = 5 * 365 * 86_400i64;
    let (mut n, mut bytes) = (0usize, 0u64);
    for t in 0..threads {
        let reporter_n = rng.below(800);
        let name = format!(
            "{} {}",
            FIRST[reporter_n % FIRST.len()],
            LAST[(reporter_n / 16) % LAST.len()]
        );
        let reporter = format!("researcher{reporter_n}@{}", DOMAINS[reporter_n % DOMAINS.len()]);
        let mut at = start + chrono::Duration::seconds(span * t as i64 / threads as i64 + rng.below(3600) as i64);
        let target = 1000 + rng.below(3000);
        let rep = report_text(&mut rng, target, &name);
        let mut refs: Vec<String> = Vec::new();
        let mut parent_body = rep.body.clone();
        for k in 0..per_thread {
            let mid = format!("<hist-{t}-{k}@bench.example>");
            let (from_name, from, to, subject, body) = if k == 0 {
                (
                    name.clone(),
                    reporter.clone(),
                    "security@example.test".to_string(),
                    rep.subject.clone(),
                    rep.body.clone(),
                )
            } else {
                at += chrono::Duration::seconds(1800 + rng.below(5 * 86_400) as i64);
                let team = k % 2 == 1 || rng.below(5) == 0;
                let (fname, faddr) = if team {
                    let (a, b) = COORDINATORS[(t + k / 4) % COORDINATORS.len()];
                    (a.to_string(), b.to_string())
                } else {
                    (name.clone(), reporter.clone())
                };
                let mut body = String::new();
                let own = if team {
                    rng.pick(REPLY_TEAM)
                } else {
                    rng.pick(REPLY_REPORTER)
                };
                let own_target = 200 + rng.below(1300);
                wrap(own, &mut body, "");
                while body.len() < own_target {
                    body.push('\n');
                    wrap(rng.pick(FILLER), &mut body, "");
                }
                body.push_str(&format!("\n-- \n{fname}\n\n"));
                body.push_str(&format!("On {}, someone wrote:\n", mail_date(at)));
                // Quote the parent (bounded, so a thread stays within 1-4 KB a message).
                let quote_budget = 1000 + rng.below(2000);
                for l in parent_body.lines() {
                    if body.len() > own_target + quote_budget {
                        break;
                    }
                    body.push('>');
                    if !l.starts_with('>') {
                        body.push(' ');
                    }
                    body.push_str(l);
                    body.push('\n');
                }
                let to = if team {
                    format!("{reporter}, security@example.test")
                } else {
                    "security@example.test".to_string()
                };
                (fname, faddr, to, format!("Re: {}", rep.subject), body)
            };
            let mut head = format!(
                "From {from} {}\nReturn-Path: <{from}>\nFrom: {from_name} <{from}>\nTo: {to}\nSubject: {subject}\nMessage-ID: {mid}\nDate: {}\n",
                at.format("%a %b %d %H:%M:%S %Y"),
                mail_date(at)
            );
            if let Some(p) = refs.last() {
                head.push_str(&format!("In-Reply-To: {p}\nReferences: {}\n", refs.join(" ")));
            }
            head.push_str(
                "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n",
            );
            // mboxrd: a body line starting with "From " (after any >) gets one more >.
            let mut text = String::with_capacity(body.len() + 16);
            for l in body.lines() {
                if l.trim_start_matches('>').starts_with("From ") {
                    text.push('>');
                }
                text.push_str(l);
                text.push('\n');
            }
            w.write_all(head.as_bytes()).unwrap();
            w.write_all(text.as_bytes()).unwrap();
            w.write_all(b"\n").unwrap();
            bytes += (head.len() + text.len() + 1) as u64;
            n += 1;
            parent_body = body;
            refs.push(mid);
            if refs.len() > 10 {
                refs.remove(1);
            }
        }
    }
    w.flush().unwrap();
    (n, bytes)
}

/// The 20 fresh reports that become the open cases (CRLF, as IMAP holds mail).
fn fresh_reports(n: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng(0x000F_2E54_u64);
    (0..n)
        .map(|i| {
            let name = format!("{} {}", FIRST[i % FIRST.len()], LAST[(i * 7) % LAST.len()]);
            let from = format!("fresh{i}@{}", DOMAINS[i % DOMAINS.len()]);
            let target = 1500 + rng.below(1500);
            let r = report_text(&mut rng, target, &name);
            format!(
                "Return-Path: <{from}>\r\nFrom: {name} <{from}>\r\nTo: security@example.test\r\nSubject: {}\r\nMessage-ID: <fresh-{i}@bench.example>\r\nDate: {}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}",
                r.subject,
                mail_date(Utc::now()),
                r.body.replace('\n', "\r\n")
            )
            .into_bytes()
        })
        .collect()
}

fn write_config(dir: &Path, name: &str, imap: u16, smtp: u16) -> PathBuf {
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(
        &p,
        format!(
            "[imap]\nhost = \"127.0.0.1\"\nport = {imap}\ntls = \"none\"\nusername = \"security\"\npassword = \"secret\"\npoll_interval = \"1s\"\nhistory_before = \"none\"\n\n[smtp]\nhost = \"127.0.0.1\"\nport = {smtp}\ntls = \"none\"\nfrom = \"Security Team <security@example.test>\"\nretry_initial = \"1s\"\nretry_max = \"2s\"\n\n[database]\nurl = \"sqlite://{}\"\n\n[team]\nlist_address = \"security@example.test\"\nnotify = \"triage@example.test\"\ncoordinators = [\"alice@example.test\", \"bob@example.test\", \"carol@example.test\"]\ntrusted_authserv_ids = [\"mx.example.test\"]\n\n[policy]\nauto_reply_daily_cap = 1000000\nsweep_interval = \"60s\"\ndigest_hour = \"off\"\n\n[log]\nlevel = \"warn\"\n",
            dir.join(format!("{name}.db")).display()
        ),
    )
    .unwrap();
    p
}

/// Runs secintake under GNU time; returns (wall time, peak RSS in MB, stdout).
fn timed(bin: &str, config: &Path, args: &[&str]) -> (Duration, f64, String) {
    let t = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "MAXRSS_KB=%M"])
        .args([bin, "--config"])
        .arg(config)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run secintake");
    let took = t.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    let kb: f64 = err
        .lines()
        .find_map(|l| l.strip_prefix("MAXRSS_KB="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    if !out.status.success() {
        eprintln!(
            "(secintake {args:?} exited {:?}: {})",
            out.status.code(),
            err.lines().rev().take(3).collect::<Vec<_>>().join(" | ")
        );
    }
    (took, kb / 1024.0, String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Median wall time and the highest peak RSS over `runs` runs.
fn timed_n(bin: &str, config: &Path, args: &[&str], runs: usize) -> (Duration, f64) {
    let mut times = Vec::new();
    let mut rss: f64 = 0.0;
    for _ in 0..runs {
        let (t, r, _) = timed(bin, config, args);
        times.push(t);
        rss = rss.max(r);
    }
    times.sort();
    (times[times.len() / 2], rss)
}

static COUNTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The statement logs: sqlx's (`sqlx::query`, reads of the CLI) and the store's rusqlite
/// connections' (`secintake::sql`, the write transactions and the similar-case reads).
fn is_statement(target: &str) -> bool {
    target == "sqlx::query" || target == "secintake::sql"
}

/// The first words of a statement (as sqlx's summary shows it).
fn short(sql: &str) -> String {
    let words: Vec<&str> = sql.split_whitespace().collect();
    if words.len() > 4 {
        format!("{} …", words[..4].join(" "))
    } else {
        words.join(" ")
    }
}

/// Counts the statement log events, by statement summary.
#[derive(Clone, Default)]
struct StatementLog {
    count: Arc<AtomicUsize>,
    by_summary: Arc<Mutex<BTreeMap<String, usize>>>,
}

struct Summary(Option<String>);

impl tracing::field::Visit for Summary {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "summary" || field.name() == "statement" {
            self.0 = Some(short(value));
        }
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "summary" || field.name() == "statement" {
            self.0 = Some(short(&format!("{value:?}")));
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for StatementLog {
    fn on_event(&self, e: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if !is_statement(e.metadata().target()) {
            return;
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let mut s = Summary(None);
        e.record(&mut s);
        *self
            .by_summary
            .lock()
            .unwrap()
            .entry(s.0.unwrap_or_else(|| "?".into()))
            .or_default() += 1;
    }
}

impl StatementLog {
    fn reset(&self) {
        self.count.store(0, Ordering::Relaxed);
        self.by_summary.lock().unwrap().clear();
    }
    fn take(&self) -> (usize, BTreeMap<String, usize>) {
        let n = self.count.load(Ordering::Relaxed);
        let m = std::mem::take(&mut *self.by_summary.lock().unwrap());
        (n, m)
    }
}

struct Sweep {
    median: Duration,
    statements: usize,
    by_summary: BTreeMap<String, usize>,
    open_clocks: usize,
}

/// One sweep pass through the library, as the daemon's sweeper task runs it: a warm-up pass,
/// then the median of `runs`, then one more with the statement log counted.
async fn sweep_pass(config: &Path, log: &StatementLog, runs: usize) -> Sweep {
    let settings = secintake::config::Settings::load(config).expect("config");
    let db = settings.database_path();
    let app = secintake::app::App::new(settings).expect("app");
    let store = secintake::store::Store::open(&db).await.expect("store");
    secintake::sweeper::sweep(&store, &app).await.expect("sweep");
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        secintake::sweeper::sweep(&store, &app).await.expect("sweep");
        times.push(t.elapsed());
    }
    times.sort();
    log.reset();
    COUNTING.store(true, Ordering::Relaxed);
    secintake::sweeper::sweep(&store, &app).await.expect("sweep");
    COUNTING.store(false, Ordering::Relaxed);
    let (statements, by_summary) = log.take();
    let tx = store.write().await.unwrap();
    let open_clocks = secintake::store::deadlines::open_clocks(&tx).unwrap().len();
    tx.rollback().await.unwrap();
    store.pool.close().await;
    Sweep {
        median: times[times.len() / 2],
        statements,
        by_summary,
        open_clocks,
    }
}

fn vm(pid: u32, key: &str) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let l = s.lines().find(|l| l.starts_with(key))?;
    let kb: f64 = l.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

struct Idle {
    rss: f64,
    hwm: f64,
    ready_after: Duration,
}

/// Starts the daemon, waits for "IMAP ready" and then 6 s more (its first intake pass and
/// sweep done, the connection in IDLE), reads VmRSS (and VmHWM, the peak), then SIGTERM.
fn idle_rss(bin: &str, config: &Path, dir: &Path, name: &str) -> Idle {
    let logp = dir.join(format!("daemon-{name}.log"));
    let log = std::fs::File::create(&logp).unwrap();
    let t = Instant::now();
    let mut daemon = Command::new(bin)
        .arg("--config")
        .arg(config)
        .arg("run")
        .env("RUST_LOG", "info")
        .stderr(log)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    while !std::fs::read_to_string(&logp)
        .unwrap_or_default()
        .contains("IMAP ready")
    {
        assert!(t.elapsed() < Duration::from_secs(60), "the daemon did not get ready");
        std::thread::sleep(Duration::from_millis(20));
    }
    let ready_after = t.elapsed();
    std::thread::sleep(Duration::from_secs(6));
    let pid = daemon.id();
    let rss = vm(pid, "VmRSS:").unwrap_or(0.0);
    let hwm = vm(pid, "VmHWM:").unwrap_or(0.0);
    let _ = Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
    let _ = daemon.wait();
    Idle { rss, hwm, ready_after }
}

async fn count(db: &Path, sql: &str) -> i64 {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", db.display()))
        .await
        .unwrap();
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
}

/// The database file and its WAL, in bytes.
fn files(db: &Path) -> (u64, u64) {
    let len = |p: PathBuf| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    (len(db.to_path_buf()), len(PathBuf::from(wal)))
}

fn mb(b: u64) -> f64 {
    b as f64 / 1e6
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 10_000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

fn verdict(ratio: f64, target: f64) -> &'static str {
    if ratio <= target {
        "ok"
    } else {
        "MISSED"
    }
}

#[tokio::main]
async fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.get(1).map(String::as_str) == Some("--write-mbox") && a.len() >= 3 {
        // Only the archive, e.g. to profile `import --history` on its own.
        let threads = a.get(3).map(|s| s.parse().unwrap()).unwrap_or(10_000);
        let per_thread = a.get(4).map(|s| s.parse().unwrap()).unwrap_or(10);
        let (n, bytes) = write_history(Path::new(&a[2]), threads, per_thread);
        println!("{n} messages, {:.1} MB written to {}", bytes as f64 / 1e6, a[2]);
        return;
    }
    if a.len() < 5 {
        eprintln!("usage: bench_history SECINTAKE_BIN WORKDIR IMAP_PORT SMTP_PORT [THREADS] [MESSAGES_PER_THREAD]");
        std::process::exit(2);
    }
    let bench_start = Instant::now();
    let bin = a[1].clone();
    let dir = PathBuf::from(&a[2]);
    let imap: u16 = a[3].parse().unwrap();
    let smtp: u16 = a[4].parse().unwrap();
    let threads: usize = a.get(5).map(|s| s.parse().unwrap()).unwrap_or(10_000);
    let per_thread: usize = a.get(6).map(|s| s.parse().unwrap()).unwrap_or(10);
    const OPEN: usize = 20;
    std::fs::create_dir_all(&dir).unwrap();

    let log = StatementLog::default();
    {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::Layer;
        // Only while counting: the statement log costs time of its own, kept out of the timings.
        // (dynamic: asked at every statement, not cached per callsite)
        let filter = tracing_subscriber::filter::dynamic_filter_fn(|m, _| {
            COUNTING.load(Ordering::Relaxed) && is_statement(m.target())
        });
        let subscriber = tracing_subscriber::registry().with(log.clone().with_filter(filter));
        tracing::subscriber::set_global_default(subscriber).unwrap();
    }

    // The history archive.
    let mbox = dir.join("history.mbox");
    let t = Instant::now();
    let (hist_msgs, hist_bytes) = write_history(&mbox, threads, per_thread);
    println!(
        "setup: history mbox of {threads} threads x {per_thread} = {hist_msgs} messages, {:.1} MB, written in {:.1} s",
        hist_bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    let small = write_config(&dir, "small", imap, smtp);
    let big = write_config(&dir, "big", imap, smtp);
    let small_db = dir.join("small.db");
    let big_db = dir.join("big.db");
    for c in [&small, &big] {
        let (_, _, out) = timed(&bin, c, &["migrate"]);
        assert!(out.contains("up to date"), "migrate: {out}");
    }

    // The big database's history, through `import --history`; with BENCH_HISTORY_CACHE=DIR a
    // database imported before from the very same mbox is copied instead (not measured again).
    let cached = std::env::var_os("BENCH_HISTORY_CACHE").map(|d| {
        let bytes = std::fs::read(&mbox).unwrap();
        let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
        PathBuf::from(d).join(format!("history-{}.db", &hex::encode(digest)[..16]))
    });
    let import = match &cached {
        Some(c) if c.exists() => {
            for f in ["big.db", "big.db-wal", "big.db-shm"] {
                let _ = std::fs::remove_file(dir.join(f));
            }
            std::fs::copy(c, &big_db).unwrap();
            let wal = |p: &Path| PathBuf::from(format!("{}-wal", p.display()));
            if wal(c).exists() {
                std::fs::copy(wal(c), wal(&big_db)).unwrap();
            }
            println!(
                "setup: import --history: NOT RUN, the database imported from this mbox before was copied from {}",
                c.display()
            );
            None
        }
        _ => {
            let (t, rss, out) = timed(&bin, &big, &["import", "--history", mbox.to_str().unwrap()]);
            println!(
                "setup: import --history: {:.1} s ({:.0} msg/s), peak RSS {rss:.0} MB: {}",
                t.as_secs_f64(),
                hist_msgs as f64 / t.as_secs_f64(),
                out.trim()
            );
            if let Some(c) = &cached {
                // The import's last writes may still be in the WAL: it is kept beside the copy.
                std::fs::create_dir_all(c.parent().unwrap()).unwrap();
                std::fs::copy(&big_db, c).unwrap();
                let wal = |p: &Path| PathBuf::from(format!("{}-wal", p.display()));
                let _ = std::fs::remove_file(wal(c));
                if wal(&big_db).exists() {
                    std::fs::copy(wal(&big_db), wal(c)).unwrap();
                }
            }
            Some((t, rss))
        }
    };
    let imported_cases = count(&big_db, "SELECT COUNT(*) FROM cases WHERE state = 'historical'").await;
    assert_eq!(imported_cases as usize, threads, "one historical case per thread");
    let imported = count(&big_db, "SELECT COUNT(*) FROM messages").await;
    assert_eq!(imported as usize, hist_msgs, "every history message stored");
    let import_files = files(&big_db);
    let history_raw = count(&big_db, "SELECT COALESCE(SUM(size), 0) FROM messages").await as u64;

    // The 20 open cases: fresh reports in the list mailbox, ingested by `run --once` into both.
    {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", imap)).await.unwrap();
        let mut c = async_imap::Client::new(tcp);
        c.read_response().await.unwrap();
        let mut s = c.login("security", "secret").await.map_err(|(e, _)| e).unwrap();
        for m in fresh_reports(OPEN) {
            s.append("INBOX", None, None, &m).await.unwrap();
        }
        let _ = s.logout().await;
    }
    let mut once = Vec::new();
    for (c, db) in [(&small, &small_db), (&big, &big_db)] {
        let (t, rss, _) = timed(&bin, c, &["run", "--once"]);
        once.push((t, rss));
        let open = count(db, "SELECT COUNT(*) FROM cases WHERE state = 'new'").await;
        assert_eq!(
            open as usize,
            OPEN,
            "{}: the fresh reports opened {OPEN} cases",
            db.display()
        );
    }

    // One sweep pass, through the library.
    let sw_small = sweep_pass(&small, &log, 7).await;
    let sw_big = sweep_pass(&big, &log, 7).await;

    // The CLI commands.
    let open_id = |c: &Path| {
        let (_, _, out) = timed(&bin, c, &["cases", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v[0]["id"].as_str().unwrap().to_string()
    };
    let (id_small, id_big) = (open_id(&small), open_id(&big));
    type Args<'a> = Vec<&'a str>;
    let commands: Vec<(&str, Args, Args)> = vec![
        ("cases", vec!["cases"], vec!["cases"]),
        (
            "case ID",
            vec!["case", id_small.as_str()],
            vec!["case", id_big.as_str()],
        ),
        ("deadlines", vec!["deadlines"], vec!["deadlines"]),
        (
            "status --offline",
            vec!["status", "--offline"],
            vec!["status", "--offline"],
        ),
        ("digest", vec!["digest"], vec!["digest"]),
        ("report", vec!["report"], vec!["report"]),
    ];
    let mut cli = Vec::new();
    for (name, s_args, b_args) in &commands {
        let s = timed_n(&bin, &small, s_args, 5);
        let b = timed_n(&bin, &big, b_args, 5);
        cli.push((*name, s, b));
    }

    // The daemon, idle.
    let idle_small = idle_rss(&bin, &small, &dir, "small");
    let idle_big = idle_rss(&bin, &big, &dir, "big");

    // Database growth (both closed cleanly by the daemon just now: the WAL is checkpointed).
    let (small_file, small_wal) = files(&small_db);
    let (big_file, big_wal) = files(&big_db);
    let (size_small, size_big) = (small_file + small_wal, big_file + big_wal);
    let msgs_small = count(&small_db, "SELECT COUNT(*) FROM messages").await;
    let msgs_big = count(&big_db, "SELECT COUNT(*) FROM messages").await;
    let free_pages = |db: PathBuf| async move {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", db.display()))
            .await
            .unwrap();
        let (free,): (i64,) = sqlx::query_as("PRAGMA freelist_count").fetch_one(&pool).await.unwrap();
        let (size,): (i64,) = sqlx::query_as("PRAGMA page_size").fetch_one(&pool).await.unwrap();
        pool.close().await;
        (free * size) as u64
    };
    let big_free = free_pages(big_db.clone()).await;

    println!();
    println!(
        "secintake history benchmark: big = {threads} historical cases ({hist_msgs} messages) + {OPEN} open, small = the {OPEN} open cases alone"
    );
    match import {
        Some((t, rss)) => println!(
            "(h0) import --history            {:8.1} s  {:7.0} msg/s  peak RSS {rss:.0} MB",
            t.as_secs_f64(),
            hist_msgs as f64 / t.as_secs_f64()
        ),
        None => println!("(h0) import --history            not measured: copied from BENCH_HISTORY_CACHE"),
    }
    println!(
        "(h0) run --once, 20 reports      small {:>8}  big {:>8}  {:5.2}x   peak RSS small {:.1} MB  big {:.1} MB",
        ms(once[0].0),
        ms(once[1].0),
        once[1].0.as_secs_f64() / once[0].0.as_secs_f64(),
        once[0].1,
        once[1].1
    );
    let r = sw_big.median.as_secs_f64() / sw_small.median.as_secs_f64();
    println!(
        "(h1) sweep pass                  small {:>8}  big {:>8}  {r:5.2}x (target <= 1.5x) {}",
        ms(sw_small.median),
        ms(sw_big.median),
        verdict(r, 1.5)
    );
    println!(
        "(h1) SQL statements per sweep    small {:>8}  big {:>8}  (target: no query per case; cases the sweep walks: small {}, big {})",
        sw_small.statements, sw_big.statements, sw_small.open_clocks, sw_big.open_clocks
    );
    for (summary, n) in &sw_big.by_summary {
        let s = sw_small.by_summary.get(summary).copied().unwrap_or(0);
        println!("       {s:>6} {n:>6}  {summary}");
    }
    let mut h = 2;
    for (name, (st, sr), (bt, br)) in &cli {
        let r = bt.as_secs_f64() / st.as_secs_f64();
        println!(
            "(h{h}) {:<27} small {:>8}  big {:>8}  {r:5.2}x (target <= 1.5x) {:<6}  peak RSS small {sr:.1} MB  big {br:.1} MB  {:.2}x (target <= 1.5x) {}",
            name,
            ms(*st),
            ms(*bt),
            verdict(r, 1.5),
            br / sr,
            verdict(br / sr, 1.5)
        );
        h += 1;
    }
    for (name, i) in [("small", &idle_small), ("big", &idle_big)] {
        println!(
            "(h{h}) run (daemon), idle in IDLE  {name:<5} VmRSS {:.1} MB (target < 30 MB) {}  VmHWM {:.1} MB  (IMAP ready {:.2} s after start)",
            i.rss,
            if i.rss < 30.0 { "ok" } else { "MISSED" },
            i.hwm,
            i.ready_after.as_secs_f64()
        );
    }
    println!(
        "(h{h}) idle RSS ratio big/small     {:.2}x (target <= 1.5x) {}",
        idle_big.rss / idle_small.rss,
        verdict(idle_big.rss / idle_small.rss, 1.5)
    );
    h += 1;
    println!(
        "(h{h}) database on disk          small {:.1} MB ({msgs_small} messages)  big {:.1} MB ({msgs_big} messages, {:.1} MB of it free pages); WAL now small {:.1} MB  big {:.1} MB",
        mb(size_small),
        mb(size_big),
        mb(big_free),
        mb(small_wal),
        mb(big_wal),
    );
    println!(
        "(h{h}) bytes per message stored  big {:.0}  small {:.0} (mostly the empty schema)  history (big - small) / {} = {:.0} bytes for {:.0} bytes of raw mail each ({:.2}x)",
        size_big as f64 / msgs_big.max(1) as f64,
        size_small as f64 / msgs_small.max(1) as f64,
        msgs_big - msgs_small,
        (size_big - size_small) as f64 / (msgs_big - msgs_small).max(1) as f64,
        history_raw as f64 / hist_msgs as f64,
        (size_big - size_small) as f64 / history_raw.max(1) as f64,
    );
    println!(
        "(h{h}) right after import        file {:.1} MB + WAL {:.1} MB, from an mbox of {:.1} MB",
        mb(import_files.0),
        mb(import_files.1),
        mb(hist_bytes)
    );
    println!("whole benchmark: {:.0} s", bench_start.elapsed().as_secs_f64());
}

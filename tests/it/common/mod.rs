//! Test harness: a real local mail stack (Dovecot + delivering SMTP front, started by
//! `scripts/mailstack.sh`), a real SQLite file, and the real `secintake` binary.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use serde_json::Value;

pub const LIST: &str = "security@example.test";
pub const TEAM: &str = "triage@example.test";
pub const ALICE: &str = "alice@example.test";
pub const BOB: &str = "bob@example.test";
pub const REPORTER: &str = "reporter@example.test";
pub const TRUSTED: &str = "mx.example.test";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A running mail stack; stopped on drop.
pub struct Stack {
    pub dir: tempfile::TempDir,
    pub env: HashMap<String, String>,
}

impl Stack {
    /// A stack started with `scripts/mailstack.sh` options (`MAILSTACK_*` variables).
    pub fn start_with(options: &[(&str, &str)]) -> Stack {
        for (bin, pkg) in [
            ("dovecot", "dovecot-core dovecot-imapd dovecot-lmtpd"),
            ("/usr/bin/python3", "python3-aiosmtpd"),
        ] {
            let found = Command::new("sh")
                .arg("-c")
                .arg(format!("command -v {bin}"))
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            assert!(found, "{bin} is missing: these tests need a real mail stack. Install it with `apt-get install -y {pkg}` (or run scripts/setup-debian.sh)");
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Command::new(root().join("scripts/mailstack.sh"))
            .arg("start")
            .arg(dir.path().join("stack"))
            .envs(options.iter().copied())
            .output()
            .expect("run scripts/mailstack.sh");
        assert!(
            out.status.success(),
            "mail stack did not start:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let env = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Stack { dir, env }
    }

    pub fn get(&self, k: &str) -> String {
        self.env
            .get(k)
            .unwrap_or_else(|| panic!("mail stack did not report {k}"))
            .clone()
    }
    pub fn port(&self, k: &str) -> u16 {
        self.get(k).parse().unwrap()
    }

    fn ctl(&self, what: &str) {
        let out = Command::new(root().join("scripts/mailstack.sh"))
            .arg(what)
            .arg(self.dir.path().join("stack"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mailstack {what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    pub fn stop_smtp(&self) {
        self.ctl("stop-smtp")
    }
    pub fn start_smtp(&self) {
        self.ctl("start-smtp")
    }
    pub fn stop_imap(&self) {
        self.ctl("stop-imap")
    }
    pub fn start_imap(&self) {
        self.ctl("start-imap")
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = Command::new(root().join("scripts/mailstack.sh"))
            .arg("stop")
            .arg(self.dir.path().join("stack"))
            .output();
    }
}

/// A mail stack, a config, a database: everything one test needs.
pub struct World {
    pub stack: Stack,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub db: PathBuf,
}

impl World {
    pub fn new() -> World {
        Self::with("")
    }

    /// `extra` is TOML appended to the config (sections may be repeated only once: use
    /// `policy_extra` style keys by passing whole extra sections).
    pub fn with(extra: &str) -> World {
        Self::with_stack(extra, &[])
    }

    /// `with`, on a mail stack started with `scripts/mailstack.sh` options.
    pub fn with_stack(extra: &str, options: &[(&str, &str)]) -> World {
        let stack = Stack::start_with(options);
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("data/secintake.db");
        let config = dir.path().join("secintake.toml");
        let w = World { stack, dir, config, db };
        w.write_config(extra);
        w
    }

    pub fn write_config(&self, extra: &str) {
        let (mut policy_extra, rest) = split_section(extra, "[policy]");
        // No daily digest unless a test asks for one: the default hour (08:00 UTC) would add
        // a digest to the team's mailbox of any test run after it.
        if !policy_extra.contains("digest_hour") {
            policy_extra.push_str("\ndigest_hour = \"off\"\n");
        }
        let (mut imap_extra, rest) = split_section(&rest, "[imap]");
        // Tests deliver their mail before the first pass: unless a test is about history,
        // that mail is to be answered, not held back as history.
        if !imap_extra.contains("history_before") {
            imap_extra.push_str("\nhistory_before = \"none\"\n");
        }
        let (team_extra, rest) = split_section(&rest, "[team]");
        let text = format!(
            r#"
[imap]
host = "127.0.0.1"
port = {imap}
tls = "none"
username = "security"
password = "secret"
mailbox = "INBOX"
idle = true
poll_interval = "1s"
timeout = "10s"
{imap_extra}

[smtp]
host = "127.0.0.1"
port = {smtp}
tls = "none"
from = "Security Team <{LIST}>"
timeout = "10s"
retry_initial = "1s"
retry_max = "2s"

[database]
url = "sqlite://{db}"

[team]
list_address = "{LIST}"
notify = "{TEAM}"
coordinators = ["{ALICE}", "{BOB}"]
trusted_authserv_ids = ["{TRUSTED}"]
project_repos = ["github.com/expressjs"]
{team_extra}

[policy]
sweep_interval = "1s"
{policy_extra}

[log]
level = "info"
{rest}
"#,
            imap = self.stack.port("IMAP_PORT"),
            smtp = self.stack.port("SMTP_PORT"),
            db = self.db.display(),
        );
        std::fs::write(&self.config, text).unwrap();
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_secintake"));
        c.arg("--config").arg(&self.config);
        c.env_remove("RUST_LOG");
        c
    }

    /// Runs `secintake ARGS`, asserting success; returns stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "secintake {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn output(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    pub fn once(&self) -> String {
        let out = self.cmd().args(["run", "--once"]).output().unwrap();
        assert!(
            out.status.success(),
            "run --once failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    pub fn spawn(&self) -> Daemon {
        self.spawn_with(&[])
    }

    /// The daemon with extra environment variables.
    pub fn spawn_with(&self, env: &[(&str, &str)]) -> Daemon {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let log = self.dir.path().join(format!("daemon-{n}.log"));
        let f = std::fs::File::create(&log).unwrap();
        let mut c = self.cmd();
        c.arg("run").stdout(Stdio::null()).stderr(f);
        for (k, v) in env {
            c.env(k, v);
        }
        Daemon {
            child: Some(c.spawn().unwrap()),
            log,
        }
    }

    pub fn cases(&self) -> Vec<Value> {
        serde_json::from_str(&self.run(&["cases", "--json"])).unwrap()
    }

    pub fn case(&self, id: &str) -> Value {
        serde_json::from_str(&self.run(&["case", id, "--json"])).unwrap()
    }

    /// Puts a message into the list mailbox, as the list would deliver it.
    pub async fn deliver(&self, raw: &str) {
        self.deliver_bytes(raw.as_bytes()).await
    }

    pub async fn deliver_bytes(&self, raw: &[u8]) {
        let mut s = imap_login(self.stack.port("IMAP_PORT"), "security").await;
        s.append("INBOX", None, None, raw).await.expect("APPEND");
        let _ = s.logout().await;
    }

    /// Puts messages into the list mailbox with the time each reached it (INTERNALDATE) and
    /// whether it was read already (`\Seen`), as a mailbox with history holds them.
    pub async fn deliver_dated(&self, messages: &[(Vec<u8>, bool, chrono::DateTime<chrono::Utc>)]) {
        let mut s = imap_login(self.stack.port("IMAP_PORT"), "security").await;
        for (raw, seen, at) in messages {
            let date = format!("\"{}\"", at.format("%d-%b-%Y %H:%M:%S +0000"));
            let flags = seen.then_some("(\\Seen)");
            s.append("INBOX", flags, Some(date.as_str()), raw)
                .await
                .expect("APPEND");
        }
        let _ = s.logout().await;
    }

    /// Every message in `user`'s INBOX, oldest first.
    pub async fn mailbox(&self, user: &str) -> Vec<Mail> {
        mailbox(self.stack.port("IMAP_PORT"), user).await
    }

    /// Waits (up to `limit`) until `user` has at least `n` messages.
    pub async fn wait_mail(&self, user: &str, n: usize, limit: Duration) -> Vec<Mail> {
        let start = Instant::now();
        loop {
            let m = self.mailbox(user).await;
            if m.len() >= n || start.elapsed() > limit {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn db_count(&self, sql: &str) -> i64 {
        self.try_db_count(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Like `db_count`, but None while the database is not there (or not migrated) yet.
    pub async fn try_db_count(&self, sql: &str) -> Result<i64, sqlx::Error> {
        let url = format!("sqlite://{}?mode=ro", self.db.display());
        let pool = sqlx::SqlitePool::connect(&url).await?;
        let r: Result<(i64,), _> = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(&pool)
            .await;
        pool.close().await;
        r.map(|(n,)| n)
    }
}

fn split_section(text: &str, header: &str) -> (String, String) {
    // Pulls `header`'s lines (until the next [section]) out of `text`.
    let mut inside = false;
    let mut taken = String::new();
    let mut rest = String::new();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            inside = t == header;
            if inside {
                continue;
            }
        }
        if inside {
            taken.push_str(line);
            taken.push('\n');
        } else {
            rest.push_str(line);
            rest.push('\n');
        }
    }
    (taken, rest)
}

/// A daemon process; killed on drop.
pub struct Daemon {
    pub child: Option<Child>,
    pub log: PathBuf,
}

impl Daemon {
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then wait; returns the exit status and how long it took.
    pub fn terminate(&mut self) -> (std::process::ExitStatus, Duration) {
        let mut c = self.child.take().unwrap();
        let t = Instant::now();
        unsafe_kill(c.id(), "TERM");
        let status = c.wait().unwrap();
        (status, t.elapsed())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

pub fn unsafe_kill(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A message as found in a mailbox.
#[derive(Debug, Clone)]
pub struct Mail {
    pub raw: Vec<u8>,
}

impl Mail {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default().parse(&self.raw).expect("parse")
    }
    pub fn subject(&self) -> String {
        self.parsed().subject().unwrap_or("").to_string()
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.parsed().header_raw(name).map(|s| s.trim().to_string())
    }
    pub fn message_id(&self) -> String {
        format!("<{}>", self.parsed().message_id().unwrap_or(""))
    }
    /// The text part as it is on the wire (transfer encoding undone; soft breaks kept).
    pub fn wire_body(&self) -> String {
        self.parsed().body_text(0).map(|b| b.into_owned()).unwrap_or_default()
    }

    /// The text as a mail client shows it: a format=flowed body with its soft breaks joined.
    pub fn body(&self) -> String {
        use mail_parser::MimeHeaders;
        let p = self.parsed();
        let text = p.body_text(0).map(|b| b.into_owned()).unwrap_or_default();
        let flowed = p
            .content_type()
            .and_then(|c| mail_parser::ContentType::attribute(c, "format"))
            .is_some_and(|f| f.eq_ignore_ascii_case("flowed"));
        if flowed {
            secintake::text::flowed::decode(&text).join("\n")
        } else {
            text
        }
    }
}

type Session = async_imap::Session<tokio::net::TcpStream>;

pub async fn imap_login(port: u16, user: &str) -> Session {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("IMAP connect");
    let mut c = async_imap::Client::new(tcp);
    c.read_response().await.unwrap();
    c.login(user, "secret").await.map_err(|(e, _)| e).expect("IMAP login")
}

pub async fn mailbox(port: u16, user: &str) -> Vec<Mail> {
    let mut s = imap_login(port, user).await;
    let mb = s.examine("INBOX").await.unwrap();
    let mut out = Vec::new();
    if mb.exists > 0 {
        let fetches: Vec<_> = s
            .fetch("1:*", "(UID BODY.PEEK[])")
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        let mut v: Vec<(u32, Vec<u8>)> = fetches
            .iter()
            .map(|f| (f.uid.unwrap_or(0), f.body().unwrap_or_default().to_vec()))
            .collect();
        v.sort_by_key(|x| x.0);
        out = v.into_iter().map(|(_, raw)| Mail { raw }).collect();
    }
    let _ = s.logout().await;
    out
}

/// Flags of every message in the list mailbox, by UID.
pub async fn seen_flags(port: u16) -> Vec<(u32, bool)> {
    let mut s = imap_login(port, "security").await;
    let mb = s.examine("INBOX").await.unwrap();
    let mut out = Vec::new();
    if mb.exists > 0 {
        let fetches: Vec<_> = s
            .fetch("1:*", "(UID FLAGS)")
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        for f in &fetches {
            let seen = f.flags().any(|fl| matches!(fl, async_imap::types::Flag::Seen));
            out.push((f.uid.unwrap_or(0), seen));
        }
    }
    out.sort();
    let _ = s.logout().await;
    out
}

/// A plain report as a reporter's mail client would send it.
pub fn report(from: &str, subject: &str, message_id: &str, body: &str) -> String {
    format!(
        "Return-Path: <{from}>\r\nFrom: Jane Reporter <{from}>\r\nTo: {LIST}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\nDate: Sat, 21 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n",
        body.replace('\n', "\r\n")
    )
}

/// A complete report body (versions, reproduction, impact).
pub const COMPLETE_BODY: &str = "Hello,\n\nI found a ReDoS in the path matching of express 4.21.1.\n\nSteps to reproduce:\n1. app.get('/:a-:b', handler)\n2. curl 'http://localhost:3000/' followed by 30000 dashes\n\nImpact: an attacker can block the event loop with one request, a denial of service for every user.\n\nRegards,\nJane";

/// A reply, threaded to `parent` (a Message-ID) with the given extra headers.
pub fn reply(
    from: &str,
    to: &str,
    subject: &str,
    message_id: &str,
    parent: &str,
    extra_headers: &str,
    body: &str,
) -> String {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\nIn-Reply-To: {parent}\r\nReferences: {parent}\r\nDate: Sat, 21 Nov 2026 11:00:00 +0000\r\n{extra_headers}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n",
        body.replace('\n', "\r\n")
    )
}

/// The A-R header our trusted border MX would add for an authenticated coordinator.
pub fn authenticated(domain: &str) -> String {
    format!("Authentication-Results: {TRUSTED}; dkim=pass header.d={domain} header.s=sel; spf=pass smtp.mailfrom={domain}; dmarc=pass header.from={domain}\r\n")
}

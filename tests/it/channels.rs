//! Channel deliveries against a real HTTP server on 127.0.0.1 (scripts/webhook-receiver.py,
//! Python's http.server); webhook signatures are checked there by the `standardwebhooks`
//! library from PyPI, not by our code. The last test runs the whole daemon against the
//! real mail stack (tests/common) and reads the mail it sent with a flowed-text reader.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use chrono_tz::Tz;
use secintake::channels::client::{HttpClient, Outcome};
use secintake::channels::deliver::{Deliverer, Pass};
use secintake::channels::queue;
use secintake::channels::{Alert, Channel, ChannelSettings, Detail, EventKind};
use secintake::clock::FixedClock;

const PYTHON: &str = "/usr/bin/python3";
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn need_python_packages() {
    let ok = Command::new(PYTHON)
        .args(["-c", "import standardwebhooks"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "{PYTHON} with the PyPI package `standardwebhooks` is needed: run scripts/setup-debian.sh \
         (or `{PYTHON} -m pip install --break-system-packages standardwebhooks`)"
    );
}

/// The receiver, running; killed when dropped.
struct Receiver {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Receiver {
    fn start(extra: &[&str]) -> Receiver {
        need_python_packages();
        let dir = tempfile::tempdir().unwrap();
        let port_file = dir.path().join("port");
        let log = dir.path().join("requests.jsonl");
        let child = Command::new(PYTHON)
            .arg(repo_root().join("scripts/webhook-receiver.py"))
            .arg("--port-file")
            .arg(&port_file)
            .arg("--log")
            .arg(&log)
            .args(extra)
            .stdin(Stdio::null())
            .spawn()
            .expect("start scripts/webhook-receiver.py");
        let started = Instant::now();
        let port = loop {
            if let Ok(p) = std::fs::read_to_string(&port_file) {
                break p.trim().parse().unwrap();
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the receiver did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        Receiver {
            child,
            port,
            log,
            _dir: dir,
        }
    }

    fn start_on(port: u16, extra: &[&str]) -> Receiver {
        let p = port.to_string();
        let mut args = vec!["--port", p.as_str()];
        args.extend_from_slice(extra);
        Receiver::start(&args)
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Every request it got, in order.
    fn requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn alert() -> Alert {
    Alert {
        event: EventKind::PrematureDisclosure,
        case_id: "SEC-2026-0007".into(),
        state: "new".into(),
        flags: vec!["premature-disclosure".into()],
        subject: Some("Prototype pollution in qs (see github.com/expressjs/express/issues/1)".into()),
        detail: Detail::None,
        at: Utc.with_ymd_and_hms(2026, 12, 3, 2, 58, 0).unwrap(),
    }
}

/// A channel from its `[[channels]]` TOML, with its secret files in `dir`.
fn channel(dir: &Path, toml_text: &str) -> Channel {
    #[derive(serde::Deserialize)]
    struct File {
        channels: Vec<ChannelSettings>,
    }
    let f: File = toml::from_str(toml_text).expect("channel settings");
    let read = |p: &Path| std::fs::read_to_string(dir.join(p)).map_err(|e| e.to_string());
    f.channels[0].resolve(0, &read).expect("channel resolves")
}

fn client(timeout: Duration) -> HttpClient {
    HttpClient::new(None, timeout).unwrap()
}

#[tokio::test]
async fn a_signed_webhook_is_verified_by_standardwebhooks() {
    let rx = Receiver::start(&["--secret", SECRET]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret"), format!("{SECRET}\n")).unwrap();
    std::fs::write(dir.path().join("other"), "whsec_c2VjcmV0LW9mLWFub3RoZXItcmVjZWl2ZXI=").unwrap();
    let good = channel(
        dir.path(),
        &format!(
            "[[channels]]\nkind = \"webhook\"\nurl = \"{}\"\nsecret_file = \"secret\"",
            rx.url("/hooks/secintake")
        ),
    );
    let wrong = channel(
        dir.path(),
        &format!(
            "[[channels]]\nkind = \"webhook\"\nurl = \"{}\"\nsecret_file = \"other\"",
            rx.url("/hooks/secintake")
        ),
    );
    let c = client(Duration::from_secs(10));
    let now = Utc::now();
    let out = c.send(&good.request("chd-1", &alert(), Tz::UTC, now)).await;
    assert_eq!(out, Outcome::Delivered { status: 200 });
    c.send(&wrong.request("chd-2", &alert(), Tz::UTC, now)).await;

    let got = rx.requests();
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(got[0]["verified"], true, "standardwebhooks said: {}", got[0]["error"]);
    assert_eq!(got[0]["headers"]["webhook-id"], "chd-1");
    assert_eq!(got[0]["path"], "/hooks/secintake");
    let body: serde_json::Value = serde_json::from_str(got[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["type"], "case.premature-disclosure");
    assert_eq!(body["data"]["case_id"], "SEC-2026-0007");
    assert_eq!(body["data"]["state"], "new");
    assert_eq!(body["data"]["flags"], serde_json::json!(["premature-disclosure"]));
    assert_eq!(body["data"]["open"], "secintake case SEC-2026-0007");
    assert!(
        body["data"].get("subject").is_none(),
        "no report text by default: {body}"
    );
    assert!(!got[0]["body"].as_str().unwrap().contains("Prototype"));
    // The same receiver refuses a signature made with another secret.
    assert_eq!(got[1]["verified"], false);
}

#[tokio::test]
async fn slack_and_matrix_messages_arrive_as_their_apis_want() {
    let rx = Receiver::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("slack-url"), rx.url("/services/T000/B000/XXXX")).unwrap();
    std::fs::write(dir.path().join("matrix-token"), "syt_bot_token\n").unwrap();
    let slack = channel(
        dir.path(),
        "[[channels]]\nkind = \"slack\"\nurl_file = \"slack-url\"\nevents = [\"premature-disclosure\"]\ninclude_subject = true",
    );
    let matrix = channel(
        dir.path(),
        &format!(
            "[[channels]]\nkind = \"matrix\"\nhomeserver = \"{}\"\nroom = \"!team:example.org\"\ntoken_file = \"matrix-token\"",
            rx.url("")
        ),
    );
    let c = client(Duration::from_secs(10));
    let now = Utc::now();
    assert_eq!(
        c.send(&slack.request("chd-3", &alert(), Tz::UTC, now)).await,
        Outcome::Delivered { status: 200 }
    );
    // The same delivery twice (a retry): the same transaction id, which the homeserver
    // deduplicates.
    for _ in 0..2 {
        assert_eq!(
            c.send(&matrix.request("chd-4", &alert(), Tz::UTC, now)).await,
            Outcome::Delivered { status: 200 }
        );
    }
    let got = rx.requests();
    assert_eq!(got.len(), 3);
    assert_eq!(got[0]["method"], "POST");
    assert_eq!(got[0]["path"], "/services/T000/B000/XXXX");
    let slack_body: serde_json::Value = serde_json::from_str(got[0]["body"].as_str().unwrap()).unwrap();
    let text = slack_body["text"].as_str().unwrap();
    assert!(text.starts_with("Premature disclosure: SEC-2026-0007"), "{text}");
    assert!(
        text.contains("Subject: Prototype pollution in qs"),
        "include_subject = true: {text}"
    );
    assert!(text.contains("secintake case SEC-2026-0007"));

    for m in &got[1..] {
        assert_eq!(m["method"], "PUT");
        assert_eq!(
            m["path"],
            "/_matrix/client/v3/rooms/%21team%3Aexample.org/send/m.room.message/chd-4"
        );
        assert_eq!(m["headers"]["authorization"], "Bearer syt_bot_token");
        let b: serde_json::Value = serde_json::from_str(m["body"].as_str().unwrap()).unwrap();
        assert_eq!(b["msgtype"], "m.notice");
        assert!(
            !b["body"].as_str().unwrap().contains("Prototype"),
            "no subject by default"
        );
    }
}

#[tokio::test]
async fn a_500_is_retried_and_a_400_is_not() {
    let rx = Receiver::start(&["--answers", "500,400,200"]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret"), SECRET).unwrap();
    let hook = channel(
        dir.path(),
        &format!(
            "[[channels]]\nkind = \"webhook\"\nurl = \"{}\"\nsecret_file = \"secret\"",
            rx.url("/h")
        ),
    );
    let c = client(Duration::from_secs(10));
    let req = hook.request("chd-5", &alert(), Tz::UTC, Utc::now());
    let first = c.send(&req).await;
    assert!(
        matches!(&first, Outcome::Retry { reason } if reason.starts_with("HTTP 500")),
        "{first:?}"
    );
    let second = c.send(&req).await;
    assert_eq!(
        second,
        Outcome::Failed {
            reason: "HTTP 400: refused: status 400".into()
        }
    );
    assert_eq!(c.send(&req).await, Outcome::Delivered { status: 200 });
    assert_eq!(rx.requests().len(), 3);
}

#[tokio::test]
async fn a_receiver_that_is_down_or_hangs_means_retry() {
    // Nobody listens on a port we just had and closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("url"), format!("http://127.0.0.1:{port}/x")).unwrap();
    let down = channel(dir.path(), "[[channels]]\nkind = \"slack\"\nurl_file = \"url\"");
    let c = client(Duration::from_millis(800));
    let out = c.send(&down.request("chd-6", &alert(), Tz::UTC, Utc::now())).await;
    assert!(
        matches!(&out, Outcome::Retry { reason } if reason.contains("connect")),
        "{out:?}"
    );

    let rx = Receiver::start(&["--answers", "delay:5"]);
    std::fs::write(dir.path().join("url2"), rx.url("/slow")).unwrap();
    let slow = channel(dir.path(), "[[channels]]\nkind = \"slack\"\nurl_file = \"url2\"");
    let out = c.send(&slow.request("chd-7", &alert(), Tz::UTC, Utc::now())).await;
    assert!(
        matches!(&out, Outcome::Retry { reason } if reason.contains("no answer")),
        "{out:?}"
    );
}

/// A CA and a server certificate for 127.0.0.1, made with openssl.
fn certificates(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl is needed for the TLS test: apt-get install openssl (scripts/setup-debian.sh)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"]);
    run(&[
        "req",
        "-x509",
        "-new",
        "-key",
        "ca.key",
        "-sha256",
        "-days",
        "30",
        "-subj",
        "/CN=channels test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
        "-out",
        "ca.pem",
    ]);
    run(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        "server.ec",
    ]);
    run(&["pkcs8", "-topk8", "-nocrypt", "-in", "server.ec", "-out", "server.key"]);
    run(&[
        "req",
        "-new",
        "-key",
        "server.key",
        "-subj",
        "/CN=localhost",
        "-out",
        "server.csr",
    ]);
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "30",
        "-extfile",
        "server.ext",
        "-out",
        "server.pem",
    ]);
}

#[tokio::test]
async fn https_with_rustls_and_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let cert = dir.path().join("server.pem");
    let key = dir.path().join("server.key");
    let rx = Receiver::start(&[
        "--secret",
        SECRET,
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    std::fs::write(dir.path().join("secret"), SECRET).unwrap();
    let url = format!("https://localhost:{}/tls", rx.port);
    let hook = channel(
        dir.path(),
        &format!("[[channels]]\nkind = \"webhook\"\nurl = \"{url}\"\nsecret_file = \"secret\""),
    );
    let req = hook.request("chd-8", &alert(), Tz::UTC, Utc::now());
    // Without the private CA the certificate is not trusted: nothing is sent.
    let public_only = HttpClient::new(None, Duration::from_secs(10)).unwrap();
    let out = public_only.send(&req).await;
    assert!(
        matches!(&out, Outcome::Retry { reason } if reason.contains("certificate")),
        "{out:?}"
    );
    assert!(rx.requests().is_empty());
    let trusting = HttpClient::new(Some(&dir.path().join("ca.pem")), Duration::from_secs(10)).unwrap();
    assert_eq!(trusting.send(&req).await, Outcome::Delivered { status: 200 });
    let got = rx.requests();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["verified"], true, "{}", got[0]["error"]);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn deliveries_wait_out_an_outage_and_arrive_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = secintake::store::Store::open(&dir.path().join("db.sqlite"))
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO cases (id, year, seq, reporter, subject, opened_at, updated_at, state_since)
         VALUES ('SEC-2026-0007', 2026, 7, 'r@example.net', 's', 'x', 'x', 'x')",
    )
    .execute(&store.pool)
    .await
    .unwrap();
    let port = free_port();
    let refusing = Receiver::start(&["--answers", "400"]);
    std::fs::write(dir.path().join("secret"), SECRET).unwrap();
    std::fs::write(dir.path().join("chat-url"), refusing.url("/chat")).unwrap();
    let hook = channel(
        dir.path(),
        &format!(
            "[[channels]]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:{port}/h\"\nsecret_file = \"secret\"\n\
             events = [\"premature-disclosure\", \"new-case\"]"
        ),
    );
    let chat = channel(
        dir.path(),
        "[[channels]]\nkind = \"slack\"\nurl_file = \"chat-url\"\nevents = [\"new-case\"]",
    );
    let channels = vec![hook.clone(), chat.clone()];
    let t0 = Utc::now();
    let clock = FixedClock::new(t0);

    // Three events in one write transaction, as their cause would write them.
    let tx = store.write().await.unwrap();
    let mut queued = Vec::new();
    for event in [EventKind::PrematureDisclosure, EventKind::NewCase, EventKind::Overdue] {
        let a = Alert { event, ..alert() };
        queued.extend(queue::enqueue(&tx, &channels, &a, t0).unwrap());
    }
    tx.commit().await.unwrap();
    let on = |key: &str| queued.iter().filter(|q| q.channel == key).count();
    assert_eq!(
        (on(hook.key()), on(chat.key())),
        (2, 1),
        "overdue is wanted by neither: {queued:?}"
    );

    let d = Deliverer {
        pool: store.pool.clone(),
        channels: std::sync::Arc::new(channels),
        client: client(Duration::from_secs(5)),
        tz: Tz::UTC,
        retry_initial: Duration::from_secs(5),
        retry_max: Duration::from_secs(600),
        lease: Duration::from_secs(60),
    };
    // The webhook's receiver is down; the chat refuses with a 400.
    let p = d.flush(&clock).await.unwrap();
    assert_eq!(
        p,
        Pass {
            delivered: 0,
            retried: 2,
            failed: 1
        }
    );
    let b = queue::backlog(&store.pool).await.unwrap();
    assert_eq!((b.pending, b.failed), (2, 1));
    assert_eq!(b.recent_failures[0].channel, chat.key());
    assert_eq!(
        b.recent_failures[0].last_error.as_deref(),
        Some("HTTP 400: refused: status 400")
    );
    let (events,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM events WHERE case_id = 'SEC-2026-0007' AND kind = 'channel-failed'")
            .fetch_one(&store.pool)
            .await
            .unwrap();
    assert_eq!(events, 1);
    // Not due again before the backoff.
    assert_eq!(d.flush(&clock).await.unwrap(), Pass::default());

    // The receiver comes back, answering its first request with a 500.
    let rx = Receiver::start_on(port, &["--secret", SECRET, "--answers", "500"]);
    clock.advance(chrono::Duration::seconds(5));
    assert_eq!(
        d.flush(&clock).await.unwrap(),
        Pass {
            delivered: 1,
            retried: 1,
            failed: 0
        }
    );
    clock.advance(chrono::Duration::seconds(10));
    assert_eq!(
        d.flush(&clock).await.unwrap(),
        Pass {
            delivered: 1,
            retried: 0,
            failed: 0
        }
    );
    clock.advance(chrono::Duration::hours(1));
    assert_eq!(d.flush(&clock).await.unwrap(), Pass::default(), "nothing is sent twice");

    let got = rx.requests();
    assert_eq!(got.len(), 3, "{got:#?}");
    let mut delivered: Vec<&str> = got
        .iter()
        .filter(|r| r["status"] == 200)
        .map(|r| r["headers"]["webhook-id"].as_str().unwrap())
        .collect();
    delivered.sort();
    let mut ids: Vec<&str> = queued
        .iter()
        .filter(|q| q.channel == hook.key())
        .map(|q| q.delivery_id.as_str())
        .collect();
    ids.sort();
    assert_eq!(delivered, ids, "each event delivered once");
    assert!(got.iter().all(|r| r["verified"] == true), "{got:#?}");
    assert_eq!(refusing.requests().len(), 1, "a 400 is not retried");

    let view = queue::for_case(&store.pool, "SEC-2026-0007").await.unwrap();
    let statuses: Vec<(&str, &str, &str)> = view
        .iter()
        .map(|v| (v.event.as_str(), v.channel.as_str(), v.status.as_str()))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("premature-disclosure", hook.key(), "delivered"),
            ("new-case", hook.key(), "delivered"),
            ("new-case", chat.key(), "failed"),
        ]
    );
    // Down once for both, then a 500 for one of them.
    let mut attempts: Vec<i64> = view[..2].iter().map(|v| v.attempts).collect();
    attempts.sort();
    assert_eq!((attempts, view[2].attempts), (vec![2, 3], 1));
}

/// A mail as a flowed reader sees it: Python's email package undoes the transfer encoding,
/// the PyPI `formatflowed` decoder (RFC 3676) joins soft breaks. Returns the Content-Type
/// parameters, the wire lines of the body, and the decoded chunks (type, depth, text).
fn read_flowed(raw: &[u8]) -> serde_json::Value {
    let script = r#"
import email, json, sys
try:
    import formatflowed
except ImportError:
    sys.exit("the PyPI package `formatflowed` is missing: run scripts/setup-debian.sh")
msg = email.message_from_bytes(sys.stdin.buffer.read())
part = next(p for p in msg.walk() if p.get_content_type() == "text/plain")
body = part.get_payload(decode=True)
charset = part.get_content_charset() or "us-ascii"
names = {formatflowed.PARAGRAPH: "paragraph", formatflowed.FIXED: "fixed",
         formatflowed.SIGNATURE_SEPARATOR: "signature"}
chunks = [[names[i["type"]], i.get("quotedepth", 0), t]
          for i, t in formatflowed.decode(body, character_set=charset,
                                          delete_space=(part.get_param("delsp") or "").lower() == "yes")]
print(json.dumps({"format": part.get_param("format"), "lines": body.decode(charset).split("\r\n"),
                  "chunks": chunks}))
"#;
    use std::io::Write;
    let mut child = Command::new(PYTHON)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    child.stdin.take().unwrap().write_all(raw).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "flowed reader: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_premature_disclosure_reaches_the_signed_webhook_once_and_the_mail_reads_clean() {
    use crate::common::*;
    need_python_packages();
    let port = free_port();
    let refusing = Receiver::start(&["--answers", "400"]);
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("webhook-secret");
    std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
    let w = World::with(&format!(
        r#"
[[channels]]
kind = "webhook"
url = "http://127.0.0.1:{port}/hooks/secintake"
secret_file = "{}"
events = ["premature-disclosure", "new-case", "refused-commands"]

[[channels]]
kind = "slack"
url = "{}"
events = ["new-case"]
"#,
        secret.display(),
        refusing.url("/services/T/B/X")
    ));
    let body = "Hello,\n\nexpress 4.21.1: the flights search is open to command injection, see the public issue https://github.com/expressjs/express/issues/6001 where I posted it by mistake.\n\nSteps to reproduce:\ncurl http://localhost:3000/flights/$(python3 -c 'print(1)')\n\nImpact: remote code execution as the server user.\n\nJane";
    w.deliver(&report(
        REPORTER,
        "Command injection in flights search",
        "<pd1@example.test>",
        body,
    ))
    .await;

    // The webhook's receiver is down, the chat answers 400.
    w.once();
    let status: serde_json::Value = serde_json::from_str(&w.run(&["status", "--json", "--offline"])).unwrap();
    assert_eq!(status["channels"]["pending"], 2, "{status:#}");
    assert_eq!(status["channels"]["failed"], 1, "{status:#}");
    assert!(
        status["channels"]["recent_failures"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("HTTP 400"),
        "{status:#}"
    );
    let text = String::from_utf8(w.output(&["status", "--offline"]).stdout).unwrap();
    assert!(text.contains("team channels:     2 waiting"), "{text}");
    assert!(text.contains("failed:") && text.contains("HTTP 400"), "{text}");

    // It comes back, answers its first request with a 500, then takes everything.
    let rx = Receiver::start_on(port, &["--secret", SECRET, "--answers", "500"]);
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(600));
        w.once();
        if rx.requests().iter().filter(|r| r["status"] == 200).count() == 2 {
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(2500));
    w.once();
    let got = rx.requests();
    let ok: Vec<&serde_json::Value> = got.iter().filter(|r| r["status"] == 200).collect();
    assert_eq!(ok.len(), 2, "{got:#?}");
    assert_eq!(got.len(), 3, "one 500, then each event once: {got:#?}");
    let mut ids: Vec<&str> = ok
        .iter()
        .map(|r| r["headers"]["webhook-id"].as_str().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2, "each event delivered once");
    assert!(got.iter().all(|r| r["verified"] == true), "standardwebhooks: {got:#?}");
    let types: Vec<String> = ok
        .iter()
        .map(|r| serde_json::from_str::<serde_json::Value>(r["body"].as_str().unwrap()).unwrap()["type"].to_string())
        .collect();
    assert!(
        types.contains(&"\"case.premature-disclosure\"".to_string()),
        "{types:?}"
    );
    for r in &got {
        let b = r["body"].as_str().unwrap();
        assert!(
            !b.contains("Command injection") && !b.contains("python3"),
            "no report text: {b}"
        );
    }
    assert_eq!(refusing.requests().len(), 1, "a 400 is not retried");

    let case = &w.cases()[0];
    let id = case["id"].as_str().unwrap().to_string();
    let detail = w.case(&id);
    let deliveries: Vec<(String, String)> = detail["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["event"].as_str().unwrap().to_string(),
                d["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("premature-disclosure", "delivered"),
        ("new-case", "delivered"),
        ("new-case", "failed"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(deliveries, want);

    // The receipt reads as clean paragraphs in a flowed reader.
    let receipts = w.mailbox(REPORTER).await;
    assert_eq!(receipts.len(), 1);
    let r = read_flowed(&receipts[0].raw);
    assert_eq!(r["format"], "flowed");
    for l in r["lines"].as_array().unwrap() {
        assert!(l.as_str().unwrap().chars().count() <= 78, "line over 78: {l}");
    }
    let chunks = r["chunks"].as_array().unwrap();
    let thanks = chunks
        .iter()
        .find(|c| c[2].as_str().unwrap().starts_with("Thank you for your report."))
        .expect("the first paragraph");
    assert_eq!(thanks[0], "paragraph");
    assert!(
        thanks[2]
            .as_str()
            .unwrap()
            .ends_with("or simply reply to this message."),
        "{thanks}"
    );
    let reply_line = chunks
        .iter()
        .find(|c| c[2].as_str().unwrap().starts_with("- A member of the team"))
        .unwrap();
    assert_eq!(
        reply_line[2],
        "- A member of the team will reply to you personally within 48 hours."
    );

    // A stranger writes into the thread: named a third party, not "Reporter replied".
    w.deliver(&reply(
        "mallory@example.test",
        LIST,
        &format!("Re: [{id}] Command injection in flights search"),
        "<pd2@example.test>",
        "<pd1@example.test>",
        "",
        "I can confirm this.\n/accept",
    ))
    .await;
    w.once();
    let team = w.mailbox(TEAM).await;
    let subjects: Vec<String> = team.iter().map(|m| m.subject()).collect();
    assert!(
        subjects.iter().any(|s| s.contains("Third party wrote: ")),
        "{subjects:?}"
    );
    assert!(!subjects.iter().any(|s| s.contains("Reporter replied")), "{subjects:?}");

    // The notice lists the public issue, not the PoC fragment.
    let notice = team
        .iter()
        .find(|m| m.subject().contains("New report"))
        .expect("new-case notice");
    let n = read_flowed(&notice.raw);
    let links: Vec<&str> = n["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c[2].as_str().unwrap())
        .filter(|t| t.starts_with("- http") || t.starts_with("    http"))
        .collect();
    assert!(
        links
            .iter()
            .any(|l| l.contains("github.com/expressjs/express/issues/6001")),
        "{links:?}"
    );
    assert!(!links.iter().any(|l| l.contains("$(")), "{links:?}");

    // No RFC 3339 time in any mail meant for people.
    let rfc3339 = regex::Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}").unwrap();
    for m in receipts.iter().chain(team.iter()) {
        let body = read_flowed(&m.raw)["chunks"].to_string();
        assert!(!rfc3339.is_match(&body), "{}: {body}", m.subject());
    }
    // The refused /accept reached the webhook as refused-commands, once more signed.
    let mut seen = 0;
    for _ in 0..10 {
        seen = rx
            .requests()
            .iter()
            .filter(|r| r["body"].as_str().unwrap().contains("case.refused-commands"))
            .count();
        if seen > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
        w.once();
    }
    assert_eq!(seen, 1);
}

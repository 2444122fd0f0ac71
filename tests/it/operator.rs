//! The operator's first week, through the real binary: a database is found, never invented;
//! exit codes by cause (75 temporary, 78 config); one daemon per database; the commands that
//! only read the database need no mail-server secrets; `run --once` owns up to mail left queued;
//! a TLS mode that does not fit the port is named with its fix within seconds; `check-config`
//! warnings and `--strict`; `status` says degraded while mail waits after a send failure.

use crate::common::*;
use std::process::Output;
use std::time::{Duration, Instant};

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Replaces one line of the world's config file.
fn edit_config(w: &World, from: &str, to: &str) {
    let text = std::fs::read_to_string(&w.config).unwrap();
    assert!(text.contains(from), "config has no `{from}`");
    std::fs::write(&w.config, text.replace(from, to)).unwrap();
}

#[tokio::test]
async fn a_wrong_database_path_is_never_a_new_database() {
    let w = World::new();
    w.run(&["migrate"]);
    let typo = w.dir.path().join("secintak/secintake.db");
    edit_config(
        &w,
        &format!("url = \"sqlite://{}\"", w.db.display()),
        &format!("url = \"sqlite://{}\"", typo.display()),
    );
    for args in [
        &["cases"][..],
        &["cases", "--json"],
        &["deadlines"],
        &["status", "--offline"],
        &["report"],
        &["case", "SEC-2026-0001"],
    ] {
        let o = w.output(args);
        assert_eq!(code(&o), 78, "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("database {} does not exist", typo.display())),
            "{args:?} names the path: {}",
            stderr(&o)
        );
    }
    assert!(
        !typo.exists() && !typo.parent().unwrap().exists(),
        "nothing was created"
    );
    // check-config names the resolved path and says it does not exist.
    let out = w.run(&["check-config"]);
    assert!(
        out.contains(&format!("database: {} (does not exist yet", typo.display())),
        "{out}"
    );
}

#[tokio::test]
async fn the_two_slash_relative_form_is_resolved_against_the_config_folder() {
    let w = World::new();
    edit_config(
        &w,
        &format!("url = \"sqlite://{}\"", w.db.display()),
        "url = \"sqlite://var/lib/secintake.db\"",
    );
    let elsewhere = tempfile::tempdir().unwrap();
    let o = w.cmd().current_dir(elsewhere.path()).args(["cases"]).output().unwrap();
    assert_eq!(code(&o), 78, "{}", stderr(&o));
    let resolved = w.dir.path().join("var/lib/secintake.db");
    assert!(stderr(&o).contains(&resolved.display().to_string()), "{}", stderr(&o));
    let out = String::from_utf8_lossy(
        &w.cmd()
            .current_dir(elsewhere.path())
            .args(["check-config"])
            .output()
            .unwrap()
            .stdout,
    )
    .into_owned();
    assert!(out.contains("resolved against the config file's folder"), "{out}");
    let o = w
        .cmd()
        .current_dir(elsewhere.path())
        .args(["migrate"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(resolved.exists(), "migrate created it beside the config");
    assert!(
        std::fs::read_dir(elsewhere.path()).unwrap().next().is_none(),
        "nothing was created in the current directory"
    );
}

#[tokio::test]
async fn a_config_error_exits_78_and_names_the_key() {
    let w = World::new();
    edit_config(
        &w,
        "tls = \"none\"\nusername = \"security\"",
        "tls = \"sometimes\"\nusername = \"security\"",
    );
    for args in [&["check-config"][..], &["run", "--once"], &["cases"]] {
        let o = w.output(args);
        assert_eq!(code(&o), 78, "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("tls"), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o).lines().count(), 1, "one line: {}", stderr(&o));
    }
}

#[tokio::test]
async fn an_empty_password_file_is_named_as_empty() {
    let w = World::new();
    let pw = w.dir.path().join("imap-password");
    std::fs::write(&pw, "\n").unwrap();
    edit_config(
        &w,
        "password = \"secret\"",
        &format!("password_file = \"{}\"", pw.display()),
    );
    let o = w.output(&["check-config"]);
    assert_eq!(code(&o), 78, "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("{} is empty", pw.display())),
        "{}",
        stderr(&o)
    );
}

#[tokio::test]
async fn reading_commands_need_no_mail_server_secrets() {
    let w = World::new();
    w.deliver(&report(
        REPORTER,
        "XSS in res.redirect",
        "<op-1@example.test>",
        "A report.",
    ))
    .await;
    w.once();
    let gone = w.dir.path().join("no-such-password-file");
    edit_config(
        &w,
        "password = \"secret\"",
        &format!("password_file = \"{}\"", gone.display()),
    );
    let cases = w.cases();
    assert_eq!(cases.len(), 1);
    let id = cases[0]["id"].as_str().unwrap().to_string();
    for args in [
        &["cases"][..],
        &["case", &id],
        &["deadlines"],
        &["report"],
        &["status", "--offline"],
        &["search", "redirect"],
        &["digest"],
    ] {
        let o = w.output(args);
        assert!(
            matches!(code(&o), 0 | 1),
            "{args:?} works without the password file: {}",
            stderr(&o)
        );
        assert!(!stderr(&o).contains("password"), "{args:?}: {}", stderr(&o));
    }
    // What talks to IMAP still needs it, and says which file.
    let o = w.output(&["run", "--once"]);
    assert_eq!(code(&o), 78, "{}", stderr(&o));
    assert!(stderr(&o).contains(&gone.display().to_string()), "{}", stderr(&o));
}

#[tokio::test]
async fn a_second_daemon_on_the_same_database_exits_75() {
    let w = World::new();
    let mut d = w.spawn();
    let t = Instant::now();
    while !d.log().contains("IMAP ready") {
        assert!(t.elapsed() < Duration::from_secs(30), "daemon not ready: {}", d.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = d.child.as_ref().unwrap().id();
    let o = w.output(&["run"]);
    assert_eq!(code(&o), 75, "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("already running (pid {pid})")),
        "{}",
        stderr(&o)
    );
    // A single pass beside the daemon is safe, and says so.
    let o = w.output(&["run", "--once"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("a daemon is running on this database"),
        "{}",
        stderr(&o)
    );
    d.terminate();
    // Once it is gone, the lock is free again.
    let mut again = w.spawn();
    let t = Instant::now();
    while !again.log().contains("IMAP ready") {
        assert!(t.elapsed() < Duration::from_secs(30), "second daemon: {}", again.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    again.terminate();
}

#[tokio::test]
async fn run_once_exits_75_while_mail_is_left_queued() {
    let w = World::new();
    w.stack.stop_smtp();
    w.deliver(&report(
        REPORTER,
        "Path traversal in send",
        "<op-2@example.test>",
        "A report.",
    ))
    .await;
    let o = w.output(&["run", "--once"]);
    assert_eq!(code(&o), 75, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("left queued after a send failure"),
        "{}",
        stderr(&o)
    );
    assert_eq!(w.cases().len(), 1, "the report is stored all the same");
    w.stack.start_smtp();
    tokio::time::sleep(Duration::from_millis(2100)).await; // retry_max = 2s
    let o = w.output(&["run", "--once"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!w.wait_mail("reporter", 1, Duration::from_secs(10)).await.is_empty());
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The one `secintake: error:` line of a failed command.
fn error_line(o: &Output) -> String {
    let err = stderr(o);
    err.lines()
        .find(|l| l.starts_with("secintake: error:"))
        .unwrap_or_else(|| panic!("no error line: {err}"))
        .to_string()
}

/// What an operator reads must be words, not Rust debug structs or a repeated chain.
fn assert_readable(line: &str, repeated: &str) {
    for debug in ["Some(", "None,", "Outcome {", "Kind::", "{ code"] {
        assert!(!line.contains(debug), "a debug struct in: {line}");
    }
    assert!(line.matches(repeated).count() <= 1, "`{repeated}` repeated in: {line}");
}

#[tokio::test]
async fn imap_tls_mode_swapped_names_host_port_and_the_fix() {
    let w = World::new();
    let plain = w.stack.port("IMAP_PORT");
    let tls = w.stack.port("IMAPS_PORT");
    // Implicit TLS against the plain port: the TLS handshake breaks at once.
    edit_config(
        &w,
        &format!("port = {plain}\ntls = \"none\""),
        &format!("port = {plain}\ntls = \"implicit\""),
    );
    let t = Instant::now();
    let o = w.output(&["run", "--once"]);
    let took = t.elapsed();
    assert_eq!(code(&o), 75, "{}", stderr(&o));
    let line = error_line(&o);
    assert!(line.contains(&format!("127.0.0.1:{plain}")), "{line}");
    assert!(
        line.contains(&format!("port {plain} speaks plain IMAP: use tls = \"starttls\"")),
        "{line}"
    );
    assert!(
        line.contains("the server said \"* OK [CAPABILITY"),
        "the server's own words: {line}"
    );
    assert_readable(&line, "InvalidContentType");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    eprintln!("implicit against the plain port: {took:?}: {line}");

    // STARTTLS (or no TLS) against the implicit-TLS port: the server waits for a ClientHello
    // and says nothing; found after the 5 s greeting patience, not imap.timeout.
    for mode in ["starttls", "none"] {
        let text = std::fs::read_to_string(&w.config).unwrap();
        let start = text.find("[imap]").unwrap();
        let end = text[start..].find("username").unwrap() + start;
        let section = format!("[imap]\nhost = \"127.0.0.1\"\nport = {tls}\ntls = \"{mode}\"\n");
        std::fs::write(&w.config, format!("{}{section}{}", &text[..start], &text[end..])).unwrap();
        edit_config(&w, "timeout = \"10s\"\n", "timeout = \"60s\"\n");
        let t = Instant::now();
        let o = w.output(&["check-config", "--connect"]);
        let took = t.elapsed();
        assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
        let out = stdout(&o);
        let line = out
            .lines()
            .find(|l| l.starts_with("imap FAILED"))
            .unwrap_or_else(|| panic!("{out}"));
        assert!(line.contains(&format!("127.0.0.1:{tls}")), "{line}");
        assert!(
            line.contains(&format!("port {tls} expects TLS at once: use tls = \"implicit\"")),
            "{line}"
        );
        assert_readable(line, "greeting");
        assert!(
            took < Duration::from_secs(10),
            "{mode}: took {took:?} (imap.timeout is 60s)"
        );
        assert!(out.contains("smtp ok"), "SMTP is fine: {out}");
        eprintln!("{mode} against the TLS port: {took:?}: {line}");
        edit_config(&w, "timeout = \"60s\"\n", "timeout = \"10s\"\n");
    }
}

#[tokio::test]
async fn smtp_tls_mode_swapped_names_host_port_and_the_fix() {
    let w = World::new();
    let plain = w.stack.port("SMTP_PORT");
    let tls = w.stack.port("SMTPS_PORT");
    edit_config(
        &w,
        &format!("port = {plain}\ntls = \"none\""),
        &format!("port = {plain}\ntls = \"implicit\""),
    );
    let t = Instant::now();
    let o = w.output(&["check-config", "--connect"]);
    let took = t.elapsed();
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    let line = out
        .lines()
        .find(|l| l.starts_with("smtp FAILED"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains(&format!("SMTP 127.0.0.1:{plain}")), "{line}");
    assert!(
        line.contains(&format!("port {plain} speaks plain SMTP: use tls = \"starttls\"")),
        "{line}"
    );
    assert!(
        line.contains("the server said \"220 "),
        "the server's own words: {line}"
    );
    assert_readable(line, "InvalidContentType");
    assert_readable(line, "Connection error");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    eprintln!("implicit against the plain SMTP port: {took:?}: {line}");

    // The same words reach the outbox: `run --once` leaves the mail queued, and status says why.
    w.deliver(&report(REPORTER, "CSRF in session", "<op-3@example.test>", "A report."))
        .await;
    let o = w.output(&["run", "--once"]);
    assert_eq!(code(&o), 75, "{}", stderr(&o));
    let status = stdout(&w.output(&["status", "--offline"]));
    assert!(status.contains("use tls = \"starttls\""), "{status}");

    edit_config(
        &w,
        &format!("port = {plain}\ntls = \"implicit\""),
        &format!("port = {tls}\ntls = \"starttls\""),
    );
    edit_config(
        &w,
        "timeout = \"10s\"\nretry_initial",
        "timeout = \"60s\"\nretry_initial",
    );
    let t = Instant::now();
    let o = w.output(&["check-config", "--connect"]);
    let took = t.elapsed();
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    let line = out
        .lines()
        .find(|l| l.starts_with("smtp FAILED"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains(&format!("SMTP 127.0.0.1:{tls}")), "{line}");
    assert!(
        line.contains(&format!("port {tls} expects TLS at once: use tls = \"implicit\"")),
        "{line}"
    );
    assert_readable(line, "greeting");
    assert!(took < Duration::from_secs(10), "took {took:?} (smtp.timeout is 60s)");
    eprintln!("starttls against the SMTPS port: {took:?}: {line}");
}

#[tokio::test]
async fn check_config_warns_and_strict_makes_warnings_errors() {
    let w = World::new();
    let o = w.output(&["check-config", "--strict"]);
    assert_eq!(code(&o), 0, "a clean config: {}", stderr(&o));
    assert!(!stderr(&o).contains("warning:"), "{}", stderr(&o));

    edit_config(
        &w,
        &format!("trusted_authserv_ids = [\"{TRUSTED}\"]"),
        "trusted_authserv_ids = []",
    );
    let imap = w.stack.port("IMAP_PORT");
    edit_config(
        &w,
        &format!("host = \"127.0.0.1\"\nport = {imap}"),
        &format!("host = \"imap.example.net\"\nport = {imap}"),
    );
    let templates = w.dir.path().join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(templates.join("reciept.txt"), "Subject: Got it\n\nThanks.\n").unwrap();
    let mut text = std::fs::read_to_string(&w.config).unwrap();
    text.push_str(&format!("\n[templates]\ndir = \"{}\"\n", templates.display()));
    std::fs::write(&w.config, text).unwrap();

    let o = w.output(&["check-config"]);
    assert_eq!(code(&o), 0, "warnings alone do not fail: {}", stderr(&o));
    let err = stderr(&o);
    let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("warning: ")).collect();
    assert_eq!(warnings.len(), 3, "{err}");
    assert!(
        warnings[0].contains("trusted_authserv_ids is empty") && warnings[0].contains("no coordinator"),
        "{err}"
    );
    assert!(
        warnings[1].contains("imap.tls = \"none\" to imap.example.net") && warnings[1].contains("clear text"),
        "{err}"
    );
    assert!(
        warnings[2].contains("reciept.txt matches no template") && warnings[2].contains("receipt.txt"),
        "{err}"
    );
    assert!(stdout(&o).contains("config ok"));

    let o = w.output(&["check-config", "--strict"]);
    assert_eq!(code(&o), 78, "{}", stderr(&o));
    assert!(stderr(&o).contains("3 warning(s)"), "{}", stderr(&o));

    // A key nothing reads is not a warning but an error that names it (exit 78).
    edit_config(&w, "mailbox = \"INBOX\"", "mailbox = \"INBOX\"\nmailbx = \"Archive\"");
    let o = w.output(&["check-config"]);
    assert_eq!(code(&o), 78, "{}", stderr(&o));
    assert!(stderr(&o).contains("mailbx"), "{}", stderr(&o));
}

#[tokio::test]
async fn status_is_degraded_while_mail_waits_after_a_send_failure() {
    let w = World::new();
    let smtp = w.stack.port("SMTP_PORT");
    w.stack.stop_smtp();
    w.deliver(&report(REPORTER, "SSRF in proxy", "<op-4@example.test>", "A report."))
        .await;
    let o = w.output(&["run", "--once"]);
    assert_eq!(code(&o), 75, "{}", stderr(&o));
    for args in [&["status"][..], &["status", "--offline"]] {
        let o = w.output(args);
        assert_eq!(code(&o), 0, "degraded is not unhealthy: {}{}", stdout(&o), stderr(&o));
        let out = stdout(&o);
        let health = out.lines().find(|l| l.starts_with("health:")).unwrap();
        assert!(health.contains("degraded: "), "{args:?}: {out}");
        assert!(
            health.contains("mails waiting, last send error SMTP 127.0.0.1:"),
            "{health}"
        );
        assert!(health.contains(&format!("127.0.0.1:{smtp}")), "{health}");
        assert!(health.contains(" at 20"), "the time of the error: {health}");
    }
    let j: serde_json::Value = serde_json::from_str(&stdout(&w.output(&["status", "--offline", "--json"]))).unwrap();
    assert_eq!(j["health"], "degraded", "{j}");
    assert_eq!(j["healthy"], true, "{j}");
    assert!(j["degraded"].as_str().unwrap().contains("mails waiting"), "{j}");

    w.stack.start_smtp();
    tokio::time::sleep(Duration::from_millis(2100)).await; // retry_max = 2s
    assert_eq!(code(&w.output(&["run", "--once"])), 0);
    let j: serde_json::Value = serde_json::from_str(&stdout(&w.output(&["status", "--offline", "--json"]))).unwrap();
    assert_eq!(j["health"], "ok", "{j}");
    assert!(j["degraded"].is_null(), "{j}");
}

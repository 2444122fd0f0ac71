//! The operator's first week, through the real binary: a database is found, never invented;
//! exit codes by cause (75 temporary, 78 config); one daemon per database; the commands that
//! only read the database need no mail-server secrets; `run --once` owns up to mail left queued.

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

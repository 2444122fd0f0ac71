//! Coordinators' commands through a mailing list (ARC, RFC 8617), and DKIM signatures, made
//! by dkimpy (tests/dkimpy_mail.py), through the real mail stack.
//!
//! dkimpy plays the coordinator's mail server (`dkim.sign`), the list server and any later
//! forwarder (`dkim.verify`/`dkim.arc_verify` on arrival, then `dkim.arc_sign`); keys are
//! pinned with `team.dkim_keys`, so nothing asks DNS.

use crate::common::*;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

const LIST_SEALER: &str = "lists.example.org";
const EVIL_SEALER: &str = "lists.evil.test";
const FORWARDER: &str = "fwd.example.net";
const GOOGLE: &str = "google.com";
const MALLORY: &str = "mallory@evil.example";

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// The helper script, run with the system Python (where setup-debian.sh installs dkimpy).
fn dkimpy(args: &[&str], input: &[u8]) -> Vec<u8> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dkimpy_mail.py");
    let mut child = Command::new("/usr/bin/python3")
        .arg(&script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("/usr/bin/python3 is needed: run scripts/setup-debian.sh");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "tests/dkimpy_mail.py {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The keys of every signer, made once: `(name, key file)` and the pinned records.
struct Keys {
    _dir: tempfile::TempDir,
    files: Vec<(&'static str, PathBuf)>,
    records: Vec<String>,
    records_file: PathBuf,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut files = Vec::new();
        let mut records = Vec::new();
        for (name, kind, selector, domain) in [
            ("alice-rsa", "rsa", "sel", "example.test"),
            ("alice-ed25519", "ed25519", "ed", "example.test"),
            ("mallory", "rsa", "sel", "evil.example"),
            ("list", "rsa", "arc", LIST_SEALER),
            ("evil-list", "rsa", "arc", EVIL_SEALER),
            ("forwarder", "rsa", "arc", FORWARDER),
            ("google", "rsa", "arc-20240605", GOOGLE),
        ] {
            let file = dir.path().join(format!("{name}.key"));
            let out = dkimpy(&["keygen", kind, selector, domain, file.to_str().unwrap()], b"");
            records.push(String::from_utf8(out).unwrap().trim().to_string());
            files.push((name, file));
        }
        let records_file = dir.path().join("keys.txt");
        std::fs::write(&records_file, records.join("\n")).unwrap();
        Keys {
            _dir: dir,
            files,
            records,
            records_file,
        }
    })
}

fn key(name: &str) -> &'static str {
    keys()
        .files
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap()
        .1
        .to_str()
        .unwrap()
}

/// `[team]` settings: the pinned keys, and the trusted sealers.
fn team(sealers: &[&str], verify_dkim: bool) -> String {
    let pinned: Vec<String> = keys().records.iter().map(|r| format!("{r:?}")).collect();
    let sealers: Vec<String> = sealers.iter().map(|s| format!("{s:?}")).collect();
    format!(
        "[team]\nverify_dkim = {verify_dkim}\ndkim_keys = [{}]\ntrusted_arc_sealers = [{}]\n",
        pinned.join(", "),
        sealers.join(", ")
    )
}

/// The coordinator's mail server signs (`dkim.sign`).
fn signed(key_name: &str, algo: &str, selector: &str, domain: &str, mail: &str) -> String {
    String::from_utf8(dkimpy(
        &["sign", key(key_name), algo, selector, domain],
        mail.as_bytes(),
    ))
    .unwrap()
}

/// A list server or forwarder relays (checks on arrival, changes, `dkim.arc_sign`).
fn relayed(key_name: &str, selector: &str, domain: &str, options: &[&str], mail: &str) -> String {
    let k = keys();
    let mut args = vec![
        "relay",
        k.records_file.to_str().unwrap(),
        key(key_name),
        selector,
        domain,
    ];
    args.extend_from_slice(options);
    String::from_utf8(dkimpy(&args, mail.as_bytes())).unwrap()
}

/// The list of the usual deployment: footer and subject prefix, sealed by lists.example.org.
fn through_list(options: &[&str], mail: &str) -> String {
    let mut o = vec![
        "--footer",
        "Security list - https://lists.example.org/security",
        "--subject-prefix",
        "[security]",
    ];
    o.extend_from_slice(options);
    relayed("list", "arc", LIST_SEALER, &o, mail)
}

/// Alice's reply with commands, as her mail client writes it, signed by example.test (RSA).
fn alice_says(c: &Case, body: &str) -> String {
    signed(
        "alice-rsa",
        "rsa",
        "sel",
        "example.test",
        &command_mail(&format!("Alice <{ALICE}>"), c, body),
    )
}

fn command_mail(from: &str, c: &Case, body: &str) -> String {
    let n = SEQ.fetch_add(1, Ordering::SeqCst);
    reply(
        from,
        LIST,
        &format!("Re: [{}] report", c.id),
        &format!("<arc{n}@example.test>"),
        "<rep@example.test>",
        "",
        body,
    )
}

struct Case {
    id: String,
}

async fn open_case(w: &World) -> Case {
    w.deliver(&report(
        REPORTER,
        "ReDoS in path matching",
        "<rep@example.test>",
        COMPLETE_BODY,
    ))
    .await;
    w.once();
    Case {
        id: w.cases()[0]["id"].as_str().unwrap().to_string(),
    }
}

/// A mail body with its lines joined: the daemon wraps long lines.
fn flat(body: &str) -> String {
    body.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn events<'a>(d: &'a Value, kind: &str) -> Vec<&'a Value> {
    d["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

/// The commands applied: Alice is the coordinator, she got a confirmation that says which
/// authentication counted, and the case's events keep the same explanation.
async fn assert_applied(w: &World, c: &Case, why: &str) {
    let d = w.case(&c.id);
    assert_eq!(
        (d["state"].as_str(), d["coordinator"].as_str()),
        (Some("triage"), Some(ALICE)),
        "events: {:#?}",
        d["events"]
    );
    let msg = events(&d, "coordinator-message");
    assert_eq!(msg.len(), 1, "{msg:#?}");
    assert_eq!(msg[0]["actor"], ALICE, "{msg:#?}");
    assert_eq!(
        msg[0]["detail"]["authentication"]["verdict"], "authenticated",
        "{msg:#?}"
    );
    let detail = msg[0]["detail"]["authentication"]["detail"].as_str().unwrap();
    assert!(detail.contains(why), "{detail:?} should say {why:?}");
    let conf = w.wait_mail("alice", 1, Duration::from_secs(5)).await;
    assert_eq!(conf.len(), 1, "one confirmation to Alice");
    assert!(conf[0].subject().contains("Done"), "{}", conf[0].subject());
    let body = flat(&conf[0].body());
    assert!(body.contains("coordinator alice@example.test"), "{body}");
    assert!(body.contains(why), "the confirmation explains: {body}");
}

/// Nothing changed, no confirmation went out, and the team was told why (the same reason
/// is in the `commands-refused` event).
async fn assert_refused(w: &World, c: &Case, why: &[&str]) {
    let d = w.case(&c.id);
    assert_eq!(
        (
            d["state"].as_str(),
            d["coordinator"].as_str(),
            d["close_reason"].as_str()
        ),
        (Some("new"), None, None),
        "events: {:#?}",
        d["events"]
    );
    let refused = events(&d, "commands-refused");
    assert_eq!(refused.len(), 1, "{:#?}", d["events"]);
    let reason = refused[0]["detail"]["reason"].as_str().unwrap();
    for w in why {
        assert!(reason.contains(w), "{reason:?} should say {w:?}");
    }
    let team = w.wait_mail("triage", 2, Duration::from_secs(5)).await;
    let notice: Vec<String> = team
        .iter()
        .filter(|m| m.subject().contains("Refused"))
        .map(|m| flat(&m.body()))
        .collect();
    assert_eq!(notice.len(), 1, "one refusal notice to the team");
    for w in why {
        assert!(notice[0].contains(w), "the notice says {w:?}: {}", notice[0]);
    }
    assert_eq!(w.mailbox("alice").await.len(), 0, "no confirmation");
}

async fn world(sealers: &[&str]) -> (World, Case) {
    let w = World::with(&team(sealers, false));
    let c = open_case(&w).await;
    (w, c)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_list_footer_and_subject_prefix_sealed_by_a_trusted_list_apply() {
    let (w, c) = world(&[LIST_SEALER]).await;
    let mail = through_list(&[], &alice_says(&c, "/assign me"));
    assert!(mail.contains("Subject: [security] Re:") && mail.contains("Security list - "));
    w.deliver(&mail).await;
    w.once();
    assert_applied(
        &w,
        &c,
        "ARC i=1 sealed by lists.example.org: dmarc=pass for example.test",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_list_mail_without_a_trusted_sealer_is_refused_as_before() {
    // What a new user saw before ARC: the footer breaks Alice's signature.
    let w = World::with(&team(&[], true));
    let c = open_case(&w).await;
    w.deliver(&through_list(&[], &alice_says(&c, "/assign me"))).await;
    w.once();
    assert_refused(&w, &c, &["DKIM: d=example.test failed"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rewritten_from_with_x_original_from_applies() {
    let (w, c) = world(&[LIST_SEALER]).await;
    let mail = through_list(
        &[
            "--rewrite-from",
            "security@lists.example.org",
            "--original-header",
            "X-Original-From",
        ],
        &alice_says(&c, "/assign me"),
    );
    assert!(
        mail.contains("From: \"'Alice' via Security\" <security@lists.example.org>"),
        "{mail}"
    );
    w.deliver(&mail).await;
    w.once();
    assert_applied(
        &w,
        &c,
        "ARC i=1 sealed by lists.example.org: dmarc=pass for example.test (X-Original-From: alice@example.test)",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_google_groups_shape_applies() {
    // Google Groups: From rewritten to the group, the author in X-Original-Sender and
    // Reply-To, sealed by google.com with mx.google.com's results.
    let (w, c) = world(&[GOOGLE]).await;
    let mail = relayed(
        "google",
        "arc-20240605",
        GOOGLE,
        &[
            "--srv-id",
            "mx.google.com",
            "--subject-prefix",
            "[security]",
            "--rewrite-from",
            "security@googlegroups.com",
            "--original-header",
            "X-Original-Sender",
            "--reply-to",
            ALICE,
        ],
        &alice_says(&c, "/assign me"),
    );
    assert!(
        mail.contains("X-Original-Sender: Alice <alice@example.test>")
            || mail.contains("X-Original-Sender: alice@example.test"),
        "{mail}"
    );
    w.deliver(&mail).await;
    w.once();
    assert_applied(&w, &c, "ARC i=1 sealed by google.com: dmarc=pass for example.test").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_seal_by_an_untrusted_sealer_is_refused() {
    let (w, c) = world(&[LIST_SEALER]).await;
    let mail = relayed(
        "evil-list",
        "arc",
        EVIL_SEALER,
        &["--footer", "x"],
        &alice_says(&c, "/assign me"),
    );
    w.deliver(&mail).await;
    w.once();
    assert_refused(&w, &c, &["sealer lists.evil.test not trusted"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_or_subject_changed_after_the_seal_is_refused() {
    let (w, c) = world(&[LIST_SEALER]).await;
    let sealed = through_list(&[], &alice_says(&c, "/assign me"));
    let body_changed = sealed.replace("/assign me", "/assign me\r\n/invalid forged");
    assert_ne!(body_changed, sealed);
    w.deliver(&body_changed).await;
    w.once();
    assert_refused(&w, &c, &["ARC chain broken at i=1"]).await;

    let (w, c) = world(&[LIST_SEALER]).await;
    let sealed = through_list(&[], &alice_says(&c, "/assign me"));
    let subject_changed = sealed.replace("Subject: [security] Re:", "Subject: [security] Fwd:");
    assert_ne!(subject_changed, sealed);
    w.deliver(&subject_changed).await;
    w.once();
    assert_refused(&w, &c, &["ARC chain broken at i=1"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn list_results_saying_dmarc_fail_are_refused() {
    // Mallory writes as Alice from her own server: the list sees a signature of
    // evil.example, not aligned with From, and records dmarc=fail; its seal is valid.
    let (w, c) = world(&[LIST_SEALER]).await;
    let forged = signed(
        "mallory",
        "rsa",
        "sel",
        "evil.example",
        &command_mail(ALICE, &c, "/assign me"),
    );
    let mail = through_list(&[], &forged);
    assert!(mail.contains("dmarc=fail header.from=example.test"), "{mail}");
    w.deliver(&mail).await;
    w.once();
    assert_refused(&w, &c, &["ARC i=1 sealed by lists.example.org", "dmarc=fail"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_x_original_from_the_trusted_list_did_not_authenticate_is_refused() {
    // Mallory's own, validly signed mail that looks rewritten ("... via ..." with
    // X-Original-From naming Alice); the trusted list authenticates evil.example and seals.
    let (w, c) = world(&[LIST_SEALER]).await;
    let n = SEQ.fetch_add(1, Ordering::SeqCst);
    let own = reply(
        &format!("\"Alice via Security\" <{MALLORY}>"),
        LIST,
        &format!("Re: [{}] report", c.id),
        &format!("<arc{n}@evil.example>"),
        "<rep@example.test>",
        &format!("X-Original-From: Alice <{ALICE}>\r\n"),
        "/assign me",
    );
    let mail = through_list(&[], &signed("mallory", "rsa", "sel", "evil.example", &own));
    assert!(mail.contains("dmarc=pass header.from=evil.example"), "{mail}");
    w.deliver(&mail).await;
    w.once();
    assert_refused(
        &w,
        &c,
        &[
            "X-Original-From: alice@example.test",
            "ARC i=1 sealed by lists.example.org",
            "exactly example.test",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outer_untrusted_hop_resealing_a_broken_chain_is_refused() {
    // Someone changes the list's mail, then a forwarder checks it (the chain fails) and
    // seals it with cv=fail.
    let (w, c) = world(&[LIST_SEALER]).await;
    let sealed = through_list(&[], &alice_says(&c, "/assign me"));
    let changed = sealed.replace("/assign me", "/assign me\r\n/invalid forged");
    let mail = relayed("forwarder", "arc", FORWARDER, &[], &changed);
    assert!(mail.contains("cv=fail"), "{mail}");
    w.deliver(&mail).await;
    w.once();
    assert_refused(&w, &c, &["ARC chain broken at i=2"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outer_untrusted_hop_adding_a_command_with_cv_pass_is_refused() {
    // The forwarder checks the list's chain (pass), adds a command line, and seals with
    // cv=pass: the chain validates, but the trusted list's signature no longer does.
    let (w, c) = world(&[LIST_SEALER]).await;
    let sealed = through_list(&[], &alice_says(&c, "/assign me"));
    let mail = relayed(
        "forwarder",
        "arc",
        FORWARDER,
        &["--append-body", "/invalid forged"],
        &sealed,
    );
    assert!(mail.contains("cv=pass") && mail.contains("/invalid forged"), "{mail}");
    w.deliver(&mail).await;
    w.once();
    assert_refused(
        &w,
        &c,
        &["ARC i=1 sealed by lists.example.org: the message changed after that seal (i=2 by fwd.example.net is not trusted)"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_honest_forwarder_after_the_list_leaves_the_commands_valid() {
    let (w, c) = world(&[LIST_SEALER]).await;
    let sealed = through_list(&[], &alice_says(&c, "/assign me"));
    let mail = relayed("forwarder", "arc", FORWARDER, &[], &sealed);
    assert!(mail.contains("ARC-Seal: i=2; cv=pass"), "{mail}");
    w.deliver(&mail).await;
    w.once();
    assert_applied(
        &w,
        &c,
        "ARC i=1 sealed by lists.example.org: dmarc=pass for example.test",
    )
    .await;
}

/// Direct DKIM (`team.verify_dkim`) with dkimpy's signature: a good one applies, the same
/// mail with its body changed is refused.
async fn direct_dkim(key_name: &str, algo: &str, selector: &str) {
    let w = World::with(&team(&[], true));
    let c = open_case(&w).await;
    let tampered = signed(
        key_name,
        algo,
        selector,
        "example.test",
        &command_mail(ALICE, &c, "/assess"),
    )
    .replace("/assess", "/invalid forged");
    w.deliver(&tampered).await;
    w.once();
    assert_refused(&w, &c, &["DKIM: d=example.test failed"]).await;
    w.deliver(&signed(
        key_name,
        algo,
        selector,
        "example.test",
        &command_mail(ALICE, &c, "/assign me"),
    ))
    .await;
    w.once();
    let d = w.case(&c.id);
    assert_eq!(
        (d["state"].as_str(), d["coordinator"].as_str()),
        (Some("triage"), Some(ALICE)),
        "{:#?}",
        d["events"]
    );
    let conf = w.wait_mail("alice", 1, Duration::from_secs(5)).await;
    let why = format!("dkim signature verified by secintake: d=example.test s={selector}");
    assert!(flat(&conf[0].body()).contains(&why), "{}", conf[0].body());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dkimpy_rsa_2048_signature_authenticates_directly() {
    direct_dkim("alice-rsa", "rsa", "sel").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dkimpy_ed25519_signature_authenticates_directly() {
    direct_dkim("alice-ed25519", "ed25519", "ed").await;
}

//! Encrypted reports through the real stack: GnuPG as the reporter's mail client writes them,
//! Dovecot holds them, the real binary answers, and GnuPG decrypts and verifies what came back.
//! A canary inside the encrypted text must never appear in clear mail or in the logs.

use std::time::Duration;

use crate::common::{authenticated, reply, World, ALICE, LIST, REPORTER, TEAM};
use crate::pgp::Gpg;

const CANARY: &str = "CANARY-41b7-only-inside-the-ciphertext";

/// The report's text: complete (versions, reproduction, impact), the canary in it.
fn report_text() -> String {
    format!(
        "Hello security team,\r\n\r\nexpress 4.21.1 and 5.0.0 are affected: res.redirect() with a user-controlled \
         URL lets an attacker inject response headers ({CANARY}).\r\n\r\nTo reproduce:\r\n1. npm install \
         express@4.21.1\r\n2. curl -i 'http://localhost:3000/r?u=%0d%0aSet-Cookie:x=1'\r\n\r\nImpact: session \
         fixation for any user who follows a link.\r\n\r\nJane\r\n"
    )
}

/// The list's key, the reporter's key (who has the list's public key), and a world whose
/// config points `[pgp]` at the list key (and at a keyring with the reporter's key, if asked).
struct Setup {
    w: World,
    list: Gpg,
    reporter: Gpg,
    list_fpr: String,
}

fn setup(reporter_in_keyring: bool) -> Setup {
    let list = Gpg::new();
    let list_fpr = list.gen_key(&format!("Security Team <{LIST}>"), "", "never");
    let reporter = Gpg::new();
    reporter.gen_key(&format!("Jane Reporter <{REPORTER}>"), "", "never");
    reporter.import(&list.export(LIST));
    let w = World::with("[pgp]\nsecret_key_file = \"list-key.asc\"\nkeyring_dir = \"keys\"\n");
    std::fs::write(w.dir.path().join("list-key.asc"), list.export_secret(LIST, "")).unwrap();
    std::fs::create_dir_all(w.dir.path().join("keys")).unwrap();
    if reporter_in_keyring {
        std::fs::write(w.dir.path().join("keys/jane.asc"), reporter.export(REPORTER)).unwrap();
    }
    Setup {
        w,
        list,
        reporter,
        list_fpr,
    }
}

/// A PGP/MIME message (RFC 3156) around `armored`, as Thunderbird sends it.
fn pgp_mime(subject: &str, message_id: &str, extra_headers: &str, armored: &[u8]) -> Vec<u8> {
    let mut m = format!(
        "Return-Path: <{REPORTER}>\r\nFrom: Jane Reporter <{REPORTER}>\r\nTo: {LIST}\r\nSubject: {subject}\r\n\
         Message-ID: {message_id}\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n{extra_headers}MIME-Version: 1.0\r\n\
         Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\";\r\n boundary=\"------------outer\"\r\n\r\n\
         This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n--------------outer\r\n\
         Content-Type: application/pgp-encrypted\r\nContent-Description: PGP/MIME version identification\r\n\r\n\
         Version: 1\r\n\r\n--------------outer\r\n\
         Content-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\
         Content-Disposition: inline; filename=\"encrypted.asc\"\r\n\r\n"
    )
    .into_bytes();
    m.extend_from_slice(
        String::from_utf8_lossy(armored)
            .replace("\r\n", "\n")
            .replace('\n', "\r\n")
            .as_bytes(),
    );
    m.extend_from_slice(b"\r\n--------------outer--\r\n");
    m
}

/// The armored OpenPGP message inside a PGP/MIME mail we sent.
fn armored_part(raw: &[u8]) -> Vec<u8> {
    let t = String::from_utf8_lossy(raw);
    let start = t.find("-----BEGIN PGP MESSAGE-----").expect("an armored message");
    let end = t.find("-----END PGP MESSAGE-----").expect("its end") + "-----END PGP MESSAGE-----".len();
    t[start..end].as_bytes().to_vec()
}

/// What gpg (as `who`) reads of a sealed mail, and whether it found a good signature.
fn gpg_reads(who: &Gpg, raw: &[u8]) -> (String, bool) {
    let out = who.run(&["--decrypt"], &armored_part(raw));
    assert!(
        out.status.success(),
        "gpg could not decrypt our mail: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status = String::from_utf8_lossy(&out.stderr).into_owned();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        status.contains("Good signature"),
    )
}

fn run_logged(w: &World) -> String {
    let out = w
        .cmd()
        .args(["run", "--once"])
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "run --once: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every mail that left (to the reporter, to the team): none holds the canary in clear.
async fn assert_nothing_leaked(w: &World, log: &str) {
    assert!(!log.contains(CANARY), "the canary is in the log");
    for user in ["reporter", "triage", "alice"] {
        for m in w.mailbox(user).await {
            assert!(
                !m.text().contains(CANARY) && !m.text().contains("Header injection"),
                "clear mail to {user} holds encrypted text:\n{}",
                m.text()
            );
        }
    }
}

#[tokio::test]
async fn an_encrypted_signed_report_is_read_answered_encrypted_and_never_leaked() {
    let s = setup(true);
    let entity = format!(
        "Content-Type: text/plain; charset=UTF-8; protected-headers=\"v1\"\r\nSubject: Header injection in \
         res.redirect {CANARY}\r\nContent-Transfer-Encoding: 7bit\r\n\r\n{}",
        report_text()
    );
    let armored = s.reporter.ok(
        &["--armor", "--sign", "--encrypt", "-r", LIST, "--local-user", REPORTER],
        entity.as_bytes(),
    );
    s.w.deliver_bytes(&pgp_mime("...", "<enc1@example.test>", "", &armored))
        .await;
    let log = run_logged(&s.w);

    let cases = s.w.cases();
    assert_eq!(cases.len(), 1);
    let c = &cases[0];
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(c["encryption"], "pgp-mime");
    assert_eq!(c["signature"], "valid");
    assert_eq!(c["body_check"], "ok", "{c}");
    assert_eq!(c["missing"], serde_json::json!([]), "the decrypted report is complete");
    assert!(
        c["subject"].as_str().unwrap().starts_with("Header injection"),
        "the protected subject: {c}"
    );

    // The receipt: PGP/MIME, only the case tag outside, gpg decrypts it and verifies our signature.
    let mails = s.w.wait_mail("reporter", 1, Duration::from_secs(10)).await;
    assert_eq!(mails.len(), 1);
    let receipt = &mails[0];
    assert!(receipt.header("Content-Type").unwrap().contains("multipart/encrypted"));
    assert_eq!(receipt.subject(), format!("[{id}] ..."));
    let autocrypt = receipt.header("Autocrypt").expect("an Autocrypt header");
    assert!(autocrypt.contains(&format!("addr={LIST}")), "{autocrypt}");
    let (inner, good) = gpg_reads(&s.reporter, &receipt.raw);
    assert!(good, "gpg found no good signature by the list key");
    assert!(inner.contains(&format!("tracked as {id}")), "{inner}");
    assert!(
        inner.contains("Subject: [") && inner.contains("Header injection"),
        "protected subject inside: {inner}"
    );

    // The team has no key in the keyring: its notice is clear, and carries nothing of the report.
    let team = s.w.wait_mail("triage", 1, Duration::from_secs(10)).await;
    let notice = team
        .iter()
        .find(|m| m.subject().contains(&id))
        .expect("a new-case notice");
    assert!(!notice.header("Content-Type").unwrap().contains("encrypted"));
    let body = notice.body();
    assert!(body.contains(&format!("secintake case {id}")), "{body}");
    assert!(notice.subject().contains("(encrypted report)"), "{}", notice.subject());
    assert!(notice.header("Autocrypt").is_some());

    // A coordinator accepts it: the progress update to the reporter is sealed too.
    let auth = authenticated("example.test");
    s.w.deliver(&reply(
        ALICE,
        LIST,
        &format!("Re: [{id}] ..."),
        "<acc1@example.test>",
        "<enc1@example.test>",
        &auth,
        "/assign me\n/assess\n/accept",
    ))
    .await;
    let log2 = run_logged(&s.w);
    let mails = s.w.wait_mail("reporter", 2, Duration::from_secs(10)).await;
    assert!(mails.len() >= 2, "a progress update to the reporter");
    for m in &mails[1..] {
        assert!(m.header("Content-Type").unwrap().contains("multipart/encrypted"));
        let (inner, good) = gpg_reads(&s.reporter, &m.raw);
        assert!(good && inner.contains(&id), "{inner}");
    }
    // `case ID` shows the team the decrypted report (on the operator's terminal, not in mail).
    let shown = s.w.run(&["case", &id]);
    assert!(shown.contains("encryption:  pgp-mime   signature: valid"), "{shown}");
    assert!(
        shown.contains(CANARY),
        "the decrypted text is readable with `secintake case ID`"
    );
    // The raw ciphertext is kept byte for byte, the decrypted copy beside it.
    assert_eq!(s.w.db_count("SELECT COUNT(*) FROM decrypted").await, 1);
    assert_eq!(
        s.w.db_count("SELECT COUNT(*) FROM messages WHERE kind = 'report' AND instr(raw, 'BEGIN PGP MESSAGE') > 0")
            .await,
        1
    );
    assert_nothing_leaked(&s.w, &format!("{log}{log2}")).await;
    let _ = &s.list;
}

#[tokio::test]
async fn an_inline_report_with_an_autocrypt_key_gets_an_encrypted_receipt() {
    let s = setup(false);
    // Encrypt only (no signature), inline in a text body; the key rides in an Autocrypt header.
    let armored = s
        .reporter
        .ok(&["--armor", "--encrypt", "-r", LIST], report_text().as_bytes());
    let key = s.reporter.ok(&["--export", REPORTER], b"");
    use base64::Engine as _;
    let data = base64::engine::general_purpose::STANDARD.encode(key);
    let folded: Vec<String> = data
        .as_bytes()
        .chunks(70)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let autocrypt = format!("Autocrypt: addr={REPORTER}; keydata=\r\n {}\r\n", folded.join("\r\n "));
    let raw =
        format!(
        "Return-Path: <{REPORTER}>\r\nFrom: Jane Reporter <{REPORTER}>\r\nTo: {LIST}\r\nSubject: Security issue\r\n\
         Message-ID: <inl1@example.test>\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n{autocrypt}MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n",
        String::from_utf8_lossy(&armored).replace("\r\n", "\n").replace('\n', "\r\n")
    );
    s.w.deliver(&raw).await;
    let log = run_logged(&s.w);
    let c = &s.w.cases()[0];
    assert_eq!(c["encryption"], "pgp-inline");
    assert_eq!(c["signature"], serde_json::Value::Null);
    assert_eq!(c["body_check"], "ok", "{c}");
    assert_eq!(c["missing"], serde_json::json!([]));
    assert_eq!(
        s.w.db_count(&format!(
            "SELECT COUNT(*) FROM pgp_keys WHERE address = '{REPORTER}' AND source = 'autocrypt'"
        ))
        .await,
        1,
        "the reporter's key is learned, with where it came from"
    );
    let mails = s.w.wait_mail("reporter", 1, Duration::from_secs(10)).await;
    let (inner, good) = gpg_reads(&s.reporter, &mails[0].raw);
    assert!(good && inner.contains("Thank you for your report"), "{inner}");
    assert_nothing_leaked(&s.w, &log).await;
}

#[tokio::test]
async fn a_report_for_another_key_is_undecryptable_then_decrypted_after_a_key_rotation() {
    let s = setup(false);
    // The reporter encrypted to the list's *new* key, which the config does not name yet.
    let new_list = Gpg::new();
    let new_fpr = new_list.gen_key(&format!("Security Team 2027 <{LIST}>"), "", "never");
    s.reporter.import(&new_list.export(&new_fpr));
    let armored = s
        .reporter
        .ok(&["--armor", "--encrypt", "-r", &new_fpr], report_text().as_bytes());
    s.w.deliver_bytes(&pgp_mime("Vulnerability report", "<rot1@example.test>", "", &armored))
        .await;
    let log = run_logged(&s.w);
    let c = &s.w.cases()[0];
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(c["body_check"], "undecryptable");
    assert_eq!(
        c["missing"],
        serde_json::json!([]),
        "no checklist questions about what nobody could read"
    );
    let mails = s.w.wait_mail("reporter", 1, Duration::from_secs(10)).await;
    let receipt = mails[0].body();
    assert!(receipt.contains("could not decrypt"), "{receipt}");
    assert!(
        receipt.contains(&s.list_fpr),
        "the receipt names the list key: {receipt}"
    );
    assert!(!receipt.contains("please also send us"), "{receipt}");
    assert_nothing_leaked(&s.w, &log).await;

    // Not yet: the old key still cannot open it.
    let out = s.w.output(&["case", &id, "decrypt"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("still undecryptable"));
    // The operator rotates the key; the report opens and is analysed again.
    std::fs::write(
        s.w.dir.path().join("list-key.asc"),
        new_list.export_secret(&new_fpr, ""),
    )
    .unwrap();
    let said = s.w.run(&["case", &id, "decrypt"]);
    assert!(said.contains("decrypted; body check ok"), "{said}");
    let c = s.w.case(&id);
    assert_eq!(c["body_check"], "ok");
    assert_eq!(c["missing"], serde_json::json!([]));
    assert!(c["events"].as_array().unwrap().iter().any(|e| e["kind"] == "decrypted"));
}

#[tokio::test]
async fn damaged_ciphertext_is_a_case_and_nothing_is_lost() {
    let s = setup(false);
    let armored = s
        .reporter
        .ok(&["--armor", "--encrypt", "-r", LIST], report_text().as_bytes());
    // Damage the body of the armor (not the header lines): a few base64 characters changed.
    let mut text = String::from_utf8_lossy(&armored).into_owned();
    let mid = text.len() / 2;
    text.replace_range(mid..mid + 8, "AAAAAAAA");
    s.w.deliver_bytes(&pgp_mime("Report", "<dmg1@example.test>", "", text.as_bytes()))
        .await;
    s.w.once();
    let c = &s.w.cases()[0];
    assert_eq!(c["body_check"], "undecryptable");
    assert_eq!(c["encryption"], "pgp-mime");
    let mails = s.w.wait_mail("reporter", 1, Duration::from_secs(10)).await;
    assert!(mails[0].body().contains("could not decrypt"));
    assert_eq!(
        s.w.db_count("SELECT COUNT(*) FROM messages WHERE kind = 'report'")
            .await,
        1
    );
    let team = s.w.wait_mail("triage", 1, Duration::from_secs(10)).await;
    assert!(
        team.iter().any(|m| m.body().contains("undecryptable")),
        "the team hears of it"
    );
    let _ = TEAM;
}

#[tokio::test]
async fn a_hidden_recipient_report_with_an_attached_key_and_a_team_key() {
    let s = setup(false);
    // The team address has a key in the keyring: mail to the team about it is sealed, whole.
    let team = Gpg::new();
    team.gen_key(&format!("Triage <{TEAM}>"), "", "never");
    std::fs::write(s.w.dir.path().join("keys/team.asc"), team.export(TEAM)).unwrap();
    team.import(&s.list.export(LIST));
    // multipart/mixed inside the encryption: the report, and the reporter's key attached.
    let key = String::from_utf8(s.reporter.export(REPORTER)).unwrap();
    let entity = format!(
        "Content-Type: multipart/mixed; boundary=\"inner\"\r\n\r\n--inner\r\nContent-Type: text/plain; \
         charset=UTF-8\r\n\r\n{}\r\n--inner\r\nContent-Type: application/pgp-keys; name=\"jane.asc\"\r\n\
         Content-Disposition: attachment; filename=\"jane.asc\"\r\n\r\n{}\r\n--inner--\r\n",
        report_text(),
        key.replace("\r\n", "\n").replace('\n', "\r\n")
    );
    // gpg -R: the recipient's key id is not in the message.
    let armored = s.reporter.ok(&["--armor", "--encrypt", "-R", LIST], entity.as_bytes());
    s.w.deliver_bytes(&pgp_mime("Report", "<hid1@example.test>", "", &armored))
        .await;
    let log = run_logged(&s.w);
    let c = &s.w.cases()[0];
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(
        (c["encryption"].as_str(), c["body_check"].as_str()),
        (Some("pgp-mime"), Some("ok")),
        "{c}"
    );
    assert_eq!(
        s.w.db_count(&format!(
            "SELECT COUNT(*) FROM pgp_keys WHERE address = '{REPORTER}' AND source = 'attachment'"
        ))
        .await,
        1
    );
    let mails = s.w.wait_mail("reporter", 1, Duration::from_secs(10)).await;
    let (inner, good) = gpg_reads(&s.reporter, &mails[0].raw);
    assert!(good && inner.contains(&id), "{inner}");
    let notices = s.w.wait_mail("triage", 1, Duration::from_secs(10)).await;
    let notice = &notices[0];
    assert_eq!(notice.subject(), format!("[{id}] ..."));
    let (inner, good) = gpg_reads(&team, &notice.raw);
    assert!(good, "the team's gpg verifies the list's signature");
    assert!(inner.contains(CANARY), "the sealed notice is whole: {inner}");
    assert_nothing_leaked(&s.w, &log).await;
}

#[tokio::test]
async fn a_clear_signed_report_is_verified_and_the_reply_sealed() {
    let s = setup(true);
    let signed = s
        .reporter
        .ok(&["--clearsign", "--local-user", REPORTER], report_text().as_bytes());
    let raw =
        format!(
        "Return-Path: <{REPORTER}>\r\nFrom: Jane Reporter <{REPORTER}>\r\nTo: {LIST}\r\nSubject: Header injection\r\n\
         Message-ID: <sig1@example.test>\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{}",
        String::from_utf8_lossy(&signed).replace("\r\n", "\n").replace('\n', "\r\n")
    );
    s.w.deliver(&raw).await;
    s.w.once();
    let c = &s.w.cases()[0];
    assert_eq!(c["encryption"], "none");
    assert_eq!(c["signature"], "valid");
    // The reporter's key is known (keyring): the receipt is sealed all the same.
    let mails = s.w.wait_mail("reporter", 1, Duration::from_secs(10)).await;
    let (inner, good) = gpg_reads(&s.reporter, &mails[0].raw);
    assert!(good && inner.contains("Thank you for your report"), "{inner}");
    // It arrived in clear: the team's notice quotes it as usual.
    let team = s.w.wait_mail("triage", 1, Duration::from_secs(10)).await;
    assert!(team[0].body().contains("res.redirect()"), "{}", team[0].body());
}

/// Peak RSS of `run --once` (GNU time) and its stderr.
fn peak_rss(w: &World) -> (u64, String) {
    assert!(
        std::path::Path::new("/usr/bin/time").exists(),
        "this test measures peak memory with GNU time: apt-get install -y time (or run scripts/setup-debian.sh)"
    );
    let out = std::process::Command::new("/usr/bin/time")
        .arg("-f")
        .arg("MAXRSS_KB=%M")
        .arg(env!("CARGO_BIN_EXE_secintake"))
        .arg("--config")
        .arg(&w.config)
        .args(["run", "--once"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    let kb = err
        .lines()
        .find_map(|l| l.strip_prefix("MAXRSS_KB="))
        .expect("GNU time output")
        .trim()
        .parse()
        .unwrap();
    (kb, err)
}

/// A 20 MB encrypted report through Dovecot: decrypted, analysed and stored, with peak memory
/// measured against the same run on a clear report of the same size (the floor: what any
/// mail of that size costs). Decrypting may add the plaintext and the decryptor's buffers,
/// not more; and the whole stays under the hostile-mail test's limit (100 MB).
#[tokio::test]
async fn a_20_mb_encrypted_report_through_the_stack_stays_in_bounded_memory() {
    let s = setup(false);
    // A 20 MB mail as it arrives (armored: about 14.6 MB of plaintext inside).
    let mut noise = vec![0u8; (21 << 19) + (1 << 18)];
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for b in noise.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&noise);
    let mut entity = format!(
        "Content-Type: multipart/mixed; boundary=big\r\n\r\n--big\r\nContent-Type: text/plain\r\n\r\n{}\r\n--big\r\n\
         Content-Type: application/octet-stream; name=heap.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n",
        report_text()
    );
    for line in b64.as_bytes().chunks(76) {
        entity.push_str(std::str::from_utf8(line).unwrap());
        entity.push_str("\r\n");
    }
    entity.push_str("--big--\r\n");
    let armored = s
        .reporter
        .ok(&["--armor", "--encrypt", "-z", "0", "-r", LIST], entity.as_bytes());
    let raw = pgp_mime("heap dump", "<big1@example.test>", "", &armored);
    assert!(raw.len() >= 20 << 20, "a 20 MB mail: {} bytes", raw.len());
    // The floor: the same text in clear, padded to the encrypted mail's size.
    let mut clear = format!(
        "From: Jane Reporter <{REPORTER}>\r\nTo: {LIST}\r\nSubject: heap dump\r\nMessage-ID: <big0@example.test>\r\nMIME-Version: 1.0\r\n"
    )
    .into_bytes();
    clear.extend_from_slice(entity.as_bytes());
    clear.resize(raw.len(), b'\n');
    drop((noise, b64, armored));
    let floor = World::new();
    floor.deliver_bytes(&clear).await;
    let (clear_kb, _) = peak_rss(&floor);
    s.w.deliver_bytes(&raw).await;
    let (rss_kb, err) = peak_rss(&s.w);
    let plain_mb = entity.len() as f64 / f64::from(1 << 20);
    let extra_mb = (rss_kb as f64 - clear_kb as f64) / 1024.0;
    eprintln!(
        "{} MB mail through the stack: peak RSS clear {} MB, encrypted {} MB: +{extra_mb:.0} MB for {plain_mb:.0} MB of plaintext ({:.2}x)",
        raw.len() >> 20,
        clear_kb / 1024,
        rss_kb / 1024,
        extra_mb / plain_mb
    );
    let c = &s.w.cases()[0];
    assert_eq!(c["encryption"], "pgp-mime");
    assert_eq!(c["body_check"], "ok", "{c}");
    assert_eq!(s.w.db_count("SELECT COUNT(*) FROM decrypted").await, 1);
    assert!(
        extra_mb < 1.5 * plain_mb,
        "decrypting cost {extra_mb:.0} MB over a clear mail of the same size"
    );
    assert!(
        rss_kb < 100 * 1024,
        "peak RSS {rss_kb} kB (the hostile-mail test's limit is 100 MB)"
    );
    assert!(!err.contains(CANARY));
}

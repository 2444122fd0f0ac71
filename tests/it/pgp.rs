//! OpenPGP with real GnuPG as the reporter's mail client: what gpg encrypts and signs, the list
//! opens; what the list seals, gpg decrypts and verifies.

use chrono::{Duration, Utc};
use secintake::message::Incoming;
use secintake::pgp::{
    self, autocrypt_header, learn, open, seal, Content, Encryption, KeySource, Keys, ListKey, PgpSettings, PublicKey,
    Undecryptable, Verdict,
};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const LIST: &str = "security@example.org";
const ALICE: &str = "alice@example.net";
const CANARY: &str = "CANARY-7f3a9c-do-not-leak";

/// A GnuPG home of its own (a temporary GNUPGHOME); its agent is stopped on drop.
pub(crate) struct Gpg {
    home: tempfile::TempDir,
}

impl Gpg {
    pub(crate) fn new() -> Gpg {
        let found = Command::new("gpg")
            .arg("--version")
            .output()
            .map(|o| o.status.success());
        assert!(
            found.unwrap_or(false),
            "these tests use real GnuPG as the reporter's client: apt-get install -y gnupg (or run scripts/setup-debian.sh)"
        );
        let home = tempfile::Builder::new().prefix("gpg").tempdir_in("/tmp").unwrap();
        Gpg { home }
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("gpg");
        c.env("GNUPGHOME", self.home.path()).args([
            "--batch",
            "--no-tty",
            "--pinentry-mode",
            "loopback",
            "--trust-model",
            "always",
        ]);
        c
    }

    pub(crate) fn run(&self, args: &[&str], input: &[u8]) -> Output {
        let mut child = self
            .cmd()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let data = input.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&data);
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        out
    }

    pub(crate) fn ok(&self, args: &[&str], input: &[u8]) -> Vec<u8> {
        let out = self.run(args, input);
        assert!(
            out.status.success(),
            "gpg {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// A Curve25519 key (ed25519 primary, cv25519 subkey), as the README recommends.
    pub(crate) fn gen_key(&self, uid: &str, passphrase: &str, expire: &str) -> String {
        self.ok(
            &[
                "--passphrase",
                passphrase,
                "--quick-gen-key",
                uid,
                "future-default",
                "default",
                expire,
            ],
            b"",
        );
        self.fingerprint(uid)
    }

    pub(crate) fn fingerprint(&self, uid: &str) -> String {
        let out = String::from_utf8(self.ok(&["--with-colons", "--list-keys", uid], b"")).unwrap();
        out.lines()
            .find_map(|l| l.strip_prefix("fpr:").map(|r| r.trim_matches(':').to_string()))
            .unwrap()
    }

    pub(crate) fn export(&self, uid: &str) -> Vec<u8> {
        self.ok(&["--armor", "--export", uid], b"")
    }

    pub(crate) fn export_secret(&self, uid: &str, passphrase: &str) -> Vec<u8> {
        self.ok(
            &["--passphrase", passphrase, "--armor", "--export-secret-keys", uid],
            b"",
        )
    }

    pub(crate) fn import(&self, key: &[u8]) {
        self.ok(&["--import"], key);
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.home.path())
            .args(["--kill", "all"])
            .output();
    }
}

/// The list (its gpg home holds its key), Alice the reporter (with the list's public key),
/// and the keys as secintake loads them.
struct World {
    list_gpg: Gpg,
    alice: Gpg,
    list_key: ListKey,
    alice_key: PublicKey,
    list_fpr: String,
    alice_fpr: String,
}

impl World {
    fn new() -> World {
        let list_gpg = Gpg::new();
        let list_fpr = list_gpg.gen_key(&format!("Security Team <{LIST}>"), "", "never");
        let alice = Gpg::new();
        let alice_fpr = alice.gen_key(&format!("Alice <{ALICE}>"), "", "never");
        alice.import(&list_gpg.export(LIST));
        list_gpg.import(&alice.export(ALICE));
        let list_key = ListKey::parse(&list_gpg.export_secret(LIST, ""), "", Utc::now()).unwrap();
        let alice_key = PublicKey::parse(&alice.export(ALICE), Utc::now()).unwrap();
        World {
            list_gpg,
            alice,
            list_key,
            alice_key,
            list_fpr,
            alice_fpr,
        }
    }

    fn open(&self, raw: &[u8], known: &[PublicKey]) -> pgp::Opened {
        open(
            raw,
            &Keys {
                list: &self.list_key,
                known,
                now: Utc::now(),
            },
        )
    }

    fn known(&self) -> Vec<PublicKey> {
        vec![self.alice_key.clone()]
    }
}

/// The report as a MIME entity, the way a mail client writes the part it encrypts.
fn report_entity() -> String {
    format!(
        "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n\
         Hello security team,\r\n\r\nexpress 4.21.1 and 5.0.0 are affected: res.redirect() with a \
         user-controlled URL lets an attacker inject headers ({CANARY}).\r\n\r\nTo reproduce:\r\n\
         1. npm install express@4.21.1\r\n2. curl -i 'http://localhost:3000/r?u=%0d%0aSet-Cookie:x=1'\r\n\r\n\
         Impact: session fixation for any user who follows a link.\r\n"
    )
}

/// A PGP/MIME message (RFC 3156) around an armored OpenPGP message, as Thunderbird sends it.
fn pgp_mime(subject: &str, armored: &[u8]) -> Vec<u8> {
    let mut m = format!(
        "From: Alice <{ALICE}>\r\nTo: {LIST}\r\nSubject: {subject}\r\nMessage-ID: <enc-{}@example.net>\r\n\
         Date: Tue, 01 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\";\r\n boundary=\"------------outer\"\r\n\r\n\
         This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n--------------outer\r\n\
         Content-Type: application/pgp-encrypted\r\nContent-Description: PGP/MIME version identification\r\n\r\n\
         Version: 1\r\n\r\n--------------outer\r\n\
         Content-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\
         Content-Description: OpenPGP encrypted message\r\nContent-Disposition: inline; filename=\"encrypted.asc\"\r\n\r\n",
        subject.len()
    )
    .into_bytes();
    m.extend_from_slice(
        &String::from_utf8_lossy(armored)
            .replace("\r\n", "\n")
            .replace('\n', "\r\n")
            .into_bytes(),
    );
    m.extend_from_slice(b"\r\n--------------outer--\r\n");
    m
}

fn decrypted(o: &pgp::Opened) -> Incoming {
    match &o.content {
        Content::Decrypted { mime, .. } => {
            let m = Incoming::parse(mime);
            assert!(
                !m.text.is_empty(),
                "no text in the decrypted message:\n{}",
                String::from_utf8_lossy(mime)
            );
            m
        }
        other => panic!("not decrypted: {other:?}"),
    }
}

#[test]
fn encrypted_and_signed_by_gpg_is_decrypted_and_the_signature_verified() {
    let w = World::new();
    let armored = w.alice.ok(
        &["--armor", "--sign", "--encrypt", "-r", LIST, "--local-user", ALICE],
        report_entity().as_bytes(),
    );
    let raw = pgp_mime("express: header injection", &armored);
    assert!(!String::from_utf8_lossy(&raw).contains(CANARY));

    let o = w.open(&raw, &w.known());
    assert_eq!(o.encryption, Encryption::PgpMime);
    let sig = o.signature.clone().expect("signed");
    assert_eq!(sig.verdict, Verdict::Valid);
    assert_eq!(sig.signer.as_deref(), Some(w.alice_fpr.as_str()));
    let m = decrypted(&o);
    assert!(m.text.contains(CANARY), "{}", m.text);
    assert!(m.text.contains("curl -i"), "{}", m.text);
    assert_eq!(m.subject, "express: header injection");
    assert_eq!(m.from.as_ref().unwrap().address.as_str(), ALICE);
    assert!(m.message_id.is_some());
    assert!(m.attachments.is_empty(), "{:?}", m.attachments);

    // Not knowing Alice's key: the signature is there, the key unknown.
    let o = w.open(&raw, &[]);
    assert_eq!(o.signature.as_ref().unwrap().verdict, Verdict::UnknownKey);
    assert!(decrypted(&o).text.contains(CANARY));
}

#[test]
fn encrypted_only_and_hidden_recipient() {
    let w = World::new();
    let plain = w
        .alice
        .ok(&["--armor", "--encrypt", "-r", LIST], report_entity().as_bytes());
    let o = w.open(&pgp_mime("report", &plain), &w.known());
    assert_eq!((o.encryption, o.signature.clone()), (Encryption::PgpMime, None));
    assert!(decrypted(&o).text.contains(CANARY));

    // gpg -R: the recipient's key id is not in the message (a "wildcard" key id).
    let hidden = w.alice.ok(
        &["--armor", "--sign", "--encrypt", "-R", LIST],
        report_entity().as_bytes(),
    );
    let listing = String::from_utf8_lossy(&w.alice.run(&["--list-packets"], &hidden).stdout).to_string();
    assert!(
        listing.contains("keyid 0000000000000000"),
        "hidden recipient: {listing}"
    );
    let o = w.open(&pgp_mime("report", &hidden), &w.known());
    assert_eq!(o.signature.as_ref().unwrap().verdict, Verdict::Valid);
    assert!(decrypted(&o).text.contains(CANARY));
}

#[test]
fn protected_headers_give_the_real_subject() {
    let w = World::new();
    // Thunderbird 115: the encrypted entity carries the real headers, the outer subject is "...".
    let inner = format!(
        "Content-Type: multipart/mixed; boundary=\"------------inner\";\r\n protected-headers=\"v1\"\r\n\
         From: Alice <{ALICE}>\r\nTo: {LIST}\r\nMessage-ID: <tb@example.net>\r\n\
         Subject: Prototype pollution in express.query 4.21.1\r\n\r\n\
         This is a multi-part message in MIME format.\r\n--------------inner\r\n\
         Content-Type: text/plain; charset=UTF-8; format=flowed\r\nContent-Transfer-Encoding: 7bit\r\n\r\n\
         express 4.21.1 parses ?__proto__[x]=1 ({CANARY}); reproduce with curl localhost:3000/?__proto__[x]=1\r\n\
         --------------inner\r\nContent-Type: text/plain; charset=UTF-8; name=\"poc.js\"\r\n\
         Content-Disposition: attachment; filename=\"poc.js\"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n\
         require('express')().listen(3000)\r\n--------------inner--\r\n"
    );
    let armored = w
        .alice
        .ok(&["--armor", "--sign", "--encrypt", "-r", LIST], inner.as_bytes());
    let o = w.open(&pgp_mime("...", &armored), &w.known());
    match &o.content {
        Content::Decrypted { protected_subject, .. } => {
            assert_eq!(
                protected_subject.as_deref(),
                Some("Prototype pollution in express.query 4.21.1")
            )
        }
        other => panic!("{other:?}"),
    }
    let m = decrypted(&o);
    assert_eq!(m.subject, "Prototype pollution in express.query 4.21.1");
    assert!(m.text.contains(CANARY));
    assert_eq!(
        m.attachments.len(),
        1,
        "the attachment inside is kept: {:?}",
        m.attachments
    );
    assert_eq!(m.attachments[0].name, "poc.js");
    assert_eq!(
        m.message_id.as_deref(),
        Some("<enc-3@example.net>"),
        "the envelope stays the outer one"
    );
}

#[test]
fn inline_pgp_in_a_text_body_is_decrypted() {
    let w = World::new();
    let report = format!("express 4.21.1 crashes on a long Range header ({CANARY}); curl -H 'Range: bytes=...'\n");
    let armored = w
        .alice
        .ok(&["--armor", "--sign", "--encrypt", "-r", LIST], report.as_bytes());
    let raw = format!(
        "From: {ALICE}\r\nTo: {LIST}\r\nSubject: crash\r\nMessage-ID: <inline@example.net>\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\r\nHi, my report:\r\n\r\n{}\r\nThanks\r\n",
        String::from_utf8_lossy(&armored).replace('\n', "\r\n")
    );
    let o = w.open(raw.as_bytes(), &w.known());
    assert_eq!(o.encryption, Encryption::PgpInline);
    assert_eq!(o.signature.as_ref().unwrap().verdict, Verdict::Valid);
    let m = decrypted(&o);
    assert!(
        m.text.contains(CANARY) && m.text.contains("Hi, my report") && m.text.contains("Thanks"),
        "{}",
        m.text
    );
    assert!(!m.text.contains("BEGIN PGP"), "{}", m.text);
    assert_eq!(m.subject, "crash");

    // Inline in the text part of a multipart message, beside an attachment.
    let raw = format!(
        "From: {ALICE}\r\nTo: {LIST}\r\nSubject: crash\r\nMessage-ID: <inline2@example.net>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n{}\r\n--b\r\n\
         Content-Type: application/octet-stream; name=log.bin\r\nContent-Disposition: attachment; filename=log.bin\r\n\
         Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--b--\r\n",
        String::from_utf8_lossy(&armored).replace('\n', "\r\n")
    );
    let m = decrypted(&w.open(raw.as_bytes(), &w.known()));
    assert!(m.text.contains(CANARY), "{}", m.text);
    assert_eq!(m.attachments.len(), 1, "{:?}", m.attachments);
}

#[test]
fn mail_for_another_key_and_damaged_ciphertext_are_undecryptable() {
    let w = World::new();
    let bob = Gpg::new();
    bob.gen_key("Bob <bob@example.com>", "", "never");
    w.alice.import(&bob.export("bob@example.com"));
    let for_bob = w.alice.ok(
        &["--armor", "--encrypt", "-r", "bob@example.com"],
        report_entity().as_bytes(),
    );
    let o = w.open(&pgp_mime("report", &for_bob), &w.known());
    assert_eq!(o.encryption, Encryption::PgpMime);
    match o.content {
        Content::Undecryptable(Undecryptable::NotForUs { recipients }) => assert_eq!(recipients.len(), 1),
        other => panic!("{other:?}"),
    }
    // Hidden recipient, but someone else's key.
    let hidden = w.alice.ok(
        &["--armor", "--encrypt", "-R", "bob@example.com"],
        report_entity().as_bytes(),
    );
    assert!(matches!(
        w.open(&pgp_mime("report", &hidden), &w.known()).content,
        Content::Undecryptable(Undecryptable::NotForUs { .. })
    ));

    // Damaged: binary ciphertext with bytes flipped in the encrypted data, armored again by gpg.
    let binary = w.alice.ok(
        &["--encrypt", "-r", LIST, "--compress-algo", "none"],
        report_entity().as_bytes(),
    );
    let mut broken = binary.clone();
    let n = broken.len();
    for b in &mut broken[n - 40..n - 30] {
        *b ^= 0x5a;
    }
    let armored = w.alice.ok(&["--enarmor"], &broken);
    let armored = String::from_utf8(armored).unwrap().replace("ARMORED FILE", "MESSAGE");
    let o = w.open(&pgp_mime("report", armored.as_bytes()), &w.known());
    assert!(
        matches!(o.content, Content::Undecryptable(Undecryptable::Damaged(_))),
        "{o:?}"
    );
    // Truncated.
    let armored = w.alice.ok(&["--enarmor"], &binary[..binary.len() / 2]);
    let armored = String::from_utf8(armored).unwrap().replace("ARMORED FILE", "MESSAGE");
    let o = w.open(&pgp_mime("report", armored.as_bytes()), &w.known());
    assert!(
        matches!(o.content, Content::Undecryptable(Undecryptable::Damaged(_))),
        "{o:?}"
    );
}

#[test]
fn signed_only_mail_is_verified_and_left_as_it_is() {
    let w = World::new();
    // RFC 3156 multipart/signed, made with gpg --detach-sign over the CRLF-canonical first part.
    let part = "Content-Type: text/plain; charset=us-ascii\r\n\r\nexpress 4.21.1: open redirect, curl localhost\r\n";
    let sig = w.alice.ok(
        &["--armor", "--detach-sign", "--local-user", ALICE],
        part.trim_end_matches("\r\n").as_bytes(),
    );
    let signed = |part: &str| {
        format!(
            "From: {ALICE}\r\nTo: {LIST}\r\nSubject: signed\r\nMessage-ID: <signed@example.net>\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/signed; micalg=pgp-sha256; protocol=\"application/pgp-signature\"; boundary=s\r\n\r\n\
             --s\r\n{part}--s\r\nContent-Type: application/pgp-signature; name=signature.asc\r\n\r\n{}\r\n--s--\r\n",
            String::from_utf8_lossy(&sig).replace('\n', "\r\n")
        )
    };
    let o = w.open(signed(part).as_bytes(), &w.known());
    assert_eq!(o.encryption, Encryption::None);
    assert_eq!(o.content, Content::Clear);
    assert_eq!(o.signature.clone().unwrap().verdict, Verdict::Valid);
    assert_eq!(
        w.open(signed(part).as_bytes(), &[]).signature.unwrap().verdict,
        Verdict::UnknownKey
    );
    let tampered = part.replace("open redirect", "nothing much");
    assert_eq!(
        w.open(signed(&tampered).as_bytes(), &w.known())
            .signature
            .unwrap()
            .verdict,
        Verdict::Invalid
    );

    // Inline clear-signed.
    let clear = w.alice.ok(
        &["--clearsign", "--local-user", ALICE],
        b"express 4.21.1 crash, curl localhost\n",
    );
    let raw = format!(
        "From: {ALICE}\r\nTo: {LIST}\r\nSubject: clear\r\nMessage-ID: <clear@example.net>\r\n\r\n{}",
        String::from_utf8_lossy(&clear)
    );
    let o = w.open(raw.as_bytes(), &w.known());
    assert_eq!((o.encryption, o.content.clone()), (Encryption::None, Content::Clear));
    assert_eq!(o.signature.as_ref().unwrap().verdict, Verdict::Valid);
    let raw = raw.replace("crash, curl", "crash,  curl");
    assert_eq!(
        w.open(raw.as_bytes(), &w.known()).signature.unwrap().verdict,
        Verdict::Invalid
    );

    // Plain mail: nothing to do.
    let o = w.open(b"From: a@b.c\r\nSubject: hi\r\n\r\nhello\r\n", &w.known());
    assert_eq!(
        (o.encryption, o.signature, o.content),
        (Encryption::None, None, Content::Clear)
    );
}

#[test]
fn reporter_keys_are_learned_from_autocrypt_and_attachments() {
    let w = World::new();
    let binary = w.alice.ok(&["--export", ALICE], b"");
    use base64::Engine as _;
    let data = base64::engine::general_purpose::STANDARD.encode(&binary);
    let folded: Vec<&str> = data
        .as_bytes()
        .chunks(70)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let mail = |addr: &str| {
        format!(
            "From: Alice <{ALICE}>\r\nTo: {LIST}\r\nSubject: hi\r\nAutocrypt: addr={addr}; prefer-encrypt=mutual; keydata=\r\n {}\r\n\r\nbody\r\n",
            folded.join("\r\n ")
        )
    };
    let l = learn(mail(ALICE).as_bytes(), ALICE, Utc::now());
    assert_eq!(l.keys.len(), 1, "{:?}", l.refused);
    assert_eq!(l.keys[0].0.fingerprint(), w.alice_fpr);
    assert_eq!(l.keys[0].1, KeySource::Autocrypt);
    assert!(learn(mail("mallory@example.com").as_bytes(), ALICE, Utc::now())
        .keys
        .is_empty());

    // An attached key whose user id is the sender's.
    let attached = |key: &[u8]| {
        format!(
            "From: Alice <{ALICE}>\r\nTo: {LIST}\r\nSubject: key\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=k\r\n\r\n\
             --k\r\nContent-Type: text/plain\r\n\r\nmy key\r\n--k\r\nContent-Type: application/pgp-keys; name=\"key.asc\"\r\n\
             Content-Disposition: attachment; filename=\"key.asc\"\r\n\r\n{}\r\n--k--\r\n",
            String::from_utf8_lossy(key)
        )
    };
    let l = learn(attached(&w.alice.export(ALICE)).as_bytes(), ALICE, Utc::now());
    assert_eq!(l.keys.len(), 1, "{:?}", l.refused);
    assert_eq!(
        (l.keys[0].0.fingerprint(), l.keys[0].1),
        (w.alice_fpr.as_str(), KeySource::Attachment)
    );
    // Someone else's key attached: refused.
    let l = learn(attached(&w.alice.export(LIST)).as_bytes(), ALICE, Utc::now());
    assert!(l.keys.is_empty() && l.refused.len() == 1, "{:?}", l.refused);
    // A 1 MB "key" is refused without being parsed.
    let huge = format!(
        "-----BEGIN PGP PUBLIC KEY BLOCK-----\r\n\r\n{}\r\n-----END PGP PUBLIC KEY BLOCK-----",
        "mQINBGN".repeat((1 << 20) / 7)
    );
    let start = std::time::Instant::now();
    let l = learn(attached(huge.as_bytes()).as_bytes(), ALICE, Utc::now());
    assert!(l.keys.is_empty());
    assert!(l.refused[0].contains("over the limit"), "{:?}", l.refused);
    eprintln!("1 MB key refused in {:?}", start.elapsed());
}

#[test]
fn sealed_mail_is_decrypted_and_verified_by_gpg_and_leaks_nothing() {
    let w = World::new();
    let entity = format!(
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         Thank you for your report about {CANARY}.\r\nYour case is SEC-2026-0001.\r\n"
    );
    let real_subject = "[SEC-2026-0001] Re: header injection in res.redirect — received";
    let sealed = seal(
        entity.as_bytes(),
        &[("Subject", real_subject), ("From", LIST), ("To", ALICE)],
        &[&w.alice_key],
        &w.list_key,
        Utc::now(),
    )
    .unwrap();
    let mail = format!(
        "From: Security Team <{LIST}>\r\nTo: {ALICE}\r\nSubject: {}\r\nMessage-ID: <r1@example.org>\r\nMIME-Version: 1.0\r\n\
         Autocrypt: {}\r\nContent-Type: {}\r\n\r\n{}",
        pgp::encrypt::outer_subject("SEC-2026-0001"),
        autocrypt_header(LIST, w.list_key.public()),
        sealed.content_type,
        String::from_utf8(sealed.body.clone()).unwrap()
    );
    assert!(!mail.contains(CANARY), "the report text never leaves in the clear");
    assert!(!mail.contains("header injection"), "nor the real subject");
    assert!(mail.contains("Subject: [SEC-2026-0001] ..."));
    assert!(mail.lines().all(|l| l.len() <= 998));

    // gpg reads the armored part of the second body part, as a mail client would.
    let parsed = mail_parser::MessageParser::default().parse(mail.as_bytes()).unwrap();
    let part = parsed
        .parts
        .iter()
        .find(|p| {
            use mail_parser::MimeHeaders;
            p.content_type().and_then(|c| c.subtype()) == Some("octet-stream")
        })
        .expect("application/octet-stream part");
    let out = w.alice.run(&["--status-fd", "2", "--decrypt"], part.contents());
    let status = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{status}");
    assert!(
        status.contains(&format!("[GNUPG:] VALIDSIG {}", w.list_fpr)),
        "signed by the list key: {status}"
    );
    assert!(status.contains("[GNUPG:] GOODSIG"), "{status}");
    assert!(status.contains("[GNUPG:] DECRYPTION_OKAY"), "{status}");
    let clear = String::from_utf8(out.stdout).unwrap();
    assert!(clear.contains(CANARY), "{clear}");
    assert!(
        clear.starts_with("Content-Type: text/plain; charset=utf-8; protected-headers=\"v1\"\r\n"),
        "{clear}"
    );
    assert!(
        clear.contains("\r\nSubject: =?utf-8?b?"),
        "the non-ASCII subject is RFC 2047-encoded: {clear}"
    );
    // The protected subject decodes back to the real one.
    let inner = mail_parser::MessageParser::default().parse(clear.as_bytes()).unwrap();
    assert_eq!(inner.subject(), Some(real_subject));

    // The list can read its own sealed mail too (encrypted to itself).
    let o = w.open(mail.as_bytes(), &[w.list_key.public().clone()]);
    assert_eq!(o.signature.as_ref().unwrap().verdict, Verdict::Valid);
    match o.content {
        Content::Decrypted { protected_subject, .. } => assert_eq!(protected_subject.as_deref(), Some(real_subject)),
        other => panic!("{other:?}"),
    }

    // The Autocrypt header's key data is the list's key, as gpg reads it.
    let header = autocrypt_header(LIST, w.list_key.public());
    assert!(header.starts_with(&format!("addr={LIST}; prefer-encrypt=mutual; keydata=\r\n ")));
    use base64::Engine as _;
    let keydata: String = header.split("keydata=").nth(1).unwrap().split_whitespace().collect();
    let bytes = base64::engine::general_purpose::STANDARD.decode(keydata).unwrap();
    let listing = String::from_utf8(
        w.alice
            .ok(&["--with-colons", "--import-options", "show-only", "--import"], &bytes),
    )
    .unwrap();
    assert!(listing.contains(&format!("fpr:::::::::{}:", w.list_fpr)), "{listing}");
}

#[test]
fn the_list_key_is_loaded_from_the_config_and_bad_keys_are_named() {
    let w = World::new();
    let dir = tempfile::tempdir().unwrap();
    let settings = |file: &str, pass: Option<&str>| PgpSettings {
        secret_key_file: PathBuf::from(file),
        passphrase_file: pass.map(PathBuf::from),
        keyring_dir: Some(PathBuf::from("keys")),
        encrypt_replies: true,
    };
    // A passphrase-protected secret key, its passphrase in a credential file.
    let locked = Gpg::new();
    let fpr = locked.gen_key(&format!("List <{LIST}>"), "correct horse", "never");
    std::fs::write(
        dir.path().join("list-key.asc"),
        locked.export_secret(LIST, "correct horse"),
    )
    .unwrap();
    let creds = tempfile::tempdir().unwrap();
    std::fs::write(creds.path().join("list-key.pass"), "correct horse\n").unwrap();
    std::fs::create_dir(dir.path().join("keys")).unwrap();
    std::fs::write(dir.path().join("keys/alice.asc"), w.alice.export(ALICE)).unwrap();
    std::fs::write(dir.path().join("keys/junk.asc"), "not a key").unwrap();
    let p = settings("list-key.asc", Some("list-key.pass"))
        .load(dir.path(), Some(creds.path()), Utc::now())
        .unwrap();
    assert_eq!(p.list_key.fingerprint(), fpr);
    assert_eq!(p.keyring.keys.len(), 1);
    assert_eq!(p.keyring.keys[0].fingerprint(), w.alice_fpr);
    assert!(p.keyring.problems[0].contains("junk.asc"), "{:?}", p.keyring.problems);

    // Wrong passphrase.
    std::fs::write(creds.path().join("list-key.pass"), "wrong\n").unwrap();
    let e = settings("list-key.asc", Some("list-key.pass")).load(dir.path(), Some(creds.path()), Utc::now());
    let e = e.unwrap_err().to_string();
    assert!(e.contains("list-key.asc") && e.contains("passphrase"), "{e}");

    // A public key only.
    std::fs::write(dir.path().join("public.asc"), w.alice.export(ALICE)).unwrap();
    let e = settings("public.asc", None)
        .load(dir.path(), None, Utc::now())
        .unwrap_err()
        .to_string();
    assert!(e.contains("public.asc") && e.contains("public key only"), "{e}");

    // An expired key (valid for one day; checked two days later).
    let short = Gpg::new();
    short.gen_key(&format!("Old <{LIST}>"), "", "1d");
    std::fs::write(dir.path().join("old.asc"), short.export_secret(LIST, "")).unwrap();
    assert!(settings("old.asc", None).load(dir.path(), None, Utc::now()).is_ok());
    let e = settings("old.asc", None)
        .load(dir.path(), None, Utc::now() + Duration::days(2))
        .unwrap_err()
        .to_string();
    assert!(e.contains("old.asc") && e.contains("expired"), "{e}");
}

/// Peak memory (VmHWM) of a child process that opens a 20 MB encrypted report: this test runs
/// itself as that child (`PGP_BIG_REPORT` set) so the figure is the decryption's alone.
#[test]
fn a_20_mb_encrypted_report_decrypts_in_bounded_memory() {
    if let Ok(dir) = std::env::var("PGP_BIG_REPORT") {
        let dir = Path::new(&dir);
        let key = ListKey::parse(&std::fs::read(dir.join("list.asc")).unwrap(), "", Utc::now()).unwrap();
        let raw = std::fs::read(dir.join("report.eml")).unwrap();
        let o = open(
            &raw,
            &Keys {
                list: &key,
                known: &[],
                now: Utc::now(),
            },
        );
        drop(raw);
        let Content::Decrypted { mime, .. } = &o.content else {
            panic!("{:?}", o.content)
        };
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let hwm = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        println!("DECRYPTED_BYTES={} {}", mime.len(), hwm);
        return;
    }
    let w = World::new();
    let dir = tempfile::tempdir().unwrap();
    // 15 MB of incompressible data, base64 in an attachment: a 20 MB entity, no compression.
    let mut noise = vec![0u8; 15 << 20];
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
        "Content-Type: multipart/mixed; boundary=big\r\n\r\n--big\r\nContent-Type: text/plain\r\n\r\n\
         express 4.21.1 leaks memory ({CANARY}); the heap dump is attached; curl localhost\r\n--big\r\n\
         Content-Type: application/octet-stream; name=heap.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    );
    for line in b64.as_bytes().chunks(76) {
        entity.push_str(std::str::from_utf8(line).unwrap());
        entity.push_str("\r\n");
    }
    entity.push_str("--big--\r\n");
    let armored = w
        .alice
        .ok(&["--armor", "--encrypt", "-z", "0", "-r", LIST], entity.as_bytes());
    let raw = pgp_mime("heap", &armored);
    eprintln!("entity {} MB, mail {} MB", entity.len() >> 20, raw.len() >> 20);
    assert!(entity.len() > 20 << 20);
    std::fs::write(dir.path().join("report.eml"), &raw).unwrap();
    std::fs::write(dir.path().join("list.asc"), w.list_gpg.export_secret(LIST, "")).unwrap();
    drop((noise, b64, raw, armored));

    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "pgp::a_20_mb_encrypted_report_decrypts_in_bounded_memory",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("PGP_BIG_REPORT", dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // (libtest may print "test NAME ... " on the same line before the child's output)
    let line = stdout
        .lines()
        .find_map(|l| l.find("DECRYPTED_BYTES=").map(|i| &l[i + 16..]))
        .expect("child output");
    let bytes: usize = line.split_whitespace().next().unwrap().parse().unwrap();
    let hwm_kb: u64 = line.split_whitespace().nth(2).unwrap().parse().unwrap();
    eprintln!(
        "20 MB encrypted report: decrypted {} MB, peak RSS {} MB",
        bytes >> 20,
        hwm_kb / 1024
    );
    assert!(bytes >= entity.len(), "the whole report was decrypted");
    // The limit of the hostile-mail test (tests/faults.rs): 100 MB.
    assert!(hwm_kb < 100 * 1024, "peak RSS {hwm_kb} kB");
}

/// A config with `[pgp]` for the CLI, in `dir`.
fn config_with_pgp(dir: &Path, key_file: &str) -> PathBuf {
    let p = dir.join("secintake.toml");
    std::fs::write(
        &p,
        format!(
            "[imap]\nhost = \"127.0.0.1\"\nusername = \"security\"\npassword = \"pw\"\n\
             [smtp]\nhost = \"127.0.0.1\"\nfrom = \"Security Team <{LIST}>\"\n\
             [database]\nurl = \"sqlite://{}/db.sqlite\"\n\
             [team]\nlist_address = \"{LIST}\"\nnotify = \"triage@example.org\"\ncoordinators = [\"c@example.org\"]\n\
             [pgp]\nsecret_key_file = \"{key_file}\"\nkeyring_dir = \"keys\"\n",
            dir.display()
        ),
    )
    .unwrap();
    p
}

#[test]
fn check_config_prints_the_fingerprint_and_pgp_key_prints_the_public_key() {
    let w = World::new();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("list-key.asc"), w.list_gpg.export_secret(LIST, "")).unwrap();
    std::fs::create_dir(dir.path().join("keys")).unwrap();
    std::fs::write(dir.path().join("keys/alice.asc"), w.alice.export(ALICE)).unwrap();
    let config = config_with_pgp(dir.path(), "list-key.asc");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_secintake"))
            .arg("--config")
            .arg(&config)
            .args(args)
            .env_remove("CREDENTIALS_DIRECTORY")
            .output()
            .unwrap()
    };
    let out = run(&["check-config"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains(&format!("pgp ok: list key {} (from ", w.list_fpr)) && stdout.contains("1 keyring key(s)"),
        "{stdout}"
    );

    // `pgp-key`: what gpg imports from it is the list key, public part only.
    let out = run(&["pgp-key"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
    let listing = String::from_utf8(w.alice.ok(
        &["--with-colons", "--import-options", "show-only", "--import"],
        &out.stdout,
    ))
    .unwrap();
    assert!(listing.contains(&format!("fpr:::::::::{}:", w.list_fpr)), "{listing}");
    assert!(listing.lines().any(|l| l.starts_with("pub:")) && !listing.lines().any(|l| l.starts_with("sec:")));

    // A public key where the secret key should be: a config error naming the file.
    std::fs::write(dir.path().join("list-key.asc"), w.list_gpg.export(LIST)).unwrap();
    let out = run(&["check-config"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("list-key.asc") && stderr.contains("public key only"),
        "{stderr}"
    );
}

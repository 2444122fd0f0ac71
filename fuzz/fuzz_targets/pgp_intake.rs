//! Junk as received mail for the decrypting intake path: `pgp::open` with a real list key, and
//! key learning. Armored and binary OpenPGP data, truncated packets, huge length fields: none
//! of it may panic, and what it decrypts to stays within the limit.
#![no_main]

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use secintake::pgp::{learn, open, Content, Keys, ListKey, PublicKey, MAX_DECRYPTED};
use std::sync::LazyLock;

/// The list's key (Curve25519, made by gpg for the fuzz seeds), and the reporter's public key.
static LIST_KEY: LazyLock<ListKey> = LazyLock::new(|| {
    ListKey::parse(include_bytes!("../keys/list.sec.asc"), "", now()).expect("list key")
});
static KNOWN: LazyLock<Vec<PublicKey>> =
    LazyLock::new(|| vec![PublicKey::parse(include_bytes!("../keys/alice.pub.asc"), now()).expect("alice")]);

/// A fixed time after the keys were made (2026-12-02; they never expire).
fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 31, 0, 0, 0).unwrap()
}

/// Wrappers that put the fuzz input where the intake looks for OpenPGP data.
fn wrap(kind: u8, data: &[u8]) -> Vec<u8> {
    let head = "From: alice@example.net\r\nTo: security@example.org\r\nSubject: x\r\nMIME-Version: 1.0\r\n";
    let mut m = head.as_bytes().to_vec();
    match kind % 5 {
        0 => m = data.to_vec(),
        1 => {
            m.extend_from_slice(b"Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=b\r\n\r\n--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--b\r\nContent-Type: application/octet-stream\r\n\r\n");
            m.extend_from_slice(data);
            m.extend_from_slice(b"\r\n--b--\r\n");
        }
        2 => {
            m.extend_from_slice(b"Content-Type: text/plain\r\n\r\nhi\r\n-----BEGIN PGP MESSAGE-----\r\n\r\n");
            m.extend_from_slice(data);
            m.extend_from_slice(b"\r\n-----END PGP MESSAGE-----\r\n");
        }
        3 => {
            m.extend_from_slice(b"Content-Type: multipart/signed; protocol=\"application/pgp-signature\"; boundary=s\r\n\r\n--s\r\nContent-Type: text/plain\r\n\r\nsigned\r\n--s\r\nContent-Type: application/pgp-signature\r\n\r\n");
            m.extend_from_slice(data);
            m.extend_from_slice(b"\r\n--s--\r\n");
        }
        _ => {
            m.extend_from_slice(b"Content-Type: multipart/mixed; boundary=k\r\n\r\n--k\r\nContent-Type: application/pgp-keys\r\n\r\n");
            m.extend_from_slice(data);
            m.extend_from_slice(b"\r\n--k--\r\n");
        }
    }
    m
}

fuzz_target!(|input: &[u8]| {
    let Some((&kind, data)) = input.split_first() else {
        return;
    };
    let raw = wrap(kind, data);
    let keys = Keys {
        list: &LIST_KEY,
        known: &KNOWN,
        now: now(),
    };
    let opened = open(&raw, &keys);
    if let Content::Decrypted { mime, .. } = &opened.content {
        assert!(mime.len() <= MAX_DECRYPTED + raw.len() + 64 * 1024, "decrypted past the limit");
    }
    let _ = learn(opened.readable(&raw), "alice@example.net", now());
});

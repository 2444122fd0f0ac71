//! Opening received mail: PGP/MIME and inline PGP decrypted with the list key, signatures judged.
//!
//! [`open`] is pure (no I/O, no clock of its own) and total: any byte string gives an
//! [`Opened`]; junk, damaged data and mail for another key become [`Content::Undecryptable`].

use ::pgp::composed::{
    CleartextSignedMessage, DecryptionOptions, Deserializable, DetachedSignature, Esk, Message, SignedPublicSubKey,
    TheRing,
};
use ::pgp::packet::Signature;
use ::pgp::types::{KeyDetails, Seipdv1ReadMode};
use chrono::{DateTime, Utc};
use mail_parser::{Message as Mail, MessageParser, MessagePart, MimeHeaders, PartType};
use std::io::{Cursor, Read};

use super::keys::{short, ListKey, PublicKey, MAX_KEY_BYTES};

/// Most bytes a message may decrypt (and decompress) to; more is refused as too large.
pub const MAX_DECRYPTED: usize = 40 << 20;
/// Most compression layers unwrapped.
const MAX_LAYERS: usize = 4;

const BEGIN_MESSAGE: &str = "-----BEGIN PGP MESSAGE-----";
const END_MESSAGE: &str = "-----END PGP MESSAGE-----";
const BEGIN_SIGNED: &str = "-----BEGIN PGP SIGNED MESSAGE-----";
const END_SIGNATURE: &str = "-----END PGP SIGNATURE-----";

/// A component of a known key that may have made a signature.
#[derive(Clone, Copy)]
enum Part<'a> {
    Primary(&'a ::pgp::packet::PublicKey),
    Sub(&'a SignedPublicSubKey),
}

/// `$body` with `$k` bound to the concrete key of a [`Part`].
macro_rules! with_key {
    ($part:expr, |$k:ident| $body:expr) => {
        match $part {
            Part::Primary($k) => $body,
            Part::Sub($k) => $body,
        }
    };
}

/// What the list knows: its own key pair, the public keys it trusts for signatures, the time.
#[derive(Debug, Clone, Copy)]
pub struct Keys<'a> {
    pub list: &'a ListKey,
    /// Reporters' and team members' public keys (keyring directory and learned keys).
    pub known: &'a [PublicKey],
    pub now: DateTime<Utc>,
}

/// How a message arrived (case JSON `encryption`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encryption {
    None,
    PgpMime,
    PgpInline,
}

impl Encryption {
    pub fn as_str(self) -> &'static str {
        match self {
            Encryption::None => "none",
            Encryption::PgpMime => "pgp-mime",
            Encryption::PgpInline => "pgp-inline",
        }
    }
}

/// The verdict on an OpenPGP signature (case JSON `signature`; no signature is `null`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Made by a known key, and it verifies.
    Valid,
    /// Claims a known key, and does not verify (altered, or forged).
    Invalid,
    /// Made by a key the list does not know.
    UnknownKey,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Invalid => "invalid",
            Verdict::UnknownKey => "unknown-key",
        }
    }
}

/// A signature found on a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub verdict: Verdict,
    /// Fingerprint of the known key that made a valid or invalid signature.
    pub signer: Option<String>,
}

/// Why an encrypted message could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Undecryptable {
    #[error("it is not encrypted to the list's key (encrypted to {})", recipients.join(", "))]
    NotForUs { recipients: Vec<String> },
    #[error("the encrypted data is damaged or malformed: {0}")]
    Damaged(String),
    #[error("it decrypts to more than {} MiB", MAX_DECRYPTED >> 20)]
    TooLarge,
}

/// The readable content of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// Not encrypted: the received bytes are the content.
    Clear,
    /// Decrypted: a complete message (the outer headers, then the decrypted entity), to be
    /// parsed and analysed in place of the received bytes.
    Decrypted {
        mime: Vec<u8>,
        /// The inner Subject of protected headers (`protected-headers="v1"`), the case subject.
        protected_subject: Option<String>,
    },
    Undecryptable(Undecryptable),
}

/// A received message, opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub encryption: Encryption,
    /// `None`: not signed.
    pub signature: Option<Signed>,
    pub content: Content,
}

impl Opened {
    fn clear() -> Opened {
        Opened {
            encryption: Encryption::None,
            signature: None,
            content: Content::Clear,
        }
    }

    /// The bytes to analyse: the decrypted message, else the received one.
    pub fn readable<'a>(&'a self, raw: &'a [u8]) -> &'a [u8] {
        match &self.content {
            Content::Decrypted { mime, .. } => mime,
            _ => raw,
        }
    }
}

/// Opens a received message: decrypts PGP/MIME (RFC 3156 `multipart/encrypted`) or an inline
/// `BEGIN PGP MESSAGE` block of a text part, and judges signatures (inside the encryption,
/// `multipart/signed`, inline clear-signed) against `keys.known`.
pub fn open(raw: &[u8], keys: &Keys<'_>) -> Opened {
    guarded(|| open_unguarded(raw, keys)).unwrap_or_else(|| Opened {
        encryption: if memfind(raw, BEGIN_MESSAGE.as_bytes()).is_some() {
            Encryption::PgpMime
        } else {
            Encryption::None
        },
        signature: None,
        content: Content::Undecryptable(Undecryptable::Damaged("the OpenPGP parser failed on this data".into())),
    })
}

/// Runs rPGP code; a panic inside it (a bug on hostile input) becomes `None` in production.
/// Fuzzing builds let it through so the fuzzer reports it.
fn guarded<T>(f: impl FnOnce() -> T + std::panic::UnwindSafe) -> Option<T> {
    #[allow(unexpected_cfgs)]
    let fuzzing = cfg!(fuzzing);
    if fuzzing {
        Some(f())
    } else {
        std::panic::catch_unwind(f).ok()
    }
}

fn open_unguarded(raw: &[u8], keys: &Keys<'_>) -> Opened {
    let Some(mail) = MessageParser::default().parse(raw) else {
        return Opened::clear();
    };
    let root = mail.root_part();
    if is_type(root, "multipart", "encrypted") {
        return open_pgp_mime(raw, &mail, keys);
    }
    if is_type(root, "multipart", "signed") {
        return Opened {
            signature: verify_multipart_signed(raw, &mail, 0, keys),
            ..Opened::clear()
        };
    }
    open_inline(raw, &mail, keys)
}

fn open_pgp_mime(raw: &[u8], mail: &Mail<'_>, keys: &Keys<'_>) -> Opened {
    let undecryptable = |u| Opened {
        encryption: Encryption::PgpMime,
        signature: None,
        content: Content::Undecryptable(u),
    };
    let Some(data) = subparts(mail, 0)
        .into_iter()
        .filter_map(|i| mail.part(i))
        .find(|p| is_type(p, "application", "octet-stream"))
        .map(|p| p.contents())
    else {
        return undecryptable(Undecryptable::Damaged(
            "multipart/encrypted without an application/octet-stream part".into(),
        ));
    };
    let plain = match decrypt(data, keys) {
        Ok(p) => p,
        Err(u) => return undecryptable(u),
    };
    let inner = entity(&plain.data);
    let protected_subject = inner.protected_subject.clone();
    // The readable message, built in place over the decrypted data (no second copy of it):
    // outer headers, the entity's kept headers, a blank line, the entity's body.
    let mut head = Vec::with_capacity(4096);
    outer_headers(raw, mail, protected_subject.is_some(), &mut head);
    head.extend_from_slice(&inner.headers);
    head.extend_from_slice(b"\r\n");
    let mut mime = plain.data;
    let body_start = inner.body_start.min(mime.len());
    mime.reserve_exact(head.len());
    mime.splice(0..body_start, head);
    // Sign-then-encrypt (RFC 3156 6.1): the signature is a multipart/signed inside.
    let signature = match plain.signature {
        Some(s) => Some(s),
        None if inner.multipart_signed => MessageParser::default()
            .parse(&mime)
            .and_then(|m| verify_multipart_signed(&mime, &m, 0, keys)),
        None => None,
    };
    Opened {
        encryption: Encryption::PgpMime,
        signature,
        content: Content::Decrypted {
            mime,
            protected_subject,
        },
    }
}

fn open_inline(raw: &[u8], mail: &Mail<'_>, keys: &Keys<'_>) -> Opened {
    for (i, part) in mail.parts.iter().enumerate() {
        let text = match &part.body {
            PartType::Text(t) => t.as_ref(),
            _ => continue,
        };
        if let Some((start, end)) = block(text, BEGIN_MESSAGE, END_MESSAGE) {
            let content = match decrypt(&text.as_bytes()[start..end], keys) {
                Ok(plain) => {
                    let clear = String::from_utf8_lossy(&plain.data);
                    let new_text = format!("{}{}{}", &text[..start], clear, &text[end..]);
                    let mime = replace_text_part(raw, mail, i, &new_text);
                    return Opened {
                        encryption: Encryption::PgpInline,
                        signature: plain.signature,
                        content: Content::Decrypted {
                            mime,
                            protected_subject: None,
                        },
                    };
                }
                Err(u) => Content::Undecryptable(u),
            };
            return Opened {
                encryption: Encryption::PgpInline,
                signature: None,
                content,
            };
        }
        if let Some((start, end)) = block(text, BEGIN_SIGNED, END_SIGNATURE) {
            return Opened {
                signature: verify_clearsigned(&text[start..end], keys),
                ..Opened::clear()
            };
        }
    }
    Opened::clear()
}

/// Decrypted data and the verdict on a signature inside the encryption.
struct Plain {
    data: Vec<u8>,
    signature: Option<Signed>,
}

/// Decrypts an armored or binary OpenPGP message with the list key, reading at most
/// [`MAX_DECRYPTED`] bytes, and verifies a signature inside it.
fn decrypt(data: &[u8], keys: &Keys<'_>) -> Result<Plain, Undecryptable> {
    let damaged = |e: &dyn std::fmt::Display| Undecryptable::Damaged(short(&e));
    let (msg, _) = Message::from_reader(Cursor::new(data)).map_err(|e| damaged(&e))?;
    let recipients = match &msg {
        Message::Encrypted { esk, .. } => recipient_ids(esk),
        _ => return Err(Undecryptable::Damaged("the OpenPGP data is not encrypted".into())),
    };
    let password = keys.list.password();
    let ring = TheRing {
        secret_keys: vec![keys.list.secret()],
        key_passwords: vec![&password],
        // Plaintext may be released before the integrity check: nothing read is used unless
        // the whole message reads without error (the MDC is checked at its end).
        decrypt_options: DecryptionOptions::new().set_seipdv1_read_mode(Seipdv1ReadMode::Streaming),
        ..Default::default()
    };
    let mut msg = match msg.decrypt_the_ring(ring, true).map(|(m, _)| m) {
        Ok(m) => m,
        Err(::pgp::errors::Error::MissingKey) => return Err(Undecryptable::NotForUs { recipients }),
        Err(e) => {
            // With a hidden recipient (`gpg -R`) a wrong key shows as a failed session key.
            return Err(if recipients.iter().all(|r| r != "anonymous") {
                damaged(&e)
            } else {
                Undecryptable::NotForUs { recipients }
            });
        }
    };
    for _ in 0..MAX_LAYERS {
        if !msg.is_compressed() {
            break;
        }
        msg = msg.decompress().map_err(|e| damaged(&e))?;
    }
    // Sized up front from the data (armor is 4/3 of binary, plus slack for the headers the
    // caller puts in front): a doubling Vec would briefly hold the plaintext twice over.
    let mut out = Vec::with_capacity((data.len() / 4 * 3 + 64 * 1024).min(MAX_DECRYPTED + 1));
    (&mut msg)
        .take(MAX_DECRYPTED as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| damaged(&e))?;
    if out.len() > MAX_DECRYPTED {
        return Err(Undecryptable::TooLarge);
    }
    let signature = match &msg {
        Message::Signed { reader, .. } => {
            let sigs: Vec<&Signature> = (0..reader.num_signatures())
                .filter_map(|i| reader.signature(i))
                .collect();
            Some(judge(&sigs, keys, |k| {
                (0..reader.num_signatures()).any(|i| with_key!(k, |k| msg.verify_nested_explicit(i, k).is_ok()))
            }))
        }
        _ => None,
    };
    Ok(Plain { data: out, signature })
}

fn recipient_ids(esk: &[Esk]) -> Vec<String> {
    esk.iter()
        .map(|e| match e {
            Esk::PublicKeyEncryptedSessionKey(p) => match (p.fingerprint(), p.id()) {
                (Ok(Some(fp)), _) => format!("{fp:X}"),
                (_, Ok(id)) if id.is_wildcard() => "anonymous".to_string(),
                (_, Ok(id)) => hex::encode_upper(id.as_ref()),
                _ => "anonymous".to_string(),
            },
            Esk::SymKeyEncryptedSessionKey(_) => "a password".to_string(),
        })
        .collect()
}

/// A verdict: valid when `verifies` holds for a key (or subkey) of a known key; invalid when a
/// signature names a known key but none verifies; else unknown-key.
fn judge(sigs: &[&Signature], keys: &Keys<'_>, verifies: impl Fn(Part<'_>) -> bool) -> Signed {
    let mut claimed = None;
    for known in keys.known {
        let k = known.signed();
        let mut parts = vec![Part::Primary(&k.primary_key)];
        parts.extend(k.public_subkeys.iter().map(Part::Sub));
        if parts.iter().any(|p| verifies(*p)) {
            return Signed {
                verdict: Verdict::Valid,
                signer: Some(known.fingerprint().to_string()),
            };
        }
        if claimed.is_none()
            && sigs
                .iter()
                .any(|s| parts.iter().any(|p| with_key!(*p, |k| names(s, k))))
        {
            claimed = Some(known.fingerprint().to_string());
        }
    }
    Signed {
        verdict: if claimed.is_some() {
            Verdict::Invalid
        } else {
            Verdict::UnknownKey
        },
        signer: claimed,
    }
}

/// The signature says it was made by this key (issuer fingerprint or key id).
fn names(sig: &Signature, key: &impl KeyDetails) -> bool {
    let fp = key.fingerprint();
    let id = key.legacy_key_id();
    sig.issuer_fingerprint().iter().any(|f| **f == fp) || sig.issuer_key_id().iter().any(|i| **i == id)
}

/// Verifies the `multipart/signed` part `index` (RFC 3156 section 5).
fn verify_multipart_signed(raw: &[u8], mail: &Mail<'_>, index: u32, keys: &Keys<'_>) -> Option<Signed> {
    let part = mail.part(index)?;
    let boundary = part.content_type()?.attribute("boundary")?;
    let body = raw.get(part.offset_body as usize..part.offset_end as usize)?;
    let pieces = split_multipart(body, boundary.as_bytes());
    let signed = canonical_crlf(pieces.first()?);
    let sig_part = subparts(mail, index)
        .into_iter()
        .filter_map(|i| mail.part(i))
        .find(|p| is_type(p, "application", "pgp-signature"))?;
    let sig_bytes = sig_part.contents();
    if sig_bytes.len() > MAX_KEY_BYTES {
        return Some(Signed {
            verdict: Verdict::Invalid,
            signer: None,
        });
    }
    let sig = match DetachedSignature::from_reader_single(Cursor::new(sig_bytes)) {
        Ok((s, _)) => s,
        Err(_) => {
            return Some(Signed {
                verdict: Verdict::Invalid,
                signer: None,
            })
        }
    };
    Some(judge(&[&sig.signature], keys, |k| {
        with_key!(k, |k| sig.signature.verify(k, &signed[..]).is_ok())
    }))
}

fn verify_clearsigned(block: &str, keys: &Keys<'_>) -> Option<Signed> {
    let Ok((msg, _)) = CleartextSignedMessage::from_string(block) else {
        return Some(Signed {
            verdict: Verdict::Invalid,
            signer: None,
        });
    };
    let sigs: Vec<&Signature> = msg.signatures().iter().collect();
    Some(judge(&sigs, keys, |k| with_key!(k, |k| msg.verify(k).is_ok())))
}

/// The body parts of a multipart, per RFC 2046: the CRLF before a delimiter belongs to it.
fn split_multipart<'a>(body: &'a [u8], boundary: &[u8]) -> Vec<&'a [u8]> {
    let mut delim = b"--".to_vec();
    delim.extend_from_slice(boundary);
    let mut starts = Vec::new(); // (line start, line end incl. newline)
    let mut pos = 0;
    while pos < body.len() {
        let end = memfind(&body[pos..], b"\n").map(|i| pos + i + 1).unwrap_or(body.len());
        if body[pos..end].starts_with(&delim) {
            starts.push((pos, end));
            if body[pos + delim.len()..end].starts_with(b"--") {
                break;
            }
        }
        pos = end;
    }
    starts
        .windows(2)
        .map(|w| {
            let (from, to) = (w[0].1, w[1].0);
            let mut to = to;
            if to > from && body[to - 1] == b'\n' {
                to -= 1;
                if to > from && body[to - 1] == b'\r' {
                    to -= 1;
                }
            }
            &body[from..to]
        })
        .collect()
}

/// Line endings as CRLF (the canonical form a MIME signature is made over).
fn canonical_crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 32);
    let mut prev = 0u8;
    for &b in data {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    out
}

/// A decrypted MIME entity: its header block (CRLF lines, no blank line) and where its body
/// starts; protected headers read from it.
struct Entity {
    headers: Vec<u8>,
    body_start: usize,
    protected_subject: Option<String>,
    /// The entity is `multipart/signed` (signed, then encrypted).
    multipart_signed: bool,
}

/// Reads the decrypted entity. Of its headers only `Content-*` (and, with protected headers,
/// `Subject`) are kept: the outer headers stay the message's envelope. Data that does not start
/// with a header is a plain-text body.
fn entity(data: &[u8]) -> Entity {
    let looks_like_header = {
        let first = data.split(|b| *b == b'\n').next().unwrap_or(b"");
        let colon = first.iter().position(|b| *b == b':');
        colon.is_some_and(|c| c > 0 && first[..c].iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-'))
    };
    let plain = || Entity {
        headers: b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n".to_vec(),
        body_start: 0,
        protected_subject: None,
        multipart_signed: false,
    };
    if !looks_like_header {
        return plain();
    }
    let Some(m) = MessageParser::default().parse_headers(data) else {
        return plain();
    };
    let root = m.root_part();
    let protected = root
        .content_type()
        .and_then(|c| c.attribute("protected-headers"))
        .is_some_and(|v| v.eq_ignore_ascii_case("v1"));
    let protected_subject = if protected {
        m.subject().map(|s| s.to_string())
    } else {
        None
    };
    let mut headers = Vec::new();
    for h in &root.headers {
        let name = h.name.as_str();
        let keep = name.len() > 8 && name[..8].eq_ignore_ascii_case("content-")
            || (protected_subject.is_some() && name.eq_ignore_ascii_case("subject"));
        if keep {
            if let Some(line) = data.get(h.offset_field as usize..h.offset_end as usize) {
                push_line(&mut headers, line);
            }
        }
    }
    Entity {
        headers,
        body_start: body_start(data),
        protected_subject,
        multipart_signed: is_type(root, "multipart", "signed"),
    }
}

/// Where the body of an entity starts: after the first empty line (or at the end).
fn body_start(data: &[u8]) -> usize {
    let mut pos = 0;
    while pos < data.len() {
        let end = memfind(&data[pos..], b"\n").map(|i| pos + i + 1).unwrap_or(data.len());
        if &data[pos..end] == b"\n" || &data[pos..end] == b"\r\n" {
            return end;
        }
        pos = end;
    }
    data.len()
}

/// The received message's own headers, without its `Content-*` headers (and without `Subject`
/// when the decrypted entity carries the real one).
fn outer_headers(raw: &[u8], mail: &Mail<'_>, drop_subject: bool, out: &mut Vec<u8>) {
    for h in &mail.root_part().headers {
        let name = h.name.as_str();
        let content = name.len() > 8 && name[..8].eq_ignore_ascii_case("content-");
        if content || (drop_subject && name.eq_ignore_ascii_case("subject")) {
            continue;
        }
        if let Some(line) = raw.get(h.offset_field as usize..h.offset_end as usize) {
            push_line(out, line);
        }
    }
}

/// Appends a header line (possibly folded), ending it with CRLF.
fn push_line(out: &mut Vec<u8>, line: &[u8]) {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    out.extend_from_slice(line);
    out.extend_from_slice(b"\r\n");
}

/// The message with text part `index` replaced by `text` (UTF-8, 8bit).
fn replace_text_part(raw: &[u8], mail: &Mail<'_>, index: usize, text: &str) -> Vec<u8> {
    const HEAD: &[u8] = b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n";
    let mut out = Vec::with_capacity(raw.len() + text.len());
    let part = &mail.parts[index];
    if index == 0 {
        outer_headers(raw, mail, false, &mut out);
        out.extend_from_slice(HEAD);
        out.extend_from_slice(text.as_bytes());
        return out;
    }
    let (start, end) = (part.offset_header as usize, part.offset_end as usize);
    out.extend_from_slice(&raw[..start.min(raw.len())]);
    out.extend_from_slice(HEAD);
    out.extend_from_slice(text.as_bytes());
    if !text.ends_with('\n') {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(&raw[end.min(raw.len())..]);
    out
}

fn subparts(mail: &Mail<'_>, index: u32) -> Vec<u32> {
    match mail.part(index).map(|p| &p.body) {
        Some(PartType::Multipart(ids)) => ids.clone(),
        _ => Vec::new(),
    }
}

fn is_type(part: &MessagePart<'_>, typ: &str, sub: &str) -> bool {
    part.content_type().is_some_and(|c| {
        c.ctype().eq_ignore_ascii_case(typ) && c.subtype().is_some_and(|s| s.eq_ignore_ascii_case(sub))
    })
}

/// The byte range of an armored block in `text`, from its BEGIN line to the end of its END line.
fn block(text: &str, begin: &str, end: &str) -> Option<(usize, usize)> {
    let start = text.find(begin)?;
    let stop = text[start..].find(end)? + start + end.len();
    Some((start, stop))
}

fn memfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_bodies_exclude_the_crlf_before_the_delimiter() {
        let body = b"preamble\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\nsig\r\n--b--\r\n";
        let parts = split_multipart(body, b"b");
        assert_eq!(parts, vec![&b"Content-Type: text/plain\r\n\r\nhello"[..], &b"sig"[..]]);
    }

    #[test]
    fn crlf_canonical_form() {
        assert_eq!(canonical_crlf(b"a\nb\r\nc"), b"a\r\nb\r\nc");
    }

    #[test]
    fn armored_block_range() {
        let t = "hi\n-----BEGIN PGP MESSAGE-----\n\nabc\n-----END PGP MESSAGE-----\nbye";
        let (s, e) = block(t, BEGIN_MESSAGE, END_MESSAGE).unwrap();
        assert!(t[s..e].starts_with("-----BEGIN") && t[s..e].ends_with("MESSAGE-----"));
        assert_eq!(&t[e..], "\nbye");
    }

    #[test]
    fn a_plain_entity_gets_text_headers() {
        let e = entity(b"just text\r\nmore\r\n");
        assert_eq!(e.body_start, 0);
        assert!(e.headers.starts_with(b"Content-Type: text/plain"));
        let data =
            b"Content-Type: text/plain; protected-headers=\"v1\"\r\nSubject: Real one\r\nFrom: x@y\r\n\r\nbody\r\n";
        let e = entity(data);
        assert_eq!(e.protected_subject.as_deref(), Some("Real one"));
        assert_eq!(&data[e.body_start..], b"body\r\n");
        let h = String::from_utf8(e.headers.clone()).unwrap();
        assert!(h.contains("Subject: Real one\r\n") && !h.contains("From:"), "{h}");
    }
}

//! Sealing outgoing mail: a MIME entity -> a PGP/MIME (RFC 3156) body, encrypted and signed.

use ::pgp::composed::{ArmorOptions, MessageBuilder};
use ::pgp::crypto::hash::HashAlgorithm;
use ::pgp::crypto::sym::SymmetricKeyAlgorithm;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use rand::RngCore;

use super::keys::{short, ListKey, PublicKey};

/// What [`seal`] produces: the outer `Content-Type` value and the body that goes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// `multipart/encrypted; protocol="application/pgp-encrypted"; boundary="..."`
    pub content_type: String,
    /// CRLF lines, 7-bit.
    pub body: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("no recipient key")]
    NoRecipient,
    #[error("the key {0} has no usable encryption subkey")]
    NoEncryptionKey(String),
    #[error("the list key cannot sign now")]
    NoSigningKey,
    #[error("the entity has no Content-Type header")]
    NoContentType,
    #[error("OpenPGP: {0}")]
    Pgp(String),
}

/// The outer subject of a sealed mail: only the case tag, the real one is inside.
pub fn outer_subject(case_id: &str) -> String {
    format!("[{case_id}] ...")
}

/// Encrypts `entity` (a MIME entity: its `Content-*` headers, a blank line, the body) to every
/// key of `to` and to the list key itself, signed by the list key. `protected` headers (e.g.
/// `Subject`, `From`, `To`, `Message-ID`, `Date`) go inside with `protected-headers="v1"`,
/// as Thunderbird does; values are sent as given after removing line breaks (non-ASCII is
/// RFC 2047-encoded).
pub fn seal(
    entity: &[u8],
    protected: &[(&str, &str)],
    to: &[&PublicKey],
    signer: &ListKey,
    now: DateTime<Utc>,
) -> Result<Sealed, SealError> {
    if to.is_empty() {
        return Err(SealError::NoRecipient);
    }
    let inner = protect(entity, protected)?;
    let mut rng = rand::thread_rng();
    let mut builder = MessageBuilder::from_bytes("", inner).seipd_v1(&mut rng, SymmetricKeyAlgorithm::AES256);
    for key in to.iter().copied().chain(std::iter::once(signer.public())) {
        let sub = key
            .encryption_subkey(now)
            .ok_or_else(|| SealError::NoEncryptionKey(key.fingerprint().to_string()))?;
        builder
            .encrypt_to_key(&mut rng, sub)
            .map_err(|e| SealError::Pgp(short(&e)))?;
    }
    let signing = signer.signing_key(now).ok_or(SealError::NoSigningKey)?;
    builder.sign(signing, signer.password(), HashAlgorithm::Sha256);
    let armored = builder
        .to_armored_string(&mut rng, ArmorOptions::default())
        .map_err(|e| SealError::Pgp(short(&e)))?;

    let mut b = [0u8; 12];
    rng.fill_bytes(&mut b);
    let boundary = format!("----sealed-{}", hex::encode(b));
    let mut body = String::with_capacity(armored.len() + 600);
    body.push_str("This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n");
    body.push_str(&format!("--{boundary}\r\n"));
    body.push_str("Content-Type: application/pgp-encrypted\r\n");
    body.push_str("Content-Description: PGP/MIME version identification\r\n\r\n");
    body.push_str("Version: 1\r\n\r\n");
    body.push_str(&format!("--{boundary}\r\n"));
    body.push_str("Content-Type: application/octet-stream; name=\"encrypted.asc\"\r\n");
    body.push_str("Content-Description: OpenPGP encrypted message\r\n");
    body.push_str("Content-Disposition: inline; filename=\"encrypted.asc\"\r\n\r\n");
    for line in armored.lines() {
        body.push_str(line);
        body.push_str("\r\n");
    }
    body.push_str(&format!("\r\n--{boundary}--\r\n"));
    Ok(Sealed {
        content_type: format!("multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"{boundary}\""),
        body: body.into_bytes(),
    })
}

/// The entity with `protected-headers="v1"` on its Content-Type and the protected headers
/// added after it, CRLF line endings in the header block.
fn protect(entity: &[u8], protected: &[(&str, &str)]) -> Result<Vec<u8>, SealError> {
    let (head, body) = match find(entity, b"\r\n\r\n") {
        Some(i) => (&entity[..i], &entity[i + 4..]),
        None => match find(entity, b"\n\n") {
            Some(i) => (&entity[..i], &entity[i + 2..]),
            None => return Err(SealError::NoContentType),
        },
    };
    let head = String::from_utf8_lossy(head).replace("\r\n", "\n");
    // Unfolded header lines.
    let mut lines: Vec<String> = Vec::new();
    for l in head.split('\n') {
        if (l.starts_with(' ') || l.starts_with('\t')) && !lines.is_empty() {
            let last = lines.len() - 1;
            lines[last].push_str(l);
        } else if !l.is_empty() {
            lines.push(l.to_string());
        }
    }
    let ct = lines
        .iter()
        .position(|l| l.len() > 13 && l[..13].eq_ignore_ascii_case("content-type:"))
        .ok_or(SealError::NoContentType)?;
    lines[ct].push_str("; protected-headers=\"v1\"");
    let mut out = Vec::with_capacity(entity.len() + 512);
    for l in &lines {
        out.extend_from_slice(l.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    for (name, value) in protected {
        let name: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        let value: String = value.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        out.extend_from_slice(format!("{name}: {}\r\n", encode_word(value.trim())).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    Ok(out)
}

/// RFC 2047 `=?utf-8?b?...?=` for non-ASCII text (split into words of at most 45 bytes).
fn encode_word(s: &str) -> String {
    if s.is_ascii() {
        return s.to_string();
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in s.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(chunk);
    }
    words
        .iter()
        .map(|w| format!("=?utf-8?b?{}?=", base64::engine::general_purpose::STANDARD.encode(w)))
        .collect::<Vec<_>>()
        .join("\r\n ")
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protected_headers_go_after_the_content_type() {
        let e = b"Content-Type: text/plain;\n charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nbody\n";
        let out = protect(e, &[("Subject", "[SEC-1] Real\r\nBcc: x")]).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(
            s.starts_with("Content-Type: text/plain; charset=utf-8; protected-headers=\"v1\"\r\n"),
            "{s}"
        );
        assert!(s.contains("\r\nSubject: [SEC-1] Real  Bcc: x\r\n\r\nbody\n"), "{s}");
        assert!(protect(b"X-Other: 1\n\nbody", &[]).is_err());
    }

    #[test]
    fn non_ascii_is_encoded() {
        assert_eq!(encode_word("abc"), "abc");
        assert_eq!(encode_word("é"), "=?utf-8?b?w6k=?=");
    }
}

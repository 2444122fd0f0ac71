//! Reporters' keys from their mail (an `Autocrypt:` header, an attached key), and the list's
//! own `Autocrypt:` header.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use mail_parser::{MessageParser, MimeHeaders};

use super::keys::{PublicKey, MAX_KEY_BYTES};

/// Where a learned key came from (stored with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeySource {
    Autocrypt,
    Attachment,
    Keyring,
}

impl KeySource {
    pub fn as_str(self) -> &'static str {
        match self {
            KeySource::Autocrypt => "autocrypt",
            KeySource::Attachment => "attachment",
            KeySource::Keyring => "keyring",
        }
    }
}

/// The keys a message offered for its sender, and the ones refused (with why).
#[derive(Debug, Default)]
pub struct Learned {
    pub keys: Vec<(PublicKey, KeySource)>,
    /// Short reasons, safe to log (no message text).
    pub refused: Vec<String>,
}

/// Most key attachments looked at in one message.
const MAX_KEY_PARTS: usize = 8;

/// Reads the sender's public keys from `mime` (the readable message: for an encrypted one the
/// decrypted MIME, whose outer headers are the received ones): the `Autocrypt:` header whose
/// `addr` is the sender, and attached `application/pgp-keys` parts with a user id of the sender.
pub fn learn(mime: &[u8], sender: &str, now: DateTime<Utc>) -> Learned {
    let mut out = Learned::default();
    let sender = sender.trim().to_ascii_lowercase();
    // Keys sit in the header and near the text: like the analysis, only the first 4 MiB are
    // parsed (a large attachment before a key hides the key; it is not decoded for nothing).
    let mime = &mime[..mime.len().min(crate::message::MAX_PARSE)];
    let Some(mail) = MessageParser::default().parse(mime) else {
        return out;
    };
    let headers: Vec<&[u8]> = mail
        .root_part()
        .headers
        .iter()
        .filter(|h| h.name.as_str().eq_ignore_ascii_case("autocrypt"))
        .filter_map(|h| mime.get(h.offset_start as usize..h.offset_end as usize))
        .collect();
    let valid: Vec<Vec<u8>> = headers
        .iter()
        .filter_map(|v| parse_header(&String::from_utf8_lossy(v), &sender, &mut out.refused))
        .collect();
    // Autocrypt level 1: more than one usable header for the address means none.
    match valid.as_slice() {
        [one] => match PublicKey::parse(one, now) {
            Ok(k) => out.keys.push((k, KeySource::Autocrypt)),
            Err(e) => out.refused.push(format!("Autocrypt header: {e}")),
        },
        [] => {}
        _ => out.refused.push("more than one Autocrypt header for the sender".into()),
    }
    let key_parts = mail.parts.iter().filter(|p| {
        p.content_type().is_some_and(|c| {
            c.ctype().eq_ignore_ascii_case("application")
                && c.subtype().is_some_and(|s| s.eq_ignore_ascii_case("pgp-keys"))
        })
    });
    for part in key_parts.take(MAX_KEY_PARTS) {
        let bytes = part.contents();
        if bytes.len() > MAX_KEY_BYTES {
            out.refused.push(format!(
                "attached key of {} bytes is over the limit of {MAX_KEY_BYTES} bytes",
                bytes.len()
            ));
            continue;
        }
        for r in PublicKey::parse_many(bytes, now) {
            match r {
                Ok(k) if k.has_address(&sender) => out.keys.push((k, KeySource::Attachment)),
                Ok(k) => out
                    .refused
                    .push(format!("attached key {} has no user id of the sender", k.fingerprint())),
                Err(e) => out.refused.push(format!("attached key: {e}")),
            }
        }
    }
    out
}

/// The key data of an `Autocrypt:` header value for `sender`, or None (with a reason when it
/// was meant for the sender but unusable).
fn parse_header(value: &str, sender: &str, refused: &mut Vec<String>) -> Option<Vec<u8>> {
    let mut addr = None;
    let mut keydata = None;
    for attr in value.split(';') {
        let (name, v) = attr.split_once('=')?;
        let name = name.trim().to_ascii_lowercase();
        match name.as_str() {
            "addr" => addr = Some(v.trim().trim_matches(['<', '>']).to_ascii_lowercase()),
            "keydata" => keydata = Some(v),
            "prefer-encrypt" => {}
            n if n.starts_with('_') => {}
            _ => return None, // an unknown critical attribute: ignore the header
        }
    }
    if addr.as_deref() != Some(sender) {
        return None;
    }
    let data: String = keydata?.chars().filter(|c| !c.is_whitespace()).collect();
    if data.len() > MAX_KEY_BYTES * 4 / 3 + 4 {
        refused.push(format!("Autocrypt key data of {} bytes is over the limit", data.len()));
        return None;
    }
    match base64::engine::general_purpose::STANDARD.decode(data.as_bytes()) {
        Ok(d) => Some(d),
        Err(_) => {
            refused.push("Autocrypt key data is not base64".into());
            None
        }
    }
}

/// The value of the `Autocrypt:` header for the list (`addr=...; keydata=...`), folded into
/// lines of at most 78 characters (`\r\n ` between them), ready to follow `Autocrypt: `.
pub fn autocrypt_header(list_address: &str, key: &PublicKey) -> String {
    let data = base64::engine::general_purpose::STANDARD.encode(key.to_bytes());
    let mut out = format!("addr={}; prefer-encrypt=mutual; keydata=", list_address.trim());
    for chunk in data.as_bytes().chunks(72) {
        out.push_str("\r\n ");
        out.push_str(std::str::from_utf8(chunk).unwrap_or(""));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_attributes() {
        let mut r = Vec::new();
        let v = " addr=alice@example.org; prefer-encrypt=mutual; keydata=\r\n AAEC\r\n Aw==";
        assert_eq!(parse_header(v, "alice@example.org", &mut r), Some(vec![0, 1, 2, 3]));
        assert_eq!(
            parse_header(v, "mallory@example.org", &mut r),
            None,
            "addr must be the sender"
        );
        assert_eq!(
            parse_header("addr=alice@example.org; x=1; keydata=AAEC", "alice@example.org", &mut r),
            None
        );
        assert_eq!(
            parse_header(
                "addr=alice@example.org; _x=1; keydata=AAEC",
                "alice@example.org",
                &mut r
            ),
            Some(vec![0, 1, 2])
        );
        assert!(r.is_empty());
        assert_eq!(
            parse_header("addr=alice@example.org; keydata=!!!", "alice@example.org", &mut r),
            None
        );
        assert_eq!(r.len(), 1);
    }
}

//! Optional direct DKIM verification (`team.verify_dkim`), with the `mail-auth` crate.
//!
//! Off by default: the trusted `Authentication-Results` rule of [`super::results`] is the
//! primary check. When on, a message that rule refuses is still authenticated when one of
//! its DKIM signatures verifies (key fetched from DNS, or preloaded into a [`KeyCache`]) and
//! its `d=` is aligned with the From domain. A signature counts only when it signs the From
//! header and the whole body (no `l=` limit: text appended after a limited body is unsigned,
//! so `/commands` could be added), and the message has exactly one From address (two From
//! headers could show one address to us and have the signature cover another).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::verify::DomainKey;
use mail_auth::{AuthenticatedMessage, DkimResult, MessageAuthenticator, Parameters, ResolverCache, Txt};

use super::results::{aligned, Verdict};

/// DNS TXT answers (DKIM keys) by name, with an expiry: the cache mail-auth consults before
/// asking DNS. Tests (and operators pinning keys) preload records with [`KeyCache::preload`].
#[derive(Default)]
pub struct KeyCache {
    map: Mutex<Entries>,
}

/// Answers by name, with when they expire (None: preloaded, never).
type Entries = HashMap<Box<str>, (Txt, Option<Instant>)>;

impl KeyCache {
    /// Adds the key record `record` (the TXT text, e.g. `v=DKIM1; k=ed25519; p=...`) for
    /// `selector` at `domain`, valid until the process ends.
    pub fn preload(&self, selector: &str, domain: &str, record: &str) -> Result<(), String> {
        let key = DomainKey::parse(record.as_bytes()).map_err(|e| format!("bad DKIM key record: {e}"))?;
        let name = format!("{selector}._domainkey.{}.", domain.trim_end_matches('.')).to_ascii_lowercase();
        self.lock()
            .insert(name.into_boxed_str(), (Txt::DomainKey(key.into()), None));
        Ok(())
    }

    /// Adds a pinned key `NAME RECORD` (`sel._domainkey.example.org v=DKIM1; k=...; p=...`),
    /// as written in `team.dkim_keys`.
    pub fn pin(&self, entry: &str) -> Result<(), String> {
        let (name, record) = parse_pinned(entry)?;
        let (selector, domain) = name.split_once("._domainkey.").expect("checked");
        self.preload(selector, domain, record)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl ResolverCache<Box<str>, Txt> for KeyCache {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut map = self.lock();
        match map.get(name) {
            Some((_, Some(until))) if *until <= Instant::now() => {
                map.remove(name);
                None
            }
            Some((txt, _)) => Some(txt.clone()),
            None => None,
        }
    }

    fn remove<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.lock().remove(name).map(|(t, _)| t)
    }

    fn insert(&self, key: Box<str>, value: Txt, valid_until: Instant) {
        // A bounded cache: DNS answers are kept at most an hour, and at most 10,000 of them.
        let until = valid_until.min(Instant::now() + Duration::from_secs(3600));
        let mut map = self.lock();
        if map.len() >= 10_000 {
            map.retain(|_, (_, u)| u.is_none());
        }
        map.insert(key, (value, Some(until)));
    }
}

/// Splits and checks a `team.dkim_keys` entry: `SELECTOR._domainkey.DOMAIN RECORD`.
pub fn parse_pinned(entry: &str) -> Result<(&str, &str), String> {
    let (name, record) = entry
        .trim()
        .split_once(char::is_whitespace)
        .ok_or_else(|| format!("`{entry}` is not `SELECTOR._domainkey.DOMAIN RECORD`"))?;
    match name.split_once("._domainkey.") {
        Some((s, d)) if !s.is_empty() && !d.is_empty() => {}
        _ => return Err(format!("`{name}` is not a key name like sel._domainkey.example.org")),
    }
    DomainKey::parse(record.trim().as_bytes()).map_err(|e| format!("bad DKIM key record for {name}: {e}"))?;
    Ok((name, record.trim()))
}

/// Verifies the DKIM signatures of `raw` with `auth` (keys from `cache` first, then DNS):
/// authenticated when one good signature is aligned with `from_domain`.
pub async fn verify(auth: &MessageAuthenticator, cache: &KeyCache, raw: &[u8], from_domain: &str) -> Verdict {
    let Some(msg) = AuthenticatedMessage::parse(raw) else {
        return Verdict::Refused("DKIM: the message could not be read".into());
    };
    if msg.from.len() != 1 {
        return Verdict::Refused(format!(
            "DKIM: the message has {} From addresses (exactly one is required)",
            msg.from.len()
        ));
    }
    let parsed_domain = msg.from[0].rsplit('@').next().unwrap_or("");
    if !parsed_domain.eq_ignore_ascii_case(from_domain.trim_end_matches('.')) {
        return Verdict::Refused("DKIM: the From header does not read the same to the verifier".into());
    }
    if msg.dkim_headers.is_empty() {
        return Verdict::Refused("DKIM: no signature".into());
    }
    let outputs = auth.verify_dkim(Parameters::new(&msg).with_txt_cache(cache)).await;
    let mut seen = Vec::new();
    for o in &outputs {
        let Some(sig) = o.signature() else { continue };
        let problem = match o.result() {
            DkimResult::Pass if sig.l != 0 => Some("signs only part of the body (l=)".to_string()),
            DkimResult::Pass if !sig.h.iter().any(|h| h.eq_ignore_ascii_case("from")) => {
                Some("does not sign From".to_string())
            }
            DkimResult::Pass if !aligned(&sig.d, from_domain) => Some(format!("is not aligned with {from_domain}")),
            DkimResult::Pass => None,
            DkimResult::Neutral(e) | DkimResult::Fail(e) | DkimResult::PermError(e) | DkimResult::TempError(e) => {
                Some(format!("failed: {e}"))
            }
            DkimResult::None => Some("none".to_string()),
        };
        match problem {
            None => {
                return Verdict::Authenticated(format!(
                    "dkim signature verified by secintake: d={} s={}",
                    crate::sanitize::header_text(&sig.d),
                    crate::sanitize::header_text(&sig.s)
                ))
            }
            Some(p) => seen.push(format!("d={} {p}", crate::sanitize::header_text(&sig.d))),
        }
    }
    if seen.is_empty() {
        seen.push("no usable signature".into());
    }
    Verdict::Refused(format!("DKIM: {}", seen.join("; ")))
}

/// The process-wide resolver (system DNS configuration) and key cache with the pinned keys,
/// made on first use.
pub(crate) fn shared(pinned: &[String]) -> Result<&'static (MessageAuthenticator, KeyCache), String> {
    static SHARED: OnceLock<Result<(MessageAuthenticator, KeyCache), String>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            let cache = KeyCache::default();
            for p in pinned {
                cache.pin(p)?;
            }
            let auth = MessageAuthenticator::new_system_conf().or_else(|e| {
                // No usable /etc/resolv.conf: pinned keys still work.
                tracing::warn!(error = %e, "no system DNS configuration for DKIM; only pinned keys verify");
                Ok::<_, String>(offline_authenticator())
            })?;
            Ok((auth, cache))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// [`verify`] with the system's DNS resolver and the pinned keys (`team.dkim_keys`),
/// bounded by `limit`.
pub async fn verify_with_dns(raw: &[u8], from_domain: &str, pinned: &[String], limit: Duration) -> Verdict {
    let (auth, cache) = match shared(pinned) {
        Ok(s) => s,
        Err(e) => return Verdict::Refused(format!("DKIM: {e}")),
    };
    tokio::time::timeout(limit, verify(auth, cache, raw, from_domain))
        .await
        .unwrap_or_else(|_| Verdict::Refused(format!("DKIM: no answer from DNS within {limit:?}")))
}

/// A resolver that asks nobody: with it, only preloaded keys verify (tests).
pub fn offline_authenticator() -> MessageAuthenticator {
    use mail_auth::hickory_resolver::config::{ResolverConfig, ResolverOpts};
    MessageAuthenticator::new(ResolverConfig::from_name_servers(vec![]), ResolverOpts::default())
        .expect("a resolver without name servers")
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use mail_auth::common::crypto::Ed25519Key;
    use mail_auth::common::headers::HeaderWriter;
    use mail_auth::dkim::DkimSigner;

    const MESSAGE: &str = "From: Alice <alice@example.test>\r\nTo: security@example.test\r\nSubject: Re: [SEC-2026-0001] report\r\nMessage-ID: <c1@example.test>\r\n\r\n/assign me\r\n/assess\r\n";

    struct Signer {
        pkcs8: Vec<u8>,
        public: String,
    }

    fn keypair() -> Signer {
        let pkcs8 = Ed25519Key::generate_pkcs8().unwrap();
        let key = Ed25519Key::from_pkcs8_der(&pkcs8).unwrap();
        let public = base64::engine::general_purpose::STANDARD.encode(key.public_key());
        Signer { pkcs8, public }
    }

    fn sign(s: &Signer, domain: &str, message: &str, body_length: bool) -> String {
        let key = Ed25519Key::from_pkcs8_der(&s.pkcs8).unwrap();
        let sig = DkimSigner::from_key(key)
            .domain(domain)
            .selector("sel")
            .headers(["From", "To", "Subject", "Message-ID"])
            .body_length(body_length)
            .sign(message.as_bytes())
            .unwrap();
        format!("{}{message}", sig.to_header())
    }

    fn cache_with(s: &Signer, domain: &str) -> KeyCache {
        let c = KeyCache::default();
        c.preload("sel", domain, &format!("v=DKIM1; k=ed25519; p={}", s.public))
            .unwrap();
        c
    }

    async fn judge(cache: &KeyCache, raw: &str) -> Verdict {
        verify(&offline_authenticator(), cache, raw.as_bytes(), "example.test").await
    }

    #[tokio::test]
    async fn a_good_aligned_signature_authenticates() {
        let k = keypair();
        let v = judge(
            &cache_with(&k, "example.test"),
            &sign(&k, "example.test", MESSAGE, false),
        )
        .await;
        assert!(v.is_authenticated(), "{v:?}");
        assert!(v.reason().contains("d=example.test"), "{v:?}");
        // A subdomain signature is aligned (relaxed) with From alice@example.test.
        let v = judge(
            &cache_with(&k, "mail.example.test"),
            &sign(&k, "mail.example.test", MESSAGE, false),
        )
        .await;
        assert!(v.is_authenticated(), "{v:?}");
    }

    #[tokio::test]
    async fn a_tampered_body_is_refused() {
        let k = keypair();
        let signed = sign(&k, "example.test", MESSAGE, false);
        let tampered = signed.replace("/assess", "/invalid forged");
        let v = judge(&cache_with(&k, "example.test"), &tampered).await;
        assert!(!v.is_authenticated(), "{v:?}");
        assert!(v.reason().starts_with("DKIM: d=example.test failed"), "{v:?}");
    }

    #[tokio::test]
    async fn an_unaligned_signing_domain_is_refused() {
        let k = keypair();
        let v = judge(
            &cache_with(&k, "evil.example"),
            &sign(&k, "evil.example", MESSAGE, false),
        )
        .await;
        assert!(!v.is_authenticated(), "{v:?}");
        assert!(v.reason().contains("not aligned"), "{v:?}");
    }

    #[tokio::test]
    async fn a_wrong_key_or_no_key_is_refused() {
        let k = keypair();
        let other = keypair();
        let v = judge(
            &cache_with(&other, "example.test"),
            &sign(&k, "example.test", MESSAGE, false),
        )
        .await;
        assert!(!v.is_authenticated(), "{v:?}");
        // No key preloaded and no DNS: refused, not a hang or a panic.
        let v = judge(&KeyCache::default(), &sign(&k, "example.test", MESSAGE, false)).await;
        assert!(!v.is_authenticated(), "{v:?}");
        let v = judge(&cache_with(&k, "example.test"), MESSAGE).await;
        assert_eq!(v, Verdict::Refused("DKIM: no signature".into()));
    }

    #[tokio::test]
    async fn a_body_length_limit_lets_text_be_appended_so_it_is_refused() {
        let k = keypair();
        let signed = sign(&k, "example.test", MESSAGE, true);
        let appended = format!("{signed}/invalid appended by an attacker\r\n");
        let v = judge(&cache_with(&k, "example.test"), &appended).await;
        // mail-auth's strict parser drops l= signatures (and `verify` refuses any that
        // got through): the message counts as unsigned.
        assert!(!v.is_authenticated(), "{v:?}");
        assert!(
            v.reason().contains("l=") || v.reason().contains("no signature"),
            "{v:?}"
        );
    }

    #[tokio::test]
    async fn pinned_keys_are_checked_and_used() {
        let k = keypair();
        let c = KeyCache::default();
        c.pin(&format!(
            "sel._domainkey.example.test v=DKIM1; k=ed25519; p={}",
            k.public
        ))
        .unwrap();
        let v = judge(&c, &sign(&k, "example.test", MESSAGE, false)).await;
        assert!(v.is_authenticated(), "{v:?}");
        assert!(parse_pinned("sel._domainkey.example.test").is_err());
        assert!(parse_pinned("example.test v=DKIM1; p=AAAA").is_err());
        assert!(parse_pinned("sel._domainkey.example.test v=DKIM1; k=ed25519; p=!!").is_err());
    }

    #[tokio::test]
    async fn a_second_from_header_is_refused() {
        let k = keypair();
        let signed = sign(&k, "example.test", MESSAGE, false);
        let two = format!("From: mallory@example.test\r\n{signed}");
        let v = judge(&cache_with(&k, "example.test"), &two).await;
        assert!(!v.is_authenticated(), "{v:?}");
        assert!(v.reason().contains("2 From addresses"), "{v:?}");
    }
}

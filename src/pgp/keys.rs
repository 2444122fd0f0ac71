//! OpenPGP keys: the list's secret key, reporters' and team members' public keys, bounded parsing.

use ::pgp::composed::{Deserializable, SignedPublicKey, SignedPublicSubKey, SignedSecretKey};
use ::pgp::packet::{Signature, SignatureType};
use ::pgp::ser::Serialize;
use ::pgp::types::{KeyDetails, Password, SigningKey};
use chrono::{DateTime, TimeZone, Utc};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Most bytes of one key (armored or binary) we parse; a bigger one is refused unread.
pub const MAX_KEY_BYTES: usize = 128 << 10;
/// Most keys read from one keyring file.
const MAX_KEYS_PER_FILE: usize = 64;
/// Most `*.asc` files read from the keyring directory.
const MAX_KEYRING_FILES: usize = 10_000;

/// Why a key could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("the key is {size} bytes, over the limit of {MAX_KEY_BYTES} bytes")]
    TooBig { size: usize },
    #[error("not an OpenPGP key: {0}")]
    Unreadable(String),
    #[error("this is a public key only; the list needs its secret key (gpg --export-secret-keys --armor)")]
    PublicOnly,
    #[error("the key's self-signatures do not verify: {0}")]
    BadBinding(String),
    #[error("the key {fingerprint} expired on {at}")]
    Expired { fingerprint: String, at: String },
    #[error("the key {fingerprint} is revoked")]
    Revoked { fingerprint: String },
    #[error("the key {fingerprint} has no usable encryption subkey")]
    NoEncryptionKey { fingerprint: String },
    #[error("the key {fingerprint} has no usable signing key")]
    NoSigningKey { fingerprint: String },
    #[error("the secret key cannot be unlocked (wrong or missing passphrase?): {0}")]
    Locked(String),
}

/// A public key (a reporter's, a team member's, or the list's own), checked on parsing.
#[derive(Debug, Clone)]
pub struct PublicKey {
    key: SignedPublicKey,
    fingerprint: String,
}

impl PublicKey {
    /// Parses one armored or binary public key (the first of a file), checking its size, its
    /// self-signatures and that it can receive encrypted mail at `now`.
    pub fn parse(bytes: &[u8], now: DateTime<Utc>) -> Result<PublicKey, KeyError> {
        if bytes.len() > MAX_KEY_BYTES {
            return Err(KeyError::TooBig { size: bytes.len() });
        }
        let (key, _) =
            SignedPublicKey::from_reader_single(Cursor::new(bytes)).map_err(|e| KeyError::Unreadable(short(&e)))?;
        PublicKey::checked(key, now)
    }

    /// Parses every public key of an armored or binary file (a keyring file may hold several).
    pub fn parse_many(bytes: &[u8], now: DateTime<Utc>) -> Vec<Result<PublicKey, KeyError>> {
        if bytes.len() > MAX_KEY_BYTES * MAX_KEYS_PER_FILE {
            return vec![Err(KeyError::TooBig { size: bytes.len() })];
        }
        match SignedPublicKey::from_reader_many(Cursor::new(bytes)) {
            Ok((keys, _)) => keys
                .take(MAX_KEYS_PER_FILE)
                .map(|k| {
                    k.map_err(|e| KeyError::Unreadable(short(&e)))
                        .and_then(|k| PublicKey::checked(k, now))
                })
                .collect(),
            Err(e) => vec![Err(KeyError::Unreadable(short(&e)))],
        }
    }

    fn checked(key: SignedPublicKey, now: DateTime<Utc>) -> Result<PublicKey, KeyError> {
        key.verify_bindings().map_err(|e| KeyError::BadBinding(short(&e)))?;
        let fingerprint = hex_fingerprint(&key.primary_key);
        let k = PublicKey { key, fingerprint };
        k.usable_at(now)?;
        if k.encryption_subkey(now).is_none() {
            return Err(KeyError::NoEncryptionKey {
                fingerprint: k.fingerprint.clone(),
            });
        }
        Ok(k)
    }

    /// Upper-case hex fingerprint of the primary key.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The lower-cased email addresses of the key's user ids (`Name <addr>` or a bare `addr`).
    pub fn addresses(&self) -> Vec<String> {
        self.key
            .details
            .users
            .iter()
            .filter_map(|u| std::str::from_utf8(u.id.id()).ok())
            .filter_map(uid_address)
            .collect()
    }

    /// One of the key's user ids is this address (compared case-insensitively).
    pub fn has_address(&self, address: &str) -> bool {
        let a = address.trim().to_ascii_lowercase();
        self.addresses().contains(&a)
    }

    /// The key as binary OpenPGP packets (for the database and the Autocrypt header).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.key.to_bytes().unwrap_or_default()
    }

    /// The key ASCII-armored (for `secintake pgp-key`, security.txt and SECURITY.md).
    pub fn armored(&self) -> String {
        self.key.to_armored_string(Default::default()).unwrap_or_default()
    }

    /// Errors when the key as a whole is expired or revoked at `now`.
    pub fn usable_at(&self, now: DateTime<Utc>) -> Result<(), KeyError> {
        if !self.key.details.revocation_signatures.is_empty() {
            return Err(KeyError::Revoked {
                fingerprint: self.fingerprint.clone(),
            });
        }
        let created = self.key.primary_key.created_at().as_secs();
        let self_sigs = self
            .key
            .details
            .users
            .iter()
            .flat_map(|u| u.signatures.iter())
            .chain(self.key.details.direct_signatures.iter());
        if let Some(at) = expiry(created, newest(self_sigs)) {
            if at <= now {
                return Err(KeyError::Expired {
                    fingerprint: self.fingerprint.clone(),
                    at: at.format("%Y-%m-%d").to_string(),
                });
            }
        }
        Ok(())
    }

    /// The subkey to encrypt to: the newest one flagged for encryption, not expired or revoked.
    pub fn encryption_subkey(&self, now: DateTime<Utc>) -> Option<&SignedPublicSubKey> {
        self.key
            .public_subkeys
            .iter()
            .filter(|s| {
                s.key.algorithm().can_encrypt() && subkey_usable(&s.signatures, s.key.created_at().as_secs(), now)
            })
            .filter(|s| {
                newest(s.signatures.iter())
                    .map(|sig| {
                        let f = sig.key_flags();
                        f.encrypt_comms() || f.encrypt_storage()
                    })
                    .unwrap_or(false)
            })
            .max_by_key(|s| s.key.created_at().as_secs())
    }

    /// The underlying rPGP key.
    pub fn signed(&self) -> &SignedPublicKey {
        &self.key
    }
}

/// The list's own key pair: decrypts reports, signs what the list sends.
pub struct ListKey {
    secret: SignedSecretKey,
    passphrase: Zeroizing<String>,
    public: PublicKey,
}

impl std::fmt::Debug for ListKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListKey")
            .field("fingerprint", &self.public.fingerprint)
            .finish_non_exhaustive()
    }
}

impl ListKey {
    /// Parses the armored secret key and checks it: not public-only, not expired or revoked,
    /// has an encryption subkey, and the passphrase unlocks it (a test signature).
    pub fn parse(bytes: &[u8], passphrase: &str, now: DateTime<Utc>) -> Result<ListKey, KeyError> {
        if bytes.len() > MAX_KEY_BYTES {
            return Err(KeyError::TooBig { size: bytes.len() });
        }
        let secret = match SignedSecretKey::from_reader_single(Cursor::new(bytes)) {
            Ok((k, _)) => k,
            Err(e) => {
                return Err(if SignedPublicKey::from_reader_single(Cursor::new(bytes)).is_ok() {
                    KeyError::PublicOnly
                } else {
                    KeyError::Unreadable(short(&e))
                })
            }
        };
        secret.verify_bindings().map_err(|e| KeyError::BadBinding(short(&e)))?;
        let public = PublicKey::checked(secret.to_public_key(), now)?;
        let key = ListKey {
            secret,
            passphrase: Zeroizing::new(passphrase.to_string()),
            public,
        };
        let signer = key.signing_key(now).ok_or_else(|| KeyError::NoSigningKey {
            fingerprint: key.public.fingerprint.clone(),
        })?;
        // A digest of the length the key's hash gives (Ed25519 keys may ask for SHA-512).
        let hash = signer.hash_alg();
        let digest = vec![0u8; hash.digest_size().unwrap_or(32)];
        signer
            .sign(&key.password(), hash, &digest)
            .map_err(|e| KeyError::Locked(short(&e)))?;
        Ok(key)
    }

    pub fn fingerprint(&self) -> &str {
        self.public.fingerprint()
    }

    /// The public half (published in the Autocrypt header and by `secintake pgp-key`).
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    pub(crate) fn secret(&self) -> &SignedSecretKey {
        &self.secret
    }

    pub(crate) fn password(&self) -> Password {
        Password::from(self.passphrase.as_str())
    }

    /// The key that signs: the primary when it may sign, else the newest signing subkey.
    pub(crate) fn signing_key(&self, now: DateTime<Utc>) -> Option<&dyn SigningKey> {
        let primary_may_sign = {
            let sigs = self.secret.details.users.iter().flat_map(|u| u.signatures.iter());
            newest(sigs).map(|s| s.key_flags().sign()).unwrap_or(false)
        };
        if primary_may_sign && self.secret.primary_key.algorithm().can_sign() {
            return Some(&self.secret.primary_key);
        }
        self.secret
            .secret_subkeys
            .iter()
            .filter(|s| s.key.algorithm().can_sign() && subkey_usable(&s.signatures, s.key.created_at().as_secs(), now))
            .filter(|s| {
                newest(s.signatures.iter())
                    .map(|sig| sig.key_flags().sign())
                    .unwrap_or(false)
            })
            .max_by_key(|s| s.key.created_at().as_secs())
            .map(|s| &s.key as &dyn SigningKey)
    }
}

/// Public keys read from the keyring directory, and the files that could not be used.
#[derive(Debug, Default)]
pub struct Keyring {
    pub keys: Vec<PublicKey>,
    /// `file: reason` for every unusable file or key (for a warning; never fatal).
    pub problems: Vec<String>,
}

/// Reads every `*.asc` file of `dir` (reporters' and team members' public keys).
pub fn read_keyring_dir(dir: &Path, now: DateTime<Utc>) -> std::io::Result<Keyring> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("asc")))
        .take(MAX_KEYRING_FILES)
        .collect();
    files.sort();
    let mut ring = Keyring::default();
    for f in files {
        let size = std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
        if size > (MAX_KEY_BYTES * MAX_KEYS_PER_FILE) as u64 {
            ring.problems
                .push(format!("{}: {size} bytes, too big for a keyring file", f.display()));
            continue;
        }
        match std::fs::read(&f) {
            Ok(bytes) => {
                for r in PublicKey::parse_many(&bytes, now) {
                    match r {
                        Ok(k) => ring.keys.push(k),
                        Err(e) => ring.problems.push(format!("{}: {e}", f.display())),
                    }
                }
            }
            Err(e) => ring.problems.push(format!("{}: {e}", f.display())),
        }
    }
    Ok(ring)
}

/// The address in a user id: `Name <addr>` or a bare `addr`.
fn uid_address(uid: &str) -> Option<String> {
    let a = match (uid.rfind('<'), uid.ends_with('>')) {
        (Some(open), true) => &uid[open + 1..uid.len() - 1],
        _ => uid,
    };
    let a = a.trim();
    (a.contains('@') && !a.contains(char::is_whitespace)).then(|| a.to_ascii_lowercase())
}

fn hex_fingerprint(k: &impl KeyDetails) -> String {
    format!("{:X}", k.fingerprint())
}

/// The newest signature (by creation time) of a component.
fn newest<'a>(sigs: impl Iterator<Item = &'a Signature>) -> Option<&'a Signature> {
    sigs.filter(|s| s.created().is_some())
        .max_by_key(|s| s.created().map(|t| t.as_secs()))
}

/// When a component created at `created` (seconds) expires, by its newest self-signature.
fn expiry(created: u32, sig: Option<&Signature>) -> Option<DateTime<Utc>> {
    let secs = sig?.key_expiration_time()?.as_secs();
    if secs == 0 {
        return None;
    }
    Utc.timestamp_opt(i64::from(created) + i64::from(secs), 0).single()
}

fn subkey_usable(sigs: &[Signature], created: u32, now: DateTime<Utc>) -> bool {
    if sigs.iter().any(|s| s.typ() == Some(SignatureType::SubkeyRevocation)) {
        return false;
    }
    let bindings = sigs.iter().filter(|s| s.typ() == Some(SignatureType::SubkeyBinding));
    match expiry(created, newest(bindings)) {
        Some(at) => at > now,
        None => true,
    }
}

/// An rPGP error in one line, never longer than 200 characters.
pub(crate) fn short(e: &impl std::fmt::Display) -> String {
    let s = e.to_string();
    let s = s.lines().next().unwrap_or("").trim();
    s.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_id_addresses() {
        assert_eq!(
            uid_address("Alice <Alice@Example.org>").as_deref(),
            Some("alice@example.org")
        );
        assert_eq!(uid_address("bob@example.net").as_deref(), Some("bob@example.net"));
        assert_eq!(uid_address("Just a name"), None);
    }

    #[test]
    fn big_and_junk_keys_are_refused() {
        let now = Utc::now();
        let big = vec![b'A'; MAX_KEY_BYTES + 1];
        assert_eq!(
            PublicKey::parse(&big, now).unwrap_err(),
            KeyError::TooBig {
                size: MAX_KEY_BYTES + 1
            }
        );
        assert!(matches!(PublicKey::parse(b"hello", now), Err(KeyError::Unreadable(_))));
        assert!(matches!(
            ListKey::parse(b"hello", "", now),
            Err(KeyError::Unreadable(_))
        ));
    }
}

#[cfg(test)]
mod fuzz_keys {
    #[test]
    fn the_fuzz_targets_keys_load() {
        use chrono::TimeZone;
        let now = chrono::Utc.with_ymd_and_hms(2026, 12, 31, 0, 0, 0).unwrap();
        super::ListKey::parse(include_bytes!("../../fuzz/keys/list.sec.asc"), "", now).expect("list key");
        super::PublicKey::parse(include_bytes!("../../fuzz/keys/alice.pub.asc"), now).expect("alice");
    }
}

//! OpenPGP for the security list: decrypt and verify what reporters send, seal what goes back.
//!
//! Everything here is pure (bytes, keys and a time in; values out): reading key files is the
//! caller's job ([`settings`] does it for the config). rPGP (`pgp` crate) does the cryptography.
//!
//! - [`open`]: a received message -> how it was encrypted, the signature verdict, and the
//!   decrypted MIME (or why it could not be decrypted).
//! - [`learn`]: reporters' public keys from an `Autocrypt:` header or an attached key.
//! - [`seal`]: an outgoing MIME entity -> a PGP/MIME encrypted and signed body.
//! - [`autocrypt_header`]: the list's key for the `Autocrypt:` header of every outgoing mail.

pub mod autocrypt;
pub mod decrypt;
pub mod encrypt;
pub mod keys;
pub mod settings;

pub use autocrypt::{autocrypt_header, learn, KeySource, Learned};
pub use decrypt::{open, Content, Encryption, Keys, Opened, Signed, Undecryptable, Verdict, MAX_DECRYPTED};
pub use encrypt::{seal, SealError, Sealed};
pub use keys::{read_keyring_dir, KeyError, Keyring, ListKey, PublicKey, MAX_KEY_BYTES};
pub use settings::{Pgp, PgpSettings, PgpSettingsError};

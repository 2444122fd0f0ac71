//! The `[pgp]` config section, and loading what it names (the list key, the keyring).

use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};

use super::keys::{read_keyring_dir, KeyError, Keyring, ListKey};

/// `[pgp]`: absent means no OpenPGP at all.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PgpSettings {
    /// The armored secret key; relative: `$CREDENTIALS_DIRECTORY`, else the config file's folder.
    pub secret_key_file: PathBuf,
    /// Its passphrase (first line), if it has one; relative like `secret_key_file`.
    #[serde(default)]
    pub passphrase_file: Option<PathBuf>,
    /// `*.asc` public keys of reporters and team members; relative: the config file's folder.
    #[serde(default)]
    pub keyring_dir: Option<PathBuf>,
    /// Send mail to a reporter with a known key encrypted and signed.
    #[serde(default = "yes")]
    pub encrypt_replies: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, thiserror::Error)]
pub enum PgpSettingsError {
    #[error("pgp.secret_key_file {}: cannot read it: {source}", path.display())]
    ReadKey { path: PathBuf, source: std::io::Error },
    #[error("pgp.secret_key_file {}: {source}", path.display())]
    Key { path: PathBuf, source: KeyError },
    #[error("pgp.passphrase_file {}: cannot read it: {source}", path.display())]
    ReadPassphrase { path: PathBuf, source: std::io::Error },
    #[error("pgp.keyring_dir {}: cannot read it: {source}", path.display())]
    ReadKeyring { path: PathBuf, source: std::io::Error },
}

/// OpenPGP, loaded and checked.
#[derive(Debug)]
pub struct Pgp {
    pub list_key: ListKey,
    /// Where the secret key was read from (for `check-config`).
    pub secret_key_path: PathBuf,
    pub keyring: Keyring,
    pub encrypt_replies: bool,
}

impl PgpSettings {
    /// Reads and checks the key files. `config_dir` is the config file's folder;
    /// `credentials_dir` is `$CREDENTIALS_DIRECTORY` when set.
    pub fn load(
        &self,
        config_dir: &Path,
        credentials_dir: Option<&Path>,
        now: DateTime<Utc>,
    ) -> Result<Pgp, PgpSettingsError> {
        let key_path = secret_path(&self.secret_key_file, config_dir, credentials_dir);
        let key_bytes = std::fs::read(&key_path).map_err(|source| PgpSettingsError::ReadKey {
            path: key_path.clone(),
            source,
        })?;
        let passphrase = match &self.passphrase_file {
            Some(f) => {
                let path = secret_path(f, config_dir, credentials_dir);
                let text = std::fs::read_to_string(&path)
                    .map_err(|source| PgpSettingsError::ReadPassphrase { path, source })?;
                zeroize::Zeroizing::new(text.lines().next().unwrap_or("").to_string())
            }
            None => zeroize::Zeroizing::new(String::new()),
        };
        let list_key = ListKey::parse(&key_bytes, &passphrase, now).map_err(|source| PgpSettingsError::Key {
            path: key_path.clone(),
            source,
        })?;
        let keyring = match &self.keyring_dir {
            Some(d) => {
                let dir = if d.is_relative() { config_dir.join(d) } else { d.clone() };
                read_keyring_dir(&dir, now).map_err(|source| PgpSettingsError::ReadKeyring { path: dir, source })?
            }
            None => Keyring::default(),
        };
        Ok(Pgp {
            list_key,
            secret_key_path: key_path,
            keyring,
            encrypt_replies: self.encrypt_replies,
        })
    }
}

/// A secret file's path: absolute as is; relative in the credentials directory when it is
/// there, else beside the config file.
fn secret_path(file: &Path, config_dir: &Path, credentials_dir: Option<&Path>) -> PathBuf {
    if file.is_absolute() {
        return file.to_path_buf();
    }
    match credentials_dir {
        Some(c) if c.join(file).exists() => c.join(file),
        _ => config_dir.join(file),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_unknown_keys() {
        let s = de(r#"{"secret_key_file": "k.asc"}"#);
        assert!(s.encrypt_replies);
        assert_eq!(s.passphrase_file, None);
        assert!(serde_json::from_str::<PgpSettings>(r#"{"secret_key_file": "k", "encrypt": true}"#).is_err());
    }

    fn de(s: &str) -> PgpSettings {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn relative_paths() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("k.asc"), "x").unwrap();
        let cfg = Path::new("/etc/secintake");
        assert_eq!(
            secret_path(Path::new("k.asc"), cfg, Some(d.path())),
            d.path().join("k.asc")
        );
        assert_eq!(
            secret_path(Path::new("other.asc"), cfg, Some(d.path())),
            cfg.join("other.asc")
        );
        assert_eq!(
            secret_path(Path::new("/abs/k"), cfg, Some(d.path())),
            PathBuf::from("/abs/k")
        );
    }

    #[test]
    fn errors_name_the_file() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("pub.asc"), "not a key").unwrap();
        let s: PgpSettings = de(r#"{"secret_key_file": "pub.asc"}"#);
        let e = s.load(d.path(), None, Utc::now()).unwrap_err().to_string();
        assert!(e.contains("pub.asc"), "{e}");
        let s: PgpSettings = de(r#"{"secret_key_file": "missing.asc"}"#);
        let e = s.load(d.path(), None, Utc::now()).unwrap_err().to_string();
        assert!(e.contains("missing.asc") && e.contains("cannot read"), "{e}");
    }
}

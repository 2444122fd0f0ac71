//! Email addresses that can only hold a valid value (parse, don't validate).

use std::fmt;
use std::str::FromStr;

#[derive(Debug, thiserror::Error)]
#[error("`{input}` is not a valid email address")]
pub struct AddressError {
    input: String,
}

/// A valid, lower-cased `local@domain` address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Address(String);

impl Address {
    pub fn parse(s: &str) -> Result<Address, AddressError> {
        let t = s.trim().trim_start_matches('<').trim_end_matches('>');
        let err = || AddressError {
            input: s.chars().take(100).collect(),
        };
        if t.len() > 254 || t.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(err());
        }
        lettre::Address::from_str(t).map_err(|_| err())?;
        Ok(Address(t.to_ascii_lowercase()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map(|(l, _)| l).unwrap_or(&self.0)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A display name (optional) and an address, like `Security Team <security@example.org>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: Address,
}

impl Mailbox {
    pub fn parse(s: &str) -> Result<Mailbox, AddressError> {
        let s = s.trim();
        if let (Some(open), true) = (s.rfind('<'), s.ends_with('>')) {
            let name = s[..open].trim().trim_matches('"').trim();
            let address = Address::parse(&s[open + 1..s.len() - 1])?;
            Ok(Mailbox {
                name: (!name.is_empty()).then(|| name.to_string()),
                address,
            })
        } else {
            Ok(Mailbox {
                name: None,
                address: Address::parse(s)?,
            })
        }
    }

    /// As a lettre mailbox; the display name is cleaned of anything that could break a header.
    pub fn to_lettre(&self) -> lettre::message::Mailbox {
        let addr = lettre::Address::from_str(self.address.as_str()).expect("validated address");
        lettre::message::Mailbox::new(self.name.as_deref().map(crate::sanitize::header_text), addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_lowercases() {
        let a = Address::parse(" <Alice@Example.ORG> ").unwrap();
        assert_eq!(a.as_str(), "alice@example.org");
        assert_eq!(a.domain(), "example.org");
        assert!(Address::parse("no at sign").is_err());
        assert!(Address::parse("a@b.org\r\nBcc: x@y.org").is_err());
    }

    #[test]
    fn mailbox_with_name() {
        let m = Mailbox::parse("Security Team <security@example.org>").unwrap();
        assert_eq!(m.name.as_deref(), Some("Security Team"));
        assert_eq!(m.address.as_str(), "security@example.org");
        let m = Mailbox::parse("security@example.org").unwrap();
        assert_eq!(m.name, None);
    }
}

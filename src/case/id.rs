//! Case identifiers like `SEC-2026-0001`: prefix, year, per-year sequence.

use regex::Regex;
use std::fmt;
use std::sync::LazyLock;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CaseId {
    pub prefix: String,
    pub year: i32,
    pub seq: u32,
}

static ID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^([A-Z]{1,10})-(\d{4})-(\d{4,6})$").unwrap());

impl CaseId {
    pub fn new(prefix: &str, year: i32, seq: u32) -> CaseId {
        CaseId {
            prefix: prefix.to_string(),
            year,
            seq,
        }
    }

    pub fn parse(s: &str) -> Option<CaseId> {
        let c = ID.captures(s.trim())?;
        Some(CaseId {
            prefix: c[1].to_string(),
            year: c[2].parse().ok()?,
            seq: c[3].parse().ok()?,
        })
    }

    /// The subject tag, `[SEC-2026-0001]`.
    pub fn tag(&self) -> String {
        format!("[{self}]")
    }

    /// Every case id tagged in a subject like `Re: [SEC-2026-0001] ...`, first first.
    pub fn find_tags(subject: &str, prefix: &str) -> Vec<CaseId> {
        static TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\[([A-Z]{1,10}-\d{4}-\d{4,6})\]").unwrap());
        TAG.captures_iter(subject)
            .filter_map(|c| CaseId::parse(&c[1]))
            .filter(|id| id.prefix == prefix)
            .collect()
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{:04}", self.prefix, self.year, self.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let id = CaseId::new("SEC", 2026, 7);
        assert_eq!(id.to_string(), "SEC-2026-0007");
        assert_eq!(CaseId::parse("SEC-2026-0007"), Some(id.clone()));
        assert_eq!(id.tag(), "[SEC-2026-0007]");
        assert_eq!(CaseId::parse("SEC-2026-12345").unwrap().seq, 12345);
        assert_eq!(CaseId::parse("sec-2026-0001"), None);
    }

    #[test]
    fn tags_in_subjects() {
        let t = CaseId::find_tags("Re: [SEC-2026-0003] Re: XSS [OTHER-2026-0001]", "SEC");
        assert_eq!(t, vec![CaseId::new("SEC", 2026, 3)]);
    }
}

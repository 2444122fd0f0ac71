//! npm semver ranges (`<4.21.2`, `>=5.0.0 <5.0.1`, `^1.2.3`, `1.0.0 - 1.2.0`, `||`) as intervals, OSV events and GHSA ranges.

use semver::Version;

/// One interval of affected versions: from `introduced` (inclusive; None = every version
/// before) up to `end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interval {
    pub introduced: Option<Version>,
    pub end: End,
}

/// How an interval ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// `<V`: V is the first version that is not affected (OSV `fixed`).
    Fixed(Version),
    /// `<=V` or `=V`: V is the last affected version (OSV `last_affected`).
    LastAffected(Version),
    /// No upper bound: every later version is affected.
    Open,
}

/// A range that is not an npm range this module can translate, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{range}` is not a usable npm semver range: {problem}")]
pub struct RangeError {
    pub range: String,
    pub problem: String,
}

/// Parses a version as npm writes it (`4.21.2`, `v5.0.0-beta.1`).
pub fn version(s: &str) -> Option<Version> {
    let s = s.trim();
    Version::parse(s.strip_prefix('v').unwrap_or(s)).ok()
}

fn bump_major(v: &Version) -> Version {
    Version::new(v.major + 1, 0, 0)
}
fn bump_minor(v: &Version) -> Version {
    Version::new(v.major, v.minor + 1, 0)
}
fn bump_patch(v: &Version) -> Version {
    Version::new(v.major, v.minor, v.patch + 1)
}

/// Lower and upper bound of one comparator set while it is intersected.
#[derive(Default)]
struct Bounds {
    lo: Option<Version>,
    /// (version, inclusive)
    hi: Option<(Version, bool)>,
}

impl Bounds {
    fn at_least(&mut self, v: Version) {
        if self.lo.as_ref().is_none_or(|l| v > *l) {
            self.lo = Some(v);
        }
    }
    fn below(&mut self, v: Version, inclusive: bool) {
        let tighter = match &self.hi {
            None => true,
            Some((h, inc)) => v < *h || (v == *h && *inc && !inclusive),
        };
        if tighter {
            self.hi = Some((v, inclusive));
        }
    }
}

/// The intervals of an npm range, sorted, non-overlapping sets as written (`||` separates sets).
pub fn parse(range: &str) -> Result<Vec<Interval>, RangeError> {
    let fail = |p: &str| RangeError {
        range: range.chars().take(100).collect(),
        problem: p.to_string(),
    };
    let text = range.trim();
    if text.is_empty() {
        return Err(fail("it is empty"));
    }
    if text.len() > 200 {
        return Err(fail("it is longer than 200 characters"));
    }
    let mut out = Vec::new();
    for set in text.split("||") {
        let set = set.trim();
        let mut b = Bounds::default();
        // `A - B` (hyphen range, both ends inclusive).
        let words: Vec<&str> = set.split_whitespace().collect();
        if words.len() == 3 && words[1] == "-" {
            let (a, z) = (
                version(words[0]).ok_or_else(|| fail(&format!("`{}` is not a full version", words[0])))?,
                version(words[2]).ok_or_else(|| fail(&format!("`{}` is not a full version", words[2])))?,
            );
            b.at_least(a);
            b.below(z, true);
        } else {
            // Join an operator written apart from its version (`< 4.21.2`).
            let mut comps: Vec<String> = Vec::new();
            let mut pending: Option<&str> = None;
            for w in words {
                if matches!(w, "<" | "<=" | ">" | ">=" | "=" | "^" | "~") {
                    if pending.is_some() {
                        return Err(fail("two operators in a row"));
                    }
                    pending = Some(w);
                } else {
                    comps.push(format!("{}{w}", pending.take().unwrap_or("")));
                }
            }
            if pending.is_some() {
                return Err(fail("an operator without a version"));
            }
            if comps.is_empty() {
                return Err(fail("an empty alternative between `||`"));
            }
            for c in comps {
                let (op, v) = split_op(&c);
                if op.is_empty() && matches!(v, "*" | "x" | "X") {
                    continue; // every version
                }
                let ver = version(v).ok_or_else(|| {
                    fail(&format!(
                        "`{v}` is not a full version like 4.21.2 (partial versions and x-ranges are not accepted)"
                    ))
                })?;
                match op {
                    ">=" => b.at_least(ver),
                    "<" => b.below(ver, false),
                    "<=" => b.below(ver, true),
                    "" | "=" => {
                        b.at_least(ver.clone());
                        b.below(ver, true);
                    }
                    "^" => {
                        let hi = if ver.major > 0 {
                            bump_major(&ver)
                        } else if ver.minor > 0 {
                            bump_minor(&ver)
                        } else {
                            bump_patch(&ver)
                        };
                        b.at_least(ver);
                        b.below(hi, false);
                    }
                    "~" => {
                        let hi = bump_minor(&ver);
                        b.at_least(ver);
                        b.below(hi, false);
                    }
                    ">" => {
                        return Err(fail(&format!(
                            "`>{ver}` has no exact first affected version; write `>=` with the first affected version"
                        )))
                    }
                    _ => return Err(fail(&format!("unknown operator `{op}`"))),
                }
            }
        }
        if let (Some(lo), Some((hi, inc))) = (&b.lo, &b.hi) {
            if lo > hi || (lo == hi && !inc) {
                return Err(fail("it matches no version (its lower bound is above its upper bound)"));
            }
        }
        out.push(Interval {
            introduced: b.lo,
            end: match b.hi {
                None => End::Open,
                Some((v, true)) => End::LastAffected(v),
                Some((v, false)) => End::Fixed(v),
            },
        });
    }
    sort_and_check(&mut out).map_err(|p| fail(&p))?;
    Ok(out)
}

fn split_op(c: &str) -> (&str, &str) {
    for op in [">=", "<=", "<", ">", "=", "^", "~"] {
        if let Some(rest) = c.strip_prefix(op) {
            return (op, rest);
        }
    }
    ("", c)
}

fn zero() -> Version {
    Version::new(0, 0, 0)
}

/// Sorts intervals by their start and refuses overlapping ones (they cannot be OSV events).
pub fn sort_and_check(v: &mut [Interval]) -> Result<(), String> {
    v.sort_by(|a, b| {
        a.introduced
            .clone()
            .unwrap_or_else(zero)
            .cmp(&b.introduced.clone().unwrap_or_else(zero))
    });
    for w in v.windows(2) {
        let next = w[1].introduced.clone().unwrap_or_else(zero);
        let overlaps = match &w[0].end {
            End::Open => true,
            End::Fixed(f) => next < *f,
            End::LastAffected(l) => next <= *l,
        };
        if overlaps {
            return Err("its alternatives overlap".into());
        }
    }
    Ok(())
}

impl Interval {
    /// The OSV events of this interval (`introduced` first; `0` for "every version before").
    pub fn osv_events(&self) -> Vec<serde_json::Value> {
        let mut ev = vec![serde_json::json!({
            "introduced": self.introduced.as_ref().map(|v| v.to_string()).unwrap_or_else(|| "0".into())
        })];
        match &self.end {
            End::Fixed(v) => ev.push(serde_json::json!({"fixed": v.to_string()})),
            End::LastAffected(v) => ev.push(serde_json::json!({"last_affected": v.to_string()})),
            End::Open => {}
        }
        ev
    }

    /// The range as GitHub advisories write it: `>= 5.0.0, < 5.0.1`, `< 4.21.2`, `= 1.0.0`.
    pub fn ghsa_range(&self) -> String {
        match (&self.introduced, &self.end) {
            (Some(a), End::LastAffected(z)) if a == z => format!("= {a}"),
            _ => {
                let mut parts = Vec::new();
                if let Some(a) = &self.introduced {
                    parts.push(format!(">= {a}"));
                }
                match &self.end {
                    End::Fixed(v) => parts.push(format!("< {v}")),
                    End::LastAffected(v) => parts.push(format!("<= {v}")),
                    End::Open => {}
                }
                if parts.is_empty() {
                    ">= 0".into()
                } else {
                    parts.join(", ")
                }
            }
        }
    }

    /// The version that fixes this interval, when it ends with one.
    pub fn fixed(&self) -> Option<&Version> {
        match &self.end {
            End::Fixed(v) => Some(v),
            _ => None,
        }
    }
}

/// Every interval of several ranges of one package, sorted and checked together.
pub fn merge(ranges: &[&str]) -> Result<Vec<Interval>, RangeError> {
    let mut all = Vec::new();
    for r in ranges {
        all.extend(parse(r)?);
    }
    sort_and_check(&mut all).map_err(|p| RangeError {
        range: ranges.join(" || "),
        problem: p,
    })?;
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn events(r: &str) -> Vec<Vec<serde_json::Value>> {
        parse(r).unwrap().iter().map(Interval::osv_events).collect()
    }

    #[test]
    fn npm_ranges_become_osv_events() {
        assert_eq!(
            events("<4.21.2"),
            vec![vec![json!({"introduced": "0"}), json!({"fixed": "4.21.2"})]]
        );
        assert_eq!(
            events(">=5.0.0 <5.0.1"),
            vec![vec![json!({"introduced": "5.0.0"}), json!({"fixed": "5.0.1"})]]
        );
        assert_eq!(
            events("< 4.21.2 || >=5.0.0-beta.1 <=5.0.0"),
            vec![
                vec![json!({"introduced": "0"}), json!({"fixed": "4.21.2"})],
                vec![json!({"introduced": "5.0.0-beta.1"}), json!({"last_affected": "5.0.0"})],
            ]
        );
        assert_eq!(
            events("^4.17.0"),
            vec![vec![json!({"introduced": "4.17.0"}), json!({"fixed": "5.0.0"})]]
        );
        assert_eq!(
            events("~0.2.1"),
            vec![vec![json!({"introduced": "0.2.1"}), json!({"fixed": "0.3.0"})]]
        );
        assert_eq!(
            events("1.0.0 - 1.2.0"),
            vec![vec![json!({"introduced": "1.0.0"}), json!({"last_affected": "1.2.0"})]]
        );
        assert_eq!(events(">=3.0.0"), vec![vec![json!({"introduced": "3.0.0"})]]);
        assert_eq!(
            events("=v1.2.3"),
            vec![vec![json!({"introduced": "1.2.3"}), json!({"last_affected": "1.2.3"})]]
        );
        // The alternatives come out sorted whatever order they were written in.
        assert_eq!(
            events(">=5.0.0 <5.0.1 || <4.21.2")[0],
            vec![json!({"introduced": "0"}), json!({"fixed": "4.21.2"})]
        );
    }

    #[test]
    fn ghsa_form() {
        let g = |r: &str| parse(r).unwrap().iter().map(Interval::ghsa_range).collect::<Vec<_>>();
        assert_eq!(g("<4.21.2"), vec!["< 4.21.2"]);
        assert_eq!(g(">=5.0.0 <5.0.1"), vec![">= 5.0.0, < 5.0.1"]);
        assert_eq!(g("1.2.3"), vec!["= 1.2.3"]);
        assert_eq!(g("<=4.0.0"), vec!["<= 4.0.0"]);
    }

    #[test]
    fn bad_ranges_are_refused_with_a_reason() {
        for (r, why) in [
            ("", "empty"),
            ("4.x", "not a full version"),
            ("<4.21", "not a full version"),
            (">4.0.0", "no exact first affected version"),
            (">=5.0.1 <5.0.0", "matches no version"),
            ("<5.0.0 || >=4.0.0", "overlap"),
            ("<", "operator without a version"),
            (">=1.0.0,<2.0.0", "not a full version"),
            ("latest", "not a full version"),
            ("<4.0.0 ||", "empty alternative"),
        ] {
            let e = parse(r).unwrap_err();
            assert!(e.problem.contains(why), "{r}: {e}");
        }
        assert!(merge(&["<4.21.2", ">=5.0.0 <5.0.1"]).is_ok());
        assert!(merge(&["<4.21.2", "<4.0.0"]).is_err());
    }
}

//! Pure advisory exports from a case: OSV, CVE (CNA container), GHSA request body, announcement, triage issue, placeholder.

pub mod cve;
pub mod ghsa;
pub mod markdown;
pub mod osv;
pub mod range;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `/affected PACKAGE RANGE`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Affected {
    pub package: String,
    pub range: String,
}

/// `/patched PACKAGE VERSION` (and `/released`)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Patched {
    pub package: String,
    pub version: String,
}

/// The advisory facts coordinators give by mail.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Facts {
    pub packages: Vec<String>,
    pub affected: Vec<Affected>,
    pub patched: Vec<Patched>,
    pub cwes: Vec<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
}

impl Facts {
    /// The affected packages: those named, else the configured default.
    pub fn packages_or(&self, default: Option<&str>) -> Vec<String> {
        let mut v = self.packages.clone();
        for p in self
            .affected
            .iter()
            .map(|a| &a.package)
            .chain(self.patched.iter().map(|p| &p.package))
        {
            if !v.contains(p) {
                v.push(p.clone());
            }
        }
        if v.is_empty() {
            v.extend(default.map(str::to_string));
        }
        v
    }

    pub fn ranges(&self, package: &str) -> Vec<&str> {
        self.affected
            .iter()
            .filter(|a| a.package == package)
            .map(|a| a.range.as_str())
            .collect()
    }

    pub fn patched_versions(&self, package: &str) -> Vec<&str> {
        self.patched
            .iter()
            .filter(|p| p.package == package)
            .map(|p| p.version.as_str())
            .collect()
    }
}

/// The project's side of an advisory (`[advisory]`).
#[derive(Debug, Clone, Default)]
pub struct Project {
    /// OSV ecosystem name (`npm`).
    pub ecosystem: String,
    pub default_package: Option<String>,
    /// `github.com/OWNER/REPO`
    pub repository: Option<String>,
    /// CVE `providerMetadata.orgId`
    pub cna_org_id: Option<String>,
}

impl Project {
    /// `https://github.com/OWNER/REPO`
    pub fn repo_url(&self) -> Option<String> {
        self.repository.as_ref().map(|r| {
            let r = r.trim_end_matches('/');
            if r.starts_with("https://") || r.starts_with("http://") {
                r.to_string()
            } else {
                format!("https://{r}")
            }
        })
    }

    /// The owner part of the repository (the CVE `vendor`).
    pub fn owner(&self) -> Option<String> {
        let r = self.repo_url()?;
        let path = r.split("://").nth(1)?;
        path.split('/').nth(1).filter(|s| !s.is_empty()).map(str::to_string)
    }
}

/// One case as the exports see it (the credit already decided: never an address).
#[derive(Debug, Clone)]
pub struct CaseInput {
    pub id: String,
    pub state: String,
    pub subject: String,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub facts: Facts,
    pub cve: Option<String>,
    pub ghsa: Option<String>,
    pub cvss_vector: Option<String>,
    pub cvss_score: Option<f64>,
    pub severity: Option<String>,
    /// `plan::credit(...)`: None when anonymous or nameless.
    pub credit: Option<String>,
    /// Public issues / pull requests where the report was disclosed early.
    pub public_links: Vec<String>,
    /// The report's own text (the decrypted copy for an encrypted report).
    pub report_text: Option<String>,
}

/// The export formats (also the CLI's `--format` values: `osv`, ..., `triage-issue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Osv,
    Cve,
    Ghsa,
    Announcement,
    TriageIssue,
    Placeholder,
}

impl Format {
    pub const ALL: [Format; 6] = [
        Format::Osv,
        Format::Cve,
        Format::Ghsa,
        Format::Announcement,
        Format::TriageIssue,
        Format::Placeholder,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Osv => "osv",
            Format::Cve => "cve",
            Format::Ghsa => "ghsa",
            Format::Announcement => "announcement",
            Format::TriageIssue => "triage-issue",
            Format::Placeholder => "placeholder",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == s)
    }

    fn is_json(self) -> bool {
        matches!(self, Format::Osv | Format::Cve | Format::Ghsa)
    }
}

/// What a document lacks: one line each, e.g. `no affected range for express`.
pub fn missing(format: Format, c: &CaseInput, p: &Project) -> Vec<String> {
    let mut m = Vec::new();
    let advisory_facts = |m: &mut Vec<String>, need_patched: bool| {
        let packages = c.facts.packages_or(p.default_package.as_deref());
        if packages.is_empty() {
            m.push("no package (send /package NAME, or set advisory.default_package)".to_string());
        }
        for pkg in &packages {
            let ranges = c.facts.ranges(pkg);
            if ranges.is_empty() {
                m.push(format!("no affected range for {pkg}"));
            } else if let Err(e) = range::merge(&ranges) {
                m.push(format!("affected ranges of {pkg}: {e}"));
            }
            if need_patched && c.facts.patched_versions(pkg).is_empty() {
                m.push(format!("no patched version for {pkg}"));
            }
        }
        if c.facts.summary.is_none() {
            m.push("no summary".into());
        }
        if c.facts.description.is_none() {
            m.push("no description".into());
        }
    };
    match format {
        Format::Osv => {
            advisory_facts(&mut m, false);
            if c.ghsa.is_none() && c.cve.is_none() {
                // The OSV schema takes only registered id prefixes (GHSA-, CVE-, ...), not ours.
                m.push("no GHSA or CVE id (an OSV id needs a registered prefix: create the advisory, then send /ghsa GHSA-xxxx-xxxx-xxxx)".into());
            }
            if p.ecosystem.trim().is_empty() {
                m.push("no advisory.ecosystem in the config".into());
            }
        }
        Format::Cve => {
            advisory_facts(&mut m, false);
            if c.cve.is_none() {
                m.push("no CVE id (send /cve CVE-YYYY-NNNN once it is assigned)".into());
            }
            if p.cna_org_id.is_none() {
                m.push("no advisory.cna_org_id in the config".into());
            }
            if p.repository.is_none() {
                m.push("no advisory.repository in the config".into());
            }
        }
        Format::Ghsa => {
            advisory_facts(&mut m, false);
            if c.cvss_vector.is_none() && c.severity.is_none() {
                m.push("no severity or CVSS vector (send /cvss VECTOR or /severity LEVEL)".into());
            }
            if ghsa::ecosystem(&p.ecosystem).is_none() {
                m.push(format!("advisory.ecosystem `{}` has no GitHub ecosystem", p.ecosystem));
            }
        }
        Format::Announcement => {
            advisory_facts(&mut m, true);
            if c.cve.is_none() {
                m.push("no CVE id (send /cve CVE-YYYY-NNNN)".into());
            }
            if c.severity.is_none() {
                m.push("no severity or CVSS vector (send /cvss VECTOR or /severity LEVEL)".into());
            }
        }
        Format::TriageIssue => {
            if c.report_text.as_deref().is_none_or(|t| t.trim().is_empty()) {
                m.push("no report text (an encrypted report not decrypted yet: `secintake case ID decrypt`)".into());
            }
        }
        Format::Placeholder => {
            if c.public_links.is_empty() {
                m.push("no public link (the case is not a premature disclosure; send /public URL)".into());
            }
        }
    }
    m.into_iter().map(|x| format!("{}: {x}", c.id)).collect()
}

/// Renders `format` for `cases`, or says what is missing (every case's lines).
pub fn render(format: Format, cases: &[CaseInput], p: &Project) -> Result<String, Vec<String>> {
    let missing: Vec<String> = cases.iter().flat_map(|c| missing(format, c, p)).collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    if format == Format::Announcement {
        return Ok(markdown::announcement(cases, p));
    }
    if format.is_json() {
        let docs: Vec<serde_json::Value> = cases
            .iter()
            .map(|c| match format {
                Format::Osv => osv::record(c, p),
                Format::Cve => cve::cna_container(c, p),
                _ => ghsa::request_body(c, p),
            })
            .collect();
        let v = if docs.len() == 1 {
            docs.into_iter().next().expect("one")
        } else {
            serde_json::Value::Array(docs)
        };
        return Ok(serde_json::to_string_pretty(&v).expect("json") + "\n");
    }
    let docs: Vec<String> = cases
        .iter()
        .map(|c| match format {
            Format::TriageIssue => markdown::triage_issue(c),
            _ => markdown::placeholder(c),
        })
        .collect();
    Ok(docs.join("\n---\n\n"))
}

/// Intervals of each package, in package order (only call after `missing` found nothing).
pub(crate) fn intervals(c: &CaseInput, p: &Project) -> Vec<(String, Vec<range::Interval>)> {
    c.facts
        .packages_or(p.default_package.as_deref())
        .into_iter()
        .map(|pkg| {
            let iv = range::merge(&c.facts.ranges(&pkg)).unwrap_or_default();
            (pkg, iv)
        })
        .collect()
}

/// RFC 3339 in UTC with a `Z`.
pub(crate) fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The advisory page of a GHSA id in the project's repository.
pub(crate) fn ghsa_url(c: &CaseInput, p: &Project) -> Option<String> {
    let g = c.ghsa.as_ref()?;
    Some(match p.repo_url() {
        Some(r) => format!("{r}/security/advisories/{g}"),
        None => format!("https://github.com/advisories/{g}"),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn project() -> Project {
        Project {
            ecosystem: "npm".into(),
            default_package: Some("express".into()),
            repository: Some("github.com/expressjs/express".into()),
            cna_org_id: Some("00000000-0000-4000-8000-000000000000".into()),
        }
    }

    pub fn case() -> CaseInput {
        let t = DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        CaseInput {
            id: "SEC-2026-0001".into(),
            state: "accepted".into(),
            subject: "XSS in res.redirect".into(),
            opened_at: t,
            updated_at: t,
            facts: Facts {
                packages: vec!["express".into()],
                affected: vec![
                    Affected {
                        package: "express".into(),
                        range: "<4.21.2".into(),
                    },
                    Affected {
                        package: "express".into(),
                        range: ">=5.0.0 <5.0.1".into(),
                    },
                ],
                patched: vec![
                    Patched {
                        package: "express".into(),
                        version: "4.21.2".into(),
                    },
                    Patched {
                        package: "express".into(),
                        version: "5.0.1".into(),
                    },
                ],
                cwes: vec!["CWE-79".into()],
                summary: Some("XSS in res.redirect()".into()),
                description: Some("`res.redirect()` does not escape — **ünïcode**.".into()),
            },
            cve: Some("CVE-2026-1234".into()),
            ghsa: Some("GHSA-9wv6-86v2-598j".into()),
            cvss_vector: Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N".into()),
            cvss_score: Some(5.4),
            severity: Some("medium".into()),
            credit: Some("Jane Doe".into()),
            public_links: vec![],
            report_text: Some("the report".into()),
        }
    }

    #[test]
    fn missing_names_each_gap() {
        let p = project();
        let mut c = case();
        assert!(missing(Format::Osv, &c, &p).is_empty());
        c.facts.affected.clear();
        c.facts.description = None;
        c.cve = None;
        let m = missing(Format::Cve, &c, &p);
        assert!(
            m.contains(&"SEC-2026-0001: no affected range for express".to_string()),
            "{m:?}"
        );
        assert!(m.contains(&"SEC-2026-0001: no description".to_string()), "{m:?}");
        assert!(m.iter().any(|x| x.contains("no CVE id")), "{m:?}");
        assert!(render(Format::Osv, &[c.clone()], &p).is_err());
        assert!(missing(Format::Placeholder, &c, &p)[0].contains("no public link"));
        assert!(missing(Format::TriageIssue, &c, &p).is_empty());
        c.ghsa = None;
        assert!(missing(Format::Osv, &c, &p)
            .iter()
            .any(|x| x.contains("no GHSA or CVE id")));
    }

    #[test]
    fn anonymous_means_no_credit_in_any_format() {
        let p = project();
        let mut c = case();
        c.credit = None;
        c.public_links = vec!["https://github.com/expressjs/express/pull/6000".into()];
        for f in Format::ALL {
            let out = render(f, &[c.clone()], &p).unwrap();
            assert!(!out.contains("Jane"), "{}: {out}", f.as_str());
            if f.is_json() {
                let v: serde_json::Value = serde_json::from_str(&out).unwrap();
                assert!(
                    v.get("credits").is_none_or(|c| c.as_array().unwrap().is_empty()),
                    "{}",
                    f.as_str()
                );
            }
        }
    }
}

//! The OSV record (schema 1.6) of a case.

use serde_json::{json, Value};

use super::{ghsa_url, intervals, utc, CaseInput, Project};

/// The OSV schema version written.
pub const SCHEMA_VERSION: &str = "1.6.0";

/// A package URL for an OSV ecosystem (npm scopes are percent-encoded: `pkg:npm/%40scope/name`).
fn purl(ecosystem: &str, name: &str) -> Option<String> {
    match ecosystem {
        "npm" => Some(format!("pkg:npm/{}", name.replace('@', "%40"))),
        "PyPI" => Some(format!("pkg:pypi/{}", name.to_ascii_lowercase())),
        "crates.io" => Some(format!("pkg:cargo/{name}")),
        _ => None,
    }
}

/// The OSV record: id = the GHSA id if set, else the CVE id (the schema only takes registered
/// prefixes, so never the case id, which goes to `database_specific`); the CVE as an alias.
pub fn record(c: &CaseInput, p: &Project) -> Value {
    let id = c.ghsa.clone().or_else(|| c.cve.clone()).unwrap_or_else(|| c.id.clone());
    let mut aliases: Vec<String> = Vec::new();
    aliases.extend(c.cve.clone().filter(|cve| *cve != id));
    let affected: Vec<Value> = intervals(c, p)
        .into_iter()
        .map(|(pkg, iv)| {
            let mut package = json!({"ecosystem": p.ecosystem, "name": pkg});
            if let Some(u) = purl(&p.ecosystem, &pkg) {
                package["purl"] = json!(u);
            }
            let ranges: Vec<Value> = iv
                .iter()
                .map(|i| json!({"type": "SEMVER", "events": i.osv_events()}))
                .collect();
            json!({"package": package, "ranges": ranges})
        })
        .collect();
    let mut references = Vec::new();
    if let Some(u) = ghsa_url(c, p) {
        references.push(json!({"type": "ADVISORY", "url": u}));
    }
    if let Some(cve) = &c.cve {
        references.push(json!({"type": "ADVISORY", "url": format!("https://www.cve.org/CVERecord?id={cve}")}));
    }
    if let Some(r) = p.repo_url() {
        references.push(json!({"type": "PACKAGE", "url": r}));
    }
    let mut doc = json!({
        "schema_version": SCHEMA_VERSION,
        "id": id,
        "modified": utc(c.updated_at),
        "summary": c.facts.summary,
        "details": c.facts.description,
        "affected": affected,
        "database_specific": {
            "secintake_case": c.id,
            "cwe_ids": c.facts.cwes,
            "severity": c.severity.as_deref().map(str::to_ascii_uppercase),
        },
    });
    if !aliases.is_empty() {
        doc["aliases"] = json!(aliases);
    }
    if let Some(v) = &c.cvss_vector {
        let kind = if v.starts_with("CVSS:4.0/") {
            "CVSS_V4"
        } else {
            "CVSS_V3"
        };
        doc["severity"] = json!([{"type": kind, "score": v}]);
    }
    if !references.is_empty() {
        doc["references"] = json!(references);
    }
    if let Some(name) = &c.credit {
        doc["credits"] = json!([{"name": name, "type": "FINDER"}]);
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::super::tests::{case, project};
    use super::*;

    #[test]
    fn osv_record_fields() {
        let mut c = case();
        let r = record(&c, &project());
        assert_eq!(r["id"], "GHSA-9wv6-86v2-598j");
        assert_eq!(r["aliases"], json!(["CVE-2026-1234"]));
        assert_eq!(r["affected"][0]["package"]["purl"], "pkg:npm/express");
        assert_eq!(r["affected"][0]["ranges"].as_array().unwrap().len(), 2);
        assert_eq!(r["severity"][0]["type"], "CVSS_V3");
        assert_eq!(r["credits"][0]["name"], "Jane Doe");
        c.ghsa = None;
        assert_eq!(record(&c, &project())["id"], "CVE-2026-1234", "no GHSA: the CVE");
        assert!(record(&c, &project()).get("aliases").is_none());
        c.ghsa = Some("GHSA-9wv6-86v2-598j".into());
        c.cve = None;
        c.credit = None;
        c.cvss_vector = Some("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N".into());
        let r = record(&c, &project());
        assert_eq!(r["database_specific"]["secintake_case"], "SEC-2026-0001");
        assert!(r.get("aliases").is_none() && r.get("credits").is_none());
        assert_eq!(r["severity"][0]["type"], "CVSS_V4");
        assert_eq!(purl("npm", "@scope/pkg").unwrap(), "pkg:npm/%40scope/pkg");
    }
}

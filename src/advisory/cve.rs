//! The CNA container of a CVE JSON 5.1 record (what `cve publish --json` of cvelib takes).

use serde_json::{json, Value};

use super::range::End;
use super::{ghsa_url, intervals, CaseInput, Project};

/// The base severity word CVSS gives a score (the same bands for 3.x and 4.0).
pub fn base_severity(score: f64) -> &'static str {
    if score == 0.0 {
        "NONE"
    } else if score < 4.0 {
        "LOW"
    } else if score < 7.0 {
        "MEDIUM"
    } else if score < 9.0 {
        "HIGH"
    } else {
        "CRITICAL"
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

/// Collection URL of a package registry, by OSV ecosystem.
fn collection_url(ecosystem: &str) -> Option<&'static str> {
    match ecosystem {
        "npm" => Some("https://www.npmjs.com"),
        "PyPI" => Some("https://pypi.org"),
        "crates.io" => Some("https://crates.io"),
        _ => None,
    }
}

/// The CNA container (`containers.cna`).
pub fn cna_container(c: &CaseInput, p: &Project) -> Value {
    let description = c.facts.description.clone().unwrap_or_default();
    let affected: Vec<Value> = intervals(c, p)
        .into_iter()
        .map(|(pkg, iv)| {
            let versions: Vec<Value> = iv
                .iter()
                .map(|i| {
                    let from = i
                        .introduced
                        .as_ref()
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| "0".into());
                    let mut v = json!({"version": from, "status": "affected", "versionType": "semver"});
                    match &i.end {
                        End::Fixed(f) => v["lessThan"] = json!(f.to_string()),
                        End::LastAffected(l) => v["lessThanOrEqual"] = json!(l.to_string()),
                        End::Open => v["lessThan"] = json!("*"),
                    }
                    v
                })
                .collect();
            let mut a = json!({
                "vendor": p.owner().unwrap_or_else(|| "n/a".into()),
                "product": pkg,
                "packageName": pkg,
                "defaultStatus": "unaffected",
                "versions": versions,
            });
            if let Some(u) = collection_url(&p.ecosystem) {
                a["collectionURL"] = json!(u);
            }
            if let Some(r) = p.repo_url() {
                a["repo"] = json!(r);
            }
            a
        })
        .collect();
    let mut references = Vec::new();
    if let Some(u) = ghsa_url(c, p) {
        references.push(json!({"url": u, "tags": ["vendor-advisory"]}));
    }
    if let Some(r) = p.repo_url() {
        references.push(json!({"url": r, "tags": ["product"]}));
    }
    let mut doc = json!({
        "providerMetadata": {"orgId": p.cna_org_id},
        "title": c.facts.summary.as_deref().map(|s| truncate(s, 256)),
        "descriptions": [{
            "lang": "en",
            "value": truncate(&description, 4000),
            "supportingMedia": [{"type": "text/markdown", "base64": false, "value": truncate(&description, 16000)}],
        }],
        "affected": affected,
        "references": references,
    });
    if !c.facts.cwes.is_empty() {
        let d: Vec<Value> = c
            .facts
            .cwes
            .iter()
            .map(|w| json!({"lang": "en", "type": "CWE", "cweId": w, "description": w}))
            .collect();
        doc["problemTypes"] = json!([{"descriptions": d}]);
    }
    if let (Some(v), Some(score)) = (&c.cvss_vector, c.cvss_score) {
        let (key, version) = if v.starts_with("CVSS:4.0/") {
            ("cvssV4_0", "4.0")
        } else if v.starts_with("CVSS:3.0/") {
            ("cvssV3_0", "3.0")
        } else {
            ("cvssV3_1", "3.1")
        };
        doc["metrics"] = json!([{
            "format": "CVSS",
            "scenarios": [{"lang": "en", "value": "GENERAL"}],
            key: {"version": version, "vectorString": v, "baseScore": score, "baseSeverity": base_severity(score)},
        }]);
    }
    if let Some(name) = &c.credit {
        doc["credits"] = json!([{"lang": "en", "value": name, "type": "finder"}]);
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::super::tests::{case, project};
    use super::*;

    #[test]
    fn cna_container_fields() {
        let c = case();
        let d = cna_container(&c, &project());
        assert_eq!(d["providerMetadata"]["orgId"], "00000000-0000-4000-8000-000000000000");
        assert_eq!(d["affected"][0]["vendor"], "expressjs");
        assert_eq!(
            d["affected"][0]["versions"][0],
            json!({"version": "0", "lessThan": "4.21.2", "status": "affected", "versionType": "semver"})
        );
        assert_eq!(d["problemTypes"][0]["descriptions"][0]["cweId"], "CWE-79");
        assert_eq!(d["metrics"][0]["cvssV3_1"]["baseSeverity"], "MEDIUM");
        assert_eq!(d["credits"][0]["value"], "Jane Doe");
    }
}

//! The request body of GitHub's "create a repository security advisory" REST call.

use serde_json::{json, Value};

use super::{intervals, CaseInput, Project};

/// GitHub's ecosystem name for an OSV ecosystem.
pub fn ecosystem(osv: &str) -> Option<&'static str> {
    Some(match osv {
        "npm" => "npm",
        "PyPI" => "pip",
        "crates.io" => "rust",
        "Go" => "go",
        "Maven" => "maven",
        "NuGet" => "nuget",
        "RubyGems" => "rubygems",
        "Packagist" => "composer",
        "Pub" => "pub",
        "Hex" => "erlang",
        "SwiftURL" => "swift",
        _ => return None,
    })
}

/// A credit GitHub can take: only a GitHub login written `@login` (GitHub credits are
/// logins, never free names).
fn github_login(credit: &str) -> Option<&str> {
    let l = credit.trim().strip_prefix('@')?;
    let ok = !l.is_empty()
        && l.len() <= 39
        && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !l.starts_with('-');
    ok.then_some(l)
}

/// The body for `gh api repos/OWNER/REPO/security-advisories --input -`. GitHub takes either
/// `severity` or `cvss_vector_string`, never both: the vector when there is one.
pub fn request_body(c: &CaseInput, p: &Project) -> Value {
    let eco = ecosystem(&p.ecosystem).unwrap_or("other");
    let mut vulnerabilities = Vec::new();
    for (pkg, iv) in intervals(c, p) {
        for i in &iv {
            let patched = i.fixed().map(|v| v.to_string());
            vulnerabilities.push(json!({
                "package": {"ecosystem": eco, "name": pkg},
                "vulnerable_version_range": i.ghsa_range(),
                "patched_versions": patched,
                "vulnerable_functions": [],
            }));
        }
    }
    let mut body = json!({
        "summary": c.facts.summary,
        "description": c.facts.description,
        "cve_id": c.cve,
        "vulnerabilities": vulnerabilities,
        "cwe_ids": c.facts.cwes,
    });
    match (&c.cvss_vector, &c.severity) {
        (Some(v), _) => body["cvss_vector_string"] = json!(v),
        (None, Some(s)) => body["severity"] = json!(s),
        (None, None) => {}
    }
    if let Some(login) = c.credit.as_deref().and_then(github_login) {
        body["credits"] = json!([{"login": login, "type": "finder"}]);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::super::tests::{case, project};
    use super::*;

    #[test]
    fn ghsa_body_fields() {
        let mut c = case();
        let b = request_body(&c, &project());
        assert_eq!(b["vulnerabilities"][0]["vulnerable_version_range"], "< 4.21.2");
        assert_eq!(b["vulnerabilities"][1]["vulnerable_version_range"], ">= 5.0.0, < 5.0.1");
        assert_eq!(b["vulnerabilities"][1]["patched_versions"], "5.0.1");
        assert!(b.get("severity").is_none() && b["cvss_vector_string"].is_string());
        assert!(b.get("credits").is_none(), "a free name is no GitHub login");
        c.credit = Some("@jane-doe".into());
        c.cve = None;
        c.cvss_vector = None;
        let b = request_body(&c, &project());
        assert_eq!(b["credits"][0]["login"], "jane-doe");
        assert_eq!(b["cve_id"], Value::Null);
        assert_eq!(b["severity"], "medium");
    }
}

//! Markdown documents: the security-release announcement, the private triage issue, the public placeholder.

use super::{ghsa_url, CaseInput, Project};

fn title_case(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// A code fence longer than any run of backticks in `text`.
fn fence(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for ch in text.chars() {
        if ch == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

/// The security-release post for one or more cases.
pub fn announcement(cases: &[CaseInput], p: &Project) -> String {
    let mut packages: Vec<String> = Vec::new();
    for c in cases {
        for pkg in c.facts.packages_or(p.default_package.as_deref()) {
            if !packages.contains(&pkg) {
                packages.push(pkg);
            }
        }
    }
    let mut out = String::new();
    if cases.len() == 1 {
        out.push_str(&format!(
            "# Security release for {}: {}\n\n",
            packages.join(", "),
            cases[0].facts.summary.as_deref().unwrap_or_default()
        ));
    } else {
        out.push_str(&format!(
            "# Security releases for {}: {} vulnerabilities fixed\n\n",
            packages.join(", "),
            cases.len()
        ));
    }
    out.push_str("A security release fixes the vulnerabilities below. Every user should upgrade.\n\n");
    for c in cases {
        let cve = c.cve.as_deref().unwrap_or("CVE pending");
        out.push_str(&format!(
            "## {} ({cve})\n\n",
            c.facts.summary.as_deref().unwrap_or_default()
        ));
        let severity = c.severity.as_deref().map(title_case).unwrap_or_default();
        match (&c.cvss_score, &c.cvss_vector) {
            (Some(s), Some(v)) => out.push_str(&format!("- **Severity:** {severity} (CVSS {s:.1}, `{v}`)\n")),
            _ => out.push_str(&format!("- **Severity:** {severity}\n")),
        }
        for pkg in c.facts.packages_or(p.default_package.as_deref()) {
            let ranges: Vec<String> = c.facts.ranges(&pkg).iter().map(|r| format!("`{r}`")).collect();
            let patched: Vec<String> = c
                .facts
                .patched_versions(&pkg)
                .iter()
                .map(|v| format!("`{v}`"))
                .collect();
            out.push_str(&format!(
                "- **Affected:** `{pkg}` {}\n- **Patched:** `{pkg}` {}\n",
                ranges.join(", "),
                patched.join(", ")
            ));
        }
        if !c.facts.cwes.is_empty() {
            out.push_str(&format!("- **Weakness:** {}\n", c.facts.cwes.join(", ")));
        }
        if let Some(u) = ghsa_url(c, p) {
            out.push_str(&format!("- **Advisory:** {u}\n"));
        }
        if let Some(cve) = &c.cve {
            out.push_str(&format!("- **CVE:** https://www.cve.org/CVERecord?id={cve}\n"));
        }
        if let Some(name) = &c.credit {
            out.push_str(&format!("- **Credit:** reported by {name}\n"));
        }
        out.push('\n');
        out.push_str(c.facts.description.as_deref().unwrap_or_default().trim_end());
        out.push_str("\n\n");
    }
    out.push_str("## How to upgrade\n\n");
    for pkg in &packages {
        let mut versions: Vec<&str> = Vec::new();
        for c in cases {
            for v in c.facts.patched_versions(pkg) {
                if !versions.contains(&v) {
                    versions.push(v);
                }
            }
        }
        versions.sort_by_key(|v| super::range::version(v));
        out.push_str(&format!(
            "- `{pkg}`: upgrade to {} or later in your release line, e.g. `npm install {pkg}@{}`.\n",
            versions
                .iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(" / "),
            versions.last().copied().unwrap_or("latest")
        ));
    }
    out
}

/// The private triage-repository issue: the case's facts and the report's text.
pub fn triage_issue(c: &CaseInput) -> String {
    let text = c.report_text.as_deref().unwrap_or_default().trim_end();
    let f = fence(text);
    let mut out = format!("# [{}] {}\n\n", c.id, c.subject);
    out.push_str(&format!(
        "- **Case:** {} ({}), opened {}\n",
        c.id,
        c.state,
        super::utc(c.opened_at)
    ));
    if let Some(s) = &c.severity {
        out.push_str(&format!("- **Severity:** {}", title_case(s)));
        if let (Some(score), Some(v)) = (c.cvss_score, &c.cvss_vector) {
            out.push_str(&format!(" (CVSS {score:.1}, `{v}`)"));
        }
        out.push('\n');
    }
    for (k, v) in [("CVE", &c.cve), ("GHSA", &c.ghsa)] {
        if let Some(v) = v {
            out.push_str(&format!("- **{k}:** {v}\n"));
        }
    }
    out.push_str(&format!(
        "- **Reporter credit:** {}\n",
        c.credit.as_deref().unwrap_or("none (anonymous or no name given)")
    ));
    for l in &c.public_links {
        out.push_str(&format!("- **Disclosed publicly at:** {l}\n"));
    }
    out.push_str(&format!("\n## Report\n\n{f}text\n{text}\n{f}\n"));
    out
}

/// The public placeholder issue for a premature disclosure: the link, nothing of the report.
pub fn placeholder(c: &CaseInput) -> String {
    let link = c.public_links.first().map(String::as_str).unwrap_or_default();
    let what = if link.contains("/pull/") {
        "pull request"
    } else {
        "issue"
    };
    let number = link
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    let title = match number {
        Some(n) => format!("FYI - {what} deleted #{n}"),
        None => format!("FYI - {what} deleted"),
    };
    format!(
        "# {title}\n\nThe {what} {link} was removed because it disclosed a potential security \
         vulnerability before a fix was available. The security team has the report and is handling \
         it under the project's security policy; details will be published in an advisory once a fix \
         is released.\n\nPlease report security issues privately, as described in SECURITY.md, and \
         not in public issues or pull requests. Thank you.\n"
    )
}

#[cfg(test)]
mod tests {
    use super::super::tests::{case, project};
    use super::*;

    #[test]
    fn announcement_has_the_facts() {
        let a = announcement(&[case()], &project());
        for want in [
            "# Security release for express: XSS in res.redirect()",
            "CVE-2026-1234",
            "CVSS 5.4",
            "Medium",
            "`<4.21.2`",
            "`5.0.1`",
            "reported by Jane Doe",
            "npm install express@5.0.1",
            "**ünïcode**",
        ] {
            assert!(a.contains(want), "{want}: {a}");
        }
    }

    #[test]
    fn placeholder_names_the_link_and_nothing_else() {
        let mut c = case();
        c.public_links = vec!["https://github.com/expressjs/express/pull/6123".into()];
        let p = placeholder(&c);
        assert!(p.starts_with("# FYI - pull request deleted #6123"), "{p}");
        assert!(!p.contains("redirect") && !p.contains("Jane"), "{p}");
    }

    #[test]
    fn triage_issue_fences_the_report() {
        let mut c = case();
        c.report_text = Some("PoC:\n```js\nx()\n```".into());
        let t = triage_issue(&c);
        assert!(t.contains("````text\nPoC:"), "{t}");
    }
}

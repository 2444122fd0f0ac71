//! Sample template contexts, used by `check-config` to render every template once.

use serde_json::{json, Value};

pub fn context(name: &str) -> Value {
    let base = json!({
        "case_id": "SEC-2026-0001",
        "case_tag": "[SEC-2026-0001]",
        "subject": "ReDoS in path matching",
        "reporter": "jane@example.com",
        "reporter_name": "Jane Doe",
        "team_name": "Security Team",
        "acknowledge_within": "48 hours",
        "detailed_response_within": "48 hours",
        "assign_within": "24 hours",
        "body_check": "link-only",
        "missing": ["the affected versions"],
        "premature_disclosure": true,
        "public_links": ["https://github.com/expressjs/express/issues/1"],
        "ask_credit": true,
        "credit_name": "Jane Doe",
        "opened_at": "2026-11-21T10:00:00Z",
        "flags": ["premature-disclosure"],
        "hints": [{"label": "third-party-module", "explanation": "x"}],
        "attachments": [{"name": "poc.zip", "content_type": "application/zip", "size": 1000}],
        "links": ["https://gist.github.com/x"],
        "excerpt": "The path matching backtracks.",
        "sender": "jane@example.com",
        "state": "triage",
        "applied": name == "confirmation",
        "changes": ["state: new -> triage"],
        "errors": ["/cve: `x` is not a CVE id"],
        "mails": ["dismissal to jane@example.com"],
        "usage": ["/assign [me|ADDRESS]"],
        "coordinator": "alice@example.org",
        "reason": "not a vulnerability",
        "commands": ["/invalid no"],
        "cve": "CVE-2026-1234",
        "ghsa": "GHSA-9wv6-86v2-598j",
        "patched_versions": "4.21.3",
        "severity": "high",
        "cvss_score": 7.5,
        "credit": "Jane Doe",
    });
    let _ = name;
    base
}

//! The runbook's steps the daemon cannot see by itself, as a per-case checklist (`/done STEP`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Every step, in runbook order, with what it means.
pub const STEPS: &[(&str, &str)] = &[
    (
        "privatized",
        "the public issue or pull request is made private or hidden",
    ),
    ("removal-requested", "GitHub was asked to delete the pull request"),
    (
        "placeholder-opened",
        "the public placeholder issue is opened (secintake advisory ID --format placeholder)",
    ),
    (
        "triage-issue-created",
        "the private triage issue is created (--format triage-issue)",
    ),
    (
        "advisory-created",
        "the GitHub security advisory is created (--format ghsa; /ghsa ticks it)",
    ),
    ("cve-requested", "a CVE is requested (--format cve; /cve ticks it)"),
    ("patch", "the patch is written"),
    ("regression-tests", "regression tests are added"),
    ("release", "the security release is published"),
    ("blog-post", "the blog post is published (--format announcement)"),
    ("announcement", "the release is announced"),
];

/// The steps of a premature disclosure (due within `policy.premature_disclosure_within`).
pub const PREMATURE: &[&str] = &["privatized", "removal-requested", "placeholder-opened"];

/// The steps of an accepted case due within `policy.advisory_within`.
pub const ADVISORY: &[&str] = &["advisory-created", "cve-requested"];

/// A step done: when and by whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    pub step: String,
    pub done_at: DateTime<Utc>,
    pub by: String,
}

/// One line of the checklist as shown (`done_at`/`by` null while not done).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    pub step: String,
    pub done_at: Option<DateTime<Utc>>,
    pub by: Option<String>,
}

pub fn is_step(s: &str) -> bool {
    STEPS.iter().any(|(n, _)| *n == s)
}

/// The steps that apply to a case (the premature-disclosure ones only when it is flagged).
pub fn view(premature: bool, done: &[Done]) -> Vec<Item> {
    STEPS
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| premature || !PREMATURE.contains(n))
        .map(|n| {
            let d = done.iter().find(|d| d.step == n);
            Item {
                step: n.to_string(),
                done_at: d.map(|d| d.done_at),
                by: d.map(|d| d.by.clone()),
            }
        })
        .collect()
}

/// When every one of `steps` was done (the last of them), if all are.
pub fn all_done_at(steps: &[&str], done: &[Done]) -> Option<DateTime<Utc>> {
    steps
        .iter()
        .map(|s| done.iter().find(|d| d.step == *s).map(|d| d.done_at))
        .collect::<Option<Vec<_>>>()
        .and_then(|v| v.into_iter().max())
}

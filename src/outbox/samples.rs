//! Sample contexts of every template, one type per template (the same types the mails are
//! made from), so `check-config` renders each template with exactly the keys it gets.

use serde_json::Value;

use crate::analysis::Hint;
use crate::case::mail::*;
use crate::message::Attachment;

fn base() -> ReporterBase {
    ReporterBase {
        case_id: "SEC-2026-0001".into(),
        subject: "ReDoS in path matching".into(),
        reporter_name: Some("Jane Doe".into()),
        team_name: "Security Team".into(),
    }
}

fn to_reporter<T: ReporterMail + Clone>(mails: Vec<T>) -> Vec<ToReporter<T>> {
    let mut out: Vec<ToReporter<T>> = mails
        .iter()
        .cloned()
        .map(|mail| ToReporter { base: base(), mail })
        .collect();
    // And once without a display name.
    if let Some(first) = mails.into_iter().next() {
        let mut b = base();
        b.reporter_name = None;
        out.push(ToReporter { base: b, mail: first });
    }
    out
}

fn values<C: TemplateContext>(v: Vec<C>) -> (&'static str, Vec<Value>) {
    (
        C::TEMPLATE,
        v.iter()
            .map(|c| serde_json::to_value(c).expect("contexts serialise"))
            .collect(),
    )
}

fn attachment() -> Attachment {
    Attachment {
        name: "poc.zip".into(),
        content_type: "application/zip".into(),
        size: 1000,
    }
}

fn receipt(body_check: &str, credit_name: Option<&str>) -> Receipt {
    Receipt {
        case_tag: "[SEC-2026-0001]".into(),
        reporter: "jane@example.com".into(),
        acknowledge_within: "48 hours".into(),
        detailed_response_within: "48 hours".into(),
        body_check: body_check.into(),
        missing: vec!["the affected versions".into()],
        missing_items: vec!["affected-versions".into(), "reproduction".into(), "impact".into()],
        premature_disclosure: true,
        ask_credit: true,
        credit_name: credit_name.map(Into::into),
        arrived_at: "Saturday 21 November 2026, 10:00 UTC".into(),
        arrived_late: false,
        acknowledge_by: "Monday 23 November 2026, 10:00 UTC".into(),
        acknowledge_overdue: false,
        list_key: None,
        encrypted: false,
        reply_in_clear: false,
    }
}

/// An encrypted report the list key could not open.
fn undecryptable_receipt() -> Receipt {
    // (`missing` as in the other samples: the samples are there to exercise every key.)
    Receipt {
        premature_disclosure: false,
        list_key: Some("0123456789ABCDEF0123456789ABCDEF01234567".into()),
        encrypted: true,
        reply_in_clear: true,
        ..receipt("undecryptable", Some("Jane Doe"))
    }
}

/// An encrypted report from a reporter whose key the list does not know.
fn clear_receipt_of_an_encrypted_report() -> Receipt {
    Receipt {
        list_key: Some("0123456789ABCDEF0123456789ABCDEF01234567".into()),
        encrypted: true,
        reply_in_clear: true,
        ..receipt("complete", None)
    }
}

/// A report ingested late: before (and after) its acknowledgement deadline.
fn late_receipt(overdue: bool) -> Receipt {
    Receipt {
        arrived_late: true,
        acknowledge_overdue: overdue,
        ..receipt("complete", Some("Jane Doe"))
    }
}

fn progress(update: &str, state: &str) -> ProgressUpdate {
    ProgressUpdate {
        update: update.into(),
        state: state.into(),
        severity: Some("high".into()),
        cvss_score: Some(7.5),
        patched_versions: Some("4.21.3".into()),
        release_date: Some("2026-12-01".into()),
    }
}

fn closing(credit: Option<&str>, anonymous: bool) -> ClosingNotice {
    ClosingNotice {
        cve: Some("CVE-2026-1234".into()),
        ghsa: Some("GHSA-9wv6-86v2-598j".into()),
        patched_versions: Some("4.21.3".into()),
        severity: Some("high".into()),
        cvss_score: Some(7.5),
        credit: credit.map(Into::into),
        anonymous,
    }
}

fn digest_row() -> DigestDeadline {
    DigestDeadline {
        case_id: "SEC-2026-0001".into(),
        label: "acknowledgement".into(),
        due: "2026-11-23T10:00:00Z".into(),
        coordinator: "alice@example.org".into(),
    }
}

fn confirmation(applied: bool) -> Confirmation {
    Confirmation {
        applied,
        case_id: "SEC-2026-0001".into(),
        subject: "ReDoS in path matching".into(),
        changes: vec!["state: new -> triage".into()],
        errors: vec!["/cve: `x` is not a CVE id".into()],
        mails: vec!["dismissal to jane@example.com".into()],
        state: "triage".into(),
        coordinator: Some("alice@example.org".into()),
        usage: vec!["/assign [me|ADDRESS]".into()],
        authentication: "ARC i=1 sealed by lists.example.org: dmarc=pass for example.org".into(),
    }
}

/// Every template with its samples (the first sample has every key).
pub fn all() -> Vec<(&'static str, Vec<Value>)> {
    let states: Vec<StatusUpdate> = [
        "new",
        "triage",
        "assessing",
        "needs-info",
        "accepted",
        "patching",
        "released",
    ]
    .iter()
    .map(|s| StatusUpdate {
        state: s.to_string(),
        state_words: "being assessed".into(),
    })
    .collect();
    vec![
        values(to_reporter(vec![
            receipt("complete", Some("Jane Doe")),
            receipt("link-only", None),
            receipt("attachment-only", Some("Jane Doe")),
            receipt("too-short", None),
            late_receipt(false),
            late_receipt(true),
            undecryptable_receipt(),
            clear_receipt_of_an_encrypted_report(),
        ])),
        values(vec![NewCaseNotice {
            case_id: "SEC-2026-0001".into(),
            subject: "ReDoS in path matching".into(),
            reporter: "jane@example.com".into(),
            reporter_name: Some("Jane Doe".into()),
            opened_at: "2026-11-21T10:00:00Z".into(),
            body_check: "link-only".into(),
            missing: vec!["affected-versions".into()],
            evidence: vec![crate::case::mail::Evidence {
                item: "impact".into(),
                phrase: "an attacker can block the event loop".into(),
            }],
            flags: vec!["premature-disclosure".into()],
            hints: vec![Hint {
                label: "third-party-module".into(),
                explanation: "x".into(),
            }],
            attachments: vec![attachment()],
            links: vec!["https://gist.github.com/x".into()],
            premature_disclosure: true,
            public_links: vec!["https://github.com/expressjs/express/issues/1".into()],
            assign_within: "24 hours".into(),
            acknowledge_within: "48 hours".into(),
            excerpt: "The path matching backtracks.".into(),
            arrived_ago: Some("3 days".into()),
            similar: vec![SimilarCase {
                case_id: "SEC-2026-0007".into(),
                score: 0.41,
                reported: "12 days ago".into(),
                reporter: "joe@example.net".into(),
                subject: "ReDoS in route parameters".into(),
            }],
        }]),
        values(vec![
            FollowUpNotice {
                case_id: "SEC-2026-0001".into(),
                subject: "ReDoS in path matching".into(),
                sender: "jane@example.com".into(),
                from_reporter: true,
                state: "triage".into(),
                attachments: vec![attachment()],
                excerpt: "Here is the PoC.".into(),
            },
            FollowUpNotice {
                case_id: "SEC-2026-0001".into(),
                subject: "ReDoS in path matching".into(),
                sender: "someone@example.net".into(),
                from_reporter: false,
                state: "triage".into(),
                attachments: vec![],
                excerpt: "I can reproduce this too.".into(),
            },
        ]),
        values(vec![confirmation(true), confirmation(false)]),
        values(vec![CommandRefused {
            case_id: "SEC-2026-0001".into(),
            subject: "ReDoS in path matching".into(),
            sender: "mallory@example.com".into(),
            reason: "not authenticated".into(),
            commands: vec!["/invalid no".into()],
        }]),
        values(to_reporter(vec![Dismissal {
            reason: "not a vulnerability".into(),
        }])),
        values(to_reporter(vec![DuplicateNotice {
            of: "SEC-2026-0002".into(),
        }])),
        values(to_reporter(vec![
            closing(Some("Jane Doe"), false),
            closing(None, true),
            closing(None, false),
        ])),
        values(to_reporter(vec![
            progress("accepted", "accepted"),
            progress("patching", "patching"),
            progress("released", "released"),
            progress("release-planned", "patching"),
        ])),
        values(vec![Reminder {
            case_id: "SEC-2026-0001".into(),
            subject: "ReDoS in path matching".into(),
            label: "acknowledgement".into(),
            when: "due in 6 hours".into(),
            distance: "6 hours".into(),
            overdue: false,
            embargo_ends: Some("2026-12-01".into()),
            due: "2026-11-23T10:00:00Z".into(),
            what: "A person must reply to the reporter.".into(),
            deadline: "acknowledge".into(),
            state: "triage".into(),
            reporter: "jane@example.com".into(),
            coordinator: Some("alice@example.org".into()),
            since: "2026-11-21T10:00:00Z".into(),
            holding_sent: true,
        }]),
        values(to_reporter(vec![HoldingAcknowledgement {
            acknowledge_within: "48 hours".into(),
            reply_by: "Tuesday 24 November 2026, 10:00 UTC".into(),
        }])),
        values(to_reporter(states)),
        values(vec![Digest {
            open_total: 3,
            by_state: vec![StateCount {
                state: "triage".into(),
                count: 2,
            }],
            overdue: vec![digest_row()],
            due_soon: vec![digest_row()],
            waiting: vec![Waiting {
                case_id: "SEC-2026-0002".into(),
                since: "2026-11-20".into(),
                subject: "x".into(),
            }],
            open_steps: vec![OpenSteps {
                case_id: "SEC-2026-0003".into(),
                steps: "advisory-created, cve-requested".into(),
            }],
        }]),
    ]
}

/// The first (complete) sample of template `name`.
pub fn context(name: &str) -> Value {
    all()
        .into_iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, v)| v.into_iter().next())
        .unwrap_or(Value::Null)
}

//! What arrived encrypted never leaves in clear: which mail is sealed (PGP/MIME to its
//! recipients' keys), which is redacted (no text taken from the report), which goes as is.
//! Pure: the caller finds the keys and whether the case is confidential.

use crate::case::mail::{Evidence, MailContext};
use crate::pgp::PublicKey;

/// What stands for the subject of an encrypted report in clear mail.
pub const SUBJECT: &str = "(encrypted report)";

/// How one mail goes out.
#[derive(Debug, Clone)]
pub enum Protection {
    /// As rendered, unencrypted.
    Clear,
    /// Encrypted to these keys (and the list's own), signed by the list key.
    Seal(Vec<PublicKey>),
    /// Unencrypted, with every text taken from the report left out.
    Redact,
}

/// `confidential`: the case's report (or this message) arrived encrypted. `keys`: a key for
/// every recipient, when there is one for each. Every mail to a reporter with a known key is
/// sealed; mail to the team is sealed only when it is about an encrypted report.
pub fn decide(
    confidential: bool,
    to_reporter: bool,
    encrypt_replies: bool,
    keys: Option<Vec<PublicKey>>,
) -> Protection {
    match keys {
        Some(k) if encrypt_replies && !k.is_empty() && (to_reporter || confidential) => Protection::Seal(k),
        _ if confidential => Protection::Redact,
        _ => Protection::Clear,
    }
}

/// `ctx` without the text that came from the report: its subject, excerpt, links, hints,
/// attachment names, quoted phrases and quoted command lines. What stays is the case id,
/// the verdict words (body check, missing items, flags) and the dates.
pub fn redact(ctx: &MailContext) -> MailContext {
    let note = |case_id: &str| {
        format!(
            "This report arrived encrypted, so its text is not repeated in clear mail. Read it with: secintake case {case_id}"
        )
    };
    let mut c = ctx.clone();
    match &mut c {
        MailContext::Receipt(r) => {
            r.base.subject = SUBJECT.into();
            r.mail.reply_in_clear = true;
        }
        MailContext::Dismissal(r) => r.base.subject = SUBJECT.into(),
        MailContext::DuplicateNotice(r) => r.base.subject = SUBJECT.into(),
        MailContext::ClosingNotice(r) => r.base.subject = SUBJECT.into(),
        MailContext::Progress(r) => r.base.subject = SUBJECT.into(),
        MailContext::HoldingAcknowledgement(r) => r.base.subject = SUBJECT.into(),
        MailContext::StatusUpdate(r) => r.base.subject = SUBJECT.into(),
        MailContext::NewCaseNotice(n) => {
            n.subject = SUBJECT.into();
            n.excerpt = note(&n.case_id);
            n.links.clear();
            n.public_links.clear();
            n.hints.clear();
            n.attachments.clear();
            // Which earlier case it resembles is read off the report's text too.
            n.similar.clear();
            for e in &mut n.evidence {
                *e = Evidence {
                    item: e.item.clone(),
                    phrase: "(in the encrypted text)".into(),
                };
            }
        }
        MailContext::FollowUpNotice(n) => {
            n.subject = SUBJECT.into();
            n.excerpt = note(&n.case_id);
            n.attachments.clear();
        }
        MailContext::Confirmation(n) => n.subject = SUBJECT.into(),
        MailContext::CommandRefused(n) => {
            n.subject = SUBJECT.into();
            n.commands.clear();
        }
        MailContext::Reminder(n) => n.subject = SUBJECT.into(),
        // The digest's cases are redacted one by one where it is built.
        MailContext::Digest(_) => {}
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::mail::{FollowUpNotice, NewCaseNotice};

    #[test]
    fn only_what_needs_it_is_sealed_or_redacted() {
        assert!(matches!(decide(false, false, true, None), Protection::Clear));
        assert!(matches!(decide(true, false, true, None), Protection::Redact));
        assert!(matches!(decide(true, true, false, Some(vec![])), Protection::Redact));
        // encrypt_replies = false: a reporter's key is not used, and the report stays hidden.
        assert!(matches!(decide(false, true, true, Some(vec![])), Protection::Clear));
    }

    #[test]
    fn a_redacted_notice_keeps_the_verdict_and_drops_the_text() {
        let canary = "CANARY-7f3a";
        let n = NewCaseNotice {
            case_id: "SEC-2026-0001".into(),
            subject: format!("RCE {canary}"),
            reporter: "jane@example.com".into(),
            reporter_name: None,
            opened_at: "now".into(),
            body_check: "ok".into(),
            missing: vec!["impact".into()],
            evidence: vec![Evidence {
                item: "reproduction".into(),
                phrase: format!("curl {canary}"),
            }],
            flags: vec!["premature-disclosure".into()],
            hints: vec![],
            attachments: vec![crate::message::Attachment {
                name: format!("{canary}.py"),
                content_type: "text/x-python".into(),
                size: 3,
            }],
            links: vec![format!("https://x.example/{canary}")],
            premature_disclosure: true,
            public_links: vec![format!("https://github.com/o/r/issues/{canary}")],
            assign_within: "1 day".into(),
            acknowledge_within: "2 days".into(),
            excerpt: format!("the text {canary}"),
            arrived_ago: None,
            similar: vec![],
        };
        let r = redact(&MailContext::NewCaseNotice(n));
        let json = serde_json::to_string(&r).unwrap();
        assert!(!json.contains(canary), "{json}");
        assert!(json.contains("\"missing\":[\"impact\"]") && json.contains("premature-disclosure"));
        assert!(json.contains("secintake case SEC-2026-0001"));
        let f = FollowUpNotice {
            case_id: "SEC-2026-0001".into(),
            subject: canary.into(),
            sender: "jane@example.com".into(),
            from_reporter: true,
            state: "new".into(),
            attachments: vec![],
            excerpt: canary.into(),
        };
        let json = serde_json::to_string(&redact(&MailContext::FollowUpNotice(f))).unwrap();
        assert!(!json.contains(canary), "{json}");
    }
}

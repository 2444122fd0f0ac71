//! Recognises automatic mail (auto-replies, bounces) that must never be answered (RFC 3834).

use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

use crate::message::Incoming;

/// Why a message is automatic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AutoKind {
    AutoReply,
    Bounce,
}

impl AutoKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AutoKind::AutoReply => "auto-reply",
            AutoKind::Bounce => "bounce",
        }
    }
}

static BOUNCE_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)undeliver|delivery\s+status\s+notification|delivery\s+(?:has\s+)?fail|failure\s+notice|returned\s+mail|mail\s+delivery\s+(?:failed|subsystem|system)|non[-\s]?delivery|could\s+not\s+be\s+delivered|delivery\s+incomplete|message\s+not\s+delivered").unwrap()
});

static AUTO_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:auto(?:matic)?[-\s]*(?:reply|response|antwort)|out\s+of\s+(?:the\s+)?office|abwesenheit|absence|vacation|réponse\s+automatique|respuesta\s+automática|自動応答|不在)").unwrap()
});

const ROBOT_LOCAL_PARTS: &[&str] = &[
    "mailer-daemon",
    "postmaster",
    "noreply",
    "no-reply",
    "no_reply",
    "donotreply",
    "do-not-reply",
    "do_not_reply",
    "bounce",
    "bounces",
    "auto-reply",
    "autoreply",
];

/// Classifies `m`; `list_address` is our own list (its `X-Loop` and its own `List-Id`
/// are not signs of an automatic mail from someone else).
pub fn classify(m: &Incoming, list_address: &str) -> Option<AutoKind> {
    let from_local = m
        .from
        .as_ref()
        .map(|f| f.address.local_part().to_ascii_lowercase())
        .unwrap_or_default();
    let null_sender = m.return_path.as_deref().is_some_and(|r| r.trim() == "<>");
    let robot = ROBOT_LOCAL_PARTS.contains(&from_local.as_str())
        || from_local.starts_with("bounce")
        || from_local.starts_with("noreply")
        || from_local.starts_with("no-reply");
    let bounce_subject = BOUNCE_SUBJECT.is_match(&m.subject);
    if m.is_report && !AUTO_SUBJECT.is_match(&m.subject) {
        return Some(AutoKind::Bounce);
    }
    if (from_local == "mailer-daemon" || from_local == "postmaster" || null_sender || robot) && bounce_subject {
        return Some(AutoKind::Bounce);
    }
    let auto_submitted = m
        .auto_submitted
        .as_deref()
        .map(|a| a.trim().to_ascii_lowercase())
        .is_some_and(|a| !a.is_empty() && !a.starts_with("no"));
    let precedence = m
        .precedence
        .as_deref()
        .map(|p| p.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let our_list_id = list_id_of(list_address);
    let is_our_list = m
        .list_id
        .as_deref()
        .is_some_and(|l| !our_list_id.is_empty() && l.to_ascii_lowercase().contains(&our_list_id));
    let bulk = matches!(precedence.as_str(), "bulk" | "junk" | "auto_reply") || (precedence == "list" && !is_our_list);
    let our_loop = !list_address.is_empty() && m.x_loop.iter().any(|l| l.contains(list_address));
    if auto_submitted || bulk || m.x_auto_response_suppress || our_loop || null_sender || robot {
        return Some(AutoKind::AutoReply);
    }
    if AUTO_SUBJECT.is_match(&m.subject) {
        return Some(AutoKind::AutoReply);
    }
    None
}

/// `security@example.org` -> `security.example.org` (the List-Id Google Groups and Mailman use).
fn list_id_of(list_address: &str) -> String {
    list_address.to_ascii_lowercase().replace('@', ".")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(headers: &str) -> Incoming {
        Incoming::parse(format!("{headers}\r\n\r\nbody\r\n").as_bytes())
    }

    const LIST: &str = "security@example.org";

    #[test]
    fn human_mail_is_not_automatic() {
        let m = parse("From: jane@example.com\r\nSubject: XSS in res.send");
        assert_eq!(classify(&m, LIST), None);
        let m = parse("From: jane@example.com\r\nAuto-Submitted: no\r\nSubject: x");
        assert_eq!(classify(&m, LIST), None);
    }

    #[test]
    fn rfc3834_and_friends() {
        for h in [
            "From: jane@example.com\r\nAuto-Submitted: auto-replied\r\nSubject: x",
            "From: jane@example.com\r\nPrecedence: bulk\r\nSubject: x",
            "From: jane@example.com\r\nX-Auto-Response-Suppress: All\r\nSubject: x",
            "From: jane@example.com\r\nX-Loop: security@example.org\r\nSubject: x",
            "From: noreply@example.com\r\nSubject: x",
            "From: jane@example.com\r\nSubject: Out of Office: x",
            "From: jane@example.com\r\nPrecedence: list\r\nList-Id: <other.example.com>\r\nSubject: x",
        ] {
            assert_eq!(classify(&parse(h), LIST), Some(AutoKind::AutoReply), "{h}");
        }
    }

    #[test]
    fn our_own_list_delivery_is_not_automatic() {
        let m = parse("From: jane@example.com\r\nPrecedence: list\r\nList-Id: <security.example.org>\r\nSubject: x");
        assert_eq!(classify(&m, LIST), None);
    }

    #[test]
    fn bounces() {
        let m = parse("From: MAILER-DAEMON@mx.example.com\r\nSubject: Undelivered Mail Returned to Sender");
        assert_eq!(classify(&m, LIST), Some(AutoKind::Bounce));
        let m = parse(
            "From: postmaster@example.com\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=x",
        );
        assert_eq!(classify(&m, LIST), Some(AutoKind::Bounce));
    }
}

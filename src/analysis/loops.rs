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
    super::re(
        r"(?i)undeliver|delivery\s+status\s+notification|delivery\s+(?:has\s+)?fail|failure\s+notice|returned\s+mail|mail\s+delivery\s+(?:failed|subsystem|system)|non[-\s]?delivery|could\s+not\s+be\s+delivered|delivery\s+incomplete|message\s+not\s+delivered",
    )
});

/// An auto-reply subject: the phrase starts the subject and is a whole word (followed by
/// `:`, a space, a dash or the end), as mail clients write it ("Automatic reply: ...",
/// "Out of Office: ...", "Abwesenheitsnotiz: ..."). Words like "Absence" or "Vacation" are
/// not enough: "Absence of CSRF protection in ..." is a report.
static AUTO_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    super::re(
        r"(?i)^\s*(?:auto\s*:|(?:auto(?:matic)?[-\s]*(?:reply|response|antwort)|automatische\s+antwort|autoreply|out\s+of\s+(?:the\s+)?office|abwesenheit(?:snotiz|smeldung)?|abwesend|r[ée]ponse\s+automatique|respuesta\s+autom[áa]tica|resposta\s+autom[áa]tica|risposta\s+automatica|自動応答|自動返信|不在)(?:\s*[:：]|\s+[-–]\s|\s+(?:re|aw|fw|fwd|wg|tr|rv)\s*:|\s*$))",
    )
});

/// The local part of an automatic sender: exact names only, so `bouncer@` or
/// `noreplies-team@` stay human.
const ROBOT_LOCAL_PARTS: &[&str] = &[
    "mailer-daemon",
    "mailerdaemon",
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

/// Well-known VERP and tagged shapes of robot senders: `bounce+tag@`, `bounces-123@`,
/// `noreply-github@`, `no-reply+abc@`, `list-bounces@`, `list-bounces+jane=example.com@`.
static ROBOT_SHAPE: LazyLock<Regex> = LazyLock::new(|| {
    super::re(
        r"(?i)^(?:bounces?[-+=]|(?:noreply|no-reply|no_reply|donotreply|do-not-reply|mailer-daemon)[-+=._])|[-+._]bounces?(?:[-+=]|$)",
    )
});

/// Is `local` (the local part of From) an automatic sender?
pub fn robot_sender(local: &str) -> bool {
    let l = local.to_ascii_lowercase();
    ROBOT_LOCAL_PARTS.contains(&l.as_str()) || ROBOT_SHAPE.is_match(&l)
}

/// The `X-Loop` value our own mail carries: `secintake@<domain of the list address>`.
/// It is not the list address itself, because a list manager relaying reports to the
/// mailbox may stamp `X-Loop: <list>` on every human mail it relays.
pub fn loop_id(list_address: &str) -> String {
    let domain = list_address
        .rsplit_once('@')
        .map(|(_, d)| d.trim().to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("secintake@{domain}")
}

/// Classifies `m`; `list_address` is our own list (its own `List-Id` is not a sign of an
/// automatic mail, and only our [`loop_id`] in `X-Loop` is: a list manager stamping
/// `X-Loop: <list>` on relayed reports must not make them ours).
pub fn classify(m: &Incoming, list_address: &str) -> Option<AutoKind> {
    let from_local = m
        .from
        .as_ref()
        .map(|f| f.address.local_part().to_ascii_lowercase())
        .unwrap_or_default();
    let null_sender = m.return_path.as_deref().is_some_and(|r| r.trim() == "<>");
    let robot = robot_sender(&from_local);
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
    let own_loop = loop_id(list_address);
    let our_loop = !list_address.is_empty() && m.x_loop.iter().any(|l| l.trim().eq_ignore_ascii_case(&own_loop));
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
            "From: jane@example.com\r\nX-Loop: secintake@example.org\r\nSubject: x",
            "From: noreply@example.com\r\nSubject: x",
            "From: jane@example.com\r\nSubject: Out of Office: x",
            "From: jane@example.com\r\nPrecedence: list\r\nList-Id: <other.example.com>\r\nSubject: x",
        ] {
            assert_eq!(classify(&parse(h), LIST), Some(AutoKind::AutoReply), "{h}");
        }
    }

    #[test]
    fn report_subjects_that_start_like_an_auto_reply_are_human() {
        for subject in [
            "Absence of CSRF protection in express-session",
            "Vacation-app XSS via res.send",
            "Out of office hours the session store leaks cookies",
            "Auto-response bypass in express-rate-limit",
            "Out of office-hours requests bypass the rate limit",
            "Automatic reply handling allows header injection",
            "Abwesenheitsnotizen im Klartext: Info-Leak",
        ] {
            let m = parse(&format!("From: jane@example.com\r\nSubject: {subject}"));
            assert_eq!(classify(&m, LIST), None, "{subject}");
        }
        for subject in [
            "Automatic reply: [SEC-2026-0001] Re: XSS",
            "Out of Office: ReDoS in path-to-regexp",
            "Abwesenheitsnotiz: Ihre Nachricht",
            "Automatische Antwort: XSS",
            "Réponse automatique : XSS",
            "Auto: Re: ReDoS",
            "Auto: XSS",
            "Out of office",
            "Abwesend - bis 3. März",
        ] {
            let m = parse(&format!("From: jane@example.com\r\nSubject: {subject}"));
            assert_eq!(classify(&m, LIST), Some(AutoKind::AutoReply), "{subject}");
        }
    }

    #[test]
    fn robot_senders_are_exact_names_or_verp_shapes() {
        for local in [
            "bouncer",
            "bouncy",
            "noreplies",
            "bounce.castle.dev",
            "postmasters",
            "jane",
        ] {
            assert!(!robot_sender(local), "{local}");
        }
        for local in [
            "MAILER-DAEMON",
            "postmaster",
            "noreply",
            "no-reply",
            "bounce",
            "bounces",
            "bounce+abc123",
            "bounces-42-jane=example.com",
            "noreply-github",
            "no-reply+x",
            "express-announce-bounces",
            "list-bounces+jane=example.com",
        ] {
            assert!(robot_sender(local), "{local}");
        }
        let m = parse("From: bouncer@example.net\r\nSubject: ReDoS in qs");
        assert_eq!(classify(&m, LIST), None);
    }

    #[test]
    fn only_our_own_loop_id_counts() {
        assert_eq!(loop_id(LIST), "secintake@example.org");
        // A list manager stamping the list address on relayed mail: still a human report.
        let m = parse("From: jane@example.com\r\nX-Loop: security@example.org\r\nSubject: XSS");
        assert_eq!(classify(&m, LIST), None);
        let m = parse("From: jane@example.com\r\nX-Loop: SecIntake@Example.org\r\nSubject: XSS");
        assert_eq!(classify(&m, LIST), Some(AutoKind::AutoReply));
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

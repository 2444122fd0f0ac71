//! Turns a draft (recipients, subject, body, threading) into the exact bytes we will send.
//!
//! Everything taken from incoming mail is sanitised before it reaches a header, and every
//! message carries `Auto-Submitted` and our `X-Loop` so no robot answers it (RFC 3834).

use chrono::{DateTime, Utc};
use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox as LettreMailbox, Message};

use crate::address::{Address, Mailbox};
use crate::sanitize;

/// What to send, before it has an identity.
#[derive(Debug, Clone)]
pub struct Draft {
    pub case_id: Option<String>,
    /// receipt, notice, follow-up-notice, confirmation, reminder, ...
    pub kind: &'static str,
    pub to: Vec<Address>,
    pub subject: String,
    pub body: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    /// `auto-replied` for answers to a message, `auto-generated` for everything else.
    pub auto_submitted: &'static str,
    /// Counts against the per-address daily cap on automatic mail.
    pub automatic: bool,
    pub to_reporter: bool,
}

impl Draft {
    /// Mail to the team or a coordinator: auto-generated, outside the daily cap, never to the
    /// reporter, not threaded (see [`Draft::replying_to`]).
    pub fn internal(
        case_id: Option<String>,
        kind: &'static str,
        to: Vec<Address>,
        subject: String,
        body: String,
    ) -> Draft {
        Draft {
            case_id,
            kind,
            to,
            subject,
            body,
            in_reply_to: None,
            references: vec![],
            auto_submitted: "auto-generated",
            automatic: false,
            to_reporter: false,
        }
    }

    /// Threads the draft under a message.
    pub fn replying_to(mut self, in_reply_to: Option<String>, references: Vec<String>) -> Draft {
        self.in_reply_to = in_reply_to;
        self.references = references;
        self
    }
}

/// A draft made into bytes.
#[derive(Debug, Clone)]
pub struct Composed {
    pub message_id: String,
    pub envelope_from: String,
    pub recipients: Vec<String>,
    pub subject: String,
    pub raw: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("no recipients")]
    NoRecipients,
    #[error("cannot build message: {0}")]
    Build(String),
}

/// `[SEC-2026-0001] Re: subject`, without doubling a tag already there.
pub fn tagged_subject(tag: &str, subject: &str) -> String {
    let clean = sanitize::header_text(subject);
    if clean.contains(tag) {
        clean
    } else {
        format!("{tag} {clean}")
    }
}

/// Rewraps text to lines under 78 characters as RFC 3676 format=flowed: soft breaks end
/// in a space, lines starting with a space, `>` or `From ` are space-stuffed.
pub fn flowed(body: &str) -> String {
    let mut out = String::with_capacity(body.len() + body.len() / 20);
    for line in body.lines() {
        let line = line.trim_end();
        if line == "--" {
            out.push_str("-- \r\n");
            continue;
        }
        let stuff = |l: &str| -> String {
            if l.starts_with(' ') || l.starts_with('>') || l.starts_with("From ") {
                format!(" {l}")
            } else {
                l.to_string()
            }
        };
        if line.chars().count() <= 76 {
            out.push_str(&stuff(line));
            out.push_str("\r\n");
            continue;
        }
        let indent: String = line.chars().take_while(|c| *c == ' ').collect();
        let opts = textwrap::Options::new(76)
            .subsequent_indent(&indent)
            .break_words(false)
            .word_separator(textwrap::WordSeparator::AsciiSpace);
        let pieces = textwrap::wrap(line, opts);
        let n = pieces.len();
        for (i, p) in pieces.into_iter().enumerate() {
            out.push_str(&stuff(&p));
            if i + 1 < n {
                out.push(' '); // soft break
            }
            out.push_str("\r\n");
        }
    }
    out
}

/// Builds the message with a fixed Message-ID and date.
pub fn compose(
    d: &Draft,
    from: &Mailbox,
    reply_to: &Address,
    loop_id: &str,
    message_id: &str,
    date: DateTime<Utc>,
) -> Result<Composed, ComposeError> {
    if d.to.is_empty() {
        return Err(ComposeError::NoRecipients);
    }
    let subject = sanitize::header_text(&d.subject);
    let mut b = Message::builder()
        .from(from.to_lettre())
        .reply_to(LettreMailbox::new(
            None,
            reply_to
                .as_str()
                .parse()
                .map_err(|e| ComposeError::Build(format!("{e}")))?,
        ))
        .subject(subject.clone())
        .message_id(Some(message_id.to_string()))
        .date(date.into())
        .header(ContentType::parse("text/plain; charset=utf-8; format=flowed").expect("static content type"))
        .header(ContentTransferEncoding::QuotedPrintable)
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            d.auto_submitted.to_string(),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Loop"),
            sanitize::header_text(loop_id),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Auto-Response-Suppress"),
            "All".to_string(),
        ));
    if let Some(id) = &d.case_id {
        b = b.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Secintake-Case"),
            sanitize::header_text(id),
        ));
    }
    for to in &d.to {
        let addr = to.as_str().parse().map_err(|e| ComposeError::Build(format!("{e}")))?;
        b = b.to(LettreMailbox::new(None, addr));
    }
    if let Some(irt) = d.in_reply_to.as_deref().and_then(sanitize::message_id) {
        b = b.in_reply_to(irt);
    }
    let refs: Vec<String> = d.references.iter().filter_map(|r| sanitize::message_id(r)).collect();
    if !refs.is_empty() {
        // Keep the References header bounded: the first and the last ones (RFC 5322 3.6.4).
        let refs = if refs.len() > 20 {
            let mut v = vec![refs[0].clone()];
            v.extend(refs[refs.len() - 19..].iter().cloned());
            v
        } else {
            refs
        };
        b = b.references(refs.join(" "));
    }
    let msg = b
        .body(flowed(&d.body))
        .map_err(|e| ComposeError::Build(e.to_string()))?;
    Ok(Composed {
        message_id: message_id.to_string(),
        envelope_from: from.address.to_string(),
        recipients: d.to.iter().map(|a| a.to_string()).collect(),
        subject,
        raw: msg.formatted(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(subject: &str) -> Draft {
        Draft {
            case_id: Some("SEC-2026-0001".into()),
            kind: "receipt",
            to: vec![Address::parse("jane@example.com").unwrap()],
            subject: subject.into(),
            body: "Hello\n\nThis is a long line that goes on and on and on well past the seventy-eight character limit of mail.\n-- \nTeam".into(),
            in_reply_to: Some("<orig@example.com>".into()),
            references: vec!["<orig@example.com>".into(), "<bad\r\nBcc: x@y>".into()],
            auto_submitted: "auto-replied",
            automatic: true,
            to_reporter: true,
        }
    }

    fn build(d: &Draft) -> String {
        let from = Mailbox::parse("Security Team <security@example.org>").unwrap();
        let c = compose(
            d,
            &from,
            &from.address,
            "security@example.org",
            "<m1@example.org>",
            Utc::now(),
        )
        .unwrap();
        String::from_utf8(c.raw).unwrap()
    }

    #[test]
    fn headers_are_set_and_safe() {
        let raw = build(&draft("[SEC-2026-0001] Re: XSS\r\nBcc: victim@example.net"));
        let head = raw.split("\r\n\r\n").next().unwrap();
        assert!(head.contains("Auto-Submitted: auto-replied"));
        assert!(head.contains("X-Loop: security@example.org"));
        assert!(head.contains("Message-ID: <m1@example.org>"));
        assert!(head.contains("In-Reply-To: <orig@example.com>"));
        assert!(!head.lines().any(|l| l.starts_with("Bcc:")), "{head}");
        assert!(!head.contains("bad"), "{head}");
        let parsed = crate::message::Incoming::parse(raw.as_bytes());
        assert_eq!(parsed.subject, "[SEC-2026-0001] Re: XSS Bcc: victim@example.net");
        assert_eq!(parsed.to.len(), 1);
    }

    #[test]
    fn body_lines_are_short_and_flowed() {
        let f = flowed("a ".repeat(100).trim());
        assert!(f.lines().all(|l| l.chars().count() <= 78));
        assert!(f.lines().next().unwrap().ends_with(' '));
        assert_eq!(flowed("From me\n>x\n--"), " From me\r\n >x\r\n-- \r\n");
    }

    #[test]
    fn tags_are_not_doubled() {
        assert_eq!(
            tagged_subject("[SEC-2026-0001]", "Re: [SEC-2026-0001] x"),
            "Re: [SEC-2026-0001] x"
        );
        assert_eq!(tagged_subject("[SEC-2026-0001]", "x\r\ny"), "[SEC-2026-0001] x y");
    }
}

//! Is the report in the email body, or only behind a link or an attachment?

use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

use super::checklist::Missing;
use super::Analyzer;
use crate::message::Attachment;

/// The contract's `body_check` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BodyCheck {
    Ok,
    LinkOnly,
    AttachmentOnly,
    TooShort,
    /// Encrypted, and the list's key could not open it (another key, damaged data).
    Undecryptable,
}

impl BodyCheck {
    pub fn as_str(self) -> &'static str {
        match self {
            BodyCheck::Ok => "ok",
            BodyCheck::LinkOnly => "link-only",
            BodyCheck::AttachmentOnly => "attachment-only",
            BodyCheck::TooShort => "too-short",
            BodyCheck::Undecryptable => "undecryptable",
        }
    }
}

static POINTS_TO_ATTACHMENT: LazyLock<Regex> = LazyLock::new(|| {
    super::re(
        r"(?i)\battach|\benclos|\bin\s+the\s+(?:pdf|zip|document|file|archive|screenshot)|\bsee\s+the\s+(?:pdf|zip|document|file|screenshot)|\b(?:pdf|zip|docx?)\s+(?:file\s+)?(?:contains|has|with)|添付|附件|adjunt|anexo|anhang|pièce\s+jointe",
    )
});

static POINTS_TO_LINK: LazyLock<Regex> = LazyLock::new(|| {
    super::re(
        r"(?i)\b(?:see|find|read|check|view|visit|at|here|link|below|following|gist|pastebin|drive|docs|blog|write[-\s]?up|repo(?:sitory)?|report)\b|リンク|链接|enlace",
    )
});

static URL_OR_GREETING: LazyLock<Regex> = LazyLock::new(|| {
    super::re(
        r#"(?im)\b(?:https?://|www\.|github\.com/|gist\.github\.com/)[^\s<>"'`\])}]+|^\s*(?:hi|hello|hey|dear|greetings|good\s+(?:morning|afternoon|evening))\b[^\n]{0,40}$|^\s*(?:thanks?(?:\s+you)?|thank\s+you|many\s+thanks|best(?:\s+regards)?|kind\s+regards|regards|cheers|sincerely|br|thx)\b[^\n]{0,40}$"#,
    )
});

/// Image attachments that are signature decoration, not evidence.
pub fn is_decoration(a: &Attachment) -> bool {
    let n = a.name.to_ascii_lowercase();
    a.content_type.starts_with("image/")
        && (n.starts_with("image0") || n.starts_with("outlook") || n.contains("logo") || n.contains("signature"))
        && a.size < 50_000
}

/// Characters of real prose: links, greetings and sign-offs removed, white space folded.
pub fn prose_len(own: &str) -> usize {
    let stripped = URL_OR_GREETING.replace_all(own, " ");
    stripped
        .split_whitespace()
        .map(|w| w.chars().count() + 1)
        .sum::<usize>()
}

/// `prose_len(own)` when it is at most `enough`, otherwise some value above `enough`: a long
/// report is judged on its start (bounded work), a short one on all of it.
pub fn prose_len_upto(own: &str, enough: usize) -> usize {
    // Prose never exceeds the byte count, so a prefix of a few times `enough` bytes that
    // already holds more than `enough` decides it (a prefix never counts more than the whole).
    let probe = super::window(own, enough.saturating_mul(4).saturating_add(4096));
    if probe.len() < own.len() {
        let p = prose_len(probe);
        if p > enough {
            return p;
        }
    }
    prose_len(own)
}

/// Links that point somewhere a reader would go for details: not the reporter's own test
/// server (`http://localhost:3000/...`) or a placeholder host in a command or payload.
pub fn is_pointer(url: &str) -> bool {
    let u = url.to_ascii_lowercase();
    let rest = u.split_once("://").map_or(u.as_str(), |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = if host.starts_with('[') {
        host
    } else {
        host.split(':').next().unwrap_or(host)
    };
    let local = host == "localhost"
        || host.starts_with("127.")
        || host.starts_with("10.")
        || host.starts_with("192.168.")
        || host.starts_with("169.254.")
        || host.starts_with("0.0.0.0")
        || host.starts_with("[::1]")
        || !host.contains('.')
        || [".example", ".test", ".invalid", ".localhost", ".local"]
            .iter()
            .any(|t| host.ends_with(t))
        || host
            .split('.')
            .any(|l| l == "evil" || l == "attacker" || l.starts_with("evil") || l.starts_with("attacker"));
    !local
}

/// Items found in under this many characters of prose, when the only one is the impact,
/// are a bare class name ("I found an XSS"): nothing to act on.
const BARE_CLASS_CHARS: usize = 60;

/// Signs of something technical (code, a call, a path), so that a body without any
/// checklist item still says something concrete.
static TECHNICAL: LazyLock<Regex> = LazyLock::new(|| super::re(r"\(\)|`|\w\.\w+\(|\b(?:req|res|app)\.\w+|\w/\w+/"));

/// Judges the body. `found` are the checklist items the body itself carries.
pub fn judge(a: &Analyzer, own: &str, links: &[String], attachments: &[Attachment], found: &[Missing]) -> BodyCheck {
    let prose = prose_len_upto(own, a.min_body_chars.max(a.pointer_max_chars));
    let short = prose < a.min_body_chars;
    let n = found.len();
    let pointer_sized = prose <= a.pointer_max_chars && n < 2;
    let pointers = links.iter().any(|l| is_pointer(l));
    // Short text that states at least two items is a report of its own, whatever it points at.
    let thin = short && n < 2;
    if !attachments.is_empty() && (thin || (pointer_sized && POINTS_TO_ATTACHMENT.is_match(own))) {
        // Text that points at both: whichever it names.
        if pointers && !POINTS_TO_ATTACHMENT.is_match(own) {
            return BodyCheck::LinkOnly;
        }
        return BodyCheck::AttachmentOnly;
    }
    if pointers && (thin || (pointer_sized && POINTS_TO_LINK.is_match(own))) {
        return BodyCheck::LinkOnly;
    }
    if attachments.is_empty() && POINTS_TO_ATTACHMENT.is_match(own) && short && n == 0 {
        // "see attached" but the attachment never arrived
        return BodyCheck::AttachmentOnly;
    }
    // Too short only when nothing concrete is said: no checklist item (and, in a long text,
    // nothing technical either), or only a class name in a sentence.
    if n == 0 && (short || !TECHNICAL.is_match(own)) {
        return BodyCheck::TooShort;
    }
    if short && found == [Missing::Impact] && prose < BARE_CLASS_CHARS {
        return BodyCheck::TooShort;
    }
    BodyCheck::Ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::AnalysisSettings;

    fn analyzer() -> Analyzer {
        AnalysisSettings::default().compile().unwrap()
    }

    #[test]
    fn prose_is_exact_up_to_the_bound_and_above_it_beyond() {
        let short = "Hello team,\n\nsee https://example.com/x for the details.\n\nThanks";
        assert_eq!(prose_len_upto(short, 700), prose_len(short));
        let long = "the parser backtracks on repeated separators; ".repeat(2000);
        assert!(prose_len_upto(&long, 700) > 700);
        // links at the start do not hide the prose after them
        let linky = format!(
            "{}{}",
            "https://example.com/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n".repeat(200),
            "real words ".repeat(100)
        );
        assert_eq!(prose_len_upto(&linky, 700), prose_len(&linky));
    }

    fn pdf() -> Vec<Attachment> {
        vec![Attachment {
            name: "report.pdf".into(),
            content_type: "application/pdf".into(),
            size: 40_000,
        }]
    }

    #[test]
    fn link_only() {
        let own = "Hi,\nplease see the details here: https://gist.github.com/x/abc\nThanks";
        let links = crate::analysis::links::extract(own);
        assert_eq!(judge(&analyzer(), own, &links, &[], &[]), BodyCheck::LinkOnly);
    }

    #[test]
    fn attachment_only() {
        assert_eq!(
            judge(&analyzer(), "See attached.", &[], &pdf(), &[]),
            BodyCheck::AttachmentOnly
        );
        assert_eq!(judge(&analyzer(), "", &[], &pdf(), &[]), BodyCheck::AttachmentOnly);
    }

    #[test]
    fn a_test_server_in_a_command_is_not_a_pointer() {
        for u in [
            "http://localhost:3000/x",
            "http://127.0.0.1/",
            "https://evil.example/a",
            "http://app.test/",
            "http://attacker.com/x",
        ] {
            assert!(!is_pointer(u), "{u}");
        }
        for u in [
            "https://gist.github.com/x/1",
            "https://blog.example.net/post",
            "https://drive.google.com/d/1",
        ] {
            assert!(is_pointer(u), "{u}");
        }
    }

    #[test]
    fn too_short_and_ok() {
        assert_eq!(
            judge(&analyzer(), "How do I report a bug?", &[], &[], &[]),
            BodyCheck::TooShort
        );
        let long = "The path matching in express 4.18.2 uses a regular expression that backtracks. ".repeat(5);
        use Missing::*;
        assert_eq!(
            judge(&analyzer(), &long, &[], &pdf(), &[AffectedVersions, Impact]),
            BodyCheck::Ok
        );
        // Short, but it names the version and what an attacker gains: asked only for the rest.
        let brief = "express 4.21.1: res.redirect(req.query.next) lets an attacker send users to any phishing site.";
        assert_eq!(
            judge(&analyzer(), brief, &[], &[], &[AffectedVersions, Impact]),
            BodyCheck::Ok
        );
        // A bare class name is not a report.
        assert_eq!(
            judge(&analyzer(), "I found an XSS in your website.", &[], &[], &[Impact]),
            BodyCheck::TooShort
        );
        // A long text that says nothing concrete is not a report either.
        let empty = "I identified a potential weakness that may affect the confidentiality of applications. ".repeat(4);
        assert_eq!(judge(&analyzer(), &empty, &[], &[], &[]), BodyCheck::TooShort);
    }
}

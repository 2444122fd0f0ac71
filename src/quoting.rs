//! Separates what a person wrote in this message from what they quoted or signed.

use regex::Regex;
use std::sync::LazyLock;

/// Lines that start the quoted original in common mail clients.
static REPLY_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?xi)^\s*(?:
            on\s.{0,300}\swrote:\s*$                       # Gmail, Thunderbird, Apple Mail
          | -{2,}\s*(?:original|forwarded)\s+message\s*-{2,}  # Outlook, forwards
          | _{20,}\s*$                                     # Outlook separator rule
          | le\s.{0,300}\sa\s+écrit\s*:\s*$                # French
          | am\s.{0,300}\sschrieb.{0,100}:\s*$             # German
          | el\s.{0,300}\sescribió\s*:\s*$                 # Spanish
          | em\s.{0,300}\sescreveu\s*:\s*$                 # Portuguese
          | .{0,300}(?:さんは書きました|のメッセージ:|写道)\s*[:：]?\s*$  # Japanese, Chinese
        )",
    )
    .unwrap()
});

/// Outlook's header block: `From:` followed within a few lines by `Sent:` or `Date:`.
static OUTLOOK_FROM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^\s*\*?(?:from|von|de|差出人)\s*\*?\s*[:：]").unwrap());
static OUTLOOK_SENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^\s*\*?(?:sent|date|gesendet|envoyé|enviado|送信日時)\s*\*?\s*[:：]").unwrap());

/// The part of `text` the sender wrote: quoted lines (`>`), the quoted original below a reply
/// header, and the signature (below a `-- ` line) are removed.
pub fn own_text(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<&str> = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_end();
        if trimmed == "--" || trimmed == "-- " || line == "-- " {
            break; // signature delimiter (RFC 3676 "-- ", often stripped to "--")
        }
        if REPLY_HEADER.is_match(line) {
            break;
        }
        // Gmail sometimes wraps "On ..., Name <addr>\nwrote:" over two lines.
        if line.trim_start().to_ascii_lowercase().starts_with("on ")
            && lines
                .get(i + 1)
                .is_some_and(|n| n.trim().eq_ignore_ascii_case("wrote:"))
        {
            break;
        }
        if OUTLOOK_FROM.is_match(line) && lines[i + 1..].iter().take(4).any(|l| OUTLOOK_SENT.is_match(l)) {
            break;
        }
        if line.trim_start().starts_with('>') {
            i += 1;
            continue;
        }
        out.push(line);
        i += 1;
    }
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmail_reply() {
        let t = "Thanks, here are the versions: 4.18.2\n\nOn Mon, 3 Nov 2026 at 10:00, Security Team <security@example.org> wrote:\n> Your report SEC-2026-0001\n> more";
        assert_eq!(own_text(t), "Thanks, here are the versions: 4.18.2");
    }

    #[test]
    fn gmail_wrapped_reply_header() {
        let t = "ok\nOn Mon, 3 Nov 2026 at 10:00, Security Team <security@example.org>\nwrote:\n> x";
        assert_eq!(own_text(t), "ok");
    }

    #[test]
    fn outlook_reply() {
        let t = "Sure.\r\n\r\nFrom: Security Team <security@example.org>\r\nSent: Monday, November 3, 2026 10:00 AM\r\nTo: Jane\r\nSubject: RE: x\r\n\r\nold text";
        assert_eq!(own_text(t), "Sure.");
    }

    #[test]
    fn signature_and_quotes() {
        let t = "/assign me\n> /invalid quoted\n/ack\n-- \nAlice\n/accept";
        assert_eq!(own_text(t), "/assign me\n/ack");
    }

    #[test]
    fn a_from_line_in_a_report_is_kept() {
        let t = "From: the attacker's side, send this request:\nGET / HTTP/1.1";
        assert_eq!(own_text(t), t);
    }
}

//! Separates what a person wrote in this message from what they quoted or signed.

use regex::Regex;
use std::sync::LazyLock;

/// Lines that start the quoted original in common mail clients.
const REPLY_HEADER_PATTERN: &str = r"(?xi)^\s*(?:
            on\s.{0,300}\swrote:\s*$                       # Gmail, Thunderbird, Apple Mail
          | -{2,}\s*(?:original|forwarded)\s+message\s*-{2,}  # Outlook, forwards
          | _{20,}\s*$                                     # Outlook separator rule
          | le\s.{0,300}\sa\s+écrit\s*:\s*$                # French
          | am\s.{0,300}\sschrieb.{0,100}:\s*$             # German
          | el\s.{0,300}\sescribió\s*:\s*$                 # Spanish
          | em\s.{0,300}\sescreveu\s*:\s*$                 # Portuguese
          | .{0,300}(?:さんは書きました|のメッセージ:|写道)\s*[:：]?\s*$  # Japanese, Chinese
        )";

static REPLY_HEADER: LazyLock<Regex> = LazyLock::new(|| Regex::new(REPLY_HEADER_PATTERN).unwrap());

/// Outlook's header block: `From:` followed within a few lines by `Sent:` or `Date:`.
static OUTLOOK_FROM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^\s*\*?(?:from|von|de|差出人)\s*\*?\s*[:：]").unwrap());
static OUTLOOK_SENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^\s*\*?(?:sent|date|gesendet|envoyé|enviado|送信日時)\s*\*?\s*[:：]").unwrap());

/// `s` starts with one of `words`, ASCII case-insensitively.
fn starts_with_any(s: &str, words: &[&str]) -> bool {
    words
        .iter()
        .any(|w| s.get(..w.len()).is_some_and(|p| p.eq_ignore_ascii_case(w)))
}

/// A cheap necessary condition for [`REPLY_HEADER`] (which would otherwise run on every line):
/// each of its forms starts with a short word and a space, with `--` or `__`, or is CJK.
fn may_be_reply_header(line: &str) -> bool {
    let t = line.trim_start();
    let word_then_space =
        starts_with_any(t, &["on", "le", "am", "el", "em"]) && t[2..].chars().next().is_some_and(char::is_whitespace);
    word_then_space || t.starts_with("--") || t.starts_with("__") || !t.is_ascii()
}

/// A cheap necessary condition for [`OUTLOOK_FROM`].
fn may_be_outlook_from(line: &str) -> bool {
    let t = line.trim_start();
    let t = t.strip_prefix('*').unwrap_or(t);
    starts_with_any(t, &["from", "von", "de"]) || t.starts_with("差出人")
}

/// The part of `text` the sender wrote: quoted lines (`>`), the quoted original below a reply
/// header, and the signature (below a `-- ` line) are removed.
pub fn own_text(text: &str) -> String {
    own_text_upto(text, usize::MAX)
}

/// Like [`own_text`], but stops once at least `max` bytes of own text are collected: the
/// result starts with the same `max` bytes as `own_text(text)`, give or take trailing blank
/// lines (bounded work on huge mail).
pub fn own_text_upto(text: &str, max: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<&str> = Vec::new();
    let mut kept = 0usize;
    let mut i = 0;
    while i < lines.len() && kept < max {
        let line = lines[i];
        let trimmed = line.trim_end();
        if trimmed == "--" || trimmed == "-- " || line == "-- " {
            break; // signature delimiter (RFC 3676 "-- ", often stripped to "--")
        }
        if may_be_reply_header(line) && REPLY_HEADER.is_match(line) {
            break;
        }
        // Gmail sometimes wraps "On ..., Name <addr>\nwrote:" over two lines.
        if line
            .trim_start()
            .get(..3)
            .is_some_and(|p| p.eq_ignore_ascii_case("on "))
            && lines
                .get(i + 1)
                .is_some_and(|n| n.trim().eq_ignore_ascii_case("wrote:"))
        {
            break;
        }
        if may_be_outlook_from(line)
            && OUTLOOK_FROM.is_match(line)
            && lines[i + 1..].iter().take(4).any(|l| OUTLOOK_SENT.is_match(l))
        {
            break;
        }
        if line.trim_start().starts_with('>') {
            i += 1;
            continue;
        }
        out.push(line);
        kept += line.len() + 1;
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
    fn the_cheap_checks_never_reject_a_header_line() {
        for l in [
            "On Mon, 3 Nov 2026 at 10:00, Security Team <security@example.org> wrote:",
            "  ON\tMON, 3 NOV 2026, X <x@example.org> WROTE:",
            "-----Original Message-----",
            "---------- Forwarded message ---------",
            "________________________________",
            "Le lun. 3 nov. 2026 à 10:00, X <x@example.org> a ÉCRIT :",
            "Am Mo., 3. Nov. 2026 um 10:00 Uhr schrieb X <x@example.org>:",
            "El lun, 3 nov 2026 a las 10:00, X (<x@example.org>) escribió:",
            "Em seg., 3 de nov. de 2026 às 10:00, X <x@example.org> escreveu:",
            "2026年11月3日(月) 10:00 X <x@example.org>さんは書きました:",
            "在 2026年11月3日 10:00，X 写道：",
            "\u{3000}On Monday X wrote:",
        ] {
            assert!(REPLY_HEADER.is_match(l), "{l}");
            assert!(may_be_reply_header(l), "{l}");
        }
        for l in [
            "From: Security Team <security@example.org>",
            " *Von:* X",
            "差出人： X",
            "DE : x",
        ] {
            assert!(OUTLOOK_FROM.is_match(l) && may_be_outlook_from(l), "{l}");
        }
        for l in ["Steps to reproduce:", "the server is crashed", "only ASCII here"] {
            assert!(!may_be_reply_header(l) && !may_be_outlook_from(l), "{l}");
        }
    }

    #[test]
    fn bounded_own_text_is_a_prefix_of_the_whole() {
        let t = format!(
            "{}> quoted\n{}",
            "own words here\n".repeat(1000),
            "more own words\n".repeat(1000)
        );
        let whole = own_text(&t);
        let part = own_text_upto(&t, 4096);
        assert!(part.len() >= 4096 && part.len() < 4096 + 20, "{}", part.len());
        assert!(whole.starts_with(&part));
        assert_eq!(own_text_upto(&t, usize::MAX), whole);
        assert!(!whole.contains("quoted"));
    }

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

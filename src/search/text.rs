//! What of a message is searched, and what of a report the similar-case scorer reads.
//!
//! Search indexes a message's own words: quoted replies and the signature are left out, so a
//! thread does not match ten times on the text it quotes. The scorer reads the report's own
//! words too, except when they are only a line above a forwarded or quoted report ("resending
//! this, original below"): then the forwarded report is what it is about.

use crate::quoting;

/// Most text indexed per message or note (bytes); the rest of a huge mail is not searched.
pub const MAX_INDEXED_BYTES: usize = 64 * 1024;

/// Own text shorter than this is probably a covering line for a forwarded report.
const COVER_NOTE_BYTES: usize = 400;

/// The text of a message to index: its own words, at most [`MAX_INDEXED_BYTES`].
pub fn indexed(body: &str) -> String {
    truncate(quoting::own_text_upto(body, MAX_INDEXED_BYTES), MAX_INDEXED_BYTES)
}

/// The text of a new report for the similar-case scorer, at most `max` bytes: its own words,
/// or, when those are only a short note above a quoted or forwarded report, the whole text
/// with quote marks taken off.
pub fn for_similarity(body: &str, max: usize) -> String {
    let own = quoting::own_text_upto(body, max);
    if own.trim().len() >= COVER_NOTE_BYTES || body.trim().len() <= own.trim().len() + COVER_NOTE_BYTES / 4 {
        return truncate(own, max);
    }
    let mut whole = String::with_capacity(body.len().min(max));
    for line in body.lines() {
        if whole.len() >= max {
            break;
        }
        let mut l = line.trim_start();
        while let Some(rest) = l.strip_prefix('>') {
            l = rest.strip_prefix(' ').unwrap_or(rest);
        }
        whole.push_str(l);
        whole.push('\n');
    }
    truncate(whole, max)
}

/// `s` cut to at most `max` bytes, on a character boundary.
fn truncate(mut s: String, max: usize) -> String {
    let end = prefix(&s, max).len();
    s.truncate(end);
    s
}

/// The longest start of `s` of at most `max` bytes that ends on a character boundary.
pub fn prefix(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexed_text_leaves_out_quotes_and_signature() {
        let body = "The fix works for me.\n\nOn Mon, 1 Jan 2026, Alice <a@example.org> wrote:\n> secret quoted text\n-- \nBob\n";
        let t = indexed(body);
        assert!(t.contains("The fix works"));
        assert!(!t.contains("secret quoted"));
        assert!(!t.contains("Bob"));
    }

    #[test]
    fn indexed_text_is_bounded() {
        let body = "ü".repeat(MAX_INDEXED_BYTES);
        let t = indexed(&body);
        assert!(t.len() <= MAX_INDEXED_BYTES);
    }

    #[test]
    fn a_forwarded_report_is_read_for_similarity() {
        let report = "qs.parse lets a[__proto__][x]=1 pollute Object.prototype. ".repeat(12);
        let fwd = format!("Resending, no answer yet.\n\n---------- Forwarded message ---------\n{report}");
        assert!(for_similarity(&fwd, 10_000).contains("qs.parse"));
        let quoted = format!("Any news on this?\n\nOn Mon, Jan 1, 2026, Eve <e@example.net> wrote:\n> {report}\n");
        let t = for_similarity(&quoted, 10_000);
        assert!(t.contains("Any news") && t.contains("qs.parse"));
    }

    #[test]
    fn a_full_report_is_read_without_its_quotes() {
        let own = "A long report in my own words about res.redirect. ".repeat(10);
        let body = format!("{own}\n\nOn Mon, Jan 1, 2026, Eve <e@example.net> wrote:\n> unrelated quoted thread\n");
        let t = for_similarity(&body, 10_000);
        assert!(t.contains("res.redirect") && !t.contains("unrelated quoted"));
        assert!(for_similarity(&body, 20).len() <= 20);
    }
}

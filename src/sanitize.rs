//! Makes hostile header text safe to put into an outgoing header or a log line.

/// Longest header text we copy from incoming mail into outgoing mail.
pub const MAX_HEADER_TEXT: usize = 200;

/// One line of printable text: control characters (CR, LF, NUL, ...) become spaces,
/// runs of white space fold to one, and the result is cut at [`MAX_HEADER_TEXT`] characters.
pub fn header_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_HEADER_TEXT * 4));
    let mut last_space = true;
    let mut count = 0;
    for c in s.chars() {
        let c = if c.is_control() || c.is_whitespace() { ' ' } else { c };
        if c == ' ' {
            if last_space {
                continue;
            }
            last_space = true;
        } else {
            last_space = false;
        }
        if count == MAX_HEADER_TEXT {
            out.push('…');
            break;
        }
        out.push(c);
        count += 1;
    }
    out.trim_end().to_string()
}

/// A Message-ID as it may appear in `In-Reply-To`/`References`: `<...>` with no spaces or
/// control characters, at most 250 bytes. Anything else is dropped.
pub fn message_id(s: &str) -> Option<String> {
    let t = s.trim().trim_start_matches('<').trim_end_matches('>');
    if t.is_empty()
        || t.len() > 250
        || !t.contains('@')
        || t.chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '<' || c == '>' || !c.is_ascii())
    {
        return None;
    }
    Some(format!("<{t}>"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_injection_is_neutralised() {
        let s = header_text("Hello\r\nBcc: victim@example.com\0 x");
        assert!(!s.contains('\r') && !s.contains('\n') && !s.contains('\0'));
        assert_eq!(s, "Hello Bcc: victim@example.com x");
    }

    #[test]
    fn long_text_is_cut() {
        let s = header_text(&"a".repeat(10_000));
        assert_eq!(s.chars().count(), MAX_HEADER_TEXT + 1);
    }

    #[test]
    fn message_ids() {
        assert_eq!(message_id("<a@b>").as_deref(), Some("<a@b>"));
        assert_eq!(message_id("a@b").as_deref(), Some("<a@b>"));
        assert_eq!(message_id("<a@b>\r\nBcc: x"), None);
        assert_eq!(message_id("nope"), None);
    }
}

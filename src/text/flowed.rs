//! RFC 3676 `format=flowed` bodies: each paragraph is one line of the text we write, sent
//! wrapped with soft breaks so that every mail client shows clean paragraphs. Pure.
//!
//! The input is plain text in which every line break is meant (a paragraph, a list item, a
//! table row). A line longer than the width is cut at spaces; each piece but the last ends
//! in a space (a soft break), which a flowed reader joins again. Quoted lines (`>`, `> >`)
//! keep their depth on every piece, lines starting with a space, `>` or `From ` are
//! space-stuffed, trailing white space of hard lines is dropped (it would make them soft),
//! and the signature separator stays `-- `.

/// The width we wrap at (RFC 3676 recommends at most 78, 72 preferred).
pub const WIDTH: usize = 72;

/// `text` as a format=flowed body (DelSp=no) with CRLF line ends, wrapped at [`WIDTH`].
pub fn encode(text: &str) -> String {
    encode_width(text, WIDTH)
}

/// [`encode`] at another width (a word longer than the width stays whole on its own line).
pub fn encode_width(text: &str, width: usize) -> String {
    let width = width.max(10);
    let mut out = String::with_capacity(text.len() + text.len() / 16 + 2);
    for raw in text.lines() {
        let line = raw.trim_end();
        if line == "--" {
            out.push_str("-- \r\n");
            continue;
        }
        let (depth, content) = quote_depth(line);
        if depth > 0 && content.is_empty() {
            out.push_str(&">".repeat(depth));
            out.push_str("\r\n");
            continue;
        }
        let prefix = if depth > 0 {
            // Quote marks, then always one (stuffing) space: a reader strips exactly one.
            format!("{} ", ">".repeat(depth))
        } else {
            String::new()
        };
        let avail = width.saturating_sub(prefix.chars().count()).max(10);
        for piece in pieces(content, avail, depth == 0) {
            out.push_str(&prefix);
            if depth == 0 && needs_stuffing(piece) {
                out.push(' ');
            }
            out.push_str(piece);
            out.push_str("\r\n");
        }
    }
    out
}

/// The quote depth of a line (`>`, `>>`, `> > `) and the text after the marks (without the
/// one space that usually follows them).
fn quote_depth(line: &str) -> (usize, &str) {
    let mut depth = 0;
    let mut rest = line;
    while let Some(r) = rest.strip_prefix('>') {
        depth += 1;
        rest = r;
        // `> > x`: a space between marks belongs to the marks.
        if let Some(r2) = rest.strip_prefix(' ') {
            if r2.starts_with('>') {
                rest = r2;
            }
        }
    }
    if depth > 0 {
        rest = rest.strip_prefix(' ').unwrap_or(rest);
    }
    (depth, rest)
}

fn needs_stuffing(piece: &str) -> bool {
    piece.starts_with(' ') || piece.starts_with('>') || piece.starts_with("From ")
}

/// Cuts `s` into pieces of at most `avail` characters at spaces (one fewer for a piece that
/// will be space-stuffed, when `stuffable`); every piece but the last ends with the run of
/// spaces it was cut at. An empty line is one empty piece.
fn pieces(s: &str, avail: usize, stuffable: bool) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        let room = if stuffable && needs_stuffing(rest) {
            avail - 1
        } else {
            avail
        };
        if rest.chars().count() <= room {
            break;
        }
        // The end of the space run after each cuttable space, and whether the piece up to
        // there (spaces included) fits; never an empty piece.
        let cuts = rest
            .char_indices()
            .enumerate()
            .filter(|&(_, (i, c))| c == ' ' && cuttable(&rest[..i]))
            .map(|(n, (i, _))| {
                let run = rest[i..].len() - rest[i..].trim_start_matches(' ').len();
                (i + run, n + run <= room)
            });
        let mut fitting = None;
        let mut first = None;
        for (end, fits) in cuts {
            first.get_or_insert(end);
            if !fits {
                break; // pieces only grow from here
            }
            fitting = Some(end);
        }
        // A word longer than the line: cut after it.
        let Some(end) = fitting.or(first) else { break };
        if end == rest.len() {
            break; // only spaces after the cut: nothing to carry to a next line
        }
        out.push(&rest[..end]);
        rest = &rest[end..];
    }
    out.push(rest);
    out
}

/// May a soft break follow `before`? Not at the start of the line, and not right after a
/// lone `--` (the piece `-- ` would read as a signature separator).
fn cuttable(before: &str) -> bool {
    let t = before.trim_start();
    !t.is_empty() && t != "--"
}

/// Decodes a format=flowed body (DelSp=no) into its logical lines: soft breaks joined,
/// stuffing removed, quote marks kept as `> ` per depth. Used by the tests, and to show a
/// flowed body back to a person.
pub fn decode(body: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut open: Option<(usize, String)> = None;
    if body.is_empty() {
        return out;
    }
    // Every line ends with CRLF (a bare LF is taken too); the last terminator ends no line.
    let body = body
        .strip_suffix('\n')
        .map(|b| b.strip_suffix('\r').unwrap_or(b))
        .unwrap_or(body);
    for line in body.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)) {
        let depth = line.chars().take_while(|c| *c == '>').count();
        let mut content = &line[depth..];
        content = content.strip_prefix(' ').unwrap_or(content);
        // The signature separator `-- ` is the one line that ends in a space and is hard.
        let soft = content.ends_with(' ') && content != "-- ";
        match open.take() {
            Some((d, mut acc)) if d == depth => {
                acc.push_str(content);
                if soft {
                    open = Some((d, acc));
                } else {
                    out.push(quoted(d, &acc));
                }
            }
            Some((d, acc)) => {
                // A quote depth change ends a paragraph (RFC 3676 4.5).
                out.push(quoted(d, &acc));
                if soft {
                    open = Some((depth, content.to_string()));
                } else {
                    out.push(quoted(depth, content));
                }
            }
            None => {
                if soft {
                    open = Some((depth, content.to_string()));
                } else {
                    out.push(quoted(depth, content));
                }
            }
        }
    }
    if let Some((d, acc)) = open {
        out.push(quoted(d, &acc));
    }
    out
}

fn quoted(depth: usize, text: &str) -> String {
    if depth == 0 {
        text.to_string()
    } else if text.is_empty() {
        ">".repeat(depth)
    } else {
        format!("{} {text}", ">".repeat(depth))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PARAGRAPH: &str = "A member of the team will reply to you personally within 48 hours. Within 48 hours after that, you will get a more detailed response with the next steps.";

    #[test]
    fn a_long_paragraph_gets_soft_breaks_only() {
        let body = encode(PARAGRAPH);
        let lines: Vec<&str> = body.split_terminator("\r\n").collect();
        assert!(lines.len() >= 2, "{body:?}");
        for l in &lines[..lines.len() - 1] {
            assert!(l.ends_with(' '), "soft break expected: {l:?}");
            assert!(l.chars().count() <= WIDTH, "too long: {l:?}");
        }
        assert!(!lines.last().unwrap().ends_with(' '));
        assert_eq!(decode(&body), vec![PARAGRAPH.to_string()]);
    }

    #[test]
    fn hard_lines_stay_hard() {
        let text = "What happens next:\n- one\n- two   \n\nBye";
        let body = encode(text);
        assert_eq!(body, "What happens next:\r\n- one\r\n- two\r\n\r\nBye\r\n");
    }

    #[test]
    fn stuffing_and_signature() {
        assert_eq!(
            encode("From me\n>x\n indented\n--\n-- "),
            " From me\r\n> x\r\n  indented\r\n-- \r\n-- \r\n"
        );
        // ">x" is a quote (depth 1): quote marks, then one space.
        assert_eq!(
            decode(" From me\r\n  indented\r\n-- \r\n"),
            vec!["From me", " indented", "-- "]
        );
    }

    #[test]
    fn quoted_lines_keep_their_depth_on_every_piece() {
        let text = format!("> > {PARAGRAPH}\n> short");
        let body = encode(&text);
        let lines: Vec<&str> = body.split_terminator("\r\n").collect();
        assert!(lines.len() >= 3);
        for l in &lines[..lines.len() - 1] {
            assert!(l.starts_with(">> "), "{l:?}");
        }
        assert_eq!(lines.last(), Some(&"> short"));
        assert_eq!(decode(&body), vec![format!(">> {PARAGRAPH}"), "> short".to_string()]);
    }

    #[test]
    fn a_word_longer_than_the_line_stays_whole() {
        let url = format!("https://example.org/{}", "a".repeat(90));
        let body = encode(&format!("See {url} for details"));
        assert_eq!(body, format!("See \r\n{url} \r\nfor details\r\n"));
    }

    #[test]
    fn no_piece_starts_with_spaces_from_a_double_space() {
        let text = format!("{}  {}", "word ".repeat(13).trim_end(), "next ".repeat(10).trim_end());
        let body = encode(&text);
        for l in body.split_terminator("\r\n") {
            assert!(!l.starts_with(' '), "{l:?}");
        }
        assert_eq!(decode(&body), vec![text]);
    }

    #[test]
    fn a_stuffed_piece_and_its_space_run_fit_the_width() {
        // Found by the property below: a line starting with spaces is stuffed (one more
        // character), and the run of spaces carried with a piece counts too.
        let text = "    > aA>aA>a>>AAA>>A>Aa>   >   aaA>a>aAAFromaa>  > aAa--      From-->   Aa";
        let body = encode(text);
        for l in body.split_terminator("\r\n") {
            assert!(l.chars().count() <= WIDTH, "{l:?} is {} long", l.chars().count());
        }
        assert_eq!(decode(&body), normalised(text));
    }

    fn normalised(text: &str) -> Vec<String> {
        text.lines()
            .map(|l| {
                let l = l.trim_end();
                if l == "--" {
                    return "-- ".to_string();
                }
                let (d, c) = quote_depth(l);
                quoted(d, c)
            })
            .collect()
    }

    proptest! {
        #[test]
        fn decoding_gives_back_the_lines(words in proptest::collection::vec("[a-zA-Z>]{1,12}|From|  | |\n|\n\n|> |-- |--", 0..120)) {
            let text: String = words.concat();
            let body = encode(&text);
            prop_assert_eq!(decode(&body), normalised(&text));
            for l in body.split_terminator("\r\n") {
                let longest_word = l.split(' ').map(|w| w.chars().count()).max().unwrap_or(0);
                prop_assert!(l.chars().count() <= WIDTH || longest_word > WIDTH - 10, "{:?}", l);
            }
        }
    }
}

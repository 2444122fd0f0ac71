//! A report's text cut, in one pass over its lines, into prose and code blocks under the
//! section they belong to (a workaround's code is not a way to reproduce).

use regex::Regex;
use std::sync::LazyLock;

/// What a run of lines is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Prose,
    /// A fenced (```) or indented code block.
    Code,
}

/// The kind of section a block sits in, from the nearest heading above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Other,
    /// Workarounds, mitigations, fixes, patches, remediation: code there is not an attack.
    Fix,
    /// References and links.
    References,
}

/// A run of lines of one kind: `start..end` are byte offsets into the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block<'a> {
    pub kind: Kind,
    pub section: Section,
    pub start: usize,
    pub end: usize,
    /// The info string of a fence (```js -> "js"), empty otherwise.
    pub lang: &'a str,
}

/// Headings (and "Label:" lines) that open a section whose code is not an attack.
static FIX_HEADING: LazyLock<Regex> = LazyLock::new(|| {
    super::re(
        r"(?i)^(?:workarounds?|mitigations?|remediation|recommendations?|recommended\s+fix|suggested\s+(?:fix|patch|change)|proposed\s+(?:fix|patch)|possible\s+fix|(?:the\s+)?fix(?:es)?|patch(?:es|ed)?|how\s+to\s+fix|solutions?|temporary\s+fix)\b",
    )
});
/// "Label:" lines that open an ordinary section (a bare "Use this:" does not end a workaround).
static OTHER_HEADING: LazyLock<Regex> = LazyLock::new(|| {
    super::re(
        r"(?i)^(?:impact|details?|summary|description|overview|reproduc\w*|steps?\b|how\s+to\s+reproduce|poc|proof|exploit\w*|affected|versions?|severity|root\s+cause|analysis|environment|expected|actual|result|vulnerability|affected\s+versions?|package|type|cause)",
    )
});
static REFERENCES_HEADING: LazyLock<Regex> =
    LazyLock::new(|| super::re(r"(?i)^(?:references?|links?|credits?|timeline)\b"));

/// The text of a heading line without its markup (`### Impact`, `**Impact:**`, `Impact:`),
/// or None when the line is not a heading.
pub fn heading<'a>(line: &'a str, next: Option<&str>) -> Option<&'a str> {
    let t = line.trim();
    if t.is_empty() || t.len() > 80 {
        return None;
    }
    if let Some(h) = t.strip_prefix('#') {
        return Some(h.trim_start_matches('#').trim().trim_end_matches(':').trim());
    }
    if t.starts_with("**") {
        let inner = t.trim_start_matches('*');
        if let Some(end) = inner.find("**") {
            return Some(inner[..end].trim().trim_end_matches(':').trim());
        }
    }
    // Setext heading: a line followed by ---- or ====
    if next.is_some_and(|n| {
        let n = n.trim();
        n.len() >= 3 && (n.bytes().all(|b| b == b'-') || n.bytes().all(|b| b == b'='))
    }) {
        return Some(t);
    }
    // "Label:" or "Label: text" at the start of a line, the label a few words long.
    if let Some(colon) = t
        .find(':')
        .filter(|&c| t[c + 1..].chars().next().is_none_or(char::is_whitespace))
    {
        let label = &t[..colon];
        let words = label.split_whitespace().count();
        if (1..=5).contains(&words) && label.len() <= 40 && label.chars().next().is_some_and(char::is_alphabetic) {
            return Some(label.trim());
        }
    }
    None
}

fn section_of(h: &str) -> Section {
    let h = h.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.' || c == ')' || c == '[' || c == ' ');
    if FIX_HEADING.is_match(h) {
        Section::Fix
    } else if REFERENCES_HEADING.is_match(h) {
        Section::References
    } else {
        Section::Other
    }
}

/// Cuts `text` into blocks. Every byte belongs to exactly one block, in order.
pub fn split(text: &str) -> Vec<Block<'_>> {
    let mut out: Vec<Block> = Vec::new();
    let mut section = Section::Other;
    let mut fence: Option<(&str, usize, &str)> = None; // (marker, block start, lang)
    let mut pos = 0;
    let mut prev_blank = true;
    let mut lines = text.split_inclusive('\n').peekable();
    fn push<'a>(out: &mut Vec<Block<'a>>, kind: Kind, section: Section, start: usize, end: usize, lang: &'a str) {
        if end <= start {
            return;
        }
        if let Some(last) = out.last_mut() {
            if last.kind == kind && last.section == section && last.end == start && kind == Kind::Prose {
                last.end = end;
                return;
            }
        }
        out.push(Block {
            kind,
            section,
            start,
            end,
            lang,
        });
    }
    while let Some(raw) = lines.next() {
        let start = pos;
        pos += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let t = line.trim_start();
        if let Some((marker, bstart, lang)) = fence {
            if t.starts_with(marker) && t.trim_start_matches(marker.as_bytes()[0] as char).trim().is_empty() {
                push(&mut out, Kind::Code, section, bstart, start, lang);
                push(&mut out, Kind::Prose, section, start, pos, "");
                fence = None;
                prev_blank = true;
            }
            continue;
        }
        if t.starts_with("```") || t.starts_with("~~~") {
            let marker = &t[..3];
            let lang = t.trim_start_matches(marker.as_bytes()[0] as char).trim();
            push(&mut out, Kind::Prose, section, start, pos, "");
            fence = Some((marker, pos, lang));
            continue;
        }
        let indented = (line.starts_with("    ") || line.starts_with('\t')) && !t.is_empty();
        let in_code = out
            .last()
            .is_some_and(|b| b.kind == Kind::Code && b.end == start && b.lang.is_empty());
        if indented && (prev_blank || in_code) {
            match out.last_mut() {
                Some(b) if in_code => b.end = pos,
                _ => out.push(Block {
                    kind: Kind::Code,
                    section,
                    start,
                    end: pos,
                    lang: "",
                }),
            }
            prev_blank = false;
            continue;
        }
        if in_code && t.is_empty() {
            // a blank line inside an indented block keeps it open
            if let Some(b) = out.last_mut() {
                b.end = pos;
            }
            prev_blank = true;
            continue;
        }
        let next = lines.peek().map(|n| n.trim_end_matches(['\n', '\r']));
        if let Some(h) = heading(line, next) {
            // Markup headings always start a section; a "Label:" line only when it names one.
            let strong = t.starts_with('#') || t.starts_with("**") || h.len() == t.len();
            let kind = section_of(h);
            if strong || kind != Section::Other || OTHER_HEADING.is_match(h) {
                section = kind;
            }
        }
        push(&mut out, Kind::Prose, section, start, pos, "");
        prev_blank = t.is_empty();
    }
    if let Some((_, bstart, lang)) = fence {
        // an unclosed fence runs to the end
        push(&mut out, Kind::Code, section, bstart, text.len(), lang);
    }
    out
}

/// The block holding byte `at`.
pub fn at<'b, 'a>(blocks: &'b [Block<'a>], at: usize) -> Option<&'b Block<'a>> {
    let i = blocks.partition_point(|b| b.end <= at);
    blocks.get(i).filter(|b| b.start <= at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(t: &str) -> Vec<(Kind, Section, &str)> {
        split(t)
            .into_iter()
            .map(|b| (b.kind, b.section, t[b.start..b.end].trim()))
            .collect()
    }

    #[test]
    fn fences_indents_and_sections() {
        let t = "Intro\n\n```js\nconst a = 1\n```\n\n    curl x\n    more\n\n### Workarounds\n\nUse this:\n```\nfix()\n```\n## Impact\nbad";
        let k = kinds(t);
        assert!(k.contains(&(Kind::Code, Section::Other, "const a = 1")), "{k:?}");
        assert!(k.contains(&(Kind::Code, Section::Other, "curl x\n    more")), "{k:?}");
        assert!(k.contains(&(Kind::Code, Section::Fix, "fix()")), "{k:?}");
        assert_eq!(k.last().unwrap(), &(Kind::Prose, Section::Other, "## Impact\nbad"));
        // every byte in exactly one block, in order
        let b = split(t);
        assert_eq!(b[0].start, 0);
        assert_eq!(b.last().unwrap().end, t.len());
        assert!(b.windows(2).all(|w| w[0].end == w[1].start));
        assert_eq!(at(&b, t.find("fix()").unwrap()).unwrap().section, Section::Fix);
    }

    #[test]
    fn headings() {
        assert_eq!(heading("### Impact", None), Some("Impact"));
        assert_eq!(heading("**Impact:** bad things", None), Some("Impact"));
        assert_eq!(heading("Open http://localhost:3000/ in a browser.", None), None);
        assert_eq!(
            heading("Workaround until a fix ships:", None),
            Some("Workaround until a fix ships")
        );
        assert_eq!(heading("Reproduction", Some("------------")), Some("Reproduction"));
        assert_eq!(heading("The server crashes when it gets: this", None), None);
        assert_eq!(section_of("Suggested fix"), Section::Fix);
        assert_eq!(section_of("2. Mitigation"), Section::Fix);
        assert_eq!(section_of("Impact"), Section::Other);
    }

    #[test]
    fn an_unclosed_fence_runs_to_the_end() {
        let k = kinds("x\n```\ncode\nmore");
        assert_eq!(k.last().unwrap(), &(Kind::Code, Section::Other, "code\nmore"));
    }
}

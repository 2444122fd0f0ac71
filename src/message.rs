//! A received email reduced to the plain facts the process needs (parsed with mail-parser).
//!
//! Parsing is total: any byte string gives an [`Incoming`], with `parse_problem` set when the
//! mail could not be read as MIME. Nothing here trusts the sender.

use chrono::{DateTime, TimeZone, Utc};
use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::{HeaderValue, MessageParser, MimeHeaders, PartType};
use regex::Regex;
use std::sync::LazyLock;

use crate::address::{Address, Mailbox};
use crate::sanitize;

/// An attachment's name, type and size (never its contents).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub size: usize,
}

/// The facts of one received email.
#[derive(Debug, Clone, Default)]
pub struct Incoming {
    /// Normalised `<id@host>`, or None when missing or unusable.
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub from: Option<Mailbox>,
    pub reply_to: Option<Address>,
    pub x_original_from: Option<Address>,
    /// `X-Original-Sender` (Google Groups names the author there when it rewrites From).
    pub x_original_sender: Option<Address>,
    /// `Return-Path` as written (`<>` is the null sender), if present.
    pub return_path: Option<String>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    /// Total number of addresses in To and Cc (the lists above are capped).
    pub recipient_count: usize,
    /// Decoded subject, untrusted (sanitise before use in a header).
    pub subject: String,
    pub date: Option<DateTime<Utc>>,
    pub auto_submitted: Option<String>,
    pub precedence: Option<String>,
    pub x_auto_response_suppress: bool,
    pub x_loop: Vec<String>,
    pub list_id: Option<String>,
    /// `multipart/report` (a delivery or disposition report).
    pub is_report: bool,
    /// Raw `Authentication-Results` values, topmost first.
    pub authentication_results: Vec<String>,
    /// The decoded body text (text/plain preferred, HTML converted).
    pub text: String,
    /// Only an HTML body was present.
    pub html_only: bool,
    /// `http(s)` link targets (`href`) of the HTML body parts, before any quoted part: the
    /// text conversion keeps only the anchor text, so `<a href="URL">my issue</a>` would
    /// otherwise lose the URL.
    pub html_links: Vec<String>,
    /// A text part declared a charset no decoder knows.
    pub unknown_charset: bool,
    pub attachments: Vec<Attachment>,
    /// Message-IDs found inside the body (a bounce's returned headers).
    pub embedded_message_ids: Vec<String>,
    /// Set when the mail could not be read as MIME, or a part failed to decode.
    pub parse_problem: Option<String>,
    /// Only the first [`MAX_PARSE`] bytes were parsed (a larger message).
    pub partial: bool,
}

const MAX_LISTED_RECIPIENTS: usize = 50;
const MAX_IDS: usize = 100;
/// Most bytes of a message parsed (4 MiB).
pub const MAX_PARSE: usize = 4 << 20;
/// Most body text kept for analysis (1 MiB).
pub const MAX_TEXT: usize = 1 << 20;

static MSGID_IN_TEXT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?im)^\s*(?:message-id|in-reply-to|references)\s*:\s*(.{1,2000})$").unwrap());
static HREF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)<a\s[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))"#).unwrap());
/// Where the quoted original starts in HTML mail (Gmail, Apple Mail, Thunderbird, Outlook).
static HTML_QUOTE_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)<blockquote\b|<div[^>]*?\b(?:class|id)\s*=\s*["']?(?:gmail_quote|divRplyFwdMsg|moz-cite-prefix|appendonsend|OLK_SRC_BODY_SECTION)|<hr[^>]*?\bid\s*=\s*["']?stopSpelling|<div[^>]*?\bstyle\s*=\s*["'][^"']*?border-top:\s*solid\s+#(?:E1E1E1|B5C4DF)"#).unwrap()
});
/// Most link targets kept from the HTML parts.
const MAX_HTML_LINKS: usize = 200;

/// The `http(s)` `href` targets in `html` before its quoted part, entities decoded, in order.
pub fn html_hrefs(html: &str, out: &mut Vec<String>) {
    let own = match HTML_QUOTE_START.find(html) {
        Some(q) => &html[..q.start()],
        None => html,
    };
    for c in HREF.captures_iter(own) {
        if out.len() >= MAX_HTML_LINKS {
            break;
        }
        let Some(v) = c.get(1).or_else(|| c.get(2)).or_else(|| c.get(3)) else {
            continue;
        };
        // The attribute value is HTML: decode `&amp;` and friends like the text conversion does.
        let url = mail_parser::decoders::html::html_to_text(v.as_str().trim());
        let url = url.trim();
        let lower = url.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://"))
            || url.chars().any(char::is_whitespace)
            || url.len() > 2000
        {
            continue;
        }
        if !out.iter().any(|u| u == url) {
            out.push(url.to_string());
        }
    }
}

static ANGLE_ID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<([^<>\s]{1,250}@[^<>\s]{1,250})>").unwrap());

fn ids_of(v: &HeaderValue) -> Vec<String> {
    let mut out = Vec::new();
    match v {
        HeaderValue::Text(t) => out.extend(sanitize::message_id(t)),
        HeaderValue::TextList(l) => out.extend(l.iter().filter_map(|t| sanitize::message_id(t))),
        _ => {}
    }
    out.truncate(MAX_IDS);
    out
}

fn first_address(v: Option<&mail_parser::Address>) -> Option<Mailbox> {
    let a = v?.first()?;
    let address = Address::parse(a.address.as_deref()?).ok()?;
    Some(Mailbox {
        name: a.name.as_deref().map(sanitize::header_text).filter(|n| !n.is_empty()),
        address,
    })
}

fn addresses(v: Option<&mail_parser::Address>, out: &mut Vec<Address>) -> usize {
    let Some(v) = v else { return 0 };
    let mut n = 0;
    let mut push = |a: &mail_parser::Addr| {
        n += 1;
        if out.len() < MAX_LISTED_RECIPIENTS {
            if let Some(addr) = a.address.as_deref().and_then(|s| Address::parse(s).ok()) {
                out.push(addr);
            }
        }
    };
    match v {
        mail_parser::Address::List(l) => l.iter().for_each(&mut push),
        mail_parser::Address::Group(g) => g.iter().flat_map(|g| g.addresses.iter()).for_each(&mut push),
    }
    n
}

fn text_header(m: &mail_parser::Message, name: &str) -> Option<String> {
    m.header_raw(name)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn charset_known(cs: &str) -> bool {
    let l = cs.trim().trim_matches('"').to_ascii_lowercase();
    matches!(l.as_str(), "utf-8" | "utf8" | "us-ascii" | "ascii" | "") || charset_decoder(l.as_bytes()).is_some()
}

impl Incoming {
    /// Reads raw message bytes. Never panics, never fails: problems are recorded.
    pub fn parse(raw: &[u8]) -> Incoming {
        // Only the first MAX_PARSE bytes are parsed: the header, the text and the names of
        // the first attachments are there; a huge attachment need not be decoded to judge a
        // report (the raw bytes are stored whole).
        if raw.len() > MAX_PARSE {
            let mut inc = Self::parse_all(&raw[..MAX_PARSE]);
            inc.partial = true;
            return inc;
        }
        Self::parse_all(raw)
    }

    fn parse_all(raw: &[u8]) -> Incoming {
        let Some(m) = MessageParser::default().parse(raw) else {
            return Incoming {
                parse_problem: Some("not a readable email message".into()),
                text: String::from_utf8_lossy(&raw[..raw.len().min(64 * 1024)]).into_owned(),
                ..Default::default()
            };
        };
        if m.headers().is_empty() {
            return Incoming {
                parse_problem: Some("no header fields".into()),
                text: String::from_utf8_lossy(&raw[..raw.len().min(64 * 1024)]).into_owned(),
                ..Default::default()
            };
        }
        let mut inc = Incoming {
            message_id: m.message_id().and_then(sanitize::message_id),
            in_reply_to: ids_of(m.in_reply_to()),
            references: ids_of(m.references()),
            from: first_address(m.from()),
            reply_to: first_address(m.reply_to()).map(|mb| mb.address),
            x_original_from: text_header(&m, "X-Original-From")
                .and_then(|s| Mailbox::parse(&s).ok())
                .map(|mb| mb.address),
            x_original_sender: text_header(&m, "X-Original-Sender")
                .and_then(|s| Mailbox::parse(&s).ok())
                .map(|mb| mb.address),
            return_path: text_header(&m, "Return-Path"),
            subject: m.subject().unwrap_or("").to_string(),
            date: m.date().and_then(|d| Utc.timestamp_opt(d.to_timestamp(), 0).single()),
            auto_submitted: text_header(&m, "Auto-Submitted"),
            precedence: text_header(&m, "Precedence"),
            x_auto_response_suppress: m.header_raw("X-Auto-Response-Suppress").is_some(),
            x_loop: m
                .header_values("X-Loop")
                .filter_map(|v| v.as_text().map(|t| t.trim().to_ascii_lowercase()))
                .collect(),
            list_id: text_header(&m, "List-Id"),
            is_report: m.content_type().is_some_and(|ct| {
                ct.ctype().eq_ignore_ascii_case("multipart")
                    && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report"))
            }),
            authentication_results: m
                .headers_raw()
                .filter(|(n, _)| n.eq_ignore_ascii_case("Authentication-Results"))
                .map(|(_, v)| v.trim().to_string())
                .take(MAX_IDS)
                .collect(),
            ..Default::default()
        };
        let mut to = Vec::new();
        let mut cc = Vec::new();
        inc.recipient_count = addresses(m.to(), &mut to) + addresses(m.cc(), &mut cc);
        inc.to = to;
        inc.cc = cc;

        // Body text: every text/plain body, or the HTML ones converted when there is no plain text.
        let mut plain = Vec::new();
        let mut html = Vec::new();
        for part in m.text_bodies().chain(m.html_bodies()) {
            if let Some(cs) = part.content_type().and_then(|ct| ct.attribute("charset")) {
                if !charset_known(cs) {
                    inc.unknown_charset = true;
                }
            }
            if part.is_encoding_problem {
                inc.parse_problem = Some("a body part could not be decoded".into());
            }
            match &part.body {
                PartType::Text(t) if !plain.iter().any(|p: &String| p == t.as_ref()) => plain.push(t.to_string()),
                PartType::Html(h) if !html.iter().any(|p: &String| p == h.as_ref()) => html.push(h.to_string()),
                _ => {}
            }
        }
        for h in &html {
            html_hrefs(h, &mut inc.html_links);
        }
        if plain.is_empty() && !html.is_empty() {
            inc.html_only = true;
            inc.text = html
                .iter()
                .map(|h| mail_parser::decoders::html::html_to_text(h))
                .collect::<Vec<_>>()
                .join("\n");
        } else {
            inc.text = plain.join("\n");
        }
        // A multipart with no boundary cannot be split: read its body as plain text.
        let root_ct = m.content_type();
        if root_ct.is_some_and(|ct| ct.ctype().eq_ignore_ascii_case("multipart") && ct.attribute("boundary").is_none())
        {
            let start = (m.root_part().offset_body as usize).min(raw.len());
            inc.text = String::from_utf8_lossy(&raw[start..raw.len().min(start + 4 * 1024 * 1024)]).into_owned();
            inc.parse_problem = Some("multipart message without a boundary".into());
            return inc.finish();
        }
        // Attachments (and the headers of any message they return, for bounces).
        for part in m.attachments() {
            let name = part
                .attachment_name()
                .map(sanitize::header_text)
                .unwrap_or_else(|| "(unnamed)".into());
            let content_type = part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(s) => format!("{}/{}", ct.ctype(), s).to_ascii_lowercase(),
                    None => ct.ctype().to_ascii_lowercase(),
                })
                .unwrap_or_else(|| "application/octet-stream".into());
            let is_returned_headers = content_type == "text/rfc822-headers"
                || content_type == "message/rfc822"
                || content_type == "message/global-headers";
            match &part.body {
                PartType::Message(inner) => {
                    inc.embedded_message_ids
                        .extend(inner.message_id().and_then(sanitize::message_id));
                    inc.embedded_message_ids.extend(ids_of(inner.references()));
                }
                PartType::Text(t) if is_returned_headers || inc.is_report => {
                    collect_ids(t, &mut inc.embedded_message_ids)
                }
                _ => {}
            }
            if inc.is_report || is_returned_headers || content_type.starts_with("message/delivery-status") {
                continue; // a report's machine parts are not attachments a person sent
            }
            let mut size = part.contents().len();
            if part.is_encoding_problem {
                // The part is kept raw (e.g. its closing boundary is missing): record it, and
                // give the decoded size when the raw text is still valid base64.
                inc.parse_problem = Some("an attachment could not be decoded".into());
                let b64 = part
                    .content_transfer_encoding()
                    .is_some_and(|e| e.trim().eq_ignore_ascii_case("base64"));
                if b64 {
                    if let Some(d) = mail_parser::decoders::base64::base64_decode(part.contents()) {
                        size = d.len();
                    }
                }
            }
            inc.attachments.push(Attachment {
                name,
                content_type,
                size,
            });
        }
        inc.finish()
    }

    fn finish(mut self) -> Incoming {
        // The analysis reads the start of the text; the raw bytes are stored whole anyway.
        if self.text.len() > MAX_TEXT {
            let mut cut = MAX_TEXT;
            while !self.text.is_char_boundary(cut) {
                cut -= 1;
            }
            self.text.truncate(cut);
        }
        // Non-standard bounces quote the returned message in the text body.
        collect_ids(&self.text, &mut self.embedded_message_ids);
        self.embedded_message_ids.sort();
        self.embedded_message_ids.dedup();
        self.embedded_message_ids.truncate(MAX_IDS);
        self
    }

    /// Did a list rewrite From? From is the list's own address, or its display name says
    /// `... via ...` (Google Groups, Mailman 3, groups.io).
    pub fn from_rewritten(&self, list_address: &str) -> bool {
        self.from.as_ref().is_some_and(|from| {
            from.address.as_str().eq_ignore_ascii_case(list_address)
                || from
                    .name
                    .as_deref()
                    .is_some_and(|n| n.to_ascii_lowercase().contains(" via "))
        })
    }

    /// The author a list names when it rewrote From: `X-Original-From`, else
    /// `X-Original-Sender`. Only these can be authenticated (by a trusted ARC seal), never
    /// Reply-To.
    pub fn original_sender(&self) -> Option<&Address> {
        self.x_original_from.as_ref().or(self.x_original_sender.as_ref())
    }

    /// The author of the report: `X-Original-From`, `X-Original-Sender` or Reply-To when a
    /// list rewrote From.
    pub fn author(&self, list_address: &str) -> Option<Address> {
        let from = self.from.as_ref()?;
        if self.from_rewritten(list_address) {
            if let Some(a) = self.original_sender().cloned().or_else(|| self.reply_to.clone()) {
                return Some(a);
            }
        }
        Some(from.address.clone())
    }

    /// Every Message-ID this mail points at, for threading: In-Reply-To, References, then
    /// for automatic mail (bounces) the Message-IDs of the message it returns.
    pub fn thread_ids(&self, automatic: bool) -> Vec<String> {
        let mut ids: Vec<String> = self.in_reply_to.clone();
        ids.extend(self.references.iter().rev().cloned());
        if automatic {
            ids.extend(self.embedded_message_ids.iter().cloned());
        }
        ids
    }
}

fn collect_ids(text: &str, out: &mut Vec<String>) {
    for cap in MSGID_IN_TEXT.captures_iter(text).take(MAX_IDS) {
        for id in ANGLE_ID.captures_iter(&cap[1]).take(MAX_IDS) {
            out.extend(sanitize::message_id(&id[1]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_message() {
        let raw = b"From: \"Jane\" <Jane@Example.com>\r\nTo: security@example.org\r\nSubject: ReDoS\r\nMessage-ID: <abc@example.com>\r\nIn-Reply-To: <x@y>\r\nReferences: <w@y> <x@y>\r\n\r\nHello there\r\n";
        let m = Incoming::parse(raw);
        assert_eq!(m.message_id.as_deref(), Some("<abc@example.com>"));
        assert_eq!(m.from.as_ref().unwrap().address.as_str(), "jane@example.com");
        assert_eq!(m.subject, "ReDoS");
        assert_eq!(m.in_reply_to, vec!["<x@y>"]);
        assert_eq!(m.references, vec!["<w@y>", "<x@y>"]);
        assert!(m.text.contains("Hello there"));
        assert!(m.parse_problem.is_none());
    }

    #[test]
    fn garbage_is_not_a_crash() {
        for raw in [&b""[..], b"\0\0\0", b"\xff\xfe garbage", b"no colon here\r\n\r\n"] {
            let _ = Incoming::parse(raw);
        }
    }

    #[test]
    fn html_link_targets_are_kept() {
        let raw = b"From: jane@example.com\r\nSubject: x\r\nContent-Type: text/html\r\n\r\n<p>See <a class=x href=\"https://github.com/expressjs/express/issues/1?a=1&amp;b=2\">my issue</a>, <A HREF='http://example.com/x'>this</A>, <a href=mailto:j@example.com>me</a> and <a href=https://example.net/y>y</a>.</p><div class=\"gmail_quote\"><a href=\"https://quoted.example/\">q</a></div>\r\n";
        let m = Incoming::parse(raw);
        assert_eq!(
            m.html_links,
            vec![
                "https://github.com/expressjs/express/issues/1?a=1&b=2",
                "http://example.com/x",
                "https://example.net/y"
            ]
        );
        assert!(
            !m.text.contains("github.com"),
            "the text conversion drops the href: {}",
            m.text
        );
    }

    #[test]
    fn list_rewritten_from() {
        let raw = b"From: \"Jane Doe via security\" <security@example.org>\r\nReply-To: jane@example.com\r\nSubject: x\r\n\r\nbody\r\n";
        let m = Incoming::parse(raw);
        assert_eq!(m.author("security@example.org").unwrap().as_str(), "jane@example.com");
        assert_eq!(m.original_sender(), None);
        // Google Groups names the author in X-Original-Sender; it wins over Reply-To.
        let raw = b"From: \"'Jane Doe' via security\" <security@example.org>\r\nReply-To: list@example.org\r\nX-Original-Sender: jane@example.com\r\nSubject: x\r\n\r\nbody\r\n";
        let m = Incoming::parse(raw);
        assert!(m.from_rewritten("security@example.org"));
        assert_eq!(m.author("security@example.org").unwrap().as_str(), "jane@example.com");
        assert_eq!(m.original_sender().unwrap().as_str(), "jane@example.com");
    }
}

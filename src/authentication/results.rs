//! What a mail server says it checked: `Authentication-Results` (RFC 8601), read as an
//! attacker could write it. Pure.
//!
//! Only the topmost header whose authserv-id we trust counts: our own border MX prepends
//! it and strips look-alikes, so anything below it (or from another authserv-id) may be
//! forged by the sender. The message is authenticated when that header says `dmarc=pass`,
//! or `dkim=pass` with a signing domain (`header.d`) aligned with the From domain.
//! [`vouches_for`] is the same reading for any results header (also a list's
//! `ARC-Authentication-Results`), with the strictness the caller asks for.

use serde::Serialize;

/// One method result, e.g. `dkim=pass header.d=example.org`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodResult {
    pub method: String,
    pub result: String,
    pub props: Vec<(String, String)>,
}

impl MethodResult {
    pub fn prop(&self, name: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A parsed `Authentication-Results` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthResults {
    pub authserv_id: String,
    pub results: Vec<MethodResult>,
}

/// Removes RFC 5322 comments `( ... )`, nested, outside quoted strings.
fn strip_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0usize;
    let mut quoted = false;
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            if depth == 0 {
                out.push(c);
            }
            escaped = false;
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                if depth == 0 {
                    out.push(c);
                }
            }
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Parses one header value; None when it has no authserv-id.
pub fn parse(value: &str) -> Option<AuthResults> {
    let clean = strip_comments(value).replace(['\r', '\n', '\t'], " ");
    // Separators inside quoted strings are data: a sender controls e.g. smtp.mailfrom's
    // local part, and `"x;dmarc=pass;"@evil.example` must not read as a result.
    let mut parts = split_unquoted(&clean, |c| c == ';').into_iter();
    let head = parts.next()?;
    let authserv_id = split_unquoted(head, char::is_whitespace)
        .into_iter()
        .next()?
        .to_ascii_lowercase();
    if authserv_id.is_empty()
        || !authserv_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return None;
    }
    let mut results = Vec::new();
    for part in parts {
        let tokens = split_unquoted(part, char::is_whitespace);
        let Some(first) = tokens.first() else { continue };
        let Some((method, result)) = first.split_once('=') else {
            continue;
        };
        let method = method.split('/').next().unwrap_or(method).to_ascii_lowercase();
        if method.is_empty()
            || !method
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            || result.contains('"')
        {
            continue;
        }
        let props = tokens[1..]
            .iter()
            .filter_map(|t| t.split_once('='))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect();
        results.push(MethodResult {
            method,
            result: result.to_ascii_lowercase(),
            props,
        });
    }
    Some(AuthResults { authserv_id, results })
}

/// Splits `s` where `sep` matches outside double-quoted strings; empty pieces are dropped.
fn split_unquoted(s: &str, sep: impl Fn(char) -> bool) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut escaped = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            // A backslash escapes the next character everywhere, as in `strip_comments`
            // (which ran first): reading `\"` outside a quoted string as a quote would let
            // the two passes disagree about what is quoted (found by fuzzing).
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            c if !quoted && sep(c) => {
                let piece = s[start..i].trim();
                if !piece.is_empty() {
                    out.push(piece);
                }
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    let piece = s[start..].trim();
    if !piece.is_empty() {
        out.push(piece);
    }
    out
}

/// Why a message is, or is not, authenticated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "verdict", content = "detail")]
pub enum Verdict {
    /// `dmarc=pass`, or aligned `dkim=pass`; the detail names which.
    Authenticated(String),
    Refused(String),
}

impl Verdict {
    pub fn is_authenticated(&self) -> bool {
        matches!(self, Verdict::Authenticated(_))
    }
    pub fn reason(&self) -> &str {
        match self {
            Verdict::Authenticated(s) | Verdict::Refused(s) => s,
        }
    }
}

/// A domain as compared: lowercase, without a trailing dot or a leading `@`.
fn norm_domain(d: &str) -> String {
    d.trim()
        .trim_start_matches('@')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// The organizational domain (RFC 7489 section 3.2): the registrable domain under the
/// public suffix list, e.g. `example.org` for `mail.example.org`, `example.co.uk` for
/// `a.example.co.uk`. None for a public suffix itself (`co.uk`, `org`) or a malformed name.
pub fn organizational_domain(domain: &str) -> Option<String> {
    let d = norm_domain(domain);
    if d.is_empty() || d.split('.').any(|label| label.is_empty()) {
        return None;
    }
    psl::domain_str(&d).map(str::to_string)
}

/// Relaxed DMARC alignment (RFC 7489 section 3.1.1): the signing domain and the From
/// domain have the same organizational domain. A public suffix never aligns with anything.
pub fn aligned(signing: &str, from_domain: &str) -> bool {
    match (organizational_domain(signing), organizational_domain(from_domain)) {
        (Some(s), Some(f)) => s == f,
        _ => false,
    }
}

/// How strictly [`vouches_for`] reads a results header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Our own MX about the From header of this message: a `dmarc` result without
    /// `header.from` is about the From domain; `dkim=pass` counts when aligned.
    FromHeader,
    /// A list about the message it received: `dmarc=pass` counts only with a
    /// `header.from` that is the domain; `dkim=pass` counts when aligned.
    ListSaw,
    /// A list about the original sender of a message whose From it rewrote: `dmarc=pass`
    /// only with `header.from` exactly that domain, `dkim=pass` only with `header.d`
    /// exactly that domain.
    OriginalSender,
}

/// What authenticated a domain in a results header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pass {
    /// `dmarc=pass` for this From domain.
    Dmarc(String),
    /// `dkim=pass` with this signing domain.
    Dkim(String),
}

/// Does `ar` authenticate `domain` under `rule`? Ok with what did, or Err saying what the
/// header says instead (its values sanitised for mail and logs).
pub fn vouches_for(ar: &AuthResults, domain: &str, rule: Rule) -> Result<Pass, String> {
    let id = crate::sanitize::header_text(&ar.authserv_id);
    let dmarc: Vec<&MethodResult> = ar.results.iter().filter(|r| r.method == "dmarc").collect();
    if dmarc.len() > 1 && dmarc.iter().any(|d| d.result != dmarc[0].result) {
        return Err(format!("{id} reports conflicting dmarc results"));
    }
    if let Some(d) = dmarc.first() {
        if d.result == "pass" {
            // DMARC judges the RFC 5322 From domain itself: a pass for another domain is
            // about another message (or a different From header), so it does not count.
            let hf = match rule {
                Rule::FromHeader => d.prop("header.from").or(Some(domain)),
                Rule::ListSaw | Rule::OriginalSender => d.prop("header.from"),
            };
            if let Some(hf) = hf {
                if !domain.is_empty() && norm_domain(hf) == norm_domain(domain) {
                    return Ok(Pass::Dmarc(norm_domain(domain)));
                }
            }
        }
    }
    for r in ar.results.iter().filter(|r| r.method == "dkim" && r.result == "pass") {
        let d = r
            .prop("header.d")
            .or_else(|| r.prop("header.i").map(|i| i.rsplit('@').next().unwrap_or(i)));
        if let Some(d) = d {
            let counts = match rule {
                Rule::FromHeader | Rule::ListSaw => aligned(d, domain),
                Rule::OriginalSender => !domain.is_empty() && norm_domain(d) == norm_domain(domain),
            };
            if counts {
                return Ok(Pass::Dkim(norm_domain(d)));
            }
        }
    }
    let summary: Vec<String> = ar
        .results
        .iter()
        .map(|r| crate::sanitize::header_text(&format!("{}={}", r.method, r.result)))
        .collect();
    let needs = match rule {
        Rule::FromHeader | Rule::ListSaw => "dmarc=pass or dkim=pass aligned with",
        Rule::OriginalSender => "dmarc=pass or dkim=pass for exactly",
    };
    Err(format!(
        "{id} reports {} (needs {needs} {})",
        if summary.is_empty() {
            "nothing".to_string()
        } else {
            summary.join(" ")
        },
        crate::sanitize::header_text(domain)
    ))
}

/// Judges a message from its raw A-R headers (topmost first) and From domain.
pub fn judge(headers: &[String], from_domain: &str, trusted: &[String]) -> Verdict {
    if trusted.is_empty() {
        return Verdict::Refused("no trusted authserv-id is configured (team.trusted_authserv_ids)".into());
    }
    let top = headers
        .iter()
        .filter_map(|h| parse(h))
        .find(|ar| trusted.iter().any(|t| t.eq_ignore_ascii_case(&ar.authserv_id)));
    let Some(ar) = top else {
        return Verdict::Refused("no Authentication-Results header from a trusted server".into());
    };
    match vouches_for(&ar, from_domain, Rule::FromHeader) {
        Ok(Pass::Dmarc(_)) => Verdict::Authenticated(format!("dmarc=pass by {}", ar.authserv_id)),
        Ok(Pass::Dkim(d)) => Verdict::Authenticated(format!("dkim=pass header.d={d} by {}", ar.authserv_id)),
        Err(why) => Verdict::Refused(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Vec<String> {
        vec!["mx.example.org".into()]
    }

    #[test]
    fn parses_rfc8601_example() {
        let ar = parse("example.com; spf=pass smtp.mailfrom=example.net (sender ok); dkim=pass (good sig) header.d=example.net header.s=s1").unwrap();
        assert_eq!(ar.authserv_id, "example.com");
        assert_eq!(ar.results.len(), 2);
        assert_eq!(ar.results[1].prop("header.d"), Some("example.net"));
    }

    #[test]
    fn dmarc_pass_from_trusted_server() {
        let h = vec!["mx.example.org; dkim=pass header.d=example.org; dmarc=pass header.from=example.org".to_string()];
        assert!(judge(&h, "example.org", &t()).is_authenticated());
    }

    #[test]
    fn aligned_dkim_pass() {
        let h = vec!["mx.example.org 1; dkim=pass header.d=example.org; dmarc=none".to_string()];
        assert!(judge(&h, "mail.example.org", &t()).is_authenticated());
        let h = vec!["mx.example.org; dkim=pass header.d=evil.example.net".to_string()];
        assert!(!judge(&h, "example.org", &t()).is_authenticated());
    }

    #[test]
    fn relaxed_alignment_uses_organizational_domains() {
        // A subdomain signature aligns with the parent From domain, and the other way round.
        let h = vec!["mx.example.org; dkim=pass header.d=mail.example.org; dmarc=none".to_string()];
        assert!(judge(&h, "example.org", &t()).is_authenticated());
        let h = vec!["mx.example.org; dkim=pass header.d=example.org".to_string()];
        assert!(judge(&h, "lists.dev.example.org", &t()).is_authenticated());
        // Siblings under one organizational domain align too.
        let h = vec!["mx.example.org; dkim=pass header.d=a.example.co.uk".to_string()];
        assert!(judge(&h, "b.example.co.uk", &t()).is_authenticated());
        // Different organizations under one public suffix do not.
        let h = vec!["mx.example.org; dkim=pass header.d=evil.co.uk".to_string()];
        assert!(!judge(&h, "example.co.uk", &t()).is_authenticated());
        // A look-alike suffix is not a parent.
        let h = vec!["mx.example.org; dkim=pass header.d=notexample.org".to_string()];
        assert!(!judge(&h, "example.org", &t()).is_authenticated());
        assert_eq!(organizational_domain("Mail.Example.ORG."), Some("example.org".into()));
        assert_eq!(organizational_domain("x.y.example.co.uk"), Some("example.co.uk".into()));
    }

    #[test]
    fn public_suffixes_never_align() {
        for (d, from) in [
            ("co.uk", "example.co.uk"),
            ("uk", "example.co.uk"),
            ("org", "example.org"),
            ("github.io", "victim.github.io"),
            ("com", "com"),
            ("co.uk", "co.uk"),
            ("", "example.org"),
            ("example..org", "example.org"),
        ] {
            assert!(!aligned(d, from), "{d} must not align with {from}");
            let h = vec![format!("mx.example.org; dkim=pass header.d={d}")];
            assert!(!judge(&h, from, &t()).is_authenticated(), "{d} / {from}");
        }
        // Two users of a shared-hosting suffix are different organizations.
        assert!(!aligned("attacker.github.io", "victim.github.io"));
        assert_eq!(organizational_domain("co.uk"), None);
    }

    #[test]
    fn dmarc_pass_counts_only_for_the_from_domain() {
        // dmarc=pass about another domain is not about this From.
        let h = vec!["mx.example.org; dmarc=pass header.from=evil.example.net".to_string()];
        let v = judge(&h, "example.org", &t());
        assert!(!v.is_authenticated(), "{v:?}");
        assert!(v.reason().contains("dmarc=pass"), "{v:?}");
        // Not even a subdomain: DMARC reports on the From domain itself.
        let h = vec!["mx.example.org; dmarc=pass header.from=mail.example.org".to_string()];
        assert!(!judge(&h, "example.org", &t()).is_authenticated());
        // Case and a trailing dot do not matter.
        let h = vec!["mx.example.org; dmarc=pass header.from=Example.ORG.".to_string()];
        assert!(judge(&h, "example.org", &t()).is_authenticated());
        // A mismatched dmarc pass still lets an aligned dkim=pass authenticate.
        let h =
            vec!["mx.example.org; dkim=pass header.d=example.org; dmarc=pass header.from=other.example".to_string()];
        assert!(judge(&h, "example.org", &t()).is_authenticated());
    }

    #[test]
    fn forged_pass_below_a_trusted_fail() {
        let h = vec![
            "mx.example.org; dmarc=fail header.from=example.org".to_string(),
            "mx.example.org; dmarc=pass header.from=example.org".to_string(),
        ];
        assert!(!judge(&h, "example.org", &t()).is_authenticated());
    }

    #[test]
    fn untrusted_authserv_and_none() {
        let h = vec!["evil.example.net; dmarc=pass header.from=example.org".to_string()];
        assert!(!judge(&h, "example.org", &t()).is_authenticated());
        assert!(!judge(&[], "example.org", &t()).is_authenticated());
        assert!(!judge(&h, "example.org", &[]).is_authenticated());
    }

    #[test]
    fn quoted_strings_cannot_smuggle_results() {
        // Found by fuzz/fuzz_targets/auth_results.rs: the sender controls smtp.mailfrom.
        let raw = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fuzz/regressions/auth_results-quoted-semicolon-mailfrom"
        ))
        .unwrap();
        let h = vec![raw.trim().to_string()];
        assert!(!judge(&h, "example.org", &t()).is_authenticated(), "{:?}", parse(&h[0]));
        let h = vec![
            "mx.example.org; spf=pass smtp.mailfrom=\"x;dmarc=pass;\"@evil.example; dmarc=fail header.from=example.org"
                .to_string(),
        ];
        assert!(!judge(&h, "example.org", &t()).is_authenticated());
        let raw = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fuzz/regressions/auth_results-quoted-semicolon"
        ))
        .unwrap();
        assert!(!judge(&[raw.trim().to_string()], "example.org", &t()).is_authenticated());
    }

    #[test]
    fn an_escaped_quote_outside_a_string_cannot_unquote_a_result() {
        // `\"` outside a quoted string is an escaped character, not a quote: what follows
        // up to the next quote is one quoted string, so no dmarc=pass is hidden in it.
        let h = vec![r#"mx.example.org; dkim=none x=a\"b"; dmarc=pass header.from=example.org""#.to_string()];
        assert!(!judge(&h, "example.org", &t()).is_authenticated(), "{:?}", parse(&h[0]));
        // The fuzzer's input (fuzz/regressions/auth_results-escaped-quote-outside-string).
        let raw = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fuzz/regressions/auth_results-escaped-quote-outside-string"
        ))
        .unwrap();
        let lines: Vec<String> = String::from_utf8_lossy(&raw).lines().map(str::to_string).collect();
        assert!(!judge(&lines, "example.org", &t()).is_authenticated());
        // An ordinary escaped quote inside a quoted string still works.
        let ok = vec![r#"mx.example.org; dmarc=pass policy.note="say \"hi\"; ok" header.from=example.org"#.to_string()];
        assert!(
            judge(&ok, "example.org", &t()).is_authenticated(),
            "{:?}",
            parse(&ok[0])
        );
    }

    #[test]
    fn conflicting_dmarc_results_refuse() {
        let h =
            vec!["mx.example.org; dmarc=pass header.from=example.org; dmarc=fail header.from=example.org".to_string()];
        assert!(!judge(&h, "example.org", &t()).is_authenticated());
    }

    #[test]
    fn comments_cannot_smuggle_results() {
        let h = vec!["mx.example.org; dmarc=fail (dmarc=pass) header.from=example.org".to_string()];
        assert!(!judge(&h, "example.org", &t()).is_authenticated());
        let h = vec!["mx.example.org; dmarc=pass header.from=evil.example".to_string()];
        assert!(!judge(&h, "example.org", &t()).is_authenticated());
    }
}

//! Which links a notice lists: only well-formed web addresses, never the fragment of a
//! proof of concept that happened to start with `http` (`http://host/x/$(python3`). Pure.

/// Longest link we list.
pub const MAX_LEN: usize = 2000;

/// Characters that end a sentence rather than a URL.
const TRAILING: &[char] = &['.', ',', ';', ':', '!', '?', '*', '\'', '"', '>'];

/// `candidate` as a link to list, or `None` when it is not a well-formed web address:
/// trailing punctuation and unbalanced closing brackets are cut (`(see http://a.example/x).`
/// lists `http://a.example/x`); what remains must have balanced brackets, no shell
/// fragments (`$(`, `${`, backquotes), no quotes, spaces or control characters, and a
/// plausible host (`https://` or `http://` with a host name, an IPv4 or `[IPv6]` address and
/// an optional port; or a bare `www.` / `github.com/` address).
pub fn well_formed(candidate: &str) -> Option<String> {
    let mut url = candidate.trim();
    loop {
        let before = url.len();
        url = url.trim_end_matches(TRAILING);
        for (open, close) in [('(', ')'), ('[', ']')] {
            if url.ends_with(close) && count(url, close) > count(url, open) {
                url = &url[..url.len() - 1];
            }
        }
        if url.len() == before {
            break;
        }
    }
    if url.is_empty() || url.len() > MAX_LEN {
        return None;
    }
    if url.contains("$(") || url.contains("${") {
        return None;
    }
    if url.chars().any(|c| {
        c.is_control() || c.is_whitespace() || matches!(c, '`' | '"' | '\'' | '<' | '>' | '\\' | '{' | '}' | '|' | '^')
    }) {
        return None;
    }
    if count(url, '(') != count(url, ')') || count(url, '[') != count(url, ']') || !nested_ok(url) {
        return None;
    }
    let lower = url.to_ascii_lowercase();
    let rest = if let Some(r) = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://")) {
        r
    } else if lower.starts_with("www.") || lower.starts_with("github.com/") || lower.starts_with("gist.github.com/") {
        lower.as_str()
    } else {
        return None;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if !host_ok(authority) {
        return None;
    }
    Some(url.to_string())
}

/// The well-formed links of `candidates`, in order, without duplicates.
pub fn filter<I, S>(candidates: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out: Vec<String> = Vec::new();
    for c in candidates {
        if let Some(u) = well_formed(c.as_ref()) {
            if !out.contains(&u) {
                out.push(u);
            }
        }
    }
    out
}

fn count(s: &str, c: char) -> usize {
    s.chars().filter(|&x| x == c).count()
}

/// No closing bracket before its opening one (`a)b(` is not balanced).
fn nested_ok(s: &str) -> bool {
    let (mut round, mut square) = (0i32, 0i32);
    for c in s.chars() {
        match c {
            '(' => round += 1,
            ')' => round -= 1,
            '[' => square += 1,
            ']' => square -= 1,
            _ => {}
        }
        if round < 0 || square < 0 {
            return false;
        }
    }
    true
}

/// `host[:port]`, `user@host`, `[v6]:port`: a name of dot-separated labels, letters,
/// digits and hyphens (any non-ASCII letter too), or an address literal.
fn host_ok(authority: &str) -> bool {
    let hostport = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority);
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else {
            return false;
        };
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            return false;
        }
        let port = match after {
            "" => None,
            a => match a.strip_prefix(':') {
                Some(p) => Some(p),
                None => return false,
            },
        };
        (None, port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(hostport), None),
        }
    };
    if let Some(p) = port {
        if p.is_empty() || p.len() > 5 || !p.chars().all(|c| c.is_ascii_digit()) {
            return false;
        }
    }
    match host {
        None => true,
        Some(h) => {
            let h = h.strip_suffix('.').unwrap_or(h);
            !h.is_empty()
                && h.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && !label.starts_with('-')
                        && !label.ends_with('-')
                        && label.chars().all(|c| c.is_alphanumeric() || c == '-')
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poc_fragments_are_not_links() {
        for bad in [
            "http://localhost:3000/flights/$(python3",
            "http://localhost:3000/flights/$(python3 -c 'print(1)')",
            "http://x.example/${IFS}cat",
            "http://x.example/`id`",
            "https://x.example/a(b",
            "https://x.example/a)b(c",
            "http://",
            "https://:80/x",
            "https://exa mple.org/",
            "https://-bad.example/",
            "https://a..b/",
            "http://host:port/",
            "javascript:alert(1)",
            "ftp://example.org/file",
            "https://x.example/\"onmouseover=",
        ] {
            assert_eq!(well_formed(bad), None, "{bad}");
        }
    }

    #[test]
    fn real_links_survive_with_their_punctuation_cut() {
        for (input, want) in [
            (
                "https://github.com/expressjs/express/issues/6001.",
                "https://github.com/expressjs/express/issues/6001",
            ),
            (
                "https://en.wikipedia.org/wiki/Express_(software)",
                "https://en.wikipedia.org/wiki/Express_(software)",
            ),
            (
                "https://en.wikipedia.org/wiki/Express_(software)).",
                "https://en.wikipedia.org/wiki/Express_(software)",
            ),
            (
                "http://example.com/a?b=1&c=2#frag),",
                "http://example.com/a?b=1&c=2#frag",
            ),
            ("http://localhost:3000/flights/1", "http://localhost:3000/flights/1"),
            ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/"),
            ("http://[::1]:8080/x", "http://[::1]:8080/x"),
            ("www.example.net/x!", "www.example.net/x"),
            (
                "github.com/expressjs/express/pull/12",
                "github.com/expressjs/express/pull/12",
            ),
            ("https://bücher.example/", "https://bücher.example/"),
        ] {
            assert_eq!(well_formed(input).as_deref(), Some(want), "{input}");
        }
    }

    #[test]
    fn the_list_keeps_order_and_drops_duplicates() {
        let got = filter([
            "https://a.example/1",
            "http://localhost:3000/flights/$(python3",
            "https://a.example/1.",
            "https://b.example/2",
        ]);
        assert_eq!(got, vec!["https://a.example/1", "https://b.example/2"]);
    }
}

//! `Authentication-Results` values as an attacker could write them: parsing never panics, and
//! a message is authenticated only on the word of a trusted authserv-id.
#![no_main]

use libfuzzer_sys::fuzz_target;
use secintake::authentication::results::{judge, parse};

const TRUSTED: &str = "mx.example.org";
const FROM_DOMAIN: &str = "example.org";

/// The same header for an RFC 8601 reader: every `;` inside a quoted string (or a comment) is
/// replaced by `,`. Quoted strings and comments are opaque, so this must not change the
/// verdict. Quotes, comments and escapes are tracked exactly as `authentication::results::strip_comments`
/// tracks them, so only the meaning of `;` can differ. A line whose last quoted string is
/// never closed is left as it is.
fn neutralise_quoted(h: &str) -> String {
    let mut out = String::with_capacity(h.len());
    let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
    for c in h.chars() {
        let opaque = quoted || depth > 0;
        if escaped {
            escaped = false;
        } else {
            match c {
                '\\' => escaped = true,
                '"' if depth == 0 => quoted = !quoted,
                '(' if !quoted => depth += 1,
                ')' if !quoted && depth > 0 => depth -= 1,
                _ => {}
            }
        }
        out.push(if c == ';' && opaque { ',' } else { c });
    }
    if quoted {
        // An unterminated quoted string is malformed: no reading of it is "right".
        return h.to_string();
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let lines: Vec<String> = s.lines().map(str::to_string).collect();
    let mut trusted_seen = false;
    for l in &lines {
        if let Some(ar) = parse(l) {
            assert!(!ar.authserv_id.is_empty());
            assert!(!ar.authserv_id.contains('='));
            if ar.authserv_id.eq_ignore_ascii_case(TRUSTED) {
                trusted_seen = true;
            }
        }
    }
    let trusted = [TRUSTED.to_string()];
    let v = judge(&lines, FROM_DOMAIN, &trusted);
    if v.is_authenticated() {
        assert!(
            trusted_seen,
            "authenticated without a header from {TRUSTED}: {lines:?} -> {v:?}"
        );
    }
    // With no trusted id configured, nothing is ever authenticated.
    assert!(!judge(&lines, FROM_DOMAIN, &[]).is_authenticated());
    // A `;` inside a quoted string is data, not a result separator: it cannot make (or unmake)
    // an authenticated message (regressions/auth_results-quoted-semicolon*).
    let neutral: Vec<String> = lines.iter().map(|l| neutralise_quoted(l)).collect();
    let nv = judge(&neutral, FROM_DOMAIN, &trusted);
    assert_eq!(
        v.is_authenticated(),
        nv.is_authenticated(),
        "a `;` inside a quoted string changed the verdict:\n  {lines:?} -> {v:?}\n  {neutral:?} -> {nv:?}"
    );
});

//! Mail text as another program reads it: our format=flowed bodies decoded by a real
//! flowed-text reader (the PyPI `formatflowed` decoder, RFC 3676) back into paragraphs.

use std::io::Write;
use std::process::{Command, Stdio};

use secintake::text::flowed;

const PYTHON: &str = "/usr/bin/python3";

/// The body decoded by `formatflowed`: (type, quote depth, text) per chunk, where type is
/// `paragraph` (joined from soft-broken lines), `fixed` (a hard line) or `signature`.
fn decode_with_formatflowed(body: &str) -> Vec<(String, u64, String)> {
    let script = r#"
import json, sys
try:
    import formatflowed
except ImportError:
    sys.exit("the PyPI package `formatflowed` is missing: run scripts/setup-debian.sh")
names = {formatflowed.PARAGRAPH: "paragraph", formatflowed.FIXED: "fixed",
         formatflowed.SIGNATURE_SEPARATOR: "signature"}
body = sys.stdin.buffer.read()
out = [[names[i["type"]], i.get("quotedepth", 0), t]
       for i, t in formatflowed.decode(body, character_set="utf-8")]
print(json.dumps(out))
"#;
    let mut child = Command::new(PYTHON)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{PYTHON}: {e}; install python3 (scripts/setup-debian.sh)"));
    child.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "formatflowed failed: {}\n(run scripts/setup-debian.sh, or `{PYTHON} -m pip install --break-system-packages formatflowed`)",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut chunks: Vec<(String, u64, String)> = serde_json::from_slice(&out.stdout).unwrap();
    // The CRLF that ends the body leaves an empty hard line behind in this decoder.
    if chunks.last().is_some_and(|(t, _, s)| t == "fixed" && s.is_empty()) {
        chunks.pop();
    }
    chunks
}

const RECEIPT: &str = "Hello Jane,

Thank you for your report. It has reached the security team and is now tracked as SEC-2026-0001. Please keep \"[SEC-2026-0001]\" in the subject when you write about it, or simply reply to this message.

What happens next:
- A member of the team will reply to you personally within 48 hours.
- Within 48 hours after that, you will get a more detailed response with the next steps.
- We will keep you informed until the issue is fixed and announced.

> On Tue, Jane wrote: the parser accepts __proto__ keys in nested objects, which lets an attacker change every object's prototype when the body is merged.
From the logs: nothing.
 indented code line

-- 
Security Team";

#[test]
fn a_flowed_reader_gets_the_paragraphs_back() {
    let body = flowed::encode(RECEIPT);
    for line in body.split("\r\n") {
        assert!(line.chars().count() <= 78, "line over 78 characters: {line:?}");
    }
    assert!(
        body.split("\r\n").any(|l| l.ends_with(' ') && l != "-- "),
        "long paragraphs get soft breaks"
    );
    let chunks = decode_with_formatflowed(&body);
    let texts: Vec<(u64, &str)> = chunks.iter().map(|(_, d, t)| (*d, t.as_str())).collect();
    let mut expected: Vec<(u64, &str)> = Vec::new();
    for l in RECEIPT.lines() {
        match l.strip_prefix("> ") {
            Some(q) => expected.push((1, q)),
            None => expected.push((0, l)),
        }
    }
    assert_eq!(texts, expected);
    // The long ones came back as paragraphs (joined), the short ones as fixed lines.
    let kind_of = |text: &str| chunks.iter().find(|(_, _, t)| t.contains(text)).unwrap().0.clone();
    assert_eq!(kind_of("Thank you for your report."), "paragraph");
    assert_eq!(kind_of("Within 48 hours after that"), "paragraph");
    assert_eq!(kind_of("the parser accepts"), "paragraph");
    assert_eq!(kind_of("What happens next:"), "fixed");
    assert_eq!(kind_of("-- "), "signature");
}

//! ARC (RFC 8617): what a trusted list server saw when a coordinator's mail reached it.
//!
//! A list that changes mail (a footer, a `[list]` subject prefix, a rewritten From) breaks
//! the sender's DKIM signature; with ARC it records what it authenticated on arrival
//! (`ARC-Authentication-Results`) and seals that with the message as it sends it on
//! (`ARC-Message-Signature`, `ARC-Seal`). The rules here:
//!
//! - the whole chain validates (`cv`, every seal, the latest message signature; checked by
//!   `mail-auth`), with keys from DNS or the pinned `team.dkim_keys`;
//! - only instances sealed by a domain in `team.trusted_arc_sealers` are read;
//! - such an instance's own message signature must still verify over the message as it
//!   arrived here, unless every later instance is sealed by a trusted sealer too: an
//!   untrusted later hop could otherwise edit the body and re-seal with `cv=pass`;
//! - its message signature signs From (and the `X-Original-From`/`X-Original-Sender`
//!   header that names the author when From was rewritten);
//! - its `ARC-Authentication-Results` authenticate the author's domain
//!   ([`super::results::vouches_for`]).
//!
//! The header reading here ([`instance_of`], [`fields`], [`without_instances_after`],
//! [`parse_arc_results`]) is pure and fuzzed (`fuzz/fuzz_targets/arc_headers.rs`).

use mail_auth::arc::ChainValidation;
use mail_auth::{AuthenticatedMessage, DkimResult, MessageAuthenticator, Parameters};

use super::dkim::KeyCache;
use super::results::{parse, vouches_for, AuthResults, Pass, Rule, Verdict};
use crate::address::Address;
use crate::sanitize::header_text;

/// The three ARC header fields of one instance.
pub const ARC_FIELDS: [&str; 3] = ["ARC-Seal", "ARC-Message-Signature", "ARC-Authentication-Results"];

/// Most ARC instances looked at (RFC 8617 allows 50; a real path has a handful).
pub const MAX_INSTANCES: usize = 20;

/// One header field of a raw message: its name and its value (unfolded text is not needed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field<'a> {
    pub name: &'a [u8],
    pub value: &'a [u8],
    /// The whole field as it appears in the message, line ends included.
    pub raw: &'a [u8],
}

/// Splits the header block of `raw` into fields, and returns where the body starts (the
/// index of the empty line that ends the header, or `raw.len()` when there is none). A
/// line without a colon is kept as a field with an empty name.
pub fn fields(raw: &[u8]) -> (Vec<Field<'_>>, usize) {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < raw.len() {
        // An empty line ends the header.
        if raw[pos] == b'\n' || raw[pos..].starts_with(b"\r\n") {
            return (out, pos);
        }
        let start = pos;
        // The field runs to the end of a line that is not followed by a continuation line.
        loop {
            match raw[pos..].iter().position(|&b| b == b'\n') {
                Some(nl) => pos += nl + 1,
                None => pos = raw.len(),
            }
            if pos >= raw.len() || !matches!(raw[pos], b' ' | b'\t') {
                break;
            }
        }
        let text = &raw[start..pos];
        let (name, value) = match text.iter().position(|&b| b == b':') {
            Some(c) => (trim(&text[..c]), &text[c + 1..]),
            None => (&text[..0], text),
        };
        out.push(Field { name, value, raw: text });
    }
    (out, raw.len())
}

fn trim(b: &[u8]) -> &[u8] {
    let s = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    let e = b.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(s, |e| e + 1);
    &b[s..e]
}

/// Is `name` one of the ARC header fields?
pub fn is_arc_field(name: &[u8]) -> bool {
    ARC_FIELDS.iter().any(|f| f.as_bytes().eq_ignore_ascii_case(name))
}

/// The instance (`i=`) of an ARC header value: the `i` tag of a tag list
/// (`ARC-Seal`, `ARC-Message-Signature`), or the leading `i=N;` of
/// `ARC-Authentication-Results`. None when there is none or it is not a number 1-50.
pub fn instance_of(value: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(value).ok()?;
    let mut found = None;
    for tag in text.split(';') {
        let Some((k, v)) = tag.split_once('=') else { continue };
        if k.trim() == "i" {
            if found.is_some() {
                return None; // two i= tags: not a valid header
            }
            let v = v.trim();
            if v.is_empty() || v.len() > 2 || !v.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            found = v.parse().ok().filter(|i| (1..=50).contains(i));
            found?;
        }
    }
    found
}

/// `raw` without the ARC header fields of instances after `last`: the message as it was
/// when instance `last` was sealed, as far as headers go (what later hops changed in the
/// body or in other fields stays, so the instance's message signature tells whether they
/// changed anything it signed). ARC fields whose instance cannot be read are kept.
pub fn without_instances_after(raw: &[u8], last: u32) -> Vec<u8> {
    let (fs, body) = fields(raw);
    let mut out = Vec::with_capacity(raw.len());
    for f in &fs {
        let later = is_arc_field(f.name) && instance_of(f.value).is_some_and(|i| i > last);
        if !later {
            out.extend_from_slice(f.raw);
        }
    }
    out.extend_from_slice(&raw[body..]);
    out
}

/// How many header fields of `raw` are called `name`.
pub fn count_fields(raw: &[u8], name: &str) -> usize {
    fields(raw)
        .0
        .iter()
        .filter(|f| f.name.eq_ignore_ascii_case(name.as_bytes()))
        .count()
}

/// Reads an `ARC-Authentication-Results` value: `i=N; authserv-id; method=result ...`.
pub fn parse_arc_results(value: &str) -> Option<(u32, AuthResults)> {
    let (head, rest) = value.split_once(';')?;
    let i = instance_of(head.as_bytes())?;
    Some((i, parse(rest)?))
}

/// A domain as configured or as written in `d=`: lowercase, without a trailing dot.
fn norm(d: &str) -> String {
    d.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Who the message says wrote it, as ARC must vouch for it.
#[derive(Debug, Clone, Copy)]
pub struct Author<'a> {
    pub address: &'a Address,
    /// The header that names the author when a list rewrote From (`X-Original-From` or
    /// `X-Original-Sender`); None when From is the author.
    pub rewritten_by: Option<&'a str>,
}

/// Verifies the ARC chain of `raw` (keys from `cache` first, then DNS) and reads what the
/// trusted sealers saw about `author`.
pub async fn verify(
    auth: &MessageAuthenticator,
    cache: &KeyCache,
    raw: &[u8],
    author: Author<'_>,
    sealers: &[String],
) -> Verdict {
    if sealers.is_empty() {
        return Verdict::Refused("ARC: no trusted sealer is configured (team.trusted_arc_sealers)".into());
    }
    let Some(msg) = AuthenticatedMessage::parse(raw) else {
        return Verdict::Refused("ARC: the message could not be read".into());
    };
    if msg.as_headers.is_empty() && msg.ams_headers.is_empty() && msg.aar_headers.is_empty() && !msg.has_arc_errors {
        return Verdict::Refused("ARC: no ARC headers".into());
    }
    if msg.from.len() != 1 {
        return Verdict::Refused(format!(
            "ARC: the message has {} From addresses (exactly one is required)",
            msg.from.len()
        ));
    }
    if msg.as_headers.len() > MAX_INSTANCES {
        return Verdict::Refused(format!("ARC: more than {MAX_INSTANCES} instances"));
    }
    let out = auth.verify_arc(Parameters::new(&msg).with_txt_cache(cache)).await;
    let sets = out.sets();
    if let Some(why) = broken(out.result(), sets.len(), |k| sets[k].seal.header.cv.clone()) {
        return Verdict::Refused(why);
    }
    let n = sets.len();
    let sealer = |k: usize| header_text(&norm(&sets[k].seal.header.d));
    let trusted = |k: usize| sealers.iter().any(|s| norm(s) == norm(&sets[k].seal.header.d));
    let trusted_sets: Vec<usize> = (0..n).filter(|&k| trusted(k)).collect();
    if trusted_sets.is_empty() {
        let mut ds: Vec<String> = (0..n).map(sealer).collect();
        ds.dedup();
        return Verdict::Refused(format!(
            "ARC: sealer {} not trusted (team.trusted_arc_sealers)",
            ds.join(", ")
        ));
    }
    let rule = if author.rewritten_by.is_some() {
        Rule::OriginalSender
    } else {
        Rule::ListSaw
    };
    let mut reasons = Vec::new();
    for k in trusted_sets {
        let i = k + 1;
        let label = format!("ARC i={i} sealed by {}", sealer(k));
        // Nothing may have changed after a trusted seal, unless only trusted sealers
        // changed it: the instance's own message signature must verify as the last one.
        if let Some(j) = (k + 1..n).find(|&j| !trusted(j)) {
            let before = without_instances_after(raw, i as u32);
            let intact = match AuthenticatedMessage::parse(&before) {
                Some(m) => {
                    let o = auth.verify_arc(Parameters::new(&m).with_txt_cache(cache)).await;
                    *o.result() == DkimResult::Pass
                }
                None => false,
            };
            if !intact {
                reasons.push(format!(
                    "{label}: the message changed after that seal (i={} by {} is not trusted)",
                    j + 1,
                    sealer(j)
                ));
                continue;
            }
        }
        let signed = &sets[k].signature.header.h;
        let signs = |name: &str| signed.iter().any(|h| h.eq_ignore_ascii_case(name));
        if !signs("From") {
            reasons.push(format!("{label}: its message signature does not sign From"));
            continue;
        }
        if let Some(h) = author.rewritten_by {
            if !signs(h) {
                reasons.push(format!("{label}: its message signature does not sign {h}"));
                continue;
            }
        }
        let text = String::from_utf8_lossy(sets[k].results.value);
        let Some((_, ar)) = parse_arc_results(&text) else {
            reasons.push(format!("{label}: its ARC-Authentication-Results cannot be read"));
            continue;
        };
        match vouches_for(&ar, author.address.domain(), rule) {
            Ok(Pass::Dmarc(d)) => return Verdict::Authenticated(format!("{label}: dmarc=pass for {d}")),
            Ok(Pass::Dkim(d)) => return Verdict::Authenticated(format!("{label}: dkim=pass header.d={d}")),
            Err(says) => reasons.push(format!("{label}: {says}")),
        }
    }
    Verdict::Refused(reasons.join("; "))
}

/// Why the chain as a whole does not validate, naming the instance where it broke; None
/// when it validates. `cv(k)` is the `cv=` of the seal of instance `k + 1`.
fn broken(result: &DkimResult, n: usize, cv: impl Fn(usize) -> ChainValidation) -> Option<String> {
    let err = match result {
        DkimResult::Pass => return None,
        DkimResult::None => return Some("ARC: no ARC headers".into()),
        DkimResult::Neutral(e) | DkimResult::Fail(e) | DkimResult::PermError(e) | DkimResult::TempError(e) => e,
    };
    let text = header_text(&err.to_string());
    if n == 0 {
        return Some(format!("ARC chain broken: {text}"));
    }
    let at = match err {
        mail_auth::Error::Arc(mail_auth::arc::ArcError::InvalidInstance(i)) => *i as usize,
        mail_auth::Error::Arc(mail_auth::arc::ArcError::InvalidCV) => (0..n)
            .find(|&k| {
                let want = if k == 0 {
                    ChainValidation::None
                } else {
                    ChainValidation::Pass
                };
                cv(k) != want
            })
            .map_or(n, |k| k + 1),
        _ => n,
    };
    let cv_fail = (0..n).any(|k| cv(k) == ChainValidation::Fail);
    Some(format!(
        "ARC chain broken at i={at}: {text}{}",
        if cv_fail { " (a seal says cv=fail)" } else { "" }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEALED: &[u8] = b"ARC-Seal: i=2; a=rsa-sha256; cv=pass; d=fwd.example; s=s;\r\n b=xyz\r\nARC-Message-Signature: i=2; a=rsa-sha256; d=fwd.example; s=s; h=from; bh=a; b=b\r\nARC-Authentication-Results: i=2; fwd.example; arc=pass\r\nARC-Seal: i=1; a=rsa-sha256; cv=none; d=lists.example.org; s=s; b=c\r\nARC-Message-Signature: i=1; a=rsa-sha256;\r\n\td=lists.example.org; s=s; h=from:subject; bh=a; b=b\r\nARC-Authentication-Results: i=1; lists.example.org;\r\n dkim=pass header.d=example.org; dmarc=pass header.from=example.org\r\nFrom: alice@example.org\r\nSubject: [list] Re: x\r\n\r\n/assign me\r\n";

    #[test]
    fn fields_keep_folded_lines_together_and_find_the_body() {
        let (fs, body) = fields(SEALED);
        assert_eq!(fs.len(), 8);
        assert_eq!(fs[4].name, b"ARC-Message-Signature");
        assert!(fs[4].raw.ends_with(b"bh=a; b=b\r\n"));
        assert_eq!(&SEALED[body..], b"\r\n/assign me\r\n");
        let (fs, body) = fields(b"From: a\nSubject: b\n\nbody");
        assert_eq!((fs.len(), body), (2, 19));
        // No empty line: everything is header.
        let (fs, body) = fields(b"From: a\r\n folded");
        assert_eq!((fs.len(), body), (1, "From: a\r\n folded".len()));
        assert_eq!(fields(b"").0.len(), 0);
    }

    #[test]
    fn instances_are_read_from_tags_and_from_the_results_prefix() {
        assert_eq!(instance_of(b" i=2; a=rsa-sha256; cv=pass"), Some(2));
        assert_eq!(instance_of(b" a=rsa-sha256;\r\n\ti = 7 ; d=x"), Some(7));
        assert_eq!(
            instance_of(b" i=1; lists.example.org; dkim=pass header.i=@example.org"),
            Some(1)
        );
        assert_eq!(instance_of(b"i=0"), None);
        assert_eq!(instance_of(b"i=51"), None);
        assert_eq!(instance_of(b"i=999999999999999"), None);
        assert_eq!(instance_of(b"i=1; i=2"), None);
        assert_eq!(instance_of(b"i=-1"), None);
        assert_eq!(instance_of(b"a=1"), None);
    }

    #[test]
    fn later_instances_are_removed_and_nothing_else() {
        let before = without_instances_after(SEALED, 1);
        let text = String::from_utf8(before).unwrap();
        assert!(!text.contains("i=2"), "{text}");
        assert!(text.contains("ARC-Seal: i=1;"));
        assert!(text.ends_with("Subject: [list] Re: x\r\n\r\n/assign me\r\n"));
        assert_eq!(without_instances_after(SEALED, 2), SEALED);
        assert_eq!(count_fields(SEALED, "arc-seal"), 2);
        assert_eq!(count_fields(SEALED, "X-Original-From"), 0);
    }

    #[test]
    fn arc_results_are_read_like_authentication_results() {
        let (i, ar) = parse_arc_results(
            " i=1; lists.example.org; dkim=pass (good) header.d=example.org; dmarc=pass header.from=example.org",
        )
        .unwrap();
        assert_eq!(i, 1);
        assert_eq!(ar.authserv_id, "lists.example.org");
        assert_eq!(
            vouches_for(&ar, "example.org", Rule::ListSaw),
            Ok(Pass::Dmarc("example.org".into()))
        );
        assert!(parse_arc_results("lists.example.org; dmarc=pass").is_none());
        assert!(parse_arc_results("i=x; lists.example.org; dmarc=pass").is_none());
    }

    #[test]
    fn what_a_list_saw_counts_only_for_the_authors_domain() {
        let ar = |s: &str| parse(s).unwrap();
        // dmarc=pass without header.from says nothing about which domain.
        assert!(vouches_for(&ar("l.example; dmarc=pass"), "example.org", Rule::ListSaw).is_err());
        assert!(vouches_for(&ar("l.example; dmarc=pass"), "example.org", Rule::FromHeader).is_ok());
        // A rewritten From: exactly the original sender's domain.
        let sub = ar("l.example; dkim=pass header.d=mail.example.org; dmarc=none");
        assert!(vouches_for(&sub, "example.org", Rule::ListSaw).is_ok());
        assert!(vouches_for(&sub, "example.org", Rule::OriginalSender).is_err());
        let other = ar("l.example; dkim=pass header.d=mallory.example; dmarc=pass header.from=mallory.example");
        let why = vouches_for(&other, "example.org", Rule::OriginalSender).unwrap_err();
        assert!(
            why.contains("dmarc=pass") && why.contains("exactly example.org"),
            "{why}"
        );
        let fail = ar("l.example; dkim=fail header.d=example.org; dmarc=fail header.from=example.org");
        let why = vouches_for(&fail, "example.org", Rule::ListSaw).unwrap_err();
        assert!(why.contains("dmarc=fail"), "{why}");
        // Public suffixes never align, here too.
        let psl = ar("l.example; dkim=pass header.d=co.uk");
        assert!(vouches_for(&psl, "example.co.uk", Rule::ListSaw).is_err());
    }

    #[test]
    fn a_broken_chain_names_the_instance() {
        use mail_auth::arc::ArcError;
        let cv = |v: Vec<ChainValidation>| move |k: usize| v[k].clone();
        let why = broken(
            &DkimResult::Fail(mail_auth::Error::Arc(ArcError::InvalidCV)),
            2,
            cv(vec![ChainValidation::None, ChainValidation::Fail]),
        )
        .unwrap();
        assert!(why.starts_with("ARC chain broken at i=2"), "{why}");
        assert!(why.contains("cv=fail"), "{why}");
        let why = broken(
            &DkimResult::Neutral(mail_auth::Error::Arc(ArcError::FailedBodyHashMatch)),
            1,
            cv(vec![ChainValidation::None]),
        )
        .unwrap();
        assert!(why.starts_with("ARC chain broken at i=1"), "{why}");
        assert_eq!(broken(&DkimResult::Pass, 1, cv(vec![ChainValidation::None])), None);
    }
}

//! Is this message really from the coordinator it names? One entry point, [`Authority::judge`].
//!
//! Three sources can vouch for the author, tried in this order (the first that
//! authenticates wins; when none does, the refusal says what each one said):
//!
//! 1. **our border MX**: the topmost `Authentication-Results` header from a trusted
//!    authserv-id (`team.trusted_authserv_ids`) says `dmarc=pass` for the From domain, or
//!    aligned `dkim=pass` ([`results`]; no network, the primary rule);
//! 2. **the sender's own signature** (`team.verify_dkim`): a DKIM signature of the message
//!    verifies and is aligned with the From domain ([`dkim`]; key from DNS or pinned);
//! 3. **a trusted list** (`team.trusted_arc_sealers`): a valid ARC chain whose trusted
//!    instance recorded `dmarc=pass` or aligned `dkim=pass` for the author ([`arc`]).
//!
//! When a list rewrote From (`'Alice' via Security <list@...>`), the author is the one named
//! by `X-Original-From` (Mailman 3, groups.io) or `X-Original-Sender` (Google Groups), and
//! only a trusted ARC instance that authenticated exactly that address's domain can vouch
//! for it: our MX and a DKIM signature only ever speak about the list's own From.

pub mod arc;
pub mod dkim;
pub mod results;

use std::time::Duration;

pub use results::Verdict;

use crate::message::Incoming;

/// What the rules need from the configuration.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The security list's address: a From of this address (or a `... via ...` name) was
    /// rewritten by a list.
    pub list_address: String,
    pub trusted_authserv_ids: Vec<String>,
    pub verify_dkim: bool,
    /// Pinned keys `SELECTOR._domainkey.DOMAIN RECORD` (DKIM signers and ARC sealers).
    pub dkim_keys: Vec<String>,
    pub trusted_arc_sealers: Vec<String>,
    /// Longest wait for DNS (key lookups) per source.
    pub dns_limit: Duration,
}

impl Settings {
    pub fn from_team(team: &crate::config::TeamSettings) -> Settings {
        Settings {
            list_address: team.list_address.to_string(),
            trusted_authserv_ids: team.trusted_authserv_ids.clone(),
            verify_dkim: team.verify_dkim,
            dkim_keys: team.dkim_keys.clone(),
            trusted_arc_sealers: team.trusted_arc_sealers.clone(),
            dns_limit: Duration::from_secs(10),
        }
    }
}

/// A received message: its bytes as they arrived and what was parsed from them.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub raw: &'a [u8],
    pub incoming: &'a Incoming,
}

/// The judge of who wrote a message.
pub struct Authority;

impl Authority {
    /// Judges whether `message` is authenticated as written by its author
    /// ([`Incoming::author`]); the verdict explains what counted, or why nothing did.
    pub async fn judge(message: &Message<'_>, settings: &Settings) -> Verdict {
        let m = message.incoming;
        let Some(from) = m.from.as_ref() else {
            return Verdict::Refused("the message has no From address".into());
        };
        if m.from_rewritten(&settings.list_address) {
            return Self::judge_rewritten(message, settings).await;
        }
        let domain = from.address.domain().to_string();
        let mut said = Vec::new();
        let v = results::judge(&m.authentication_results, &domain, &settings.trusted_authserv_ids);
        if v.is_authenticated() {
            return v;
        }
        said.push(v.reason().to_string());
        if settings.verify_dkim {
            let v = dkim::verify_with_dns(message.raw, &domain, &settings.dkim_keys, settings.dns_limit).await;
            if v.is_authenticated() {
                return v;
            }
            said.push(v.reason().to_string());
        }
        if !settings.trusted_arc_sealers.is_empty() {
            let author = arc::Author {
                address: &from.address,
                rewritten_by: None,
            };
            let v = arc_with_dns(message.raw, author, settings).await;
            if v.is_authenticated() {
                return v;
            }
            said.push(v.reason().to_string());
        }
        Verdict::Refused(said.join("; "))
    }

    /// From was rewritten by a list: only a trusted ARC instance can vouch for the author
    /// that `X-Original-From` or `X-Original-Sender` names.
    async fn judge_rewritten(message: &Message<'_>, settings: &Settings) -> Verdict {
        let m = message.incoming;
        let (header, author) = match (&m.x_original_from, &m.x_original_sender) {
            (Some(a), _) => ("X-Original-From", a),
            (None, Some(a)) => ("X-Original-Sender", a),
            (None, None) => {
                return Verdict::Refused(
                    "From was rewritten by a list and no X-Original-From or X-Original-Sender names the author".into(),
                )
            }
        };
        let copies = arc::count_fields(message.raw, header);
        if copies != 1 {
            return Verdict::Refused(format!(
                "From was rewritten by a list and {header} appears {copies} times"
            ));
        }
        if settings.trusted_arc_sealers.is_empty() {
            return Verdict::Refused(format!(
                "From was rewritten by a list: only an ARC seal by a trusted sealer can vouch for {header} (team.trusted_arc_sealers is empty)"
            ));
        }
        let v = arc_with_dns(
            message.raw,
            arc::Author {
                address: author,
                rewritten_by: Some(header),
            },
            settings,
        )
        .await;
        match v {
            Verdict::Authenticated(why) => Verdict::Authenticated(format!("{why} ({header}: {author})")),
            Verdict::Refused(why) => {
                Verdict::Refused(format!("From was rewritten by a list ({header}: {author}); {why}"))
            }
        }
    }
}

/// [`arc::verify`] with the process-wide resolver and the pinned keys, bounded in time.
async fn arc_with_dns(raw: &[u8], author: arc::Author<'_>, settings: &Settings) -> Verdict {
    let (auth, cache) = match dkim::shared(&settings.dkim_keys) {
        Ok(s) => s,
        Err(e) => return Verdict::Refused(format!("ARC: {e}")),
    };
    let limit = settings.dns_limit;
    tokio::time::timeout(
        limit,
        arc::verify(auth, cache, raw, author, &settings.trusted_arc_sealers),
    )
    .await
    .unwrap_or_else(|_| Verdict::Refused(format!("ARC: no answer from DNS within {limit:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(sealers: &[&str]) -> Settings {
        Settings {
            list_address: "security@example.org".into(),
            trusted_authserv_ids: vec!["mx.example.org".into()],
            trusted_arc_sealers: sealers.iter().map(|s| s.to_string()).collect(),
            dns_limit: Duration::from_secs(1),
            ..Default::default()
        }
    }

    async fn judge(raw: &str, s: &Settings) -> Verdict {
        let m = Incoming::parse(raw.as_bytes());
        Authority::judge(
            &Message {
                raw: raw.as_bytes(),
                incoming: &m,
            },
            s,
        )
        .await
    }

    const AR: &str = "Authentication-Results: mx.example.org; dkim=pass header.d=example.org; dmarc=pass header.from=example.org\r\n";

    #[tokio::test]
    async fn our_mx_is_asked_first() {
        let raw = format!("{AR}From: Alice <alice@example.org>\r\nSubject: x\r\n\r\n/assign me\r\n");
        let v = judge(&raw, &settings(&[])).await;
        assert_eq!(v, Verdict::Authenticated("dmarc=pass by mx.example.org".into()));
    }

    #[tokio::test]
    async fn a_rewritten_from_is_never_vouched_for_by_our_mx() {
        // Our MX authenticated the list's own From; that says nothing about the author.
        let raw = format!(
            "{AR}From: \"Alice via Security\" <security@example.org>\r\nX-Original-From: alice@example.org\r\n\r\n/assign me\r\n"
        );
        let v = judge(&raw, &settings(&[])).await;
        assert!(!v.is_authenticated(), "{v:?}");
        assert!(v.reason().contains("only an ARC seal by a trusted sealer"), "{v:?}");
        // With a trusted sealer but no ARC headers at all: still refused.
        let v = judge(&raw, &settings(&["lists.example.org"])).await;
        assert!(!v.is_authenticated(), "{v:?}");
        assert!(v.reason().contains("ARC: no ARC headers"), "{v:?}");
        assert!(v.reason().contains("X-Original-From: alice@example.org"), "{v:?}");
    }

    #[tokio::test]
    async fn reply_to_never_names_the_author_and_one_original_header_only() {
        let raw = format!("{AR}From: \"Alice via Security\" <security@example.org>\r\nReply-To: alice@example.org\r\n\r\n/assign me\r\n");
        let v = judge(&raw, &settings(&["lists.example.org"])).await;
        assert!(v.reason().contains("no X-Original-From or X-Original-Sender"), "{v:?}");
        let raw = "From: \"Alice via Security\" <security@example.org>\r\nX-Original-From: alice@example.org\r\nX-Original-From: mallory@example.org\r\n\r\nx\r\n";
        let v = judge(raw, &settings(&["lists.example.org"])).await;
        assert!(v.reason().contains("X-Original-From appears 2 times"), "{v:?}");
    }

    #[tokio::test]
    async fn every_source_tried_is_named_in_a_refusal() {
        let raw = "From: Alice <alice@example.org>\r\nSubject: x\r\n\r\n/assign me\r\n";
        let v = judge(raw, &settings(&["lists.example.org"])).await;
        assert_eq!(
            v,
            Verdict::Refused("no Authentication-Results header from a trusted server; ARC: no ARC headers".into())
        );
        let v = judge("Subject: x\r\n\r\nx", &settings(&[])).await;
        assert_eq!(v, Verdict::Refused("the message has no From address".into()));
    }
}

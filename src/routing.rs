//! Decides what an incoming message is for the cases: a new report, a message in a case's
//! thread (from the reporter, a coordinator or someone else), or automatic mail. Pure.

use crate::address::Address;
use crate::analysis::{AutoKind, Facts};
use crate::message::Incoming;

/// Who wrote a message in a case's thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    Reporter,
    Coordinator,
    Other,
}

/// What to do with one incoming message.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// Open a case; `answer` is false when the reporter's address is unknown.
    NewCase { reporter: Option<Address>, answer: bool },
    /// A message in an existing case's thread.
    InCase { case_id: String, sender: Sender },
    /// Automatic mail: stored (with the case it refers to, if any), never answered.
    Automatic { case_id: Option<String>, kind: AutoKind },
    /// Mail we sent ourselves, back through the list.
    Own { case_id: Option<String> },
}

/// The case a message threads into, as far as routing needs it.
#[derive(Debug, Clone)]
pub struct ThreadCase {
    pub id: String,
    pub reporter: String,
}

pub fn route(
    m: &Incoming,
    facts: &Facts,
    thread: Option<&ThreadCase>,
    own_message: bool,
    list_address: &str,
    is_coordinator: impl Fn(&Address) -> bool,
) -> Route {
    if own_message {
        return Route::Own {
            case_id: thread.map(|c| c.id.clone()),
        };
    }
    if let Some(kind) = facts.auto {
        return Route::Automatic {
            case_id: thread.map(|c| c.id.clone()),
            kind,
        };
    }
    let author = m.author(list_address);
    match thread {
        Some(c) => {
            // Coordinators are recognised by the From header, or, when a list rewrote From,
            // by the X-Original-From/X-Original-Sender it added (which only a trusted ARC
            // seal can authenticate, see `authentication`); never through Reply-To.
            let from = m.from.as_ref().map(|f| &f.address);
            let rewritten = author.as_ref() != from;
            let named = !rewritten || author.as_ref() == m.original_sender();
            let sender = match &author {
                Some(a) if named && is_coordinator(a) => Sender::Coordinator,
                Some(a) if a.as_str().eq_ignore_ascii_case(&c.reporter) => Sender::Reporter,
                _ => Sender::Other,
            };
            Route::InCase {
                case_id: c.id.clone(),
                sender,
            }
        }
        None => Route::NewCase {
            answer: author.is_some(),
            reporter: author,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::AnalysisSettings;

    fn run(raw: &str, thread: Option<&ThreadCase>) -> Route {
        let m = Incoming::parse(raw.as_bytes());
        let a = AnalysisSettings::default()
            .compile_for(&[], "security@example.org")
            .unwrap();
        let f = a.analyze(&m);
        route(&m, &f, thread, false, "security@example.org", |a| {
            a.as_str() == "alice@example.org"
        })
    }

    fn case() -> ThreadCase {
        ThreadCase {
            id: "SEC-2026-0001".into(),
            reporter: "jane@example.com".into(),
        }
    }

    #[test]
    fn new_report() {
        let r = run("From: Jane <jane@example.com>\r\nSubject: x\r\n\r\nbody", None);
        assert_eq!(
            r,
            Route::NewCase {
                reporter: Some(Address::parse("jane@example.com").unwrap()),
                answer: true
            }
        );
    }

    #[test]
    fn no_from_opens_a_case_without_answer() {
        let r = run("Subject: x\r\n\r\nbody", None);
        assert_eq!(
            r,
            Route::NewCase {
                reporter: None,
                answer: false
            }
        );
    }

    #[test]
    fn senders_in_a_thread() {
        let c = case();
        assert_eq!(
            run("From: jane@example.com\r\nSubject: x\r\n\r\nb", Some(&c)),
            Route::InCase {
                case_id: c.id.clone(),
                sender: Sender::Reporter
            }
        );
        assert_eq!(
            run("From: Alice@Example.org\r\nSubject: x\r\n\r\nb", Some(&c)),
            Route::InCase {
                case_id: c.id.clone(),
                sender: Sender::Coordinator
            }
        );
        assert_eq!(
            run("From: bob@example.net\r\nSubject: x\r\n\r\nb", Some(&c)),
            Route::InCase {
                case_id: c.id.clone(),
                sender: Sender::Other
            }
        );
    }

    #[test]
    fn a_list_rewritten_reply_to_cannot_make_a_coordinator() {
        let c = case();
        let r = run("From: \"Mallory via security\" <security@example.org>\r\nReply-To: alice@example.org\r\nSubject: x\r\n\r\nb", Some(&c));
        assert_eq!(
            r,
            Route::InCase {
                case_id: c.id.clone(),
                sender: Sender::Other
            }
        );
    }

    #[test]
    fn a_list_rewritten_x_original_from_names_a_coordinator_to_be_authenticated() {
        let c = case();
        for h in ["X-Original-From", "X-Original-Sender"] {
            let raw = format!("From: \"Alice via security\" <security@example.org>\r\n{h}: alice@example.org\r\nReply-To: security@example.org\r\nSubject: x\r\n\r\nb");
            assert_eq!(
                run(&raw, Some(&c)),
                Route::InCase {
                    case_id: c.id.clone(),
                    sender: Sender::Coordinator
                },
                "{h}"
            );
        }
    }

    #[test]
    fn automatic_never_opens_a_case() {
        let r = run(
            "From: jane@example.com\r\nAuto-Submitted: auto-replied\r\nSubject: Out of office\r\n\r\nb",
            None,
        );
        assert_eq!(
            r,
            Route::Automatic {
                case_id: None,
                kind: AutoKind::AutoReply
            }
        );
    }
}

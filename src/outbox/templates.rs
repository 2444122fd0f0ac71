//! Every word the daemon sends comes from a template: built in, or overridden from a directory.

use std::path::Path;

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

/// The built-in templates (name, text).
pub const BUILTIN: &[(&str, &str)] = &[
    ("receipt", include_str!("../../templates/receipt.txt")),
    ("new_case_notice", include_str!("../../templates/new_case_notice.txt")),
    ("follow_up_notice", include_str!("../../templates/follow_up_notice.txt")),
    ("confirmation", include_str!("../../templates/confirmation.txt")),
    ("command_refused", include_str!("../../templates/command_refused.txt")),
    ("dismissal", include_str!("../../templates/dismissal.txt")),
    ("duplicate_notice", include_str!("../../templates/duplicate_notice.txt")),
    ("closing_notice", include_str!("../../templates/closing_notice.txt")),
    ("progress_update", include_str!("../../templates/progress_update.txt")),
    ("reminder", include_str!("../../templates/reminder.txt")),
    (
        "holding_acknowledgement",
        include_str!("../../templates/holding_acknowledgement.txt"),
    ),
    ("status_update", include_str!("../../templates/status_update.txt")),
    ("digest", include_str!("../../templates/digest.txt")),
];

#[derive(Debug, Clone, thiserror::Error)]
pub enum TemplateError {
    #[error("template {file}: {message}")]
    Broken { file: String, message: String },
    #[error("template {0}: has no `Subject:` first line")]
    NoSubject(String),
    #[error("template directory {0}: {1}")]
    Dir(String, String),
}

/// A rendered mail: subject line and body.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
    /// Set when an overriding template failed on this data and the built-in one was used
    /// instead: the override's error (file and line), for an event.
    pub fallback: Option<String>,
}

pub use crate::case::mail::TemplateContext;

/// The loaded templates.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
    origin: Vec<(String, String)>,
}

fn describe(file: &str, e: &minijinja::Error) -> TemplateError {
    let line = e.line().map(|l| format!(" line {l}")).unwrap_or_default();
    TemplateError::Broken {
        file: format!("{file}{line}"),
        message: e.to_string(),
    }
}

/// The built-in copy of template `name` (kept for falling back from a failing override).
fn builtin_name(name: &str) -> String {
    format!("builtin/{name}")
}

/// The first line of `source` where `var` appears inside a `{{ }}` or `{% %}` tag.
fn line_of(source: &str, var: &str) -> Option<usize> {
    let word = regex::Regex::new(&format!(r"\b{}\b", regex::escape(var))).ok()?;
    let mut line = 1;
    let mut rest = source;
    while let Some(open) = rest.find(['{']) {
        line += rest[..open].matches('\n').count();
        let after = &rest[open..];
        let close = if after.starts_with("{{") {
            after.find("}}")
        } else if after.starts_with("{%") {
            after.find("%}")
        } else {
            rest = &after[1..];
            continue;
        };
        let Some(close) = close else { break };
        let tag = &after[..close];
        if let Some(m) = word.find(tag) {
            return Some(line + tag[..m.start()].matches('\n').count());
        }
        line += tag.matches('\n').count();
        rest = &after[close..];
    }
    None
}

impl Templates {
    /// Loads the built-ins, then every `NAME.txt` in `dir` that overrides one of them.
    pub fn load(dir: Option<&Path>) -> Result<Templates, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        env.set_trim_blocks(false);
        let mut origin = Vec::new();
        for (name, text) in BUILTIN {
            env.add_template_owned(builtin_name(name), *text)
                .map_err(|e| describe(&format!("(built-in) {name}.txt"), &e))?;
            let (file, text) = match dir.map(|d| d.join(format!("{name}.txt"))) {
                Some(p) if p.exists() => {
                    let t = std::fs::read_to_string(&p)
                        .map_err(|e| TemplateError::Dir(p.display().to_string(), e.to_string()))?;
                    (p.display().to_string(), t)
                }
                _ => (format!("(built-in) {name}.txt"), text.to_string()),
            };
            if !text.starts_with("Subject:") {
                return Err(TemplateError::NoSubject(file));
            }
            env.add_template_owned(name.to_string(), text)
                .map_err(|e| describe(&file, &e))?;
            origin.push((name.to_string(), file));
        }
        if let Some(d) = dir {
            if !d.is_dir() {
                return Err(TemplateError::Dir(d.display().to_string(), "is not a directory".into()));
            }
        }
        Ok(Templates { env, origin })
    }

    fn file_of(&self, name: &str) -> String {
        self.origin
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, f)| f.clone())
            .unwrap_or_else(|| name.to_string())
    }

    fn is_override(&self, name: &str) -> bool {
        !self.file_of(name).starts_with("(built-in)")
    }

    /// Renders template `name` exactly as loaded (no fallback).
    fn render_strict<C: Serialize>(&self, name: &str, ctx: C) -> Result<Rendered, TemplateError> {
        self.render_as(name, name, ctx)
    }

    fn render_as<C: Serialize>(&self, name: &str, file_name: &str, ctx: C) -> Result<Rendered, TemplateError> {
        let t = self.env.get_template(name).map_err(|e| describe(name, &e))?;
        let text = t.render(ctx).map_err(|e| describe(&self.file_of(file_name), &e))?;
        let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
        let subject = first
            .strip_prefix("Subject:")
            .ok_or_else(|| TemplateError::NoSubject(self.file_of(file_name)))?
            .trim()
            .to_string();
        let body = rest.trim_start_matches(['\r', '\n']).to_string();
        Ok(Rendered {
            subject,
            body,
            fallback: None,
        })
    }

    /// Renders template `name`; the first line is `Subject: ...`. When an overriding
    /// template fails on this data, the built-in one is used and `fallback` says why, so a
    /// mistake in an override never stops the mail (nor the transaction it is part of).
    pub fn render<C: Serialize>(&self, name: &str, ctx: C) -> Result<Rendered, TemplateError> {
        let ctx = minijinja::Value::from_serialize(&ctx);
        match self.render_strict(name, &ctx) {
            Ok(r) => Ok(r),
            Err(e) if self.is_override(name) => {
                let mut r = self.render_as(&builtin_name(name), name, &ctx).map_err(|_| e.clone())?;
                r.fallback = Some(e.to_string());
                Ok(r)
            }
            Err(e) => Err(e),
        }
    }

    /// Renders the template of a context type (see [`TemplateContext`]).
    pub fn render_ctx<C: TemplateContext>(&self, ctx: &C) -> Result<Rendered, TemplateError> {
        self.render(C::TEMPLATE, ctx)
    }

    /// Checks every template against the data its mail really gets: every variable it uses
    /// must be one of its context's keys (in every branch, not only the ones the samples
    /// take), and it must render each sample. Errors name the file and the line.
    /// `samples`: every template's name with sample contexts, the first with every key
    /// (see `outbox::samples::all`).
    pub fn check(&self, samples: &[(&str, Vec<serde_json::Value>)]) -> Result<(), TemplateError> {
        for (name, samples) in samples {
            let t = self.env.get_template(name).map_err(|e| describe(name, &e))?;
            let keys: Vec<String> = samples
                .first()
                .and_then(|s| s.as_object())
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default();
            let globals: Vec<&str> = self.env.globals().map(|(n, _)| n).collect();
            let mut unknown: Vec<String> = t
                .undeclared_variables(false)
                .into_iter()
                .filter(|v| !keys.contains(v) && !globals.contains(&v.as_str()))
                .collect();
            unknown.sort();
            if let Some(v) = unknown.first() {
                let line = line_of(t.source(), v).map(|l| format!(" line {l}")).unwrap_or_default();
                return Err(TemplateError::Broken {
                    file: format!("{}{line}", self.file_of(name)),
                    message: format!(
                        "uses `{v}`, which the {name} mail does not get; it gets: {}",
                        keys.join(", ")
                    ),
                });
            }
            for s in samples {
                self.render_strict(name, s)?;
            }
        }
        Ok(())
    }
}

/// The context of every template (they live in the core, where mails are planned).
pub use crate::case::mail as ctx;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_render() {
        let t = Templates::load(None).unwrap();
        t.check(&super::super::samples::all()).unwrap();
    }

    #[test]
    fn override_and_broken_template() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("receipt.txt"),
            "Subject: Got it {{ case_id }}\n\nCustom body {{ case_id }}\n",
        )
        .unwrap();
        let t = Templates::load(Some(d.path())).unwrap();
        let r = t.render("receipt", super::super::samples::context("receipt")).unwrap();
        assert_eq!(r.subject, "Got it SEC-2026-0001");
        assert!(r.body.starts_with("Custom body SEC-2026-0001"));

        std::fs::write(d.path().join("receipt.txt"), "Subject: x\n\nline two\n{% if %}\n").unwrap();
        let e = Templates::load(Some(d.path())).unwrap_err().to_string();
        assert!(e.contains("receipt.txt line 4"), "{e}");

        std::fs::write(d.path().join("receipt.txt"), "Subject: x\n\n{{ no_such_value }}\n").unwrap();
        let t = Templates::load(Some(d.path())).unwrap();
        let e = t.check(&super::super::samples::all()).unwrap_err().to_string();
        assert!(e.contains("receipt.txt"), "{e}");
    }

    #[test]
    fn every_template_has_its_context() {
        let names: Vec<&str> = super::super::samples::all().into_iter().map(|(n, _)| n).collect();
        let builtin: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, builtin);
    }

    fn receipt_ctx() -> ctx::ToReporter<ctx::Receipt> {
        ctx::ToReporter {
            base: ctx::ReporterBase {
                case_id: "SEC-2026-0007".into(),
                subject: "XSS".into(),
                reporter_name: None,
                team_name: "Security Team".into(),
            },
            mail: ctx::Receipt {
                case_tag: "[SEC-2026-0007]".into(),
                reporter: "jane@example.com".into(),
                acknowledge_within: "48 hours".into(),
                detailed_response_within: "48 hours".into(),
                body_check: "complete".into(),
                missing: vec![],
                missing_items: vec![],
                premature_disclosure: false,
                ask_credit: true,
                credit_name: None,
                arrived_at: "Saturday 21 November 2026, 10:00 UTC".into(),
                arrived_late: false,
                acknowledge_by: "Monday 23 November 2026, 10:00 UTC".into(),
                acknowledge_overdue: false,
                list_key: None,
                encrypted: false,
                reply_in_clear: false,
            },
        }
    }

    #[test]
    fn a_key_the_mail_does_not_get_fails_the_check_with_file_and_line() {
        let d = tempfile::tempdir().unwrap();
        // `state` is a key of other templates' samples, never of the receipt's.
        std::fs::write(
            d.path().join("receipt.txt"),
            "Subject: Got it\n\nHello,\nyour report is {{ state }}.\n",
        )
        .unwrap();
        let t = Templates::load(Some(d.path())).unwrap();
        let e = t.check(&super::super::samples::all()).unwrap_err().to_string();
        assert!(e.contains("receipt.txt line 4") && e.contains("`state`"), "{e}");
        // Also in a branch the samples never take.
        std::fs::write(
            d.path().join("receipt.txt"),
            "Subject: Got it\n\n{% if body_check == \"never\" %}\n{{ cve }}\n{% endif %}\n",
        )
        .unwrap();
        let t = Templates::load(Some(d.path())).unwrap();
        let e = t.check(&super::super::samples::all()).unwrap_err().to_string();
        assert!(e.contains("receipt.txt line 4") && e.contains("`cve`"), "{e}");
        // Loop variables and the keys it does get are fine.
        std::fs::write(
            d.path().join("receipt.txt"),
            "Subject: Got it {{ case_id }}\n\n{% for m in missing %}{{ m }} {{ loop.index }}{% endfor %}{{ range(2) | length }}\n",
        )
        .unwrap();
        Templates::load(Some(d.path()))
            .unwrap()
            .check(&super::super::samples::all())
            .unwrap();
    }

    #[test]
    fn a_failing_override_falls_back_to_the_built_in_template() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("receipt.txt"),
            "Subject: Got it\n\nHello,\nyour report is {{ state }}.\n",
        )
        .unwrap();
        let t = Templates::load(Some(d.path())).unwrap();
        let r = t.render_ctx(&receipt_ctx()).unwrap();
        assert_eq!(r.subject, "Re: XSS");
        assert!(r.body.contains("tracked as SEC-2026-0007"), "{}", r.body);
        let why = r.fallback.expect("says it fell back");
        assert!(why.contains("receipt.txt line 4"), "{why}");
        // A working override is used as is.
        std::fs::write(d.path().join("receipt.txt"), "Subject: Got it\n\n{{ case_id }}\n").unwrap();
        let t = Templates::load(Some(d.path())).unwrap();
        let r = t.render_ctx(&receipt_ctx()).unwrap();
        assert_eq!(
            (r.subject.as_str(), r.body.as_str(), r.fallback),
            ("Got it", "SEC-2026-0007\n", None)
        );
    }

    #[test]
    fn the_receipt_asks_for_a_name_and_never_offers_the_address() {
        let t = Templates::load(None).unwrap();
        let r = t.render_ctx(&receipt_ctx()).unwrap();
        assert!(r.body.contains("/credit YOUR NAME"), "{}", r.body);
        assert!(!r.body.contains("jane@example.com"), "{}", r.body);
    }

    #[test]
    fn the_receipt_words_each_missing_item_itself() {
        let t = Templates::load(None).unwrap();
        let mut c = receipt_ctx();
        c.mail.missing_items = vec!["reproduction".into(), "impact".into()];
        let r = t.render_ctx(&c).unwrap();
        assert!(r.body.contains("please also send us"), "{}", r.body);
        assert!(r.body.contains("steps to reproduce"), "{}", r.body);
        assert!(r.body.contains("what an attacker can do"), "{}", r.body);
        assert!(!r.body.contains("affected versions"), "{}", r.body);
        // A paragraph is one line of the template; as sent (format=flowed) every line is short.
        let sent = crate::text::flowed::encode(&r.body);
        assert!(sent.split("\r\n").all(|l| l.chars().count() <= 78), "{sent}");
    }

    #[test]
    fn the_reminder_words_what_each_deadline_asks_for() {
        let t = Templates::load(None).unwrap();
        let mut r = ctx::Reminder {
            case_id: "SEC-2026-0007".into(),
            subject: "XSS".into(),
            label: "acknowledgement".into(),
            when: "due in 6 hours".into(),
            distance: "6 hours".into(),
            overdue: false,
            embargo_ends: None,
            due: "2026-11-23T10:00:00Z".into(),
            what: "(older overrides only)".into(),
            deadline: String::new(),
            state: "triage".into(),
            reporter: "jane@example.com".into(),
            coordinator: None,
            since: "2026-11-21T10:00:00Z".into(),
            holding_sent: false,
        };
        for (deadline, name, ask) in [
            ("assign", "Coordinator assignment", "/assign me"),
            ("acknowledge", "Acknowledgement", "/ack"),
            ("detailed-response", "Detailed response", "/needs-info"),
            ("keep-informed", "Reporter update", "send them an update"),
            ("needs-info-nudge", "Needs-info follow-up", "ask again"),
            ("invalid-notice", "Verdict", "/invalid REASON"),
        ] {
            r.deadline = deadline.into();
            r.embargo_ends = None;
            let m = t.render_ctx(&r).unwrap();
            assert!(m.body.starts_with(name), "{deadline}: {}", m.body);
            assert!(m.body.contains(ask), "{deadline}: {}", m.body);
            assert!(m.subject.starts_with(&name.to_lowercase()), "{deadline}: {}", m.subject);
        }
    }
}

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

#[derive(Debug, thiserror::Error)]
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
}

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

impl Templates {
    /// Loads the built-ins, then every `NAME.txt` in `dir` that overrides one of them.
    pub fn load(dir: Option<&Path>) -> Result<Templates, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        env.set_trim_blocks(false);
        let mut origin = Vec::new();
        for (name, text) in BUILTIN {
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

    /// Renders template `name`; the first line is `Subject: ...`.
    pub fn render<C: Serialize>(&self, name: &str, ctx: C) -> Result<Rendered, TemplateError> {
        let t = self.env.get_template(name).map_err(|e| describe(name, &e))?;
        let text = t.render(ctx).map_err(|e| describe(&self.file_of(name), &e))?;
        let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
        let subject = first
            .strip_prefix("Subject:")
            .ok_or_else(|| TemplateError::NoSubject(self.file_of(name)))?
            .trim()
            .to_string();
        let body = rest.trim_start_matches(['\r', '\n']).to_string();
        Ok(Rendered { subject, body })
    }

    /// Renders every template with sample data, so `check-config` catches mistakes.
    pub fn check(&self) -> Result<(), TemplateError> {
        for (name, _) in BUILTIN {
            self.render(name, super::samples::context(name))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_render() {
        let t = Templates::load(None).unwrap();
        t.check().unwrap();
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
        let e = t.check().unwrap_err().to_string();
        assert!(e.contains("receipt.txt"), "{e}");
    }
}

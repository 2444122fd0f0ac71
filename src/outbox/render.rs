//! From a planned mail to a draft: its template rendered, its subject tagged with the case.

use super::compose::{tagged_subject, Draft};
use super::templates::{TemplateError, Templates};
use crate::case::plan::MailIntent;

/// A draft ready to queue, and why an overriding template was not used (for an event).
#[derive(Debug, Clone)]
pub struct Rendered {
    pub draft: Draft,
    pub fallback: Option<String>,
}

/// Renders `intent` with its template.
pub fn render(templates: &Templates, intent: &MailIntent) -> Result<Rendered, TemplateError> {
    let r = templates.render(intent.context.template(), &intent.context)?;
    let subject = match &intent.case {
        Some(id) => tagged_subject(&id.tag(), &r.subject),
        None => r.subject,
    };
    Ok(Rendered {
        draft: Draft {
            case_id: intent.case.as_ref().map(|c| c.to_string()),
            kind: intent.kind,
            to: intent.to.clone(),
            subject,
            body: r.body,
            in_reply_to: intent.thread.in_reply_to.clone(),
            references: intent.thread.references.clone(),
            auto_submitted: intent.auto_submitted,
            automatic: intent.automatic,
            to_reporter: intent.to_reporter,
            seal_to: vec![],
        },
        fallback: r.fallback,
    })
}

//! Which alerts a plan raises, read off the planner's own events (a case opened, with or
//! without a premature disclosure; commands refused; a state changed), so one decision
//! drives both the mail and the team channels. Pure.

use chrono::{DateTime, Utc};

use super::{Alert, Detail, EventKind};
use crate::case::event::EventKind as Ev;
use crate::case::plan::{CaseWrite, Plan};

/// The alerts of `plan` at `now`, in the order of its events. A `confidential` case's
/// subject (its report arrived encrypted) is never put into an alert.
pub fn alerts(plan: &Plan, now: DateTime<Utc>, confidential: bool) -> Vec<Alert> {
    let Some(write) = &plan.case else {
        return Vec::new();
    };
    let case = write.case();
    let flags = match write {
        CaseWrite::Open(_, opening) => opening.flags.clone(),
        CaseWrite::Update(c) => c.file.flags.clone(),
    };
    let id = case.id.to_string();
    let alert = |event: EventKind, detail: Detail| Alert {
        event,
        case_id: id.clone(),
        state: case.state().as_str().to_string(),
        flags: flags.clone(),
        subject: (!confidential).then(|| case.subject.clone()),
        detail,
        at: now,
    };
    let text = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let mut out = Vec::new();
    for e in plan.events.iter().filter(|e| e.case.as_deref() == Some(id.as_str())) {
        match e.kind {
            Ev::Opened => {
                if flags.iter().any(|f| f == "premature-disclosure") {
                    out.push(alert(EventKind::PrematureDisclosure, Detail::None));
                }
                out.push(alert(EventKind::NewCase, Detail::None));
            }
            Ev::CommandsRefused => out.push(alert(
                EventKind::RefusedCommands,
                Detail::Refused {
                    sender: e.actor.clone(),
                    reason: text(&e.detail, "reason"),
                },
            )),
            Ev::Change("state") => out.push(alert(
                EventKind::StateChanged,
                Detail::StateChanged {
                    from: text(&e.detail, "from"),
                    to: text(&e.detail, "to"),
                },
            )),
            _ => {}
        }
    }
    out
}

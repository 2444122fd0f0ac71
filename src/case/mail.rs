//! What each mail says, as data: the context of every template, the kinds of mail, and
//! durations worded for people. The planner fills these; the outbox renders them.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::analysis::Hint;
use crate::message::Attachment;

/// What every mail to the reporter gets.
#[derive(Debug, Clone, Serialize)]
pub struct ReporterBase {
    pub case_id: String,
    pub subject: String,
    pub reporter_name: Option<String>,
    pub team_name: String,
}

/// The part of a reporter mail that is its own.
pub trait ReporterMail: Serialize {
    const TEMPLATE: &'static str;
}

/// A mail to the reporter: the common part and the mail's own.
#[derive(Debug, Clone, Serialize)]
pub struct ToReporter<T> {
    #[serde(flatten)]
    pub base: ReporterBase,
    #[serde(flatten)]
    pub mail: T,
}

impl<T: ReporterMail> TemplateContext for ToReporter<T> {
    const TEMPLATE: &'static str = T::TEMPLATE;
}

#[derive(Debug, Clone, Serialize)]
pub struct Receipt {
    pub case_tag: String,
    pub reporter: String,
    pub acknowledge_within: String,
    pub detailed_response_within: String,
    pub body_check: String,
    /// What the report lacks, as requests to the reporter (kept for older overrides;
    /// the built-in template words `missing_items` itself).
    pub missing: Vec<String>,
    /// What the report lacks: `affected-versions`, `reproduction`, `impact`.
    pub missing_items: Vec<String>,
    pub premature_disclosure: bool,
    pub ask_credit: bool,
    /// The name we would credit (the display name); none: we ask for one.
    pub credit_name: Option<String>,
    /// When the report reached our mailbox, for people ("Monday 30 November 2026, 10:00 UTC").
    pub arrived_at: String,
    /// It reached us a while before this receipt (the daemon was down, or behind).
    pub arrived_late: bool,
    /// When a person will have replied at the latest (counted from the arrival), for people.
    pub acknowledge_by: String,
    /// That time has passed already: the receipt promises no time.
    pub acknowledge_overdue: bool,
    /// The list key's fingerprint (`[pgp]`), for a report it could not decrypt.
    pub list_key: Option<String>,
    /// The report arrived encrypted.
    pub encrypted: bool,
    /// This receipt goes out unencrypted (no key for the reporter): it repeats nothing of
    /// the report and says how to get encrypted replies.
    pub reply_in_clear: bool,
}
impl ReporterMail for Receipt {
    const TEMPLATE: &'static str = "receipt";
}

#[derive(Debug, Clone, Serialize)]
pub struct Dismissal {
    pub reason: String,
}
impl ReporterMail for Dismissal {
    const TEMPLATE: &'static str = "dismissal";
}

#[derive(Debug, Clone, Serialize)]
pub struct DuplicateNotice {
    pub of: String,
}
impl ReporterMail for DuplicateNotice {
    const TEMPLATE: &'static str = "duplicate_notice";
}

#[derive(Debug, Clone, Serialize)]
pub struct ClosingNotice {
    pub cve: Option<String>,
    pub ghsa: Option<String>,
    pub patched_versions: Option<String>,
    pub severity: Option<String>,
    pub cvss_score: Option<f64>,
    /// The name in the advisory; none: credited by no name.
    pub credit: Option<String>,
    /// The reporter asked not to be credited.
    pub anonymous: bool,
}
impl ReporterMail for ClosingNotice {
    const TEMPLATE: &'static str = "closing_notice";
}

#[derive(Debug, Clone, Serialize)]
pub struct ProgressUpdate {
    /// accepted, patching, released or release-planned.
    pub update: String,
    /// The case's state (accepted, patching, released).
    pub state: String,
    pub severity: Option<String>,
    pub cvss_score: Option<f64>,
    pub patched_versions: Option<String>,
    /// The planned release (the `/embargo` date), YYYY-MM-DD.
    pub release_date: Option<String>,
}
impl ReporterMail for ProgressUpdate {
    const TEMPLATE: &'static str = "progress_update";
}

#[derive(Debug, Clone, Serialize)]
pub struct HoldingAcknowledgement {
    pub acknowledge_within: String,
    /// When a coordinator will reply at the latest, e.g. "Tuesday 24 November 2026, 10:00 UTC".
    pub reply_by: String,
}
impl ReporterMail for HoldingAcknowledgement {
    const TEMPLATE: &'static str = "holding_acknowledgement";
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusUpdate {
    /// The raw state: new, triage, assessing, needs-info, accepted, patching, released.
    pub state: String,
    /// The same in words (kept for older overrides; the built-in template words it itself).
    pub state_words: String,
}
impl ReporterMail for StatusUpdate {
    const TEMPLATE: &'static str = "status_update";
}

/// A checklist item judged present, and the phrase of the report that made it count.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    pub item: String,
    pub phrase: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct NewCaseNotice {
    pub case_id: String,
    pub subject: String,
    pub reporter: String,
    pub reporter_name: Option<String>,
    pub opened_at: String,
    pub body_check: String,
    pub missing: Vec<String>,
    /// Why each present item counted (the phrase of the report), in checklist order.
    pub evidence: Vec<Evidence>,
    pub flags: Vec<String>,
    pub hints: Vec<Hint>,
    pub attachments: Vec<Attachment>,
    pub links: Vec<String>,
    pub premature_disclosure: bool,
    pub public_links: Vec<String>,
    pub assign_within: String,
    pub acknowledge_within: String,
    pub excerpt: String,
    /// "3 days" when the report reached the mailbox that long before it was ingested.
    pub arrived_ago: Option<String>,
    /// Earlier cases it resembles, best first (at most 3).
    pub similar: Vec<SimilarCase>,
}
impl TemplateContext for NewCaseNotice {
    const TEMPLATE: &'static str = "new_case_notice";
}

/// An earlier case a new report resembles.
#[derive(Debug, Clone, Serialize)]
pub struct SimilarCase {
    pub case_id: String,
    pub score: f64,
    /// "12 days ago"
    pub reported: String,
    pub reporter: String,
    pub subject: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FollowUpNotice {
    pub case_id: String,
    pub subject: String,
    pub sender: String,
    /// The sender is the case's reporter; otherwise a third party (neither the reporter
    /// nor a coordinator) wrote into the thread, and the notice says so.
    pub from_reporter: bool,
    pub state: String,
    pub attachments: Vec<Attachment>,
    pub excerpt: String,
}
impl TemplateContext for FollowUpNotice {
    const TEMPLATE: &'static str = "follow_up_notice";
}

#[derive(Debug, Clone, Serialize)]
pub struct Confirmation {
    pub applied: bool,
    pub case_id: String,
    pub subject: String,
    pub changes: Vec<String>,
    pub errors: Vec<String>,
    pub mails: Vec<String>,
    pub state: String,
    pub coordinator: Option<String>,
    pub usage: Vec<String>,
    /// Why the message counted as the coordinator's (the authentication verdict).
    pub authentication: String,
}
impl TemplateContext for Confirmation {
    const TEMPLATE: &'static str = "confirmation";
}

#[derive(Debug, Clone, Serialize)]
pub struct CommandRefused {
    pub case_id: String,
    pub subject: String,
    pub sender: String,
    pub reason: String,
    pub commands: Vec<String>,
}
impl TemplateContext for CommandRefused {
    const TEMPLATE: &'static str = "command_refused";
}

#[derive(Debug, Clone, Serialize)]
pub struct Reminder {
    pub case_id: String,
    pub subject: String,
    pub label: String,
    /// "due in 6 hours", "overdue by 2 hours", "coming in 7 days (the embargo ends ...)"
    /// (kept for older overrides; the built-in template words it from the keys below).
    pub when: String,
    /// How far the deadline is, rounded: "6 hours", "2 days".
    pub distance: String,
    /// The deadline has passed.
    pub overdue: bool,
    /// For an embargo reminder: the embargo's date (YYYY-MM-DD, local).
    pub embargo_ends: Option<String>,
    pub due: String,
    /// What the reminder asks for (kept for older overrides; the built-in template words
    /// it from `deadline`).
    pub what: String,
    /// Which deadline: `assign`, `acknowledge`, `detailed-response`, `keep-informed`,
    /// `needs-info-nudge`, `invalid-notice`, `embargo`.
    pub deadline: String,
    pub state: String,
    pub reporter: String,
    pub coordinator: Option<String>,
    pub since: String,
    pub holding_sent: bool,
}
impl TemplateContext for Reminder {
    const TEMPLATE: &'static str = "reminder";
}

#[derive(Debug, Clone, Serialize)]
pub struct StateCount {
    pub state: String,
    pub count: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct DigestDeadline {
    pub case_id: String,
    pub label: String,
    pub due: String,
    pub coordinator: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Waiting {
    pub case_id: String,
    pub since: String,
    pub subject: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Digest {
    pub open_total: usize,
    pub by_state: Vec<StateCount>,
    pub overdue: Vec<DigestDeadline>,
    pub due_soon: Vec<DigestDeadline>,
    pub waiting: Vec<Waiting>,
    /// Runbook steps not done yet (`/done STEP`), per case.
    pub open_steps: Vec<OpenSteps>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OpenSteps {
    pub case_id: String,
    pub steps: String,
}
impl TemplateContext for Digest {
    const TEMPLATE: &'static str = "digest";
}

/// The data one template gets: each template has exactly one context type, used both where
/// the mail is made and by `Templates::check`, so `check-config` knows every key a template may use.
pub trait TemplateContext: Serialize {
    /// The template's name (its file is `NAME.txt`).
    const TEMPLATE: &'static str;
}

/// "48 hours", "10 days", "90 seconds": a duration for people.
pub fn human_duration(d: std::time::Duration) -> String {
    let s = d.as_secs();
    let (n, unit) = if s >= 86400 && s.is_multiple_of(86400) && s / 86400 > 2 {
        (s / 86400, "day")
    } else if s >= 3600 && s.is_multiple_of(3600) {
        (s / 3600, "hour")
    } else if s >= 60 && s.is_multiple_of(60) {
        (s / 60, "minute")
    } else {
        (s, "second")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// How far `due` is from `now`, rounded to the nearest unit: "6 hours", "25 days".
pub fn distance(due: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let ms = (due - now).num_milliseconds();
    let abs = ms.unsigned_abs();
    let nearest = |unit_ms: u64| (abs + unit_ms / 2) / unit_ms;
    let secs = if nearest(3_600_000) >= 72 {
        nearest(86_400_000) * 86400
    } else if nearest(60_000) >= 60 {
        nearest(3_600_000) * 3600
    } else if nearest(1000) >= 60 {
        nearest(60_000) * 60
    } else {
        nearest(1000)
    };
    human_duration(std::time::Duration::from_secs(secs.max(1)))
}

/// "Tuesday 24 November 2026, 10:00 UTC", in the calendar's time zone.
pub fn for_people(t: DateTime<Utc>, tz: &Tz) -> String {
    t.with_timezone(tz).format("%A %-d %B %Y, %H:%M %Z").to_string()
}

/// The updates a reporter can get as a case moves on (`policy.progress_updates`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProgressKind {
    Accepted,
    Patching,
    ReleasePlanned,
    Released,
    Disclosed,
}

impl ProgressKind {
    pub const ALL: [ProgressKind; 5] = [
        ProgressKind::Accepted,
        ProgressKind::Patching,
        ProgressKind::ReleasePlanned,
        ProgressKind::Released,
        ProgressKind::Disclosed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProgressKind::Accepted => "accepted",
            ProgressKind::Patching => "patching",
            ProgressKind::ReleasePlanned => "release-planned",
            ProgressKind::Released => "released",
            ProgressKind::Disclosed => "disclosed",
        }
    }
}

/// The kinds of mail the daemon sends (stored in `outbox.kind` and in each Message-ID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MailKind {
    Receipt,
    Notice,
    FollowUpNotice,
    Confirmation,
    RefusedNotice,
    Dismissal,
    DuplicateNotice,
    ClosingNotice,
    Progress,
    Reminder,
    HoldingAck,
    StatusUpdate,
    Digest,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::Receipt => "receipt",
            MailKind::Notice => "notice",
            MailKind::FollowUpNotice => "follow-up-notice",
            MailKind::Confirmation => "confirmation",
            MailKind::RefusedNotice => "refused-notice",
            MailKind::Dismissal => "dismissal",
            MailKind::DuplicateNotice => "duplicate-notice",
            MailKind::ClosingNotice => "closing-notice",
            MailKind::Progress => "progress",
            MailKind::Reminder => "reminder",
            MailKind::HoldingAck => "holding-ack",
            MailKind::StatusUpdate => "status-update",
            MailKind::Digest => "digest",
        }
    }
}

impl std::fmt::Display for MailKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `Auto-Submitted` value of a mail (RFC 3834).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoSubmitted {
    /// An answer to a message (receipt, confirmation).
    AutoReplied,
    /// Everything else (notices, reminders, updates).
    AutoGenerated,
}

impl AutoSubmitted {
    pub fn as_str(self) -> &'static str {
        match self {
            AutoSubmitted::AutoReplied => "auto-replied",
            AutoSubmitted::AutoGenerated => "auto-generated",
        }
    }
}

/// The context of one mail, whichever template it is for.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum MailContext {
    Receipt(ToReporter<Receipt>),
    Dismissal(ToReporter<Dismissal>),
    DuplicateNotice(ToReporter<DuplicateNotice>),
    ClosingNotice(ToReporter<ClosingNotice>),
    Progress(ToReporter<ProgressUpdate>),
    HoldingAcknowledgement(ToReporter<HoldingAcknowledgement>),
    StatusUpdate(ToReporter<StatusUpdate>),
    NewCaseNotice(NewCaseNotice),
    FollowUpNotice(FollowUpNotice),
    Confirmation(Confirmation),
    CommandRefused(CommandRefused),
    Reminder(Reminder),
    Digest(Digest),
}

impl MailContext {
    /// The template this context is for.
    pub fn template(&self) -> &'static str {
        fn t<C: TemplateContext>(_: &C) -> &'static str {
            C::TEMPLATE
        }
        match self {
            MailContext::Receipt(c) => t(c),
            MailContext::Dismissal(c) => t(c),
            MailContext::DuplicateNotice(c) => t(c),
            MailContext::ClosingNotice(c) => t(c),
            MailContext::Progress(c) => t(c),
            MailContext::HoldingAcknowledgement(c) => t(c),
            MailContext::StatusUpdate(c) => t(c),
            MailContext::NewCaseNotice(c) => t(c),
            MailContext::FollowUpNotice(c) => t(c),
            MailContext::Confirmation(c) => t(c),
            MailContext::CommandRefused(c) => t(c),
            MailContext::Reminder(c) => t(c),
            MailContext::Digest(c) => t(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_for_people() {
        assert_eq!(human_duration(std::time::Duration::from_secs(48 * 3600)), "48 hours");
        assert_eq!(human_duration(std::time::Duration::from_secs(10 * 86400)), "10 days");
        assert_eq!(human_duration(std::time::Duration::from_secs(2)), "2 seconds");
    }
}

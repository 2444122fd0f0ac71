//! The kinds of event in a case's audit log (stored in `events.kind`, shown by `case ID`).

use crate::analysis::AutoKind;

/// What an event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A report opened the case.
    Opened,
    /// Mail from before the first start (or an archive) opened a `historical` case.
    Imported,
    /// A message of the history joined its case's thread.
    HistoryMessage,
    /// Only the header of a too large message was kept.
    Oversized,
    ParseProblem,
    ReceiptQueued,
    ReporterMessage,
    ThirdPartyMessage,
    CoordinatorMessage,
    Acknowledged,
    DetailedResponse,
    /// A coordinator's commands had errors: nothing applied.
    CommandsRejected,
    /// Commands from someone not authenticated as a coordinator: nothing applied.
    CommandsRefused,
    DuplicateLinked,
    DuplicateUnlinked,
    /// A change a command made (the lifecycle's own names: `state`, `assigned`, `field`, ...).
    Change(&'static str),
    /// Automatic mail (an auto-reply, a bounce) arrived.
    Received(AutoKind),
    TemplateFallback,
    MailSuppressed,
    MailFailed,
    UidvalidityChanged,
    Reminder,
    HoldingAcknowledgement,
    StatusUpdate,
    /// `case ID decrypt`: an encrypted message was tried again with the list key.
    Decrypted,
}

impl EventKind {
    /// The stored name.
    pub fn name(self) -> String {
        let s = match self {
            EventKind::Opened => "opened",
            EventKind::Imported => "imported",
            EventKind::HistoryMessage => "history-message",
            EventKind::Oversized => "oversized",
            EventKind::ParseProblem => "parse-problem",
            EventKind::ReceiptQueued => "receipt-queued",
            EventKind::ReporterMessage => "reporter-message",
            EventKind::ThirdPartyMessage => "third-party-message",
            EventKind::CoordinatorMessage => "coordinator-message",
            EventKind::Acknowledged => "acknowledged",
            EventKind::DetailedResponse => "detailed-response",
            EventKind::CommandsRejected => "commands-rejected",
            EventKind::CommandsRefused => "commands-refused",
            EventKind::DuplicateLinked => "duplicate-linked",
            EventKind::DuplicateUnlinked => "duplicate-unlinked",
            EventKind::Change(c) => c,
            EventKind::Received(k) => return format!("{}-received", k.as_str()),
            EventKind::TemplateFallback => "template-fallback",
            EventKind::MailSuppressed => "mail-suppressed",
            EventKind::MailFailed => "mail-failed",
            EventKind::UidvalidityChanged => "uidvalidity-changed",
            EventKind::Reminder => "reminder",
            EventKind::HoldingAcknowledgement => "holding-acknowledgement",
            EventKind::StatusUpdate => "status-update",
            EventKind::Decrypted => "decrypted",
        };
        s.to_string()
    }
}

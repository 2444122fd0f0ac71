//! The planner: what one message (or one command line from the CLI) does to a case, as data.
//!
//! Every rule about which mail goes out lives here, once: the receipt and the new-case
//! notice, the follow-up notice, the acknowledgement milestones, refused commands,
//! confirmations, the reporter's mails that commands cause (dismissal, duplicate, closing
//! notice, progress updates including "release planned") and `/quiet`. A [`Plan`] holds the
//! new case, the events and the mails as intents; the store saves it, the outbox renders it.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};

use super::command::{self, Command, CommandError};
use super::event::EventKind;
use super::lifecycle::{self, Actor, CaseFile, Effect};
use super::mail::{self, AutoSubmitted, MailContext, MailKind, ProgressKind, ReporterBase, ToReporter};
use super::{CaseId, State};
use crate::address::Address;
use crate::analysis::{Facts, Hint};
use crate::authentication::Verdict;
use crate::message::Incoming;
use crate::pgp::{Encryption, Verdict as SignatureVerdict};
use crate::routing::Sender;

/// A message's place in a thread: what a reply to it carries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thread {
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
}

impl Thread {
    /// The headers of a reply to `m`.
    pub fn reply_to(m: &Incoming) -> Thread {
        let mut references = m.references.clone();
        if let Some(id) = &m.message_id {
            if !references.contains(id) {
                references.push(id.clone());
            }
        }
        Thread {
            in_reply_to: m.message_id.clone(),
            references,
        }
    }
}

/// A case as stored, with typed values: the lifecycle's file and the milestones beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub id: CaseId,
    pub file: CaseFile,
    pub subject: String,
    pub reporter_name: Option<String>,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub state_since: DateTime<Utc>,
    pub assigned_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub detailed_response_at: Option<DateTime<Utc>>,
    pub last_reporter_mail_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The report's Message-ID and References: mail to the reporter threads under it.
    pub thread_root: Thread,
}

impl Case {
    pub fn state(&self) -> State {
        self.file.state()
    }

    /// The reporter's address, when it is one.
    pub fn reporter(&self) -> Option<Address> {
        Address::parse(&self.file.reporter).ok()
    }

    /// The common part of every mail to the reporter.
    fn reporter_base(&self, team_name: &str) -> ReporterBase {
        ReporterBase {
            case_id: self.id.to_string(),
            subject: self.subject.clone(),
            reporter_name: self.reporter_name.clone(),
            team_name: team_name.to_string(),
        }
    }

    /// The case after its file changed at `now`: the clocks beside the state follow it.
    fn with_file(&self, file: CaseFile, now: DateTime<Utc>) -> Case {
        let state = file.state();
        let mut c = self.clone();
        if self.file.state != file.state {
            c.state_since = now;
        }
        c.assigned_at = file.coordinator.as_ref().map(|_| self.assigned_at.unwrap_or(now));
        c.decided_at = state.is_decided().then(|| self.decided_at.unwrap_or(now));
        c.closed_at = state.is_closed().then(|| self.closed_at.unwrap_or(now));
        c.updated_at = now;
        c.file = file;
        c
    }
}

/// The name the advisory credits: `/credit NAME`, else the reporter's display name; never
/// the address, and nobody when the reporter chose `/anonymous`.
pub fn credit(anonymous: bool, chosen: Option<&str>, display_name: Option<&str>) -> Option<String> {
    if anonymous {
        return None;
    }
    chosen
        .or(display_name)
        .filter(|n| !n.trim().is_empty() && !n.contains('@'))
        .map(str::to_string)
}

/// What a new case starts with besides the file (written once, when it opens).
#[derive(Debug, Clone, PartialEq)]
pub struct Opening {
    pub body_check: String,
    pub missing: Vec<String>,
    /// Item -> the phrase of the report that made it count as present.
    pub evidence: std::collections::BTreeMap<String, String>,
    pub flags: Vec<String>,
    pub hints: Vec<Hint>,
    /// How the report arrived: `none`, `pgp-mime`, `pgp-inline`.
    pub encryption: Encryption,
    /// Its OpenPGP signature's verdict, when signed.
    pub signature: Option<SignatureVerdict>,
    /// The earlier cases it resembles: `[{id, score}]`, best first.
    pub similar: Vec<(String, f64)>,
}

/// The change to the case row.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseWrite {
    Open(Box<Case>, Opening),
    Update(Box<Case>),
}

impl CaseWrite {
    pub fn case(&self) -> &Case {
        match self {
            CaseWrite::Open(c, _) | CaseWrite::Update(c) => c,
        }
    }
}

/// An audit event to record.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The case it belongs to (not always the plan's: a duplicate link is on both).
    pub case: Option<String>,
    pub actor: String,
    pub kind: EventKind,
    pub detail: Value,
    /// Points at the message being handled.
    pub about_message: bool,
}

/// A mail to send, before it is rendered.
#[derive(Debug, Clone)]
pub struct MailIntent {
    pub case: Option<CaseId>,
    pub kind: MailKind,
    pub to: Vec<Address>,
    pub context: MailContext,
    pub thread: Thread,
    pub auto_submitted: AutoSubmitted,
    /// Counts against the per-address daily cap on automatic mail.
    pub automatic: bool,
    pub to_reporter: bool,
    /// Recorded once the mail is queued (not when the cap suppressed it).
    pub when_queued: Option<Event>,
}

/// What a message does: the case change, the events and the mails, in order.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub case: Option<CaseWrite>,
    pub events: Vec<Event>,
    pub mails: Vec<MailIntent>,
}

impl Plan {
    fn then(&mut self, other: Plan) {
        if other.case.is_some() {
            self.case = other.case;
        }
        self.events.extend(other.events);
        self.mails.extend(other.mails);
    }

    /// The case as it is after this plan, if the plan changes it.
    pub fn case(&self) -> Option<&Case> {
        self.case.as_ref().map(CaseWrite::case)
    }
}

/// The commands of a message, read once before the write transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommandText {
    /// Lines that look like commands (for refusals and reporters' choices).
    pub lines: Vec<String>,
    pub commands: Vec<Command>,
    pub errors: Vec<CommandError>,
}

impl CommandText {
    /// Reads the commands in the sender's own text (quotes and signature removed already).
    pub fn read(own_text: &str) -> CommandText {
        let lines = command::command_lines(own_text);
        if lines.is_empty() {
            return CommandText::default();
        }
        let (commands, errors) = std::panic::catch_unwind(|| command::parse_all(own_text)).unwrap_or_else(|_| {
            let line = lines.first().cloned().unwrap_or_default();
            (
                vec![],
                vec![CommandError {
                    line,
                    problem: "could not be read (a bug in secintake; please report it)".into(),
                }],
            )
        });
        CommandText {
            lines,
            commands,
            errors,
        }
    }
}

/// What the rules need from the settings and the world.
pub struct Rules<'a> {
    pub now: DateTime<Utc>,
    pub team_name: &'a str,
    /// `team.notify`
    pub notify: &'a Address,
    pub assign_within: std::time::Duration,
    pub acknowledge_within: std::time::Duration,
    pub detailed_response_within: std::time::Duration,
    /// `policy.progress_updates`: which updates the reporter gets.
    pub progress_updates: &'a [ProgressKind],
    /// `team.coordinators`
    pub coordinators: &'a [Address],
    /// The cases the message's `/duplicate` commands name that exist.
    pub existing: &'a [String],
    /// Where times are worded for people (`policy.calendar.timezone`).
    pub tz: &'a chrono_tz::Tz,
    /// The list's OpenPGP key fingerprint (`[pgp]`), named to reporters whose mail it
    /// could not decrypt.
    pub list_key: Option<&'a str>,
    /// `advisory.default_package`
    pub default_package: Option<&'a str>,
}

impl Rules<'_> {
    fn wants(&self, update: &str) -> bool {
        self.progress_updates.iter().any(|p| p.as_str() == update)
    }

    pub fn is_coordinator(&self, addr: &str) -> bool {
        self.coordinators
            .iter()
            .any(|c| c.as_str().eq_ignore_ascii_case(addr.trim()))
    }
}

/// What a set of commands did, for the CLI and the confirmation mail.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CommandOutcome {
    pub applied: bool,
    pub changes: Vec<String>,
    pub errors: Vec<String>,
    pub mails: Vec<String>,
    pub state: String,
}

fn event(case: Option<&CaseId>, actor: &str, kind: EventKind, detail: Value, about_message: bool) -> Event {
    Event {
        case: case.map(|c| c.to_string()),
        actor: actor.to_string(),
        kind,
        detail,
        about_message,
    }
}

/// Mail to the team or a coordinator: auto-generated, outside the daily cap.
fn internal(case: &CaseId, kind: MailKind, to: Address, context: MailContext, thread: Thread) -> MailIntent {
    MailIntent {
        case: Some(case.clone()),
        kind,
        to: vec![to],
        context,
        thread,
        auto_submitted: AutoSubmitted::AutoGenerated,
        automatic: false,
        to_reporter: false,
        when_queued: None,
    }
}

/// A mail to the case's reporter, threaded under the report; none without a reporter
/// address. `automatic` mail (sent without a person deciding it) counts against the cap.
pub fn reporter_mail(
    case: &Case,
    kind: MailKind,
    automatic: bool,
    team_name: &str,
    context: impl FnOnce(ReporterBase) -> MailContext,
) -> Option<MailIntent> {
    let to = case.reporter()?;
    Some(MailIntent {
        case: Some(case.id.clone()),
        kind,
        to: vec![to],
        context: context(case.reporter_base(team_name)),
        thread: case.thread_root.clone(),
        auto_submitted: AutoSubmitted::AutoGenerated,
        automatic,
        to_reporter: true,
        when_queued: None,
    })
}

/// A new report: what it tells the case, the reporter (when `answer`) and the team.
pub struct Report<'a> {
    pub message: &'a Incoming,
    pub facts: &'a Facts,
    pub reporter: Option<Address>,
    /// Send the reporter a receipt.
    pub answer: bool,
    /// Only the header was kept (the message was this many bytes).
    pub oversized: Option<u64>,
    /// When it reached the mailbox: the case opens then, and its deadlines count from then.
    pub arrived: DateTime<Utc>,
    /// When the human acknowledgement is due (the policy's calendar, from `arrived`).
    pub acknowledge_due: DateTime<Utc>,
    /// How it arrived under OpenPGP.
    pub encryption: Encryption,
    pub signature: Option<SignatureVerdict>,
    /// The earlier cases it resembles, best first (found before the transaction).
    pub similar: &'a [crate::search::similar::Similar],
}

/// A report is late when it reached the mailbox this long before it was handled.
pub const LATE_AFTER: chrono::Duration = chrono::Duration::minutes(30);

/// Opens case `id` for a report.
pub fn on_report(id: CaseId, r: &Report, rules: &Rules) -> Plan {
    let now = rules.now;
    let arrived = r.arrived.min(now);
    let late = now - arrived >= LATE_AFTER;
    let (m, facts) = (r.message, r.facts);
    let subject = crate::sanitize::header_text(&m.subject);
    let reporter_name = m
        .from
        .as_ref()
        .filter(|fm| r.reporter.as_ref().is_some_and(|rep| *rep == fm.address))
        .and_then(|fm| fm.name.clone());
    let missing: Vec<String> = facts.missing.iter().map(|x| x.as_str().to_string()).collect();
    let evidence: std::collections::BTreeMap<String, String> = facts
        .evidence
        .iter()
        .map(|(item, phrase)| (item.as_str().to_string(), phrase.clone()))
        .collect();
    let thread = Thread::reply_to(m);
    let case = Case {
        id: id.clone(),
        file: CaseFile {
            id: id.to_string(),
            state: Some(State::New),
            reporter: r.reporter.as_ref().map(|a| a.to_string()).unwrap_or_default(),
            missing: missing.clone(),
            evidence: evidence.clone(),
            ..CaseFile::default()
        },
        subject: subject.clone(),
        reporter_name: reporter_name.clone(),
        opened_at: arrived,
        updated_at: now,
        state_since: arrived,
        assigned_at: None,
        decided_at: None,
        detailed_response_at: None,
        last_reporter_mail_at: None,
        closed_at: None,
        thread_root: thread.clone(),
    };
    let actor = r
        .reporter
        .as_ref()
        .map(|a| a.to_string())
        .unwrap_or_else(|| "unknown".into());
    let mut events = vec![event(
        Some(&id),
        &actor,
        EventKind::Opened,
        json!({"body_check": facts.body_check, "missing": missing, "flags": facts.flags,
            "public_links": crate::text::links::filter(&facts.public_links)}),
        true,
    )];
    if let Some(size) = r.oversized {
        events.push(event(
            Some(&id),
            "secintake",
            EventKind::Oversized,
            json!({"size": size, "kept": "header only"}),
            true,
        ));
    }
    if let Some(problem) = &m.parse_problem {
        events.push(event(
            Some(&id),
            "secintake",
            EventKind::ParseProblem,
            json!({"problem": problem}),
            true,
        ));
    }
    let public = facts.has_flag("premature-disclosure");
    let mut mails = Vec::new();
    if let (true, Some(rep)) = (r.answer, &r.reporter) {
        let receipt = mail::Receipt {
            case_tag: id.tag(),
            reporter: rep.to_string(),
            acknowledge_within: mail::human_duration(rules.acknowledge_within),
            detailed_response_within: mail::human_duration(rules.detailed_response_within),
            body_check: facts.body_check.as_str().to_string(),
            missing: facts.missing.iter().map(|x| x.request().to_string()).collect(),
            missing_items: missing.clone(),
            premature_disclosure: public,
            ask_credit: true,
            // Credit goes to a name, never to the address: without a display name we ask.
            credit_name: credit(false, None, reporter_name.as_deref()),
            arrived_at: mail::for_people(arrived, rules.tz),
            arrived_late: late,
            acknowledge_by: mail::for_people(r.acknowledge_due, rules.tz),
            // Never a promise of a time that has passed.
            acknowledge_overdue: r.acknowledge_due <= now,
            list_key: rules.list_key.map(str::to_string),
            encrypted: r.encryption != Encryption::None,
            reply_in_clear: false,
        };
        mails.push(MailIntent {
            case: Some(id.clone()),
            kind: MailKind::Receipt,
            to: vec![rep.clone()],
            context: MailContext::Receipt(ToReporter {
                base: case.reporter_base(rules.team_name),
                mail: receipt,
            }),
            thread: thread.clone(),
            auto_submitted: AutoSubmitted::AutoReplied,
            automatic: true,
            to_reporter: true,
            when_queued: Some(event(
                Some(&id),
                "secintake",
                EventKind::ReceiptQueued,
                json!({"to": rep}),
                false,
            )),
        });
    }
    let notice = mail::NewCaseNotice {
        case_id: id.to_string(),
        subject: subject.clone(),
        reporter: r
            .reporter
            .as_ref()
            .map(|a| a.to_string())
            .unwrap_or_else(|| "(unknown sender)".into()),
        reporter_name,
        opened_at: crate::text::when::moment(arrived, *rules.tz),
        body_check: facts.body_check.as_str().to_string(),
        missing: missing.clone(),
        evidence: facts
            .evidence
            .iter()
            .map(|(item, phrase)| mail::Evidence {
                item: item.as_str().to_string(),
                phrase: phrase.clone(),
            })
            .collect(),
        flags: facts.flags.clone(),
        hints: facts.hints.clone(),
        attachments: facts.attachments.clone(),
        // Only well-formed links: never a PoC fragment such as `http://host/x/$(python3`.
        links: crate::text::links::filter(&facts.links),
        premature_disclosure: public,
        public_links: crate::text::links::filter(&facts.public_links),
        assign_within: mail::human_duration(rules.assign_within),
        acknowledge_within: mail::human_duration(rules.acknowledge_within),
        excerpt: facts.excerpt.clone(),
        arrived_ago: late.then(|| mail::distance(arrived, now)),
        similar: r
            .similar
            .iter()
            .map(|s| mail::SimilarCase {
                case_id: s.id.clone(),
                score: s.score,
                reported: crate::clock::parse_stamp(&s.opened_at)
                    .map(|t| mail::distance(t, now) + " ago")
                    .unwrap_or_else(|| s.opened_at.clone()),
                reporter: s.reporter.clone(),
                subject: s.subject.clone(),
            })
            .collect(),
    };
    mails.push(internal(
        &id,
        MailKind::Notice,
        rules.notify.clone(),
        MailContext::NewCaseNotice(notice),
        thread,
    ));
    let opening = Opening {
        body_check: facts.body_check.as_str().to_string(),
        missing,
        evidence,
        flags: facts.flags.clone(),
        hints: facts.hints.clone(),
        encryption: r.encryption,
        signature: r.signature,
        similar: r.similar.iter().map(|s| (s.id.clone(), s.score)).collect(),
    };
    Plan {
        case: Some(CaseWrite::Open(Box::new(case), opening)),
        events,
        mails,
    }
}

/// Mail that reached the mailbox before the first start (or came from an archive): a case
/// in `historical`, closed from the start; nothing is sent, nothing is due.
pub fn on_history(id: CaseId, r: &Report, rules: &Rules) -> Plan {
    let mut plan = on_report(id, r, rules);
    plan.mails.clear();
    if let Some(CaseWrite::Open(c, _)) = plan.case.as_mut() {
        c.file.state = Some(State::Historical);
        c.decided_at = Some(c.opened_at);
        c.closed_at = Some(c.opened_at);
    }
    for e in plan.events.iter_mut().filter(|e| e.kind == EventKind::Opened) {
        e.kind = EventKind::Imported;
        if let Some(d) = e.detail.as_object_mut() {
            d.insert("arrived".into(), json!(crate::clock::stamp(r.arrived.min(rules.now))));
        }
    }
    plan
}

/// A message of the history in a case's thread: stored there, nothing else.
pub fn on_history_reply(case: &Case, r: &Reply) -> Plan {
    let from = r
        .message
        .from
        .as_ref()
        .map(|f| f.address.to_string())
        .unwrap_or_else(|| "unknown".into());
    Plan {
        case: None,
        events: vec![event(
            Some(&case.id),
            &from,
            EventKind::HistoryMessage,
            json!({"subject": crate::sanitize::header_text(&r.message.subject)}),
            true,
        )],
        mails: vec![],
    }
}

/// A message in a case's thread.
pub struct Reply<'a> {
    pub message: &'a Incoming,
    pub facts: &'a Facts,
    pub sender: Sender,
    /// The coordinator's authentication (coordinators only; read before the transaction).
    pub verdict: Option<&'a Verdict>,
    /// The author as routing recognised it, when it is not From: the X-Original-From or
    /// X-Original-Sender of a list that rewrote From (the verdict is about this address).
    pub author: Option<&'a Address>,
    pub commands: &'a CommandText,
}

/// Is `m` addressed (To or Cc) to `reporter`?
fn addressed_to(m: &Incoming, reporter: &str) -> bool {
    !reporter.is_empty()
        && m.to
            .iter()
            .chain(m.cc.iter())
            .any(|a| a.as_str().eq_ignore_ascii_case(reporter))
}

/// What a message in the thread of `case` does.
pub fn on_reply(case: &Case, r: &Reply, rules: &Rules) -> Plan {
    let now = rules.now;
    let m = r.message;
    let from = m
        .from
        .as_ref()
        .map(|f| f.address.to_string())
        .unwrap_or_else(|| "unknown".into());
    let mut updated = case.clone();
    updated.updated_at = now;
    let mut plan = Plan {
        case: Some(CaseWrite::Update(Box::new(updated))),
        ..Plan::default()
    };
    let subject = json!({"subject": crate::sanitize::header_text(&m.subject)});
    match r.sender {
        Sender::Other => {
            plan.events.push(event(
                Some(&case.id),
                &from,
                EventKind::ThirdPartyMessage,
                subject,
                true,
            ));
            if !r.commands.lines.is_empty() {
                let reason = "the sender is not a configured coordinator";
                plan.then(refuse(case, &from, reason, &r.commands.lines, rules));
            }
            plan.mails.push(follow_up_notice(case, &from, false, r, rules));
        }
        Sender::Reporter => {
            plan.events
                .push(event(Some(&case.id), &from, EventKind::ReporterMessage, subject, true));
            let actor = Actor {
                id: from.clone(),
                me: None,
            };
            // The reporter's own choices about credit.
            let prefs: Vec<Command> = r
                .commands
                .lines
                .iter()
                .filter_map(|l| command::parse_line(l).ok())
                .filter(|c| matches!(c, Command::Anonymous | Command::Credit(_)))
                .collect();
            if !prefs.is_empty() {
                let current = plan.case().cloned().unwrap_or_else(|| case.clone());
                plan.then(on_commands(&current, &actor, &prefs, &[], true, rules).0);
            }
            if case.state() == State::NeedsInfo {
                // The reporter answered: back to assessing, through the same state machine.
                let current = plan.case().cloned().unwrap_or_else(|| case.clone());
                plan.then(on_commands(&current, &actor, &[Command::Assess], &[], true, rules).0);
            }
            plan.mails.push(follow_up_notice(case, &from, true, r, rules));
        }
        Sender::Coordinator => {
            let from = r.author.map(|a| a.to_string()).unwrap_or(from);
            let refused = Verdict::Refused("no authentication verdict".into());
            let verdict = r.verdict.unwrap_or(&refused);
            plan.events.push(event(
                Some(&case.id),
                &from,
                EventKind::CoordinatorMessage,
                json!({"authentication": verdict}),
                true,
            ));
            if verdict.is_authenticated() && addressed_to(m, &case.file.reporter) {
                let mut c = plan.case().cloned().unwrap_or_else(|| case.clone());
                plan.events.extend(acknowledge(&mut c, &from, now));
                plan.case = Some(CaseWrite::Update(Box::new(c)));
            }
            let text = r.commands;
            if text.lines.is_empty() {
                return plan;
            }
            if !verdict.is_authenticated() {
                plan.then(refuse(case, &from, verdict.reason(), &text.lines, rules));
                return plan;
            }
            let actor = Actor {
                id: from.clone(),
                me: Some(from.clone()),
            };
            let current = plan.case().cloned().unwrap_or_else(|| case.clone());
            let (p, outcome) = on_commands(&current, &actor, &text.commands, &text.errors, true, rules);
            plan.then(p);
            // The confirmation goes to the coordinator only, never to the reporter.
            if let Ok(to) = Address::parse(&from) {
                let after = plan.case().cloned().unwrap_or_else(|| case.clone());
                let c = mail::Confirmation {
                    applied: outcome.applied,
                    case_id: case.id.to_string(),
                    subject: case.subject.clone(),
                    changes: outcome.changes,
                    errors: outcome.errors,
                    mails: outcome.mails,
                    state: after.state().as_str().to_string(),
                    coordinator: after.file.coordinator.clone(),
                    usage: command::USAGE.iter().map(|(_, u)| u.to_string()).collect(),
                    authentication: verdict.reason().to_string(),
                };
                let mut refs = m.references.clone();
                refs.extend(m.message_id.clone());
                plan.mails.push(MailIntent {
                    case: Some(case.id.clone()),
                    kind: MailKind::Confirmation,
                    to: vec![to],
                    context: MailContext::Confirmation(c),
                    thread: Thread {
                        in_reply_to: m.message_id.clone(),
                        references: refs,
                    },
                    auto_submitted: AutoSubmitted::AutoReplied,
                    automatic: false,
                    to_reporter: false,
                    when_queued: None,
                });
            }
        }
    }
    plan
}

/// A coordinator wrote to the reporter: the first time is the human acknowledgement, the
/// second the detailed response.
fn acknowledge(c: &mut Case, actor: &str, now: DateTime<Utc>) -> Vec<Event> {
    c.last_reporter_mail_at = Some(now);
    if c.file.acknowledged_at.is_none() {
        c.file.acknowledged_at = Some(now);
        vec![event(Some(&c.id), actor, EventKind::Acknowledged, json!({}), true)]
    } else if c.detailed_response_at.is_none() {
        c.detailed_response_at = Some(now);
        vec![event(Some(&c.id), actor, EventKind::DetailedResponse, json!({}), true)]
    } else {
        vec![]
    }
}

/// Tells the coordinator (or the team when nobody is assigned) that someone wrote in the case.
fn follow_up_notice(case: &Case, from: &str, from_reporter: bool, r: &Reply, rules: &Rules) -> MailIntent {
    let to = case
        .file
        .coordinator
        .as_deref()
        .and_then(|c| Address::parse(c).ok())
        .unwrap_or_else(|| rules.notify.clone());
    let notice = mail::FollowUpNotice {
        case_id: case.id.to_string(),
        subject: case.subject.clone(),
        sender: from.to_string(),
        from_reporter,
        state: case.state().as_str().to_string(),
        attachments: r.facts.attachments.clone(),
        excerpt: r.facts.excerpt.clone(),
    };
    let mut refs = r.message.references.clone();
    refs.extend(r.message.message_id.clone());
    internal(
        &case.id,
        MailKind::FollowUpNotice,
        to,
        MailContext::FollowUpNotice(notice),
        Thread {
            in_reply_to: r.message.message_id.clone(),
            references: refs,
        },
    )
}

/// Refused commands: an event, and the team is told who tried what and why.
fn refuse(case: &Case, from: &str, reason: &str, lines: &[String], rules: &Rules) -> Plan {
    let c = mail::CommandRefused {
        case_id: case.id.to_string(),
        subject: case.subject.clone(),
        sender: from.to_string(),
        reason: reason.to_string(),
        commands: lines.to_vec(),
    };
    Plan {
        case: None,
        events: vec![event(
            Some(&case.id),
            from,
            EventKind::CommandsRefused,
            json!({"reason": reason, "commands": lines}),
            true,
        )],
        mails: vec![internal(
            &case.id,
            MailKind::RefusedNotice,
            rules.notify.clone(),
            MailContext::CommandRefused(c),
            Thread::default(),
        )],
    }
}

fn embargo(d: Option<NaiveDate>) -> Option<String> {
    d.map(|d| d.to_string())
}

/// Applies commands to a case: everything or nothing, with an event per change and the mails
/// the changes cause. Parse errors count as errors. `about_message`: the commands came in the
/// message being handled (its events point at it).
pub fn on_commands(
    case: &Case,
    actor: &Actor,
    cmds: &[Command],
    parse_errors: &[CommandError],
    about_message: bool,
    rules: &Rules,
) -> (Plan, CommandOutcome) {
    let now = rules.now;
    let world = lifecycle::World {
        is_coordinator: &|a: &str| rules.is_coordinator(a),
        case_exists: &|id: &str| rules.existing.iter().any(|e| e == id),
        now,
        default_package: rules.default_package,
    };
    let mut errors: Vec<String> = parse_errors.iter().map(|e| e.to_string()).collect();
    let applied = if errors.is_empty() {
        match lifecycle::apply(&case.file, cmds, actor, &world) {
            Ok(a) => Some(a),
            Err(e) => {
                errors = e;
                None
            }
        }
    } else {
        None
    };
    let Some(a) = applied else {
        let plan = Plan {
            case: None,
            events: vec![event(
                Some(&case.id),
                &actor.id,
                EventKind::CommandsRejected,
                json!({"errors": errors}),
                about_message,
            )],
            mails: vec![],
        };
        let outcome = CommandOutcome {
            applied: false,
            errors,
            state: case.state().as_str().to_string(),
            ..CommandOutcome::default()
        };
        return (plan, outcome);
    };
    let mut updated = case.with_file(a.file.clone(), now);
    let mut events: Vec<Event> = a
        .changes
        .iter()
        .map(|c| {
            event(
                Some(&case.id),
                &actor.id,
                EventKind::Change(c.kind),
                c.detail.clone(),
                about_message,
            )
        })
        .collect();
    // A duplicate link is recorded on both cases: the original's timeline shows it too.
    if a.file.duplicate_of != case.file.duplicate_of {
        let detail = json!({"duplicate": case.id.to_string()});
        for (other, kind) in [
            (&case.file.duplicate_of, EventKind::DuplicateUnlinked),
            (&a.file.duplicate_of, EventKind::DuplicateLinked),
        ] {
            if let Some(other) = other {
                events.push(Event {
                    case: Some(other.clone()),
                    actor: actor.id.clone(),
                    kind,
                    detail: detail.clone(),
                    about_message,
                });
            }
        }
    }
    if a.file.acknowledged_at.is_some() && case.file.acknowledged_at.is_none() {
        updated.last_reporter_mail_at = updated.last_reporter_mail_at.or(Some(now));
    }
    let (from_state, to_state) = (case.file.state, a.file.state());
    if super::state::gives_detailed_response(
        a.file.acknowledged_at.is_some(),
        case.detailed_response_at.is_some(),
        from_state,
        to_state,
    ) {
        // A `/needs-info` or a verdict after the acknowledgement is the detailed response,
        // and stays so when the case later goes back to assessing.
        updated.detailed_response_at = updated.detailed_response_at.or(Some(now));
        events.push(event(
            Some(&case.id),
            &actor.id,
            EventKind::DetailedResponse,
            json!({"by": to_state.as_str()}),
            about_message,
        ));
    }
    let f = &updated.file;
    let progress = |update: &str, state: &str| mail::ProgressUpdate {
        update: update.to_string(),
        state: state.to_string(),
        severity: f.severity.clone(),
        cvss_score: f.cvss_score,
        patched_versions: f.patched_versions.clone(),
        release_date: embargo(f.embargo_date),
    };
    let team = rules.team_name;
    let mut mails = Vec::new();
    for e in &a.effects {
        let planned = match e {
            Effect::Dismissal { reason } => reporter_mail(&updated, MailKind::Dismissal, false, team, |base| {
                MailContext::Dismissal(ToReporter {
                    base,
                    mail: mail::Dismissal { reason: reason.clone() },
                })
            }),
            Effect::DuplicateNotice { of } => reporter_mail(&updated, MailKind::DuplicateNotice, false, team, |base| {
                MailContext::DuplicateNotice(ToReporter {
                    base,
                    mail: mail::DuplicateNotice { of: of.clone() },
                })
            }),
            Effect::ClosingNotice if !rules.wants("disclosed") => None,
            Effect::ClosingNotice => reporter_mail(&updated, MailKind::ClosingNotice, false, team, |base| {
                MailContext::ClosingNotice(ToReporter {
                    base,
                    mail: mail::ClosingNotice {
                        cve: f.cve.clone(),
                        ghsa: f.ghsa.clone(),
                        patched_versions: f.patched_versions.clone(),
                        severity: f.severity.clone(),
                        cvss_score: f.cvss_score,
                        credit: credit(f.anonymous, f.credit.as_deref(), updated.reporter_name.as_deref()),
                        anonymous: f.anonymous,
                    },
                })
            }),
            Effect::Progress { state } if rules.wants(state.as_str()) => {
                reporter_mail(&updated, MailKind::Progress, false, team, |base| {
                    MailContext::Progress(ToReporter {
                        base,
                        mail: progress(state.as_str(), state.as_str()),
                    })
                })
            }
            Effect::Progress { .. } => None,
        };
        mails.extend(planned);
    }
    // A release date set (`/embargo DATE`) on an accepted or patched case: "release planned".
    let planned = f.embargo_date.is_some() && f.embargo_date != case.file.embargo_date;
    if planned && !a.quiet && rules.wants("release-planned") && matches!(to_state, State::Accepted | State::Patching) {
        mails.extend(reporter_mail(&updated, MailKind::Progress, false, team, |base| {
            MailContext::Progress(ToReporter {
                base,
                mail: progress("release-planned", to_state.as_str()),
            })
        }));
    }
    let outcome = CommandOutcome {
        applied: true,
        changes: a.changes.iter().map(|c| c.line.clone()).collect(),
        errors: vec![],
        mails: mails
            .iter()
            .map(|m: &MailIntent| {
                let to: Vec<&str> = m.to.iter().map(|a| a.as_str()).collect();
                format!("{} to {}", m.kind, to.join(", "))
            })
            .collect(),
        state: to_state.as_str().to_string(),
    };
    let plan = Plan {
        case: Some(CaseWrite::Update(Box::new(updated.clone()))),
        events,
        mails,
    };
    (plan, outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::AnalysisSettings;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    pub(super) fn notify() -> Address {
        Address::parse("security-triage@example.org").unwrap()
    }

    pub(super) fn rules<'a>(
        notify: &'a Address,
        progress: &'a [ProgressKind],
        coordinators: &'a [Address],
    ) -> Rules<'a> {
        Rules {
            now: t("2026-11-21T10:00:00Z"),
            team_name: "Security Team",
            notify,
            assign_within: std::time::Duration::from_secs(24 * 3600),
            acknowledge_within: std::time::Duration::from_secs(48 * 3600),
            detailed_response_within: std::time::Duration::from_secs(48 * 3600),
            progress_updates: progress,
            coordinators,
            existing: &[],
            tz: &chrono_tz::Tz::UTC,
            list_key: None,
            default_package: Some("express"),
        }
    }

    pub(super) fn all_progress() -> Vec<ProgressKind> {
        ProgressKind::ALL.to_vec()
    }

    pub(super) fn coordinators() -> Vec<Address> {
        vec![
            Address::parse("alice@example.org").unwrap(),
            Address::parse("bob@example.org").unwrap(),
        ]
    }

    pub(super) fn parsed(raw: &str) -> (Incoming, Facts) {
        // Compiled once: a debug build takes tens of milliseconds to compile the analyser's
        // patterns, and the properties parse thousands of messages.
        static ANALYZER: std::sync::LazyLock<crate::analysis::Analyzer> = std::sync::LazyLock::new(|| {
            AnalysisSettings::default()
                .compile_for(&[], "security@example.org")
                .unwrap()
        });
        let m = Incoming::parse(raw.as_bytes());
        let f = ANALYZER.analyze(&m);
        (m, f)
    }

    pub(super) fn case() -> Case {
        let id = CaseId::parse("SEC-2026-0001").unwrap();
        let at = t("2026-11-20T10:00:00Z");
        Case {
            id: id.clone(),
            file: CaseFile {
                id: id.to_string(),
                state: Some(State::New),
                reporter: "jane@example.com".into(),
                ..CaseFile::default()
            },
            subject: "ReDoS".into(),
            reporter_name: Some("Jane Doe".into()),
            opened_at: at,
            updated_at: at,
            state_since: at,
            assigned_at: None,
            decided_at: None,
            detailed_response_at: None,
            last_reporter_mail_at: Some(at),
            closed_at: None,
            thread_root: Thread {
                in_reply_to: Some("<report@example.com>".into()),
                references: vec!["<report@example.com>".into()],
            },
        }
    }

    fn kinds(p: &Plan) -> Vec<MailKind> {
        p.mails.iter().map(|m| m.kind).collect()
    }

    #[test]
    fn a_report_gets_a_receipt_and_the_team_a_notice() {
        let (m, f) =
            parsed("From: Jane Doe <jane@example.com>\r\nMessage-ID: <r1@example.com>\r\nSubject: XSS\r\n\r\nbody");
        let (n, p, c) = (notify(), all_progress(), coordinators());
        let report = Report {
            message: &m,
            facts: &f,
            reporter: Some(Address::parse("jane@example.com").unwrap()),
            answer: true,
            oversized: None,
            arrived: t("2026-11-21T10:00:00Z"),
            acknowledge_due: t("2026-11-23T10:00:00Z"),
            encryption: Encryption::None,
            signature: None,
            similar: &[],
        };
        let plan = on_report(CaseId::new("SEC", 2026, 7), &report, &rules(&n, &p, &c));
        assert_eq!(kinds(&plan), vec![MailKind::Receipt, MailKind::Notice]);
        let receipt = &plan.mails[0];
        assert!(receipt.automatic && receipt.to_reporter);
        assert_eq!(receipt.auto_submitted, AutoSubmitted::AutoReplied);
        assert_eq!(receipt.thread.in_reply_to.as_deref(), Some("<r1@example.com>"));
        assert_eq!(plan.mails[1].to, vec![n.clone()]);
        let case = plan.case().unwrap();
        assert_eq!(
            (case.id.to_string(), case.state()),
            ("SEC-2026-0007".into(), State::New)
        );
        assert_eq!(case.reporter_name.as_deref(), Some("Jane Doe"));
        let MailContext::Receipt(r) = &receipt.context else {
            panic!("a receipt")
        };
        assert_eq!(r.mail.credit_name.as_deref(), Some("Jane Doe"));
        assert_eq!(r.mail.acknowledge_within, "48 hours");
    }

    #[test]
    fn a_confidential_case_raises_alerts_without_its_subject() {
        let (m, f) =
            parsed("From: jane@example.com\r\nMessage-ID: <c1@example.com>\r\nSubject: secret RCE\r\n\r\nbody");
        let (n, p, c) = (notify(), all_progress(), coordinators());
        let report = Report {
            message: &m,
            facts: &f,
            reporter: Some(Address::parse("jane@example.com").unwrap()),
            answer: true,
            oversized: None,
            arrived: t("2026-11-21T10:00:00Z"),
            acknowledge_due: t("2026-11-23T10:00:00Z"),
            encryption: Encryption::PgpMime,
            signature: None,
            similar: &[],
        };
        let plan = on_report(CaseId::new("SEC", 2026, 9), &report, &rules(&n, &p, &c));
        let now = t("2026-11-21T10:00:00Z");
        let hidden = crate::channels::route::alerts(&plan, now, true);
        assert!(!hidden.is_empty() && hidden.iter().all(|a| a.subject.is_none()));
        let shown = crate::channels::route::alerts(&plan, now, false);
        assert!(shown.iter().all(|a| a.subject.as_deref() == Some("secret RCE")));
    }

    #[test]
    fn a_report_without_a_sender_is_not_answered_but_the_team_hears() {
        let (m, f) = parsed("Subject: XSS\r\n\r\nbody");
        let (n, p, c) = (notify(), all_progress(), coordinators());
        let report = Report {
            message: &m,
            facts: &f,
            reporter: None,
            answer: false,
            oversized: Some(1 << 30),
            arrived: t("2026-11-21T10:00:00Z"),
            acknowledge_due: t("2026-11-23T10:00:00Z"),
            encryption: Encryption::None,
            signature: None,
            similar: &[],
        };
        let plan = on_report(CaseId::new("SEC", 2026, 1), &report, &rules(&n, &p, &c));
        assert_eq!(kinds(&plan), vec![MailKind::Notice]);
        let events: Vec<String> = plan.events.iter().map(|e| e.kind.name()).collect();
        assert_eq!(events, vec!["opened", "oversized"]);
    }

    fn reply_from(case: &Case, raw: &str, sender: Sender, verdict: Option<&Verdict>, rules: &Rules) -> Plan {
        let (m, f) = parsed(raw);
        let text = CommandText::read(&crate::quoting::own_text(&m.text));
        let reply = Reply {
            message: &m,
            facts: &f,
            sender,
            verdict,
            author: None,
            commands: &text,
        };
        on_reply(case, &reply, rules)
    }

    #[test]
    fn a_reporters_answer_ends_needs_info_and_the_coordinator_is_told() {
        let (n, p, c) = (notify(), all_progress(), coordinators());
        let mut case = case();
        case.file.state = Some(State::NeedsInfo);
        case.file.coordinator = Some("alice@example.org".into());
        let raw = "From: jane@example.com\r\nSubject: Re: ReDoS\r\n\r\nHere it is.\r\n/credit Jane D.\r\n";
        let plan = reply_from(&case, raw, Sender::Reporter, None, &rules(&n, &p, &c));
        let after = plan.case().unwrap();
        assert_eq!(after.state(), State::Assessing);
        assert_eq!(after.file.credit.as_deref(), Some("Jane D."));
        assert_eq!(kinds(&plan), vec![MailKind::FollowUpNotice]);
        assert_eq!(plan.mails[0].to, vec![Address::parse("alice@example.org").unwrap()]);
    }

    #[test]
    fn a_third_partys_commands_are_refused_and_the_team_told() {
        let (n, p, c) = (notify(), all_progress(), coordinators());
        let raw = "From: mallory@example.net\r\nSubject: Re: ReDoS\r\n\r\n/invalid nothing here\r\n";
        let plan = reply_from(&case(), raw, Sender::Other, None, &rules(&n, &p, &c));
        assert_eq!(kinds(&plan), vec![MailKind::RefusedNotice, MailKind::FollowUpNotice]);
        assert_eq!(plan.case().unwrap().file, case().file, "nothing changed");
    }

    #[test]
    fn an_authenticated_reply_to_the_reporter_is_the_acknowledgement() {
        let (n, p, c) = (notify(), all_progress(), coordinators());
        let ok = Verdict::Authenticated("dmarc=pass".into());
        let raw = "From: alice@example.org\r\nTo: jane@example.com\r\nSubject: Re: ReDoS\r\n\r\nThanks, looking.\r\n";
        let r = rules(&n, &p, &c);
        let plan = reply_from(&case(), raw, Sender::Coordinator, Some(&ok), &r);
        assert_eq!(plan.case().unwrap().file.acknowledged_at, Some(r.now));
        assert!(plan.mails.is_empty(), "no commands: no confirmation");
        let twice = reply_from(plan.case().unwrap(), raw, Sender::Coordinator, Some(&ok), &r);
        assert_eq!(twice.case().unwrap().detailed_response_at, Some(r.now));
    }

    #[test]
    fn have_impact_takes_it_off_the_list_and_nobody_asks_the_reporter_again() {
        let (n, p, c) = (notify(), all_progress(), coordinators());
        let r = rules(&n, &p, &c);
        let mut case = case();
        case.file.coordinator = Some("alice@example.org".into());
        case.file.state = Some(State::Triage);
        case.file.missing = vec!["reproduction".into(), "impact".into()];
        let ok = Verdict::Authenticated("dmarc=pass".into());
        let raw = "From: alice@example.org\r\nTo: security@example.org\r\nSubject: Re: ReDoS\r\n\r\n/have impact\r\n";
        let plan = reply_from(&case, raw, Sender::Coordinator, Some(&ok), &r);
        let after = plan.case().unwrap();
        assert_eq!(after.file.missing, vec!["reproduction"]);
        assert_eq!(after.file.evidence["impact"], "stated by alice@example.org");
        assert_eq!(after.state(), State::Triage);
        // Recorded, and confirmed to the coordinator only: no mail to the reporter.
        let have = plan
            .events
            .iter()
            .find(|e| e.kind.name() == "have")
            .expect("a have event");
        assert_eq!(
            (have.actor.as_str(), &have.detail["item"]),
            ("alice@example.org", &json!("impact"))
        );
        assert_eq!(kinds(&plan), vec![MailKind::Confirmation]);
        let MailContext::Confirmation(conf) = &plan.mails[0].context else {
            panic!("a confirmation")
        };
        assert!(
            conf.applied && conf.changes[0].contains("impact: no longer missing"),
            "{conf:?}"
        );
        assert!(plan.mails.iter().all(|m| !m.to_reporter));
        // Later: the reporter writes, the case moves on; no mail asks for the impact.
        let raw = "From: jane@example.com\r\nSubject: Re: ReDoS\r\n\r\nAny news?\r\n";
        let later = reply_from(after, raw, Sender::Reporter, None, &r);
        assert_eq!(later.case().unwrap().file.missing, vec!["reproduction"]);
        let (moved, _) = on_commands(
            later.case().unwrap(),
            &Actor {
                id: "alice@example.org".into(),
                me: Some("alice@example.org".into()),
            },
            &[Command::Assess, Command::NeedsInfo],
            &[],
            true,
            &r,
        );
        assert_eq!(moved.case().unwrap().file.missing, vec!["reproduction"]);
        for m in later.mails.iter().chain(&moved.mails).filter(|m| m.to_reporter) {
            let text = serde_json::to_string(&m.context).unwrap();
            assert!(!text.contains("impact"), "{text}");
        }
    }

    #[test]
    fn a_new_case_keeps_what_the_receipt_asks_for() {
        // The receipt asks for the case's missing items, and the case file keeps that list
        // (what `/have` corrects later).
        let (m, f) = parsed("From: jane@example.com\r\nMessage-ID: <r2@example.com>\r\nSubject: XSS\r\n\r\nbody");
        let (n, p, c) = (notify(), all_progress(), coordinators());
        let report = Report {
            message: &m,
            facts: &f,
            reporter: Some(Address::parse("jane@example.com").unwrap()),
            answer: true,
            oversized: None,
            arrived: t("2026-11-21T10:00:00Z"),
            acknowledge_due: t("2026-11-23T10:00:00Z"),
            encryption: Encryption::None,
            signature: None,
            similar: &[],
        };
        let plan = on_report(CaseId::new("SEC", 2026, 8), &report, &rules(&n, &p, &c));
        let MailContext::Receipt(r) = &plan.mails[0].context else {
            panic!("a receipt")
        };
        assert_eq!(plan.case().unwrap().file.missing, r.mail.missing_items);
        assert!(r.mail.missing_items.contains(&"impact".to_string()));
    }

    #[test]
    fn release_planned_once_and_never_when_quiet() {
        let (n, c) = (notify(), coordinators());
        let p = all_progress();
        let r = rules(&n, &p, &c);
        let mut accepted = case();
        accepted.file.state = Some(State::Accepted);
        accepted.file.coordinator = Some("alice@example.org".into());
        let actor = Actor {
            id: "alice@example.org".into(),
            me: Some("alice@example.org".into()),
        };
        let cmds = |lines: &[&str]| -> Vec<Command> { lines.iter().map(|l| command::parse_line(l).unwrap()).collect() };
        let (plan, out) = on_commands(&accepted, &actor, &cmds(&["/embargo 2026-12-24"]), &[], false, &r);
        assert_eq!(kinds(&plan), vec![MailKind::Progress]);
        assert_eq!(out.mails, vec!["progress to jane@example.com"]);
        let MailContext::Progress(u) = &plan.mails[0].context else {
            panic!("progress")
        };
        assert_eq!(
            (u.mail.update.as_str(), u.mail.release_date.as_deref()),
            ("release-planned", Some("2026-12-24"))
        );
        // The same date again is no news.
        let (again, _) = on_commands(
            plan.case().unwrap(),
            &actor,
            &cmds(&["/embargo 2026-12-24"]),
            &[],
            false,
            &r,
        );
        assert!(again.mails.is_empty());
        let (quiet, _) = on_commands(
            &accepted,
            &actor,
            &cmds(&["/embargo 2026-12-24", "/quiet"]),
            &[],
            false,
            &r,
        );
        assert!(quiet.mails.is_empty());
        // Not asked for in `policy.progress_updates`: not sent.
        let none: Vec<ProgressKind> = vec![];
        let (off, _) = on_commands(
            &accepted,
            &actor,
            &cmds(&["/embargo 2026-12-24"]),
            &[],
            false,
            &rules(&n, &none, &c),
        );
        assert!(off.mails.is_empty());
    }

    #[test]
    fn credit_goes_to_a_name_never_to_an_address() {
        assert_eq!(credit(false, None, Some("Jane")), Some("Jane".into()));
        assert_eq!(credit(false, Some("J. D."), Some("Jane")), Some("J. D.".into()));
        assert_eq!(credit(false, None, Some("jane@example.com")), None);
        assert_eq!(credit(false, Some(" "), Some("Jane")), None);
        assert_eq!(credit(true, Some("J. D."), Some("Jane")), None);
    }
}

#[cfg(test)]
mod properties {
    use super::tests::{all_progress, case, coordinators, notify, parsed, rules};
    use super::*;
    use crate::case::lifecycle::gen;
    use proptest::prelude::*;

    fn plan_for(case: &Case, lines: &[String], verdict: &Verdict, r: &Rules) -> Plan {
        let (m, facts) = parsed(&format!(
            "From: alice@example.org\r\nMessage-ID: <c@example.org>\r\nSubject: Re: ReDoS\r\n\r\n{}\r\n",
            lines.join("\r\n")
        ));
        let text = CommandText::read(&crate::quoting::own_text(&m.text));
        let reply = Reply {
            message: &m,
            facts: &facts,
            sender: Sender::Coordinator,
            verdict: Some(verdict),
            author: None,
            commands: &text,
        };
        on_reply(case, &reply, r)
    }

    fn progress_or_closing(k: MailKind) -> bool {
        matches!(k, MailKind::Progress | MailKind::ClosingNotice)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// The mails of a coordinator's message: a refused or rejected message plans no mail
        /// to the reporter; an applied one mails only the case's reporter and confirms to the
        /// sender once; `/quiet` takes away exactly the progress updates (and closing notice).
        #[test]
        fn the_mails_a_message_plans(msgs in gen::sequence(1..10)) {
            let (n, p, c) = (notify(), all_progress(), coordinators());
            let r = rules(&n, &p, &c);
            let ok = Verdict::Authenticated("dmarc=pass".into());
            let refused = Verdict::Refused("no trusted Authentication-Results".into());
            let mut current = case();
            for lines in &msgs {
                let plan = plan_for(&current, lines, &ok, &r);
                let to_reporter: Vec<&MailIntent> = plan.mails.iter().filter(|m| m.to_reporter).collect();
                let rejected = plan.events.iter().any(|e| e.kind == EventKind::CommandsRejected);
                let has_commands = !command::command_lines(&lines.join("\n")).is_empty();
                if rejected {
                    prop_assert!(to_reporter.is_empty(), "{:?}", lines);
                    prop_assert_eq!(&plan.case().unwrap().file, &current.file, "{:?}", lines);
                }
                for m in &to_reporter {
                    prop_assert_eq!(m.to.iter().map(|a| a.as_str()).collect::<Vec<_>>(), vec!["jane@example.com"]);
                    prop_assert!(!m.automatic);
                }
                let confirmations = plan.mails.iter().filter(|m| m.kind == MailKind::Confirmation).count();
                prop_assert_eq!(confirmations, usize::from(has_commands), "{:?}", lines);
                // Without authentication: nothing changes, nobody but the team hears.
                let unauth = plan_for(&current, lines, &refused, &r);
                prop_assert_eq!(&unauth.case().unwrap().file, &current.file);
                prop_assert!(unauth.mails.iter().all(|m| m.kind == MailKind::RefusedNotice && m.to == vec![n.clone()]));
                prop_assert_eq!(unauth.mails.len(), usize::from(has_commands));
                // /quiet drops exactly the progress updates.
                if !rejected && lines.iter().any(|l| l.trim() == "/quiet") {
                    let loud: Vec<String> = lines.iter().filter(|l| l.trim() != "/quiet").cloned().collect();
                    let loud_plan = plan_for(&current, &loud, &ok, &r);
                    let reporter_kinds = |p: &Plan| -> Vec<MailKind> {
                        p.mails.iter().filter(|m| m.to_reporter).map(|m| m.kind).collect()
                    };
                    let without: Vec<MailKind> =
                        reporter_kinds(&loud_plan).into_iter().filter(|k| !progress_or_closing(*k)).collect();
                    prop_assert_eq!(reporter_kinds(&plan), without, "{:?}", lines);
                }
                if let Some(c) = plan.case() {
                    current = c.clone();
                }
            }
        }
    }
}

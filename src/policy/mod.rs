//! Pure deadline policy: from a case's timeline, the policy and now, every deadline (due
//! time; met, pending or overdue) and which reminders are due. No clock, no I/O.

pub mod calendar;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

use crate::case::State;
use calendar::Calendar;
use chrono::TimeZone;
use chrono_tz::Tz;

/// The moment an embargo date begins: local midnight in `tz` (the first one, if a DST change
/// skips or doubles it).
pub fn embargo_moment(date: NaiveDate, tz: &Tz) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight");
    tz.from_local_datetime(&midnight)
        .earliest()
        .or_else(|| tz.from_local_datetime(&(midnight + Duration::hours(1))).earliest())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| midnight.and_utc())
}

pub use crate::case::state::gives_detailed_response;

/// The deadlines of DESIGN.md's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Assign,
    Acknowledge,
    DetailedResponse,
    KeepInformed,
    NeedsInfoNudge,
    InvalidNotice,
    Embargo,
    /// A premature disclosure: privatize, ask for removal, open the placeholder.
    PrematureDisclosure,
    /// An accepted case: create the advisory, request the CVE.
    Advisory,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Assign => "assign",
            Kind::Acknowledge => "acknowledge",
            Kind::DetailedResponse => "detailed-response",
            Kind::KeepInformed => "keep-informed",
            Kind::NeedsInfoNudge => "needs-info-nudge",
            Kind::InvalidNotice => "invalid-notice",
            Kind::Embargo => "embargo",
            Kind::PrematureDisclosure => "premature-disclosure",
            Kind::Advisory => "advisory",
        }
    }

    /// For people: "acknowledgement".
    pub fn label(self) -> &'static str {
        match self {
            Kind::Assign => "coordinator assignment",
            Kind::Acknowledge => "acknowledgement",
            Kind::DetailedResponse => "detailed response",
            Kind::KeepInformed => "reporter update",
            Kind::NeedsInfoNudge => "needs-info follow-up",
            Kind::InvalidNotice => "verdict",
            Kind::Embargo => "embargo end",
            Kind::PrematureDisclosure => "premature-disclosure steps",
            Kind::Advisory => "advisory and CVE request",
        }
    }

    /// What the reminder asks for, and the commands that satisfy it.
    pub fn what(self) -> &'static str {
        match self {
            Kind::Assign => "A coordinator must take the case. Reply with: /assign me",
            Kind::Acknowledge => "A person must reply to the reporter (reply-all to the report, or /ack if you answered elsewhere).",
            Kind::DetailedResponse => "The reporter is owed a detailed response with next steps: reply to the reporter, or /needs-info, /accept or /invalid REASON.",
            Kind::KeepInformed => "The reporter has not heard from us for a while: send them an update (reply-all), or /note what is happening.",
            Kind::NeedsInfoNudge => "The case waits for the reporter: ask again, or move on with /assess or /invalid REASON.",
            Kind::InvalidNotice => "The report needs a verdict: /accept it, or /invalid REASON tells the reporter why not.",
            Kind::Embargo => "The embargo ends: prepare the release and the advisory (/released VERSION..., /disclose).",
            Kind::PrematureDisclosure => "The report is public: make the issue or pull request private, ask GitHub to delete it, open the placeholder issue (secintake advisory ID --format placeholder); then /done privatized, /done removal-requested, /done placeholder-opened.",
            Kind::Advisory => "The accepted case needs its advisory and CVE: create the GitHub advisory (secintake advisory ID --format ghsa) and request a CVE; /ghsa GHSA-... and /cve CVE-... tick them (or /done advisory-created, /done cve-requested).",
        }
    }
}

/// Where a deadline stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "status", content = "at")]
pub enum Status {
    Met(DateTime<Utc>),
    Pending,
    Overdue,
}

/// One deadline of one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deadline {
    pub kind: Kind,
    /// When the clock started.
    pub since: DateTime<Utc>,
    pub due: DateTime<Utc>,
    pub status: Status,
}

/// The facts of a case the policy needs.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    pub opened_at: DateTime<Utc>,
    pub state: Option<State>,
    pub state_since: DateTime<Utc>,
    pub assigned_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub detailed_response_at: Option<DateTime<Utc>>,
    /// Last mail to the reporter from anyone on our side (receipt included).
    pub last_reporter_mail_at: Option<DateTime<Utc>>,
    pub embargo_date: Option<NaiveDate>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Flagged `premature-disclosure`.
    pub premature: bool,
    /// The runbook steps done (`/done`).
    pub checklist: Vec<crate::case::checklist::Done>,
}

/// The policy's numbers, with the calendar compiled.
#[derive(Debug, Clone)]
pub struct Policy {
    pub assign_within: Duration,
    pub acknowledge_within: Duration,
    pub detailed_response_within: Duration,
    pub invalid_notice_within: Duration,
    pub keep_informed_every: Duration,
    pub needs_info_nudge_after: Duration,
    pub premature_disclosure_within: Duration,
    pub advisory_within: Duration,
    pub reminder_repeat: Duration,
    pub remind_before: Duration,
    pub embargo_reminders: Vec<Duration>,
    pub calendar: Calendar,
    /// `policy.calendar.timezone` (also without working days): where an embargo date's
    /// midnight and the digest hour are; UTC when unset.
    pub tz: Tz,
}

impl Default for Policy {
    /// The defaults of DESIGN.md's deadline table.
    fn default() -> Policy {
        Policy {
            assign_within: Duration::hours(24),
            acknowledge_within: Duration::hours(48),
            detailed_response_within: Duration::hours(48),
            invalid_notice_within: Duration::days(10),
            keep_informed_every: Duration::days(14),
            needs_info_nudge_after: Duration::days(7),
            premature_disclosure_within: Duration::hours(4),
            advisory_within: Duration::days(7),
            reminder_repeat: Duration::hours(24),
            remind_before: Duration::hours(6),
            embargo_reminders: vec![Duration::days(7), Duration::days(1)],
            calendar: Calendar::Hours,
            tz: Tz::UTC,
        }
    }
}

/// The stored stage key of an embargo reminder `before` the embargo: `embargo-7days`,
/// `embargo-24hours`. Frozen: these keys are in existing databases (`reminders.stage`), so
/// they never follow a change in how durations are worded in mail.
pub fn embargo_stage(before: Duration) -> String {
    let s = before.num_seconds().max(0) as u64;
    let (n, unit) = if s >= 86400 && s.is_multiple_of(86400) && s / 86400 > 2 {
        (s / 86400, "day")
    } else if s >= 3600 && s.is_multiple_of(3600) {
        (s / 3600, "hour")
    } else if s >= 60 && s.is_multiple_of(60) {
        (s / 60, "minute")
    } else {
        (s, "second")
    };
    format!("embargo-{n}{unit}{}", if n == 1 { "" } else { "s" })
}

fn status(met: Option<DateTime<Utc>>, due: DateTime<Utc>, now: DateTime<Utc>) -> Status {
    match met {
        Some(at) => Status::Met(at),
        None if now >= due => Status::Overdue,
        None => Status::Pending,
    }
}

/// Every deadline that applies to the case now.
pub fn deadlines(t: &Timeline, p: &Policy, now: DateTime<Utc>) -> Vec<Deadline> {
    let state = t.state.unwrap_or(State::New);
    let closed = state.is_closed();
    let cal = &p.calendar;
    let mut out = Vec::new();
    let mut push = |kind, since, due, met| {
        out.push(Deadline {
            kind,
            since,
            due,
            status: status(met, due, now),
        })
    };

    push(
        Kind::Assign,
        t.opened_at,
        cal.add(t.opened_at, p.assign_within),
        t.assigned_at.or(if closed { t.decided_at } else { None }),
    );
    push(
        Kind::Acknowledge,
        t.opened_at,
        cal.add(t.opened_at, p.acknowledge_within),
        t.acknowledged_at.or(if closed { t.decided_at } else { None }),
    );
    if let Some(ack) = t.acknowledged_at {
        push(
            Kind::DetailedResponse,
            ack,
            cal.add(ack, p.detailed_response_within),
            t.detailed_response_at
                .or(t.decided_at)
                .or(if state == State::NeedsInfo {
                    Some(t.state_since)
                } else {
                    None
                }),
        );
    }
    // A verdict (accepted, or invalid told to the reporter) within invalid_notice_within.
    let decided = t.decided_at.or(if state.is_decided() && !state.is_closed() {
        Some(t.state_since)
    } else {
        None
    });
    push(
        Kind::InvalidNotice,
        t.opened_at,
        cal.add(t.opened_at, p.invalid_notice_within),
        decided,
    );
    if !closed {
        if state == State::NeedsInfo {
            push(
                Kind::NeedsInfoNudge,
                t.state_since,
                cal.add(t.state_since, p.needs_info_nudge_after),
                None,
            );
        }
        let last = t.last_reporter_mail_at.unwrap_or(t.opened_at);
        push(Kind::KeepInformed, last, cal.add(last, p.keep_informed_every), None);
    }
    // The runbook's steps: a premature disclosure's three from the report's arrival, an
    // accepted case's advisory and CVE request from the verdict (hours, not working hours:
    // a public report does not wait for Monday).
    use crate::case::checklist::{all_done_at, ADVISORY, PREMATURE};
    if t.premature {
        let met = all_done_at(PREMATURE, &t.checklist);
        if !closed || met.is_some() {
            push(
                Kind::PrematureDisclosure,
                t.opened_at,
                t.opened_at + p.premature_disclosure_within,
                met,
            );
        }
    }
    if let (Some(decided), true) = (
        t.decided_at,
        matches!(state, State::Accepted | State::Patching | State::Released),
    ) {
        push(
            Kind::Advisory,
            decided,
            cal.add(decided, p.advisory_within),
            all_done_at(ADVISORY, &t.checklist),
        );
    }
    // A closed case (disclosed, invalid, duplicate) has no embargo left to prepare for.
    if let (Some(date), false) = (t.embargo_date, closed) {
        push(Kind::Embargo, t.opened_at, embargo_moment(date, &p.tz), None);
    }
    out
}

/// Who a reminder goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Audience {
    /// The coordinator, or the team when nobody is assigned.
    Coordinator,
    /// The coordinator and the team.
    Both,
}

/// A reminder that is due now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reminder {
    pub kind: Kind,
    pub due: DateTime<Utc>,
    /// `before`, `overdue-1`, `overdue-2`, ... or `embargo-7d`.
    pub stage: String,
    pub audience: Audience,
}

/// Reminders due now; `sent` holds (kind, due, stage) already written, so a reminder is
/// never repeated, and while overdue only the current repetition is sent.
pub fn due_reminders(
    t: &Timeline,
    p: &Policy,
    now: DateTime<Utc>,
    sent: &[(String, DateTime<Utc>, String)],
) -> Vec<Reminder> {
    let was_sent = |k: Kind, due: DateTime<Utc>, stage: &str| {
        sent.iter()
            .any(|(sk, sd, ss)| sk == k.as_str() && *sd == due && ss == stage)
    };
    let mut out = Vec::new();
    for dl in deadlines(t, p, now) {
        if matches!(dl.status, Status::Met(_)) {
            continue;
        }
        if dl.kind == Kind::Embargo {
            // Reminders 7 days and 1 day before (configurable), to the coordinator and the team.
            let mut before: Vec<Duration> = p.embargo_reminders.clone();
            before.sort();
            // Only the nearest one that has started (no burst of old ones after a restart).
            if let Some(b) = before.iter().find(|b| now >= dl.due - **b && now < dl.due) {
                let stage = embargo_stage(*b);
                if !was_sent(dl.kind, dl.due, &stage) {
                    out.push(Reminder {
                        kind: dl.kind,
                        due: dl.due,
                        stage,
                        audience: Audience::Both,
                    });
                }
            }
            continue;
        }
        if now < dl.due {
            if now >= dl.due - p.remind_before && !was_sent(dl.kind, dl.due, "before") {
                out.push(Reminder {
                    kind: dl.kind,
                    due: dl.due,
                    stage: "before".into(),
                    audience: Audience::Coordinator,
                });
            }
            continue;
        }
        let repeat = p.reminder_repeat.num_milliseconds().max(1);
        let k = (now - dl.due).num_milliseconds() / repeat + 1;
        let stage = format!("overdue-{k}");
        if !was_sent(dl.kind, dl.due, &stage) {
            // Keep-informed goes to the coordinator first; the rest escalate to the team.
            let audience = if dl.kind == Kind::KeepInformed {
                Audience::Coordinator
            } else {
                Audience::Both
            };
            out.push(Reminder {
                kind: dl.kind,
                due: dl.due,
                stage,
                audience,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn policy() -> Policy {
        Policy::default()
    }

    fn opened() -> Timeline {
        Timeline {
            opened_at: t("2026-11-02T09:00:00Z"),
            state_since: t("2026-11-02T09:00:00Z"),
            last_reporter_mail_at: Some(t("2026-11-02T09:00:00Z")),
            ..Default::default()
        }
    }

    fn find(v: &[Deadline], k: Kind) -> Deadline {
        v.iter()
            .find(|d| d.kind == k)
            .cloned()
            .unwrap_or_else(|| panic!("no {k:?} in {v:?}"))
    }

    #[test]
    fn a_new_case_has_the_first_deadlines() {
        let d = deadlines(&opened(), &policy(), t("2026-11-02T10:00:00Z"));
        assert_eq!(find(&d, Kind::Assign).due, t("2026-11-03T09:00:00Z"));
        assert_eq!(find(&d, Kind::Acknowledge).due, t("2026-11-04T09:00:00Z"));
        assert_eq!(find(&d, Kind::InvalidNotice).due, t("2026-11-12T09:00:00Z"));
        assert_eq!(find(&d, Kind::KeepInformed).due, t("2026-11-16T09:00:00Z"));
        assert!(d.iter().all(|x| x.status == Status::Pending));
        assert!(
            !d.iter().any(|x| x.kind == Kind::DetailedResponse),
            "no detailed response before the acknowledgement"
        );
    }

    #[test]
    fn runbook_steps_are_due_and_reminded() {
        use crate::case::checklist::Done;
        let p = policy();
        let done = |step: &str, at: &str| Done {
            step: step.into(),
            done_at: t(at),
            by: "alice@example.org".into(),
        };
        // A premature disclosure: its three steps are due 4 hours after the report arrived.
        let mut tl = Timeline {
            premature: true,
            ..opened()
        };
        let d = deadlines(&tl, &p, t("2026-11-02T10:00:00Z"));
        assert_eq!(find(&d, Kind::PrematureDisclosure).due, t("2026-11-02T13:00:00Z"));
        assert!(!d.iter().any(|x| x.kind == Kind::Advisory), "not accepted yet");
        // Overdue at 13:30 (the injected clock): a reminder to the coordinator and the team,
        // once per repetition.
        let now = t("2026-11-02T13:30:00Z");
        let r = due_reminders(&tl, &p, now, &[]);
        let pd = r
            .iter()
            .find(|r| r.kind == Kind::PrematureDisclosure)
            .expect("reminded");
        assert_eq!((pd.stage.as_str(), pd.audience), ("overdue-1", Audience::Both));
        let sent = vec![("premature-disclosure".to_string(), pd.due, "overdue-1".to_string())];
        assert!(!due_reminders(&tl, &p, now, &sent)
            .iter()
            .any(|r| r.kind == Kind::PrematureDisclosure));
        // Two of three steps: still overdue; all three: met when the last was done.
        tl.checklist = vec![
            done("privatized", "2026-11-02T11:00:00Z"),
            done("removal-requested", "2026-11-02T11:05:00Z"),
        ];
        assert_eq!(
            find(&deadlines(&tl, &p, now), Kind::PrematureDisclosure).status,
            Status::Overdue
        );
        tl.checklist.push(done("placeholder-opened", "2026-11-02T12:00:00Z"));
        assert_eq!(
            find(&deadlines(&tl, &p, now), Kind::PrematureDisclosure).status,
            Status::Met(t("2026-11-02T12:00:00Z"))
        );
        // Accepted: the advisory and the CVE request are due 7 days after the verdict.
        let acc = Timeline {
            state: Some(State::Accepted),
            decided_at: Some(t("2026-11-03T09:00:00Z")),
            state_since: t("2026-11-03T09:00:00Z"),
            checklist: vec![done("advisory-created", "2026-11-04T09:00:00Z")],
            ..opened()
        };
        let d = deadlines(&acc, &p, t("2026-11-11T09:00:00Z"));
        let a = find(&d, Kind::Advisory);
        assert_eq!(
            (a.due, a.status),
            (t("2026-11-10T09:00:00Z"), Status::Overdue),
            "the CVE is not requested"
        );
        assert!(!d.iter().any(|x| x.kind == Kind::PrematureDisclosure));
    }

    #[test]
    fn reminders_before_overdue_and_repeated() {
        let p = policy();
        let tl = opened();
        // 6 hours before the assign deadline: one "before" reminder to the coordinator (or team).
        let r = due_reminders(&tl, &p, t("2026-11-03T04:00:00Z"), &[]);
        assert_eq!(r.len(), 1);
        assert_eq!(
            (r[0].kind, r[0].stage.as_str(), r[0].audience),
            (Kind::Assign, "before", Audience::Coordinator)
        );
        let sent = vec![("assign".to_string(), r[0].due, "before".to_string())];
        assert!(
            due_reminders(&tl, &p, t("2026-11-03T05:00:00Z"), &sent).is_empty(),
            "not twice"
        );
        // Overdue: escalated to both, then again every reminder_repeat (24h).
        let r = due_reminders(&tl, &p, t("2026-11-03T09:30:00Z"), &sent);
        assert_eq!(
            r.iter().map(|x| (x.kind, x.stage.as_str())).collect::<Vec<_>>(),
            vec![(Kind::Assign, "overdue-1")]
        );
        assert_eq!(r[0].audience, Audience::Both);
        let mut sent = sent;
        sent.push(("assign".into(), r[0].due, "overdue-1".into()));
        let r = due_reminders(&tl, &p, t("2026-11-04T09:30:00Z"), &sent);
        assert!(r.iter().any(|x| x.kind == Kind::Assign && x.stage == "overdue-2"));
    }

    #[test]
    fn a_satisfying_reply_stops_reminders() {
        let p = policy();
        let mut tl = opened();
        tl.assigned_at = Some(t("2026-11-02T12:00:00Z"));
        tl.acknowledged_at = Some(t("2026-11-03T12:00:00Z"));
        tl.state = Some(State::Triage);
        let r = due_reminders(&tl, &p, t("2026-11-04T10:00:00Z"), &[]);
        assert!(
            !r.iter().any(|x| matches!(x.kind, Kind::Assign | Kind::Acknowledge)),
            "{r:?}"
        );
        // The detailed response now runs from the acknowledgement; /needs-info satisfies it.
        let d = deadlines(&tl, &p, t("2026-11-04T10:00:00Z"));
        assert_eq!(find(&d, Kind::DetailedResponse).due, t("2026-11-05T12:00:00Z"));
        tl.state = Some(State::NeedsInfo);
        tl.state_since = t("2026-11-04T09:00:00Z");
        let d = deadlines(&tl, &p, t("2026-11-06T10:00:00Z"));
        assert!(matches!(find(&d, Kind::DetailedResponse).status, Status::Met(_)));
        assert_eq!(find(&d, Kind::NeedsInfoNudge).due, t("2026-11-11T09:00:00Z"));
    }

    #[test]
    fn invalid_verdict_and_closed_cases() {
        let p = policy();
        let mut tl = opened();
        tl.state = Some(State::Invalid);
        tl.decided_at = Some(t("2026-11-05T09:00:00Z"));
        let d = deadlines(&tl, &p, t("2026-11-20T00:00:00Z"));
        assert!(matches!(find(&d, Kind::InvalidNotice).status, Status::Met(_)));
        assert!(
            due_reminders(&tl, &p, t("2026-11-20T00:00:00Z"), &[]).is_empty(),
            "a closed case has nothing due"
        );
        // Undecided after 10 days: overdue.
        let tl = Timeline {
            state: Some(State::Assessing),
            assigned_at: Some(t("2026-11-02T10:00:00Z")),
            acknowledged_at: Some(t("2026-11-02T11:00:00Z")),
            detailed_response_at: Some(t("2026-11-03T11:00:00Z")),
            last_reporter_mail_at: Some(t("2026-11-12T00:00:00Z")),
            ..opened()
        };
        let r = due_reminders(&tl, &p, t("2026-11-12T10:00:00Z"), &[]);
        assert_eq!(r.iter().map(|x| x.kind).collect::<Vec<_>>(), vec![Kind::InvalidNotice]);
    }

    #[test]
    fn embargo_reminders_seven_and_one_day_before() {
        let p = policy();
        let mut tl = opened();
        tl.state = Some(State::Patching);
        tl.assigned_at = Some(tl.opened_at);
        tl.acknowledged_at = Some(tl.opened_at);
        tl.detailed_response_at = Some(tl.opened_at);
        tl.last_reporter_mail_at = Some(t("2026-11-24T00:00:00Z"));
        tl.embargo_date = NaiveDate::from_ymd_opt(2026, 12, 1);
        let at = |s: &str| {
            due_reminders(&tl, &p, t(s), &[])
                .into_iter()
                .filter(|r| r.kind == Kind::Embargo)
                .map(|r| r.stage)
                .collect::<Vec<_>>()
        };
        assert!(at("2026-11-23T12:00:00Z").is_empty());
        assert_eq!(at("2026-11-24T00:00:00Z"), vec!["embargo-7days"]);
        assert_eq!(at("2026-11-30T01:00:00Z"), vec!["embargo-24hours"]);
        assert!(at("2026-12-01T01:00:00Z").is_empty());
    }

    #[test]
    fn business_calendar_moves_the_deadline_past_the_weekend() {
        let s = calendar::CalendarSettings {
            working_days_only: true,
            holidays: vec!["2026-11-23".into()],
            ..Default::default()
        };
        let p = Policy {
            calendar: s.calendar().unwrap(),
            ..Policy::default()
        };
        // Opened Friday 2026-11-20 09:00 UTC; 48 working hours skip Sat, Sun and the Monday holiday.
        let tl = Timeline {
            opened_at: t("2026-11-20T09:00:00Z"),
            state_since: t("2026-11-20T09:00:00Z"),
            ..Default::default()
        };
        let d = deadlines(&tl, &p, t("2026-11-20T10:00:00Z"));
        assert_eq!(find(&d, Kind::Acknowledge).due, t("2026-11-25T09:00:00Z"));
        // So nothing is overdue on the Monday holiday.
        assert!(due_reminders(&tl, &p, t("2026-11-23T12:00:00Z"), &[])
            .iter()
            .all(|r| r.kind != Kind::Acknowledge));
    }

    #[test]
    fn the_detailed_response_stays_met_after_a_needs_info_round_trip() {
        let p = policy();
        let mut tl = opened();
        tl.state = Some(State::Triage);
        tl.assigned_at = Some(t("2026-11-02T10:00:00Z"));
        tl.acknowledged_at = Some(t("2026-11-02T12:00:00Z"));
        // ack -> /needs-info: that is the detailed response, and it is recorded.
        assert!(gives_detailed_response(
            true,
            false,
            Some(State::Triage),
            State::NeedsInfo
        ));
        tl.detailed_response_at = Some(t("2026-11-03T09:00:00Z"));
        // The reporter answers: back to assessing, days after the deadline. Still met.
        tl.state = Some(State::Assessing);
        tl.state_since = t("2026-11-06T09:00:00Z");
        let now = t("2026-11-06T10:00:00Z");
        let d = deadlines(&tl, &p, now);
        assert_eq!(
            find(&d, Kind::DetailedResponse).status,
            Status::Met(t("2026-11-03T09:00:00Z"))
        );
        assert!(!due_reminders(&tl, &p, now, &[])
            .iter()
            .any(|r| r.kind == Kind::DetailedResponse));
        // Which transitions count: only after the acknowledgement, only the first time, only
        // into needs-info or a verdict.
        assert!(gives_detailed_response(
            true,
            false,
            Some(State::Assessing),
            State::Invalid
        ));
        assert!(gives_detailed_response(
            true,
            false,
            Some(State::Assessing),
            State::Accepted
        ));
        assert!(!gives_detailed_response(
            false,
            false,
            Some(State::Triage),
            State::NeedsInfo
        ));
        assert!(!gives_detailed_response(
            true,
            true,
            Some(State::Triage),
            State::NeedsInfo
        ));
        assert!(!gives_detailed_response(
            true,
            false,
            Some(State::NeedsInfo),
            State::Assessing
        ));
        assert!(!gives_detailed_response(
            true,
            false,
            Some(State::NeedsInfo),
            State::NeedsInfo
        ));
    }

    #[test]
    fn no_embargo_reminders_for_closed_cases() {
        let p = policy();
        for closed in [State::Invalid, State::Duplicate, State::Disclosed] {
            let mut tl = opened();
            tl.state = Some(closed);
            tl.decided_at = Some(t("2026-11-03T09:00:00Z"));
            tl.embargo_date = NaiveDate::from_ymd_opt(2026, 12, 1);
            let now = t("2026-11-30T12:00:00Z");
            assert!(
                !deadlines(&tl, &p, now).iter().any(|d| d.kind == Kind::Embargo),
                "{closed:?}"
            );
            assert!(due_reminders(&tl, &p, now, &[]).is_empty(), "{closed:?}");
        }
    }

    #[test]
    fn the_embargo_begins_at_local_midnight_in_the_calendar_time_zone() {
        let p = Policy {
            tz: "Europe/Berlin".parse().unwrap(),
            ..Policy::default()
        };
        let mut tl = opened();
        tl.state = Some(State::Patching);
        tl.assigned_at = Some(tl.opened_at);
        tl.acknowledged_at = Some(tl.opened_at);
        tl.detailed_response_at = Some(tl.opened_at);
        tl.last_reporter_mail_at = Some(t("2026-11-24T00:00:00Z"));
        tl.embargo_date = NaiveDate::from_ymd_opt(2026, 12, 1);
        // Midnight in Berlin (CET, UTC+1) is 23:00 UTC the day before.
        let d = deadlines(&tl, &p, t("2026-11-20T00:00:00Z"));
        assert_eq!(find(&d, Kind::Embargo).due, t("2026-11-30T23:00:00Z"));
        let stages = |now: &str| {
            due_reminders(&tl, &p, t(now), &[])
                .into_iter()
                .filter(|r| r.kind == Kind::Embargo)
                .map(|r| r.stage)
                .collect::<Vec<_>>()
        };
        assert!(stages("2026-11-23T22:30:00Z").is_empty());
        assert_eq!(stages("2026-11-23T23:00:00Z"), vec!["embargo-7days"]);
        assert_eq!(stages("2026-11-29T23:30:00Z"), vec!["embargo-24hours"]);
        assert!(stages("2026-11-30T23:30:00Z").is_empty(), "the embargo has ended");
        // Without a time zone: UTC midnight, as before.
        assert_eq!(
            find(&deadlines(&tl, &policy(), t("2026-11-20T00:00:00Z")), Kind::Embargo).due,
            t("2026-12-01T00:00:00Z")
        );
        // A DST gap at midnight (America/Santiago, 2026-09-06): the first moment of the day.
        let santiago: Tz = "America/Santiago".parse().unwrap();
        let m = embargo_moment(NaiveDate::from_ymd_opt(2026, 9, 6).unwrap(), &santiago);
        assert_eq!(m, t("2026-09-06T04:00:00Z"));
    }

    #[test]
    fn embargo_stage_keys_are_the_ones_stored_since_round_one() {
        // Pinned: databases made before this key was frozen hold exactly these values.
        for (before, key) in [
            (Duration::days(7), "embargo-7days"),
            (Duration::days(1), "embargo-24hours"),
            (Duration::days(2), "embargo-48hours"),
            (Duration::days(3), "embargo-3days"),
            (Duration::hours(1), "embargo-1hour"),
            (Duration::hours(6), "embargo-6hours"),
            (Duration::minutes(90), "embargo-90minutes"),
            (Duration::seconds(30), "embargo-30seconds"),
        ] {
            assert_eq!(embargo_stage(before), key);
        }
    }
}

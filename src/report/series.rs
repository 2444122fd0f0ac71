//! The numbers behind every chart of the HTML report (and of `report --json --charts`):
//! pure, from the cases, the policy and now. Times are shown in `policy.calendar.timezone`.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::case::State;
use crate::policy::{self, Policy, Status, Timeline};

/// The state of a case imported from the mailbox's history: closed, and never held to the
/// promises (it counts in the monthly history only).
pub const HISTORICAL: &str = "historical";

/// What the report knows about one case.
#[derive(Debug, Clone, Default)]
pub struct CaseFacts {
    pub id: String,
    /// As stored (`historical` included, which the lifecycle may not know).
    pub state: String,
    pub subject: String,
    pub timeline: Timeline,
    pub severity: Option<String>,
    pub cve: Option<String>,
    pub ghsa: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl CaseFacts {
    pub fn is_historical(&self) -> bool {
        self.state.trim() == HISTORICAL
    }

    /// Open: a known state that is not closed (a historical case is closed).
    pub fn is_open(&self) -> bool {
        !self.is_historical() && State::parse(&self.state).is_some_and(|s| !s.is_closed())
    }
}

/// The unit a response chart counts in, chosen from the size of the promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Hours,
    Minutes,
    Seconds,
}

impl Unit {
    pub fn for_promise(promise: Duration) -> Unit {
        if promise >= Duration::hours(2) {
            Unit::Hours
        } else if promise >= Duration::minutes(2) {
            Unit::Minutes
        } else {
            Unit::Seconds
        }
    }

    pub fn seconds(self) -> f64 {
        match self {
            Unit::Hours => 3600.0,
            Unit::Minutes => 60.0,
            Unit::Seconds => 1.0,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Hours => "hours",
            Unit::Minutes => "minutes",
            Unit::Seconds => "seconds",
        }
    }

    pub fn short(self) -> &'static str {
        match self {
            Unit::Hours => "h",
            Unit::Minutes => "min",
            Unit::Seconds => "s",
        }
    }
}

/// Where one case stands against one promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Standing {
    /// Answered within the promise.
    Met,
    /// Answered, after the promise.
    Late,
    /// Not answered, and the promise has passed.
    Overdue,
    /// Not answered yet, still within the promise.
    Waiting,
}

impl Standing {
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Met => "met",
            Standing::Late => "late",
            Standing::Overdue => "overdue",
            Standing::Waiting => "waiting",
        }
    }
}

/// One case on a response chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResponsePoint {
    pub case: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The month the case opened (`YYYY-MM`).
    pub month: String,
    /// When the clock started (local time, `YYYY-MM-DD HH:MM`).
    pub started: String,
    /// When the answer came (local time), or null.
    pub answered: Option<String>,
    /// Time taken in the series' unit (so far, when not answered), two decimals.
    pub took: f64,
    pub took_seconds: i64,
    pub status: Standing,
    /// For drawing: when the clock started.
    #[serde(skip)]
    pub started_at: DateTime<Utc>,
}

/// One month of a response chart: cases whose promise was due or answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResponseMonth {
    pub month: String,
    pub cases: usize,
    pub met: usize,
    /// Median and 90th percentile (nearest rank) of the answered cases, in the unit.
    pub median: Option<f64>,
    pub p90: Option<f64>,
}

/// A response chart: every case against one promise, and its months.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResponseSeries {
    pub target: &'static str,
    pub unit: Unit,
    /// The promise, in the unit.
    pub promise: f64,
    pub promise_seconds: i64,
    pub cases: Vec<ResponsePoint>,
    pub months: Vec<ResponseMonth>,
}

/// Reports opened in one month, by how they ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct MonthOutcomes {
    pub month: String,
    /// Accepted as a vulnerability (accepted, patching, released, disclosed).
    pub accepted: usize,
    pub invalid: usize,
    pub duplicate: usize,
    /// Still open (new, triage, needs-info, assessing).
    pub open: usize,
    /// Imported from the mailbox's history (closed; no outcome recorded).
    pub historical: usize,
    pub total: usize,
}

/// An open case, its age and what is overdue on it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenCase {
    pub case: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub state: String,
    pub opened: String,
    /// Days since the case opened, one decimal.
    pub age_days: f64,
    /// The overdue deadlines (`acknowledge`, `detailed-response`, ...).
    pub overdue: Vec<&'static str>,
}

/// Advisories published (cases disclosed) in one month, by severity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct MonthPublications {
    pub month: String,
    pub published: usize,
    pub cves: usize,
    pub ghsas: usize,
    pub critical: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub unknown: usize,
}

/// One published advisory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Advisory {
    pub case: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub published: String,
    pub severity: Option<String>,
    pub cve: Option<String>,
    pub ghsa: Option<String>,
}

/// Everything the HTML report draws, as `report --json --charts` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Charts {
    /// Local time the report was made.
    pub generated: String,
    pub timezone: String,
    pub since: Option<NaiveDate>,
    pub first_reply: ResponseSeries,
    pub detailed_response: ResponseSeries,
    pub outcomes: Vec<MonthOutcomes>,
    pub open_cases: Vec<OpenCase>,
    pub publications: Vec<MonthPublications>,
    pub advisories: Vec<Advisory>,
}

/// Local `YYYY-MM-DD HH:MM`.
pub fn local_time(t: DateTime<Utc>, tz: &Tz) -> String {
    t.with_timezone(tz).format("%Y-%m-%d %H:%M").to_string()
}

/// Local `YYYY-MM`.
pub fn local_month(t: DateTime<Utc>, tz: &Tz) -> String {
    t.with_timezone(tz).format("%Y-%m").to_string()
}

/// The first moment of a local month `YYYY-MM`, and of the month after it.
pub fn month_bounds(month: &str, tz: &Tz) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok()?;
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)?
    };
    Some((policy::embargo_moment(first, tz), policy::embargo_moment(next, tz)))
}

/// Every month from the first to the last of `months` (sorted, no gaps).
fn month_range(first: &str, last: &str) -> Vec<String> {
    let parse = |m: &str| NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").ok();
    let (Some(mut d), Some(end)) = (parse(first), parse(last)) else {
        return vec![first.to_string()];
    };
    let mut out = Vec::new();
    while d <= end {
        out.push(d.format("%Y-%m").to_string());
        d = if d.month() == 12 {
            NaiveDate::from_ymd_opt(d.year() + 1, 1, 1).expect("date")
        } else {
            NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1).expect("date")
        };
    }
    out
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Nearest-rank percentile of sorted values.
pub fn nearest_rank(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// (clock start, answered at) of a case.
type Clock = fn(&Timeline) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

struct Promise {
    target: &'static str,
    within: Duration,
    clock: Clock,
}

fn response_series(
    cases: &[&CaseFacts],
    p: &Policy,
    now: DateTime<Utc>,
    pr: Promise,
    subjects: bool,
) -> ResponseSeries {
    use std::collections::BTreeMap;
    let unit = Unit::for_promise(pr.within);
    let mut points = Vec::new();
    for c in cases.iter().filter(|c| !c.is_historical()) {
        let (Some(start), done) = (pr.clock)(&c.timeline) else {
            continue;
        };
        let due = p.calendar.add(start, pr.within);
        let took = p.calendar.between(start, done.unwrap_or(now).max(start));
        let status = match done {
            Some(_) if took <= pr.within => Standing::Met,
            Some(_) => Standing::Late,
            None if now > due => Standing::Overdue,
            None => Standing::Waiting,
        };
        points.push(ResponsePoint {
            case: c.id.clone(),
            subject: subjects.then(|| c.subject.clone()),
            month: local_month(c.timeline.opened_at, &p.tz),
            started: local_time(start, &p.tz),
            answered: done.map(|d| local_time(d, &p.tz)),
            took: round2(took.num_milliseconds() as f64 / 1000.0 / unit.seconds()),
            took_seconds: took.num_seconds(),
            status,
            started_at: start,
        });
    }
    points.sort_by(|a, b| a.started_at.cmp(&b.started_at).then_with(|| a.case.cmp(&b.case)));
    let mut acc: BTreeMap<String, (usize, usize, Vec<f64>)> = BTreeMap::new();
    for pt in &points {
        if pt.status == Standing::Waiting {
            continue;
        }
        let e = acc.entry(pt.month.clone()).or_default();
        e.0 += 1;
        if pt.status == Standing::Met {
            e.1 += 1;
        }
        if pt.answered.is_some() {
            e.2.push(pt.took);
        }
    }
    let months = acc
        .into_iter()
        .map(|(month, (n, met, mut times))| {
            times.sort_by(f64::total_cmp);
            ResponseMonth {
                month,
                cases: n,
                met,
                median: nearest_rank(&times, 0.5),
                p90: nearest_rank(&times, 0.9),
            }
        })
        .collect();
    ResponseSeries {
        target: pr.target,
        unit,
        promise: round2(pr.within.num_milliseconds() as f64 / 1000.0 / unit.seconds()),
        promise_seconds: pr.within.num_seconds(),
        cases: points,
        months,
    }
}

fn outcomes(cases: &[&CaseFacts], tz: &Tz) -> Vec<MonthOutcomes> {
    use std::collections::BTreeMap;
    let mut acc: BTreeMap<String, MonthOutcomes> = BTreeMap::new();
    for c in cases {
        let month = local_month(c.timeline.opened_at, tz);
        let e = acc.entry(month.clone()).or_insert_with(|| MonthOutcomes {
            month,
            ..Default::default()
        });
        e.total += 1;
        match (c.is_historical(), State::parse(&c.state)) {
            (true, _) => e.historical += 1,
            (_, Some(State::Accepted | State::Patching | State::Released | State::Disclosed)) => e.accepted += 1,
            (_, Some(State::Invalid)) => e.invalid += 1,
            (_, Some(State::Duplicate)) => e.duplicate += 1,
            _ => e.open += 1,
        }
    }
    fill_months(acc, |month| MonthOutcomes {
        month,
        ..Default::default()
    })
}

fn fill_months<T: Clone>(acc: std::collections::BTreeMap<String, T>, empty: impl Fn(String) -> T) -> Vec<T> {
    let (Some(first), Some(last)) = (acc.keys().next(), acc.keys().next_back()) else {
        return Vec::new();
    };
    month_range(first, last)
        .into_iter()
        .map(|m| acc.get(&m).cloned().unwrap_or_else(|| empty(m)))
        .collect()
}

fn open_cases(cases: &[&CaseFacts], p: &Policy, now: DateTime<Utc>, subjects: bool) -> Vec<OpenCase> {
    let mut out: Vec<(usize, DateTime<Utc>, OpenCase)> = cases
        .iter()
        .filter(|c| c.is_open())
        .map(|c| {
            let state = State::parse(&c.state).unwrap_or(State::New);
            let order = State::ALL.iter().position(|s| *s == state).unwrap_or(0);
            let overdue = policy::deadlines(&c.timeline, p, now)
                .into_iter()
                .filter(|d| d.status == Status::Overdue)
                .map(|d| d.kind.as_str())
                .collect();
            let age = (now - c.timeline.opened_at).num_seconds().max(0) as f64 / 86400.0;
            (
                order,
                c.timeline.opened_at,
                OpenCase {
                    case: c.id.clone(),
                    subject: subjects.then(|| c.subject.clone()),
                    state: state.as_str().to_string(),
                    opened: local_time(c.timeline.opened_at, &p.tz),
                    age_days: (age * 10.0).round() / 10.0,
                    overdue,
                },
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)).then_with(|| a.2.case.cmp(&b.2.case)));
    out.into_iter().map(|x| x.2).collect()
}

/// Severity as the chart groups it.
fn severity_bucket(s: Option<&str>) -> &'static str {
    match s.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        Some("critical") => "critical",
        Some("high") => "high",
        Some("medium") | Some("moderate") => "medium",
        Some("low") => "low",
        _ => "unknown",
    }
}

fn publications(
    cases: &[&CaseFacts],
    tz: &Tz,
    since: Option<NaiveDate>,
    subjects: bool,
) -> (Vec<MonthPublications>, Vec<Advisory>) {
    use std::collections::BTreeMap;
    let mut acc: BTreeMap<String, MonthPublications> = BTreeMap::new();
    let mut list: Vec<(DateTime<Utc>, Advisory)> = Vec::new();
    for c in cases
        .iter()
        .filter(|c| State::parse(&c.state) == Some(State::Disclosed))
    {
        let at = c.closed_at.unwrap_or(c.timeline.state_since);
        if since.is_some_and(|s| at.with_timezone(tz).date_naive() < s) {
            continue;
        }
        let month = local_month(at, tz);
        let e = acc.entry(month.clone()).or_insert_with(|| MonthPublications {
            month,
            ..Default::default()
        });
        e.published += 1;
        e.cves += usize::from(c.cve.is_some());
        e.ghsas += usize::from(c.ghsa.is_some());
        match severity_bucket(c.severity.as_deref()) {
            "critical" => e.critical += 1,
            "high" => e.high += 1,
            "medium" => e.medium += 1,
            "low" => e.low += 1,
            _ => e.unknown += 1,
        }
        list.push((
            at,
            Advisory {
                case: c.id.clone(),
                subject: subjects.then(|| c.subject.clone()),
                published: local_time(at, tz),
                severity: c.severity.clone(),
                cve: c.cve.clone(),
                ghsa: c.ghsa.clone(),
            },
        ));
    }
    list.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.case.cmp(&b.1.case)));
    let months = fill_months(acc, |month| MonthPublications {
        month,
        ..Default::default()
    });
    (months, list.into_iter().map(|x| x.1).collect())
}

impl Charts {
    /// The report over the cases opened on or after `since` (a local date; advisories by
    /// the date they were published). `subjects` adds the cases' subjects.
    pub fn build(
        all: &[CaseFacts],
        p: &Policy,
        now: DateTime<Utc>,
        since: Option<NaiveDate>,
        subjects: bool,
    ) -> Charts {
        let cases: Vec<&CaseFacts> = all
            .iter()
            .filter(|c| since.is_none_or(|s| c.timeline.opened_at.with_timezone(&p.tz).date_naive() >= s))
            .collect();
        let first_reply = Promise {
            target: "acknowledgement",
            within: p.acknowledge_within,
            clock: |t| (Some(t.opened_at), t.acknowledged_at),
        };
        let detailed = Promise {
            target: "detailed-response",
            within: p.detailed_response_within,
            clock: |t| (t.acknowledged_at, t.detailed_response_at),
        };
        let (publications, advisories) =
            publications(all.iter().collect::<Vec<_>>().as_slice(), &p.tz, since, subjects);
        Charts {
            generated: local_time(now, &p.tz),
            timezone: p.tz.name().to_string(),
            since,
            first_reply: response_series(&cases, p, now, first_reply, subjects),
            detailed_response: response_series(&cases, p, now, detailed, subjects),
            outcomes: outcomes(&cases, &p.tz),
            open_cases: open_cases(&cases, p, now, subjects),
            publications,
            advisories,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PolicySettings;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn policy(tz: Option<&str>) -> Policy {
        let mut s = PolicySettings::default();
        s.calendar.timezone = tz.map(String::from);
        s.compile().unwrap()
    }

    fn case(id: &str, state: &str, opened: &str, ack_h: Option<i64>, detail_h: Option<i64>) -> CaseFacts {
        let o = t(opened);
        let ack = ack_h.map(|h| o + Duration::hours(h));
        CaseFacts {
            id: id.into(),
            state: state.into(),
            subject: format!("subject of {id}"),
            timeline: Timeline {
                opened_at: o,
                state: State::parse(state),
                state_since: o,
                acknowledged_at: ack,
                detailed_response_at: detail_h.and_then(|h| ack.map(|a| a + Duration::hours(h))),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn first_replies_are_placed_against_the_promise_per_case_and_month() {
        let p = policy(None);
        let cases = vec![
            case("A", "triage", "2026-10-01T00:00:00Z", Some(10), Some(30)),
            case("B", "triage", "2026-10-02T00:00:00Z", Some(20), None),
            case("C", "triage", "2026-10-03T00:00:00Z", Some(60), None),
            case("D", "new", "2026-10-04T00:00:00Z", None, None),
            case("E", "new", "2026-11-20T12:00:00Z", None, None),
        ];
        let now = t("2026-11-21T00:00:00Z");
        let c = Charts::build(&cases, &p, now, None, false);
        let s = &c.first_reply;
        assert_eq!((s.unit, s.promise, s.promise_seconds), (Unit::Hours, 48.0, 48 * 3600));
        let st: Vec<_> = s.cases.iter().map(|x| (x.case.as_str(), x.status, x.took)).collect();
        assert_eq!(
            st,
            vec![
                ("A", Standing::Met, 10.0),
                ("B", Standing::Met, 20.0),
                ("C", Standing::Late, 60.0),
                ("D", Standing::Overdue, 48.0 * 24.0), // 48 days unanswered
                ("E", Standing::Waiting, 12.0),
            ]
        );
        assert_eq!(
            s.months,
            vec![ResponseMonth {
                month: "2026-10".into(),
                cases: 4,
                met: 2,
                median: Some(20.0),
                p90: Some(60.0)
            }],
            "the waiting case is not counted yet; the unanswered one counts as missed"
        );
        // The detailed response counts from the acknowledgement.
        let d = &c.detailed_response;
        assert_eq!(d.cases[0].took, 30.0);
        assert_eq!(d.cases[0].started, "2026-10-01 10:00");
        assert!(c.subjects_absent());
    }

    impl Charts {
        fn subjects_absent(&self) -> bool {
            self.first_reply.cases.iter().all(|c| c.subject.is_none())
                && self.open_cases.iter().all(|c| c.subject.is_none())
        }
    }

    #[test]
    fn historical_cases_count_in_the_history_but_not_against_the_promises() {
        let p = policy(None);
        let cases = vec![
            case("H", HISTORICAL, "2026-09-10T00:00:00Z", None, None),
            case("A", "invalid", "2026-09-11T00:00:00Z", Some(1), Some(1)),
        ];
        let c = Charts::build(&cases, &p, t("2026-11-01T00:00:00Z"), None, true);
        assert_eq!(c.first_reply.cases.len(), 1);
        assert_eq!(c.first_reply.cases[0].case, "A");
        assert_eq!(c.first_reply.cases[0].subject.as_deref(), Some("subject of A"));
        assert_eq!(c.outcomes.len(), 1);
        assert_eq!(
            (c.outcomes[0].historical, c.outcomes[0].invalid, c.outcomes[0].total),
            (1, 1, 2)
        );
        assert!(c.open_cases.is_empty(), "a historical case is closed");
    }

    #[test]
    fn months_are_local_and_gaps_are_filled() {
        // 23:30 UTC on 31 October is already November in Berlin.
        let p = policy(Some("Europe/Berlin"));
        let cases = vec![
            case("A", "accepted", "2026-08-15T00:00:00Z", Some(1), None),
            case("B", "duplicate", "2026-10-31T23:30:00Z", Some(1), None),
        ];
        let c = Charts::build(&cases, &p, t("2026-12-01T00:00:00Z"), None, false);
        let months: Vec<_> = c
            .outcomes
            .iter()
            .map(|m| (m.month.as_str(), m.accepted, m.duplicate))
            .collect();
        assert_eq!(
            months,
            vec![
                ("2026-08", 1, 0),
                ("2026-09", 0, 0),
                ("2026-10", 0, 0),
                ("2026-11", 0, 1)
            ]
        );
        assert_eq!(c.first_reply.cases[1].started, "2026-11-01 00:30");
        assert_eq!(c.timezone, "Europe/Berlin");
        // --since is a local date too.
        let since = Charts::build(
            &cases,
            &p,
            t("2026-12-01T00:00:00Z"),
            NaiveDate::from_ymd_opt(2026, 11, 1),
            false,
        );
        assert_eq!(since.outcomes.len(), 1);
    }

    #[test]
    fn open_cases_show_age_and_what_is_overdue() {
        let p = policy(None);
        let cases = vec![
            case("OLD", "new", "2026-10-01T00:00:00Z", None, None),
            case("FRESH", "triage", "2026-10-10T12:00:00Z", None, None),
            case("DONE", "disclosed", "2026-09-01T00:00:00Z", Some(1), Some(1)),
        ];
        let c = Charts::build(&cases, &p, t("2026-10-11T00:00:00Z"), None, false);
        let open: Vec<_> = c
            .open_cases
            .iter()
            .map(|o| {
                (
                    o.case.as_str(),
                    o.state.as_str(),
                    o.age_days,
                    o.overdue.contains(&"acknowledge"),
                )
            })
            .collect();
        assert_eq!(open, vec![("OLD", "new", 10.0, true), ("FRESH", "triage", 0.5, false)]);
    }

    #[test]
    fn advisories_per_month_by_severity() {
        let p = policy(None);
        let mut a = case("A", "disclosed", "2026-08-01T00:00:00Z", Some(1), Some(1));
        a.closed_at = Some(t("2026-09-05T00:00:00Z"));
        a.severity = Some("high".into());
        a.cve = Some("CVE-2026-1234".into());
        let mut b = case("B", "disclosed", "2026-08-02T00:00:00Z", Some(1), Some(1));
        b.closed_at = Some(t("2026-11-05T00:00:00Z"));
        b.ghsa = Some("GHSA-aaaa-bbbb-cccc".into());
        let c = case("C", "accepted", "2026-08-03T00:00:00Z", Some(1), Some(1));
        let r = Charts::build(&[a, b, c], &p, t("2026-12-01T00:00:00Z"), None, false);
        let m: Vec<_> = r
            .publications
            .iter()
            .map(|m| (m.month.as_str(), m.published, m.cves, m.ghsas, m.high, m.unknown))
            .collect();
        assert_eq!(
            m,
            vec![
                ("2026-09", 1, 1, 0, 1, 0),
                ("2026-10", 0, 0, 0, 0, 0),
                ("2026-11", 1, 0, 1, 0, 1)
            ]
        );
        assert_eq!(r.advisories.len(), 2);
        assert_eq!(r.advisories[0].cve.as_deref(), Some("CVE-2026-1234"));
    }

    #[test]
    fn small_promises_are_counted_in_small_units() {
        assert_eq!(Unit::for_promise(Duration::hours(48)), Unit::Hours);
        assert_eq!(Unit::for_promise(Duration::minutes(30)), Unit::Minutes);
        assert_eq!(Unit::for_promise(Duration::seconds(4)), Unit::Seconds);
        assert_eq!(nearest_rank(&[1.0, 2.0, 3.0, 4.0], 0.5), Some(2.0));
        assert_eq!(nearest_rank(&[1.0, 2.0, 3.0, 4.0], 0.9), Some(4.0));
    }
}

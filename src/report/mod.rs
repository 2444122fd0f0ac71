//! The response-target report: for the acknowledgement and the detailed response, per month,
//! the share of cases that met the target, and the median and 90th percentile times. Pure.
//! Its submodules make the HTML report with charts (`report --html`).

pub mod charts;
pub mod data;
pub mod html;
pub mod series;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

use crate::policy::Policy;
pub use series::{CaseFacts, Charts};

/// One target in one month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetStats {
    pub month: String,
    pub target: &'static str,
    /// Cases whose deadline has passed or that answered.
    pub cases: usize,
    pub met: usize,
    pub met_share: Option<f64>,
    pub median_hours: Option<f64>,
    pub p90_hours: Option<f64>,
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    // nearest-rank
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some((sorted[rank - 1] * 10.0).round() / 10.0)
}

/// (name, clock start, answered at, target)
type Target = (&'static str, Option<DateTime<Utc>>, Option<DateTime<Utc>>, Duration);

/// Builds the report over the cases opened on or after `since` (months and dates in
/// `policy.calendar.timezone`). Historical (imported) cases are not held to the targets.
pub fn response_targets(
    cases: &[CaseFacts],
    p: &Policy,
    now: DateTime<Utc>,
    since: Option<NaiveDate>,
) -> Vec<TargetStats> {
    use std::collections::BTreeMap;
    // (month, target) -> (count, met, times)
    let mut acc: BTreeMap<(String, &'static str), (usize, usize, Vec<f64>)> = BTreeMap::new();
    for c in cases.iter().filter(|c| !c.is_historical()) {
        let t = &c.timeline;
        if since.is_some_and(|s| t.opened_at.with_timezone(&p.tz).date_naive() < s) {
            continue;
        }
        let month = series::local_month(t.opened_at, &p.tz);
        let targets: [Target; 2] = [
            (
                "acknowledgement",
                Some(t.opened_at),
                t.acknowledged_at,
                p.acknowledge_within,
            ),
            (
                "detailed-response",
                t.acknowledged_at,
                t.detailed_response_at,
                p.detailed_response_within,
            ),
        ];
        for (name, start, done, within) in targets {
            let Some(start) = start else { continue };
            let due = p.calendar.add(start, within);
            let took = match done {
                Some(at) => Some(p.calendar.between(start, at)),
                None if now > due => None, // missed, still unanswered
                None => continue,          // still within the target
            };
            let e = acc.entry((month.clone(), name)).or_default();
            e.0 += 1;
            if let Some(took) = took {
                if took <= within {
                    e.1 += 1;
                }
                e.2.push(took.num_seconds() as f64 / 3600.0);
            }
        }
    }
    acc.into_iter()
        .map(|((month, target), (cases, met, mut times))| {
            times.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
            TargetStats {
                month,
                target,
                cases,
                met,
                met_share: (cases > 0).then(|| ((met as f64 / cases as f64) * 1000.0).round() / 1000.0),
                median_hours: percentile(&times, 0.5),
                p90_hours: percentile(&times, 0.9),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PolicySettings;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn shares_and_percentiles_per_month() {
        let p = PolicySettings::default().compile().unwrap();
        let case = |opened: &str, ack_h: Option<i64>| CaseFacts {
            state: "triage".into(),
            timeline: crate::policy::Timeline {
                opened_at: t(opened),
                acknowledged_at: ack_h.map(|h| t(opened) + Duration::hours(h)),
                ..Default::default()
            },
            ..Default::default()
        };
        let tls = vec![
            case("2026-10-01T00:00:00Z", Some(10)),
            case("2026-10-02T00:00:00Z", Some(20)),
            case("2026-10-03T00:00:00Z", Some(60)), // late
            case("2026-10-04T00:00:00Z", None),     // never answered: missed
            case("2026-11-20T00:00:00Z", None),     // still within the target
        ];
        let r = response_targets(&tls, &p, t("2026-11-21T00:00:00Z"), None);
        let oct = r
            .iter()
            .find(|s| s.month == "2026-10" && s.target == "acknowledgement")
            .unwrap();
        assert_eq!((oct.cases, oct.met), (4, 2));
        assert_eq!(oct.met_share, Some(0.5));
        assert_eq!(oct.median_hours, Some(20.0));
        assert_eq!(oct.p90_hours, Some(60.0));
        let nov = r.iter().find(|s| s.month == "2026-11" && s.target == "acknowledgement");
        assert!(nov.is_none(), "a case still within its target is not counted yet");
        assert!(response_targets(
            &tls,
            &p,
            t("2026-11-21T00:00:00Z"),
            NaiveDate::from_ymd_opt(2026, 11, 1)
        )
        .is_empty());
    }
}

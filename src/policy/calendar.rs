//! An optional business calendar: deadlines that count only working days, in a time zone,
//! skipping weekends and holidays (as HackerOne-style response targets do). Pure.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CalendarSettings {
    /// Count deadlines in working days only (default: calendar hours).
    #[serde(default)]
    pub working_days_only: bool,
    /// IANA time zone the working days are in (default UTC), e.g. "Europe/Berlin".
    #[serde(default)]
    pub timezone: Option<String>,
    /// Working days (default Mon-Fri), e.g. ["mon", "tue", "wed", "thu", "fri"].
    #[serde(default)]
    pub working_days: Vec<String>,
    /// Holidays, "YYYY-MM-DD".
    #[serde(default)]
    pub holidays: Vec<String>,
}

fn weekday(s: &str) -> Option<Weekday> {
    match s.trim().to_ascii_lowercase().get(..3)? {
        "mon" => Some(Weekday::Mon),
        "tue" => Some(Weekday::Tue),
        "wed" => Some(Weekday::Wed),
        "thu" => Some(Weekday::Thu),
        "fri" => Some(Weekday::Fri),
        "sat" => Some(Weekday::Sat),
        "sun" => Some(Weekday::Sun),
        _ => None,
    }
}

impl CalendarSettings {
    pub fn validate(&self) -> Result<(), (String, String)> {
        if let Some(t) = &self.timezone {
            t.parse::<Tz>()
                .map_err(|_| ("timezone".to_string(), format!("`{t}` is not an IANA time zone")))?;
        }
        self.calendar().map(|_| ())
    }

    /// The calendar, or an error naming the key.
    pub fn calendar(&self) -> Result<Calendar, (String, String)> {
        if !self.working_days_only {
            return Ok(Calendar::Hours);
        }
        let tz: Tz = match &self.timezone {
            None => Tz::UTC,
            Some(t) => t
                .parse()
                .map_err(|_| ("timezone".to_string(), format!("`{t}` is not an IANA time zone")))?,
        };
        let days = if self.working_days.is_empty() {
            vec![Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri]
        } else {
            self.working_days
                .iter()
                .map(|d| weekday(d).ok_or_else(|| ("working_days".to_string(), format!("`{d}` is not a weekday"))))
                .collect::<Result<_, _>>()?
        };
        if days.is_empty() {
            return Err(("working_days".into(), "needs at least one day".into()));
        }
        let holidays = self
            .holidays
            .iter()
            .map(|h| {
                NaiveDate::parse_from_str(h, "%Y-%m-%d")
                    .map_err(|_| ("holidays".to_string(), format!("`{h}` is not a date like 2026-12-25")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Calendar::Working { tz, days, holidays })
    }
}

/// How deadline durations are counted.
#[derive(Debug, Clone, PartialEq)]
pub enum Calendar {
    /// Plain calendar hours.
    Hours,
    /// Only time on working days counts.
    Working {
        tz: Tz,
        days: Vec<Weekday>,
        holidays: Vec<NaiveDate>,
    },
}

/// The local date of `t` in `tz`, and when the next local day starts.
fn day_of(tz: &Tz, t: DateTime<Utc>) -> (NaiveDate, DateTime<Utc>) {
    let date = t.with_timezone(tz).date_naive();
    let next = tz
        .from_local_datetime(&date.succ_opt().expect("date").and_hms_opt(0, 0, 0).expect("midnight"))
        .earliest()
        .map(|x| x.with_timezone(&Utc))
        .unwrap_or(t + Duration::hours(24));
    (date, next)
}

impl Calendar {
    fn is_working(&self, date: NaiveDate) -> bool {
        match self {
            Calendar::Hours => true,
            Calendar::Working { days, holidays, .. } => days.contains(&date.weekday()) && !holidays.contains(&date),
        }
    }

    /// `start + d`, counting only working time.
    pub fn add(&self, start: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
        let Calendar::Working { tz, .. } = self else {
            return start + d;
        };
        let mut t = start;
        let mut left = d;
        // Bounded: at most ~10 years of days.
        for _ in 0..4000 {
            let (date, next_midnight) = day_of(tz, t);
            if self.is_working(date) {
                let room = next_midnight - t;
                if left <= room {
                    return t + left;
                }
                left -= room;
            }
            t = next_midnight;
        }
        t + left
    }

    /// Working time between `a` and `b` (for "met within the target" reports).
    pub fn between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Duration {
        let Calendar::Working { tz, .. } = self else {
            return b - a;
        };
        if b <= a {
            return Duration::zero();
        }
        let mut t = a;
        let mut total = Duration::zero();
        for _ in 0..4000 {
            let (date, next_midnight) = day_of(tz, t);
            let end = next_midnight.min(b);
            if self.is_working(date) {
                total += end - t;
            }
            if next_midnight >= b {
                break;
            }
            t = next_midnight;
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn working(holidays: &[&str]) -> Calendar {
        CalendarSettings {
            working_days_only: true,
            timezone: Some("Europe/Berlin".into()),
            working_days: vec![],
            holidays: holidays.iter().map(|s| s.to_string()).collect(),
        }
        .calendar()
        .unwrap()
    }

    #[test]
    fn hours_calendar_is_plain_addition() {
        assert_eq!(
            Calendar::Hours.add(t("2026-11-20T10:00:00Z"), Duration::hours(48)),
            t("2026-11-22T10:00:00Z")
        );
    }

    #[test]
    fn a_deadline_over_a_weekend_skips_it() {
        // Friday 2026-11-20 11:00 Berlin (10:00 UTC) + 48 working hours = Tuesday 11:00 Berlin.
        let c = working(&[]);
        assert_eq!(
            c.add(t("2026-11-20T10:00:00Z"), Duration::hours(48)),
            t("2026-11-24T10:00:00Z")
        );
        // Received on Saturday: the clock starts Monday 00:00 Berlin (Sunday 23:00 UTC).
        assert_eq!(
            c.add(t("2026-11-21T12:00:00Z"), Duration::hours(24)),
            t("2026-11-23T23:00:00Z")
        );
    }

    #[test]
    fn and_a_holiday_too() {
        // Christmas: Thu 2026-12-24 10:00 UTC + 48h with 25 Dec (Fri) a holiday -> Tue 29th.
        let c = working(&["2026-12-25"]);
        assert_eq!(
            c.add(t("2026-12-24T10:00:00Z"), Duration::hours(48)),
            t("2026-12-29T10:00:00Z")
        );
        assert_eq!(
            c.between(t("2026-12-24T10:00:00Z"), t("2026-12-29T10:00:00Z")),
            Duration::hours(48)
        );
    }

    #[test]
    fn bad_settings_name_the_key() {
        let s = CalendarSettings {
            working_days_only: true,
            timezone: Some("Mars/Olympus".into()),
            ..Default::default()
        };
        assert_eq!(s.calendar().unwrap_err().0, "timezone");
        let s = CalendarSettings {
            working_days_only: true,
            holidays: vec!["xmas".into()],
            ..Default::default()
        };
        assert_eq!(s.calendar().unwrap_err().0, "holidays");
    }
}

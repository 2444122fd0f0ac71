//! Times as people read them in mail: "Thu 3 Dec 2026, 02:58 UTC (in 23 hours)", in the
//! project's time zone (`policy.calendar.timezone`), never RFC 3339. Pure: `now` is passed in.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

/// "Thu 3 Dec 2026, 02:58 UTC": the moment in `tz`, with the zone's abbreviation.
pub fn moment(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%a %-d %b %Y, %H:%M %Z").to_string()
}

/// "3 Dec 2026": the local day only.
pub fn day(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%-d %b %Y").to_string()
}

/// "23 hours", "2 days", "5 minutes", "less than a minute": a span rounded down to the unit
/// people count it in (minutes below an hour, hours below two days, then days).
pub fn span(d: Duration) -> String {
    let d = d.abs();
    let (n, unit) = if d < Duration::minutes(1) {
        return "less than a minute".to_string();
    } else if d < Duration::hours(1) {
        (d.num_minutes(), "minute")
    } else if d < Duration::hours(48) {
        (d.num_hours(), "hour")
    } else {
        (d.num_days(), "day")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// How a deadline stands: "in 23 hours", "2 days overdue", "due now".
pub fn until(due: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let d = due - now;
    if d.abs() < Duration::minutes(1) {
        "due now".to_string()
    } else if d > Duration::zero() {
        format!("in {}", span(d))
    } else {
        format!("{} overdue", span(d))
    }
}

/// How long ago something happened: "3 hours ago", "just now" (a future time: "in 2 hours").
pub fn ago(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let d = now - at;
    if d.abs() < Duration::minutes(1) {
        "just now".to_string()
    } else if d > Duration::zero() {
        format!("{} ago", span(d))
    } else {
        format!("in {}", span(d))
    }
}

/// A deadline for people: "Thu 3 Dec 2026, 02:58 UTC (in 23 hours)".
pub fn deadline(due: DateTime<Utc>, now: DateTime<Utc>, tz: Tz) -> String {
    format!("{} ({})", moment(due, tz), until(due, now))
}

/// A past event for people: "Thu 3 Dec 2026, 02:58 UTC (3 hours ago)".
pub fn event(at: DateTime<Utc>, now: DateTime<Utc>, tz: Tz) -> String {
    format!("{} ({})", moment(at, tz), ago(at, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 22).unwrap()
    }

    #[test]
    fn moments_in_the_project_zone() {
        let at = t(2026, 12, 3, 2, 58);
        assert_eq!(moment(at, Tz::UTC), "Thu 3 Dec 2026, 02:58 UTC");
        assert_eq!(moment(at, chrono_tz::Europe::Berlin), "Thu 3 Dec 2026, 03:58 CET");
        assert_eq!(moment(at, chrono_tz::America::New_York), "Wed 2 Dec 2026, 21:58 EST");
        // Summer time changes the abbreviation as well as the hour.
        assert_eq!(
            moment(t(2026, 7, 1, 12, 0), chrono_tz::Europe::Berlin),
            "Wed 1 Jul 2026, 14:00 CEST"
        );
        assert_eq!(day(at, chrono_tz::America::New_York), "2 Dec 2026");
    }

    #[test]
    fn deadlines_say_how_they_stand() {
        let due = t(2026, 12, 3, 2, 58);
        assert_eq!(until(due, due - Duration::minutes(23 * 60 + 59)), "in 23 hours");
        assert_eq!(until(due, due - Duration::hours(1)), "in 1 hour");
        assert_eq!(until(due, due - Duration::minutes(5)), "in 5 minutes");
        assert_eq!(until(due, due - Duration::hours(50)), "in 2 days");
        assert_eq!(until(due, due + Duration::hours(49)), "2 days overdue");
        assert_eq!(until(due, due + Duration::hours(25)), "25 hours overdue");
        assert_eq!(until(due, due + Duration::seconds(20)), "due now");
        assert_eq!(
            deadline(due, due - Duration::hours(23), Tz::UTC),
            "Thu 3 Dec 2026, 02:58 UTC (in 23 hours)"
        );
    }

    #[test]
    fn events_say_how_long_ago() {
        let at = t(2026, 12, 3, 2, 58);
        assert_eq!(ago(at, at + Duration::hours(3)), "3 hours ago");
        assert_eq!(ago(at, at + Duration::minutes(1)), "1 minute ago");
        assert_eq!(ago(at, at), "just now");
        assert_eq!(ago(at, at - Duration::hours(2)), "in 2 hours");
        assert_eq!(
            event(at, at + Duration::days(3), Tz::UTC),
            "Thu 3 Dec 2026, 02:58 UTC (3 days ago)"
        );
        assert_eq!(span(Duration::seconds(30)), "less than a minute");
    }
}

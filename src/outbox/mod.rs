//! Outgoing mail: templates, composition with fixed Message-IDs, and SMTP delivery with retry.

pub mod compose;
pub mod delivery;
pub mod samples;
pub mod sender;
pub mod templates;

pub use compose::{Composed, Draft};
pub use templates::Templates;

use std::time::Duration;

/// Delay before attempt `attempts + 1`: doubling from `initial`, capped at `max`.
pub fn backoff(attempts: u32, initial: Duration, max: Duration) -> Duration {
    let factor = 1u32.checked_shl(attempts.min(20)).unwrap_or(u32::MAX);
    initial.saturating_mul(factor).min(max)
}

/// "48 hours", "10 days", "90 seconds": a duration for people.
pub fn human_duration(d: Duration) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let i = Duration::from_secs(5);
        let m = Duration::from_secs(3600);
        assert_eq!(backoff(0, i, m), Duration::from_secs(5));
        assert_eq!(backoff(3, i, m), Duration::from_secs(40));
        assert_eq!(backoff(40, i, m), m);
    }

    #[test]
    fn durations_for_people() {
        assert_eq!(human_duration(Duration::from_secs(48 * 3600)), "48 hours");
        assert_eq!(human_duration(Duration::from_secs(10 * 86400)), "10 days");
        assert_eq!(human_duration(Duration::from_secs(2)), "2 seconds");
    }
}

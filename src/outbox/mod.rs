//! Outgoing mail: templates, composition with fixed Message-IDs, and SMTP delivery with retry.

pub mod compose;
pub mod protect;
pub mod render;
pub mod samples;
pub mod sender;
pub mod templates;

pub use compose::{Composed, Draft};
pub use templates::Templates;

/// Why a mail could not be made.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MailError {
    #[error(transparent)]
    Template(#[from] templates::TemplateError),
    #[error(transparent)]
    Compose(#[from] compose::ComposeError),
}

use std::time::Duration;

/// Delay before attempt `attempts + 1`: doubling from `initial`, capped at `max`.
pub fn backoff(attempts: u32, initial: Duration, max: Duration) -> Duration {
    let factor = 1u32.checked_shl(attempts.min(20)).unwrap_or(u32::MAX);
    initial.saturating_mul(factor).min(max)
}

pub use crate::case::mail::human_duration;

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
}

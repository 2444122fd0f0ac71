//! The delivery task: claims due channel deliveries, sends each once per attempt, and
//! records the outcome (delivered; due again after a backoff; failed for good).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use chrono_tz::Tz;
use sqlx::SqlitePool;
use tokio::sync::{watch, Notify};

use super::client::{HttpClient, Outcome};
use super::queue::{self, Due};
use super::Channel;
use crate::clock::Clock;

/// Deliveries claimed per round.
const BATCH: i64 = 20;

/// How long to wait before the next attempt, after `attempts` failed ones (1, 2, ...):
/// doubling from `initial`, at most `max`.
pub fn retry_after(attempts: i64, initial: Duration, max: Duration) -> Duration {
    let shift = attempts.saturating_sub(1).clamp(0, 20) as u32;
    initial.saturating_mul(1u32 << shift).min(max)
}

/// What one flush did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Pass {
    pub delivered: usize,
    pub retried: usize,
    pub failed: usize,
}

/// Everything the task needs.
#[derive(Clone)]
pub struct Deliverer {
    pub pool: SqlitePool,
    pub channels: Arc<Vec<Channel>>,
    pub client: HttpClient,
    /// The zone times are shown in (policy.calendar.timezone).
    pub tz: Tz,
    pub retry_initial: Duration,
    pub retry_max: Duration,
    /// A claimed delivery is not claimed again for this long (longer than one attempt).
    pub lease: Duration,
}

impl Deliverer {
    /// Sends every delivery that is due now, until none is left.
    #[tracing::instrument(skip_all)]
    pub async fn flush(&self, clock: &dyn Clock) -> Result<Pass, queue::QueueError> {
        let mut pass = Pass::default();
        loop {
            let due = queue::claim_due(&self.pool, clock.now(), BATCH, self.lease).await?;
            let n = due.len();
            // The batch's attempts run side by side: one slow receiver delays no other.
            let outcomes = futures::future::join_all(due.iter().map(|d| self.attempt(d, clock))).await;
            for (d, (outcome, at)) in due.iter().zip(outcomes) {
                match outcome {
                    Outcome::Delivered { .. } => {
                        queue::mark_delivered(&self.pool, d.id, at).await?;
                        pass.delivered += 1;
                    }
                    Outcome::Retry { reason } => {
                        let wait = retry_after(d.attempts + 1, self.retry_initial, self.retry_max);
                        let next = at + ChronoDuration::from_std(wait).unwrap_or(ChronoDuration::hours(1));
                        queue::mark_retry(&self.pool, d.id, &reason, next).await?;
                        pass.retried += 1;
                    }
                    Outcome::Failed { reason } => {
                        queue::mark_failed(&self.pool, d, &reason, at).await?;
                        pass.failed += 1;
                    }
                }
            }
            if n < BATCH as usize {
                return Ok(pass);
            }
        }
    }

    #[tracing::instrument(skip_all, fields(delivery = %d.delivery_id, channel = %d.channel))]
    async fn attempt(&self, d: &Due, clock: &dyn Clock) -> (Outcome, DateTime<Utc>) {
        let now = clock.now();
        let outcome = match (&d.alert, self.channels.iter().find(|c| c.key() == d.channel)) {
            (Err(e), _) => Outcome::Failed { reason: e.clone() },
            (_, None) => Outcome::Failed {
                reason: format!("channel {} is no longer configured", d.channel),
            },
            (Ok(alert), Some(c)) => self.client.send(&c.request(&d.delivery_id, alert, self.tz, now)).await,
        };
        (outcome, clock.now())
    }

    /// The daemon's task: flush, then sleep until woken (a new delivery was committed),
    /// until the next retry is due, or 30 s at most; on stop, one last bounded flush.
    pub async fn run(self, clock: Arc<dyn Clock>, mut stop: watch::Receiver<bool>, wake: Arc<Notify>) {
        loop {
            if *stop.borrow() {
                let _ = tokio::time::timeout(Duration::from_secs(5), self.flush(clock.as_ref())).await;
                return;
            }
            match self.flush(clock.as_ref()).await {
                Ok(p) if p != Pass::default() => tracing::info!(?p, "channel deliveries"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "channel delivery flush failed"),
            }
            let mut wait = Duration::from_secs(30);
            if let Ok(Some(next)) = queue::next_due(&self.pool).await {
                let d = (next - clock.now()).to_std().unwrap_or(Duration::ZERO);
                wait = wait.min(d.max(Duration::from_millis(50)));
            }
            tokio::select! {
                _ = wake.notified() => {},
                _ = tokio::time::sleep(wait) => {},
                _ = stop.changed() => {},
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let i = Duration::from_secs(5);
        let m = Duration::from_secs(600);
        assert_eq!(retry_after(1, i, m), Duration::from_secs(5));
        assert_eq!(retry_after(2, i, m), Duration::from_secs(10));
        assert_eq!(retry_after(4, i, m), Duration::from_secs(40));
        assert_eq!(retry_after(60, i, m), m);
    }
}

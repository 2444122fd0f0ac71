//! Delivery: claims due outbox rows and sends them over SMTP, retrying with backoff. Wired
//! by the daemon with the SMTP settings and the clock it needs.

use std::time::Duration;

use chrono::Duration as ChronoDuration;

use crate::clock::Clock;
use crate::config::SmtpSettings;
use crate::outbox::backoff;
use crate::outbox::sender::{SendError, Smtp};
use crate::store::{Store, StoreError};

/// What one flush did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct FlushStats {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

/// Sends every due row once. Temporary failures are rescheduled, permanent ones marked failed.
#[tracing::instrument(skip_all)]
pub async fn flush(store: &Store, smtp: &Smtp, s: &SmtpSettings, clock: &dyn Clock) -> Result<FlushStats, StoreError> {
    let mut stats = FlushStats::default();
    loop {
        let now = clock.now();
        let rows = store
            .claim_due(now, 20, s.timeout * 2 + Duration::from_secs(30))
            .await?;
        if rows.is_empty() {
            return Ok(stats);
        }
        let mut temporary_failure = false;
        for p in rows {
            let rcpts = p.recipient_list();
            match smtp.send_raw(&p.envelope_from, &rcpts, &p.raw).await {
                Ok(()) => {
                    store.mark_sent(p.id, clock.now()).await?;
                    tracing::info!(outbox = p.id, kind = %p.kind, case = p.case_id.as_deref().unwrap_or("-"), "sent");
                    crate::metrics::mail_sent(&p.kind);
                    stats.sent += 1;
                }
                Err(SendError::Permanent(e)) => {
                    tracing::error!(outbox = p.id, kind = %p.kind, error = %e, "refused for good");
                    store.mark_failed(&p, &e, clock.now()).await?;
                    crate::metrics::mail_failed();
                    stats.failed += 1;
                }
                Err(SendError::Temporary(e)) => {
                    let wait = backoff(p.attempts as u32, s.retry_initial, s.retry_max);
                    let next = clock.now() + ChronoDuration::from_std(wait).unwrap_or(ChronoDuration::hours(1));
                    tracing::warn!(outbox = p.id, kind = %p.kind, error = %e, retry_in = ?wait, "send failed; will retry");
                    store.mark_retry(p.id, &e, next).await?;
                    store.set_service("last_send_error", &e, clock.now()).await?;
                    crate::metrics::mail_retried();
                    stats.retried += 1;
                    temporary_failure = true;
                }
            }
        }
        if temporary_failure {
            // The server is unwell: leave the rest for the next round.
            return Ok(stats);
        }
    }
}

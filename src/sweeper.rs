//! The deadline sweeper: writes due reminders to the outbox (filled in with the policy).

use crate::app::App;
use crate::store::{Store, StoreError};

/// Writes every due reminder; returns how many were queued.
pub async fn sweep(_store: &Store, _app: &App) -> Result<usize, StoreError> {
    Ok(0)
}

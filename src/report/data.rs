//! Reads what the report needs from the database: read-only, one pass over the cases.

use crate::clock::parse_stamp;
use crate::store::{Result, Store};

use super::series::CaseFacts;

/// id, severity, cve, ghsa, closed_at.
type AdvisoryFields = (String, Option<String>, Option<String>, Option<String>, Option<String>);

/// Every case with its timeline and its advisory fields, oldest first.
#[tracing::instrument(skip_all)]
pub async fn cases(store: &Store) -> Result<Vec<CaseFacts>> {
    let clocks = store.all_clocks().await?;
    let rows: Vec<AdvisoryFields> = sqlx::query_as("SELECT id, severity, cve, ghsa, closed_at FROM cases")
        .fetch_all(&store.pool)
        .await?;
    let mut extra: std::collections::HashMap<String, _> = rows
        .into_iter()
        .map(|(id, sev, cve, ghsa, closed)| (id, (sev, cve, ghsa, closed)))
        .collect();
    Ok(clocks
        .into_iter()
        .map(|c| {
            let (severity, cve, ghsa, closed) = extra.remove(&c.id).unwrap_or_default();
            CaseFacts {
                timeline: c.timeline(),
                id: c.id,
                state: c.state,
                subject: c.subject,
                severity,
                cve,
                ghsa,
                closed_at: closed.as_deref().and_then(parse_stamp),
            }
        })
        .collect())
}

//! Reads what the report needs from the database: read-only, one pass over the cases.

use crate::clock::parse_stamp;
use crate::store::{Result, Store};

use super::series::CaseFacts;

/// id, severity, cve, ghsa, closed_at.
type AdvisoryFields = (String, Option<String>, Option<String>, Option<String>, Option<String>);

/// Every case with its timeline and its advisory fields, oldest first. Of a historical case
/// the report reads only when it opened (it counts in the monthly history and nowhere
/// else), so years of imported history cost little.
#[tracing::instrument(skip_all)]
pub async fn cases(store: &Store) -> Result<Vec<CaseFacts>> {
    let clocks = store.clocks_without_history().await?;
    let rows: Vec<AdvisoryFields> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id, severity, cve, ghsa, closed_at FROM cases WHERE {}",
        crate::store::deadlines::NOT_HISTORICAL
    )))
    .fetch_all(&store.pool)
    .await?;
    let mut extra: std::collections::HashMap<String, _> = rows
        .into_iter()
        .map(|(id, sev, cve, ghsa, closed)| (id, (sev, cve, ghsa, closed)))
        .collect();
    let history = store.history_openings().await?;
    let mut out: Vec<CaseFacts> = clocks
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
        .collect();
    for (id, opened_at) in history {
        let Some(opened) = parse_stamp(&opened_at) else {
            continue;
        };
        out.push(CaseFacts {
            id,
            state: super::series::HISTORICAL.to_string(),
            subject: String::new(),
            timeline: crate::policy::Timeline {
                opened_at: opened,
                state: Some(crate::case::State::Historical),
                state_since: opened,
                decided_at: Some(opened),
                ..crate::policy::Timeline::default()
            },
            severity: None,
            cve: None,
            ghsa: None,
            closed_at: None,
        });
    }
    out.sort_by_key(|c| c.timeline.opened_at);
    Ok(out)
}

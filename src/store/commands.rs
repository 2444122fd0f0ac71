//! Coordinator commands and reporter replies applied to a case (filled in with the lifecycle).

use chrono::{DateTime, Utc};
use sqlx::{Sqlite, Transaction};

use super::cases::CaseRow;
use super::Result;
use crate::analysis::Facts;
use crate::app::App;
use crate::case::authority::Verdict;
use crate::message::Incoming;
use crate::routing::Sender;

#[allow(clippy::too_many_arguments)]
pub async fn reporter_words(
    _tx: &mut Transaction<'static, Sqlite>,
    _app: &App,
    _case: &CaseRow,
    _sender: Sender,
    _m: &Incoming,
    _facts: &Facts,
    _message: i64,
    _now: DateTime<Utc>,
) -> Result<()> {
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub async fn run_from_mail(
    _tx: &mut Transaction<'static, Sqlite>,
    _app: &App,
    _case: &CaseRow,
    _from: &str,
    _verdict: &Verdict,
    _m: &Incoming,
    _message: i64,
    _now: DateTime<Utc>,
) -> Result<()> {
    Ok(())
}

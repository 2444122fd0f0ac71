//! Commands applied to a case (from mail or the CLI) inside the caller's transaction, and
//! what reporters and third parties may say in a thread.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::cases::{load_case, CaseRow};
use super::outbox::{enqueue, event, Queued};
use super::{Result, StoreError};
use crate::address::Address;
use crate::analysis::Facts;
use crate::app::App;
use crate::case::authority::Verdict;
use crate::case::command::{self, Command, CommandError};
use crate::case::lifecycle::{self, Actor, CaseFile, Effect};
use crate::case::{CaseId, State};
use crate::clock::{parse_stamp, stamp};
use crate::message::Incoming;
use crate::outbox::compose::{tagged_subject, Draft};
use crate::outbox::templates::ctx::{self, ReporterBase, ReporterMail, ToReporter};
use crate::outbox::templates::{Rendered, TemplateContext};
use crate::quoting;
use crate::routing::Sender;

/// What a set of commands did, for the CLI and the confirmation mail.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CommandOutcome {
    pub applied: bool,
    pub changes: Vec<String>,
    pub errors: Vec<String>,
    pub mails: Vec<String>,
    pub state: String,
}

pub fn case_file(r: &CaseRow, no_patch: bool) -> CaseFile {
    CaseFile {
        id: r.id.clone(),
        state: State::parse(&r.state),
        reporter: r.reporter.clone(),
        coordinator: r.coordinator.clone(),
        acknowledged_at: r.acknowledged_at.as_deref().and_then(parse_stamp),
        severity: r.severity.clone(),
        cvss_vector: r.cvss_vector.clone(),
        cvss_score: r.cvss_score,
        cve: r.cve.clone(),
        ghsa: r.ghsa.clone(),
        patched_versions: r.patched_versions.clone(),
        embargo_date: r
            .embargo_date
            .as_deref()
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
        duplicate_of: r.duplicate_of.clone(),
        no_patch,
        credit: r.credit.clone(),
        anonymous: r.anonymous,
        flags: serde_json::from_str(&r.flags).unwrap_or_default(),
        close_reason: r.close_reason.clone(),
    }
}

async fn no_patch(tx: &mut crate::store::WriteTx, id: &str) -> Result<bool> {
    let (n,): (bool,) = sqlx::query_as("SELECT no_patch FROM cases WHERE id = ?")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    Ok(n)
}

async fn write_file(tx: &mut crate::store::WriteTx, old: &CaseRow, f: &CaseFile, now: DateTime<Utc>) -> Result<()> {
    let state = f.state();
    let state_changed = old.state != state.as_str();
    let closed_at = if state.is_closed() {
        Some(old.closed_at.clone().unwrap_or_else(|| stamp(now)))
    } else {
        None
    };
    sqlx::query(
        "UPDATE cases SET state = ?, coordinator = ?, acknowledged_at = ?, severity = ?, cvss_vector = ?, cvss_score = ?,
            cve = ?, ghsa = ?, patched_versions = ?, embargo_date = ?, duplicate_of = ?, no_patch = ?, credit = ?,
            anonymous = ?, flags = ?, close_reason = ?, closed_at = ?, updated_at = ?,
            state_since = CASE WHEN ? THEN ? ELSE state_since END,
            assigned_at = CASE WHEN ? IS NOT NULL THEN COALESCE(assigned_at, ?) ELSE NULL END,
            decided_at = CASE WHEN ? THEN COALESCE(decided_at, ?) WHEN ? THEN NULL ELSE decided_at END
         WHERE id = ?",
    )
    .bind(state.as_str())
    .bind(&f.coordinator)
    .bind(f.acknowledged_at.map(stamp))
    .bind(&f.severity)
    .bind(&f.cvss_vector)
    .bind(f.cvss_score)
    .bind(&f.cve)
    .bind(&f.ghsa)
    .bind(&f.patched_versions)
    .bind(f.embargo_date.map(|d| d.to_string()))
    .bind(&f.duplicate_of)
    .bind(f.no_patch)
    .bind(&f.credit)
    .bind(f.anonymous)
    .bind(serde_json::to_string(&f.flags).expect("flags"))
    .bind(&f.close_reason)
    .bind(closed_at)
    .bind(stamp(now))
    .bind(state_changed)
    .bind(stamp(now))
    .bind(&f.coordinator)
    .bind(stamp(now))
    .bind(matches!(state, State::Accepted | State::Patching | State::Released | State::Disclosed | State::Invalid | State::Duplicate))
    .bind(stamp(now))
    .bind(matches!(state, State::New | State::Triage | State::Assessing | State::NeedsInfo))
    .bind(&f.id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The report's Message-ID and References, so mail to the reporter threads under it.
async fn thread_root(tx: &mut crate::store::WriteTx, case_id: &str) -> Result<(Option<String>, Vec<String>)> {
    let r: Option<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT message_id, refs FROM messages WHERE case_id = ? AND kind = 'report' ORDER BY id LIMIT 1",
    )
    .bind(case_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((mid, refs)) = r else {
        return Ok((None, vec![]));
    };
    let mut refs: Vec<String> = refs.unwrap_or_default().split_whitespace().map(String::from).collect();
    refs.extend(mid.clone());
    Ok((mid, refs))
}

/// Renders a template's context; when an override fails on this data the built-in template
/// is used and the case gets a `template-fallback` event (the transaction goes on).
pub async fn render_mail<C: TemplateContext>(
    tx: &mut crate::store::WriteTx,
    app: &App,
    case_id: Option<&str>,
    ctx: &C,
    now: DateTime<Utc>,
) -> Result<Rendered> {
    let r = app
        .templates
        .render_ctx(ctx)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    if let Some(why) = &r.fallback {
        tracing::warn!(template = C::TEMPLATE, error = %why, "template override failed; used the built-in one");
        event(
            tx,
            case_id,
            now,
            "secintake",
            "template-fallback",
            json!({"template": C::TEMPLATE, "error": why}),
            None,
        )
        .await?;
    }
    Ok(r)
}

fn tag_of(id: &str) -> String {
    CaseId::parse(id).map(|c| c.tag()).unwrap_or_default()
}

/// The common part of every mail to the case's reporter.
pub fn reporter_base(app: &App, case: &CaseRow) -> ReporterBase {
    ReporterBase {
        case_id: case.id.clone(),
        subject: case.subject.clone(),
        reporter_name: case.reporter_name.clone(),
        team_name: app.team_name(),
    }
}

/// Queues a mail to the case's reporter, threaded under the report. `automatic` mail (sent
/// without a person deciding it) counts against `policy.auto_reply_daily_cap`; `None` when
/// there is no reporter address or the cap suppressed it.
#[allow(clippy::too_many_arguments)]
pub async fn mail_reporter<T: ReporterMail>(
    tx: &mut crate::store::WriteTx,
    app: &App,
    case: &CaseRow,
    mail: T,
    kind: &'static str,
    automatic: bool,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    let Ok(to) = Address::parse(&case.reporter) else {
        return Ok(None);
    };
    let ctx = ToReporter {
        base: reporter_base(app, case),
        mail,
    };
    let r = render_mail(tx, app, Some(&case.id), &ctx, now).await?;
    let (irt, refs) = thread_root(tx, &case.id).await?;
    let q = enqueue(
        tx,
        app,
        &Draft {
            case_id: Some(case.id.clone()),
            kind,
            to: vec![to.clone()],
            subject: tagged_subject(&tag_of(&case.id), &r.subject),
            body: r.body,
            in_reply_to: irt,
            references: refs,
            auto_submitted: "auto-generated",
            automatic,
            to_reporter: true,
        },
        now,
    )
    .await?;
    Ok(match q {
        Queued::Row { .. } => Some(format!("{kind} to {to}")),
        Queued::Capped => None,
    })
}

/// The name the advisory credits: `/credit NAME`, else the reporter's display name; never
/// the address, and nobody when the reporter chose `/anonymous`.
pub fn effective_credit(case: &CaseRow) -> Option<String> {
    if case.anonymous {
        return None;
    }
    case.credit
        .clone()
        .or_else(|| case.reporter_name.clone())
        .filter(|n| !n.trim().is_empty() && !n.contains('@'))
}

/// Applies commands to a case in the caller's transaction: everything or nothing, with an
/// event per change and the mails the changes cause. Parse errors count as errors.
#[allow(clippy::too_many_arguments)]
pub async fn apply_commands(
    tx: &mut crate::store::WriteTx,
    app: &App,
    case_id: &str,
    actor: &Actor,
    cmds: &[Command],
    parse_errors: &[CommandError],
    message: Option<i64>,
    now: DateTime<Utc>,
) -> Result<CommandOutcome> {
    let case = load_case(tx, case_id).await?;
    let np = no_patch(tx, case_id).await?;
    let file = case_file(&case, np);
    // Which cases do /duplicate commands name?
    let mut existing = Vec::new();
    for c in cmds {
        if let Command::Duplicate(of) = c {
            let r: Option<(String,)> = sqlx::query_as("SELECT id FROM cases WHERE id = ?")
                .bind(of.to_string())
                .fetch_optional(&mut **tx)
                .await?;
            existing.extend(r.map(|x| x.0));
        }
    }
    let coordinators = &app.settings.team;
    let world = lifecycle::World {
        is_coordinator: &|a: &str| coordinators.is_coordinator(a),
        case_exists: &|id: &str| existing.iter().any(|e| e == id),
        now,
    };
    let mut errors: Vec<String> = parse_errors.iter().map(|e| e.to_string()).collect();
    let applied = if errors.is_empty() {
        match lifecycle::apply(&file, cmds, actor, &world) {
            Ok(a) => Some(a),
            Err(e) => {
                errors = e;
                None
            }
        }
    } else {
        None
    };
    let Some(a) = applied else {
        event(
            tx,
            Some(case_id),
            now,
            &actor.id,
            "commands-rejected",
            json!({"errors": errors}),
            message,
        )
        .await?;
        return Ok(CommandOutcome {
            applied: false,
            errors,
            state: case.state.clone(),
            ..Default::default()
        });
    };
    write_file(tx, &case, &a.file, now).await?;
    for c in &a.changes {
        event(tx, Some(case_id), now, &actor.id, c.kind, c.detail.clone(), message).await?;
    }
    // A duplicate link is recorded on both cases: the original's timeline shows it too.
    if a.file.duplicate_of != case.duplicate_of {
        if let Some(old) = &case.duplicate_of {
            let detail = json!({"duplicate": case_id});
            event(tx, Some(old), now, &actor.id, "duplicate-unlinked", detail, message).await?;
        }
        if let Some(original) = &a.file.duplicate_of {
            let detail = json!({"duplicate": case_id});
            event(tx, Some(original), now, &actor.id, "duplicate-linked", detail, message).await?;
        }
    }
    if a.file.acknowledged_at.is_some() && case.acknowledged_at.is_none() {
        sqlx::query("UPDATE cases SET last_reporter_mail_at = COALESCE(last_reporter_mail_at, ?) WHERE id = ?")
            .bind(stamp(now))
            .bind(case_id)
            .execute(&mut **tx)
            .await?;
    }
    let (from_state, to_state) = (State::parse(&case.state), a.file.state());
    if crate::policy::gives_detailed_response(
        a.file.acknowledged_at.is_some(),
        case.detailed_response_at.is_some(),
        from_state,
        to_state,
    ) {
        // A `/needs-info` or a verdict after the acknowledgement is the detailed response,
        // and stays so when the case later goes back to assessing.
        sqlx::query("UPDATE cases SET detailed_response_at = COALESCE(detailed_response_at, ?) WHERE id = ?")
            .bind(stamp(now))
            .bind(case_id)
            .execute(&mut **tx)
            .await?;
        event(
            tx,
            Some(case_id),
            now,
            &actor.id,
            "detailed-response",
            json!({"by": to_state.as_str()}),
            message,
        )
        .await?;
    }
    let updated = load_case(tx, case_id).await?;
    let mut mails = Vec::new();
    let progress_on = &app.settings.policy.progress_updates;
    let wants = |name: &str| progress_on.iter().any(|p| p == name);
    let progress = |update: &str| ctx::ProgressUpdate {
        update: update.to_string(),
        state: updated.state.clone(),
        severity: updated.severity.clone(),
        cvss_score: updated.cvss_score,
        patched_versions: updated.patched_versions.clone(),
        release_date: updated.embargo_date.clone(),
    };
    for e in &a.effects {
        let sent = match e {
            Effect::Dismissal { reason } => {
                let m = ctx::Dismissal { reason: reason.clone() };
                mail_reporter(tx, app, &updated, m, "dismissal", false, now).await?
            }
            Effect::DuplicateNotice { of } => {
                let m = ctx::DuplicateNotice { of: of.clone() };
                mail_reporter(tx, app, &updated, m, "duplicate-notice", false, now).await?
            }
            Effect::ClosingNotice if !wants("disclosed") => None,
            Effect::ClosingNotice => {
                let m = ctx::ClosingNotice {
                    cve: updated.cve.clone(),
                    ghsa: updated.ghsa.clone(),
                    patched_versions: updated.patched_versions.clone(),
                    severity: updated.severity.clone(),
                    cvss_score: updated.cvss_score,
                    credit: effective_credit(&updated),
                    anonymous: updated.anonymous,
                };
                mail_reporter(tx, app, &updated, m, "closing-notice", false, now).await?
            }
            Effect::Progress { state } if wants(state.as_str()) => {
                let mut m = progress(state.as_str());
                m.state = state.as_str().to_string();
                mail_reporter(tx, app, &updated, m, "progress", false, now).await?
            }
            Effect::Progress { .. } => None,
        };
        mails.extend(sent);
    }
    // A release date set (`/embargo DATE`) on an accepted or patched case: "release planned".
    let planned = updated.embargo_date.is_some() && updated.embargo_date != case.embargo_date;
    if planned && !a.quiet && wants("release-planned") && matches!(to_state, State::Accepted | State::Patching) {
        let m = progress("release-planned");
        mails.extend(mail_reporter(tx, app, &updated, m, "progress", false, now).await?);
    }
    Ok(CommandOutcome {
        applied: true,
        changes: a.changes.iter().map(|c| c.line.clone()).collect(),
        errors: vec![],
        mails,
        state: updated.state.clone(),
    })
}

/// The sender's own text in `m`, where commands are read: quotes and signature removed. An
/// HTML-only mail is read again from its stored bytes with quotes kept apart (`<blockquote>`
/// as `> `): the intake text flattens HTML, so quoted commands would read as the sender's.
async fn own_text_of(tx: &mut crate::store::WriteTx, m: &Incoming, message: i64) -> Result<String> {
    if m.html_only {
        let raw: Option<(Vec<u8>,)> = sqlx::query_as("SELECT raw FROM message_raw WHERE id = ?")
            .bind(message)
            .fetch_optional(&mut **tx)
            .await?;
        if let Some(text) = raw.and_then(|(raw,)| command::html_message_text(&raw)) {
            return Ok(quoting::own_text(&text));
        }
    }
    Ok(quoting::own_text(&m.text))
}

/// Commands in a coordinator's message: authenticated ones apply (with a confirmation to
/// the sender); unauthenticated ones change nothing and the team is told.
#[allow(clippy::too_many_arguments)]
pub async fn run_from_mail(
    tx: &mut crate::store::WriteTx,
    app: &App,
    case: &CaseRow,
    from: &str,
    verdict: &Verdict,
    m: &Incoming,
    message: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let own = own_text_of(tx, m, message).await?;
    let lines = command::command_lines(&own);
    if lines.is_empty() {
        return Ok(());
    }
    if !verdict.is_authenticated() {
        return refuse(tx, app, case, from, verdict.reason(), &lines, message, now).await;
    }
    let (cmds, errs) = std::panic::catch_unwind(|| command::parse_all(&own)).unwrap_or_else(|_| {
        let line = lines.first().cloned().unwrap_or_default();
        (
            vec![],
            vec![CommandError {
                line,
                problem: "could not be read (a bug in secintake; please report it)".into(),
            }],
        )
    });
    let actor = Actor {
        id: from.to_string(),
        me: Some(from.to_string()),
    };
    let outcome = apply_commands(tx, app, &case.id, &actor, &cmds, &errs, Some(message), now).await?;
    // The confirmation goes to the coordinator only, never to the reporter.
    let Ok(to) = Address::parse(from) else { return Ok(()) };
    let updated = load_case(tx, &case.id).await?;
    let c = ctx::Confirmation {
        applied: outcome.applied,
        case_id: case.id.clone(),
        subject: case.subject.clone(),
        changes: outcome.changes.clone(),
        errors: outcome.errors.clone(),
        mails: outcome.mails.clone(),
        state: updated.state.clone(),
        coordinator: updated.coordinator.clone(),
        usage: command::USAGE.iter().map(|(_, u)| u.to_string()).collect(),
    };
    let r = render_mail(tx, app, Some(&case.id), &c, now).await?;
    let mut refs = m.references.clone();
    refs.extend(m.message_id.clone());
    enqueue(
        tx,
        app,
        &Draft {
            case_id: Some(case.id.clone()),
            kind: "confirmation",
            to: vec![to],
            subject: tagged_subject(&tag_of(&case.id), &r.subject),
            body: r.body,
            in_reply_to: m.message_id.clone(),
            references: refs,
            auto_submitted: "auto-replied",
            automatic: false,
            to_reporter: false,
        },
        now,
    )
    .await?;
    Ok(())
}

/// Refused commands: an event, and the team is told who tried what and why.
#[allow(clippy::too_many_arguments)]
async fn refuse(
    tx: &mut crate::store::WriteTx,
    app: &App,
    case: &CaseRow,
    from: &str,
    reason: &str,
    lines: &[String],
    message: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    tracing::warn!(case = %case.id, sender = %from, reason, "commands refused");
    event(
        tx,
        Some(&case.id),
        now,
        from,
        "commands-refused",
        json!({"reason": reason, "commands": lines}),
        Some(message),
    )
    .await?;
    let c = ctx::CommandRefused {
        case_id: case.id.clone(),
        subject: case.subject.clone(),
        sender: from.to_string(),
        reason: reason.to_string(),
        commands: lines.to_vec(),
    };
    let r = render_mail(tx, app, Some(&case.id), &c, now).await?;
    enqueue(
        tx,
        app,
        &Draft::internal(
            Some(case.id.clone()),
            "refused-notice",
            vec![app.notify.clone()],
            tagged_subject(&tag_of(&case.id), &r.subject),
            r.body,
        ),
        now,
    )
    .await?;
    Ok(())
}

/// What a reporter or someone else writes in a thread: a reporter's answer ends
/// `needs-info`; a reporter may choose `/anonymous` or `/credit NAME`; anything else that
/// looks like a command is only text (and from a third party, the team is told).
#[allow(clippy::too_many_arguments)]
pub async fn reporter_words(
    tx: &mut crate::store::WriteTx,
    app: &App,
    case: &CaseRow,
    sender: Sender,
    m: &Incoming,
    _facts: &Facts,
    message: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let from = m
        .from
        .as_ref()
        .map(|f| f.address.to_string())
        .unwrap_or_else(|| "unknown".into());
    let own = own_text_of(tx, m, message).await?;
    let lines = command::command_lines(&own);
    if sender == Sender::Other {
        if !lines.is_empty() {
            refuse(
                tx,
                app,
                case,
                &from,
                "the sender is not a configured coordinator",
                &lines,
                message,
                now,
            )
            .await?;
        }
        return Ok(());
    }
    // The reporter's own choices about credit.
    let prefs: Vec<Command> = lines
        .iter()
        .filter_map(|l| command::parse_line(l).ok())
        .filter(|c| matches!(c, Command::Anonymous | Command::Credit(_)))
        .collect();
    if !prefs.is_empty() {
        let actor = Actor {
            id: from.clone(),
            me: None,
        };
        apply_commands(tx, app, &case.id, &actor, &prefs, &[], Some(message), now).await?;
    }
    if case.state == State::NeedsInfo.as_str() {
        // The reporter answered: back to assessing, through the same state machine.
        let actor = Actor {
            id: from.clone(),
            me: None,
        };
        apply_commands(tx, app, &case.id, &actor, &[Command::Assess], &[], Some(message), now).await?;
    }
    Ok(())
}

impl super::Store {
    /// The CLI's way to change a case: the same parser and code path as mail commands.
    pub async fn run_commands(
        &self,
        app: &App,
        case_id: &str,
        actor: &Actor,
        lines: &[String],
    ) -> Result<CommandOutcome> {
        let text = lines.join("\n");
        let (cmds, mut errs) = command::parse_all(&text);
        if cmds.is_empty() && errs.is_empty() {
            errs.push(CommandError {
                line: text.chars().take(80).collect(),
                problem: "no command (commands start with /)".into(),
            });
        }
        let mut tx = self.write().await?;
        load_case(&mut tx, case_id).await?;
        let out = apply_commands(&mut tx, app, case_id, actor, &cmds, &errs, None, app.clock.now()).await?;
        tx.commit().await?;
        Ok(out)
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::case::lifecycle::gen;
    use crate::clock::{Clock, FixedClock};
    use crate::store::Store;
    use proptest::prelude::*;
    use std::sync::Arc;

    use crate::config::TEST_MINIMAL as CONFIG;

    struct Fixture {
        _dir: tempfile::TempDir,
        app: App,
        clock: FixedClock,
        store: Store,
    }

    async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("secintake.toml");
        std::fs::write(&cfg, CONFIG).unwrap();
        let settings = crate::config::Settings::load(&cfg).unwrap();
        let start = DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = FixedClock::new(start);
        let app = App::with_clock(settings, Arc::new(clock.clone())).unwrap();
        let store = Store::open(&dir.path().join("t.db")).await.unwrap();
        for seq in [1, 2] {
            sqlx::query(
                "INSERT INTO cases (id, year, seq, state, reporter, subject, opened_at, updated_at, state_since)
                 VALUES (?, 2026, ?, 'new', 'jane@example.com', 'ReDoS', ?, ?, ?)",
            )
            .bind(format!("SEC-2026-{seq:04}"))
            .bind(seq)
            .bind(stamp(start))
            .bind(stamp(start))
            .bind(stamp(start))
            .execute(&store.pool)
            .await
            .unwrap();
        }
        Fixture {
            _dir: dir,
            app,
            clock,
            store,
        }
    }

    async fn count(store: &Store, sql: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(&store.pool)
            .await
            .unwrap();
        n
    }

    async fn no_patch_of(store: &Store, id: &str) -> bool {
        let (n,): (bool,) = sqlx::query_as("SELECT no_patch FROM cases WHERE id = ?")
            .bind(id)
            .fetch_one(&store.pool)
            .await
            .unwrap();
        n
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Through the real store: a refused message leaves the case row exactly as it was
        /// (every column, `updated_at` included, though the clock moved), queues no mail and
        /// records only the rejection; an applied one writes what the pure core computed.
        #[test]
        fn the_store_applies_a_message_whole_or_not_at_all(msgs in gen::sequence(1..12)) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let fx = fixture().await;
                let id = "SEC-2026-0001";
                let actor = Actor { id: "alice@example.org".into(), me: Some("alice@example.org".into()) };
                for lines in &msgs {
                    fx.clock.advance(chrono::Duration::minutes(1));
                    let before = fx.store.case_row(id).await.unwrap();
                    let before_np = no_patch_of(&fx.store, id).await;
                    let other_before = fx.store.case_row("SEC-2026-0002").await.unwrap();
                    let outbox = count(&fx.store, "SELECT COUNT(*) FROM outbox").await;
                    let events = count(&fx.store, "SELECT COUNT(*) FROM events").await;
                    let out = fx.store.run_commands(&fx.app, id, &actor, lines).await.unwrap();
                    let after = fx.store.case_row(id).await.unwrap();
                    if out.applied {
                        prop_assert!(out.errors.is_empty());
                        // What the pure core says this message does, from the same case.
                        let (cmds, errs) = command::parse_all(&lines.join("\n"));
                        prop_assert!(errs.is_empty());
                        let coordinators = &fx.app.settings.team;
                        let world = lifecycle::World {
                            is_coordinator: &|a: &str| coordinators.is_coordinator(a),
                            case_exists: &|c: &str| c == "SEC-2026-0002",
                            now: fx.clock.now(),
                        };
                        let pure = lifecycle::apply(&case_file(&before, before_np), &cmds, &actor, &world)
                            .expect("the store applied it");
                        let stored = case_file(&after, no_patch_of(&fx.store, id).await);
                        prop_assert_eq!(&stored, &pure.file, "{:?}", lines);
                        prop_assert_eq!(after.state.as_str(), out.state.as_str());
                    } else {
                        prop_assert!(!out.errors.is_empty());
                        prop_assert_eq!(&after, &before, "{:?} changed the case", lines);
                        prop_assert_eq!(no_patch_of(&fx.store, id).await, before_np);
                        prop_assert_eq!(count(&fx.store, "SELECT COUNT(*) FROM outbox").await, outbox, "mail queued");
                        prop_assert_eq!(count(&fx.store, "SELECT COUNT(*) FROM events").await, events + 1);
                        let (last,): (String,) = sqlx::query_as("SELECT kind FROM events ORDER BY id DESC LIMIT 1")
                            .fetch_one(&fx.store.pool)
                            .await
                            .unwrap();
                        prop_assert_eq!(last.as_str(), "commands-rejected");
                    }
                    // The other case never changes (a /duplicate only links to it).
                    let other_after = fx.store.case_row("SEC-2026-0002").await.unwrap();
                    prop_assert_eq!(other_after.state, other_before.state);
                }
                Ok(())
            })?;
        }
    }
}

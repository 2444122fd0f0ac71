//! Everything the decisions need, loaded once at start: settings, compiled analysis,
//! templates, the clock, and the identities we send as; and the step that renders a plan's
//! mails and saves the plan.

use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use crate::address::{Address, Mailbox};
use crate::analysis::Analyzer;
use crate::case::command::{self, CommandError};
use crate::case::lifecycle::Actor;
use crate::case::plan::{self, CommandOutcome, MailIntent, Plan, Rules};
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::outbox::compose::Identity;
use crate::outbox::render::render;
use crate::outbox::{MailError, Templates};
use crate::policy::Policy;
use crate::store::intake::{save_plan, NewMessage, Outgoing, Sending};
use crate::store::outbox::{enqueue, event, Queued};
use crate::store::{cases, Store, StoreError, WriteTx};

pub struct App {
    pub settings: Settings,
    pub analyzer: Analyzer,
    pub templates: Templates,
    /// `[policy]` with the business calendar compiled.
    pub policy: Policy,
    pub clock: Arc<dyn Clock>,
    /// `smtp.from`
    pub from: Mailbox,
    /// `team.list_address`: replies go here; our `X-Loop` id is `secintake@` its domain.
    pub list_address: Address,
    /// `team.notify`
    pub notify: Address,
    /// Domain of our Message-IDs.
    pub id_domain: String,
    /// Who our mail is from, where replies go, our loop id and Message-ID domain.
    pub identity: Identity,
    /// `[pgp]`: the list key and the keyring, loaded and checked at start (None: no OpenPGP).
    pub pgp: Option<Arc<crate::pgp::Pgp>>,
}

impl App {
    pub fn new(settings: Settings) -> anyhow::Result<App> {
        Self::with_clock(settings, Arc::new(SystemClock))
    }

    pub fn with_clock(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<App> {
        let analyzer = settings
            .analysis
            .compile_for(&settings.team.project_repos, settings.team.list_address.as_str())
            .map_err(|(k, e)| anyhow::anyhow!("config key `analysis.{k}`: {e}"))?;
        let templates = Templates::load(settings.templates.dir.as_deref()).context("templates")?;
        // A broken template is caught at start, never at send time.
        templates.check(&crate::outbox::samples::all()).context("templates")?;
        let policy = settings
            .policy
            .compile()
            .map_err(|(k, e)| anyhow::anyhow!("config key `policy.calendar.{k}`: {e}"))?;
        let from = settings.smtp.from.clone();
        let list_address = settings.team.list_address.clone();
        let notify = settings.team.notify.clone();
        let id_domain = settings.message_id_domain();
        let pgp = match &settings.pgp {
            Some(p) => {
                let credentials = std::env::var_os("CREDENTIALS_DIRECTORY").map(std::path::PathBuf::from);
                let loaded = p
                    .load(
                        settings.config_dir.as_deref().unwrap_or(std::path::Path::new(".")),
                        credentials.as_deref(),
                        clock.now(),
                    )
                    .context("config [pgp]")?;
                for problem in &loaded.keyring.problems {
                    tracing::warn!(%problem, "pgp.keyring_dir: a key was not loaded");
                }
                Some(Arc::new(loaded))
            }
            None => None,
        };
        let identity = Identity {
            from: from.clone(),
            reply_to: list_address.clone(),
            // Our own loop id, not the list address (a list manager may stamp that on relayed mail).
            loop_id: crate::analysis::loops::loop_id(list_address.as_str()),
            id_domain: id_domain.clone(),
        };
        Ok(App {
            settings,
            analyzer,
            templates,
            policy,
            clock,
            from,
            list_address,
            notify,
            id_domain,
            identity,
            pgp,
        })
    }

    pub fn team_name(&self) -> String {
        self.from.name.clone().unwrap_or_else(|| "Security Team".into())
    }

    pub fn is_coordinator(&self, a: &Address) -> bool {
        self.settings.team.is_coordinator(a.as_str())
    }

    /// The planner's rules at `now`; `existing` are the cases `/duplicate` may name.
    pub fn rules<'a>(&'a self, now: DateTime<Utc>, existing: &'a [String]) -> Rules<'a> {
        let p = &self.settings.policy;
        Rules {
            now,
            team_name: self.from.name.as_deref().unwrap_or("Security Team"),
            notify: &self.notify,
            assign_within: p.assign_within,
            acknowledge_within: p.acknowledge_within,
            detailed_response_within: p.detailed_response_within,
            progress_updates: &p.progress_updates,
            coordinators: &self.settings.team.coordinators,
            existing,
            tz: &self.policy.tz,
        }
    }

    /// How our mail is sent: as whom, and the daily cap on automatic mail per address.
    pub fn sending(&self) -> Sending<'_> {
        Sending {
            identity: &self.identity,
            daily_cap: self.settings.policy.auto_reply_daily_cap,
            channels: &self.settings.resolved_channels,
        }
    }

    /// Renders a plan's mails (a failing override falls back to the built-in template).
    pub fn render(&self, plan: &Plan) -> Result<Vec<Outgoing>, MailError> {
        plan.mails
            .iter()
            .map(|m| {
                Ok(Outgoing {
                    mail: render(&self.templates, m)?,
                    when_queued: m.when_queued.clone(),
                })
            })
            .collect()
    }

    /// Renders a plan's mails and saves the plan (and `message`) in `tx`.
    pub async fn save_plan(
        &self,
        tx: &mut WriteTx,
        plan: &Plan,
        message: Option<&NewMessage<'_>>,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        let mails = self.render(plan)?;
        save_plan(tx, plan, message, &mails, self.sending(), now).await
    }

    /// Renders one planned mail and queues it in `tx` (a suppressed one is `Capped`).
    pub async fn queue(&self, tx: &mut WriteTx, intent: &MailIntent, now: DateTime<Utc>) -> Result<Queued, StoreError> {
        let r = render(&self.templates, intent).map_err(MailError::from)?;
        if let Some(why) = &r.fallback {
            tracing::warn!(kind = %intent.kind, error = %why, "template override failed; used the built-in one");
            let detail = serde_json::json!({"template": intent.kind.as_str(), "error": why});
            event(
                tx,
                r.draft.case_id.as_deref(),
                now,
                "secintake",
                crate::case::event::EventKind::TemplateFallback,
                detail,
                None,
            )
            .await?;
        }
        enqueue(
            tx,
            &self.identity,
            self.settings.policy.auto_reply_daily_cap,
            &r.draft,
            now,
        )
        .await
    }

    /// The CLI's way to change a case: the same parser and planner as mail commands.
    pub async fn run_commands(
        &self,
        store: &Store,
        case_id: &str,
        actor: &Actor,
        lines: &[String],
    ) -> Result<CommandOutcome, StoreError> {
        let text = lines.join("\n");
        let (cmds, mut errs) = command::parse_all(&text);
        if cmds.is_empty() && errs.is_empty() {
            errs.push(CommandError {
                line: text.chars().take(80).collect(),
                problem: "no command (commands start with /)".into(),
            });
        }
        let now = self.clock.now();
        let mut tx = store.write().await?;
        let case = cases::load(&mut tx, case_id).await?;
        let targets: Vec<String> = cmds
            .iter()
            .filter_map(|c| match c {
                command::Command::Duplicate(of) => Some(of.to_string()),
                _ => None,
            })
            .collect();
        let existing = cases::existing(&mut tx, &targets).await?;
        let (plan, outcome) = plan::on_commands(&case, actor, &cmds, &errs, false, &self.rules(now, &existing));
        self.save_plan(&mut tx, &plan, None, now).await?;
        tx.commit().await?;
        Ok(outcome)
    }
}

/// The planner through the real store: commands from the CLI path.
#[cfg(test)]
mod properties {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::case::lifecycle::{self, gen};
    use crate::clock::{stamp, FixedClock};
    use crate::store::Store;
    use proptest::prelude::*;

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

    /// The case as the planner reads it.
    async fn typed(store: &Store, id: &str) -> plan::Case {
        let mut tx = store.write().await.unwrap();
        let c = cases::load(&mut tx, id).await.unwrap();
        tx.rollback().await.unwrap();
        c
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
                    let before_typed = typed(&fx.store, id).await;
                    let other_before = fx.store.case_row("SEC-2026-0002").await.unwrap();
                    let outbox = count(&fx.store, "SELECT COUNT(*) FROM outbox").await;
                    let events = count(&fx.store, "SELECT COUNT(*) FROM events").await;
                    let out = fx.app.run_commands(&fx.store, id, &actor, lines).await.unwrap();
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
                        let pure = lifecycle::apply(&before_typed.file, &cmds, &actor, &world)
                            .expect("the store applied it");
                        let stored = typed(&fx.store, id).await;
                        prop_assert_eq!(&stored.file, &pure.file, "{:?}", lines);
                        prop_assert_eq!(after.state.as_str(), out.state.as_str());
                    } else {
                        prop_assert!(!out.errors.is_empty());
                        prop_assert_eq!(&after, &before, "{:?} changed the case", lines);
                        prop_assert_eq!(&typed(&fx.store, id).await, &before_typed);
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

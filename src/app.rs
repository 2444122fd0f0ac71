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
            pgp: pgp.clone(),
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
            list_key: self.pgp.as_ref().map(|p| p.list_key.fingerprint()),
            default_package: self.settings.advisory.default_package.as_deref(),
        }
    }

    /// How our mail is sent: as whom, and the daily cap on automatic mail per address.
    pub fn sending(&self) -> Sending<'_> {
        Sending {
            identity: &self.identity,
            daily_cap: self.settings.policy.auto_reply_daily_cap,
            channels: &self.settings.resolved_channels,
            confidential: false,
        }
    }

    /// Renders a plan's mails (a failing override falls back to the built-in template),
    /// unprotected: for previews and tests. What is queued goes through [`App::save_plan`].
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

    /// A key for each of `to`: the keyring's, else the newest learned one; `None` when a
    /// recipient has none.
    fn keys_for(
        &self,
        tx: &WriteTx,
        to: &[Address],
        offered: &[(crate::pgp::PublicKey, crate::pgp::KeySource)],
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<crate::pgp::PublicKey>>, StoreError> {
        let Some(p) = &self.pgp else { return Ok(None) };
        let mut out = Vec::new();
        for a in to {
            let fresh = offered.iter().map(|(k, _)| k);
            let key = match p.keyring.keys.iter().chain(fresh).find(|k| k.has_address(a.as_str())) {
                Some(k) => Some(k.clone()),
                None => crate::store::keys::for_address(tx, a.as_str(), now)?
                    .into_iter()
                    .find(|k| k.encryption_subkey(now).is_some()),
            };
            match key {
                Some(k) => out.push(k),
                None => return Ok(None),
            }
        }
        Ok(Some(out))
    }

    /// Renders `intent` the way it may leave: sealed to its recipients' keys, redacted (the
    /// case's report arrived encrypted and it cannot be sealed), or as is. `offered`: keys
    /// the message being handled brought (not stored yet).
    pub fn protected(
        &self,
        tx: &mut WriteTx,
        intent: &MailIntent,
        confidential: bool,
        offered: &[(crate::pgp::PublicKey, crate::pgp::KeySource)],
        now: DateTime<Utc>,
    ) -> Result<crate::outbox::render::Rendered, StoreError> {
        use crate::outbox::protect::{self, Protection};
        let encrypt_replies = self.pgp.as_ref().is_some_and(|p| p.encrypt_replies);
        let keys = if encrypt_replies {
            self.keys_for(tx, &intent.to, offered, now)?
        } else {
            None
        };
        let r = match protect::decide(confidential, intent.to_reporter, encrypt_replies, keys) {
            Protection::Clear => render(&self.templates, intent),
            Protection::Seal(keys) => render(&self.templates, intent).map(|mut r| {
                r.draft.seal_to = keys;
                r
            }),
            Protection::Redact => {
                let mut i = intent.clone();
                i.context = protect::redact(&i.context);
                render(&self.templates, &i)
            }
        };
        Ok(r.map_err(MailError::from)?)
    }

    /// Whether mail about `case` must keep the report's text out of clear mail.
    fn confidential(&self, tx: &WriteTx, case: Option<&str>) -> Result<bool, StoreError> {
        match (case, &self.pgp) {
            (Some(id), Some(_)) => crate::store::keys::case_encrypted(tx, id),
            _ => Ok(false),
        }
    }

    /// Renders a plan's mails, protected, and saves the plan (and `message`) in `tx`.
    pub fn save_plan(
        &self,
        tx: &mut WriteTx,
        plan: &Plan,
        message: Option<&NewMessage<'_>>,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        // This message, or the report that opens the case, arrived encrypted.
        let encrypted_now = message.is_some_and(|m| m.encryption != "none")
            || matches!(&plan.case, Some(plan::CaseWrite::Open(_, o)) if o.encryption != crate::pgp::Encryption::None);
        let offered = message.map(|m| m.learned).unwrap_or(&[]);
        let mut mails = Vec::with_capacity(plan.mails.len());
        for m in &plan.mails {
            let confidential =
                encrypted_now || self.confidential(tx, m.case.as_ref().map(|c| c.to_string()).as_deref())?;
            mails.push(Outgoing {
                mail: self.protected(tx, m, confidential, offered, now)?,
                when_queued: m.when_queued.clone(),
            });
        }
        let case_confidential =
            encrypted_now || self.confidential(tx, plan.case().map(|c| c.id.to_string()).as_deref())?;
        let sending = Sending {
            confidential: case_confidential,
            ..self.sending()
        };
        save_plan(tx, plan, message, &mails, sending, self.settings.search.index, now)
    }

    /// Renders one planned mail and queues it in `tx` (a suppressed one is `Capped`).
    pub fn queue(&self, tx: &mut WriteTx, intent: &MailIntent, now: DateTime<Utc>) -> Result<Queued, StoreError> {
        let confidential = self.confidential(tx, intent.case.as_ref().map(|c| c.to_string()).as_deref())?;
        let r = self.protected(tx, intent, confidential, &[], now)?;
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
            );
        }
        enqueue(
            tx,
            &self.identity,
            self.settings.policy.auto_reply_daily_cap,
            &r.draft,
            now,
        )
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
        let case = cases::load(&tx, case_id)?;
        let targets: Vec<String> = cmds
            .iter()
            .filter_map(|c| match c {
                command::Command::Duplicate(of) => Some(of.to_string()),
                _ => None,
            })
            .collect();
        let existing = cases::existing(&tx, &targets)?;
        let (plan, outcome) = plan::on_commands(&case, actor, &cmds, &errs, false, &self.rules(now, &existing));
        self.save_plan(&mut tx, &plan, None, now)?;
        tx.commit().await?;
        Ok(outcome)
    }
}

/// What `case ID decrypt` did with one encrypted message.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Redecrypted {
    pub message: i64,
    pub kind: String,
    /// `decrypted` or `undecryptable`.
    pub result: String,
    /// Why not (no message text).
    pub reason: Option<String>,
    /// For the report: the new body check and missing items.
    pub body_check: Option<String>,
    pub missing: Vec<String>,
}

impl App {
    /// `case ID decrypt`: tries the case's encrypted messages again with the list key (after
    /// a key rotation, say); a report that opens now is analysed again.
    pub async fn decrypt_again(&self, store: &Store, case_id: &str) -> anyhow::Result<Vec<Redecrypted>> {
        use crate::case::event::EventKind;
        if self.pgp.is_none() {
            anyhow::bail!("no [pgp] section in the config: there is no list key to decrypt with");
        }
        store.case_row(case_id).await?;
        let now = self.clock.now();
        let known = store.learned_keys(now).await?;
        let mut out = Vec::new();
        for (id, kind) in store.encrypted_messages(case_id).await? {
            let raw = store.message_raw(id).await?;
            let opened = crate::intake::prepare::open(self, &raw, &known);
            let Some(mime) = opened.decrypted else {
                out.push(Redecrypted {
                    message: id,
                    kind,
                    result: "undecryptable".into(),
                    reason: opened.undecryptable,
                    body_check: None,
                    missing: vec![],
                });
                continue;
            };
            let (m, facts) = crate::intake::prepare::parse_and_analyze(self, &mime);
            let signature = opened.signature.map(|v| v.as_str());
            let mut tx = store.write().await?;
            if kind == "report" {
                let subject = crate::sanitize::header_text(&m.subject);
                let r = crate::store::keys::Reread {
                    case_id,
                    message_id: id,
                    mime: &mime,
                    subject: &subject,
                    facts: &facts,
                    signature,
                };
                crate::store::keys::save_reread(&tx, &r, now)?;
            } else {
                crate::store::keys::save_decrypted(&tx, id, &mime, now)?;
            }
            let missing: Vec<String> = facts.missing.iter().map(|x| x.as_str().to_string()).collect();
            let detail = serde_json::json!({"message": id, "body_check": facts.body_check, "missing": missing});
            event(
                &mut tx,
                Some(case_id),
                now,
                "secintake",
                EventKind::Decrypted,
                detail,
                Some(id),
            );
            tx.commit().await?;
            out.push(Redecrypted {
                message: id,
                kind: kind.clone(),
                result: "decrypted".into(),
                reason: None,
                body_check: (kind == "report").then(|| facts.body_check.as_str().to_string()),
                missing: if kind == "report" { missing } else { vec![] },
            });
        }
        Ok(out)
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
        let tx = store.write().await.unwrap();
        let c = cases::load(&tx, id).unwrap();
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
                            default_package: fx.app.settings.advisory.default_package.as_deref(),
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

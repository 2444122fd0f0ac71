//! Everything the decisions need, loaded once at start: settings, compiled analysis,
//! templates, the clock, and the identities we send as.

use std::sync::Arc;

use anyhow::Context as _;

use crate::address::{Address, Mailbox};
use crate::analysis::Analyzer;
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::outbox::Templates;
use crate::policy::Policy;

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
}

impl App {
    pub fn new(settings: Settings) -> anyhow::Result<App> {
        Self::with_clock(settings, Arc::new(SystemClock))
    }

    pub fn with_clock(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<App> {
        let analyzer = settings
            .analysis
            .compile_for(&settings.team.project_repos, &settings.team.list_address)
            .map_err(|(k, e)| anyhow::anyhow!("config key `analysis.{k}`: {e}"))?;
        let templates = Templates::load(settings.templates.dir.as_deref()).context("templates")?;
        // A broken template is caught at start, never at send time.
        templates.check().context("templates")?;
        let policy = Policy::from_settings(&settings.policy)
            .map_err(|(k, e)| anyhow::anyhow!("config key `policy.calendar.{k}`: {e}"))?;
        let from = Mailbox::parse(&settings.smtp.from).context("smtp.from")?;
        let list_address = Address::parse(&settings.team.list_address).context("team.list_address")?;
        let notify = Address::parse(&settings.team.notify).context("team.notify")?;
        let id_domain = settings.message_id_domain();
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
        })
    }

    pub fn team_name(&self) -> String {
        self.from.name.clone().unwrap_or_else(|| "Security Team".into())
    }

    pub fn is_coordinator(&self, a: &Address) -> bool {
        self.settings.team.is_coordinator(a.as_str())
    }
}

//! Typed settings: one TOML file, `SECINTAKE__SECTION__KEY` overrides, secrets from files.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::address::{Address, Mailbox};
use crate::analysis::AnalysisSettings;
use crate::case::mail::ProgressKind;
use crate::policy::calendar::CalendarSettings;

/// A configuration problem, always naming the key that is wrong.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config: {0}")]
    Load(String),
    #[error("config key `{key}`: {problem}")]
    Invalid { key: String, problem: String },
}

fn invalid(key: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        problem: problem.into(),
    }
}

/// A secret value; never printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

/// How a connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    Implicit,
    Starttls,
    None,
}

/// Which mail is history (stored and threaded, never answered): `imap.history_before`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryBefore {
    /// What reached the mailbox before the daemon first read it (the default).
    FirstStart,
    /// Nothing: answer everything.
    Nothing,
    /// What reached the mailbox before this time.
    At(chrono::DateTime<chrono::Utc>),
}

impl HistoryBefore {
    pub fn parse(s: &str) -> Result<HistoryBefore, String> {
        match s.trim() {
            "first-start" | "" => Ok(HistoryBefore::FirstStart),
            "none" => Ok(HistoryBefore::Nothing),
            t => chrono::DateTime::parse_from_rfc3339(t)
                .map(|d| HistoryBefore::At(d.with_timezone(&chrono::Utc)))
                .map_err(|_| format!("`{t}` is not first-start, none or an RFC 3339 time")),
        }
    }
}

fn de_history<'de, D: Deserializer<'de>>(d: D) -> Result<HistoryBefore, D::Error> {
    let s = String::deserialize(d)?;
    HistoryBefore::parse(&s).map_err(serde::de::Error::custom)
}

/// Parses `48h`, `10d`, `2s`, `1h 30m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim()).map_err(|e| format!("{e} (write durations like 48h, 10d, 90s)"))
}

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    parse_duration(&s).map_err(serde::de::Error::custom)
}

fn de_address<'de, D: Deserializer<'de>>(d: D) -> Result<Address, D::Error> {
    let s = String::deserialize(d)?;
    Address::parse(&s).map_err(serde::de::Error::custom)
}

fn de_addresses<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Address>, D::Error> {
    let v: Vec<String> = Vec::deserialize(d)?;
    v.iter()
        .map(|s| Address::parse(s).map_err(|e| serde::de::Error::custom(format!("`{s}`: {e}"))))
        .collect()
}

fn de_mailbox<'de, D: Deserializer<'de>>(d: D) -> Result<Mailbox, D::Error> {
    let s = String::deserialize(d)?;
    Mailbox::parse(&s).map_err(serde::de::Error::custom)
}

/// An `address:port`; empty = none.
fn de_listen<'de, D: Deserializer<'de>>(d: D) -> Result<Option<std::net::SocketAddr>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(l) => l
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("`{l}` is not an address:port"))),
    }
}

fn de_opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    match s {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => parse_duration(&s).map(Some).map_err(serde::de::Error::custom),
    }
}

/// `8`, `"8"`, or `"off"` / `"none"` / `""` / `-1` for no digest.
fn de_digest_hour<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Hour {
        N(i64),
        S(String),
    }
    let n = match Hour::deserialize(d)? {
        Hour::N(n) => n,
        Hour::S(s) => match s.trim().to_ascii_lowercase().as_str() {
            "off" | "none" | "" => return Ok(None),
            t => t
                .parse()
                .map_err(|_| serde::de::Error::custom(format!("`{s}` is not an hour 0-23 or \"off\"")))?,
        },
    };
    match n {
        -1 => Ok(None),
        0..=23 => Ok(Some(n as u32)),
        _ => Err(serde::de::Error::custom(format!(
            "{n} is not an hour 0-23 (or \"off\")"
        ))),
    }
}

fn de_size<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        N(u64),
        S(String),
    }
    match Size::deserialize(d)? {
        Size::N(n) => Ok(n),
        Size::S(s) => parse_size(&s).map_err(serde::de::Error::custom),
    }
}

/// Parses `64MB`, `512KB`, `1GB` or a plain number of bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim().to_ascii_uppercase();
    let (num, mult) = if let Some(n) = t.strip_suffix("GB") {
        (n, 1u64 << 30)
    } else if let Some(n) = t.strip_suffix("MB") {
        (n, 1 << 20)
    } else if let Some(n) = t.strip_suffix("KB") {
        (n, 1 << 10)
    } else if let Some(n) = t.strip_suffix('B') {
        (n, 1)
    } else {
        (t.as_str(), 1)
    };
    num.trim()
        .parse::<u64>()
        .map(|n| n * mult)
        .map_err(|_| format!("`{s}` is not a size (write sizes like 64MB, 512KB)"))
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapSettings {
    pub host: String,
    #[serde(default = "ImapSettings::default_port")]
    pub port: u16,
    #[serde(default = "ImapSettings::default_tls")]
    pub tls: TlsMode,
    pub username: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    password_file: Option<PathBuf>,
    #[serde(skip)]
    pub secret: Secret,
    #[serde(default = "ImapSettings::default_mailbox")]
    pub mailbox: String,
    #[serde(default = "default_true")]
    pub idle: bool,
    #[serde(default = "ImapSettings::default_poll", deserialize_with = "de_duration")]
    pub poll_interval: Duration,
    /// Re-issue IDLE this often (servers drop idle connections after 30 minutes).
    #[serde(default = "ImapSettings::default_idle_renew", deserialize_with = "de_duration")]
    pub idle_renew: Duration,
    /// Every network step must answer within this time.
    #[serde(default = "ImapSettings::default_timeout", deserialize_with = "de_duration")]
    pub timeout: Duration,
    /// Extra CA certificate (PEM) to trust, for a private mail server.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Longest wait between reconnection attempts (the backoff doubles from 1 s up to this).
    #[serde(default = "ImapSettings::default_reconnect_max", deserialize_with = "de_duration")]
    pub reconnect_max: Duration,
    /// Messages fetched and committed per transaction.
    #[serde(default = "ImapSettings::default_batch")]
    pub batch_size: usize,
    /// Larger messages are stored as their header and a note, not fetched whole.
    #[serde(default = "ImapSettings::default_max_size", deserialize_with = "de_size")]
    pub max_message_size: u64,
    /// Mail that reached the mailbox before this is history: `first-start`, `none` or a time.
    #[serde(default = "ImapSettings::default_history", deserialize_with = "de_history")]
    pub history_before: HistoryBefore,
}

impl ImapSettings {
    fn default_port() -> u16 {
        993
    }
    fn default_tls() -> TlsMode {
        TlsMode::Implicit
    }
    fn default_mailbox() -> String {
        "INBOX".into()
    }
    fn default_poll() -> Duration {
        Duration::from_secs(60)
    }
    fn default_idle_renew() -> Duration {
        Duration::from_secs(290)
    }
    fn default_timeout() -> Duration {
        Duration::from_secs(60)
    }
    fn default_reconnect_max() -> Duration {
        Duration::from_secs(8)
    }
    fn default_batch() -> usize {
        50
    }
    fn default_max_size() -> u64 {
        64 << 20
    }
    fn default_history() -> HistoryBefore {
        HistoryBefore::FirstStart
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    #[serde(default = "SmtpSettings::default_port")]
    pub port: u16,
    #[serde(default = "SmtpSettings::default_tls")]
    pub tls: TlsMode,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    password_file: Option<PathBuf>,
    #[serde(skip)]
    pub secret: Secret,
    #[serde(deserialize_with = "de_mailbox")]
    pub from: Mailbox,
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default = "SmtpSettings::default_timeout", deserialize_with = "de_duration")]
    pub timeout: Duration,
    /// First retry delay after a failed send; doubles up to `retry_max`.
    #[serde(default = "SmtpSettings::default_retry_initial", deserialize_with = "de_duration")]
    pub retry_initial: Duration,
    #[serde(default = "SmtpSettings::default_retry_max", deserialize_with = "de_duration")]
    pub retry_max: Duration,
}

impl SmtpSettings {
    fn default_port() -> u16 {
        587
    }
    fn default_tls() -> TlsMode {
        TlsMode::Starttls
    }
    fn default_timeout() -> Duration {
        Duration::from_secs(60)
    }
    fn default_retry_initial() -> Duration {
        Duration::from_secs(5)
    }
    fn default_retry_max() -> Duration {
        Duration::from_secs(3600)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamSettings {
    #[serde(deserialize_with = "de_address")]
    pub list_address: Address,
    #[serde(deserialize_with = "de_address")]
    pub notify: Address,
    #[serde(default, deserialize_with = "de_addresses")]
    pub coordinators: Vec<Address>,
    #[serde(default)]
    pub trusted_authserv_ids: Vec<String>,
    #[serde(default = "TeamSettings::default_repos")]
    pub project_repos: Vec<String>,
    /// Also verify coordinators' DKIM signatures directly (mail-auth, system DNS) when the
    /// trusted Authentication-Results header does not authenticate the message.
    #[serde(default)]
    pub verify_dkim: bool,
    /// Pinned DKIM keys for `verify_dkim`, `SELECTOR._domainkey.DOMAIN RECORD`: used instead
    /// of a DNS lookup for that name.
    #[serde(default)]
    pub dkim_keys: Vec<String>,
    /// ARC sealers (the `d=` of `ARC-Seal`) whose `ARC-Authentication-Results` are believed:
    /// the list servers coordinators' mail passes through. Empty: ARC is ignored.
    #[serde(default)]
    pub trusted_arc_sealers: Vec<String>,
}

impl TeamSettings {
    fn default_repos() -> Vec<String> {
        vec![
            "github.com/expressjs".into(),
            "github.com/pillarjs".into(),
            "github.com/jshttp".into(),
        ]
    }
    pub fn is_coordinator(&self, addr: &str) -> bool {
        self.coordinators
            .iter()
            .any(|c| c.as_str().eq_ignore_ascii_case(addr.trim()))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySettings {
    #[serde(default = "PolicySettings::default_prefix")]
    pub case_prefix: String,
    #[serde(default = "d24h", deserialize_with = "de_duration")]
    pub assign_within: Duration,
    #[serde(default = "d48h", deserialize_with = "de_duration")]
    pub acknowledge_within: Duration,
    #[serde(default = "d48h", deserialize_with = "de_duration")]
    pub detailed_response_within: Duration,
    #[serde(default = "d10d", deserialize_with = "de_duration")]
    pub invalid_notice_within: Duration,
    #[serde(default = "d14d", deserialize_with = "de_duration")]
    pub keep_informed_every: Duration,
    #[serde(default = "d7d", deserialize_with = "de_duration")]
    pub needs_info_nudge_after: Duration,
    #[serde(default = "d24h", deserialize_with = "de_duration")]
    pub reminder_repeat: Duration,
    /// How long before a deadline its first reminder goes out.
    #[serde(default = "d6h", deserialize_with = "de_duration")]
    pub remind_before: Duration,
    /// Embargo reminders, before the embargo date.
    #[serde(default = "PolicySettings::default_embargo", deserialize_with = "de_durations")]
    pub embargo_reminders: Vec<Duration>,
    #[serde(default = "d60s", deserialize_with = "de_duration")]
    pub sweep_interval: Duration,
    /// A premature disclosure's steps (privatized, removal requested, placeholder opened).
    #[serde(default = "d4h", deserialize_with = "de_duration")]
    pub premature_disclosure_within: Duration,
    /// An accepted case's "advisory created" and "CVE requested" steps.
    #[serde(default = "d7d", deserialize_with = "de_duration")]
    pub advisory_within: Duration,
    /// Automatic mails to one address per 24 hours, at most.
    #[serde(default = "PolicySettings::default_cap")]
    pub auto_reply_daily_cap: u32,
    /// Send the reporter a holding acknowledgement when the human one is late.
    #[serde(default = "default_true")]
    pub holding_acknowledgement: bool,
    /// Hour (0-23, in `policy.calendar.timezone`, else UTC) of the daily digest; `"off"`
    /// (or -1) = no digest; unset = 8.
    #[serde(default = "PolicySettings::default_digest_hour", deserialize_with = "de_digest_hour")]
    pub digest_hour: Option<u32>,
    /// Transitions that send the reporter a progress update.
    #[serde(default = "PolicySettings::default_progress")]
    pub progress_updates: Vec<ProgressKind>,
    /// After a coordinator reminder, if keep-informed lapses again, write to the reporter.
    #[serde(default = "default_true")]
    pub automatic_status_update: bool,
    #[serde(default)]
    pub calendar: CalendarSettings,
    /// Read nothing, ever: still accepted in old config files, with a warning at start.
    #[serde(default, rename = "startup_grace", deserialize_with = "de_opt_duration")]
    pub(crate) unused_startup_grace: Option<Duration>,
}

fn de_durations<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
    let v: Vec<String> = Vec::deserialize(d)?;
    v.iter()
        .map(|s| parse_duration(s).map_err(serde::de::Error::custom))
        .collect()
}

fn d4h() -> Duration {
    Duration::from_secs(4 * 3600)
}
fn d6h() -> Duration {
    Duration::from_secs(6 * 3600)
}
fn d24h() -> Duration {
    Duration::from_secs(24 * 3600)
}
fn d48h() -> Duration {
    Duration::from_secs(48 * 3600)
}
fn d7d() -> Duration {
    Duration::from_secs(7 * 86400)
}
fn d10d() -> Duration {
    Duration::from_secs(10 * 86400)
}
fn d14d() -> Duration {
    Duration::from_secs(14 * 86400)
}
fn d60s() -> Duration {
    Duration::from_secs(60)
}

impl PolicySettings {
    /// The policy the deadlines are computed with: durations, calendar and time zone.
    pub fn compile(&self) -> Result<crate::policy::Policy, (String, String)> {
        let d = |x: Duration| chrono::Duration::from_std(x).unwrap_or(chrono::Duration::days(3650));
        Ok(crate::policy::Policy {
            assign_within: d(self.assign_within),
            acknowledge_within: d(self.acknowledge_within),
            detailed_response_within: d(self.detailed_response_within),
            invalid_notice_within: d(self.invalid_notice_within),
            keep_informed_every: d(self.keep_informed_every),
            needs_info_nudge_after: d(self.needs_info_nudge_after),
            premature_disclosure_within: d(self.premature_disclosure_within),
            advisory_within: d(self.advisory_within),
            reminder_repeat: d(self.reminder_repeat),
            remind_before: d(self.remind_before),
            embargo_reminders: self.embargo_reminders.iter().map(|x| d(*x)).collect(),
            calendar: self.calendar.calendar()?,
            tz: match &self.calendar.timezone {
                None => chrono_tz::Tz::UTC,
                Some(t) => t
                    .parse()
                    .map_err(|_| ("timezone".to_string(), format!("`{t}` is not an IANA time zone")))?,
            },
        })
    }

    fn default_prefix() -> String {
        "SEC".into()
    }
    fn default_embargo() -> Vec<Duration> {
        vec![d7d(), Duration::from_secs(86400)]
    }
    fn default_cap() -> u32 {
        10
    }
    fn default_digest_hour() -> Option<u32> {
        Some(8)
    }
    fn default_progress() -> Vec<ProgressKind> {
        ProgressKind::ALL.to_vec()
    }
}

impl Default for PolicySettings {
    fn default() -> Self {
        toml_default()
    }
}

fn toml_default<T: serde::de::DeserializeOwned>() -> T {
    config::Config::builder()
        .build()
        .and_then(|c| c.try_deserialize())
        .expect("defaults deserialize")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    #[serde(default)]
    pub format: LogFormat,
    /// A tracing filter like `info` or `secintake=debug`; `RUST_LOG` wins.
    #[serde(default = "LogSettings::default_level")]
    pub level: String,
}

impl LogSettings {
    fn default_level() -> String {
        "info".into()
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            format: LogFormat::Text,
            level: Self::default_level(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TemplateSettings {
    /// A directory whose `*.txt` files override the built-in templates.
    #[serde(default)]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// `127.0.0.1:9464` to serve Prometheus metrics; empty = off.
    #[serde(default, deserialize_with = "de_listen")]
    pub listen: Option<std::net::SocketAddr>,
}

/// All settings, validated.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub imap: ImapSettings,
    pub smtp: SmtpSettings,
    pub database: DatabaseSettings,
    pub team: TeamSettings,
    #[serde(default)]
    pub policy: PolicySettings,
    #[serde(default)]
    pub analysis: AnalysisSettings,
    #[serde(default)]
    pub log: LogSettings,
    #[serde(default)]
    pub templates: TemplateSettings,
    #[serde(default)]
    pub metrics: MetricsSettings,
    /// The folder of the config file: a relative `database.url` path is resolved against it.
    #[serde(skip)]
    pub config_dir: Option<PathBuf>,
    /// Loaded without the IMAP/SMTP secrets (`Settings::load_offline`): for the commands that
    /// only read the database.
    #[serde(skip)]
    pub offline: bool,
    /// `[[channels]]`: team chat and webhooks that hear about case events.
    #[serde(default)]
    pub channels: Vec<crate::channels::ChannelSettings>,
    /// The channels with their secrets read (filled by `load`).
    #[serde(skip)]
    pub resolved_channels: Vec<crate::channels::Channel>,
    /// `[pgp]`: absent, no OpenPGP at all.
    #[serde(default)]
    pub pgp: Option<crate::pgp::PgpSettings>,
    /// `[advisory]`: what the advisory exports need about the project.
    #[serde(default)]
    pub advisory: AdvisorySettings,
    /// `[search]`
    #[serde(default)]
    pub search: SearchSettings,
}

/// `[search]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchSettings {
    /// Keep the full-text index (`search`) and what the similar-case lookup reads. `false`:
    /// nothing of any message's text is indexed, `search` says so, and no similar cases are
    /// looked up; mail stored meanwhile is not searchable later. For a team that wants no
    /// second copy of report text, and for measuring what the index costs.
    #[serde(default = "default_true")]
    pub index: bool,
    /// Look up the earlier cases each new report resembles as it arrives (for the new-case
    /// notice and `similar` of `case ID --json`). `false`: no lookup; the full-text index is
    /// written either way, so `search` is unaffected.
    #[serde(default = "default_true")]
    pub similar_on_arrival: bool,
}

impl Default for SearchSettings {
    fn default() -> Self {
        SearchSettings {
            index: true,
            similar_on_arrival: true,
        }
    }
}

/// `[advisory]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdvisorySettings {
    /// The OSV ecosystem name (`npm`).
    #[serde(default = "AdvisorySettings::default_ecosystem")]
    pub ecosystem: String,
    /// The affected package when a case names none.
    #[serde(default)]
    pub default_package: Option<String>,
    /// `github.com/OWNER/REPO`: references and the ghsa export.
    #[serde(default)]
    pub repository: Option<String>,
    /// The CNA's CVE Services org id (a UUID): `providerMetadata.orgId` of the cve export.
    #[serde(default)]
    pub cna_org_id: Option<String>,
}

impl AdvisorySettings {
    fn default_ecosystem() -> String {
        "npm".into()
    }

    /// The exports' view of these settings.
    pub fn project(&self) -> crate::advisory::Project {
        crate::advisory::Project {
            ecosystem: self.ecosystem.clone(),
            default_package: self.default_package.clone().filter(|p| !p.trim().is_empty()),
            repository: self.repository.clone().filter(|p| !p.trim().is_empty()),
            cna_org_id: self.cna_org_id.clone().filter(|p| !p.trim().is_empty()),
        }
    }
}

impl Default for AdvisorySettings {
    fn default() -> Self {
        AdvisorySettings {
            ecosystem: Self::default_ecosystem(),
            default_package: None,
            repository: None,
            cna_org_id: None,
        }
    }
}

impl Settings {
    /// Reads the file, applies `SECINTAKE__SECTION__KEY` overrides, resolves secrets, validates.
    pub fn load(path: &Path) -> Result<Settings, ConfigError> {
        let env = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Self::load_with_env(path, env)
    }

    /// `load` without reading the IMAP and SMTP secrets: for the commands that only read the
    /// database (`cases`, `case`, `deadlines`, `report`, `status --offline`, ...).
    pub fn load_offline(path: &Path) -> Result<Settings, ConfigError> {
        let env = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Self::load_inner(path, env, false)
    }

    /// `load` with the given environment instead of the process's.
    pub fn load_with_env(path: &Path, env: std::collections::HashMap<String, String>) -> Result<Settings, ConfigError> {
        Self::load_inner(path, env, true)
    }

    fn load_inner(
        path: &Path,
        env: std::collections::HashMap<String, String>,
        secrets: bool,
    ) -> Result<Settings, ConfigError> {
        if !path.exists() {
            return Err(ConfigError::Load(format!(
                "{} does not exist (pass --config FILE or set SECINTAKE_CONFIG)",
                path.display()
            )));
        }
        let (scalars, lists) = split_env(env);
        // No `try_parsing`: every value keeps its exact text (a password `007` stays `007`,
        // not the number 7); the typed keys convert that text themselves (ports, booleans,
        // durations). List keys are split on commas here.
        let env = config::Environment::with_prefix("SECINTAKE")
            .prefix_separator("__")
            .separator("__")
            .source(Some(scalars));
        let mut builder = config::Config::builder()
            .add_source(config::File::from(path).format(config::FileFormat::Toml))
            .add_source(env);
        for (key, items) in lists {
            builder = builder
                .set_override(key, items)
                .map_err(|e| ConfigError::Load(format!("{}: {e}", path.display())))?;
        }
        let raw = builder
            .build()
            .map_err(|e| ConfigError::Load(format!("{}: {e}", path.display())))?;
        let mut s: Settings = raw
            .try_deserialize()
            .map_err(|e| ConfigError::Load(format!("{}: {e}", path.display())))?;
        s.config_dir = std::path::absolute(path)
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf));
        s.offline = !secrets;
        if secrets {
            s.resolve_secrets()?;
        }
        s.validate()?;
        Ok(s)
    }

    fn resolve_secrets(&mut self) -> Result<(), ConfigError> {
        let read = |f: &Path| read_secret_file(f).map_err(|e| e.to_string());
        self.resolved_channels = self
            .channels
            .iter()
            .enumerate()
            .map(|(i, c)| c.resolve(i, &read))
            .collect::<Result<_, _>>()
            .map_err(|e| invalid(&e.key, e.problem))?;
        self.imap.secret = resolve_secret(
            "imap.password",
            self.imap.password.take(),
            self.imap.password_file.take(),
        )?;
        self.smtp.secret = resolve_secret(
            "smtp.password",
            self.smtp.password.take(),
            self.smtp.password_file.take(),
        )?;
        Ok(())
    }

    /// Checks values the types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.imap.host.trim().is_empty() {
            return Err(invalid("imap.host", "must not be empty"));
        }
        if self.imap.username.trim().is_empty() {
            return Err(invalid("imap.username", "must not be empty"));
        }
        if !self.offline && self.imap.secret.is_empty() {
            return Err(invalid(
                "imap.password",
                "missing: set imap.password or imap.password_file",
            ));
        }
        if self.imap.batch_size == 0 {
            return Err(invalid("imap.batch_size", "must be at least 1"));
        }
        if self.smtp.host.trim().is_empty() {
            return Err(invalid("smtp.host", "must not be empty"));
        }
        if !self.offline && !self.smtp.username.is_empty() && self.smtp.secret.is_empty() {
            return Err(invalid(
                "smtp.password",
                "smtp.username is set but no password (smtp.password or smtp.password_file)",
            ));
        }
        let db = &self.database.url;
        if !db.starts_with("sqlite:") {
            return Err(invalid(
                "database.url",
                format!("`{db}` must start with sqlite: (e.g. sqlite:///var/lib/secintake/secintake.db)"),
            ));
        }
        if let Some(id) = self.advisory.cna_org_id.as_deref().filter(|i| !i.is_empty()) {
            let uuid = regex::Regex::new(
                r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$",
            )
            .expect("regex");
            if !uuid.is_match(id) {
                return Err(invalid("advisory.cna_org_id", format!("`{id}` is not a UUID")));
            }
        }
        for k in &self.team.dkim_keys {
            crate::authentication::dkim::parse_pinned(k).map_err(|e| invalid("team.dkim_keys", e))?;
        }
        for d in &self.team.trusted_arc_sealers {
            let ok = !d.is_empty()
                && d.len() <= 253
                && d.split('.').count() >= 2
                && d.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && !l.starts_with('-')
                        && !l.ends_with('-')
                        && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                });
            if !ok {
                return Err(invalid(
                    "team.trusted_arc_sealers",
                    format!("`{d}` is not a domain name like lists.example.org (the d= of ARC-Seal)"),
                ));
            }
        }
        let p = &self.policy.case_prefix;
        if p.is_empty() || p.len() > 10 || !p.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(invalid(
                "policy.case_prefix",
                format!("`{p}` must be 1-10 uppercase ASCII letters"),
            ));
        }
        if self.policy.sweep_interval.is_zero() {
            return Err(invalid("policy.sweep_interval", "must be more than 0"));
        }
        if self.policy.reminder_repeat.is_zero() {
            return Err(invalid("policy.reminder_repeat", "must be more than 0"));
        }
        if let Some(h) = self.policy.digest_hour {
            if h > 23 {
                return Err(invalid("policy.digest_hour", "must be 0-23"));
            }
        }
        self.policy
            .calendar
            .validate()
            .map_err(|(k, e)| invalid(&format!("policy.calendar.{k}"), e))?;
        self.analysis
            .compile()
            .map_err(|(k, e)| invalid(&format!("analysis.{k}"), e))?;
        if self.log.level.parse::<tracing_subscriber::EnvFilter>().is_err() {
            return Err(invalid(
                "log.level",
                format!("`{}` is not a log filter", self.log.level),
            ));
        }
        if let Some(l) = &self.metrics.listen {
            if !l.ip().is_loopback() {
                return Err(invalid(
                    "metrics.listen",
                    format!("`{l}` is not a loopback address (put a proxy in front for remote scraping)"),
                ));
            }
        }
        Ok(())
    }

    /// The domain our Message-IDs use: the domain of `smtp.from`.
    pub fn message_id_domain(&self) -> String {
        self.smtp.from.address.domain().to_string()
    }

    /// Warnings about the settings that do not stop the start (keys kept for old files).
    /// Unknown keys are not here: they are config errors (every section denies unknown
    /// fields), so a misspelt key never goes unnoticed.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.policy.unused_startup_grace.is_some() {
            w.push("config key `policy.startup_grace` does nothing (deadlines count from arrival); remove it".into());
        }
        let t = &self.team;
        if t.trusted_authserv_ids.is_empty() && t.trusted_arc_sealers.is_empty() && !t.verify_dkim {
            w.push(
                "team.trusted_authserv_ids is empty and neither team.trusted_arc_sealers nor team.verify_dkim is set: \
                 no coordinator's /command can ever count (set trusted_authserv_ids to the authserv-id your border MX writes in Authentication-Results)"
                    .into(),
            );
        }
        for (section, host, tls, auth) in [
            ("imap", &self.imap.host, self.imap.tls, true),
            ("smtp", &self.smtp.host, self.smtp.tls, !self.smtp.username.is_empty()),
        ] {
            if tls == TlsMode::None && auth && !is_loopback_host(host) {
                w.push(format!(
                    "{section}.tls = \"none\" to {host}, which is not this machine: the password crosses the network in clear text (use tls = \"starttls\" or \"implicit\")"
                ));
            }
        }
        if let Some(dir) = &self.templates.dir {
            w.extend(unknown_template_files(dir));
        }
        w
    }

    /// Path of the SQLite file named by `database.url`. A relative path (`sqlite:data/x.db`
    /// or the two-slash form `sqlite://data/x.db`) is resolved against the config file's
    /// folder, never the current directory.
    pub fn database_path(&self) -> PathBuf {
        let u = self.database.url.trim_start_matches("sqlite:");
        let u = u.strip_prefix("//").unwrap_or(u);
        let p = PathBuf::from(u.split('?').next().unwrap_or(u));
        match &self.config_dir {
            Some(dir) if p.is_relative() => dir.join(p),
            _ => p,
        }
    }

    /// Whether `database.url` is written as a relative path (resolved against the config
    /// file's folder).
    pub fn database_path_is_relative(&self) -> bool {
        let u = self.database.url.trim_start_matches("sqlite:");
        let u = u.strip_prefix("//").unwrap_or(u);
        !u.starts_with('/')
    }
}

/// Whether `host` is this machine: `localhost` or a loopback address.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim().trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.to_ascii_lowercase().ends_with(".localhost")
        || h.parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// Files in the template override folder whose name matches no built-in template (they
/// would be silently ignored): one warning each.
fn unknown_template_files(dir: &Path) -> Vec<String> {
    let known: Vec<&str> = crate::outbox::templates::BUILTIN.iter().map(|(n, _)| *n).collect();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![format!("templates.dir {} cannot be read", dir.display())];
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| match n.strip_suffix(".txt") {
            Some(stem) => !known.contains(&stem),
            None => !n.starts_with('.'),
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            format!(
                "templates.dir: {} matches no template and is not used (the templates: {})",
                dir.join(&n).display(),
                known.iter().map(|k| format!("{k}.txt")).collect::<Vec<_>>().join(", ")
            )
        })
        .collect()
}

/// Keys whose environment override is a comma-separated list. (Regex pattern lists are not
/// here: a comma is part of many patterns.)
pub const ENV_LIST_KEYS: &[&str] = &[
    "team.coordinators",
    "team.trusted_authserv_ids",
    "team.project_repos",
    "team.dkim_keys",
    "team.trusted_arc_sealers",
    "policy.progress_updates",
    "policy.embargo_reminders",
    "policy.calendar.working_days",
    "policy.calendar.holidays",
    "analysis.project_packages",
    "analysis.eol_node_majors",
];

/// A list key and its items, from the environment.
type EnvList = (String, Vec<String>);

/// Splits the `SECINTAKE__…` variables into plain values (left to the config crate) and
/// list keys (`a, b,c` -> `["a", "b", "c"]`; empty -> an empty list).
fn split_env(env: std::collections::HashMap<String, String>) -> (config::Map<String, String>, Vec<EnvList>) {
    let mut scalars = config::Map::new();
    let mut lists = Vec::new();
    for (k, v) in env {
        let lower = k.to_lowercase();
        let Some(rest) = lower.strip_prefix("secintake__") else {
            continue;
        };
        let key = rest.replace("__", ".");
        if ENV_LIST_KEYS.contains(&key.as_str()) {
            let items = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            lists.push((key, items));
        } else {
            scalars.insert(k, v);
        }
    }
    lists.sort();
    (scalars, lists)
}

/// Where a secret file is: a relative name is looked up in systemd's credentials directory.
fn secret_path(f: &Path) -> PathBuf {
    match std::env::var_os("CREDENTIALS_DIRECTORY") {
        Some(dir) if f.is_relative() => PathBuf::from(dir).join(f),
        _ => f.to_path_buf(),
    }
}

fn read_secret_file(f: &Path) -> Result<String, String> {
    let path = secret_path(f);
    std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn resolve_secret(key: &str, value: Option<String>, file: Option<PathBuf>) -> Result<Secret, ConfigError> {
    match (value.filter(|v| !v.is_empty()), file) {
        (Some(_), Some(_)) => Err(invalid(key, format!("set either {key} or {key}_file, not both"))),
        (Some(v), None) => Ok(Secret(v)),
        (None, Some(f)) => {
            let text = read_secret_file(&f).map_err(|e| invalid(&format!("{key}_file"), e))?;
            let text = text.trim_end_matches(['\r', '\n']);
            if text.is_empty() {
                let path = secret_path(&f);
                return Err(invalid(
                    &format!("{key}_file"),
                    format!("{} is empty (write the password into it)", path.display()),
                ));
            }
            Ok(Secret(text.to_string()))
        }
        (None, None) => Ok(Secret::default()),
    }
}

/// Default config path: `$SECINTAKE_CONFIG`, then `/etc/secintake/secintake.toml`.
pub fn default_path() -> PathBuf {
    std::env::var_os("SECINTAKE_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/etc/secintake/secintake.toml"))
}

/// The smallest complete config, for unit tests across the crate (`[team]` comes last, so
/// a test may append its own sections).
#[cfg(test)]
pub(crate) const TEST_MINIMAL: &str = r#"
[imap]
host = "127.0.0.1"
username = "security"
password = "pw"
[smtp]
host = "127.0.0.1"
from = "Security Team <security@example.org>"
[database]
url = "sqlite:///tmp/x.db"
[team]
list_address = "security@example.org"
notify = "triage@example.org"
coordinators = ["alice@example.org", "bob@example.org"]
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join("secintake.toml");
        std::fs::write(&p, text).unwrap();
        p
    }

    const MINIMAL: &str = TEST_MINIMAL;

    #[test]
    fn minimal_config_gets_contract_defaults() {
        let d = tempfile::tempdir().unwrap();
        let s = Settings::load(&write(d.path(), MINIMAL)).unwrap();
        assert_eq!(s.imap.port, 993);
        assert_eq!(s.imap.tls, TlsMode::Implicit);
        assert_eq!(s.policy.acknowledge_within, Duration::from_secs(48 * 3600));
        assert_eq!(s.policy.invalid_notice_within, Duration::from_secs(10 * 86400));
        assert_eq!(s.policy.case_prefix, "SEC");
        assert_eq!(s.imap.secret.expose(), "pw");
        assert!(!format!("{:?}", s).contains("\"pw\""), "secrets must not be printed");
        assert_eq!(s.database_path(), PathBuf::from("/tmp/x.db"));
    }

    #[test]
    fn missing_key_is_named() {
        let d = tempfile::tempdir().unwrap();
        let text = MINIMAL.replace("host = \"127.0.0.1\"\nusername", "username");
        let e = Settings::load(&write(d.path(), &text)).unwrap_err().to_string();
        assert!(e.contains("host"), "{e}");
    }

    #[test]
    fn bad_duration_is_named() {
        let d = tempfile::tempdir().unwrap();
        let text = format!("{MINIMAL}\n[policy]\nacknowledge_within = \"two days\"\n");
        let e = Settings::load(&write(d.path(), &text)).unwrap_err().to_string();
        assert!(e.contains("acknowledge_within"), "{e}");
    }

    #[test]
    fn unknown_key_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let text = MINIMAL.replace("[team]", "[team]\ncoordinator = \"x@example.org\"");
        let e = Settings::load(&write(d.path(), &text)).unwrap_err().to_string();
        assert!(e.contains("coordinator"), "{e}");
    }

    #[test]
    fn password_file_and_both_set() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("pw"), "from-file\n").unwrap();
        let text = MINIMAL.replace(
            "password = \"pw\"",
            &format!("password_file = \"{}\"", d.path().join("pw").display()),
        );
        let s = Settings::load(&write(d.path(), &text)).unwrap();
        assert_eq!(s.imap.secret.expose(), "from-file");

        let text = MINIMAL.replace(
            "password = \"pw\"",
            &format!(
                "password = \"x\"\npassword_file = \"{}\"",
                d.path().join("pw").display()
            ),
        );
        let e = Settings::load(&write(d.path(), &text)).unwrap_err().to_string();
        assert!(e.contains("imap.password"), "{e}");
    }

    #[test]
    fn an_old_file_with_startup_grace_still_loads_with_a_warning() {
        let d = tempfile::tempdir().unwrap();
        let trusted = format!("{MINIMAL}trusted_authserv_ids = [\"mx.example.org\"]\n");
        let text = format!("{trusted}\n[policy]\nstartup_grace = \"2h\"\n");
        let s = Settings::load(&write(d.path(), &text)).unwrap();
        assert_eq!(s.warnings().len(), 1);
        assert!(s.warnings()[0].contains("policy.startup_grace"));
        assert!(Settings::load(&write(d.path(), &trusted))
            .unwrap()
            .warnings()
            .is_empty());
    }

    #[test]
    fn settings_that_cannot_work_as_meant_are_warned_about() {
        let d = tempfile::tempdir().unwrap();
        let w = Settings::load(&write(d.path(), MINIMAL)).unwrap().warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("no coordinator's /command can ever count"), "{w:?}");
        let sealed = format!("{MINIMAL}trusted_arc_sealers = [\"lists.example.org\"]\n");
        assert!(Settings::load(&write(d.path(), &sealed)).unwrap().warnings().is_empty());

        let trusted = format!("{MINIMAL}trusted_authserv_ids = [\"mx.example.org\"]\n");
        let clear = trusted
            .replace(
                "host = \"127.0.0.1\"\nusername",
                "host = \"imap.example.org\"\ntls = \"none\"\nusername",
            )
            .replace(
                "[smtp]\nhost = \"127.0.0.1\"",
                "[smtp]\nhost = \"localhost\"\ntls = \"none\"\nusername = \"u\"\npassword = \"p\"",
            );
        let w = Settings::load(&write(d.path(), &clear)).unwrap().warnings();
        assert_eq!(w.len(), 1, "loopback SMTP is fine: {w:?}");
        assert!(w[0].contains("imap.tls = \"none\" to imap.example.org"), "{w:?}");

        let t = d.path().join("t");
        std::fs::create_dir(&t).unwrap();
        std::fs::write(t.join("receipt.txt"), "Subject: x\n\ny\n").unwrap();
        std::fs::write(t.join("reciept.txt"), "Subject: x\n\ny\n").unwrap();
        let text = format!("{trusted}[templates]\ndir = \"{}\"\n", t.display());
        let w = Settings::load(&write(d.path(), &text)).unwrap().warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("reciept.txt matches no template"), "{w:?}");
    }

    #[test]
    fn loopback_hosts() {
        for h in ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2", "mail.localhost"] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in ["mail.example.org", "10.0.0.1", "localhost.example.org"] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn bad_address_is_named() {
        let d = tempfile::tempdir().unwrap();
        let text = MINIMAL.replace("\"alice@example.org\"", "\"not an address\"");
        let e = Settings::load(&write(d.path(), &text)).unwrap_err().to_string();
        assert!(e.contains("team.coordinators"), "{e}");
    }

    fn env(pairs: &[(&str, &str)]) -> std::collections::HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn env_secrets_keep_their_exact_text() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), MINIMAL);
        for pw in ["007", "TRUE", "1e5", "0x10", " spaced "] {
            let s = Settings::load_with_env(
                &p,
                env(&[
                    ("SECINTAKE__IMAP__PASSWORD", pw),
                    ("SECINTAKE__SMTP__USERNAME", "0042"),
                    ("SECINTAKE__SMTP__PASSWORD", pw),
                ]),
            )
            .unwrap();
            assert_eq!(s.imap.secret.expose(), pw);
            assert_eq!(s.smtp.secret.expose(), pw);
            assert_eq!(s.smtp.username, "0042");
        }
        let s = Settings::load_with_env(&p, env(&[("SECINTAKE__IMAP__USERNAME", "false")])).unwrap();
        assert_eq!(s.imap.username, "false");
    }

    #[test]
    fn env_typed_values_and_lists_still_convert() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), MINIMAL);
        let s = Settings::load_with_env(
            &p,
            env(&[
                ("SECINTAKE__IMAP__PORT", "1143"),
                ("SECINTAKE__IMAP__IDLE", "false"),
                ("SECINTAKE__IMAP__BATCH_SIZE", "7"),
                ("SECINTAKE__IMAP__IDLE_RENEW", "2s"),
                ("SECINTAKE__IMAP__TLS", "starttls"),
                ("SECINTAKE__POLICY__DIGEST_HOUR", "9"),
                ("SECINTAKE__TEAM__COORDINATORS", "x@example.org, y@example.org"),
                ("SECINTAKE__POLICY__PROGRESS_UPDATES", "accepted,released"),
                ("SECINTAKE__POLICY__EMBARGO_REMINDERS", "3d,12h"),
                ("SECINTAKE__ANALYSIS__PROJECT_PACKAGES", "express,body-parser"),
                ("SECINTAKE__TEAM__TRUSTED_AUTHSERV_IDS", ""),
                ("OTHER__IMAP__PORT", "1"),
            ]),
        )
        .unwrap();
        assert_eq!(s.imap.port, 1143);
        assert!(!s.imap.idle);
        assert_eq!(s.imap.batch_size, 7);
        assert_eq!(s.imap.idle_renew, Duration::from_secs(2));
        assert_eq!(s.imap.tls, TlsMode::Starttls);
        assert_eq!(s.policy.digest_hour, Some(9));
        let coordinators: Vec<&str> = s.team.coordinators.iter().map(|a| a.as_str()).collect();
        assert_eq!(coordinators, vec!["x@example.org", "y@example.org"]);
        assert_eq!(
            s.policy.progress_updates,
            vec![ProgressKind::Accepted, ProgressKind::Released]
        );
        assert_eq!(
            s.policy.embargo_reminders,
            vec![Duration::from_secs(3 * 86400), Duration::from_secs(12 * 3600)]
        );
        assert_eq!(s.analysis.project_packages, vec!["express", "body-parser"]);
        assert!(s.team.trusted_authserv_ids.is_empty());

        let e = Settings::load_with_env(&p, env(&[("SECINTAKE__IMAP__PORT", "lots")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("port"), "{e}");
        let e = Settings::load_with_env(&p, env(&[("SECINTAKE__TEAM__COORDINATORS", "x@example.org,bad")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("team.coordinators"), "{e}");
        let s = Settings::load_with_env(
            &p,
            env(&[("SECINTAKE__TEAM__TRUSTED_ARC_SEALERS", "google.com,lists.example.org")]),
        )
        .unwrap();
        assert_eq!(s.team.trusted_arc_sealers, vec!["google.com", "lists.example.org"]);
        for bad in [
            "localhost",
            "-x.example",
            "a..example",
            "lists.example.org/x",
            "with space.example",
        ] {
            let e = Settings::load_with_env(&p, env(&[("SECINTAKE__TEAM__TRUSTED_ARC_SEALERS", bad)]))
                .unwrap_err()
                .to_string();
            assert!(e.contains("team.trusted_arc_sealers"), "{bad}: {e}");
        }
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("64MB").unwrap(), 64 << 20);
        assert_eq!(parse_size("100").unwrap(), 100);
        assert!(parse_size("lots").is_err());
    }
}

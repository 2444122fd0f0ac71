//! Team channels: case events (a premature disclosure first of all) sent to the team's chat
//! (Slack, Matrix) or to a JSON webhook signed the Standard Webhooks way.
//!
//! `[[channels]]` settings are parsed here and resolved (secrets read) into [`Channel`]s;
//! an [`Alert`] is what happened, in data the team may see anywhere: case id, state, flags,
//! the command that opens the case, never report text (the subject only with
//! `include_subject = true`). Each kind's module builds the HTTP request ([`Outgoing`])
//! purely; [`client`] sends it and says whether it was delivered, is worth a retry, or failed.

pub mod client;
pub mod deliver;
pub mod matrix;
pub mod queue;
pub mod route;
pub mod slack;
pub mod webhook;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::sanitize;
use crate::text::when;

/// What a channel can be told about (names are part of the config interface).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    /// A report links a public issue or pull request of the project.
    PrematureDisclosure,
    /// A new case was opened.
    NewCase,
    /// A deadline has passed (a reminder fired for an overdue deadline).
    Overdue,
    /// Commands in a message were refused (sender not a coordinator, not authenticated).
    RefusedCommands,
    /// A case changed state.
    StateChanged,
}

impl EventKind {
    pub const ALL: [EventKind; 5] = [
        EventKind::PrematureDisclosure,
        EventKind::NewCase,
        EventKind::Overdue,
        EventKind::RefusedCommands,
        EventKind::StateChanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::PrematureDisclosure => "premature-disclosure",
            EventKind::NewCase => "new-case",
            EventKind::Overdue => "overdue",
            EventKind::RefusedCommands => "refused-commands",
            EventKind::StateChanged => "state-changed",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a channel posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    Slack,
    Matrix,
    Webhook,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Slack => "slack",
            ChannelKind::Matrix => "matrix",
            ChannelKind::Webhook => "webhook",
        }
    }
}

fn default_events() -> Vec<EventKind> {
    vec![EventKind::PrematureDisclosure]
}

/// One `[[channels]]` table, as written in the config file.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSettings {
    /// slack | matrix | webhook.
    pub kind: ChannelKind,
    /// The address to post to (slack, webhook). For Slack the URL is the secret: prefer
    /// `url_file`.
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub url_file: Option<PathBuf>,
    /// webhook: the signing secret, base64 (`whsec_...` accepted).
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// matrix: `https://matrix.example.org`.
    #[serde(default)]
    pub homeserver: Option<String>,
    /// matrix: the room id, `!abc:example.org`.
    #[serde(default)]
    pub room: Option<String>,
    /// matrix: the access token of the bot account.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Which events go here (default: premature-disclosure).
    #[serde(default = "default_events")]
    pub events: Vec<EventKind>,
    /// Put the report's subject into the message (default: no report text at all).
    #[serde(default)]
    pub include_subject: bool,
}

impl std::fmt::Debug for ChannelSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A Slack URL written inline is the secret itself: never shown.
        f.debug_struct("ChannelSettings")
            .field("kind", &self.kind)
            .field("url", &self.url.as_ref().map(|_| "***"))
            .field("url_file", &self.url_file)
            .field("secret_file", &self.secret_file)
            .field("homeserver", &self.homeserver)
            .field("room", &self.room)
            .field("token_file", &self.token_file)
            .field("events", &self.events)
            .field("include_subject", &self.include_subject)
            .finish()
    }
}

/// A `[[channels]]` entry that cannot be used; `key` names it (`channels[0].url`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config key `{key}`: {problem}")]
pub struct ChannelError {
    pub key: String,
    pub problem: String,
}

/// Reads a secret file (`*_file` keys); the config passes its own reader (systemd
/// credentials directory, trimming), tests pass `std::fs`.
pub type ReadSecret<'a> = &'a dyn Fn(&Path) -> Result<String, String>;

/// Where a resolved channel posts, with its secrets.
#[derive(Clone)]
enum Target {
    Slack {
        url: String,
    },
    Matrix {
        homeserver: String,
        room: String,
        token: String,
    },
    Webhook {
        url: String,
        secret: Vec<u8>,
    },
}

/// A channel ready to post: settings checked, secrets read.
#[derive(Clone)]
pub struct Channel {
    key: String,
    target: Target,
    pub events: Vec<EventKind>,
    pub include_subject: bool,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URL (a Slack URL is a secret), the token or the signing secret.
        f.debug_struct("Channel")
            .field("key", &self.key)
            .field("events", &self.events)
            .field("include_subject", &self.include_subject)
            .finish()
    }
}

impl ChannelSettings {
    /// Checks the entry (`index` is its place in the file, for error messages), reads its
    /// secrets and returns the channel.
    pub fn resolve(&self, index: usize, read: ReadSecret) -> Result<Channel, ChannelError> {
        let key = |k: &str| format!("channels[{index}].{k}");
        let err = |k: &str, p: String| ChannelError {
            key: key(k),
            problem: p,
        };
        let kind = self.kind.as_str();
        let forbid = |name: &str, set: bool| -> Result<(), ChannelError> {
            if set {
                Err(err(name, format!("is not used by kind = \"{kind}\"")))
            } else {
                Ok(())
            }
        };
        let read_file = |name: &str, path: &Path| -> Result<String, ChannelError> {
            let text = read(path).map_err(|e| err(name, e))?;
            let text = text.trim().to_string();
            if text.is_empty() {
                return Err(err(name, format!("{} is empty", path.display())));
            }
            Ok(text)
        };
        let url = || -> Result<String, ChannelError> {
            let u = match (&self.url, &self.url_file) {
                (Some(_), Some(_)) => return Err(err("url", "set either url or url_file, not both".into())),
                (Some(u), None) => u.trim().to_string(),
                (None, Some(f)) => read_file("url_file", f)?,
                (None, None) => return Err(err("url", format!("missing: kind = \"{kind}\" needs url or url_file"))),
            };
            check_url(&u).map_err(|p| err(if self.url.is_some() { "url" } else { "url_file" }, p))?;
            Ok(u)
        };
        if self.events.is_empty() {
            return Err(err("events", format!("is empty; choose from {}", event_names())));
        }
        let target = match self.kind {
            ChannelKind::Slack => {
                forbid("secret_file", self.secret_file.is_some())?;
                forbid("homeserver", self.homeserver.is_some())?;
                forbid("room", self.room.is_some())?;
                forbid("token_file", self.token_file.is_some())?;
                Target::Slack { url: url()? }
            }
            ChannelKind::Webhook => {
                forbid("homeserver", self.homeserver.is_some())?;
                forbid("room", self.room.is_some())?;
                forbid("token_file", self.token_file.is_some())?;
                let url = url()?;
                let Some(f) = &self.secret_file else {
                    return Err(err(
                        "secret_file",
                        "missing: a webhook is signed; give a file holding a base64 secret (whsec_...)".into(),
                    ));
                };
                let secret = webhook::parse_secret(&read_file("secret_file", f)?).map_err(|p| err("secret_file", p))?;
                Target::Webhook { url, secret }
            }
            ChannelKind::Matrix => {
                forbid("url", self.url.is_some())?;
                forbid("url_file", self.url_file.is_some())?;
                forbid("secret_file", self.secret_file.is_some())?;
                let homeserver = self
                    .homeserver
                    .as_deref()
                    .ok_or_else(|| err("homeserver", "missing: e.g. \"https://matrix.example.org\"".into()))?
                    .trim()
                    .trim_end_matches('/')
                    .to_string();
                check_url(&homeserver).map_err(|p| err("homeserver", p))?;
                let room = self
                    .room
                    .as_deref()
                    .ok_or_else(|| err("room", "missing: the room id, e.g. \"!abc:example.org\"".into()))?
                    .trim()
                    .to_string();
                if !room.starts_with('!')
                    || !room.contains(':')
                    || room.chars().any(|c| c.is_whitespace() || c.is_control())
                {
                    return Err(err(
                        "room",
                        format!("`{room}` is not a room id like \"!abc:example.org\""),
                    ));
                }
                let Some(f) = &self.token_file else {
                    return Err(err(
                        "token_file",
                        "missing: a file holding the bot's access token".into(),
                    ));
                };
                let token = read_file("token_file", f)?;
                if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err(err("token_file", "the token holds white space".into()));
                }
                Target::Matrix {
                    homeserver,
                    room,
                    token,
                }
            }
        };
        let mut events = self.events.clone();
        events.sort();
        events.dedup();
        Ok(Channel {
            key: channel_key(self.kind, &target),
            target,
            events,
            include_subject: self.include_subject,
        })
    }
}

fn event_names() -> String {
    EventKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
}

/// An address we may post to: https, or plain http only to this machine (a local relay,
/// the tests), since the URL or the token would otherwise cross the network in clear.
fn check_url(u: &str) -> Result<(), String> {
    let uri: hyper::Uri = u.parse().map_err(|e| format!("not a URL: {e}"))?;
    let host = uri.host().ok_or("has no host")?;
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") => {
            let h = host.trim_start_matches('[').trim_end_matches(']');
            let loopback = h == "localhost" || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
            if loopback {
                Ok(())
            } else {
                Err("must be https:// (plain http only to this machine)".into())
            }
        }
        _ => Err("must start with https://".into()),
    }
}

/// A stable name for a channel that shows no secret: its kind and a hash of where it
/// posts, e.g. `slack-3fa2c1d0`. Deliveries name their channel by it, so reordering the
/// config keeps them pointed at the same place.
fn channel_key(kind: ChannelKind, target: &Target) -> String {
    let place = match target {
        Target::Slack { url } | Target::Webhook { url, .. } => url.clone(),
        Target::Matrix { homeserver, room, .. } => format!("{homeserver} {room}"),
    };
    let d = ring::digest::digest(&ring::digest::SHA256, place.as_bytes());
    format!("{}-{}", kind.as_str(), hex::encode(&d.as_ref()[..4]))
}

impl Channel {
    /// `slack-3fa2c1d0`: the channel's name in deliveries, `status` and logs.
    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn kind(&self) -> ChannelKind {
        match self.target {
            Target::Slack { .. } => ChannelKind::Slack,
            Target::Matrix { .. } => ChannelKind::Matrix,
            Target::Webhook { .. } => ChannelKind::Webhook,
        }
    }

    /// Does this channel want events of `kind`?
    pub fn wants(&self, kind: EventKind) -> bool {
        self.events.contains(&kind)
    }

    /// The HTTP request that delivers `alert` (delivery `id`) here; `now` is the time of
    /// this attempt (the webhook's timestamp), `tz` the zone times are shown in.
    pub fn request(&self, id: &str, alert: &Alert, tz: Tz, now: DateTime<Utc>) -> Outgoing {
        let text = alert.text(self.include_subject, tz);
        match &self.target {
            Target::Slack { url } => slack::request(url, &text),
            Target::Matrix {
                homeserver,
                room,
                token,
            } => matrix::request(homeserver, room, token, id, &text),
            Target::Webhook { url, secret } => {
                webhook::request(url, secret, id, &alert.payload(self.include_subject, &text), now)
            }
        }
    }
}

/// What a case event adds to the alert, beyond the case's id, state and flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Detail {
    #[default]
    None,
    /// `deadline` in words ("human acknowledgement"), and when it was due.
    Overdue {
        deadline: String,
        due: DateTime<Utc>,
    },
    /// Who sent the refused commands, and why they were refused.
    Refused {
        sender: String,
        reason: String,
    },
    StateChanged {
        from: String,
        to: String,
    },
}

/// One thing the team should hear about, as stored with its delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub event: EventKind,
    pub case_id: String,
    pub state: String,
    #[serde(default)]
    pub flags: Vec<String>,
    /// The report's subject; sent only to channels with `include_subject = true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default)]
    pub detail: Detail,
    /// When it happened.
    pub at: DateTime<Utc>,
}

impl Alert {
    /// The command that opens the case.
    pub fn open_command(&self) -> String {
        format!("secintake case {}", sanitize::header_text(&self.case_id))
    }

    /// The headline: what happened to which case.
    pub fn headline(&self, tz: Tz) -> String {
        let id = sanitize::header_text(&self.case_id);
        match (&self.event, &self.detail) {
            (EventKind::PrematureDisclosure, _) => format!(
                "Premature disclosure: {id} links a public issue or pull request of the project. Make it private first."
            ),
            (EventKind::NewCase, _) => format!("New case {id}."),
            (EventKind::Overdue, Detail::Overdue { deadline, due }) => format!(
                "{id}: {} is {} (it was due {}).",
                sanitize::header_text(deadline),
                when::until(*due, self.at),
                when::moment(*due, tz)
            ),
            (EventKind::Overdue, _) => format!("{id}: a deadline is overdue."),
            (EventKind::RefusedCommands, Detail::Refused { sender, reason }) => format!(
                "{id}: commands from {} were refused: {}.",
                sanitize::header_text(sender),
                sanitize::header_text(reason).trim_end_matches('.')
            ),
            (EventKind::RefusedCommands, _) => format!("{id}: commands were refused."),
            (EventKind::StateChanged, Detail::StateChanged { from, to }) => format!(
                "{id}: {} -> {}.",
                sanitize::header_text(from),
                sanitize::header_text(to)
            ),
            (EventKind::StateChanged, _) => format!("{id}: the state changed."),
        }
    }

    /// The message for people: headline, state and flags, the subject if allowed, and
    /// the command that opens the case. One line each; no report text.
    pub fn text(&self, include_subject: bool, tz: Tz) -> String {
        let flags = if self.flags.is_empty() {
            "none".to_string()
        } else {
            self.flags
                .iter()
                .map(|f| sanitize::header_text(f))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut t = format!(
            "{}\nState: {}. Flags: {flags}.\n",
            self.headline(tz),
            sanitize::header_text(&self.state)
        );
        if include_subject {
            if let Some(s) = &self.subject {
                t.push_str(&format!("Subject: {}\n", sanitize::header_text(s)));
            }
        }
        t.push_str(&format!("Open it with: {}", self.open_command()));
        t
    }

    /// The webhook's JSON document (Standard Webhooks shape: `type`, `timestamp`, `data`).
    pub fn payload(&self, include_subject: bool, text: &str) -> serde_json::Value {
        let mut data = serde_json::json!({
            "case_id": self.case_id,
            "state": self.state,
            "flags": self.flags,
            "open": self.open_command(),
            "text": text,
            "detail": self.detail,
        });
        if include_subject {
            if let Some(s) = &self.subject {
                data["subject"] = serde_json::Value::String(sanitize::header_text(s));
            }
        }
        serde_json::json!({
            "type": format!("case.{}", self.event.as_str()),
            "timestamp": self.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "data": data,
        })
    }
}

/// An HTTP request to make: plain data, built purely, sent by [`client`].
#[derive(Clone, PartialEq)]
pub struct Outgoing {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Post,
    Put,
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may be the secret (Slack) and a header the token (Matrix): show neither.
        let host = self
            .url
            .parse::<hyper::Uri>()
            .ok()
            .and_then(|u| u.host().map(str::to_string));
        f.debug_struct("Outgoing")
            .field("method", &self.method)
            .field("host", &host)
            .field("headers", &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>())
            .field("body_len", &self.body.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, 2, 58, 22).unwrap()
    }

    pub(crate) fn alert() -> Alert {
        Alert {
            event: EventKind::PrematureDisclosure,
            case_id: "SEC-2026-0001".into(),
            state: "new".into(),
            flags: vec!["premature-disclosure".into()],
            subject: Some("RCE in <b>body-parser</b>\r\nBcc: x@evil.example".into()),
            detail: Detail::None,
            at: at(),
        }
    }

    fn settings(toml_text: &str) -> ChannelSettings {
        #[derive(Deserialize)]
        struct File {
            channels: Vec<ChannelSettings>,
        }
        let f: File = toml::from_str(toml_text).unwrap();
        f.channels.into_iter().next().unwrap()
    }

    fn files(dir: &Path) -> impl Fn(&Path) -> Result<String, String> + '_ {
        move |p: &Path| std::fs::read_to_string(dir.join(p)).map_err(|e| format!("cannot read {}: {e}", p.display()))
    }

    #[test]
    fn settings_parse_as_the_interface_says() {
        let s = settings(
            r#"
            [[channels]]
            kind = "slack"
            url_file = "slack-webhook-url"
            events = ["premature-disclosure", "overdue"]
            include_subject = false
            "#,
        );
        assert_eq!(s.kind, ChannelKind::Slack);
        assert_eq!(s.events, vec![EventKind::PrematureDisclosure, EventKind::Overdue]);
        let d =
            settings("[[channels]]\nkind = \"webhook\"\nurl = \"https://hooks.example.org/x\"\nsecret_file = \"s\"");
        assert_eq!(
            d.events,
            vec![EventKind::PrematureDisclosure],
            "premature-disclosure is on by default"
        );
        assert!(!d.include_subject);
    }

    #[test]
    fn bad_settings_are_named() {
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct File {
            channels: Vec<ChannelSettings>,
        }
        let e = toml::from_str::<File>("[[channels]]\nkind = \"irc\"\nurl = \"x\"").unwrap_err();
        assert!(e.to_string().contains("irc"), "{e}");
        let e =
            toml::from_str::<File>("[[channels]]\nkind = \"slack\"\nurl = \"https://x\"\nevents = [\"everything\"]")
                .unwrap_err();
        assert!(e.to_string().contains("everything"), "{e}");

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret"), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n").unwrap();
        let read = files(dir.path());
        for (text, key, words) in [
            ("kind = \"slack\"", "channels[0].url", "needs url or url_file"),
            (
                "kind = \"slack\"\nurl = \"http://hooks.slack.com/x\"",
                "channels[0].url",
                "https",
            ),
            (
                "kind = \"slack\"\nurl = \"https://a/x\"\nroom = \"!a:b\"",
                "channels[0].room",
                "not used",
            ),
            (
                "kind = \"slack\"\nurl_file = \"nope\"",
                "channels[0].url_file",
                "cannot read",
            ),
            (
                "kind = \"webhook\"\nurl = \"https://a/x\"",
                "channels[0].secret_file",
                "missing",
            ),
            (
                "kind = \"matrix\"\nhomeserver = \"https://m.example\"\nroom = \"general\"\ntoken_file = \"secret\"",
                "channels[0].room",
                "room id",
            ),
            (
                "kind = \"matrix\"\nhomeserver = \"https://m.example\"\nroom = \"!a:m.example\"",
                "channels[0].token_file",
                "missing",
            ),
            (
                "kind = \"slack\"\nurl = \"https://a/x\"\nevents = []",
                "channels[0].events",
                "premature-disclosure, new-case",
            ),
        ] {
            let e = settings(&format!("[[channels]]\n{text}"))
                .resolve(0, &read)
                .unwrap_err();
            assert_eq!(e.key, key, "{text}: {e}");
            assert!(e.problem.contains(words), "{text}: {e}");
        }
    }

    #[test]
    fn channels_resolve_with_a_key_that_shows_no_secret() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("url"),
            "https://hooks.slack.com/services/T0/B0/SECRETPART\n",
        )
        .unwrap();
        let read = files(dir.path());
        let c = settings(
            "[[channels]]\nkind = \"slack\"\nurl_file = \"url\"\nevents = [\"overdue\", \"new-case\", \"overdue\"]",
        )
        .resolve(0, &read)
        .unwrap();
        assert!(
            c.key().starts_with("slack-") && c.key().len() == "slack-".len() + 8,
            "{}",
            c.key()
        );
        assert!(!format!("{c:?}").contains("SECRET"));
        assert_eq!(c.events, vec![EventKind::NewCase, EventKind::Overdue]);
        assert!(c.wants(EventKind::Overdue) && !c.wants(EventKind::PrematureDisclosure));
        let req = c.request("d1", &alert(), Tz::UTC, at());
        assert!(!format!("{req:?}").contains("SECRET"));
    }

    #[test]
    fn the_message_carries_no_report_text_unless_allowed() {
        let a = alert();
        let t = a.text(false, Tz::UTC);
        assert_eq!(
            t,
            "Premature disclosure: SEC-2026-0001 links a public issue or pull request of the project. Make it private first.\n\
             State: new. Flags: premature-disclosure.\n\
             Open it with: secintake case SEC-2026-0001"
        );
        let with = a.text(true, Tz::UTC);
        assert!(
            with.contains("Subject: RCE in <b>body-parser</b> Bcc: x@evil.example\n"),
            "{with}"
        );
        assert_eq!(a.payload(false, &t)["data"].get("subject"), None);
        assert_eq!(
            a.payload(true, &with)["data"]["subject"],
            "RCE in <b>body-parser</b> Bcc: x@evil.example"
        );
    }

    #[test]
    fn headlines_of_every_event() {
        let mut a = alert();
        a.event = EventKind::Overdue;
        a.detail = Detail::Overdue {
            deadline: "human acknowledgement".into(),
            due: at() - chrono::Duration::hours(50),
        };
        assert_eq!(
            a.headline(chrono_tz::Europe::Berlin),
            "SEC-2026-0001: human acknowledgement is 2 days overdue (it was due Tue 1 Dec 2026, 01:58 CET)."
        );
        a.event = EventKind::RefusedCommands;
        a.detail = Detail::Refused {
            sender: "mallory@example.net".into(),
            reason: "the sender is not a coordinator.".into(),
        };
        assert_eq!(
            a.headline(Tz::UTC),
            "SEC-2026-0001: commands from mallory@example.net were refused: the sender is not a coordinator."
        );
        a.event = EventKind::StateChanged;
        a.detail = Detail::StateChanged {
            from: "triage".into(),
            to: "accepted".into(),
        };
        assert_eq!(a.headline(Tz::UTC), "SEC-2026-0001: triage -> accepted.");
        a.event = EventKind::NewCase;
        assert_eq!(a.headline(Tz::UTC), "New case SEC-2026-0001.");
        let back: Alert = serde_json::from_value(serde_json::to_value(&a).unwrap()).unwrap();
        assert_eq!(back, a, "an alert is stored as JSON and read back unchanged");
    }
}

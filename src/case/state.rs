//! The case states of the contract and whether each is closed.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    New,
    Triage,
    NeedsInfo,
    Assessing,
    Accepted,
    Patching,
    Released,
    Disclosed,
    Invalid,
    Duplicate,
    /// Mail from before the first start (or `import --history`): kept and threaded, never
    /// answered.
    Historical,
}

impl State {
    pub const ALL: [State; 11] = [
        State::New,
        State::Triage,
        State::NeedsInfo,
        State::Assessing,
        State::Accepted,
        State::Patching,
        State::Released,
        State::Disclosed,
        State::Invalid,
        State::Duplicate,
        State::Historical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::New => "new",
            State::Triage => "triage",
            State::NeedsInfo => "needs-info",
            State::Assessing => "assessing",
            State::Accepted => "accepted",
            State::Patching => "patching",
            State::Released => "released",
            State::Disclosed => "disclosed",
            State::Invalid => "invalid",
            State::Duplicate => "duplicate",
            State::Historical => "historical",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|st| st.as_str() == s.trim())
    }

    pub fn is_closed(self) -> bool {
        matches!(
            self,
            State::Disclosed | State::Invalid | State::Duplicate | State::Historical
        )
    }

    /// Has the team given its verdict (accepted or later, or dismissed)? The other states
    /// are still deciding.
    pub fn is_decided(self) -> bool {
        matches!(
            self,
            State::Accepted
                | State::Patching
                | State::Released
                | State::Disclosed
                | State::Invalid
                | State::Duplicate
                | State::Historical
        )
    }
}

/// Does a transition `from` -> `to` give the reporter the detailed response? It does when
/// the case was acknowledged, had none yet, and now waits for the reporter (`/needs-info`)
/// or got a verdict.
pub fn gives_detailed_response(acknowledged: bool, already: bool, from: Option<State>, to: State) -> bool {
    acknowledged && !already && from != Some(to) && (to == State::NeedsInfo || to.is_decided())
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

//! secintake: runs an open-source project's security mailbox.
//!
//! A pure core (analysis, routing, case lifecycle, commands, deadline policy) inside a thin
//! I/O shell (IMAP intake, SQLite store, SMTP outbox, the daemon's tasks).

#![recursion_limit = "256"]

pub mod address;
pub mod advisory;
pub mod analysis;
pub mod app;
pub mod authentication;
pub mod case;
pub mod channels;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod delivery;
pub mod intake;
pub mod message;
pub mod metrics;
pub mod netdiag;
pub mod outbox;
pub mod pgp;
pub mod policy;
pub mod quoting;
pub mod report;
pub mod routing;
pub mod sanitize;
pub mod search;
pub mod status;
pub mod store;
pub mod sweeper;
pub mod telemetry;
pub mod text;

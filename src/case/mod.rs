//! Pure case logic: identifiers, states, the lifecycle, coordinator commands and who may give them.

pub mod checklist;
pub mod command;
pub mod event;
pub mod id;
pub mod lifecycle;
pub mod mail;
pub mod plan;
pub mod state;

pub use id::CaseId;
pub use state::State;

//! Full-text search over every case, and the earlier cases a new report resembles.

pub mod index;
pub mod query;
pub mod similar;
pub mod text;

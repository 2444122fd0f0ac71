//! Pure deadline policy: from a case's facts, the policy and now, the deadlines and reminders due.

pub mod calendar;

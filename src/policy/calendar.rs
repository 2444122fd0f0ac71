//! An optional business calendar: deadlines that count only working days.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CalendarSettings {
    /// Count deadlines in working days only (default: calendar hours).
    #[serde(default)]
    pub working_days_only: bool,
}

impl CalendarSettings {
    pub fn validate(&self) -> Result<(), (String, String)> {
        Ok(())
    }
}

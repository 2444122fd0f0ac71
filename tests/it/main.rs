//! The integration tests, one binary (common is compiled once): each module drives the real
//! `secintake` binary against a real local mail stack (Dovecot + SMTP) and a real SQLite file.
//! `scripts/test.sh` runs the `faults` module on its own, one test at a time.

mod common;

mod advisory;
mod analysis_mail;
mod arc;
mod channels;
mod deadlines;
mod faults;
mod fixtures_corpus;
mod history;
mod intake;
mod lifecycle;
mod mail_text;
mod operator;
mod pgp;
mod pgp_mail;
mod report_html;
mod reporter;
mod search;
mod service;
mod systemd_unit;
mod vacuum;

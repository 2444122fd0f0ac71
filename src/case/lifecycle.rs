//! The case lifecycle as a pure state machine, and the pure application of commands.
//!
//! `apply` takes a case file, the commands of one message and who gave them, and returns
//! the changed file with the changes and the mails to send, or every error found. All the
//! commands of a message apply together, or none does.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};

use super::command::{Assignee, Command};
use super::State;

/// The transitions the security process allows: (from, to, command that does it).
pub const TRANSITIONS: &[(State, State, &str)] = &[
    (State::New, State::Triage, "/assign"),
    (State::Triage, State::Assessing, "/assess"),
    (State::Triage, State::NeedsInfo, "/needs-info"),
    (State::Triage, State::Invalid, "/invalid"),
    (State::Triage, State::Duplicate, "/duplicate"),
    (State::Assessing, State::NeedsInfo, "/needs-info"),
    (State::Assessing, State::Accepted, "/accept"),
    (State::Assessing, State::Invalid, "/invalid"),
    (State::Assessing, State::Duplicate, "/duplicate"),
    (State::NeedsInfo, State::Assessing, "/assess (or the reporter's reply)"),
    (State::NeedsInfo, State::Accepted, "/accept"),
    (State::NeedsInfo, State::Invalid, "/invalid"),
    (State::NeedsInfo, State::Duplicate, "/duplicate"),
    (State::Accepted, State::Patching, "/patch"),
    (State::Accepted, State::Disclosed, "/disclose (after /no-patch)"),
    (State::Patching, State::Released, "/released"),
    (State::Released, State::Disclosed, "/disclose"),
    (State::Disclosed, State::Triage, "/reopen"),
    (State::Invalid, State::Triage, "/reopen"),
    (State::Duplicate, State::Triage, "/reopen"),
];

/// Is `from -> to` in the table?
pub fn allowed(from: State, to: State) -> bool {
    TRANSITIONS.iter().any(|(f, t, _)| *f == from && *t == to)
}

/// Where a case can go from `from`.
pub fn next_states(from: State) -> Vec<State> {
    TRANSITIONS
        .iter()
        .filter(|(f, _, _)| *f == from)
        .map(|(_, t, _)| *t)
        .collect()
}

/// The case as the pure core sees it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CaseFile {
    pub id: String,
    pub state: Option<State>,
    pub reporter: String,
    pub coordinator: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub severity: Option<String>,
    pub cvss_vector: Option<String>,
    pub cvss_score: Option<f64>,
    pub cve: Option<String>,
    pub ghsa: Option<String>,
    pub patched_versions: Option<String>,
    pub embargo_date: Option<NaiveDate>,
    pub duplicate_of: Option<String>,
    pub no_patch: bool,
    pub credit: Option<String>,
    pub anonymous: bool,
    pub flags: Vec<String>,
    pub close_reason: Option<String>,
}

impl CaseFile {
    pub fn state(&self) -> State {
        self.state.unwrap_or(State::New)
    }
}

/// Who gives the commands.
#[derive(Debug, Clone)]
pub struct Actor {
    /// An address, or `cli:<user>`.
    pub id: String,
    /// The address `/assign me` means (None from the CLI).
    pub me: Option<String>,
}

/// Facts about the world a command may need.
pub struct World<'a> {
    pub is_coordinator: &'a (dyn Fn(&str) -> bool + Sync),
    pub case_exists: &'a (dyn Fn(&str) -> bool + Sync),
    pub now: DateTime<Utc>,
}

/// A recorded change (an event) and its line in the confirmation.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub kind: &'static str,
    pub detail: Value,
    pub line: String,
}

/// Mail a command causes (besides the confirmation).
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Tell the reporter the report is invalid, and why.
    Dismissal { reason: String },
    /// Tell the reporter the report duplicates another one.
    DuplicateNotice { of: String },
    /// Tell the reporter the case is disclosed (advisory, CVE, credit).
    ClosingNotice,
    /// A progress update to the reporter on a public transition (accepted, patching, released).
    Progress { state: State },
}

/// The result of a message's commands.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub file: CaseFile,
    pub changes: Vec<Change>,
    pub effects: Vec<Effect>,
    /// `/quiet`: no progress update (nor closing notice) to the reporter for this message.
    pub quiet: bool,
}

fn transition(f: &mut CaseFile, to: State, changes: &mut Vec<Change>, cmd: &str) -> Result<(), String> {
    let from = f.state();
    if from == to {
        return Err(format!("the case is already {to}"));
    }
    if !allowed(from, to) {
        let next: Vec<String> = next_states(from).iter().map(|s| s.to_string()).collect();
        let hint = if from == State::New {
            " (assign a coordinator first: /assign me)"
        } else {
            ""
        };
        return Err(format!(
            "{cmd} cannot move the case from {from} to {to}{hint}; from {from} it can go to: {}",
            if next.is_empty() {
                "nothing".into()
            } else {
                next.join(", ")
            }
        ));
    }
    f.state = Some(to);
    changes.push(Change {
        kind: "state",
        detail: json!({"from": from, "to": to}),
        line: format!("state: {from} -> {to}"),
    });
    Ok(())
}

/// Applies `cmds` in order to a copy of `file`.
pub fn apply(file: &CaseFile, cmds: &[Command], actor: &Actor, world: &World) -> Result<Applied, Vec<String>> {
    let mut f = file.clone();
    let mut changes = Vec::new();
    let mut effects = Vec::new();
    let mut errors = Vec::new();
    let mut quiet = false;
    for c in cmds {
        let r: Result<(), String> = (|| {
            let closed = f.state().is_closed();
            match c {
                Command::Assign(who) => {
                    if closed {
                        return Err(format!("the case is {}; /reopen it first", f.state()));
                    }
                    let addr = match who {
                        Assignee::Me => actor
                            .me
                            .clone()
                            .ok_or("`/assign me` needs a person; name the coordinator's address")?,
                        Assignee::Address(a) => a.to_string(),
                    };
                    if !(world.is_coordinator)(&addr) {
                        return Err(format!("{addr} is not a configured coordinator (team.coordinators)"));
                    }
                    if f.coordinator.as_deref() != Some(addr.as_str()) {
                        changes.push(Change {
                            kind: "assigned",
                            detail: json!({"coordinator": addr, "previous": f.coordinator}),
                            line: format!("coordinator: {addr}"),
                        });
                        f.coordinator = Some(addr);
                    }
                    if f.state() == State::New {
                        transition(&mut f, State::Triage, &mut changes, "/assign")?;
                    }
                    Ok(())
                }
                Command::Ack => {
                    if f.acknowledged_at.is_none() {
                        f.acknowledged_at = Some(world.now);
                        changes.push(Change {
                            kind: "acknowledged",
                            detail: json!({"by": "command"}),
                            line: "acknowledged: the reporter has had a human reply".into(),
                        });
                    }
                    Ok(())
                }
                Command::Reopen => {
                    if !closed {
                        return Err(format!(
                            "the case is open ({}); only a closed case can be reopened",
                            f.state()
                        ));
                    }
                    let to = if f.coordinator.is_some() {
                        State::Triage
                    } else {
                        State::New
                    };
                    let from = f.state();
                    f.state = Some(to);
                    f.close_reason = None;
                    f.duplicate_of = None;
                    changes.push(Change {
                        kind: "state",
                        detail: json!({"from": from, "to": to}),
                        line: format!("state: {from} -> {to} (reopened)"),
                    });
                    Ok(())
                }
                Command::NoPatch => {
                    if !matches!(f.state(), State::Accepted | State::Patching) {
                        return Err(format!(
                            "/no-patch applies to an accepted case, not a {} one",
                            f.state()
                        ));
                    }
                    f.no_patch = true;
                    changes.push(Change {
                        kind: "no-patch",
                        detail: json!({}),
                        line: "no patch needed: the case can be disclosed from accepted".into(),
                    });
                    Ok(())
                }
                Command::Invalid(reason) => {
                    transition(&mut f, State::Invalid, &mut changes, "/invalid")?;
                    f.close_reason = Some(reason.clone());
                    effects.push(Effect::Dismissal { reason: reason.clone() });
                    Ok(())
                }
                Command::Duplicate(of) => {
                    let of = of.to_string();
                    if of == f.id {
                        return Err("a case cannot duplicate itself".into());
                    }
                    if !(world.case_exists)(&of) {
                        return Err(format!("there is no case {of}"));
                    }
                    transition(&mut f, State::Duplicate, &mut changes, "/duplicate")?;
                    f.duplicate_of = Some(of.clone());
                    f.close_reason = Some(format!("duplicate of {of}"));
                    effects.push(Effect::DuplicateNotice { of });
                    Ok(())
                }
                Command::Disclose => {
                    if f.state() == State::Accepted && !f.no_patch {
                        return Err("an accepted case goes to disclosed only when no patch is needed: send /no-patch first (or /patch, then /released)".into());
                    }
                    transition(&mut f, State::Disclosed, &mut changes, "/disclose")?;
                    effects.push(Effect::ClosingNotice);
                    Ok(())
                }
                Command::Released(versions) => {
                    transition(&mut f, State::Released, &mut changes, "/released")?;
                    let v = versions.join(", ");
                    changes.push(Change {
                        kind: "field",
                        detail: json!({"patched_versions": v}),
                        line: format!("patched versions: {v}"),
                    });
                    f.patched_versions = Some(v);
                    effects.push(Effect::Progress { state: State::Released });
                    Ok(())
                }
                Command::Assess | Command::NeedsInfo => transition(
                    &mut f,
                    c.target().expect("transition"),
                    &mut changes,
                    &format!("/{}", c.name()),
                ),
                Command::Accept | Command::Patch => {
                    let to = c.target().expect("transition");
                    transition(&mut f, to, &mut changes, &format!("/{}", c.name()))?;
                    effects.push(Effect::Progress { state: to });
                    Ok(())
                }
                Command::Severity(s) => {
                    f.severity = Some(s.as_str().into());
                    changes.push(Change {
                        kind: "field",
                        detail: json!({"severity": s.as_str()}),
                        line: format!("severity: {}", s.as_str()),
                    });
                    Ok(())
                }
                Command::Cvss(s) => {
                    f.cvss_vector = Some(s.vector.clone());
                    f.cvss_score = Some(s.score);
                    let explicit = cmds.iter().any(|c| matches!(c, Command::Severity(_)));
                    if !explicit {
                        f.severity = Some(s.severity.clone());
                    }
                    changes.push(Change {
                        kind: "field",
                        detail: json!({"cvss_vector": s.vector, "cvss_score": s.score, "cvss_severity": s.severity}),
                        line: format!("CVSS: {} = {} ({})", s.vector, s.score, s.severity),
                    });
                    Ok(())
                }
                Command::Cve(id) => {
                    f.cve = Some(id.clone());
                    changes.push(Change {
                        kind: "field",
                        detail: json!({"cve": id}),
                        line: format!("CVE: {id}"),
                    });
                    Ok(())
                }
                Command::Ghsa(id) => {
                    f.ghsa = Some(id.clone());
                    changes.push(Change {
                        kind: "field",
                        detail: json!({"ghsa": id}),
                        line: format!("GHSA: {id}"),
                    });
                    Ok(())
                }
                Command::Embargo(d) => {
                    if *d < world.now.date_naive() {
                        return Err(format!("the embargo date {d} is in the past"));
                    }
                    f.embargo_date = Some(*d);
                    changes.push(Change {
                        kind: "field",
                        detail: json!({"embargo_date": d.to_string()}),
                        line: format!("embargo until: {d}"),
                    });
                    Ok(())
                }
                Command::Note(t) => {
                    changes.push(Change {
                        kind: "note",
                        detail: json!({"text": t}),
                        line: "note added".into(),
                    });
                    Ok(())
                }
                Command::Public(url) => {
                    if !f.flags.iter().any(|x| x == "premature-disclosure") {
                        f.flags.push("premature-disclosure".into());
                    }
                    changes.push(Change {
                        kind: "public",
                        detail: json!({"url": url}),
                        line: format!("public at: {url} (flagged premature-disclosure)"),
                    });
                    Ok(())
                }
                Command::Credit(name) => {
                    f.credit = Some(name.clone());
                    f.anonymous = false;
                    changes.push(Change {
                        kind: "field",
                        detail: json!({"credit": name}),
                        line: format!("credit: {name}"),
                    });
                    Ok(())
                }
                Command::Anonymous => {
                    f.anonymous = true;
                    changes.push(Change {
                        kind: "field",
                        detail: json!({"anonymous": true}),
                        line: "credit: none (the reporter stays anonymous)".into(),
                    });
                    Ok(())
                }
                Command::Quiet => {
                    quiet = true;
                    changes.push(Change {
                        kind: "quiet",
                        detail: json!({}),
                        line: "no progress update to the reporter for this message".into(),
                    });
                    Ok(())
                }
            }
        })();
        if let Err(e) = r {
            errors.push(format!("/{}: {e}", c.name()));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if quiet {
        effects.retain(|e| !matches!(e, Effect::Progress { .. } | Effect::ClosingNotice));
    }
    Ok(Applied {
        file: f,
        changes,
        effects,
        quiet,
    })
}

#[cfg(test)]
mod tests {
    use super::super::command::{parse_line, Command};
    use super::*;

    fn case() -> CaseFile {
        CaseFile {
            id: "SEC-2026-0001".into(),
            reporter: "jane@example.com".into(),
            ..Default::default()
        }
    }

    fn alice() -> Actor {
        Actor {
            id: "alice@example.org".into(),
            me: Some("alice@example.org".into()),
        }
    }

    fn world() -> World<'static> {
        World {
            is_coordinator: &|a: &str| a == "alice@example.org" || a == "bob@example.org",
            case_exists: &|id: &str| id == "SEC-2026-0002",
            now: DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
        }
    }

    fn run(f: &CaseFile, lines: &[&str]) -> Result<Applied, Vec<String>> {
        let cmds: Vec<Command> = lines.iter().map(|l| parse_line(l).unwrap()).collect();
        apply(f, &cmds, &alice(), &world())
    }

    #[test]
    fn the_whole_valid_path() {
        let mut f = case();
        for (lines, state) in [
            (vec!["/assign me"], State::Triage),
            (vec!["/assess"], State::Assessing),
            (
                vec![
                    "/accept",
                    "/cvss CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
                    "/cve CVE-2026-1234",
                ],
                State::Accepted,
            ),
            (vec!["/patch"], State::Patching),
            (vec!["/released 4.21.3"], State::Released),
            (vec!["/disclose"], State::Disclosed),
        ] {
            f = run(&f, &lines).unwrap().file;
            assert_eq!(f.state(), state, "{lines:?}");
        }
        assert_eq!(f.coordinator.as_deref(), Some("alice@example.org"));
        assert_eq!(f.cvss_score, Some(7.5));
        assert_eq!(f.severity.as_deref(), Some("high"));
        assert_eq!(f.patched_versions.as_deref(), Some("4.21.3"));
    }

    #[test]
    fn illegal_transition_is_a_clear_error_and_nothing_changes() {
        let e = run(&case(), &["/accept"]).unwrap_err();
        assert!(
            e[0].contains("from new to accepted") && e[0].contains("/assign me"),
            "{e:?}"
        );
        let triage = run(&case(), &["/assign me"]).unwrap().file;
        let e = run(&triage, &["/severity high", "/disclose"]).unwrap_err();
        assert_eq!(e.len(), 1);
    }

    #[test]
    fn invalid_and_duplicate_tell_the_reporter() {
        let a = run(&case(), &["/assign me", "/invalid out of the threat model"]).unwrap();
        assert_eq!(a.file.state(), State::Invalid);
        assert_eq!(
            a.effects,
            vec![Effect::Dismissal {
                reason: "out of the threat model".into()
            }]
        );
        let t = run(&case(), &["/assign me"]).unwrap().file;
        assert!(run(&t, &["/duplicate SEC-2026-0009"]).unwrap_err()[0].contains("no case SEC-2026-0009"));
        assert!(run(&t, &["/duplicate SEC-2026-0001"]).unwrap_err()[0].contains("itself"));
        assert_eq!(
            run(&t, &["/duplicate SEC-2026-0002"])
                .unwrap()
                .file
                .duplicate_of
                .as_deref(),
            Some("SEC-2026-0002")
        );
    }

    #[test]
    fn accepted_to_disclosed_needs_no_patch() {
        let f = run(&case(), &["/assign me", "/assess", "/accept"]).unwrap().file;
        assert!(run(&f, &["/disclose"]).is_err());
        assert_eq!(
            run(&f, &["/no-patch", "/disclose"]).unwrap().file.state(),
            State::Disclosed
        );
    }

    #[test]
    fn only_coordinators_can_be_assigned_and_cli_must_name_one() {
        assert!(run(&case(), &["/assign mallory@example.net"]).unwrap_err()[0].contains("not a configured coordinator"));
        let cli = Actor {
            id: "cli:root".into(),
            me: None,
        };
        assert!(apply(&case(), &[Command::Assign(Assignee::Me)], &cli, &world()).is_err());
    }

    #[test]
    fn quiet_drops_progress_updates() {
        let f = run(&case(), &["/assign me", "/assess"]).unwrap().file;
        assert_eq!(
            run(&f, &["/accept"]).unwrap().effects,
            vec![Effect::Progress { state: State::Accepted }]
        );
        assert!(run(&f, &["/accept", "/quiet"]).unwrap().effects.is_empty());
    }

    /// A tiny deterministic generator (no extra crate): xorshift.
    fn rng(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    #[test]
    fn property_random_command_sequences_respect_the_table() {
        let pool = [
            "/assign me",
            "/ack",
            "/assess",
            "/needs-info",
            "/accept",
            "/invalid no",
            "/duplicate SEC-2026-0002",
            "/patch",
            "/no-patch",
            "/released 1.0.0",
            "/disclose",
            "/reopen",
            "/severity low",
            "/note x",
            "/quiet",
        ];
        let mut seed = 0x9E3779B97F4A7C15u64;
        for _ in 0..5000 {
            let mut f = case();
            for _ in 0..12 {
                let n = 1 + (rng(&mut seed) % 3) as usize;
                let lines: Vec<&str> = (0..n)
                    .map(|_| pool[(rng(&mut seed) % pool.len() as u64) as usize])
                    .collect();
                let before = f.clone();
                match run(&f, &lines) {
                    Ok(a) => {
                        // Every state change is in the table (or a /reopen of a closed case).
                        for c in &a.changes {
                            if c.kind == "state" {
                                let from = State::parse(c.detail["from"].as_str().unwrap()).unwrap();
                                let to = State::parse(c.detail["to"].as_str().unwrap()).unwrap();
                                assert!(
                                    allowed(from, to) || (from.is_closed() && to == State::New),
                                    "{from} -> {to} by {lines:?}"
                                );
                            }
                        }
                        // A closed case leaves its closed state only through /reopen.
                        if before.state().is_closed() && a.file.state() != before.state() {
                            assert!(
                                lines.contains(&"/reopen"),
                                "{lines:?} left {} without /reopen",
                                before.state()
                            );
                        }
                        f = a.file;
                    }
                    Err(_) => assert_eq!(f, before, "a refused message changes nothing"),
                }
            }
        }
    }
}

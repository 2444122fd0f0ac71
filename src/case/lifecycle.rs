//! The case lifecycle as a pure state machine, and the pure application of commands.
//!
//! `apply` takes a case file, the commands of one message and who gave them, and returns
//! the changed file with the changes and the mails to send, or every error found. All the
//! commands of a message apply together, or none does.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};
use std::collections::BTreeMap;

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
    (State::Disclosed, State::Triage, "/reopen (with a coordinator)"),
    (State::Invalid, State::Triage, "/reopen (with a coordinator)"),
    (State::Duplicate, State::Triage, "/reopen (with a coordinator)"),
    (State::Disclosed, State::New, "/reopen (no coordinator)"),
    (State::Invalid, State::New, "/reopen (no coordinator)"),
    (State::Duplicate, State::New, "/reopen (no coordinator)"),
    (State::Historical, State::Triage, "/reopen (with a coordinator)"),
    (State::Historical, State::New, "/reopen (no coordinator)"),
];

/// Is `from -> to` in the table?
pub fn allowed(from: State, to: State) -> bool {
    TRANSITIONS.iter().any(|(f, t, _)| *f == from && *t == to)
}

/// Is `from -> to` in the table as a move made by `cmd` (e.g. `/reopen`)? The table's
/// third column names the command first, then any note in parentheses.
pub fn allowed_by(from: State, to: State, cmd: &str) -> bool {
    TRANSITIONS
        .iter()
        .any(|(f, t, c)| *f == from && *t == to && c.split_whitespace().next() == Some(cmd))
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
    /// The checklist items the case still lacks (`affected-versions`, `reproduction`, `impact`).
    pub missing: Vec<String>,
    /// Item -> why it counts as present: the report's phrase, or who stated it (`/have`).
    pub evidence: BTreeMap<String, String>,
    /// The advisory's facts: packages, affected ranges, patched versions, CWEs, summary, description.
    pub advisory: crate::advisory::Facts,
    /// The runbook steps done (`/done STEP`; `/ghsa` and `/cve` tick theirs).
    pub checklist: Vec<super::checklist::Done>,
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
    /// `advisory.default_package`: the package `/released` versions belong to when the case
    /// names none.
    pub default_package: Option<&'a str>,
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
    if !allowed_by(from, to, cmd) {
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
        detail: json!({"from": from, "to": to, "command": cmd}),
        line: format!("state: {from} -> {to}"),
    });
    Ok(())
}

/// Ticks a checklist step (once: the first time counts).
fn tick(f: &mut CaseFile, step: &str, actor: &Actor, world: &World, changes: &mut Vec<Change>) {
    if f.checklist.iter().any(|d| d.step == step) {
        return;
    }
    f.checklist.push(super::checklist::Done {
        step: step.to_string(),
        done_at: world.now,
        by: actor.id.clone(),
    });
    changes.push(Change {
        kind: "done",
        detail: json!({"step": step}),
        line: format!("checklist: {step} done"),
    });
}

fn add_package(a: &mut crate::advisory::Facts, name: &str, changes: &mut Vec<Change>) {
    if !a.packages.iter().any(|p| p == name) {
        a.packages.push(name.to_string());
        changes.push(Change {
            kind: "advisory",
            detail: json!({"package": name}),
            line: format!("package: {name}"),
        });
    }
}

fn add_patched(a: &mut crate::advisory::Facts, package: &str, version: &str, changes: &mut Vec<Change>) {
    add_package(a, package, changes);
    let p = crate::advisory::Patched {
        package: package.to_string(),
        version: version.to_string(),
    };
    if !a.patched.contains(&p) {
        a.patched.push(p);
        changes.push(Change {
            kind: "advisory",
            detail: json!({"patched": {"package": package, "version": version}}),
            line: format!("patched: {package} {version}"),
        });
    }
}

/// The package a `/released VERSION` belongs to: the case's only package (or the default
/// when it names none), else the package one of whose affected ranges that version fixes.
fn released_package(a: &crate::advisory::Facts, version: &str, default: Option<&str>) -> Option<String> {
    let packages = a.packages_or(default);
    if packages.len() == 1 {
        return packages.into_iter().next();
    }
    let v = crate::advisory::range::version(version)?;
    packages.into_iter().find(|p| {
        a.ranges(p)
            .iter()
            .any(|r| crate::advisory::range::parse(r).is_ok_and(|iv| iv.iter().any(|i| i.fixed() == Some(&v))))
    })
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
                    transition(&mut f, to, &mut changes, "/reopen")?;
                    if let Some(c) = changes.last_mut() {
                        c.line.push_str(" (reopened)");
                    }
                    f.close_reason = None;
                    f.duplicate_of = None;
                    // A reopened case is assessed again: an old "no patch needed" no longer holds.
                    f.no_patch = false;
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
                    for version in versions {
                        if let Some(pkg) = released_package(&f.advisory, version, world.default_package) {
                            add_patched(&mut f.advisory, &pkg, version, &mut changes);
                        }
                    }
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
                    tick(&mut f, "cve-requested", actor, world, &mut changes);
                    f.cve = Some(id.clone());
                    changes.push(Change {
                        kind: "field",
                        detail: json!({"cve": id}),
                        line: format!("CVE: {id}"),
                    });
                    Ok(())
                }
                Command::Ghsa(id) => {
                    tick(&mut f, "advisory-created", actor, world, &mut changes);
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
                Command::Have(items) => {
                    for item in items {
                        let name = item.as_str();
                        if !f.missing.iter().any(|m| m == name) {
                            changes.push(Change {
                                kind: "have",
                                detail: json!({"item": name, "was_missing": false}),
                                line: format!("{name}: already counted as present; nothing changed"),
                            });
                            continue;
                        }
                        f.missing.retain(|m| m != name);
                        let stated = format!("stated by {}", actor.id);
                        f.evidence.insert(name.to_string(), stated.clone());
                        changes.push(Change {
                            kind: "have",
                            detail: json!({"item": name, "was_missing": true, "evidence": stated}),
                            line: format!("{name}: no longer missing ({stated}); the reporter is not asked for it"),
                        });
                    }
                    Ok(())
                }
                Command::Package(name) => {
                    add_package(&mut f.advisory, name, &mut changes);
                    Ok(())
                }
                Command::Affected { package, range } => {
                    add_package(&mut f.advisory, package, &mut changes);
                    let a = crate::advisory::Affected {
                        package: package.clone(),
                        range: range.clone(),
                    };
                    if !f.advisory.affected.contains(&a) {
                        let mut ranges = f.advisory.ranges(package);
                        ranges.push(range);
                        crate::advisory::range::merge(&ranges)
                            .map_err(|e| format!("{package} {range} overlaps the ranges given before ({e})"))?;
                        f.advisory.affected.push(a);
                        changes.push(Change {
                            kind: "advisory",
                            detail: json!({"affected": {"package": package, "range": range}}),
                            line: format!("affected: {package} {range}"),
                        });
                    }
                    Ok(())
                }
                Command::Patched { package, version } => {
                    add_patched(&mut f.advisory, package, version, &mut changes);
                    Ok(())
                }
                Command::Cwe(id) => {
                    if !f.advisory.cwes.contains(id) {
                        f.advisory.cwes.push(id.clone());
                        changes.push(Change {
                            kind: "advisory",
                            detail: json!({"cwe": id}),
                            line: format!("CWE: {id}"),
                        });
                    }
                    Ok(())
                }
                Command::Summary(t) => {
                    f.advisory.summary = Some(t.clone());
                    changes.push(Change {
                        kind: "advisory",
                        detail: json!({"summary": t}),
                        // The text stays out of the confirmation mail (an encrypted case's mail
                        // is clear unless sealed); the event keeps it.
                        line: format!("summary: set ({} characters)", t.chars().count()),
                    });
                    Ok(())
                }
                Command::Advisory(d) => {
                    f.advisory.description = Some(d.clone());
                    changes.push(Change {
                        kind: "advisory",
                        detail: json!({"description_chars": d.chars().count()}),
                        line: format!("description: {} characters of Markdown", d.chars().count()),
                    });
                    Ok(())
                }
                Command::Done(step) => {
                    if f.checklist.iter().any(|d| d.step == *step) {
                        changes.push(Change {
                            kind: "done",
                            detail: json!({"step": step, "already": true}),
                            line: format!("checklist: {step} was already done; nothing changed"),
                        });
                    } else {
                        tick(&mut f, step, actor, world, &mut changes);
                    }
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

    pub(super) fn case() -> CaseFile {
        CaseFile {
            id: "SEC-2026-0001".into(),
            reporter: "jane@example.com".into(),
            ..Default::default()
        }
    }

    pub(super) fn alice() -> Actor {
        Actor {
            id: "alice@example.org".into(),
            me: Some("alice@example.org".into()),
        }
    }

    pub(super) fn world() -> World<'static> {
        World {
            is_coordinator: &|a: &str| a == "alice@example.org" || a == "bob@example.org",
            case_exists: &|id: &str| id == "SEC-2026-0002",
            now: DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            default_package: Some("express"),
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
    fn reopen_goes_through_the_table_and_clears_no_patch() {
        // Every reopen move is a row of the table, made by /reopen and nothing else.
        for closed in State::ALL.into_iter().filter(|s| s.is_closed()) {
            for to in [State::Triage, State::New] {
                assert!(allowed_by(closed, to, "/reopen"), "{closed} -> {to}");
                assert!(!allowed_by(closed, to, "/assess"), "{closed} -> {to}");
            }
        }
        // Disclosed without a patch, then reopened: /no-patch no longer holds.
        let f = run(&case(), &["/assign me", "/assess", "/accept", "/no-patch", "/disclose"])
            .unwrap()
            .file;
        assert!(f.no_patch);
        let a = run(&f, &["/reopen"]).unwrap();
        assert_eq!(a.file.state(), State::Triage);
        assert!(!a.file.no_patch, "/reopen clears no_patch");
        assert_eq!(a.changes[0].detail["command"], "/reopen");
        assert_eq!(a.changes[0].line, "state: disclosed -> triage (reopened)");
        let again = run(&a.file, &["/assess", "/accept"]).unwrap().file;
        assert!(run(&again, &["/disclose"]).is_err(), "needs /no-patch again");
        // Without a coordinator a reopened case goes back to new, also by the table.
        let orphan = CaseFile {
            state: Some(State::Invalid),
            close_reason: Some("spam".into()),
            ..case()
        };
        let a = run(&orphan, &["/reopen"]).unwrap();
        assert_eq!(a.file.state(), State::New);
        assert_eq!(a.file.close_reason, None);
        assert_eq!(
            (a.changes[0].detail["from"].as_str(), a.changes[0].detail["to"].as_str()),
            (Some("invalid"), Some("new"))
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
    fn have_clears_missing_items_and_records_who_said_so() {
        let f = CaseFile {
            missing: vec!["reproduction".into(), "impact".into()],
            evidence: [("affected-versions".to_string(), "express 4.21.2".to_string())].into(),
            ..case()
        };
        let a = run(&f, &["/have impact"]).unwrap();
        assert_eq!(a.file.missing, vec!["reproduction"]);
        assert_eq!(a.file.evidence["impact"], "stated by alice@example.org");
        assert_eq!(
            a.file.evidence["affected-versions"], "express 4.21.2",
            "the report's phrase stays"
        );
        assert_eq!(a.file.state(), State::New, "no transition");
        assert_eq!(a.changes.len(), 1);
        assert_eq!(a.changes[0].kind, "have");
        assert_eq!(a.changes[0].detail["item"], "impact");
        assert!(a.effects.is_empty(), "no mail to the reporter");
        // An item already present: nothing changes, and the report's evidence is kept.
        let b = run(&a.file, &["/have versions"]).unwrap();
        assert_eq!(b.file, a.file);
        assert!(b.changes[0].line.contains("already counted as present"));
    }

    #[test]
    fn advisory_facts_accumulate_and_released_fills_patched() {
        let f = run(&case(), &["/assign me", "/assess", "/accept"]).unwrap().file;
        let a = run(
            &f,
            &[
                "/affected express <4.21.2",
                "/affected express >=5.0.0 <5.0.1",
                "/affected body-parser <1.20.3",
                "/cwe CWE-79",
                "/cwe CWE-79",
                "/summary XSS in res.redirect()",
                "/patch",
            ],
        )
        .unwrap();
        let adv = &a.file.advisory;
        assert_eq!(adv.packages, vec!["express", "body-parser"]);
        assert_eq!(adv.affected.len(), 3);
        assert_eq!(adv.cwes, vec!["CWE-79"], "once each");
        // Several packages: each released version goes to the package whose range it fixes.
        let r = run(&a.file, &["/released 4.21.2 5.0.1 1.20.3"]).unwrap().file;
        let got: Vec<(String, String)> = r
            .advisory
            .patched
            .iter()
            .map(|p| (p.package.clone(), p.version.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("express".into(), "4.21.2".into()),
                ("express".into(), "5.0.1".into()),
                ("body-parser".into(), "1.20.3".into())
            ]
        );
        // No package named: the default package.
        let p = run(
            &case(),
            &["/assign me", "/assess", "/accept", "/patch", "/released 4.21.3"],
        )
        .unwrap()
        .file;
        assert_eq!(p.advisory.patched[0].package, "express");
        // A range overlapping an earlier one is refused.
        assert!(run(&a.file, &["/affected express <4.0.0"]).unwrap_err()[0].contains("overlaps"));
    }

    #[test]
    fn done_ticks_steps_once_and_ghsa_cve_tick_theirs() {
        let a = run(&case(), &["/done privatized", "/ghsa GHSA-9wv6-86v2-598j"]).unwrap();
        let steps: Vec<&str> = a.file.checklist.iter().map(|d| d.step.as_str()).collect();
        assert_eq!(steps, vec!["privatized", "advisory-created"]);
        assert_eq!(a.file.checklist[0].by, "alice@example.org");
        assert_eq!(a.file.checklist[0].done_at, world().now);
        let b = run(&a.file, &["/done privatized", "/cve CVE-2026-1234"]).unwrap();
        assert_eq!(b.file.checklist.len(), 3);
        assert!(b.changes[0].line.contains("already done"));
        assert!(parse_line("/done lunch").is_err());
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
}

/// Generated command messages for property tests (here and in the store's tests).
#[cfg(test)]
pub mod gen {
    use proptest::prelude::*;

    /// Every command of the grammar with good arguments (it may still be refused: an
    /// illegal transition, a closed case...).
    pub const GOOD: &[&str] = &[
        "/assign me",
        "/assign",
        "/assign bob@example.org",
        "/ack",
        "/assess",
        "/needs-info",
        "/accept",
        "/invalid out of the threat model",
        "/duplicate SEC-2026-0002",
        "/patch",
        "/no-patch",
        "/released 4.21.3",
        "/released 4.21.3 5.0.1",
        "/disclose",
        "/reopen",
        "/severity low",
        "/severity critical",
        "/cvss CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
        "/cvss CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
        "/cve CVE-2026-41234",
        "/ghsa GHSA-9wv6-86v2-598j",
        "/embargo 2026-12-31",
        "/note called the reporter",
        "/public https://github.com/expressjs/express/issues/1",
        "/credit Jane Doe",
        "/anonymous",
        "/quiet",
        "/have impact",
        "/have versions reproduction",
        "/package express",
        "/affected express <4.21.2",
        "/patched express 4.21.2",
        "/cwe CWE-79",
        "/summary XSS in res.redirect()",
        "/done privatized",
        "/done blog-post",
    ];

    /// Bad arguments and unknown commands: parse errors, or apply errors (an unknown
    /// coordinator, a missing case, the case itself, a past embargo date).
    pub const BAD: &[&str] = &[
        "/assign mallory@example.net",
        "/assign not-an-address",
        "/ack now",
        "/invalid",
        "/duplicate SEC-2026-0009",
        "/duplicate SEC-2026-0001",
        "/duplicate 42",
        "/released four",
        "/severity severe",
        "/cvss CVSS:3.1/AV:X",
        "/cvss AV:N/AC:L",
        "/cve 2026-1",
        "/ghsa GHSA-1111-2222-3333",
        "/embargo 2020-01-01",
        "/embargo next week",
        "/note",
        "/public ftp://example.org/x",
        "/close",
        "/frobnicate now",
        "/have foo",
        "/affected express 4.x",
        "/cwe 79",
    ];

    /// One line: mostly a good command, else a bad one, a made-up command, or junk text.
    pub fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            12 => proptest::sample::select(GOOD).prop_map(String::from),
            2 => proptest::sample::select(BAD).prop_map(String::from),
            1 => "/[a-z-]{1,12}( [ -~]{0,20})?",
            1 => "[ -~]{0,30}",
        ]
    }

    /// Ways through the process; a generated sequence starts with part of one, so that the
    /// random messages after it start from every state, not only the first ones.
    pub const PATHS: &[&[&str]] = &[
        &[
            "/assign me",
            "/assess",
            "/accept",
            "/patch",
            "/released 4.21.3",
            "/disclose",
        ],
        &["/assign me", "/needs-info", "/accept\n/no-patch", "/disclose"],
        &["/assign me", "/assess", "/invalid out of scope"],
        &["/assign me", "/needs-info", "/duplicate SEC-2026-0002"],
    ];

    /// Part of a path, then `n` random messages.
    pub fn sequence(n: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Vec<String>>> {
        (0..PATHS.len(), 0..=6usize, proptest::collection::vec(message(), n)).prop_map(|(p, k, rest)| {
            let path = PATHS[p];
            let mut msgs: Vec<Vec<String>> = path[..k.min(path.len())]
                .iter()
                .map(|m| m.split('\n').map(String::from).collect())
                .collect();
            msgs.extend(rest);
            msgs
        })
    }

    /// One message: 1 to 3 lines.
    pub fn message() -> impl Strategy<Value = Vec<String>> {
        proptest::collection::vec(line(), 1..=3)
    }
}

#[cfg(test)]
mod properties {
    use super::super::command::parse_all;
    use super::tests::{alice, case, world};
    use super::*;
    use proptest::prelude::*;

    /// What the store does with a message: parse errors or apply errors refuse it whole.
    fn message(f: &CaseFile, lines: &[String]) -> (Vec<Command>, Result<Applied, Vec<String>>) {
        let (cmds, errs) = parse_all(&lines.join("\n"));
        if !errs.is_empty() {
            return (cmds, Err(errs.iter().map(|e| e.to_string()).collect()));
        }
        let r = apply(f, &cmds, &alice(), &world());
        (cmds, r)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn the_state_machine_keeps_to_its_table(msgs in gen::sequence(1..16)) {
            let mut f = case();
            for lines in &msgs {
                let before = f.clone();
                let (cmds, r) = message(&f, lines);
                match r {
                    Ok(a) => {
                        // Every state change is a row of the table, made by its command,
                        // and the changes chain from the old state to the new one.
                        let mut at = before.state();
                        for c in a.changes.iter().filter(|c| c.kind == "state") {
                            let from = State::parse(c.detail["from"].as_str().unwrap()).unwrap();
                            let to = State::parse(c.detail["to"].as_str().unwrap()).unwrap();
                            let by = c.detail["command"].as_str().unwrap();
                            prop_assert!(allowed_by(from, to, by), "{} -> {} by {} in {:?}", from, to, by, lines);
                            prop_assert_eq!(from, at);
                            // No transition leaves a closed state except /reopen.
                            if from.is_closed() {
                                prop_assert_eq!(by, "/reopen", "{:?}", lines);
                            }
                            at = to;
                        }
                        prop_assert_eq!(a.file.state(), at);
                        if before.state().is_closed() && a.file.state() != before.state() {
                            prop_assert!(cmds.contains(&Command::Reopen), "{:?}", lines);
                        }
                        // The same accepted message on the same case does the same again.
                        let (_, again) = message(&before, lines);
                        prop_assert_eq!(again.as_ref(), Ok(&a));
                        f = a.file;
                    }
                    Err(errors) => {
                        // Refused whole: an error for each bad command, nothing kept.
                        prop_assert!(!errors.is_empty());
                        prop_assert_eq!(&f, &before);
                        let (_, again) = message(&before, lines);
                        prop_assert_eq!(again, Err(errors));
                    }
                }
            }
        }

        #[test]
        fn a_message_with_an_error_is_refused_whole(
            prefix in gen::message(),
            bad in proptest::sample::select(&["/frobnicate", "/cvss CVSS:3.1/AV:X", "/assign mallory@example.net", "/embargo 2020-01-01", "/duplicate SEC-2026-0009", "/accept"][..]),
            suffix in gen::message(),
        ) {
            // /accept is bad here because the case is new (it needs /assign and /assess first),
            // unless the prefix got it there: then skip.
            let mut lines = prefix.clone();
            lines.push(bad.to_string());
            lines.extend(suffix);
            let f = case();
            let (_, r) = message(&f, &lines);
            let accept_reachable = bad == "/accept" && message(&f, &prefix).1.is_ok_and(|a| allowed_by(a.file.state(), State::Accepted, "/accept"));
            if !accept_reachable {
                prop_assert!(r.is_err(), "{:?} was applied", lines);
            }
        }
    }
}

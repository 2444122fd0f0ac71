//! Command text as a coordinator would write it: parse every `/command`, then apply each one,
//! and the whole list, to cases in every state. `apply` must never panic, and a closed case
//! may leave its closed state only through `/reopen`.
#![no_main]

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use secintake::case::command::{parse_all, Command};
use secintake::case::lifecycle::{allowed, apply, Actor, CaseFile, World};
use secintake::case::State;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000, 0).unwrap() // 2026-11-18, fixed
}

fn is_coordinator(a: &str) -> bool {
    a == "alice@example.org" || a == "bob@example.org"
}

fn case_exists(id: &str) -> bool {
    id == "SEC-2026-0002"
}

/// Applies `cmds` to `file` and checks the invariants; returns the new file on success.
fn check(file: &CaseFile, cmds: &[Command], actor: &Actor, world: &World) -> Option<CaseFile> {
    match apply(file, cmds, actor, world) {
        Err(errors) => {
            assert!(!errors.is_empty(), "Err with no error message");
            None
        }
        Ok(a) => {
            let before = file.state();
            let after = a.file.state();
            if before.is_closed() && after != before {
                assert!(
                    cmds.iter().any(|c| matches!(c, Command::Reopen)),
                    "{before} -> {after} without /reopen: {cmds:?}"
                );
            }
            for c in &a.changes {
                if c.kind == "state" {
                    let from = State::parse(c.detail["from"].as_str().unwrap()).unwrap();
                    let to = State::parse(c.detail["to"].as_str().unwrap()).unwrap();
                    assert!(
                        allowed(from, to) || (from.is_closed() && to == State::New),
                        "{from} -> {to} is not in the table: {cmds:?}"
                    );
                }
            }
            if cmds.is_empty() {
                assert_eq!(&a.file, file, "no command changed the case");
            }
            Some(a.file)
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let (cmds, _errors) = parse_all(&s);
    let actor = Actor {
        id: "alice@example.org".into(),
        me: Some("alice@example.org".into()),
    };
    let world = World {
        is_coordinator: &is_coordinator,
        case_exists: &case_exists,
        now: now(),
    };
    let fresh = CaseFile::default();
    // Each command alone, on a default case.
    for c in &cmds {
        check(&fresh, std::slice::from_ref(c), &actor, &world);
    }
    // The whole message at once, on a case in each state.
    for st in State::ALL {
        let f = CaseFile {
            id: "SEC-2026-0001".into(),
            state: Some(st),
            reporter: "jane@example.com".into(),
            coordinator: (st != State::New).then(|| "bob@example.org".into()),
            ..Default::default()
        };
        check(&f, &cmds, &actor, &world);
    }
    // One command after the other, carrying the case along.
    let mut f = fresh;
    for c in &cmds {
        if let Some(next) = check(&f, std::slice::from_ref(c), &actor, &world) {
            f = next;
        }
    }
});

//! `secintake vacuum`: a database with real content (reports, a coordinator's commands, a
//! follow-up, imported history) keeps every case and timeline through VACUUM, the sizes
//! before and after are reported, and it runs beside the daemon. No IMAP/SMTP is needed.

use crate::common::*;
use serde_json::Value;
use std::time::{Duration, Instant};

/// Two archived threads as a list server's mbox export holds them.
const HISTORY_MBOX: &str = "From old1@example.test Mon Mar 13 09:00:00 2023
From: Old Reporter <old1@example.test>
To: security@example.test
Subject: Header injection in res.set
Message-ID: <old-1@example.test>
Date: Mon, 13 Mar 2023 09:00:00 +0000

res.set('X-A', 'a\\r\\nSet-Cookie: x=1') writes a second header in express 4.18.2.
Impact: response splitting.

From alice@example.test Tue Mar 14 10:00:00 2023
From: Alice <alice@example.test>
To: old1@example.test, security@example.test
Subject: Re: Header injection in res.set
Message-ID: <old-2@example.test>
In-Reply-To: <old-1@example.test>
References: <old-1@example.test>
Date: Tue, 14 Mar 2023 10:00:00 +0000

Thanks, confirmed; fixed in 4.18.3.

From old2@example.test Wed Jun 07 08:00:00 2023
From: Second Reporter <old2@example.test>
To: security@example.test
Subject: Path traversal in serve-static
Message-ID: <old-3@example.test>
Date: Wed, 07 Jun 2023 08:00:00 +0000

GET /..%2f..%2fetc/passwd reads files outside the root with serve-static 1.15.0.

";

/// Everything the CLI shows of the database: every case's summary and full timeline.
fn everything(w: &World) -> (Value, Vec<Value>) {
    let all: Value = serde_json::from_str(&w.run(&["cases", "--all", "--json"])).unwrap();
    let details = all
        .as_array()
        .unwrap()
        .iter()
        .map(|c| w.case(c["id"].as_str().unwrap()))
        .collect();
    (all, details)
}

fn vacuum(w: &World) -> Value {
    let v: Value = serde_json::from_str(&w.run(&["vacuum", "--json"])).unwrap();
    let (before, after) = (v["before_bytes"].as_u64().unwrap(), v["after_bytes"].as_u64().unwrap());
    assert!(before > 0 && after > 0, "{v}");
    assert_eq!(v["freed_bytes"].as_u64().unwrap(), before.saturating_sub(after), "{v}");
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn vacuum_keeps_every_case_reports_the_sizes_and_runs_beside_the_daemon() {
    let w = World::new();
    w.deliver(&report(
        REPORTER,
        "ReDoS in path matching",
        "<v-1@example.test>",
        COMPLETE_BODY,
    ))
    .await;
    w.deliver(&report(
        "dan@example.test",
        "Open redirect after login",
        "<v-2@example.test>",
        "Hi,\n\nres.redirect(req.query.next) sends users to //evil.example in express 4.18.2.\n\nSteps: open /login?next=//evil.example\n\nImpact: phishing.\n\nDan",
    ))
    .await;
    w.once();
    let id = w
        .cases()
        .iter()
        .find(|c| c["subject"] == "ReDoS in path matching")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    w.deliver(&reply(
        ALICE,
        LIST,
        &format!("Re: [{id}] ReDoS in path matching"),
        "<v-3@example.test>",
        "<v-1@example.test>",
        &authenticated("example.test"),
        "/assign me\n/note reproduced on 4.21.1\n\nThanks, looking at it.",
    ))
    .await;
    w.deliver(&reply(
        REPORTER,
        LIST,
        "Re: ReDoS in path matching",
        "<v-4@example.test>",
        "<v-1@example.test>",
        "",
        "One more detail: 5.0.0 is affected too.",
    ))
    .await;
    w.once();
    let mbox = w.dir.path().join("history.mbox");
    std::fs::write(&mbox, HISTORY_MBOX).unwrap();
    let out = w.run(&["import", "--history", mbox.to_str().unwrap()]);
    assert!(out.contains("3 imported as history (2 new case(s))"), "{out}");

    let before = everything(&w);
    assert_eq!(
        before.0.as_array().unwrap().len(),
        4,
        "two open and two historical cases"
    );
    let case = w.case(&id);
    assert_eq!(case["coordinator"], ALICE, "{case}");
    assert_eq!(
        case["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["direction"] == "in")
            .count(),
        3
    );
    let open_before = w.run(&["cases", "--json"]);

    // No mail server is needed: the IMAP/SMTP password is not even in the config.
    let offline = std::fs::read_to_string(&w.config)
        .unwrap()
        .replace("password = \"secret\"\n", "");
    std::fs::write(&w.config, &offline).unwrap();
    w.stack.stop_imap();
    w.stack.stop_smtp();
    let v = vacuum(&w);
    assert!(
        v["after_bytes"].as_u64() <= v["before_bytes"].as_u64(),
        "VACUUM never grows the database: {v}"
    );
    assert_eq!(v["wal_truncated"], true, "{v}");
    assert_eq!(
        std::fs::metadata(w.db.with_file_name("secintake.db-wal"))
            .map(|m| m.len())
            .unwrap_or(0),
        0,
        "the WAL is checkpointed and emptied"
    );
    assert_eq!(everything(&w), before, "every case and timeline is still there");
    assert_eq!(w.run(&["cases", "--json"]), open_before);
    let text = w.run(&["vacuum"]);
    assert!(
        text.contains("before:") && text.contains("after:") && text.contains("freed:"),
        "{text}"
    );

    // Beside a running daemon: VACUUM waits for the write lock like any writer.
    w.write_config("");
    w.stack.start_imap();
    w.stack.start_smtp();
    let mut d = w.spawn();
    let t = Instant::now();
    while !d.log().contains("IMAP ready") {
        assert!(t.elapsed() < Duration::from_secs(20), "daemon not ready:\n{}", d.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for _ in 0..3 {
        vacuum(&w);
        assert_eq!(w.run(&["cases", "--json"]), open_before);
    }
    let (status, _) = d.terminate();
    assert!(status.success(), "the daemon ran on and stopped cleanly:\n{}", d.log());
    assert!(!d.log().contains("locked"), "{}", d.log());
    assert_eq!(everything(&w), before);
}

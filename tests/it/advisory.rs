//! Advisory facts by authenticated mail, then `secintake advisory`: every JSON export checked
//! against the official schema (OSV from PyPI osv, CVE 5.1.1 from PyPI cvelib, GitHub's REST
//! description from npm @octokit/openapi) by scripts/validate-advisory.py.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::*;

static SEQ: AtomicUsize = AtomicUsize::new(0);

const ADVISORY: &str = r#"
[advisory]
ecosystem = "npm"
default_package = "express"
repository = "github.com/expressjs/express"
cna_org_id = "00000000-0000-4000-8000-000000000000"
"#;

fn command_mail(case_id: &str, parent: &str, body: &str) -> String {
    let n = SEQ.fetch_add(1, Ordering::SeqCst);
    reply(
        ALICE,
        LIST,
        &format!("Re: [{case_id}] report"),
        &format!("<adv{n}@example.test>"),
        parent,
        &authenticated("example.test"),
        body,
    )
}

/// Runs the validator on `doc`; fails (never skips) when the schemas are not installed.
fn validate(format: &str, doc: &str) {
    if let Err(e) = check(format, doc) {
        panic!("{format} export is not valid against the official schema:\n{e}\n{doc}");
    }
}

fn check(format: &str, doc: &str) -> Result<(), String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/validate-advisory.py");
    let mut child = Command::new("/usr/bin/python3")
        .arg(script)
        .arg(format)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("/usr/bin/python3 is needed: run scripts/setup-debian.sh");
    child.stdin.take().unwrap().write_all(doc.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_ne!(
        out.status.code(),
        Some(3),
        "the official schemas are not installed: {stderr}"
    );
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{stdout}{stderr}"))
    }
}

/// `secintake advisory ARGS`: (exit code, stdout, stderr).
fn advisory(w: &World, args: &[&str]) -> (i32, String, String) {
    let mut a = vec!["advisory"];
    a.extend(args);
    let out = w.output(&a);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn export(w: &World, args: &[&str]) -> String {
    let (code, out, err) = advisory(w, args);
    assert_eq!(code, 0, "advisory {args:?}: {err}");
    out
}

fn id_of(w: &World, subject: &str) -> String {
    w.cases().iter().find(|c| c["subject"] == subject).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

const DESCRIPTION_A: &str = "### Impact\n\n`res.redirect()` passes an unescaped URL to the HTML body of the redirect; a crafted `Location` runs script in the user's browser.\n\n### Patches\n\nFixed in 4.21.2 and 5.0.1.\n\n### Workarounds\n\n* Validate URLs before redirecting.";

const DESCRIPTION_B: &str = "### Impact\n\nA request body of nested arrays — « tableaux imbriqués », 嵌套数组 — makes `bodyParser.urlencoded()` and `express.urlencoded()` use **quadratic** time.\n\n```js\napp.use(express.urlencoded({ extended: true }))\n```\n\n| version | status |\n| --- | --- |\n| 4.21.1 | affected |";

#[tokio::test(flavor = "multi_thread")]
async fn advisory_exports_from_mail_commands_validate_against_the_official_schemas() {
    let w = World::with(ADVISORY);
    w.deliver(&report(
        REPORTER,
        "XSS in redirect",
        "<advA@example.test>",
        COMPLETE_BODY,
    ))
    .await;
    let public =
        format!("{COMPLETE_BODY}\n\nI also opened https://github.com/expressjs/express/pull/6123 by mistake, sorry.");
    w.deliver(&report(
        "reporter2@example.test",
        "DoS in urlencoded",
        "<advB@example.test>",
        &public,
    ))
    .await;
    w.once();
    let a = id_of(&w, "XSS in redirect");
    let b = id_of(&w, "DoS in urlencoded");

    // Case A: the full path, CVSS 3.1, a CVE and a GHSA; the reporter is credited by name.
    // The quoted text and the signature after the description are not part of it.
    w.deliver(&command_mail(
        &a,
        "<advA@example.test>",
        &format!(
            "/assign me\n/assess\n/accept\n/cvss CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N\n/cve CVE-2026-41234\n/ghsa GHSA-9wv6-86v2-598j\n/cwe CWE-79\n/affected express <4.21.2\n/affected express >=5.0.0 <5.0.1\n/summary XSS in res.redirect()\n/advisory\n{DESCRIPTION_A}\n\n-- \nAlice\n\nOn Sat, Jane wrote:\n> /disclose\n> secret details"
        ),
    ))
    .await;
    // Case B: several packages and ranges, CVSS 4.0, a GHSA but no CVE yet, an anonymous reporter.
    w.deliver(&command_mail(
        &b,
        "<advB@example.test>",
        &format!(
            "/assign me\n/assess\n/accept\n/anonymous\n/ghsa GHSA-4wf5-vphf-c2xc\n/cvss CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N\n/package body-parser\n/affected express <4.21.2\n/affected body-parser <1.20.3\n/affected body-parser >=2.0.0 <2.0.2\n/patched body-parser 1.20.3\n/cwe CWE-400\n/cwe CWE-1333\n/summary Denial of service in urlencoded body parsing\n/advisory\n{DESCRIPTION_B}"
        ),
    ))
    .await;
    w.once();
    let da = w.case(&a);
    assert_eq!(da["state"], "accepted", "{:#?}", da["events"]);
    assert_eq!(da["packages"], json!(["express"]));
    assert_eq!(
        da["affected"],
        json!([{"package": "express", "range": "<4.21.2"}, {"package": "express", "range": ">=5.0.0 <5.0.1"}])
    );
    assert_eq!(da["cwes"], json!(["CWE-79"]));
    assert_eq!(da["summary"], "XSS in res.redirect()");
    assert_eq!(
        da["description"], DESCRIPTION_A,
        "Markdown kept; signature and quote left out"
    );
    let db = w.case(&b);
    assert_eq!(db["state"], "accepted", "{:#?}", db["events"]);
    assert_eq!(db["packages"], json!(["body-parser", "express"]));
    assert_eq!(db["description"], DESCRIPTION_B);
    assert_eq!(db["anonymous"], true);
    // The case summaries carry the facts too.
    let summary = w.cases().into_iter().find(|c| c["id"] == b).unwrap();
    assert_eq!(
        summary["patched"],
        json!([{"package": "body-parser", "version": "1.20.3"}])
    );

    // Bad facts: an error reply, nothing changes (the good /cwe in the same message neither).
    w.deliver(&command_mail(
        &a,
        "<advA@example.test>",
        "/cwe CWE-20\n/affected express 4.x\n/cwe 79\n/summary",
    ))
    .await;
    w.deliver(&command_mail(&a, "<advA@example.test>", "/advisory\n\n"))
        .await;
    w.once();
    let mails = w.wait_mail("alice", 4, Duration::from_secs(5)).await;
    let refusals: Vec<String> = mails
        .iter()
        .filter(|m| m.subject().contains("Not applied"))
        .map(|m| m.body())
        .collect();
    assert_eq!(
        refusals.len(),
        2,
        "{:?}",
        mails.iter().map(|m| m.subject()).collect::<Vec<_>>()
    );
    assert!(
        refusals[0].contains("`4.x` is not a full version")
            && refusals[0].contains("`79` is not a CWE id")
            && refusals[0].contains("needs a one-line summary"),
        "{}",
        refusals[0]
    );
    assert!(refusals[1].contains("description is empty"), "{}", refusals[1]);
    assert_eq!(w.case(&a)["cwes"], json!(["CWE-79"]));

    // Released: the patched versions of case A's package are filled in.
    w.deliver(&command_mail(
        &a,
        "<advA@example.test>",
        "/patch\n/released 4.21.2 5.0.1",
    ))
    .await;
    w.once();
    assert_eq!(
        w.case(&a)["patched"],
        json!([{"package": "express", "version": "4.21.2"}, {"package": "express", "version": "5.0.1"}])
    );

    // OSV: both cases, valid; ids, aliases, events, severities, credit.
    let osv_a: Value = serde_json::from_str(&export(&w, &[&a, "--format", "osv"])).unwrap();
    validate("osv", &osv_a.to_string());
    assert_eq!(osv_a["id"], "GHSA-9wv6-86v2-598j");
    assert_eq!(osv_a["aliases"], json!(["CVE-2026-41234"]));
    assert_eq!(
        osv_a["affected"][0]["ranges"][1]["events"],
        json!([{"introduced": "5.0.0"}, {"fixed": "5.0.1"}])
    );
    assert_eq!(osv_a["credits"], json!([{"name": "Jane Reporter", "type": "FINDER"}]));
    let osv_b: Value = serde_json::from_str(&export(&w, &[&b, "--format", "osv"])).unwrap();
    validate("osv", &osv_b.to_string());
    assert_eq!(osv_b["id"], "GHSA-4wf5-vphf-c2xc");
    assert_eq!(osv_b["database_specific"]["secintake_case"], b.as_str());
    assert!(osv_b.get("aliases").is_none(), "no CVE yet");
    assert_eq!(osv_b["severity"][0]["type"], "CVSS_V4");
    assert_eq!(osv_b["affected"].as_array().unwrap().len(), 2);
    assert_eq!(osv_b["details"], DESCRIPTION_B);
    // The validator is no rubber stamp: our case id is no registered OSV prefix.
    let mut bad = osv_b.clone();
    bad["id"] = json!(b);
    assert!(check("osv", &bad.to_string()).unwrap_err().contains("does not match"));
    // Several ids: one JSON array, valid element by element.
    let both = export(&w, &[&a, &b, "--format", "osv"]);
    validate("osv", &both);

    // GHSA: both, valid; no CVE is null; severity or the vector, never both.
    let ghsa_a: Value = serde_json::from_str(&export(&w, &[&a, "--format", "ghsa"])).unwrap();
    validate("ghsa", &ghsa_a.to_string());
    assert_eq!(ghsa_a["cve_id"], "CVE-2026-41234");
    assert_eq!(
        ghsa_a["vulnerabilities"][1]["vulnerable_version_range"],
        ">= 5.0.0, < 5.0.1"
    );
    let ghsa_b: Value = serde_json::from_str(&export(&w, &[&b, "--format", "ghsa"])).unwrap();
    validate("ghsa", &ghsa_b.to_string());
    assert_eq!(ghsa_b["cve_id"], Value::Null);
    assert_eq!(ghsa_b["vulnerabilities"].as_array().unwrap().len(), 3);
    let mut bad = ghsa_b.clone();
    bad["severity"] = json!("high");
    assert!(check("ghsa", &bad.to_string())
        .unwrap_err()
        .contains("both severity and cvss_vector_string"));

    // CVE: A is valid; B says what is missing, with exit 2 and nothing on stdout.
    let cve_a: Value = serde_json::from_str(&export(&w, &[&a, "--format", "cve"])).unwrap();
    validate("cve", &cve_a.to_string());
    assert_eq!(cve_a["metrics"][0]["cvssV3_1"]["baseScore"], 5.4);
    assert_eq!(cve_a["credits"][0]["value"], "Jane Reporter");
    let (code, out, err) = advisory(&w, &[&b, "--format", "cve"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains(&format!("{b}: no CVE id")), "{err}");
    w.run(&["case", &b, "command", "/cve", "CVE-2026-41235"]);
    let cve_b: Value = serde_json::from_str(&export(&w, &[&b, "--format", "cve"])).unwrap();
    validate("cve", &cve_b.to_string());
    assert_eq!(cve_b["metrics"][0]["cvssV4_0"]["baseSeverity"], "HIGH");

    // The anonymous reporter is credited nowhere; no address ever appears.
    for f in ["osv", "ghsa", "cve", "triage-issue", "placeholder"] {
        let doc = export(&w, &[&b, "--format", f]);
        assert!(
            !doc.contains("reporter2") && !doc.contains("Jane Reporter") && !doc.contains("\"credits\""),
            "{f}: {doc}"
        );
    }
    for f in ["osv", "ghsa", "cve", "announcement", "triage-issue"] {
        assert!(!export(&w, &[&a, "--format", f]).contains(REPORTER), "{f}");
    }

    // Announcement: B has no patched express version yet, so the post of both is refused.
    let (code, _, err) = advisory(&w, &[&a, &b, "--format", "announcement"]);
    assert_eq!(code, 2);
    assert!(err.contains(&format!("{b}: no patched version for express")), "{err}");
    w.run(&["case", &b, "command", "/patched", "express", "4.21.2"]);
    let post = export(&w, &[&a, &b, "--format", "announcement"]);
    for want in [
        "# Security releases for express, body-parser: 2 vulnerabilities fixed",
        "## XSS in res.redirect() (CVE-2026-41234)",
        "CVSS 5.4",
        "`>=5.0.0 <5.0.1`",
        "reported by Jane Reporter",
        "嵌套数组",
        "npm install express@5.0.1",
    ] {
        assert!(post.contains(want), "{want}:\n{post}");
    }

    // The triage issue has the report's text; the placeholder only the public link.
    let triage = export(&w, &[&b, "--format", "triage-issue"]);
    assert!(triage.contains("app.get('/:a-:b', handler)"), "{triage}");
    let placeholder = export(&w, &[&b, "--format", "placeholder"]);
    assert!(
        placeholder.starts_with("# FYI - pull request deleted #6123")
            && placeholder.contains("https://github.com/expressjs/express/pull/6123"),
        "{placeholder}"
    );
    assert!(
        !placeholder.contains("urlencoded") && !placeholder.contains("dashes"),
        "{placeholder}"
    );
    let (code, _, err) = advisory(&w, &[&a, "--format", "placeholder"]);
    assert_eq!(code, 2);
    assert!(err.contains("no public link"), "{err}");

    // --check lists every format.
    let (code, out, _) = advisory(&w, &[&a, "--check"]);
    assert_eq!(code, 2, "A has no public link: the placeholder is incomplete");
    for f in [
        "osv: complete",
        "cve: complete",
        "ghsa: complete",
        "announcement: complete",
        "triage-issue: complete",
        "placeholder: missing",
    ] {
        assert!(out.contains(f), "{f}: {out}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_case_lists_what_each_export_lacks() {
    let w = World::with(ADVISORY);
    w.deliver(&report(REPORTER, "Something", "<advC@example.test>", COMPLETE_BODY))
        .await;
    w.once();
    let c = id_of(&w, "Something");
    let (code, out, _) = advisory(&w, &[&c, "--check"]);
    assert_eq!(code, 2);
    for want in [
        format!("{c}: no affected range for express"),
        format!("{c}: no description"),
        format!("{c}: no summary"),
        format!("{c}: no CVE id"),
        format!("{c}: no GHSA or CVE id"),
        format!("{c}: no severity or CVSS vector"),
    ] {
        assert!(out.contains(&want), "{want}: {out}");
    }
    let (code, out, err) = advisory(&w, &[&c, "--format", "osv"]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(err.contains("no affected range for express"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_runbook_checklist_is_ticked_by_mail_and_reminded() {
    let w = World::with(&format!(
        "[policy]\npremature_disclosure_within = \"2s\"\nremind_before = \"0s\"\nreminder_repeat = \"1h\"\nholding_acknowledgement = false\n{ADVISORY}"
    ));
    let body = format!("{COMPLETE_BODY}\n\nI posted it in https://github.com/expressjs/express/pull/6124 by mistake.");
    w.deliver(&report(REPORTER, "Public by mistake", "<advD@example.test>", &body))
        .await;
    w.once();
    let id = id_of(&w, "Public by mistake");
    let d = w.case(&id);
    assert!(
        d["flags"].as_array().unwrap().contains(&json!("premature-disclosure")),
        "{d:#?}"
    );
    let steps: Vec<&str> = d["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["step"].as_str().unwrap())
        .collect();
    assert_eq!(&steps[..3], ["privatized", "removal-requested", "placeholder-opened"]);
    assert!(d["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["done_at"].is_null() && i["by"].is_null()));

    // Past the 2 s: the team is reminded of the premature-disclosure steps.
    tokio::time::sleep(Duration::from_secs(3)).await;
    w.once();
    let team = w.wait_mail("triage", 2, Duration::from_secs(5)).await;
    let reminder = team
        .iter()
        .find(|m| m.subject().contains("premature-disclosure steps overdue"))
        .unwrap_or_else(|| panic!("{:?}", team.iter().map(|m| m.subject()).collect::<Vec<_>>()));
    assert!(reminder.body().contains("/done privatized"), "{}", reminder.body());
    let open: Vec<Value> = serde_json::from_str(&w.run(&["deadlines", "--json"])).unwrap();
    assert!(
        open.iter().any(|d| d["case_id"] == id.as_str()
            && d["deadline"] == "premature-disclosure"
            && d["status"] == "overdue"),
        "{open:#?}"
    );

    // Ticked by mail; /ghsa ticks "advisory-created".
    w.deliver(&command_mail(
        &id,
        "<advD@example.test>",
        "/assign me\n/done privatized\n/done removal-requested\n/done placeholder-opened\n/ghsa GHSA-9wv6-86v2-598j",
    ))
    .await;
    w.once();
    let d = w.case(&id);
    let item = |s: &str| {
        d["checklist"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["step"] == s)
            .cloned()
            .unwrap()
    };
    for s in [
        "privatized",
        "removal-requested",
        "placeholder-opened",
        "advisory-created",
    ] {
        assert_eq!(item(s)["by"], ALICE, "{s}");
        assert!(item(s)["done_at"].is_string(), "{s}");
    }
    assert!(item("cve-requested")["done_at"].is_null());
    let text = w.run(&["case", &id]);
    assert!(
        text.contains("[x] privatized") && text.contains("[ ] cve-requested"),
        "{text}"
    );
    // The premature-disclosure deadline is met now: no longer an open deadline.
    let open: Vec<Value> = serde_json::from_str(&w.run(&["deadlines", "--json"])).unwrap();
    assert!(
        !open
            .iter()
            .any(|d| d["case_id"] == id.as_str() && d["deadline"] == "premature-disclosure"),
        "{open:#?}"
    );
    // The digest lists the steps still open of an accepted case.
    w.deliver(&command_mail(&id, "<advD@example.test>", "/assess\n/accept"))
        .await;
    w.once();
    w.run(&["digest"]);
    w.once();
    let team = w.mailbox("triage").await;
    let digest = team
        .iter()
        .find(|m| m.subject().contains("Daily digest"))
        .expect("digest")
        .body();
    assert!(
        digest.contains(&format!("{id}  triage-issue-created, cve-requested, patch")),
        "{digest}"
    );
    // An unknown step is refused like any bad command.
    w.deliver(&command_mail(&id, "<advD@example.test>", "/done lunch"))
        .await;
    w.once();
    let alice = w.wait_mail("alice", 3, Duration::from_secs(5)).await;
    assert!(alice
        .iter()
        .any(|m| m.body().contains("`lunch` is not a checklist step")));
}

//! `secintake search` through the real stack: reports and replies arrive over IMAP, are
//! indexed in the same transaction, and are found by words, phrases, prefixes and operators;
//! quoted text is not indexed; a malformed query is a clear error with exit code 2.

use crate::common::*;
use serde_json::Value;

const QS_BODY: &str = "Hello,\n\nqs.parse in qs 6.10.2 lets a query like a[__proto__][polluted]=yes write to Object.prototype: prototype pollution through req.query.\n\nSteps: curl 'http://localhost:3000/?a[__proto__][polluted]=yes'\n\nImpact: every object gets the property.\n\nMira";
const REDIRECT_BODY: &str = "Hi,\n\nres.redirect(req.query.next) sends users to //evil.example after the basic-auth login of express 4.18.2: an open redirect.\n\nSteps: open /login?next=//evil.example\n\nImpact: phishing.\n\nDan";

fn search(w: &World, args: &[&str]) -> Vec<Value> {
    let mut a = vec!["search", "--json"];
    a.extend_from_slice(args);
    serde_json::from_str(&w.run(&a)).unwrap()
}

fn ids(hits: &[Value]) -> Vec<String> {
    hits.iter()
        .map(|h| h["case_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn reports_and_replies_are_found_by_words_phrases_prefixes_and_operators() {
    let w = World::new();
    w.deliver(&report(
        REPORTER,
        "Prototype pollution in qs",
        "<qs@example.test>",
        QS_BODY,
    ))
    .await;
    w.deliver(&report(
        "dan@example.test",
        "Open redirect after login",
        "<redir@example.test>",
        REDIRECT_BODY,
    ))
    .await;
    w.once();
    let cases = w.cases();
    assert_eq!(cases.len(), 2);
    let id_of = |subject: &str| {
        cases.iter().find(|c| c["subject"] == subject).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (qs, redirect) = (id_of("Prototype pollution in qs"), id_of("Open redirect after login"));
    // A reply whose own words are new and whose quote carries a word found nowhere else.
    w.deliver(&reply(
        REPORTER,
        LIST,
        "Re: Prototype pollution in qs",
        "<qs-2@example.test>",
        "<qs@example.test>",
        "",
        "Also reachable through zebrafinch routes.\n\nOn Sat, 21 Nov 2026, Mira wrote:\n> quokkaword in the quoted text\n",
    ))
    .await;
    w.once();

    let hits = search(&w, &["\"prototype pollution\""]);
    assert_eq!(ids(&hits), vec![qs.clone()]);
    let h = &hits[0];
    assert_eq!(h["state"], "new");
    assert!(h["snippet"].as_str().unwrap().contains("**"), "hits are marked: {h}");
    assert!(h["opened_at"].as_str().unwrap().starts_with("20"));

    assert_eq!(ids(&search(&w, &["basic-auth"])), vec![redirect.clone()]);
    assert_eq!(ids(&search(&w, &["res.redirect"])), vec![redirect.clone()]);
    assert_eq!(ids(&search(&w, &["pollut*"])), vec![qs.clone()]);
    let mut both = ids(&search(&w, &["phishing OR __proto__"]));
    both.sort();
    let mut want = vec![qs.clone(), redirect.clone()];
    want.sort();
    assert_eq!(both, want);
    assert_eq!(ids(&search(&w, &["impact NOT phishing"])), vec![qs.clone()]);
    assert_eq!(ids(&search(&w, &["zebrafinch"])), vec![qs.clone()]);
    assert!(search(&w, &["quokkaword"]).is_empty(), "quoted text is not indexed");
    assert!(search(&w, &["--state", "invalid", "qs"]).is_empty());
    assert!(search(&w, &["--since", "2999-01-01", "qs"]).is_empty());
    assert_eq!(search(&w, &["--limit", "1", "impact"]).len(), 1);

    let text = w.run(&["search", "open redirect"]);
    assert!(text.contains(&redirect) && text.contains("1 case(s)"), "{text}");

    for bad in ["NOT qs", "(qs", "\"unterminated", "qs OR", ""] {
        let out = w.output(&["search", bad]);
        assert_eq!(out.status.code(), Some(2), "query {bad:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("search:") && !err.to_lowercase().contains("sql"),
            "query {bad:?}: {err}"
        );
    }
}

/// The subject and body of `tests/fixtures/similar/reports/NAME.txt`.
fn fixture(name: &str) -> (String, String) {
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/similar/reports/{name}.txt",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let (head, body) = text.split_once("\n\n").unwrap();
    let subject = head.strip_prefix("Subject: ").unwrap().trim();
    (subject.to_string(), body.to_string())
}

/// A report of subject and body from `tests/fixtures/similar/reports/NAME.txt`.
fn fixture_report(name: &str, from: &str, message_id: &str) -> String {
    let (subject, body) = fixture(name);
    report(from, &subject, message_id, &body)
}

/// The id of the case `reporter` opened.
fn case_of(w: &World, reporter: &str) -> String {
    w.cases()
        .iter()
        .find(|c| c["reporter"] == reporter)
        .map(|c| c["id"].as_str().unwrap().to_string())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_report_of_a_known_bug_is_flagged_as_similar_on_arrival() {
    let w = World::new();
    // Yesterday's report, and an unrelated one.
    w.deliver(&fixture_report("qs-proto-en", REPORTER, "<sim1@example.test>"))
        .await;
    w.deliver(&fixture_report(
        "redirect-open-en",
        "carol@example.test",
        "<sim2@example.test>",
    ))
    .await;
    w.once();
    let first = case_of(&w, REPORTER);
    // Each report's text is stored once: its report_text row names its index row.
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM report_text r JOIN search_index i ON i.rowid = r.index_row WHERE r.text = '' AND i.source = 'message'").await,
        2
    );
    // Another reporter describes the same bug in their own words (and language).
    w.deliver(&fixture_report(
        "qs-proto-es",
        "dave@example.test",
        "<sim3@example.test>",
    ))
    .await;
    w.once();
    let second = case_of(&w, "dave@example.test");
    let c = w.case(&second);
    let similar = c["similar"].as_array().unwrap();
    assert_eq!(
        similar.first().map(|s| s["id"].clone()),
        Some(Value::from(first.clone())),
        "{c}"
    );
    assert!(similar.iter().all(|s| s["score"].as_f64().unwrap() > 0.0));
    assert!(
        similar.iter().all(|s| s["id"].as_str() != Some(second.as_str())),
        "a case is not similar to itself"
    );
    // The team's notice says so, with the one-line reply that marks the duplicate.
    let team = w.wait_mail("triage", 3, std::time::Duration::from_secs(10)).await;
    let notice = team
        .iter()
        .find(|m| m.subject().contains(&second))
        .expect("the new case's notice");
    let body = notice.body();
    assert!(
        body.contains(&format!("Looks like {first}, reported ")) && body.contains(REPORTER),
        "{body}"
    );
    assert!(body.contains(&format!("reply with: /duplicate {first}")), "{body}");
    // The unrelated report's notice names no earlier case.
    let unrelated = team.iter().find(|m| m.body().contains("carol@example.test")).unwrap();
    assert!(!unrelated.body().contains("Looks like"), "{}", unrelated.body());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forwarded_report_is_kept_whole_for_the_scorer_and_its_resend_is_flagged() {
    let w = World::new();
    // A short covering note above a forwarded report: the index holds the note (its own
    // words), the scorer reads the forwarded report too, so it keeps a copy of its own.
    let (_, body) = fixture("qs-proto-en");
    let forwarded = format!(
        "Resending, no answer yet.\n\n---------- Forwarded message ---------\nFrom: Mira <mira@example.net>\nSubject: qs\n\n{body}"
    );
    w.deliver(&report(REPORTER, "Fwd: qs", "<fwd1@example.test>", &forwarded))
        .await;
    w.once();
    let first = case_of(&w, REPORTER);
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM report_text WHERE index_row IS NULL AND text LIKE '%Object.prototype%'")
            .await,
        1
    );
    w.deliver(&fixture_report(
        "qs-proto-es",
        "dave@example.test",
        "<fwd2@example.test>",
    ))
    .await;
    w.once();
    let second = case_of(&w, "dave@example.test");
    let c = w.case(&second);
    assert_eq!(c["similar"][0]["id"], Value::from(first), "{c}");
    // The new report's text is the start of its index row: stored once.
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM report_text WHERE text = '' AND index_row IS NOT NULL")
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn with_similar_on_arrival_off_no_lookup_is_made_but_search_still_finds_the_report() {
    let w = World::with("[search]\nsimilar_on_arrival = false\n");
    w.deliver(&fixture_report("qs-proto-en", REPORTER, "<off1@example.test>"))
        .await;
    w.once();
    w.deliver(&fixture_report(
        "qs-proto-es",
        "dave@example.test",
        "<off2@example.test>",
    ))
    .await;
    w.once();
    let second = case_of(&w, "dave@example.test");
    let c = w.case(&second);
    assert_eq!(c["similar"], Value::from(Vec::<Value>::new()), "{c}");
    let team = w.wait_mail("triage", 2, std::time::Duration::from_secs(10)).await;
    let notice = team
        .iter()
        .find(|m| m.subject().contains(&second))
        .expect("the new case's notice");
    assert!(!notice.body().contains("Looks like"), "{}", notice.body());
    // The index is written either way.
    let out = w.run(&["search", "qs", "--json"]);
    assert!(out.contains(&second), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_index_off_no_text_is_indexed_no_lookup_is_made_and_search_says_so() {
    let w = World::with("[search]\nindex = false\n");
    w.deliver(&fixture_report("qs-proto-en", REPORTER, "<noidx1@example.test>"))
        .await;
    w.once();
    w.deliver(&fixture_report(
        "qs-proto-es",
        "dave@example.test",
        "<noidx2@example.test>",
    ))
    .await;
    w.once();
    // Both cases open and are answered as always.
    assert_eq!(w.cases().len(), 2);
    let second = case_of(&w, "dave@example.test");
    assert_eq!(w.case(&second)["similar"], Value::from(Vec::<Value>::new()));
    let team = w.wait_mail("triage", 2, std::time::Duration::from_secs(10)).await;
    let notice = team
        .iter()
        .find(|m| m.subject().contains(&second))
        .expect("the new case's notice");
    assert!(!notice.body().contains("Looks like"), "{}", notice.body());
    // `search` says why it cannot answer (exit code 2), and nothing of the text was indexed.
    let out = w.output(&["search", "qs"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("search.index = false"), "{err}");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", w.db.display()))
        .await
        .unwrap();
    for (table, sql) in [
        ("search_index", "SELECT COUNT(*) FROM search_index"),
        ("report_text", "SELECT COUNT(*) FROM report_text"),
    ] {
        let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&pool).await.unwrap();
        assert_eq!(n, 0, "{table} holds rows");
    }
}

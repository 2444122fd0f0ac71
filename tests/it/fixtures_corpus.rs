//! The analysis fixture corpus: every `.eml` in tests/fixtures against its `.expect.json`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use secintake::analysis::{AnalysisSettings, Analyzer};
use secintake::message::Incoming;
use serde_json::Value;

fn analyzer() -> Analyzer {
    AnalysisSettings::default()
        .compile_for(&["github.com/expressjs".to_string()], "security@example.org")
        .unwrap()
}

fn fold_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn strs(v: &Value) -> Option<Vec<String>> {
    v.as_array()
        .map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect())
}

#[test]
fn every_fixture_meets_its_expectations() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 40,
        "the corpus has at least 40 fixtures, found {}",
        files.len()
    );
    let a = analyzer();
    let mut failures = Vec::new();
    let mut per_category: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for f in &files {
        let raw = std::fs::read(f).unwrap();
        let exp: Value =
            serde_json::from_str(&std::fs::read_to_string(f.with_extension("expect.json")).unwrap()).unwrap();
        let m = Incoming::parse(&raw);
        let facts = a.analyze(&m);
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let mut wrong = Vec::new();

        let auto = facts.auto.map(|k| k.as_str().to_string());
        if auto.as_deref() != exp["auto"].as_str() {
            wrong.push(format!("auto: got {auto:?}, want {}", exp["auto"]));
        }
        let reporter = m.author("security@example.org").map(|r| r.to_string());
        if reporter.as_deref() != exp["reporter"].as_str() {
            wrong.push(format!("reporter: got {reporter:?}, want {}", exp["reporter"]));
        }
        if let Some(bc) = exp["body_check"].as_str() {
            if facts.body_check.as_str() != bc {
                wrong.push(format!("body_check: got {}, want {bc}", facts.body_check.as_str()));
            }
        }
        if let Some(missing) = strs(&exp["missing"]) {
            let got: Vec<String> = facts.missing.iter().map(|x| x.as_str().to_string()).collect();
            if got != missing {
                wrong.push(format!("missing: got {got:?}, want {missing:?}"));
            }
        }
        // parse-error is checked on its own below (`parse_error`).
        let flags: Vec<String> = facts.flags.iter().filter(|f| *f != "parse-error").cloned().collect();
        if flags != strs(&exp["flags"]).unwrap() {
            wrong.push(format!("flags: got {flags:?}, want {}", exp["flags"]));
        }
        let hints: Vec<String> = facts.hints.iter().map(|h| h.label.clone()).collect();
        if hints != strs(&exp["hints"]).unwrap() {
            wrong.push(format!("hints: got {hints:?}, want {}", exp["hints"]));
        }
        if let Some(phrase) = exp["body_contains"].as_str() {
            if !fold_ws(&m.text).contains(&fold_ws(phrase)) {
                wrong.push(format!(
                    "body_contains: {phrase:?} not in decoded text {:?}",
                    m.text.chars().take(300).collect::<String>()
                ));
            }
        }
        let att: Vec<String> = facts.attachments.iter().map(|x| x.name.clone()).collect();
        if att != strs(&exp["attachments"]).unwrap() {
            wrong.push(format!("attachments: got {att:?}, want {}", exp["attachments"]));
        }
        // Decoded headers (RFC 2047 encoded words, 8-bit charsets), as a case shows them.
        let subject = fold_ws(&secintake::sanitize::header_text(&m.subject));
        if Some(subject.as_str()) != exp["subject"].as_str() {
            wrong.push(format!("subject: got {subject:?}, want {}", exp["subject"]));
        }
        // The reporter's display name: From's, when From is the reporter (as intake stores it).
        let author = m.author("security@example.org");
        let reporter_name = m
            .from
            .as_ref()
            .filter(|f| author.as_ref() == Some(&f.address))
            .and_then(|f| f.name.as_deref())
            .map(fold_ws);
        if reporter_name.as_deref() != exp["reporter_name"].as_str() {
            wrong.push(format!(
                "reporter_name: got {reporter_name:?}, want {}",
                exp["reporter_name"]
            ));
        }
        if let Some(links) = strs(&exp["links"]) {
            if facts.links != links {
                wrong.push(format!("links: got {:?}, want {links:?}", facts.links));
            }
        }
        if let Some(public) = strs(&exp["public_links"]) {
            if facts.public_links != public {
                wrong.push(format!("public_links: got {:?}, want {public:?}", facts.public_links));
            }
        }
        let details: Vec<Value> = facts
            .attachments
            .iter()
            .map(|a| serde_json::json!({"name": a.name, "content_type": a.content_type, "size": a.size}))
            .collect();
        if Value::Array(details.clone()) != exp["attachment_details"] {
            wrong.push(format!(
                "attachment_details: got {}, want {}",
                Value::Array(details),
                exp["attachment_details"]
            ));
        }
        let parse_error = facts.has_flag("parse-error");
        if Some(parse_error) != exp["parse_error"].as_bool() {
            wrong.push(format!("parse_error: got {parse_error}, want {}", exp["parse_error"]));
        }
        let cat = exp["category"].as_str().unwrap().to_string();
        let e = per_category.entry(cat).or_default();
        e.0 += 1;
        if wrong.is_empty() {
            e.1 += 1;
        } else {
            failures.push(format!("{name}:\n    {}", wrong.join("\n    ")));
        }
    }
    eprintln!("per category (passed/total):");
    let (mut all, mut all_ok) = (0, 0);
    for (c, (n, ok)) in &per_category {
        eprintln!("  {c:<22} {ok}/{n}");
        all += n;
        all_ok += ok;
    }
    eprintln!("  {:<22} {all_ok}/{all}", "all");
    assert!(
        failures.is_empty(),
        "{} of {} fixtures disagree:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn bounces_point_at_our_receipt() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for n in ["40", "41", "42", "43", "44"] {
        let f = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.file_name().unwrap().to_string_lossy().starts_with(&format!("{n}-"))
                    && p.extension().is_some_and(|e| e == "eml")
            })
            .unwrap();
        let m = Incoming::parse(&std::fs::read(&f).unwrap());
        assert!(
            m.thread_ids(true).iter().any(|id| id.starts_with("<receipt.SEC-2026-")),
            "{}: {:?}",
            f.display(),
            m.thread_ids(true)
        );
    }
}

/// The real-text corpus (tests/fixtures/real): reports written in our own words after real,
/// public vulnerability reports, each labelled by a careful reader. Prints the agreement per
/// judgement; each must be at least 95 %.
#[test]
fn real_reports_agree_with_a_careful_reader() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 100,
        "the real corpus has at least 100 fixtures, found {}",
        files.len()
    );
    let a = analyzer();
    let judgements = ["body_check", "affected-versions", "reproduction", "impact"];
    let mut agree: BTreeMap<&str, usize> = BTreeMap::new();
    let mut wrong: Vec<String> = Vec::new();
    for f in &files {
        let labels: Value = serde_json::from_str(
            &std::fs::read_to_string(f.with_extension("labels.json")).expect("every fixture has its labels"),
        )
        .unwrap();
        let facts = a.analyze(&Incoming::parse(&std::fs::read(f).unwrap()));
        let name = f.file_stem().unwrap().to_string_lossy().to_string();
        for j in judgements {
            let got = if j == "body_check" {
                facts.body_check.as_str().to_string()
            } else if facts.missing.iter().any(|m| m.as_str() == j) {
                "missing".to_string()
            } else {
                "present".to_string()
            };
            let want = labels[j].as_str().unwrap();
            if got == want {
                *agree.entry(j).or_default() += 1;
            } else {
                let why = secintake::analysis::Missing::parse(j)
                    .and_then(|m| facts.evidence.get(&m))
                    .map(|e| format!(" (evidence: {e:?})"))
                    .unwrap_or_default();
                wrong.push(format!(
                    "{name}: {j} got {got}, a reader says {want}{why} -- {}",
                    labels["reason"].as_str().unwrap()
                ));
            }
        }
    }
    let n = files.len();
    eprintln!("real corpus: agreement with a careful reader over {n} reports");
    let mut total = 0;
    let mut low = Vec::new();
    for j in judgements {
        let ok = agree.get(j).copied().unwrap_or(0);
        total += ok;
        let pct = 100.0 * ok as f64 / n as f64;
        eprintln!("  {j:<18} {ok:>3}/{n} = {pct:5.1} %");
        if pct < 95.0 {
            low.push(format!("{j} {pct:.1} %"));
        }
    }
    eprintln!(
        "  {:<18} {total:>3}/{} = {:5.1} %",
        "overall",
        n * judgements.len(),
        100.0 * total as f64 / (n * judgements.len()) as f64
    );
    for w in &wrong {
        eprintln!("  disagree: {w}");
    }
    assert!(low.is_empty(), "below 95 %: {}", low.join(", "));
}

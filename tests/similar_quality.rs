//! Quality of the similar-case scorer on the labelled report pairs in tests/fixtures/similar/:
//! prints precision and recall of "similar" at the chosen threshold and fails below target
//! (precision >= 0.9 at recall >= 0.7). Run with `-- --nocapture` to see the figures.

use std::collections::BTreeMap;
use std::path::Path;

use secintake::search::similar::{explain, kinds, score, shared_terms, Idf, Profile, MAX_TEXT_BYTES, THRESHOLD};
use secintake::search::text;

struct Pair {
    a: String,
    b: String,
    similar: bool,
    kind: String,
}

fn dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/similar")
}

/// A report file: a `Subject:` line, a blank line, the text.
fn load_reports() -> BTreeMap<String, (String, String)> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir().join("reports")).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
        let subject = head
            .strip_prefix("Subject: ")
            .unwrap_or_else(|| panic!("{name}: no Subject line"));
        out.insert(name, (subject.to_string(), body.to_string()));
    }
    out
}

fn load_pairs() -> Vec<Pair> {
    let text = std::fs::read_to_string(dir().join("labels.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 4, "bad label line {l:?}");
            assert!(f[2] == "similar" || f[2] == "different", "bad label {l:?}");
            Pair {
                a: f[0].into(),
                b: f[1].into(),
                similar: f[2] == "similar",
                kind: f[3].into(),
            }
        })
        .collect()
}

fn precision_recall(scored: &[(f64, bool)], threshold: f64) -> (f64, f64, usize, usize, usize) {
    let tp = scored.iter().filter(|(s, y)| *s >= threshold && *y).count();
    let fp = scored.iter().filter(|(s, y)| *s >= threshold && !*y).count();
    let fneg = scored.iter().filter(|(s, y)| *s < threshold && *y).count();
    let p = if tp + fp == 0 {
        1.0
    } else {
        tp as f64 / (tp + fp) as f64
    };
    let r = if tp + fneg == 0 {
        1.0
    } else {
        tp as f64 / (tp + fneg) as f64
    };
    (p, r, tp, fp, fneg)
}

#[test]
fn similar_reports_are_found_with_high_precision() {
    let reports = load_reports();
    let pairs = load_pairs();
    assert!(
        pairs.len() >= 40,
        "the labelled set needs at least 40 pairs, has {}",
        pairs.len()
    );
    // Each report is read as the daemon reads a new one (its own words, or the forwarded
    // report under a covering note); the IDF comes from every report, as it would from the
    // earlier cases in a database.
    let profiles: BTreeMap<&str, Profile> = reports
        .iter()
        .map(|(k, (s, t))| (k.as_str(), Profile::new(s, &text::for_similarity(t, MAX_TEXT_BYTES))))
        .collect();
    let idf = Idf::new(profiles.values());
    let get = |name: &str| {
        profiles
            .get(name)
            .unwrap_or_else(|| panic!("labels.tsv names a missing report {name}"))
    };

    let mut scored = Vec::new();
    println!(
        "{:<22} {:<22} {:<9} {:<13} {:>6}  idents  code  words",
        "first", "second", "label", "kind", "score"
    );
    for p in &pairs {
        let (a, b) = (get(&p.a), get(&p.b));
        let s = score(a, b, &idf);
        let [i, c, w] = explain(a, b, &idf);
        let verdict = match (s >= THRESHOLD, p.similar) {
            (true, false) => "  <- false alarm",
            (false, true) => "  <- missed",
            _ => "",
        };
        println!(
            "{:<22} {:<22} {:<9} {:<13} {:>6.3}  {:.3}  {:.3}  {:.3}{verdict}",
            p.a,
            p.b,
            if p.similar { "similar" } else { "different" },
            p.kind,
            s,
            i,
            c,
            w
        );
        if std::env::var_os("SIMILAR_SHARED").is_some() {
            println!(
                "    shared: {:?} kinds {:?} / {:?}",
                shared_terms(a, b, &idf, 12),
                kinds(a),
                kinds(b)
            );
        }
        scored.push((s, p.similar));
    }
    let positives = pairs.iter().filter(|p| p.similar).count();
    println!(
        "\n{} labelled pairs ({} similar, {} different), {} reports",
        pairs.len(),
        positives,
        pairs.len() - positives,
        reports.len()
    );
    for t in [0.15, 0.2, 0.25, THRESHOLD, 0.3, 0.35, 0.4, 0.5] {
        let (p, r, tp, fp, fneg) = precision_recall(&scored, t);
        println!("threshold {t:.2}: precision {p:.3} recall {r:.3} (tp {tp}, fp {fp}, fn {fneg})");
    }

    // Every other pair of reports is a different bug too (the set has no unlabelled
    // duplicates): how many of them would be flagged.
    let labelled: std::collections::HashSet<(&str, &str)> = pairs
        .iter()
        .flat_map(|p| [(p.a.as_str(), p.b.as_str()), (p.b.as_str(), p.a.as_str())])
        .collect();
    let same_bug = |a: &str, b: &str| {
        pairs
            .iter()
            .any(|p| p.similar && ((p.a == a && p.b == b) || (p.a == b && p.b == a)))
    };
    let names: Vec<&str> = profiles.keys().copied().collect();
    let (mut others, mut flagged) = (0, Vec::new());
    for (i, a) in names.iter().enumerate() {
        for b in &names[i + 1..] {
            if labelled.contains(&(*a, *b)) || same_bug(a, b) {
                continue;
            }
            others += 1;
            let s = score(get(a), get(b), &idf);
            if s >= THRESHOLD {
                flagged.push(format!("{a} ~ {b} {s:.3}"));
            }
        }
    }
    println!(
        "unlabelled pairs flagged at {THRESHOLD}: {} of {others} {flagged:?}",
        flagged.len()
    );

    let (p, r, ..) = precision_recall(&scored, THRESHOLD);
    println!("\nAT THRESHOLD {THRESHOLD}: precision {p:.3} recall {r:.3}");
    assert!(
        p >= 0.9 && r >= 0.7,
        "below target at threshold {THRESHOLD}: precision {p:.3} (>= 0.9) recall {r:.3} (>= 0.7)"
    );
}

//! The search benchmark (run by scripts/bench-search.sh in release mode): builds a database
//! with the real schema, 10,000 cases and 50,000 messages of generated report text (a
//! Zipf-distributed vocabulary with package and API names), indexes it, then measures
//! `secintake search` queries (words rare to common, phrases, prefixes, OR, NOT, filters)
//! and the similar-case lookup a new report triggers; prints p50/p99 per kind and overall.
//!
//! usage: bench_search [CASES] [MESSAGES_PER_CASE] [WORKDIR]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use secintake::search::index::{self, Filter};
use secintake::search::query::Query;
use secintake::store::Store;
use sqlx::Executor;

/// xorshift64*: deterministic, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A vocabulary of pronounceable words, sampled with Zipf's law (rank^-1.07).
struct Vocab {
    words: Vec<String>,
    cumulative: Vec<f64>,
    idents: Vec<String>,
}

impl Vocab {
    fn new(rng: &mut Rng, n: usize) -> Vocab {
        const ON: &[&str] = &[
            "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "st", "tr", "pl",
            "qu",
        ];
        const NU: &[&str] = &["a", "e", "i", "o", "u", "ai", "ea", "ou"];
        let mut seen = std::collections::HashSet::new();
        let mut words = Vec::with_capacity(n);
        while words.len() < n {
            let syl = 1 + rng.below(3);
            let w: String = (0..syl)
                .map(|_| format!("{}{}", ON[rng.below(ON.len())], NU[rng.below(NU.len())]))
                .collect();
            if seen.insert(w.clone()) {
                words.push(w);
            }
        }
        let mut total = 0.0;
        let cumulative = (1..=n)
            .map(|r| {
                total += 1.0 / (r as f64).powf(1.07);
                total
            })
            .collect();
        let idents = (0..2000)
            .map(|i| {
                let a = &words[200 + i % 3000];
                let b = &words[3000 + (i * 7) % 5000];
                match i % 3 {
                    0 => format!("{a}-{b}"),
                    1 => format!("{a}.{b}()"),
                    _ => format!("{a}{}", b.to_uppercase()),
                }
            })
            .collect();
        Vocab {
            words,
            cumulative,
            idents,
        }
    }

    fn word(&self, rng: &mut Rng) -> &str {
        let x = rng.unit() * self.cumulative.last().unwrap();
        let i = self.cumulative.partition_point(|&c| c < x);
        &self.words[i.min(self.words.len() - 1)]
    }

    fn text(&self, rng: &mut Rng, words: usize) -> String {
        let mut out = String::with_capacity(words * 7);
        for i in 0..words {
            if i > 0 {
                out.push(if i % 14 == 0 { '\n' } else { ' ' });
            }
            if rng.below(25) == 0 {
                out.push_str(&self.idents[rng.below(self.idents.len())]);
            } else {
                out.push_str(self.word(rng));
            }
        }
        out
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let cases: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let per_case: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5);
    let dir = args
        .get(3)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("secintake-bench-search"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(&dir.join("bench.db")).await.unwrap();
    let mut conn = store.pool.acquire().await.unwrap();
    conn.execute(index::CREATE_TABLE).await.unwrap();
    conn.execute(index::CREATE_REPORT_TEXT).await.unwrap();

    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let vocab = Vocab::new(&mut rng, 30_000);
    let states = [
        "new",
        "triage",
        "assessing",
        "accepted",
        "invalid",
        "duplicate",
        "disclosed",
        "historical",
    ];
    let t0 = Instant::now();
    let mut bytes = 0usize;
    let mut reports: Vec<(String, String)> = Vec::new();
    let mut open_tx: Option<secintake::store::WriteTx> = None;
    for c in 0..cases {
        if c % 500 == 0 {
            open_tx = Some(store.write().await.unwrap());
        }
        let tx = open_tx.as_ref().expect("a transaction");
        let id = format!("SEC-2026-{:05}", c + 1);
        let opened = format!("2026-{:02}-{:02}T{:02}:00:00.000Z", 1 + c % 12, 1 + c % 28, c % 24);
        let len = 6 + rng.below(5);
        let subject = vocab.text(&mut rng, len);
        let reporter = format!("reporter{}@example.net", c % 3000);
        tx.execute(
            "INSERT INTO cases (id, year, seq, state, reporter, subject, opened_at, updated_at, state_since)
             VALUES (?, 2026, ?, ?, ?, ?, ?, ?, ?)",
            rusqlite::params![
                id,
                c as i64 + 1,
                states[c % states.len()],
                reporter,
                subject,
                opened,
                opened,
                opened
            ],
        )
        .unwrap();
        index::add_subject(tx, &id, &opened, &reporter, &subject).unwrap();
        for m in 0..per_case {
            let len = if m == 0 {
                150 + rng.below(300)
            } else {
                30 + rng.below(90)
            };
            let body = vocab.text(&mut rng, len);
            bytes += body.len();
            let e = index::Entry {
                case_id: id.clone(),
                source: if m % 4 == 3 {
                    index::Source::Note
                } else {
                    index::Source::Message
                },
                source_id: Some((c * per_case + m) as i64),
                at: opened.clone(),
                sender: reporter.clone(),
                subject: String::new(),
                body: body.clone(),
            };
            index::insert(tx, &e).unwrap();
            if m == 0 {
                index::save_report_text(tx, &id, &subject, &body).unwrap();
                if c % 100 == 0 {
                    reports.push((subject.clone(), body));
                }
            }
        }
        if c % 500 == 499 || c + 1 == cases {
            open_tx.take().expect("a transaction").commit().await.unwrap();
        }
    }
    println!(
        "== built {cases} cases, {} messages and notes ({:.0} MB of text) in {:.1} s",
        cases * per_case,
        bytes as f64 / 1e6,
        t0.elapsed().as_secs_f64()
    );

    // Queries by kind, from the vocabulary's ranks (rank 0 is the most common word).
    let w = |r: usize| vocab.words[r].clone();
    let mut kinds: Vec<(&str, Vec<(String, Filter)>)> = Vec::new();
    let limit = Filter {
        limit: 20,
        ..Filter::default()
    };
    let n = 40;
    let pick = |rng: &mut Rng, lo: usize, hi: usize| lo + rng.below(hi - lo);
    let mut q = |name: &'static str, f: &mut dyn FnMut(&mut Rng) -> (String, Filter)| {
        let v = (0..n).map(|_| f(&mut rng)).collect();
        kinds.push((name, v));
    };
    q("rare word", &mut |r| (w(pick(r, 5000, 30000)), limit.clone()));
    q("mid word", &mut |r| (w(pick(r, 300, 5000)), limit.clone()));
    q("common word", &mut |r| (w(pick(r, 0, 50)), limit.clone()));
    q("two words", &mut |r| {
        (
            format!("{} {}", w(pick(r, 50, 3000)), w(pick(r, 50, 3000))),
            limit.clone(),
        )
    });
    q("phrase", &mut |r| {
        (
            format!("\"{} {}\"", w(pick(r, 0, 200)), w(pick(r, 0, 200))),
            limit.clone(),
        )
    });
    q("prefix", &mut |r| {
        let word = w(pick(r, 100, 5000));
        (format!("{}*", &word[..word.len().min(3)]), limit.clone())
    });
    q("OR, NOT", &mut |r| {
        (
            format!(
                "({} OR {}) NOT {}",
                w(pick(r, 100, 3000)),
                w(pick(r, 100, 3000)),
                w(pick(r, 0, 100))
            ),
            limit.clone(),
        )
    });
    q("identifier", &mut |r| {
        (
            vocab.idents[r.below(vocab.idents.len())]
                .trim_end_matches("()")
                .to_string(),
            limit.clone(),
        )
    });
    q("word + state + since", &mut |r| {
        let f = Filter {
            state: Some("triage".into()),
            since: Some("2026-06-01T00:00:00.000Z".into()),
            limit: 20,
        };
        (w(pick(r, 20, 2000)), f)
    });

    let mut all = Vec::new();
    println!("== search: {n} queries per kind, limit 20");
    for (name, queries) in &kinds {
        let mut times = Vec::new();
        let mut found = 0;
        for (text, filter) in queries {
            let query = Query::parse(text).unwrap();
            let t = Instant::now();
            let hits = index::search(&mut conn, &query, filter).await.unwrap();
            times.push(t.elapsed());
            found += hits.len();
        }
        times.sort();
        println!(
            "{name:<22} p50 {:>10}  p99 {:>10}  (avg {:.1} hits)",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99)),
            found as f64 / queries.len() as f64
        );
        all.extend(times);
    }
    all.sort();
    println!(
        "SEARCH ALL {} queries: p50 {}  p99 {}",
        all.len(),
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.99))
    );

    // The similar-case lookup for a new report, as intake runs it (key terms -> FTS
    // candidates -> their texts plus a background sample -> scores): each with nothing read
    // before (a pass's first report), then one pass of all of them sharing what they read.
    for (label, shared) in [("cold", false), ("one pass", true)] {
        let mut times = Vec::new();
        let mut cache = index::SimilarCache::default();
        for (subject, body) in &reports {
            if !shared {
                cache = index::SimilarCache::default();
            }
            let t = Instant::now();
            let found = store
                .read_sync(|c| index::similar_cases(c, subject, body, &mut cache))
                .unwrap();
            times.push(t.elapsed());
            assert!(
                !found.is_empty(),
                "a report already in the database is found as similar to itself"
            );
        }
        times.sort();
        println!(
            "SIMILAR {} new reports ({label}): p50 {}  p99 {}",
            times.len(),
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99))
        );
    }
    let size = std::fs::metadata(dir.join("bench.db")).map(|m| m.len()).unwrap_or(0);
    println!("== database {:.0} MB in {}", size as f64 / 1e6, dir.display());
}

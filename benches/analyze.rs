//! Parse + analyse per message, over the fixture corpus (criterion).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use secintake::analysis::AnalysisSettings;
use secintake::message::Incoming;

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn bench(c: &mut Criterion) {
    let analyzer = AnalysisSettings::default()
        .compile_for(&["github.com/expressjs".to_string()], "security@example.org")
        .unwrap();
    let mails = corpus();
    let bytes: usize = mails.iter().map(|(_, m)| m.len()).sum();
    let mut g = c.benchmark_group("parse+analyze");
    g.throughput(Throughput::Elements(mails.len() as u64));
    g.bench_function(
        format!("whole corpus ({} messages, {} KB)", mails.len(), bytes / 1024),
        |b| {
            b.iter(|| {
                for (_, raw) in &mails {
                    let m = Incoming::parse(raw);
                    std::hint::black_box(analyzer.analyze(&m));
                }
            })
        },
    );
    g.throughput(Throughput::Elements(1));
    for name in [
        "01-complete-redos-path-regex.eml",
        "08-complete-very-long-report.eml",
        "23-html-only-rich-text-table.eml",
        "40-bounce-postfix-rfc3464.eml",
    ] {
        if let Some((_, raw)) = mails.iter().find(|(n, _)| n == name) {
            g.bench_function(name, |b| {
                b.iter(|| std::hint::black_box(analyzer.analyze(&Incoming::parse(raw))))
            });
        }
    }
    let big = format!(
        "From: a@example.com\r\nSubject: big\r\n\r\n{}",
        "express 4.21.1 attacker can DoS with curl localhost and more text\r\n".repeat(30_000)
    );
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.bench_function("2 MB plain-text report", |b| {
        b.iter(|| std::hint::black_box(analyzer.analyze(&Incoming::parse(big.as_bytes()))))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Raw bytes as a received email: parse, analyse, find the author and the thread, strip quotes.
//! None of it may panic, whatever the sender wrote.
#![no_main]

use libfuzzer_sys::fuzz_target;
use secintake::analysis::{AnalysisSettings, Analyzer};
use secintake::message::Incoming;
use std::sync::LazyLock;

const LIST: &str = "security@example.org";

static ANALYZER: LazyLock<Analyzer> = LazyLock::new(|| {
    AnalysisSettings::default()
        .compile_for(&["github.com/expressjs".to_string()], LIST)
        .unwrap()
});

fuzz_target!(|data: &[u8]| {
    let m = Incoming::parse(data);
    let facts = ANALYZER.analyze(&m);
    // Public links are a subset of the links found.
    for l in &facts.public_links {
        assert!(facts.links.contains(l), "public link {l:?} not among the links");
    }
    let _ = m.author(LIST);
    let ids = m.thread_ids(true);
    assert!(ids.len() >= m.thread_ids(false).len());
    let own = secintake::quoting::own_text(&m.text);
    // Stripping quotes never adds text, and is idempotent on its own output's length bound.
    assert!(own.len() <= m.text.len(), "own_text grew the text");
});

//! How alike two vulnerability reports are, so a new case can say "looks like SEC-...".
//!
//! A report is reduced to a [`Profile`] of three kinds of evidence, each compared on its own
//! and then combined:
//! - identifiers: package and API names (`path-to-regexp`, `qs.parse`, `res.redirect()`,
//!   `outputFunctionName`, `__proto__`) and version numbers: what two people describing one bug
//!   name whatever language they write in;
//! - code: 5-character shingles of code-like tokens (payloads, PoC lines such as
//!   `a[__proto__][polluted]=yes` or `..%5c..%5cwindows`), so a curl line and a Python script
//!   carrying the same payload meet;
//! - words: the remaining words (stop words and report boilerplate left out).
//!
//! Each kind is a TF-IDF vector (IDF from the reports being compared, see [`Idf`]); the score
//! is a weighted mean of the cosines of the kinds both reports have, in 0..=1. Two reports
//! that each name a kind of bug (open redirect, XSS, ReDoS, path traversal, ...; in several
//! languages) but no kind in common are rarely the same bug: their score is halved.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

/// Feature maps hash with foldhash: the scorer looks features up millions of times a pass.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// Scores at or above this count as "similar" (chosen with tests/similar_quality.rs).
pub const THRESHOLD: f64 = 0.27;
/// Most similar cases listed for a new one.
pub const MAX_SIMILAR: usize = 3;
/// Text looked at per report (bounded work on huge mail).
pub const MAX_TEXT_BYTES: usize = 32 * 1024;

/// Weights of the kinds of evidence in the combined score.
const W_IDENTS: f64 = 1.5;
const W_CODE: f64 = 1.0;
const W_WORDS: f64 = 1.0;
/// Shingle length for code tokens.
const SHINGLE: usize = 5;
/// Factor on the score of two reports that name different kinds of bug.
const OTHER_KIND_OF_BUG: f64 = 0.5;

/// Kinds of bug (roughly CWE classes) and the phrases that name them, in English, Spanish,
/// German, French, Portuguese and Chinese. A kind listed in `implies` counts as named too.
const BUG_KINDS: &[(&str, &str, &[&str])] = &[
    (
        "redos",
        r"redos|regex(?:p)?\s*dos|catastrophic backtracking|backtracking|regular expression denial|katastrophal|retroceso catastr|正则",
        &["dos"],
    ),
    (
        "dos",
        r"denial[ -]of[ -]service|\bdos\b|resource exhaustion|exhaust|out of memory|\boom\b|crash|takes? (?:the )?(?:site|server) down|blocks? the (?:event loop|server)|dienstverweigerung|denegaci[oó]n de servicio|d[ée]ni de service|nega[çc][ãa]o de servi[çc]o|拒绝服务|memory|cpu",
        &[],
    ),
    (
        "xss",
        r"\bxss\b|cross[- ]site scripting|跨站脚本|script injection|onerror=|<script",
        &[],
    ),
    (
        "open-redirect",
        r"open redirect|redirect(?:s|ed)? (?:the victim |users? )?to (?:an? )?(?:attacker|another|other|evil|external)|redirecci[oó]n abierta|offene weiterleitung|redirection ouverte|redirecionamento aberto|开放重定向",
        &[],
    ),
    (
        "path-traversal",
        r"path traversal|directory traversal|\.\.[/\\]|\.\.%(?:2f|5c)|outside (?:the )?(?:root|public|served)|recorrido de directorios|verzeichnisdurchlauf|travers[ée]e de r[ée]pertoire|include\(",
        &["file-disclosure"],
    ),
    (
        "file-disclosure",
        r"read (?:any|arbitrary) files?|file disclosure|arbitrary file|/etc/passwd|win\.ini|dotfiles?|(?:^|[\s/'])\.env\b|%2eenv|\.git/config",
        &[],
    ),
    (
        "prototype-pollution",
        r"prototype pollution|pollut|contaminaci[oó]n (?:del )?prototipo|prototyp(?:e)?-?verschmutzung|pollution de prototype|polui[çc][ãa]o de prot[óo]tipo|原型污染|__proto__",
        &[],
    ),
    (
        "header-injection",
        r"header injection|crlf|\bcr ?lf\b|%0d%0a|response splitting|parameter injection|attribute injection|inyecci[oó]n de (?:cabeceras|atributos)|injection d'(?:en-t[êe]te|attributs)|breaks? out of the parameter",
        &[],
    ),
    (
        "log-injection",
        r"log injection|forge[ds]? (?:new )?log|fake (?:log )?line|log forging|forged access log",
        &[],
    ),
    (
        "rce",
        r"remote code execution|\brce\b|code execution|child_process|execsync|ejecuci[oó]n remota|codeausf[üu]hrung|ex[ée]cution de code|execu[çc][ãa]o remota|远程代码执行",
        &[],
    ),
    (
        "auth-bypass",
        r"authentication bypass|authori[sz]ation bypass|auth(?:entication)? bypass|bypass de autentica|forged tokens?|alg(?:orithm)?\W{1,4}none|key confusion|umgehung der authentifizierung|contournement",
        &[],
    ),
    (
        "info-disclosure",
        r"stack traces?|information disclosure|discloses? (?:stack|file|path|secret|internal)|\bleaks?\b|tokens? (?:and|or) passwords? in|end up in access logs",
        &[],
    ),
    (
        "cors",
        r"access-control-allow-origin|cors misconfiguration|origin reflection|reflects any (?:request )?origin",
        &[],
    ),
    ("cache-poisoning", r"cache poisoning|vary: origin|poisoned cache", &[]),
    (
        "email-spoofing",
        r"\bspf\b|\bdmarc\b|email spoofing|spoofed e-?mails?",
        &[],
    ),
    ("clickjacking", r"clickjacking|x-frame-options|frame-ancestors", &[]),
    ("sqli", r"sql injection|\bsqli\b|inyecci[oó]n sql|injection sql", &[]),
    ("ssrf", r"\bssrf\b|server[- ]side request forgery", &[]),
    ("csrf", r"\bcsrf\b|cross[- ]site request forgery", &[]),
];

/// All the kinds' patterns in one set: a text is read once for all of them, not once a kind.
static BUG_KIND_SET: LazyLock<regex::RegexSet> = LazyLock::new(|| {
    regex::RegexSet::new(BUG_KINDS.iter().map(|(_, re, _)| format!("(?i){re}"))).expect("static regex")
});

/// The kinds of bug a text names.
fn bug_kinds(text: &str) -> Vec<&'static str> {
    let mut kinds = Vec::new();
    for i in BUG_KIND_SET.matches(text).iter() {
        let (kind, _, implies) = BUG_KINDS[i];
        kinds.push(kind);
        kinds.extend(implies.iter().copied());
    }
    kinds.sort_unstable();
    kinds.dedup();
    kinds
}

/// One feature of a report.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Feature {
    Ident(String),
    Code(u64),
    Word(String),
}

impl Feature {
    fn kind(&self) -> usize {
        match self {
            Feature::Ident(_) => 0,
            Feature::Code(_) => 1,
            Feature::Word(_) => 2,
        }
    }
}

const WEIGHTS: [f64; 3] = [W_IDENTS, W_CODE, W_WORDS];

/// The evidence in one report: term frequencies of its features.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    tf: HashMap<Feature, f64>,
    /// The same frequencies by [`key`], sorted by key: what the scorer walks (two reports
    /// are compared by merging their lists, with no feature hashed or compared as text).
    keyed: Vec<(u64, f64)>,
    kinds: Vec<&'static str>,
}

/// A feature's key: a fixed 62-bit hash of it, with its kind in the top two bits. Two
/// features sharing a key (about one pair in 10^9 among a million features) would count as
/// one, which moves a score by a hair.
fn key(f: &Feature) -> u64 {
    use std::hash::BuildHasher;
    let h = foldhash::fast::FixedState::with_seed(0x5ec1_47a6e).hash_one(f);
    (h >> 2) | ((f.kind() as u64) << 62)
}

/// The kind of evidence a [`key`] stands for.
fn kind_of(key: u64) -> usize {
    (key >> 62) as usize
}

/// Maps keyed by [`key`]: the keys are hashes already, used as they are.
type KeyMap<V> = std::collections::HashMap<u64, V, std::hash::BuildHasherDefault<KeyHasher>>;

/// The hasher of [`KeyMap`]: a key is its own hash.
#[derive(Default)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed; anything else is folded in, not lost.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

static DOTTED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+").expect("static regex"));
static HYPHENATED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"@?[A-Za-z][A-Za-z0-9]*(?:[-/][A-Za-z0-9]+)*-[A-Za-z0-9]+").expect("static regex"));
static CAMEL_OR_SNAKE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z_$][\w$]*(?:[a-z0-9][A-Z]|_)[\w$]*|__\w+__").expect("static regex"));
static CALL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"([A-Za-z_$][\w$.]*)\(").expect("static regex"));
static VERSION: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b\d+\.\d+\.\d+(?:-[\w.]+)?\b").expect("static regex"));

/// Characters that make a whitespace-separated token look like code or a payload.
const CODE_CHARS: &str = "()[]{}=%<>;/\\'\"`:+&|$";

/// Whether a byte is one of [`CODE_CHARS`] (all ASCII, and no byte of a multi-byte character
/// equals one): a table, not a search of the list for every byte of every token.
fn is_code_char(b: u8) -> bool {
    static TABLE: LazyLock<[bool; 256]> = LazyLock::new(|| {
        let mut t = [false; 256];
        for c in CODE_CHARS.bytes() {
            t[usize::from(c)] = true;
        }
        t
    });
    TABLE[usize::from(b)]
}

impl Profile {
    /// The profile of a report: its subject and text (the caller passes the report's own
    /// words; at most [`MAX_TEXT_BYTES`] of the text are read).
    pub fn new(subject: &str, text: &str) -> Profile {
        let text = crate::search::text::prefix(text, MAX_TEXT_BYTES);
        let mut p = Profile::default();
        for part in [subject, subject] {
            p.add_identifiers(part, 1.0);
            p.add_words(part, 1.0);
        }
        // No identifier, word or code token spans a line, so the text is read line by line and
        // each distinct line once, its features counted as often as the line occurs: the same
        // counts as reading every line, with the log, trace and hex-dump lines that reports
        // repeat read once.
        let mut lines: HashMap<&str, f64> = HashMap::default();
        for line in text.split('\n') {
            *lines.entry(line).or_insert(0.0) += 1.0;
        }
        for (line, n) in lines {
            p.add_identifiers(line, n);
            p.add_words(line, n);
            p.add_code(line, n);
        }
        p.kinds = bug_kinds(&format!("{subject}\n{text}"));
        p.sublinear();
        p.with_keys()
    }

    /// Sublinear term frequency: a word repeated ten times is not ten times the evidence.
    fn sublinear(&mut self) {
        for v in self.tf.values_mut() {
            *v = 1.0 + v.ln();
        }
    }

    /// The profile with its [`Profile::keyed`] list made from its frequencies.
    fn with_keys(mut self) -> Profile {
        self.keyed = self.tf.iter().map(|(f, v)| (key(f), *v)).collect();
        self.keyed.sort_unstable_by_key(|(k, _)| *k);
        self
    }

    /// Counts feature `f` `n` times.
    fn add(&mut self, f: Feature, n: f64) {
        *self.tf.entry(f).or_insert(0.0) += n;
    }

    fn add_identifiers(&mut self, text: &str, n: f64) {
        let mut seen: Vec<String> = Vec::new();
        for re in [&*DOTTED, &*HYPHENATED, &*CAMEL_OR_SNAKE] {
            for m in re.find_iter(text) {
                let s = m.as_str().trim_matches(|c: char| c == '.' || c == '-');
                if s.len() >= 3 && s.chars().any(|c| c.is_ascii_alphabetic()) {
                    seen.push(s.to_lowercase());
                }
            }
        }
        for c in CALL.captures_iter(text) {
            let name = c[1].trim_matches('.').to_lowercase();
            if !name.is_empty() && !STOP.contains(name.as_str()) {
                seen.push(format!("{name}()"));
            }
        }
        for m in VERSION.find_iter(text) {
            seen.push(format!("v{}", m.as_str()));
        }
        for s in seen {
            self.add(Feature::Ident(s), n);
        }
    }

    fn add_words(&mut self, text: &str, n: f64) {
        for w in words(text) {
            self.add(Feature::Word(w), n);
        }
    }

    fn add_code(&mut self, text: &str, n: f64) {
        for tok in text.split_whitespace() {
            let punct = tok.bytes().filter(|b| is_code_char(*b)).count();
            if punct < 2 || tok.len() < SHINGLE {
                continue;
            }
            let chars: Vec<char> = tok.to_lowercase().chars().collect();
            if chars.len() < SHINGLE {
                continue;
            }
            for w in chars.windows(SHINGLE) {
                // Shingles of plain letters say little that the words do not say already.
                if w.iter().all(|c| c.is_alphanumeric()) {
                    continue;
                }
                self.add(Feature::Code(fnv1a(w)), n);
            }
        }
    }

    /// The report's most distinctive identifiers and words (rarest in `idf` first), for
    /// finding candidate cases in the full-text index.
    pub fn key_terms(&self, idf: &Idf, n: usize) -> Vec<String> {
        let mut terms: Vec<(f64, String)> = self
            .tf
            .iter()
            .filter_map(|(f, tf)| match f {
                Feature::Ident(s) if !s.starts_with('v') => {
                    Some((tf * idf.of(f) * W_IDENTS, s.trim_end_matches("()").to_string()))
                }
                Feature::Word(s) => Some((tf * idf.of(f), s.clone())),
                _ => None,
            })
            .collect();
        terms.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let mut seen = HashSet::new();
        terms
            .into_iter()
            .map(|(_, s)| s)
            .filter(|s| seen.insert(s.clone()))
            .take(n)
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.tf.is_empty()
    }
}

/// Inverse document frequencies over a set of reports (the earlier cases looked at plus the
/// new one). A feature in every report weighs little; one shared by two reports weighs much.
#[derive(Debug, Clone, Default)]
pub struct Idf {
    docs: usize,
    /// Reports holding each feature, by [`key`].
    df: KeyMap<u32>,
}

impl Idf {
    pub fn new<'a>(profiles: impl IntoIterator<Item = &'a Profile>) -> Idf {
        let mut idf = Idf::default();
        idf.count(profiles);
        idf
    }

    fn count<'a>(&mut self, profiles: impl IntoIterator<Item = &'a Profile>) {
        for p in profiles {
            self.docs += 1;
            for (k, _) in &p.keyed {
                *self.df.entry(*k).or_insert(0) += 1;
            }
        }
    }

    fn docs(&self) -> usize {
        self.docs
    }

    fn df(&self, key: u64) -> u32 {
        self.df.get(&key).copied().unwrap_or(0)
    }

    fn of(&self, f: &Feature) -> f64 {
        self.of_key(key(f))
    }

    fn of_key(&self, key: u64) -> f64 {
        let df = f64::from(self.df(key).max(1));
        (1.0 + self.docs().max(1) as f64 / df).ln()
    }
}

/// How alike two reports are, 0 (nothing in common) ..= 1.
pub fn score(a: &Profile, b: &Profile, idf: &Idf) -> f64 {
    score_by(a, b, |k| idf.of_key(k))
}

/// [`score`] with each feature's inverse document frequency (by [`key`]) from `idf_of`.
/// The two key-sorted lists are merged: a feature both hold is met once in each.
fn score_by(a: &Profile, b: &Profile, idf_of: impl Fn(u64) -> f64) -> f64 {
    let mut dot = [0.0f64; 3];
    let mut na = [0.0f64; 3];
    let mut nb = [0.0f64; 3];
    let theirs = &b.keyed;
    let mut j = 0;
    for &(k, tf) in &a.keyed {
        let i = idf_of(k);
        let w = tf * i;
        na[kind_of(k)] += w * w;
        while j < theirs.len() && theirs[j].0 < k {
            j += 1;
        }
        if let Some(&(_, tb)) = theirs.get(j).filter(|(kb, _)| *kb == k) {
            dot[kind_of(k)] += w * tb * i;
        }
    }
    for &(k, tf) in theirs {
        let w = tf * idf_of(k);
        nb[kind_of(k)] += w * w;
    }
    let mut total = 0.0;
    let mut weights = 0.0;
    for k in 0..3 {
        if na[k] > 0.0 && nb[k] > 0.0 {
            total += WEIGHTS[k] * dot[k] / (na[k].sqrt() * nb[k].sqrt());
            weights += WEIGHTS[k];
        }
    }
    if weights == 0.0 {
        return 0.0;
    }
    let mut s = total / weights;
    if !a.kinds.is_empty() && !b.kinds.is_empty() && !a.kinds.iter().any(|k| b.kinds.contains(k)) {
        s *= OTHER_KIND_OF_BUG;
    }
    s.clamp(0.0, 1.0)
}

/// The inverse document frequency of every feature of some profiles, over those profiles and
/// a background, each worked out once (what an [`Idf`] of all of them would give, without
/// copying a feature or asking the background twice).
struct Weights {
    of: KeyMap<f64>,
}

impl Weights {
    fn new(background: &Idf, profiles: &[&Profile]) -> Weights {
        let mut counts: KeyMap<u32> = KeyMap::default();
        for p in profiles {
            for (k, _) in &p.keyed {
                *counts.entry(*k).or_insert(0) += 1;
            }
        }
        let docs = (profiles.len() + background.docs()).max(1) as f64;
        let of = counts
            .into_iter()
            .map(|(k, n)| {
                let df = f64::from((n + background.df(k)).max(1));
                (k, (1.0 + docs / df).ln())
            })
            .collect();
        Weights { of }
    }

    fn of(&self, key: u64) -> f64 {
        self.of.get(&key).copied().unwrap_or(0.0)
    }
}

/// The kinds of bug a report names (`xss`, `open-redirect`, `redos`, ...).
pub fn kinds(p: &Profile) -> &[&'static str] {
    &p.kinds
}

/// The per-kind cosines (identifiers, code, words), for explaining a score.
pub fn explain(a: &Profile, b: &Profile, idf: &Idf) -> [f64; 3] {
    let mut out = [0.0; 3];
    for (k, o) in out.iter_mut().enumerate() {
        let only = |p: &Profile| {
            Profile {
                tf: p
                    .tf
                    .iter()
                    .filter(|(f, _)| f.kind() == k)
                    .map(|(f, v)| (f.clone(), *v))
                    .collect(),
                keyed: Vec::new(),
                kinds: Vec::new(),
            }
            .with_keys()
        };
        *o = score(&only(a), &only(b), idf);
    }
    out
}

/// The identifiers and words two reports share, most telling first, at most `n` (for
/// explaining a match to a coordinator).
pub fn shared_terms(a: &Profile, b: &Profile, idf: &Idf, n: usize) -> Vec<String> {
    let mut shared: Vec<(f64, String)> =
        a.tf.iter()
            .filter_map(|(f, ta)| {
                let tb = b.tf.get(f)?;
                let w = ta * tb * idf.of(f) * idf.of(f) * WEIGHTS[f.kind()];
                match f {
                    Feature::Ident(s) => Some((w, s.trim_end_matches("()").to_string())),
                    Feature::Word(s) => Some((w, s.clone())),
                    Feature::Code(_) => None,
                }
            })
            .collect();
    shared.sort_by(|x, y| y.0.total_cmp(&x.0).then_with(|| x.1.cmp(&y.1)));
    let mut seen = HashSet::new();
    shared
        .into_iter()
        .map(|(_, s)| s)
        .filter(|s| seen.insert(s.clone()))
        .take(n)
        .collect()
}

/// The earlier reports at least `threshold` alike to `new`, best first, at most `max`.
pub fn best_matches<K: Clone, P: std::borrow::Borrow<Profile>>(
    new: &Profile,
    earlier: &[(K, P)],
    idf: &Idf,
    threshold: f64,
    max: usize,
) -> Vec<(K, f64)> {
    let mut out: Vec<(K, f64)> = earlier
        .iter()
        .map(|(k, p)| (k.clone(), score(new, p.borrow(), idf)))
        .filter(|(_, s)| *s >= threshold)
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out.truncate(max);
    out
}

/// An earlier case a new report resembles, as the new-case notice names it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Similar {
    pub id: String,
    pub score: f64,
    pub opened_at: String,
    pub reporter: String,
    /// `(encrypted report)` for a case whose report arrived encrypted.
    pub subject: String,
}

/// The earlier reports like `new` above [`THRESHOLD`], best first, at most [`MAX_SIMILAR`]:
/// `candidates` are the ones to score, `background` more earlier reports that only weigh
/// the features (so a word common to every report about one package weighs little).
pub fn similar_to<K: Clone, P: std::borrow::Borrow<Profile>>(
    new: &Profile,
    candidates: &[(K, P)],
    background: &[Profile],
) -> Vec<(K, f64)> {
    similar_among(new, candidates, std::sync::Arc::new(Idf::new(background)))
}

/// [`similar_to`] with the background's counts made once ([`Idf::new`]) for many reports.
pub fn similar_among<K: Clone, P: std::borrow::Borrow<Profile>>(
    new: &Profile,
    candidates: &[(K, P)],
    background: std::sync::Arc<Idf>,
) -> Vec<(K, f64)> {
    let profiles: Vec<&Profile> = candidates.iter().map(|(_, p)| p.borrow()).chain([new]).collect();
    let weights = Weights::new(&background, &profiles);
    let mut out: Vec<(K, f64)> = candidates
        .iter()
        .map(|(k, p)| (k.clone(), score_by(new, p.borrow(), |k| weights.of(k))))
        .filter(|(_, s)| *s >= THRESHOLD)
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out.truncate(MAX_SIMILAR);
    out
}

/// Lower-cased words of `text` without stop words; CJK runs become character pairs.
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for raw in text.split(|c: char| !c.is_alphanumeric()) {
        if raw.is_empty() {
            continue;
        }
        if raw.chars().any(is_cjk) {
            let chars: Vec<char> = raw.chars().collect();
            for pair in chars.windows(2) {
                out.push(pair.iter().collect());
            }
            continue;
        }
        let w = raw.to_lowercase();
        if w.chars().count() < 2 || w.chars().all(|c| c.is_ascii_digit()) || STOP.contains(w.as_str()) {
            continue;
        }
        out.push(stem(&w));
    }
    out
}

/// Plural and past-tense endings off (English), so "redirects" meets "redirect".
fn stem(w: &str) -> String {
    if ["ss", "us", "is", "js"].iter().any(|e| w.ends_with(e)) {
        return w.to_string();
    }
    for (suffix, min) in [("ies", 5), ("es", 5), ("s", 5), ("ed", 5)] {
        if w.len() >= min && w.ends_with(suffix) {
            let base = &w[..w.len() - suffix.len()];
            return if suffix == "ies" {
                format!("{base}y")
            } else {
                base.to_string()
            };
        }
    }
    w.to_string()
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30ff}' | '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{ac00}'..='\u{d7af}')
}

fn fnv1a(chars: &[char]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for c in chars {
        for b in (*c as u32).to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// Function words (English, Spanish, German, French, Portuguese) and the boilerplate of
/// vulnerability reports, which say nothing about which bug a report is about.
static STOP: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    const WORDS: &str = "
    a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had has
    have having he her here hers him his how i if in into is it its itself just let me more most my no nor
    not now of off on once only or other our ours out over own same she should so some such than that the
    their theirs them then there these they this those through to too under until up very was we were what
    when where which while who whom why will with would you your yours one two get got like use used using
    way may might must shall also even still yet ever every much many via per within without upon onto
    hi hello dear hey team thanks thank regards best kind cheers sincerely greetings please sent phone
    security vulnerability vulnerabilities issue bug report reporting reported researcher found finding
    impact severity steps reproduce reproduction poc proof concept summary description details technical
    affected affects version versions tested test recommendation remediation fix suggest suggestion expected
    attacker attack remote unauthenticated critical high medium low cvss hope message finds well writing
    responsibly disclose disclosure identified potential potentially observe note following example app
    application server request requests response user users code set sets
    el la los las un una de del que en y o por para con se su al es lo como mas pero sus le ya fue este esta
    hola saludos gracias versión prueba impacto
    der die das und ist ein eine einer nicht mit von zu den dem des auf für bei im sich oder als auch es
    wird werden kann bei nach guten tag freundlichen grüßen
    le les des et est un une du dans pour pas sur ce qui au avec par ne se plus ou sont bonjour cordialement
    os as um uma do da dos das em no na ao não olá atenciosamente
    ";
    WORDS.split_whitespace().collect()
});

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(text: &str) -> Profile {
        Profile::new("", text)
    }

    #[test]
    fn one_pass_finds_each_kind_a_text_names_and_what_it_implies() {
        assert_eq!(
            bug_kinds("Catastrophic backtracking in the route regex; also ../../etc/passwd is readable"),
            vec!["dos", "file-disclosure", "path-traversal", "redos"]
        );
        assert_eq!(
            bug_kinds("Contaminación del prototipo en qs"),
            vec!["prototype-pollution"]
        );
        assert!(bug_kinds("Thanks for the quick fix!").is_empty());
        // Each kind alone, as its own pattern would find it.
        for (kind, re, _) in BUG_KINDS {
            let own = Regex::new(&format!("(?i){re}")).unwrap();
            for text in [
                "an SSRF via the proxy",
                "XSS through onerror=",
                "CRLF in the header",
                "crash",
            ] {
                assert_eq!(own.is_match(text), bug_kinds(text).contains(kind), "{kind} on {text:?}");
            }
        }
    }

    /// A profile made the plain way: the whole text read at once, every line as often as it
    /// occurs.
    fn read_whole(subject: &str, text: &str) -> Profile {
        let mut p = Profile::default();
        for part in [subject, subject, text] {
            p.add_identifiers(part, 1.0);
            p.add_words(part, 1.0);
        }
        p.add_code(text, 1.0);
        p.kinds = bug_kinds(&format!("{subject}\n{text}"));
        p.sublinear();
        p.with_keys()
    }

    proptest::proptest! {
        #[test]
        fn reading_each_distinct_line_once_gives_the_same_profile(
            lines in proptest::collection::vec(proptest::sample::select(vec![
                "I found a ReDoS in path-to-regexp 0.1.7 via app.get('/:a-:b').",
                "curl \"http://localhost:3000/$(printf 'a-%.0s' {1..20000})\"",
                "    at Layer.handle (node_modules/express/lib/router/layer.js:95:5)",
                "qs.parse('a[__proto__][polluted]=yes') pollutes Object.prototype",
                "",
                "\r",
                "Version 4.21.1-beta.2 of res.redirect() and outputFunctionName",
                "  00000010  2e 2e 2f 2e 2e 2f 65 74  63 2f 70 61 73 73 77 64  |../../etc/passwd|",
                "Zugriff über ../../ auf Dateien außerhalb, 跨站脚本 im Formular",
            ]), 0..40)
        ) {
            let text = lines.join("\n");
            let subject = "Report: ReDoS in path matching";
            proptest::prop_assert_eq!(Profile::new(subject, &text), read_whole(subject, &text));
        }
    }

    #[test]
    fn code_characters_are_the_listed_ones() {
        for b in 0..=255u8 {
            assert_eq!(
                is_code_char(b),
                b.is_ascii() && CODE_CHARS.contains(char::from(b)),
                "byte {b}"
            );
        }
    }

    #[test]
    fn identifiers_are_found_in_prose_and_code() {
        let p = Profile::new(
            "ReDoS in path-to-regexp",
            "call qs.parse(x) or res.redirect('//e'); set outputFunctionName and __proto__ on 6.10.2",
        );
        for id in [
            "path-to-regexp",
            "qs.parse",
            "qs.parse()",
            "res.redirect()",
            "outputfunctionname",
            "__proto__",
            "v6.10.2",
        ] {
            assert!(
                p.tf.contains_key(&Feature::Ident(id.into())),
                "{id} missing from {:?}",
                p.tf.keys()
            );
        }
        assert!(p.tf.contains_key(&Feature::Word("redo".into())) || p.tf.contains_key(&Feature::Word("redos".into())));
        assert!(!p.tf.contains_key(&Feature::Word("the".into())));
    }

    #[test]
    fn same_text_scores_one_and_nothing_shared_scores_zero() {
        let a = profile("res.redirect('//evil.example') sends users to evil.example: open redirect");
        let b = profile("jsonwebtoken accepts tokens without signature when secret missing");
        let idf = Idf::new([&a, &b]);
        assert!((score(&a, &a, &idf) - 1.0).abs() < 1e-9);
        assert_eq!(score(&a, &b, &idf), 0.0);
        assert_eq!(score(&a, &Profile::default(), &idf), 0.0);
    }

    #[test]
    fn a_shared_payload_counts_across_languages() {
        let en =
            profile("The parser pollutes the prototype: curl 'http://h/?a[__proto__][polluted]=yes' using qs.parse");
        let es = profile(
            "El analizador contamina el prototipo: requests.get('http://h/?a[__proto__][polluted]=yes') qs.parse",
        );
        let other = profile("El servidor devuelve archivos fuera de la carpeta: GET /static/..%5c..%5cwin.ini");
        let idf = Idf::new([&en, &es, &other]);
        assert!(score(&en, &es, &idf) > 0.5, "{}", score(&en, &es, &idf));
        assert!(score(&es, &other, &idf) < 0.1, "{}", score(&es, &other, &idf));
    }

    #[test]
    fn best_matches_keeps_the_best_three_above_the_threshold() {
        let new = profile("res.redirect open redirect with //evil.example in express");
        let earlier: Vec<(u32, Profile)> = vec![
            (1, profile("res.redirect open redirect via //evil.example in express 4")),
            (2, profile("cookie serialize attribute injection")),
            (3, profile("res.redirect open redirect")),
            (4, profile("open redirect res.redirect //evil.example")),
            (5, profile("express res.redirect redirect //evil.example open")),
        ];
        let idf = Idf::new(earlier.iter().map(|(_, p)| p).chain([&new]));
        let m = best_matches(&new, &earlier, &idf, 0.2, MAX_SIMILAR);
        assert_eq!(m.len(), 3);
        assert!(m.windows(2).all(|w| w[0].1 >= w[1].1));
        assert!(!m.iter().any(|(k, _)| *k == 2));
        assert!(m.iter().all(|(_, s)| (0.0..=1.0).contains(s)));
    }

    #[test]
    fn similar_to_uses_the_background_for_weights_but_lists_only_candidates() {
        let new = profile("qs.parse pollutes Object.prototype through a[__proto__][x]=1 in express");
        let candidates = vec![
            (
                "SEC-1",
                profile("prototype pollution: qs.parse('a[__proto__][x]=1') sets Object.prototype.x"),
            ),
            ("SEC-2", profile("express res.redirect open redirect")),
        ];
        let background = vec![profile("express crash"), profile("express cookie bug")];
        let found = similar_to(&new, &candidates, &background);
        assert_eq!(found.iter().map(|(k, _)| *k).collect::<Vec<_>>(), vec!["SEC-1"]);
        assert!(found[0].1 >= THRESHOLD && found[0].1 <= 1.0);
        assert!(similar_to::<&str, Profile>(&new, &[], &background).is_empty());
    }

    #[test]
    fn key_terms_prefer_rare_identifiers() {
        let a = profile("qs.parse pollutes the prototype of express apps");
        let b = profile("express apps crash");
        let idf = Idf::new([&a, &b]);
        let terms = a.key_terms(&idf, 3);
        assert_eq!(terms[0], "qs.parse");
        assert!(!terms.contains(&"express".to_string()));
    }

    #[test]
    fn huge_and_hostile_text_is_bounded() {
        let text = "é".repeat(MAX_TEXT_BYTES) + "never-seen-identifier";
        let p = profile(&text);
        assert!(!p.tf.contains_key(&Feature::Ident("never-seen-identifier".into())));
        let _ = profile("\u{0}((((]]]]%%%%''''\"\"\"");
    }

    #[test]
    fn stems_plurals() {
        assert_eq!(stem("redirects"), "redirect");
        assert_eq!(stem("policies"), "policy");
        assert_eq!(stem("class"), "class");
        assert_eq!(stem("qs"), "qs");
        assert_eq!(stem("cors"), "cors");
        assert_eq!(stem("expressjs"), "expressjs");
    }
}

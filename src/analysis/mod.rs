//! Pure report analysis: a parsed message in, the facts a coordinator needs out.
//!
//! Is the report in the body (`body_check`), what is missing from it (`missing`), is it
//! already public (`premature-disclosure`), does it look out of scope (hints), and is it an
//! automatic mail that must never be answered (`auto`).

pub mod blocks;
pub mod body_check;
pub mod checklist;
pub mod links;
pub mod loops;
pub mod scope;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::message::{Attachment, Incoming};
use crate::quoting;

pub use body_check::BodyCheck;
pub use checklist::Missing;
pub use loops::AutoKind;
pub use scope::{Hint, HintRule};

/// `pattern` with ASCII word boundaries. A Unicode `\b` makes the regex crate's fast engines
/// (the lazy DFA) give up on any text with a non-ASCII character and fall back to a much
/// slower one; the built-in patterns only need `\b` next to ASCII words.
pub(crate) fn ascii_boundaries(pattern: &str) -> String {
    pattern.replace(r"\b", r"(?-u:\b)")
}

/// A built-in pattern, compiled with ASCII word boundaries.
pub(crate) fn re(pattern: &str) -> regex::Regex {
    regex::Regex::new(&ascii_boundaries(pattern)).expect("a built-in pattern compiles")
}

/// `[analysis]` settings: thresholds and patterns, all optional.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AnalysisSettings {
    /// Fewer characters of own prose than this is `too-short`.
    #[serde(default)]
    pub min_body_chars: Option<usize>,
    /// A report pointing at a link or attachment, with this much prose or less and not
    /// two of the checklist items, is `link-only` / `attachment-only`.
    #[serde(default)]
    pub pointer_max_chars: Option<usize>,
    /// Replace the built-in checklist patterns (regexes, case-insensitive).
    #[serde(default)]
    pub affected_versions_patterns: Vec<String>,
    #[serde(default)]
    pub reproduction_patterns: Vec<String>,
    #[serde(default)]
    pub impact_patterns: Vec<String>,
    /// Keep the built-in scope hints (default true) and add these.
    #[serde(default)]
    pub builtin_hints: Option<bool>,
    #[serde(default)]
    pub hints: Vec<HintRule>,
    /// npm packages the project maintains (a report about another package is third-party).
    #[serde(default)]
    pub project_packages: Vec<String>,
    /// Node.js majors past their end of life, for the `eol-runtime` hint (0 = every 0.x).
    /// Default: every major before 20, and 21.
    #[serde(default)]
    pub eol_node_majors: Option<Vec<u32>>,
}

/// Analysis settings with every pattern compiled.
#[derive(Debug, Clone)]
pub struct Analyzer {
    pub min_body_chars: usize,
    pub pointer_max_chars: usize,
    pub checklist: checklist::Checklist,
    pub scope: scope::Scope,
    pub project_repos: Vec<String>,
    pub list_address: String,
}

impl AnalysisSettings {
    /// Compiles every pattern; an error names the key and the problem.
    pub fn compile(&self) -> Result<Analyzer, (String, String)> {
        self.compile_for(&[], "")
    }

    pub fn compile_for(&self, project_repos: &[String], list_address: &str) -> Result<Analyzer, (String, String)> {
        Ok(Analyzer {
            min_body_chars: self.min_body_chars.unwrap_or(200),
            pointer_max_chars: self.pointer_max_chars.unwrap_or(700),
            checklist: checklist::Checklist::compile(
                &self.affected_versions_patterns,
                &self.reproduction_patterns,
                &self.impact_patterns,
            )?,
            scope: scope::Scope::compile(
                self.builtin_hints.unwrap_or(true),
                &self.hints,
                &self.project_packages,
                &self
                    .eol_node_majors
                    .clone()
                    .unwrap_or_else(scope::default_eol_node_majors),
            )?,
            project_repos: project_repos.iter().map(|r| links::normalise_repo(r)).collect(),
            list_address: list_address.to_ascii_lowercase(),
        })
    }
}

/// What the analysis says about one message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    pub body_check: BodyCheck,
    pub missing: Vec<Missing>,
    /// For each checklist item judged present, the phrase of the body that made it count
    /// (folded, control characters removed, at most `checklist::EVIDENCE_CHARS` characters).
    #[serde(default)]
    pub evidence: BTreeMap<Missing, String>,
    /// `premature-disclosure`, `html-only`, `unknown-charset`, `parse-error`, `large-message`
    /// (only the first 4 MiB were analysed).
    pub flags: Vec<String>,
    pub hints: Vec<Hint>,
    pub links: Vec<String>,
    /// Links to public issues / pull requests of the project's repositories.
    pub public_links: Vec<String>,
    pub auto: Option<AutoKind>,
    pub attachments: Vec<Attachment>,
    /// The start of the sender's own text, for notices (never logged).
    pub excerpt: String,
}

impl Facts {
    pub fn has_flag(&self, f: &str) -> bool {
        self.flags.iter().any(|x| x == f)
    }
}

pub const EXCERPT_CHARS: usize = 1500;

/// Bytes of own text the checks read.
pub const ANALYSIS_WINDOW: usize = 64 * 1024;

/// The first `max` bytes of `s`, cut at a character boundary.
pub(crate) fn window(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    &s[..cut]
}

impl Analyzer {
    /// Analyses one message.
    pub fn analyze(&self, m: &Incoming) -> Facts {
        let own_full = quoting::own_text_upto(&m.text, ANALYSIS_WINDOW);
        // The checks read the start of the sender's own text: enough to judge a report, and
        // bounded work for a huge one.
        let own = window(&own_full, ANALYSIS_WINDOW);
        let mut links = links::extract(own);
        // Link targets of HTML anchors, which the text conversion drops.
        for l in &m.html_links {
            if links.len() >= links::MAX_LINKS {
                break;
            }
            if !links.contains(l) {
                links.push(l.clone());
            }
        }
        let public_links: Vec<String> = links
            .iter()
            .filter(|l| links::is_public_tracker_item(l, &self.project_repos))
            .cloned()
            .collect();
        let judged = self.checklist.judge(own);
        let found = &judged.found;
        let missing: Vec<Missing> = Missing::ALL.iter().copied().filter(|k| !found.contains(k)).collect();
        let attachments: Vec<Attachment> = m
            .attachments
            .iter()
            .filter(|a| !body_check::is_decoration(a))
            .cloned()
            .collect();
        let body_check = body_check::judge(self, own, &links, &attachments, found);
        let (missing, evidence) = if body_check == BodyCheck::Ok {
            (missing, judged.evidence)
        } else {
            // Details behind a link or attachment, or a body too short: ask for all of it.
            (Missing::ALL.to_vec(), BTreeMap::new())
        };
        let mut flags = Vec::new();
        if !public_links.is_empty() {
            flags.push("premature-disclosure".to_string());
        }
        if m.html_only {
            flags.push("html-only".to_string());
        }
        if m.unknown_charset {
            flags.push("unknown-charset".to_string());
        }
        if m.partial {
            flags.push("large-message".to_string());
        }
        if m.parse_problem.is_some() && !m.partial {
            flags.push("parse-error".to_string());
        }
        let hints = self.scope.hints(&m.subject, own);
        Facts {
            body_check,
            missing,
            evidence,
            flags,
            hints,
            links,
            public_links,
            auto: loops::classify(m, &self.list_address),
            attachments: m.attachments.clone(),
            excerpt: own.chars().take(EXCERPT_CHARS).collect(),
        }
    }
}

#[cfg(test)]
mod config_tests {
    //! `[analysis]` settings loaded from TOML, the way the daemon builds its analyzer.

    use crate::app::App;
    use crate::config::Settings;
    use crate::message::Incoming;

    use crate::config::TEST_MINIMAL as BASE;

    fn app(analysis: &str) -> App {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("secintake.toml");
        std::fs::write(&p, format!("{BASE}{analysis}")).unwrap();
        App::new(Settings::load(&p).unwrap()).unwrap()
    }

    // Nothing of the checklist, but something technical: too short under 200 characters.
    const SHORT_REPORT: &str =
        "From: jane@example.com\r\nSubject: XSS\r\n\r\nres.send(req.query.x) reflects HTML back to the client.\r\n";
    const LAMBDA_REPORT: &str =
        "From: jane@example.com\r\nSubject: x\r\n\r\nOn AWS Lambda with Node 16.20.2 the handler leaks the event.\r\n";

    #[test]
    fn min_body_chars_from_toml_changes_the_body_check() {
        let m = Incoming::parse(SHORT_REPORT.as_bytes());
        assert_eq!(app("").analyzer.analyze(&m).body_check.as_str(), "too-short");
        let a = app("[analysis]\nmin_body_chars = 40\n");
        assert_eq!(a.analyzer.min_body_chars, 40);
        assert_eq!(a.analyzer.analyze(&m).body_check.as_str(), "ok");
    }

    #[test]
    fn custom_hint_and_eol_majors_from_toml_change_the_hints() {
        let m = Incoming::parse(LAMBDA_REPORT.as_bytes());
        let labels = |a: &App| -> Vec<String> { a.analyzer.analyze(&m).hints.into_iter().map(|h| h.label).collect() };
        assert_eq!(labels(&app("")), vec!["eol-runtime"]);
        let a = app(
            "[analysis]\neol_node_majors = [14]\n[[analysis.hints]]\nlabel = \"cloud-config\"\npattern = \"aws\\\\s+lambda\"\nexplanation = \"Cloud configuration is out of scope.\"\n",
        );
        let facts = a.analyzer.analyze(&m);
        assert_eq!(labels(&a), vec!["cloud-config"], "16 is not in the configured EOL list");
        assert_eq!(facts.hints[0].explanation, "Cloud configuration is out of scope.");
        // A broken pattern is refused at load time, naming the key.
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("secintake.toml");
        std::fs::write(
            &p,
            format!("{BASE}[[analysis.hints]]\nlabel = \"x\"\npattern = \"(\"\nexplanation = \"e\"\n"),
        )
        .unwrap();
        let e = Settings::load(&p).unwrap_err().to_string();
        assert!(e.contains("analysis.hints"), "{e}");
    }

    #[test]
    fn project_repos_default_covers_the_three_organisations() {
        let a = app("");
        for org in ["expressjs", "pillarjs", "jshttp"] {
            let m = Incoming::parse(
                format!("From: jane@example.com\r\nSubject: x\r\n\r\nI filed https://github.com/{org}/x/issues/12 already.\r\n")
                    .as_bytes(),
            );
            assert!(a.analyzer.analyze(&m).has_flag("premature-disclosure"), "{org}");
        }
    }
}

//! Scope hints: signs that a report is outside the project's threat model.
//!
//! Hints are flags for coordinators with an explanation they can reuse; they never close
//! a case by themselves.

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// A configurable rule: when `pattern` (and `also`, if given) match, add `label`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HintRule {
    pub label: String,
    pub pattern: String,
    #[serde(default)]
    pub also: Option<String>,
    pub explanation: String,
}

/// A hint raised on a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hint {
    pub label: String,
    pub explanation: String,
}

fn rule(label: &str, pattern: &str, also: Option<&str>, explanation: &str) -> HintRule {
    HintRule {
        label: label.into(),
        pattern: super::ascii_boundaries(pattern),
        also: also.map(super::ascii_boundaries),
        explanation: explanation.into(),
    }
}

/// Node.js majors past their end of life, by default (`[analysis] eol_node_majors`): every
/// major before 20 (0.x included) and the odd release 21.
pub fn default_eol_node_majors() -> Vec<u32> {
    (0..20).chain([21]).collect()
}

/// The `eol-runtime` rule for these Node.js majors (`0` stands for every 0.x release).
pub fn eol_rule(majors: &[u32]) -> HintRule {
    let mut alts: Vec<String> = Vec::new();
    if majors.contains(&0) {
        alts.push(r"0\.\d+".into());
    }
    let mut m: Vec<u32> = majors.iter().copied().filter(|m| *m > 0).collect();
    m.sort_unstable();
    m.dedup();
    // longest first, so "18" is tried before "1"
    m.sort_by_key(|n| std::cmp::Reverse(n.to_string().len()));
    alts.extend(m.iter().map(|n| n.to_string()));
    // An empty list never matches.
    let majors = if alts.is_empty() {
        r"[^\s\S]".to_string()
    } else {
        alts.join("|")
    };
    rule(
        "eol-runtime",
        &format!(r"\bnode(?:\.?js)?\s*(?:v|version\s*)?(?:{majors})(?:\.\d+){{0,2}}\b"),
        None,
        "The report involves an end-of-life Node.js version; the project supports only maintained runtimes.",
    )
}

/// The project's threat model, as shipped, with these end-of-life Node.js majors.
pub fn builtin_rules(eol_node_majors: &[u32]) -> Vec<HintRule> {
    vec![
        rule(
            "third-party-module",
            r"\bthird[-\s]party\s+(?:module|package|middleware|library|plugin)|\bnot\s+(?:an?\s+)?(?:official|maintained\s+by)\b|\bcommunity\s+(?:module|package|middleware)",
            None,
            "The issue appears to be in a module the project does not maintain; it should be reported to that module's maintainers.",
        ),
        rule(
            "environment-tampering",
            r"\bNODE_ENV\b|\bprocess\.env\b|\benvironment\s+variables?\b",
            Some(r"\b(?:set|sets|setting|control|controls|controlling|modify|modif(?:y|ies|ied)|change|changes|changing|tamper|overrid|inject|attacker|malicious)\w*"),
            "Exploitation needs control of the process environment (NODE_ENV or other variables), which the threat model treats as trusted.",
        ),
        rule(
            "static-misconfiguration",
            r#"express\.static\s*\(|serve-static|\bstatic\s+(?:middleware|directory|folder|root)"#,
            Some(r#"express\.static\s*\(\s*(?:__dirname\s*\)|process\.cwd\(\)\s*\)|['"]\.?/?['"]\s*\)|['"]/(?:etc|home|root)?['"]\s*\))|\bmisconfigur|\b(?:serv|expos)\w*\s+(?:the\s+)?(?:whole\s+|entire\s+)?(?:project|application|app)(?:'s)?\s+(?:root|directory|folder)"#),
            "Serving a sensitive directory with express.static is an application misconfiguration, not a vulnerability in the project.",
        ),
        rule(
            "prototype-pollution-app-input",
            r"\bprototype\s+pollution\b|__proto__|constructor\.prototype",
            Some(r"\b(?:merge|deep[-\s]?merge|Object\.assign|_\.merge|lodash|extend\s*\(|defaultsDeep|the\s+application\s+(?:merges|copies|assigns)|app(?:lication)?\s+code\s+(?:merges|copies))"),
            "The pollution happens only when the application itself merges untrusted input unsafely; the project treats application input handling as the application's responsibility.",
        ),
        rule(
            "runtime-vulnerability",
            r"\bllhttp\b|\bhttp_parser\b|\bnode(?:\.?js)?(?:'s)?\s+(?:core|itself|runtime|http\s+(?:module|parser|server))\b|\bin\s+node(?:\.?js)?\s+itself\b|\bnode:http\b|\brequest\s+smuggling\b|\bdepends?\s+on\s+the\s+node(?:\.?js)?\s+version",
            None,
            "The behaviour comes from the Node.js runtime (its HTTP parser or core); it should be reported to the Node.js security team.",
        ),
        eol_rule(eol_node_majors),
    ]
}

/// npm packages of the expressjs and pillarjs organisations.
pub const PROJECT_PACKAGES: &[&str] = &[
    "express",
    "body-parser",
    "cookie-parser",
    "cookie-session",
    "serve-static",
    "serve-index",
    "express-session",
    "multer",
    "cors",
    "morgan",
    "compression",
    "method-override",
    "csurf",
    "connect-timeout",
    "errorhandler",
    "response-time",
    "vhost",
    "session",
    "finalhandler",
    "router",
    "send",
    "path-to-regexp",
    "cookie",
    "qs",
    "content-disposition",
    "content-type",
    "accepts",
    "negotiator",
    "type-is",
    "mime-types",
    "on-finished",
    "etag",
    "fresh",
    "range-parser",
    "raw-body",
    "statuses",
    "encodeurl",
    "escape-html",
    "parseurl",
    "proxy-addr",
    "vary",
    "depd",
    "http-errors",
    "basic-auth",
    "media-typer",
    "forwarded",
    "ipaddr.js",
];

/// Node.js built-in modules (never third-party).
const NODE_BUILTINS: &[&str] = &[
    "http",
    "https",
    "fs",
    "path",
    "url",
    "crypto",
    "os",
    "net",
    "child_process",
    "util",
    "events",
    "stream",
    "querystring",
    "zlib",
    "buffer",
    "assert",
    "node:http",
    "node:fs",
    "node:path",
    "node:crypto",
    "node:url",
    "node:child_process",
    "dns",
    "tls",
    "worker_threads",
    "cluster",
];

/// Most hyphenated words of a subject checked as possible package names.
const MAX_PACKAGE_CANDIDATES: usize = 8;

/// Compiled scope rules.
#[derive(Debug, Clone)]
pub struct Scope {
    rules: Vec<(HintRule, Option<Regex>)>,
    /// Every rule's `pattern`, in the order of `rules`: one pass over the text says which match.
    patterns: RegexSet,
    project_packages: Vec<String>,
    eol_node_majors: Vec<u32>,
}

fn compile(p: &str) -> Result<Regex, String> {
    RegexBuilder::new(p)
        .case_insensitive(true)
        .size_limit(1 << 22)
        .build()
        .map_err(|e| format!("bad pattern `{p}`: {e}"))
}

impl Scope {
    pub fn compile(
        builtin: bool,
        extra: &[HintRule],
        packages: &[String],
        eol_node_majors: &[u32],
    ) -> Result<Scope, (String, String)> {
        let mut rules = Vec::new();
        let all: Vec<HintRule> = if builtin {
            builtin_rules(eol_node_majors)
        } else {
            Vec::new()
        }
        .into_iter()
        .chain(extra.iter().cloned())
        .collect();
        for r in all {
            compile(&r.pattern).map_err(|e| ("hints".to_string(), format!("{}: {e}", r.label)))?;
            let a = match &r.also {
                Some(a) => Some(compile(a).map_err(|e| ("hints".to_string(), format!("{}: {e}", r.label)))?),
                None => None,
            };
            rules.push((r, a));
        }
        let patterns = RegexSetBuilder::new(rules.iter().map(|(r, _)| r.pattern.as_str()))
            .case_insensitive(true)
            .size_limit(1 << 26)
            .build()
            .map_err(|e| ("hints".to_string(), format!("the patterns together are too big: {e}")))?;
        let project_packages = if packages.is_empty() {
            PROJECT_PACKAGES.iter().map(|s| s.to_string()).collect()
        } else {
            packages.to_vec()
        };
        Ok(Scope {
            rules,
            patterns,
            project_packages,
            eol_node_majors: eol_node_majors.to_vec(),
        })
    }

    /// The hints for a report with this subject and own text.
    pub fn hints(&self, subject: &str, own: &str) -> Vec<Hint> {
        let text = format!("{subject}\n{own}");
        let mut out: Vec<Hint> = Vec::new();
        let mut push = |label: &str, explanation: &str| {
            if !out.iter().any(|h| h.label == label) {
                out.push(Hint {
                    label: label.into(),
                    explanation: explanation.into(),
                });
            }
        };
        let matched = self.patterns.matches(&text);
        for (i, (r, a)) in self.rules.iter().enumerate() {
            if r.label == "third-party-module" && self.names_foreign_package(subject, own) {
                push(&r.label, &r.explanation);
                continue;
            }
            if matched.matched(i)
                && a.as_ref().is_none_or(|a| a.is_match(&text))
                // Also seen on a maintained Node.js: the old runtime is not the point.
                && !(r.label == "eol-runtime" && self.supported_node_affected(&text))
            {
                push(&r.label, &r.explanation);
            }
        }
        // keep the rules' order stable regardless of which branch fired
        let order: Vec<&str> = self.rules.iter().map(|(r, _)| r.label.as_str()).collect();
        out.sort_by_key(|h| order.iter().position(|l| *l == h.label).unwrap_or(usize::MAX));
        out
    }

    /// A sentence names a maintained Node.js major (not in the EOL list) without saying it
    /// is unaffected: "tested on Node.js v18.19.0 and v20.11.0" is, "I could not reproduce
    /// it on Node 20 or 22" is not.
    fn supported_node_affected(&self, text: &str) -> bool {
        static SENTENCE: LazyLock<Regex> = LazyLock::new(|| super::re(r"[.!?](?:\s|$)|\n\s*\n|;"));
        static NODE_LIST: LazyLock<Regex> = LazyLock::new(|| {
            super::re(
                r"(?i)\bnode(?:\.?js)?\s*(?:v|version\s*)?(\d+(?:\.\d+){0,2}(?:\s*(?:,|/|&|\band\b|\bor\b)\s*v?\d+(?:\.\d+){0,2})*)\b",
            )
        });
        static MAJOR: LazyLock<Regex> = LazyLock::new(|| super::re(r"(?:^|[^\d.])v?(\d+)"));
        static NEGATED: LazyLock<Regex> = LazyLock::new(|| {
            super::re(
                r"(?i)\b(?:not|cannot|can't|couldn't|didn't|doesn't|don't|isn't|unable|never|no\s+longer|unaffected|fixed|works?\s+(?:fine|correctly|as\s+expected))\b|n't\b",
            )
        });
        SENTENCE.split(text).any(|sentence| {
            !NEGATED.is_match(sentence)
                && NODE_LIST.captures_iter(sentence).any(|c| {
                    MAJOR
                        .captures_iter(&c[1])
                        .filter_map(|m| m[1].parse::<u32>().ok())
                        .any(|major| major > 0 && !self.eol_node_majors.contains(&major))
                })
        })
    }

    /// The subject names an npm package the project does not maintain (`name@1.2.3`, or a
    /// hyphenated name the body requires, installs or gives a version of).
    fn names_foreign_package(&self, subject: &str, body: &str) -> bool {
        static AT_VERSION: LazyLock<Regex> =
            LazyLock::new(|| super::re(r"(?i)(@?[a-z0-9][a-z0-9._-]*(?:/[a-z0-9._-]+)?)@v?\d"));
        static HYPHENATED: LazyLock<Regex> = LazyLock::new(|| super::re(r"(?i)\b[a-z0-9]+(?:-[a-z0-9]+)+\b"));
        let foreign = |n: &str| {
            let n = n.trim_matches(['.', '-']);
            n.len() > 2 && !self.project_packages.iter().any(|p| p == n) && !NODE_BUILTINS.contains(&n)
        };
        let lower_body = body.to_ascii_lowercase();
        // Where the name occurs: `require('NAME')`, `from 'NAME'`, `npm install [--save] NAME`
        // or `NAME@1.2` / `NAME v1.2`. Read by hand at each occurrence: a regex built per
        // name cost more than the rest of the analysis together.
        let used_in_body = |n: &str| lower_body.match_indices(n).any(|(i, _)| used_at(&lower_body, i, n));
        AT_VERSION.captures_iter(subject).any(|c| {
            let n = c[1].to_ascii_lowercase();
            (n.contains('-') || n.starts_with('@')) && foreign(&n)
        }) || HYPHENATED
            .find_iter(subject)
            .map(|m| m.as_str().to_ascii_lowercase())
            .filter(|n| foreign(n))
            // Each candidate costs a regex over the body: a subject stuffed with hyphenated
            // words must not make a message expensive, so only the first few are tried.
            .take(MAX_PACKAGE_CANDIDATES)
            .any(|n| used_in_body(&n))
    }
}

/// Whether the package name `n` at byte `i` of `body` is required, imported, installed or
/// given a version: `require\s*\(\s*['"]N['"]`, `from\s+['"]N['"]`,
/// `npm\s+(install|i)\s+(--save\s+)?N\b` or `\bN@?\s*v?\d+\.\d+`.
fn used_at(body: &str, i: usize, n: &str) -> bool {
    let before = &body[..i];
    let after = &body[i + n.len()..];
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    // require('N') / from 'N'
    if let Some(q) = before.chars().last().filter(|c| *c == '\'' || *c == '"') {
        if after.starts_with(q) {
            let open = &before[..before.len() - 1];
            let head = open.trim_end();
            if head
                .strip_suffix('(')
                .is_some_and(|h| h.trim_end().ends_with("require"))
            {
                return true;
            }
            if head.len() < open.len() && head.ends_with("from") {
                return true;
            }
        }
    }
    // npm install [--save] N
    if !word(after.chars().next()) && before.ends_with(char::is_whitespace) {
        let mut tokens = before.split_whitespace().rev().peekable();
        if tokens.peek() == Some(&"--save") {
            tokens.next();
        }
        if matches!(tokens.next(), Some("install" | "i")) && tokens.next().is_some_and(|t| t.ends_with("npm")) {
            return true;
        }
    }
    // N@1.2, N 1.2, N v1.2
    if word(before.chars().last()) && word(n.chars().next()) {
        return false;
    }
    let rest = after.strip_prefix('@').unwrap_or(after).trim_start();
    let rest = rest.strip_prefix('v').unwrap_or(rest);
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    digits > 0 && rest[digits..].starts_with('.') && rest[digits + 1..].starts_with(|c: char| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_package_is_used_where_it_is_required_imported_installed_or_versioned() {
        let used = |body: &str| {
            body.match_indices("left-pad")
                .any(|(i, _)| used_at(body, i, "left-pad"))
        };
        for yes in [
            "const p = require( 'left-pad' );",
            "import pad from \"left-pad\";",
            "run npm install --save left-pad first",
            "npm i left-pad",
            "left-pad@1.3.0 is affected",
            "tested with left-pad v1.3",
        ] {
            assert!(used(yes), "{yes}");
        }
        for no in [
            "the left-pad incident",
            "require('left-pad-extra')",
            "fromleft-pad",
            "npm install left-padding",
            "xleft-pad@1.3",
            "left-pad 1",
        ] {
            assert!(!used(no), "{no}");
        }
    }

    fn labels(subject: &str, text: &str) -> Vec<String> {
        Scope::compile(true, &[], &[], &default_eol_node_majors())
            .unwrap()
            .hints(subject, text)
            .into_iter()
            .map(|h| h.label)
            .collect()
    }

    #[test]
    fn only_the_first_few_subject_words_are_tried_as_packages() {
        // Each candidate costs a regex over the body, so a subject stuffed with thousands of
        // hyphenated words (5,000 took 2.6 s here) gets only the first few tried.
        let body = "const f = require('express-fileupload'); broken in express-fileupload 1.4.0";
        let early = format!(
            "{} express-fileupload",
            (0..MAX_PACKAGE_CANDIDATES - 1)
                .map(|i| format!("pkg-{i}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        assert_eq!(labels(&early, body), vec!["third-party-module"]);
        let late = format!(
            "{} express-fileupload",
            (0..MAX_PACKAGE_CANDIDATES)
                .map(|i| format!("pkg-{i}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        assert!(labels(&late, body).is_empty());
    }

    #[test]
    fn third_party_by_subject_package() {
        assert_eq!(
            labels("RCE in express-fileupload@1.4.0", "..."),
            vec!["third-party-module"]
        );
        assert!(labels("ReDoS in path-to-regexp@0.1.7", "...").is_empty());
        assert!(labels("Open redirect in express@4.19.1", "...").is_empty());
    }

    #[test]
    fn environment_and_static() {
        assert_eq!(
            labels("x", "If an attacker can set NODE_ENV=development the stack traces leak"),
            vec!["environment-tampering"]
        );
        assert_eq!(
            labels("x", "app.use(express.static(__dirname)) exposes the .env file"),
            vec!["static-misconfiguration"]
        );
        assert!(labels("x", "express.static('public') with an encoded path traversal %2e%2e").is_empty());
    }

    #[test]
    fn prototype_pollution_needs_app_merge() {
        assert_eq!(
            labels("x", "prototype pollution when the app does _.merge(config, req.body)"),
            vec!["prototype-pollution-app-input"]
        );
        assert!(labels("x", "prototype pollution in qs parsing of ?__proto__[x]=1 alone").is_empty());
    }

    #[test]
    fn runtime_and_eol() {
        assert_eq!(
            labels("x", "the request smuggling is in llhttp"),
            vec!["runtime-vulnerability"]
        );
        assert_eq!(
            labels("x", "This only happens on Node 14.21.3, not on newer versions"),
            vec!["eol-runtime"]
        );
        assert!(labels("x", "Tested with Node 22.1.0").is_empty());
        for t in [
            "on node 18.20.4",
            "Node.js v19.9.0",
            "node 21.7.3",
            "node 0.12.18",
            "nodejs 16",
        ] {
            assert_eq!(labels("x", t), vec!["eol-runtime"], "{t}");
        }
        for t in ["on node 20.18.0", "Node.js v22.11.0", "node 24.0.0", "node 210"] {
            assert!(labels("x", t).is_empty(), "{t}");
        }
        // Seen on a maintained runtime too: not about the old one.
        assert!(labels("x", "I test with Node.js v18.19.0 and v20.11.0.").is_empty());
        assert!(labels("x", "Node.js 18.19.0 and 20.11.0, Windows 11").is_empty());
        // Only on the old one (the maintained ones are named as unaffected).
        assert_eq!(
            labels(
                "x",
                "Node 14.17.0 answers twice. I could not reproduce it on Node 18, 20 or 22.",
            ),
            vec!["eol-runtime"]
        );
    }

    #[test]
    fn eol_majors_are_configurable() {
        let s = Scope::compile(true, &[], &[], &[20, 18]).unwrap();
        let l = |t: &str| s.hints("x", t).into_iter().map(|h| h.label).collect::<Vec<_>>();
        assert_eq!(l("Node 20.11.1"), vec!["eol-runtime"]);
        assert_eq!(l("Node 18.2.0"), vec!["eol-runtime"]);
        assert!(l("Node 16.20.0").is_empty(), "not in the configured list");
        assert!(l("Node 0.10.48").is_empty());
        let none = Scope::compile(true, &[], &[], &[]).unwrap();
        assert!(none.hints("x", "Node 14.21.3").is_empty());
    }

    #[test]
    fn custom_rule() {
        let extra = vec![HintRule {
            label: "cloud".into(),
            pattern: "aws lambda".into(),
            also: None,
            explanation: "e".into(),
        }];
        let s = Scope::compile(false, &extra, &[], &[]).unwrap();
        assert_eq!(s.hints("", "on AWS Lambda").len(), 1);
        assert!(Scope::compile(
            false,
            &[HintRule {
                pattern: "(".into(),
                ..extra[0].clone()
            }],
            &[],
            &[]
        )
        .is_err());
    }
}

//! The completeness checklist: affected versions, a way to reproduce, the impact.
//!
//! Patterns are deliberately broad and multilingual: reports are often written by
//! non-native English speakers, and a false "missing" only costs one polite question.

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// An item the process needs that the report does not carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Missing {
    AffectedVersions,
    Reproduction,
    Impact,
}

impl Missing {
    pub const ALL: [Missing; 3] = [Missing::AffectedVersions, Missing::Reproduction, Missing::Impact];

    pub fn as_str(self) -> &'static str {
        match self {
            Missing::AffectedVersions => "affected-versions",
            Missing::Reproduction => "reproduction",
            Missing::Impact => "impact",
        }
    }

    /// What to ask the reporter for.
    pub fn request(self) -> &'static str {
        match self {
            Missing::AffectedVersions => "the affected versions (for example: express 4.21.2, or all 5.x)",
            Missing::Reproduction => {
                "a proof of concept or steps to reproduce (code, a curl command or an HTTP request)"
            }
            Missing::Impact => "the impact: what an attacker can do, and under which conditions",
        }
    }
}

pub const AFFECTED_VERSIONS: &[&str] = &[
    // express 4.18.2, express@5.0.0, version 4.17, v4.x, body-parser 1.20.1
    r"\b(?:express|version|versions|ver\.?|release|releases)\s*[<>=~^]*\s*v?\d+\.(?:\d+|x|\*)",
    r"\b[a-z][a-z0-9._-]*@[<>=~^]*v?\d+\.(?:\d+|x|\*)",
    r"\bv\d+\.(?:\d+|x)\b",
    // a three-part version, not part of a longer dotted number (IPv4 addresses and runtime
    // versions such as "Node 20.11.1" are masked before these patterns run, see `found`)
    r"(?:^|[^\d.])v?\d+\.\d+\.\d+(?:$|[^\d.]|\.(?:$|[^\d]))",
    r"\b\d+\.x\b",
    r"\b(?:all|every|each)\s+(?:the\s+)?(?:current\s+|supported\s+|released\s+)?versions?\b",
    r"\b(?:latest|current|newest)\s+(?:stable\s+)?(?:version|release|express)\b",
    r"\b(?:up\s+to|before|prior\s+to|through|until|since|from)\s+v?\d+(?:\.\d+)+",
    r"\bexpress\s*[45]\b",
    // other languages: versión, versão, Version (de), バージョン, 版本, версия
    r"(?:versi[oó]n|vers[aã]o|バージョン|版本|версия|версии)\s*[:：]?\s*v?\d+(?:\.\d+|\.x)*",
];

pub const REPRODUCTION: &[&str] = &[
    r"\bsteps?\s+(?:to\s+)?reproduc",
    // "Reproduction", "How to reproduce", "[Reproduce step]" as a heading at the start of a line
    r"(?m)^[\s\[#*>\d.)\-]*(?:minimal\s+)?(?:how\s+to\s+|to\s+)?(?:reproduc(?:e|tion|ing)|repro)\b",
    // "To reproduce:", "For reproduce :", "Reproduction (on HAProxy):", "to reproduce it, run"
    r"\breproduc\w*(?:\s+(?:it|this|the\s+\w+))?\s*(?:\([^)\n]{0,120}\))?\s*[:：]|\bto\s+reproduce(?:\s+(?:it|this|the\s+\w+))?\s*,",
    r"\breproduc(?:e|ing|tion)\s+steps?\b|\b(?:minimal\s+)?reproduction\s+(?:code|case|script|repo(?:sitory)?|steps?)\b|\bminimal\s+reproduc",
    r"\b(?:proof[-\s]+of[-\s]+concept|poc)\b\s*(?:[:：(]|code|below|follows|here|is\s+(?:below|here|simple|as\s+follows))",
    r"\bexploit(?:\s+code)?\s*[:：]",
    r"\bcurl\s+(?:-|'|\x22|https?://)",
    r"\b(?:GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS)\s+/\S*(?:\s+HTTP/\d)?",
    r"\b(?:app|router|res|req)\.(?:get|post|use|all|send|redirect|location|sendFile|render|cookie|query)\s*\(",
    r"\brequire\s*\(\s*['\x22]",
    r"\bimport\s+\w+\s+from\s+['\x22]",
    r"```",
    r"(?m)^\s*(?:1[.)]|step\s*1\b|\(1\))\s+\S",
    r"\bnode\s+\S+\.(?:js|mjs|cjs)\b",
    r"\bpayload\s*[:：=]",
    // other languages
    r"再現|手順|复现|重现|步骤|pasos\s+para\s+reproducir|reproducir|passos\s+para\s+reproduzir|reproduzir|reproduire|reproduzieren",
];

pub const IMPACT: &[&str] = &[
    r"\bimpact",
    r"\b(?:an?\s+|the\s+|remote\s+|unauthenticated\s+|malicious\s+)*(?:attacker|hacker|adversary|malicious\s+user)s?\s+(?:can|could|may|might|is\s+able|are\s+able|would\s+be\s+able|will\s+be\s+able|gets?|gains?|controls?)",
    r"\ballows?\s+(?:an?\s+|the\s+)?(?:remote\s+|unauthenticated\s+|malicious\s+)*(?:attacker|user|hacker|anyone|client)s?",
    // "leads to / results in" only with a consequence ("results in a 404" is not an impact)
    r"\b(?:leads?|leading|results?|resulting)\s+(?:to|in)\s+(?:an?\s+|the\s+)?(?:full\s+|complete\s+|potential\s+|possible\s+)?(?:denial|dos\b|crash|remote|code\s+execution|arbitrary|information|data\s+(?:leak|loss|exposure|theft)|xss|cross[-\s]site|account|privilege|security|session|memory\s+exhaustion|unauthori[sz]ed|bypass|exposure|disclosure|leak|injection|open\s+redirect|takeover|compromise|hijack|cache\s+poisoning|server\s+crash|high\s+cpu|resource\s+exhaustion)",
    r"\bdenial[-\s]+of[-\s]+service\b|\b(?:re)?dos\b",
    r"\bremote\s+code\s+execution\b|\brce\b|\bcode\s+execution\b",
    r"\bxss\b|\bcross[-\s]site\b|\bcsrf\b|\bssrf\b",
    // "exposes" only with something sensitive ("exposes an endpoint" is not an impact)
    r"\b(?:information|data)\s+(?:disclosure|leak|exposure)|\bleaks?\b|\bexpos(?:e|es|ed|ing)\s+(?:\S+\s+){0,4}?(?:secrets?|credentials?|tokens?|passwords?|session|cookies?|keys?|private|internal|sensitive|personal|confidential|source\s+code|\.env|environment|stack\s+traces?|files?\s+outside|user\s+data|other\s+users)",
    r"\bbypass",
    r"\barbitrary\s+(?:file|code|command|redirect|header|url)",
    r"\b(?:crash(?:es)?|hangs?|freez(?:e|es)|blocks?\s+the\s+event\s+loop|exhaust|100%\s+cpu)",
    r"\b(?:steal|hijack|takeover|take\s+over|impersonat|escalat|phishing|session\s+fixation|cache\s+poisoning|request\s+smuggling|open\s+redirect|path\s+traversal|directory\s+traversal|prototype\s+pollution|header\s+injection|response\s+splitting)",
    r"\bseverity\b|\bcvss\b",
    r"\bvictim|\bperform\s+actions?\s+as\b|\bon\s+behalf\s+of\b|\bunresponsive\b",
    r"\bit\s+is\s+possible\s+to\b|\bpossible\s+to\s+(?:read|write|execute|access|inject)",
    // other languages
    r"影響|攻撃者|影响|攻击者|impacto|atacante|attaquant|angreifer|auswirkung|воздействие|злоумышленник",
];

/// The compiled checklist patterns.
#[derive(Debug, Clone)]
pub struct Checklist {
    items: Vec<(Missing, Regex)>,
}

/// One regex for an item: each pattern is checked on its own (so an error names it), then
/// all are joined into one alternation, so the text is read once per item, not once per pattern.
fn compile_all(key: &str, custom: &[String], builtin: &[&str]) -> Result<Regex, (String, String)> {
    let sources: Vec<&str> = if custom.is_empty() {
        builtin.to_vec()
    } else {
        custom.iter().map(String::as_str).collect()
    };
    let build = |p: &str, limit: usize| RegexBuilder::new(p).case_insensitive(true).size_limit(limit).build();
    for p in &sources {
        build(p, 1 << 22).map_err(|e| (key.to_string(), format!("bad pattern `{p}`: {e}")))?;
    }
    let joined = sources.iter().map(|p| format!("(?:{p})")).collect::<Vec<_>>().join("|");
    build(&joined, 1 << 26).map_err(|e| (key.to_string(), format!("the patterns together are too big: {e}")))
}

impl Checklist {
    pub fn compile(versions: &[String], repro: &[String], impact: &[String]) -> Result<Checklist, (String, String)> {
        Ok(Checklist {
            items: vec![
                (
                    Missing::AffectedVersions,
                    compile_all("affected_versions_patterns", versions, AFFECTED_VERSIONS)?,
                ),
                (
                    Missing::Reproduction,
                    compile_all("reproduction_patterns", repro, REPRODUCTION)?,
                ),
                (Missing::Impact, compile_all("impact_patterns", impact, IMPACT)?),
            ],
        })
    }

    /// The checklist items `text` carries. Version patterns read the text with IPv4
    /// addresses and runtime/tool versions ("Node 20.11.1", "Chrome 126") blanked out: those
    /// are not affected versions of the project.
    pub fn found(&self, text: &str) -> Vec<Missing> {
        let versions_text = mask_non_project_versions(text);
        self.items
            .iter()
            .filter(|(k, pats)| match k {
                Missing::AffectedVersions => pats.is_match(&versions_text),
                _ => pats.is_match(text),
            })
            .map(|(k, _)| *k)
            .collect()
    }
}

/// IPv4 addresses, and version numbers that follow the name of a runtime, OS, browser or tool.
static NOT_PROJECT_VERSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b\d{1,3}(?:\.\d{1,3}){3}\b|\b(?:node(?:\.?js)?|nodejs|npm|yarn|pnpm|deno|bun|v8|llhttp|chrome|chromium|firefox|safari|edge|python3?|ruby|go|java|php|ubuntu|debian|alpine|centos|fedora|macos|windows|win|ios|android|openssl|curl|wget|nginx|haproxy|apache|docker|kernel|linux|typescript|tsc)(?:\s+|\s*[@:=/]\s*)?(?:v(?:ersion)?\s*)?\d+(?:\.(?:\d+|x))*\b").unwrap()
});

fn mask_non_project_versions(text: &str) -> std::borrow::Cow<'_, str> {
    NOT_PROJECT_VERSION.replace_all(text, " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(t: &str) -> Vec<Missing> {
        Checklist::compile(&[], &[], &[]).unwrap().found(t)
    }

    #[test]
    fn complete_english_report() {
        let t = "express 4.18.2 is affected. Steps to reproduce: 1. run app.get('/', ...)\nAn attacker can cause a denial of service.";
        assert_eq!(found(t), Missing::ALL.to_vec());
    }

    #[test]
    fn non_native_english() {
        let t = "Hello, i find the bug in express version 4.17.1 . When hacker send the request like this curl -X POST http://localhost:3000 the server is crash.";
        assert_eq!(found(t), Missing::ALL.to_vec());
    }

    #[test]
    fn nothing_there() {
        assert!(found("Hi, I found a security issue. How do I report it?").is_empty());
    }

    #[test]
    fn japanese() {
        let t = "express 4.19.2 で発見しました。再現手順: 以下のコード。影響: 攻撃者はサーバーを停止できます。";
        assert_eq!(found(t), Missing::ALL.to_vec());
    }

    fn has(t: &str, k: Missing) -> bool {
        found(t).contains(&k)
    }

    #[test]
    fn ip_addresses_and_runtime_versions_are_not_affected_versions() {
        use Missing::AffectedVersions as V;
        for t in [
            "When I send the request to 127.0.0.1:3000 the server crash.",
            "Tested on Node 20.11.1 and Node.js v18.19.0, macOS 14.4.1, Chrome 126.0.6478.61.",
            "I am running node v22.3.0 with npm 10.8.1 on Ubuntu 24.04, server on 10.0.0.12.",
            "My setup: nodejs version 20.11.1, curl 8.5.0, from 192.168.1.23 to the app.",
        ] {
            assert!(!has(t, V), "{t}");
        }
        for t in [
            "express 4.21.2 on Node 20.11.1",
            "It is in body-parser 1.20.2 (tested with node 18.19.0).",
            "Affected: 4.18.2 and 5.0.1. My server is 127.0.0.1.",
            "i use the express@4.19.2 on node v20",
            "all versions before 4.20.0 are affected",
        ] {
            assert!(has(t, V), "{t}");
        }
    }

    #[test]
    fn saying_it_cannot_be_reproduced_is_not_a_reproduction() {
        use Missing::Reproduction as R;
        for t in [
            "I was unable to reproduce it on express 5, only on 4.x.",
            "Sorry, I cannot reproduce this with the latest version, maybe it is fixed.",
            "The bug is reproducible on every version I tried.",
            "I reproduced the problem on two machines.",
            "Please give me a short feedback if you can reproduce it.",
            "It is hard to reproduce because it depends on timing.",
        ] {
            assert!(!has(t, R), "{t}");
        }
        for t in [
            "To reproduce: start the app and send a long header.",
            "To reproduce :\nopen the page with the long query",
            "For reproduce : send big cookie header to server",
            "Reproduction\n------------\nstart the server and open /x",
            "3. How to reproduce\n - start the server",
            "[Reproduce step]\nopen the URL",
            "Minimal reproduction without any archive handling",
            "Reproduction (sent directly to HAProxy on :8080): see below",
            "To reproduce it, run the server with the default options and open /x",
        ] {
            assert!(has(t, R), "{t}");
        }
    }

    #[test]
    fn impact_needs_a_consequence() {
        use Missing::Impact as I;
        for t in [
            "Calling the route results in a 404 page and the router exposes the /health endpoint.",
            "The middleware leads to a different order of headers.",
            "express exposes req.query to the handler.",
        ] {
            assert!(!has(t, I), "{t}");
        }
        for t in [
            "This results in remote code execution on the server.",
            "It lead to denial of service for every user.",
            "The error page exposes the stack trace with the secret keys of the app.",
            "This exposes session cookies of other users.",
            "Result in the account takeover of victim.",
        ] {
            assert!(has(t, I), "{t}");
        }
    }

    #[test]
    fn custom_patterns_replace_builtin() {
        let c = Checklist::compile(&["\\bVERSIONE\\b".into()], &[], &[]).unwrap();
        assert!(c.found("versione").contains(&Missing::AffectedVersions));
        assert!(!c.found("express 4.18.2").contains(&Missing::AffectedVersions));
        assert!(Checklist::compile(&["(".into()], &[], &[]).is_err());
    }
}

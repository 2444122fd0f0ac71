//! The completeness checklist: affected versions, a way to reproduce, the impact.
//!
//! Patterns are deliberately broad and multilingual: reports are often written by
//! non-native English speakers, and a false "missing" only costs one polite question.

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

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
    r"\bv?\d+\.\d+\.\d+\b",
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
    r"\breproduc(?:e|ed|ible|tion|ing)\b",
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
    r"\bto\s+reproduce\b",
    // other languages
    r"再現|手順|复现|重现|步骤|pasos\s+para\s+reproducir|reproducir|passos\s+para\s+reproduzir|reproduzir|reproduire|reproduzieren",
];

pub const IMPACT: &[&str] = &[
    r"\bimpact",
    r"\b(?:an?\s+|the\s+|remote\s+|unauthenticated\s+|malicious\s+)*(?:attacker|hacker|adversary|malicious\s+user)s?\s+(?:can|could|may|might|is\s+able|are\s+able|would\s+be\s+able|will\s+be\s+able|gets?|gains?|controls?)",
    r"\ballows?\s+(?:an?\s+|the\s+)?(?:remote\s+|unauthenticated\s+|malicious\s+)*(?:attacker|user|hacker|anyone|client)s?",
    r"\b(?:leads?|leading|results?|resulting)\s+(?:to|in)\b",
    r"\bdenial[-\s]+of[-\s]+service\b|\b(?:re)?dos\b",
    r"\bremote\s+code\s+execution\b|\brce\b|\bcode\s+execution\b",
    r"\bxss\b|\bcross[-\s]site\b|\bcsrf\b|\bssrf\b",
    r"\b(?:information|data)\s+(?:disclosure|leak|exposure)|\bleaks?\b|\bexpos(?:e|es|ed)\b",
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

    /// The checklist items `text` carries.
    pub fn found(&self, text: &str) -> Vec<Missing> {
        self.items
            .iter()
            .filter(|(_, pats)| pats.is_match(text))
            .map(|(k, _)| *k)
            .collect()
    }
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

    #[test]
    fn custom_patterns_replace_builtin() {
        let c = Checklist::compile(&["\\bVERSIONE\\b".into()], &[], &[]).unwrap();
        assert!(c.found("versione").contains(&Missing::AffectedVersions));
        assert!(!c.found("express 4.18.2").contains(&Missing::AffectedVersions));
        assert!(Checklist::compile(&["(".into()], &[], &[]).is_err());
    }
}

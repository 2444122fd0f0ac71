//! The completeness checklist: affected versions, a way to reproduce, the impact, each
//! judged on what the text says, with the phrase that made an item count.
//!
//! Patterns are broad and multilingual (reports are often written by non-native English
//! speakers), but they follow the text's structure: a workaround's code, a stack trace or an
//! API name in prose is not a way to reproduce; a Node.js or browser version is not an
//! affected version. Every pattern reads the whole text once; matches are then placed in the
//! blocks of [`blocks::split`].

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::LazyLock;

use super::blocks::{self, Block, Kind, Section};

/// An item the process needs that the report does not carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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

    /// The item named `s` (`affected-versions`, `reproduction`, `impact`).
    pub fn parse(s: &str) -> Option<Missing> {
        Missing::ALL.into_iter().find(|m| m.as_str() == s)
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

/// Longest evidence phrase kept, in characters.
pub const EVIDENCE_CHARS: usize = 120;

pub const AFFECTED_VERSIONS: &[&str] = &[
    // express 4.18.2, express@5.0.0, version 4.17, v4.x, body-parser 1.20.1
    r"\b(?:express|version|versions|ver\.?|release|releases)\s*[<>=~^]*\s*v?\d+\.(?:\d+|x|\*)",
    r"\b[a-z][a-z0-9._-]*@[<>=~^]*v?\d+\.(?:\d+|x|\*)",
    r"\bv\d+\.(?:\d+|x)\b",
    // a three-part version, not part of a longer dotted number (IPv4 addresses and runtime
    // versions such as "Node 20.11.1" are set aside, see `versions`)
    r"(?:^|[^\d.])v?\d+\.\d+\.\d+(?:$|[^\d.]|\.(?:$|[^\d]))",
    r"\b\d+\.x\b",
    r"\b(?:all|every|each)\s+(?:the\s+)?(?:current\s+|supported\s+|released\s+)?versions?\b",
    r"\b(?:latest|current|newest)\s+(?:stable\s+)?(?:version|release|express)\b",
    r"\b(?:up\s+to|before|prior\s+to|through|until|since|from)\s+v?\d+(?:\.\d+)+",
    // ranges: <1.20.3, <= 0.6.0, >=4.0.0
    r"[<>]=?\s*v?\d+\.\d+",
    // "fixed in 1.2.6", "patched in serve-static 1.16.0", "upgrade to 0.7.0", "move to 0.1.10"
    r"\b(?:fixed|patched|resolved|addressed)\s+(?:in|by|with)\s+(?:\S+\s+){0,3}?v?\d+\.\d+",
    r"\b(?:upgrade|update|upgrading|updating|move|bump)\s+(?:\S+\s+){0,4}?to\s+(?:\S+\s+){0,2}?v?\d+\.\d+",
    r"\bexpress\s*[45]\b",
    // other languages: versión, versão, Version (de), バージョン, 版本, версия
    r"(?:versi[oó]n|vers[aã]o|バージョン|版本|версия|версии)\s*[:：]?\s*v?\d+(?:\.\d+|\.x)*",
    r"\d+\.\d+\.\d+\s*(?:版本|バージョン)",
];

/// Runnable things in prose: commands, raw requests, attack strings and calls with one.
pub const REPRODUCTION: &[&str] = &[
    r#"\bcurl\s+(?:-|'|"|https?://|localhost|\$|[\w.-]+:\d)"#,
    r#"\bwget\s+(?:-|'|"|https?://)"#,
    r"\bnode\s+(?:-e|-p|--eval)\s|\bnode\s+[\w./-]+\.(?:js|mjs|cjs|ts)\b",
    r"\bpython3?\s+(?:-c\s|[\w./-]+\.py\b)",
    r"\|\s*nc\s|\bnc\s+(?:-\w+\s+)*(?:localhost|127\.0\.0\.1|[\w.-]+\s+\d+)",
    r"\b(?:ab|wrk|hey|autocannon)\s+-\w",
    r"(?-i:\b(?:GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS|TRACE|CONNECT)\s+(?:/|https?://)\S*\s+HTTP/\d)",
    r"[?&][\w.]*\[[^\]\s]*\]=|__proto__\s*\[|\[\s*__proto__\s*\]|__proto__\s*[\x22']\s*:|constructor\s*\[\s*[\x22']?prototype",
    r"<script\b|<svg\b[^>\n]*\bon\w+\s*=|\bonerror\s*=|javascript:alert",
    r"(?:\.\./){2,}|(?:\.\.\\){2,}|%2e%2e|%2e\.|\.%2e|%5c|%2f%2f|%0[ad]|%00|%e2%80%a[89]",
    r"\.repeat\s*\(\s*\d|\$\((?:printf|python|seq|yes)\b",
    // a call with an attack string: res.location('//evil.example'), redirect('\\evil')
    r#"\b[a-z_$][\w$]*\s*\(\s*['"](?://|\\\\|/\\\\|[^'"\n]{0,200}?(?:<[a-z]|%[0-9a-f]{2}|\.\./|javascript:))"#,
];

pub const IMPACT: &[&str] = &[
    r"\bimpact",
    r"\b(?:an?\s+|the\s+|remote\s+|unauthenticated\s+|malicious\s+|any\s+|patient\s+)*(?:attacker|hacker|adversary|malicious\s+(?:user|client|site|page|actor))s?\s+(?:can|could|may|might|is\s+able|are\s+able|would\s+be\s+able|will\s+be\s+able|gets?|gains?|controls?|reads?|rides?|sets?)",
    r"\ballows?\s+(?:an?\s+|the\s+)?(?:remote\s+|unauthenticated\s+|malicious\s+)*(?:attacker|user|hacker|anyone|client)s?",
    r"\b(?:lets?|letting)\s+(?:an?\s+|the\s+|any\s+)?(?:remote\s+|unauthenticated\s+|malicious\s+|patient\s+)*(?:attacker|hacker|anyone|client|visitor)s?",
    // "leads to / results in" only with a consequence ("results in a 404" is not an impact)
    r"\b(?:leads?|leading|results?|resulting)\s+(?:to|in)\s+(?:an?\s+|the\s+)?(?:full\s+|complete\s+|potential\s+|possible\s+)?(?:denial|dos\b|crash|remote|code\s+execution|arbitrary|information|data\s+(?:leak|loss|exposure|theft)|xss|cross[-\s]site|account|privilege|security|session|memory\s+exhaustion|unauthori[sz]ed|bypass|exposure|disclosure|leak|injection|open\s+redirect|takeover|compromise|hijack|cache\s+poisoning|server\s+crash|high\s+cpu|resource\s+exhaustion|stored\s+xss)",
    r"\bdenial[-\s]+of[-\s]+service\b|\b(?:re)?dos\b|\bden(?:y|ies)\s+service",
    r"\bremote\s+code\s+execution\b|\brce\b|\bcode\s+execution\b",
    r"\bxss\b|\bcross[-\s]site\b|\bcsrf\b|\bssrf\b",
    // "exposes" only with something sensitive ("exposes an endpoint" is not an impact)
    r"\b(?:information|data)\s+(?:disclosure|leak|exposure)|\bleak(?:s|ed)?\b|\bexpos(?:e|es|ed|ing)\s+(?:\S+\s+){0,4}?(?:secrets?|credentials?|tokens?|passwords?|session|cookies?|keys?|private|internal|sensitive|personal|confidential|source\s+code|\.env|environment|stack\s+traces?|files?\s+outside|user\s+data|other\s+users)",
    r"\bbypass",
    r"\barbitrary\s+(?:file|code|command|redirect|header|url)",
    r"\b(?:crash(?:es|ed|ing)?|hangs?|freez(?:e|es)|blocks?\s+the\s+event\s+loop|stalls?|exhaust|100%\s+cpu)",
    r"\b(?:steal|hijack|takeover|take\s+over|impersonat|escalat|phishing|session\s+fixation|fixing\s+sessions|cache\s+poisoning|poisons?|request\s+smuggling|response\s+splitting|open\s+redirect|path\s+traversal|directory\s+traversal|prototype\s+pollution|(?:header|log|command|code|sql|nosql|template|html|script|crlf)\s+injection|forg(?:e|es|ed|ing)\b)",
    r"\bvictim|\bperform\s+actions?\s+as\b|\bon\s+behalf\s+of\b|\bunresponsive\b",
    r"\bit\s+is\s+possible\s+to\b|\bpossible\s+to\s+(?:read|write|execute|access|inject)",
    // what breaks: the service goes down, stops answering, runs out of memory
    r"\b(?:takes?|took|taking|brings?)\s+(?:\S+\s+){0,3}?(?:down|offline)\b|\bgoes\s+down\b|\b(?:stops?|stopped)\s+(?:answering|responding|accepting|serving)|\bout\s+of\s+memory\b|\boom\s+killer|\bkill(?:s|ed|ing)?\s+(?:the\s+)?(?:process|worker|server)|\bcan\s+not\s+use\s+the\b|\bslow\s+for\s+everyone",
    // what an attacker does
    r"\brun\s+(?:arbitrary\s+)?(?:script|code|javascript)|\bruns\s+script|\bexecut\w*\s+(?:arbitrary\s+|untrusted\s+|malicious\s+|the\s+attacker's\s+)?(?:code|script|commands?)|\bread\s+(?:any|arbitrary|other|sensitive)\s+(?:\S+\s+)?(?:files?|data)|\bread\s+(?:\S+\s+){0,2}(?:responses|credentials)|\bbecome\s+admin|\bprivilege",
    r"\b(?:redirect\w*|sen[dt]|bounce)\s+(?:the\s+)?(?:victims?|users?|visitors?|people|browsers?)\s+(?:to|off)|\b(?:lands?|ends?\s+up)\s+on\s+(?:the\s+)?(?:attacker|evil)|\bsite\s+the\s+attacker|\baccess\s+control|\boverwrites?\s+(?:a\s+|any\s+|the\s+)?(?:template|file|config)|\bhide\s+(?:their\s+)?(?:requests|log)|\bmislead|\bdeletes?\s+(?:the\s+)?(?:item|data|records?|files?)|\bdata\s+loss",
    // other languages
    r"影響|攻撃者|影响|攻击者|impacto|atacante|attaquant|angreifer|auswirkung|воздействие|злоумышленник",
];

/// A code block's content that reads as something to run or send.
static CODE_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    super::re(
        r#"(?m)\b(?:require|import)\s*\(|^\s*import\s+[\w{*]|\b(?:const|let|var|function|def|class|async)\s+\w|=>|\bcurl\s|\bwget\s|\bnode\s+(?:-e|-p|\S+\.m?[jt]s)|\bnpm\s+(?:i|install|run|start|exec|test)\b|\bnpx\s+\S|\bpython3?\s+\S|\bprintf\s|\bnc\s+\S|\becho\s|\bfetch\s*\(|\brequests\.\w+\s*\(|^\s*[$>]\s+(?:curl|wget|node|npx|python3?|printf|nc|echo|mkdir|touch|ab|wrk|for|while)\b|^\s*(?:GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS|TRACE|CONNECT)\s+\S+\s+HTTP/\d|<script|\bmkdir\s|\btouch\s|\bfor\s+\w+\s+in\b|\w\.\w+\s*\([^)\n]*\)\s*;?\s*$|\$\{"#,
    )
});

/// A stack frame line (`    at parse (/app/x.js:1:2)`) or the error line opening a trace.
static STACK_LINE: LazyLock<Regex> =
    LazyLock::new(|| super::re(r"^\s*(?:at\s+\S|\w*(?:Error|Exception)\b[^\n]*:|\.\.\.\s*\d+\s+more)"));

/// Output of a command that only inspects (`npm ls`), not one that reproduces.
static INSPECT_COMMAND: LazyLock<Regex> = LazyLock::new(|| {
    super::re(
        r"^\s*[$>]?\s*(?:npm\s+(?:ls|list|audit|outdated|view|info|-v|--version)|node\s+(?:-v|--version)|yarn\s+(?:why|list|audit))\b",
    )
});

/// An inline code span that is an input to send: an attack string, a header, a URL, JSON,
/// or a call with a literal argument.
static SPAN_PAYLOAD: LazyLock<Regex> = LazyLock::new(|| {
    super::re(
        r#"(?i)__proto__\s*[\x22'\]\[.=:]|[\[.]\s*__proto__|constructor\s*[\[.]\s*[\x22']?prototype|<\s*/?\s*[a-z]+[\s>/]|\bon(?:error|load)\s*=|javascript:|\.\./|\.\.\\|%[0-9a-f]{2}|\\r\\n|\.repeat\s*\(|['"]\s*\*\s*\d{2,}|\$\{|\?[\w.\[\]]+=|\w\[[^\]\s]*\]\s*=|(?-i:^\s*[A-Z][A-Za-z0-9]+(?:-[A-Za-z0-9]+)*:(?:\s|$))|https?://[^\s/]+/\S|^\s*['"]?(?://|\\\\)|[\[{]{3,}|^\s*\{\s*"|\b[a-z_$][\w$.]*\s*\(\s*(?:['"`\[{]|-?\d)|\b(?:curl|wget)\s|\bnode\s+-e\b|\b(?:GET|POST|PUT|DELETE)\s+/"#,
    )
});
/// A span that only imports a module (`require('node:url')`): not an input.
static SPAN_IMPORT_ONLY: LazyLock<Regex> =
    LazyLock::new(|| super::re(r#"^\s*(?:require|import)\s*\(\s*['"][^'"]*['"]\s*\)(?:\.\w+)*\s*(?:\(\s*\))?\s*$"#));

/// A heading or label that opens the steps to reproduce.
static REPRO_HEADING: LazyLock<Regex> = LazyLock::new(|| {
    super::re(
        r"(?i)\b(?:steps?\s+(?:to\s+)?reproduc\w*|to\s+reproduce|how\s+to\s+reproduce|reproduc(?:e|tion|ing)(?:\s+steps?)?|repro|proof[-\s]+of[-\s]+concept|poc|exploit)\b|再現|手順|复现|重现|步骤|pasos\s+para\s+reproducir|reproducir|passos\s+para\s+reproduzir|reproduzir|reproduire|reproduzieren|reproduktion",
    )
});
/// A concrete input in a step: a URL, an absolute path, a call with arguments, an HTML tag.
static STEP_INPUT: LazyLock<Regex> =
    LazyLock::new(|| super::re(r#"https?://\S+|(?:^|[\s'"=(])/[\w%.?=&\[\]:-]+|\w\.\w+\s*\([^)\s]|<[a-z]+\s"#));

/// Text after an "Impact" heading that says nothing.
static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| super::re(r"(?i)^\W*(?:tbd|tba|todo|n/?a|none|unknown|\?+|-+|xxx)?\W*$"));

/// IPv4 addresses, and version numbers that follow the name of a runtime, OS, browser or tool.
static NOT_PROJECT_VERSION: LazyLock<Regex> = LazyLock::new(|| {
    super::re(
        r"(?i)\b\d{1,3}(?:\.\d{1,3}){3}\b|\b(?:node(?:\.?js)?|nodejs|npm|yarn|pnpm|deno|bun|v8|llhttp|chrome|chromium|firefox|safari|edge|opera|python3?|ruby|go|java|php|ubuntu|debian|alpine|centos|fedora|macos|windows|win|ios|android|openssl|curl|wget|nginx|haproxy|apache|docker|kernel|linux|typescript|tsc|cvss)(?:\s+|\s*[@:=/]\s*)?(?:v(?:ersion)?\s*)?\d+(?:\.(?:\d+|x))*\b",
    )
});

/// One item's patterns: the built-in structural judgement, or the configured regexes.
#[derive(Debug, Clone)]
enum Rule {
    Builtin(Regex),
    Custom(Regex),
}

/// The compiled checklist patterns.
#[derive(Debug, Clone)]
pub struct Checklist {
    versions: Rule,
    reproduction: Rule,
    impact: Rule,
}

/// What the checklist found in a text: the items present, and for each the phrase that
/// made it count.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Judgement {
    pub found: Vec<Missing>,
    pub evidence: BTreeMap<Missing, String>,
}

/// One regex for an item: each pattern is checked on its own (so an error names it), then
/// all are joined into one alternation, so the text is read once per item, not once per pattern.
fn compile_all(key: &str, sources: &[&str]) -> Result<Regex, (String, String)> {
    let build = |p: &str, limit: usize| {
        RegexBuilder::new(p)
            .case_insensitive(true)
            .multi_line(true)
            .size_limit(limit)
            .build()
    };
    for p in sources {
        build(p, 1 << 22).map_err(|e| (key.to_string(), format!("bad pattern `{p}`: {e}")))?;
    }
    let joined = sources.iter().map(|p| format!("(?:{p})")).collect::<Vec<_>>().join("|");
    build(&joined, 1 << 26).map_err(|e| (key.to_string(), format!("the patterns together are too big: {e}")))
}

fn rule(key: &str, custom: &[String], builtin: &[&str]) -> Result<Rule, (String, String)> {
    if custom.is_empty() {
        let b: Vec<String> = builtin.iter().map(|p| super::ascii_boundaries(p)).collect();
        let b: Vec<&str> = b.iter().map(String::as_str).collect();
        Ok(Rule::Builtin(compile_all(key, &b)?))
    } else {
        let c: Vec<&str> = custom.iter().map(String::as_str).collect();
        Ok(Rule::Custom(compile_all(key, &c)?))
    }
}

impl Checklist {
    pub fn compile(versions: &[String], repro: &[String], impact: &[String]) -> Result<Checklist, (String, String)> {
        Ok(Checklist {
            versions: rule("affected_versions_patterns", versions, AFFECTED_VERSIONS)?,
            reproduction: rule("reproduction_patterns", repro, REPRODUCTION)?,
            impact: rule("impact_patterns", impact, IMPACT)?,
        })
    }

    /// The checklist items `text` carries.
    pub fn found(&self, text: &str) -> Vec<Missing> {
        self.judge(text).found
    }

    /// The checklist items `text` carries, with the phrase that made each count.
    pub fn judge(&self, text: &str) -> Judgement {
        let blocks = blocks::split(text);
        let mut j = Judgement::default();
        let hits = [
            (
                Missing::AffectedVersions,
                match &self.versions {
                    Rule::Builtin(r) => versions(r, text),
                    Rule::Custom(r) => r.find(text).map(|m| m.range()),
                },
            ),
            (
                Missing::Reproduction,
                match &self.reproduction {
                    Rule::Builtin(r) => reproduction(r, text, &blocks),
                    Rule::Custom(r) => r.find(text).map(|m| m.range()),
                },
            ),
            (
                Missing::Impact,
                match &self.impact {
                    Rule::Builtin(r) => impact(r, text),
                    Rule::Custom(r) => r.find(text).map(|m| m.range()),
                },
            ),
        ];
        for (item, hit) in hits {
            if let Some(range) = hit {
                j.found.push(item);
                j.evidence.insert(item, evidence(text, range));
            }
        }
        j
    }
}

/// The first version of the project's packages: a version-like match that is not an IPv4
/// address or the version of a runtime, OS, browser or tool.
fn versions(re: &Regex, text: &str) -> Option<Range<usize>> {
    let masked: Vec<Range<usize>> = NOT_PROJECT_VERSION.find_iter(text).map(|m| m.range()).collect();
    let mut from = 0;
    while from <= text.len() {
        let m = re.find_at(text, from)?;
        // The digits of the match (a pattern may start with one separator character).
        let digits = m
            .as_str()
            .find(|c: char| c.is_ascii_digit())
            .map_or(m.start(), |d| m.start() + d);
        if !masked.iter().any(|r| r.start <= digits && digits < r.end) {
            return Some(m.range());
        }
        from = next_char(text, m.start());
    }
    None
}

fn next_char(text: &str, at: usize) -> usize {
    text[at..].chars().next().map_or(at + 1, |c| at + c.len_utf8())
}

/// A way to reproduce: runnable code, a command, a raw request, an attack string (fenced or
/// inline), or steps with a concrete input, outside a workaround or references section.
fn reproduction(prose: &Regex, text: &str, blocks: &[Block]) -> Option<Range<usize>> {
    let counts = |b: &Block| b.section == Section::Other;
    // Code blocks that read as something to run or send.
    let code = blocks
        .iter()
        .filter(|b| b.kind == Kind::Code && counts(b))
        .find_map(|b| runnable(&text[b.start..b.end], b.lang).map(|at| b.start + at..b.start + at + 1));
    // Commands, requests and attack strings in prose.
    let mut in_prose = None;
    let mut from = 0;
    while let Some(m) = prose.find_at(text, from) {
        match blocks::at(blocks, m.start()) {
            Some(b) if b.kind == Kind::Prose && counts(b) => {
                in_prose = Some(m.range());
                break;
            }
            // Skip the rest of a block that does not count (a workaround, a code block).
            Some(b) => from = b.end.max(next_char(text, m.start())),
            None => break,
        }
    }
    // Inline code spans that hold an input.
    let span = blocks
        .iter()
        .filter(|b| b.kind == Kind::Prose && counts(b))
        .find_map(|b| payload_span(&text[b.start..b.end]).map(|r| b.start + r.start..b.start + r.end));
    let first = [code, in_prose, span].into_iter().flatten().min_by_key(|r| r.start);
    // Steps under a reproduction heading that name a concrete URL or path.
    first.or_else(|| concrete_steps(text, blocks))
}

/// The offset of the first line of `code` that reads as something to run or send, unless
/// the block is a stack trace, a diff, or the output of an inspecting command.
fn runnable(code: &str, lang: &str) -> Option<usize> {
    let lang = lang.to_ascii_lowercase();
    if lang.starts_with("diff") || lang.starts_with("patch") {
        return None;
    }
    let lines: Vec<&str> = code.lines().filter(|l| !l.trim().is_empty()).collect();
    let first = *lines.first()?;
    let stack = lines.iter().filter(|l| STACK_LINE.is_match(l)).count();
    if stack * 2 >= lines.len() {
        return None;
    }
    let diff = lines
        .iter()
        .filter(|l| l.starts_with('+') || l.starts_with('-') || l.starts_with("@@"))
        .count();
    if diff * 2 > lines.len() && lines.iter().any(|l| l.starts_with('+')) && lines.iter().any(|l| l.starts_with('-')) {
        return None;
    }
    if INSPECT_COMMAND.is_match(first) {
        return None;
    }
    CODE_MARKER.find(code).map(|m| m.start())
}

/// The first inline code span (`...`) of `prose` that holds an input to send.
fn payload_span(prose: &str) -> Option<Range<usize>> {
    let mut rest = 0;
    while let Some(open) = prose[rest..].find('`') {
        let s = rest + open + 1;
        let Some(len) = prose[s..].find(['`', '\n']) else {
            break;
        };
        if prose.as_bytes()[s + len] == b'\n' {
            rest = s + len;
            continue;
        }
        let span = &prose[s..s + len];
        if !span.trim().is_empty() && SPAN_PAYLOAD.is_match(span) && !SPAN_IMPORT_ONLY.is_match(span) {
            return Some(s..s + len);
        }
        rest = s + len + 1;
    }
    None
}

/// A reproduction heading followed, before the next heading, by a step with a concrete
/// input. The words must open their line ("Steps to reproduce:", "3. How to reproduce",
/// "To reproduce: ..."): "I could not reproduce it" is no heading.
fn concrete_steps(text: &str, blocks: &[Block]) -> Option<Range<usize>> {
    REPRO_HEADING.find_iter(text).find_map(|m| {
        let b = blocks::at(blocks, m.start())?;
        if b.section != Section::Other || b.kind != Kind::Prose {
            return None;
        }
        let line_start = text[..m.start()].rfind('\n').map_or(0, |i| i + 1);
        let lead = &text[line_start..m.start()];
        if !lead
            .chars()
            .all(|c| c.is_whitespace() || c.is_ascii_digit() || "#*[>-.)(".contains(c))
        {
            return None;
        }
        let mut pos = line_start;
        for (n, line) in text[line_start..].split_inclusive('\n').enumerate() {
            if n > 15 {
                break;
            }
            let l = line.trim_end();
            if n > 0
                && blocks::heading(l, None).is_some_and(|h| !REPRO_HEADING.is_match(h) && !h.contains(char::is_numeric))
            {
                break;
            }
            // The heading line itself counts only past the heading words ("To reproduce: open /x").
            let from = if n == 0 { (m.end() - line_start).min(l.len()) } else { 0 };
            if let Some(i) = STEP_INPUT.find(&l[from..]) {
                return Some(pos + from + i.start()..pos + from + i.end());
            }
            pos += line.len();
        }
        None
    })
}

/// The first consequence: a "impact" heading counts only when something follows it.
fn impact(re: &Regex, text: &str) -> Option<Range<usize>> {
    let mut from = 0;
    while let Some(m) = re.find_at(text, from) {
        if !m.as_str().eq_ignore_ascii_case("impact") || !placeholder_after(text, m.end()) {
            return Some(m.range());
        }
        from = next_char(text, m.start());
    }
    None
}

/// The word at `at` ends a heading ("Impact", "### Impact:") followed by nothing or "TBD".
fn placeholder_after(text: &str, at: usize) -> bool {
    let rest = &text[at..];
    let line_end = rest.find('\n').unwrap_or(rest.len());
    let same = rest[..line_end].trim_start_matches(|c: char| c.is_alphabetic());
    if !PLACEHOLDER.is_match(same) {
        return false;
    }
    // "Impact" on its own line: look at the next non-empty line.
    let next = rest[line_end..].lines().map(str::trim).find(|l| !l.is_empty());
    !same.trim().trim_matches([':', '*', '#']).trim().is_empty() || next.is_none_or(|l| PLACEHOLDER.is_match(l))
}

/// The phrase around `range`: its line (or, for a bare heading, the line after it), white
/// space folded, control characters removed, at most [`EVIDENCE_CHARS`] characters.
pub fn evidence(text: &str, range: Range<usize>) -> String {
    let ls = text[..range.start].rfind('\n').map_or(0, |i| i + 1);
    let le = text[range.start..].find('\n').map_or(text.len(), |i| range.start + i);
    let mut line = &text[ls..le];
    let mut at = range.start - ls;
    if blocks::heading(line, None).is_some_and(|h| line.trim().len() <= h.len() + 8) {
        // A bare heading ("### Impact", "Steps to reproduce:"): quote what follows it.
        if let Some(next) = text[le..]
            .lines()
            .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with("```"))
        {
            line = next.trim_end();
            at = 0;
        }
    }
    let folded: String = line
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|c| !c.is_control())
        .collect::<String>()
        .split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let chars: Vec<char> = folded.chars().collect();
    if chars.len() <= EVIDENCE_CHARS {
        return folded;
    }
    // Centre the window a little before the match, in characters of the folded line.
    let at_chars = line[..at.min(line.len())]
        .split_whitespace()
        .map(|w| w.chars().count() + 1)
        .sum::<usize>();
    let start = at_chars.saturating_sub(30).min(chars.len() - (EVIDENCE_CHARS - 2));
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.extend(&chars[start..start + EVIDENCE_CHARS - 2]);
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(t: &str) -> Vec<Missing> {
        Checklist::compile(&[], &[], &[]).unwrap().found(t)
    }

    fn has(t: &str, k: Missing) -> bool {
        found(t).contains(&k)
    }

    #[test]
    fn complete_english_report() {
        let t = "express 4.18.2 is affected. Steps to reproduce: 1. run `app.get('/', ...)`\nAn attacker can cause a denial of service.";
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
        let t = "express 4.19.2 で発見しました。再現手順:\n```js\napp.get('/r', (req, res) => res.redirect(req.query.to))\n```\n影響: 攻撃者はサーバーを停止できます。";
        assert_eq!(found(t), Missing::ALL.to_vec());
    }

    #[test]
    fn ip_addresses_and_runtime_versions_are_not_affected_versions() {
        use Missing::AffectedVersions as V;
        for t in [
            "When I send the request to 127.0.0.1:3000 the server crash.",
            "Tested on Node 20.11.1 and Node.js v18.19.0, macOS 14.4.1, Chrome 126.0.6478.61.",
            "I am running node v22.3.0 with npm 10.8.1 on Ubuntu 24.04, server on 10.0.0.12.",
            "My setup: nodejs version 20.11.1, curl 8.5.0, from 192.168.1.23 to the app.",
            "Exploit (Python 3.12) and CVSS:3.1/AV:N/AC:L",
        ] {
            assert!(!has(t, V), "{t}");
        }
        for t in [
            "express 4.21.2 on Node 20.11.1",
            "It is in body-parser 1.20.2 (tested with node 18.19.0).",
            "Affected: 4.18.2 and 5.0.1. My server is 127.0.0.1.",
            "i use the express@4.19.2 on node v20",
            "all versions before 4.20.0 are affected",
            "Node 20.11.1 with express 4.21.2",
        ] {
            assert!(has(t, V), "{t}");
        }
    }

    #[test]
    fn versions_as_ranges_and_fixes() {
        use Missing::AffectedVersions as V;
        for t in [
            "body-parser <1.20.3 is vulnerable",
            "cookie <= 0.6.0 and every express 4.x",
            "this issue is patched in serve-static 1.16.0",
            "Upgrade to 0.7.0, which validates the name.",
            "Users of the 0.1 line should move to 0.1.10.",
            "This was fixed in 1.7.5 of compression.",
            "pre-releases prior to 5.0.0-beta.3 are affected",
        ] {
            assert!(has(t, V), "{t}");
        }
        for t in [
            "Some older versions are affected.",
            "Affected versions of this package are vulnerable.",
        ] {
            assert!(!has(t, V), "{t}");
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
        // A heading counts when a concrete input follows it.
        for t in [
            "To reproduce: start the app and open /x?a=1",
            "Reproduction\n------------\nstart the server and open /x",
            "3. How to reproduce\n - start the server\n - open http://localhost:3000/a",
            "[Reproduce step]\nopen the URL http://localhost:3000/",
        ] {
            assert!(has(t, R), "{t}");
        }
        // Vague steps are not a reproduction.
        for t in [
            "To reproduce: start the app and send a long header.",
            "Steps to reproduce:\n1. Set up an app\n2. Send a malicious request\n3. Observe the crash",
        ] {
            assert!(!has(t, R), "{t}");
        }
    }

    #[test]
    fn what_is_not_a_reproduction() {
        use Missing::Reproduction as R;
        for t in [
            // preconditions
            "Exploitation needs:\n\n1. The attacker MUST control the input to response.redirect()\n2. the user MUST click the link",
            // API names in prose
            "The function concerned is `res.location()`; `res.redirect()` calls it too.",
            // workaround code
            "### Workarounds\n\nParse it yourself with `require('node:url').parse` before `res.location`.",
            "Workaround:\n\n```js\napp.use((req, res, next) => next())\n```",
            // a stack trace
            "It crashed:\n```\nTypeError: Cannot read properties of undefined\n    at parse (/app/x.js:1:2)\n    at next (/app/y.js:3:4)\n```",
            // a fix
            "```diff\n-  a(b)\n+  a(escape(b))\n```",
            // output of an inspecting command
            "```\n$ npm ls vhost\napp@1.0.0\n└── vhost@3.0.2\n```",
        ] {
            assert!(!has(t, R), "{t}");
        }
    }

    #[test]
    fn inline_payloads_are_a_reproduction() {
        use Missing::Reproduction as R;
        for t in [
            "put the payload in the query string, e.g. `a[__proto__]=b&a[__proto__]&a[length]=100000000`",
            "a path such as `/a${'-a'.repeat(8000)}/a` never matches",
            "For example `serialize(\"sid=<script>alert(1)</script>; Max-Age=9999; x\", \"v\")` sets it",
            "qs 6.11.0 hangs on ?a[]=1&a[999999999]=2 for seconds",
            "res.location('//evil.example') redirects elsewhere",
            "send `Authorization: Basic Og==` and you are in",
            "GET //evil.example/%2e%2e HTTP/1.1",
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
            "Severity: High\n\nThe comparator is unstable.",
            "### Impact\n\nTBD\n\n### Patches\nTBD",
        ] {
            assert!(!has(t, I), "{t}");
        }
        for t in [
            "This results in remote code execution on the server.",
            "It lead to denial of service for every user.",
            "The error page exposes the stack trace with the secret keys of the app.",
            "This exposes session cookies of other users.",
            "Result in the account takeover of victim.",
            "### Impact\n\nPassing untrusted input may execute untrusted code.",
            "so the event loop stalls and the service stops answering",
        ] {
            assert!(has(t, I), "{t}");
        }
    }

    #[test]
    fn evidence_is_the_phrase_that_counted() {
        let c = Checklist::compile(&[], &[], &[]).unwrap();
        let j = c.judge("Hello\n\n### Impact\n\nAn attacker can\tcrash\u{7} the server.\n\nAffected: body-parser <1.20.3\n\n    curl -d 'a[b]=1' http://localhost:3000/\n");
        assert_eq!(j.evidence[&Missing::Impact], "An attacker can crash the server.");
        assert_eq!(j.evidence[&Missing::AffectedVersions], "Affected: body-parser <1.20.3");
        assert_eq!(
            j.evidence[&Missing::Reproduction],
            "curl -d 'a[b]=1' http://localhost:3000/"
        );
        let long = format!("{} express 4.21.2 {}", "word ".repeat(100), "tail ".repeat(100));
        let e = &c.judge(&long).evidence[&Missing::AffectedVersions];
        assert!(
            e.chars().count() <= EVIDENCE_CHARS && e.contains("express 4.21.2"),
            "{e}"
        );
    }

    #[test]
    fn custom_patterns_replace_builtin() {
        let c = Checklist::compile(&["\\bVERSIONE\\b".into()], &[], &[]).unwrap();
        assert!(c.found("versione").contains(&Missing::AffectedVersions));
        assert!(!c.found("express 4.18.2").contains(&Missing::AffectedVersions));
        assert!(Checklist::compile(&["(".into()], &[], &[]).is_err());
    }
}

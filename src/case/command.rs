//! The command grammar: `/command ARGS` lines in the unquoted part of a message, validated.

use chrono::NaiveDate;
use regex::Regex;
use std::sync::LazyLock;

use super::CaseId;
use super::State;
use crate::address::Address;
use crate::analysis::Missing;

/// Severity words of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn parse(s: &str) -> Option<Severity> {
        match s.trim().to_ascii_lowercase().as_str() {
            "low" => Some(Severity::Low),
            "medium" | "moderate" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// Who to assign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignee {
    Me,
    Address(Address),
}

/// A CVSS vector with its computed base score and severity.
#[derive(Debug, Clone, PartialEq)]
pub struct CvssScore {
    pub vector: String,
    pub score: f64,
    pub severity: String,
}

/// Scores a CVSS 3.x or 4.0 vector with the `cvss` crate.
pub fn score_cvss(vector: &str) -> Result<CvssScore, String> {
    use std::str::FromStr;
    let v = vector.trim();
    if !(v.starts_with("CVSS:3.") || v.starts_with("CVSS:4.0/")) {
        return Err(format!(
            "`{v}` is not a CVSS 3.x or 4.0 vector (it starts with CVSS:3.1/ or CVSS:4.0/)"
        ));
    }
    let c = cvss::Cvss::from_str(v).map_err(|e| format!("bad CVSS vector `{v}`: {e}"))?;
    Ok(CvssScore {
        vector: v.to_string(),
        score: (c.score() * 10.0).round() / 10.0,
        severity: c.severity().to_string().to_ascii_lowercase(),
    })
}

/// One validated command.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Assign(Assignee),
    Ack,
    Assess,
    NeedsInfo,
    Accept,
    Invalid(String),
    Duplicate(CaseId),
    Patch,
    NoPatch,
    Released(Vec<String>),
    Disclose,
    Reopen,
    Severity(Severity),
    Cvss(CvssScore),
    Cve(String),
    Ghsa(String),
    Embargo(NaiveDate),
    Note(String),
    Public(String),
    Credit(String),
    Anonymous,
    Quiet,
    /// `/have ITEM...`: the report does carry these checklist items (the coordinator says so).
    Have(Vec<Missing>),
    /// `/package NAME`: an affected package.
    Package(String),
    /// `/affected PACKAGE RANGE`: an npm semver range of affected versions.
    Affected {
        package: String,
        range: String,
    },
    /// `/patched PACKAGE VERSION`
    Patched {
        package: String,
        version: String,
    },
    /// `/cwe CWE-NNN`
    Cwe(String),
    /// `/summary TEXT`: the advisory's one-line title.
    Summary(String),
    /// `/advisory` and the lines after it: the advisory's description (Markdown).
    Advisory(String),
    /// `/done STEP`: a runbook step is done.
    Done(String),
}

impl Command {
    /// The state this command moves a case to, if it is a transition.
    pub fn target(&self) -> Option<State> {
        match self {
            Command::Assess => Some(State::Assessing),
            Command::NeedsInfo => Some(State::NeedsInfo),
            Command::Accept => Some(State::Accepted),
            Command::Invalid(_) => Some(State::Invalid),
            Command::Duplicate(_) => Some(State::Duplicate),
            Command::Patch => Some(State::Patching),
            Command::Released(_) => Some(State::Released),
            Command::Disclose => Some(State::Disclosed),
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Command::Assign(_) => "assign",
            Command::Ack => "ack",
            Command::Assess => "assess",
            Command::NeedsInfo => "needs-info",
            Command::Accept => "accept",
            Command::Invalid(_) => "invalid",
            Command::Duplicate(_) => "duplicate",
            Command::Patch => "patch",
            Command::NoPatch => "no-patch",
            Command::Released(_) => "released",
            Command::Disclose => "disclose",
            Command::Reopen => "reopen",
            Command::Severity(_) => "severity",
            Command::Cvss(_) => "cvss",
            Command::Cve(_) => "cve",
            Command::Ghsa(_) => "ghsa",
            Command::Embargo(_) => "embargo",
            Command::Note(_) => "note",
            Command::Public(_) => "public",
            Command::Credit(_) => "credit",
            Command::Anonymous => "anonymous",
            Command::Quiet => "quiet",
            Command::Have(_) => "have",
            Command::Package(_) => "package",
            Command::Affected { .. } => "affected",
            Command::Patched { .. } => "patched",
            Command::Cwe(_) => "cwe",
            Command::Summary(_) => "summary",
            Command::Advisory(_) => "advisory",
            Command::Done(_) => "done",
        }
    }
}

/// A command line as written, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    pub line: String,
    pub problem: String,
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.line, self.problem)
    }
}

/// Every command the grammar knows, with its usage.
pub const USAGE: &[(&str, &str)] = &[
    ("assign", "/assign [me|ADDRESS]"),
    ("ack", "/ack"),
    ("assess", "/assess"),
    ("needs-info", "/needs-info"),
    ("accept", "/accept"),
    ("invalid", "/invalid REASON..."),
    ("duplicate", "/duplicate CASE-ID"),
    ("patch", "/patch"),
    ("no-patch", "/no-patch"),
    ("released", "/released VERSION..."),
    ("disclose", "/disclose"),
    ("reopen", "/reopen"),
    ("severity", "/severity low|medium|high|critical"),
    ("cvss", "/cvss VECTOR (CVSS:3.1/... or CVSS:4.0/...)"),
    ("cve", "/cve CVE-YYYY-NNNN"),
    ("ghsa", "/ghsa GHSA-xxxx-xxxx-xxxx"),
    ("embargo", "/embargo YYYY-MM-DD"),
    ("note", "/note TEXT..."),
    ("public", "/public URL"),
    ("credit", "/credit NAME..."),
    ("anonymous", "/anonymous"),
    ("quiet", "/quiet"),
    ("have", "/have versions|reproduction|impact..."),
    ("package", "/package NAME"),
    (
        "affected",
        "/affected PACKAGE RANGE (npm semver, e.g. <4.21.2 or >=5.0.0 <5.0.1)",
    ),
    ("patched", "/patched PACKAGE VERSION"),
    ("cwe", "/cwe CWE-NNN"),
    ("summary", "/summary TEXT (one line)"),
    (
        "advisory",
        "/advisory, then the description on the lines after it (Markdown)",
    ),
    ("done", "/done STEP (privatized, removal-requested, placeholder-opened, triage-issue-created, advisory-created, cve-requested, patch, regression-tests, release, blog-post, announcement)"),
];

/// The words `/have` takes for each checklist item (the first is the one to write).
pub const HAVE_ITEMS: &[(&str, Missing)] = &[
    ("versions", Missing::AffectedVersions),
    ("affected-versions", Missing::AffectedVersions),
    ("reproduction", Missing::Reproduction),
    ("impact", Missing::Impact),
];

/// The items of `/have ITEM...`, once each, in checklist order.
fn have_items(words: &[&str]) -> Result<Vec<Missing>, String> {
    if words.is_empty() {
        return Err(format!("needs one or more items; {}", usage("have")));
    }
    let mut items = Vec::new();
    for w in words {
        let w = w.trim_end_matches(',').to_ascii_lowercase();
        let item = HAVE_ITEMS
            .iter()
            .find(|(n, _)| *n == w)
            .map(|(_, m)| *m)
            .ok_or_else(|| format!("`{w}` is not a checklist item; the items are: versions, reproduction, impact"))?;
        if !items.contains(&item) {
            items.push(item);
        }
    }
    items.sort();
    Ok(items)
}

static LINE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^/([A-Za-z][A-Za-z-]*)(?:\s+(.*))?$").unwrap());
static CVE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^CVE-\d{4}-\d{4,7}$").unwrap());
static GHSA: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^GHSA(?:-[23456789cfghjmpqrvwx]{4}){3}$").unwrap());
static VERSION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^v?\d+(?:\.\d+){0,3}(?:[-+][0-9A-Za-z.-]+)?$").unwrap());

/// Longest free text a command may carry (a reason, a note).
pub const MAX_TEXT: usize = 2000;

/// Longest `/summary` (a CVE title takes 256 characters).
pub const MAX_SUMMARY: usize = 200;

/// Longest `/advisory` description.
pub const MAX_DESCRIPTION: usize = 16_000;

static CWE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^CWE-[1-9]\d{0,5}$").unwrap());
/// An npm package name (`express`, `@scope/name`).
static NPM_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$").unwrap());

fn package_name(line: &str, w: &str) -> Result<String, CommandError> {
    if w.len() <= 214 && NPM_NAME.is_match(w) {
        Ok(w.to_string())
    } else {
        Err(err(
            line,
            format!("`{w}` is not a package name like express or @scope/name"),
        ))
    }
}

/// Is `line` the `/advisory` command (the rest of the message is the description)?
fn is_advisory_line(line: &str) -> bool {
    LINE.captures(line.trim())
        .is_some_and(|c| c[1].eq_ignore_ascii_case("advisory"))
}

/// Splits the sender's text at its first `/advisory` line: the text before it (with that
/// line), and the description (the rest of that line, then every later line).
fn split_advisory(own_text: &str) -> (Vec<&str>, Option<String>) {
    let lines: Vec<&str> = own_text.lines().collect();
    match lines.iter().position(|l| is_advisory_line(l)) {
        None => (lines, None),
        Some(i) => {
            let first = LINE
                .captures(lines[i].trim())
                .and_then(|c| c.get(2).map(|m| m.as_str().trim().to_string()))
                .unwrap_or_default();
            let mut d: Vec<&str> = Vec::new();
            if !first.is_empty() {
                d.push(first.as_str());
            }
            d.extend(&lines[i + 1..]);
            let text = d.join("\n");
            (
                lines[..=i].to_vec(),
                Some(text.trim_matches('\n').trim_end().to_string()),
            )
        }
    }
}

/// The `/advisory` command for a description, or why it cannot be one.
fn advisory(line: &str, description: &str) -> Result<Command, CommandError> {
    if description.trim().is_empty() {
        Err(err(
            line,
            "the description is empty: write it on the lines after /advisory (Markdown)",
        ))
    } else if description.chars().count() > MAX_DESCRIPTION {
        Err(err(
            line,
            format!("the description is longer than {MAX_DESCRIPTION} characters"),
        ))
    } else {
        Ok(Command::Advisory(description.to_string()))
    }
}

/// Finds the command lines of `own_text` (already without quotes and signature).
/// A line counts when it starts with `/word` followed by a space or the end of the line;
/// `/etc/passwd` and `/ path` are text.
/// Nothing after an `/advisory` line is a command: it is the description.
pub fn command_lines(own_text: &str) -> Vec<String> {
    split_advisory(own_text)
        .0
        .into_iter()
        .map(|l| l.trim())
        .filter(|l| LINE.is_match(l))
        .map(|l| l.chars().take(MAX_TEXT + 100).collect())
        .collect()
}

fn err(line: &str, problem: impl Into<String>) -> CommandError {
    CommandError {
        line: line.chars().take(120).collect(),
        problem: problem.into(),
    }
}

fn usage(name: &str) -> String {
    USAGE
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, u)| format!("usage: {u}"))
        .unwrap_or_default()
}

/// Parses one command line.
pub fn parse_line(line: &str) -> Result<Command, CommandError> {
    let caps = LINE
        .captures(line.trim())
        .ok_or_else(|| err(line, "not a command line"))?;
    let name = caps[1].to_ascii_lowercase();
    let args = caps.get(2).map(|m| m.as_str().trim()).unwrap_or("");
    let words: Vec<&str> = args.split_whitespace().collect();
    let no_args = |c: Command| {
        if words.is_empty() {
            Ok(c)
        } else {
            Err(err(line, format!("takes no argument; {}", usage(&name))))
        }
    };
    let text = |what: &str| -> Result<String, CommandError> {
        if args.is_empty() {
            Err(err(line, format!("needs {what}; {}", usage(&name))))
        } else if args.chars().count() > MAX_TEXT {
            Err(err(line, format!("{what} is longer than {MAX_TEXT} characters")))
        } else {
            Ok(args.to_string())
        }
    };
    let one = |what: &str| -> Result<&str, CommandError> {
        match words.as_slice() {
            [w] => Ok(*w),
            [] => Err(err(line, format!("needs {what}; {}", usage(&name)))),
            _ => Err(err(line, format!("takes one {what}; {}", usage(&name)))),
        }
    };
    match name.as_str() {
        "assign" => match words.as_slice() {
            [] | ["me"] => Ok(Command::Assign(Assignee::Me)),
            [a] => Address::parse(a)
                .map(|a| Command::Assign(Assignee::Address(a)))
                .map_err(|e| err(line, e.to_string())),
            _ => Err(err(line, usage("assign"))),
        },
        "ack" => no_args(Command::Ack),
        "assess" => no_args(Command::Assess),
        "needs-info" => no_args(Command::NeedsInfo),
        "accept" => no_args(Command::Accept),
        "patch" => no_args(Command::Patch),
        "no-patch" => no_args(Command::NoPatch),
        "disclose" => no_args(Command::Disclose),
        "reopen" => no_args(Command::Reopen),
        "anonymous" => no_args(Command::Anonymous),
        "quiet" => no_args(Command::Quiet),
        "invalid" => text("a reason for the reporter").map(Command::Invalid),
        "note" => text("a text").map(Command::Note),
        "credit" => text("a name").map(|n| Command::Credit(crate::sanitize::header_text(&n))),
        "duplicate" => {
            let w = one("case id")?;
            CaseId::parse(w)
                .map(Command::Duplicate)
                .ok_or_else(|| err(line, format!("`{w}` is not a case id like SEC-2026-0001")))
        }
        "released" => {
            if words.is_empty() {
                return Err(err(
                    line,
                    format!("needs the released version(s); {}", usage("released")),
                ));
            }
            let versions: Vec<String> = words.iter().map(|w| w.trim_end_matches(',').to_string()).collect();
            if let Some(bad) = versions.iter().find(|v| !VERSION.is_match(v)) {
                return Err(err(line, format!("`{bad}` is not a version like 4.21.3")));
            }
            Ok(Command::Released(versions))
        }
        "severity" => {
            let w = one("severity")?;
            Severity::parse(w)
                .map(Command::Severity)
                .ok_or_else(|| err(line, format!("`{w}` is not one of low, medium, high, critical")))
        }
        "have" => have_items(&words).map(Command::Have).map_err(|e| err(line, e)),
        "package" => package_name(line, one("package name")?).map(Command::Package),
        "affected" => match words.as_slice() {
            [pkg, range @ ..] if !range.is_empty() => {
                let package = package_name(line, pkg)?;
                let range = range.join(" ");
                crate::advisory::range::parse(&range).map_err(|e| err(line, e.to_string()))?;
                Ok(Command::Affected { package, range })
            }
            _ => Err(err(line, format!("needs a package and a range; {}", usage("affected")))),
        },
        "patched" => match words.as_slice() {
            [pkg, v] => {
                let package = package_name(line, pkg)?;
                let version = crate::advisory::range::version(v)
                    .ok_or_else(|| err(line, format!("`{v}` is not a full version like 4.21.2")))?
                    .to_string();
                Ok(Command::Patched { package, version })
            }
            _ => Err(err(
                line,
                format!("needs a package and a version; {}", usage("patched")),
            )),
        },
        "cwe" => {
            let w = one("CWE id")?.to_ascii_uppercase();
            if CWE.is_match(&w) {
                Ok(Command::Cwe(w))
            } else {
                Err(err(line, format!("`{w}` is not a CWE id like CWE-79")))
            }
        }
        "summary" => {
            let t = text("a one-line summary")?;
            if t.chars().count() > MAX_SUMMARY {
                Err(err(
                    line,
                    format!("the summary is longer than {MAX_SUMMARY} characters"),
                ))
            } else {
                Ok(Command::Summary(crate::sanitize::header_text(&t)))
            }
        }
        "advisory" => advisory(line, args),
        "done" => {
            let w = one("step")?.to_ascii_lowercase();
            if super::checklist::is_step(&w) {
                Ok(Command::Done(w))
            } else {
                Err(err(
                    line,
                    format!(
                        "`{w}` is not a checklist step; the steps are: {}",
                        super::checklist::STEPS
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ))
            }
        }
        "cvss" => score_cvss(one("vector")?).map(Command::Cvss).map_err(|e| err(line, e)),
        "cve" => {
            let w = one("CVE id")?.to_ascii_uppercase();
            if CVE.is_match(&w) {
                Ok(Command::Cve(w))
            } else {
                Err(err(line, format!("`{w}` is not a CVE id like CVE-2026-12345")))
            }
        }
        "ghsa" => {
            let w = one("GHSA id")?;
            let norm = format!("GHSA{}", w.get(4..).unwrap_or("").to_ascii_lowercase());
            // (byte slicing above and below never splits a character: `get` refuses to)
            if w.len() == 19 && w.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("ghsa")) && GHSA.is_match(&norm) {
                Ok(Command::Ghsa(norm))
            } else {
                Err(err(line, format!("`{w}` is not a GHSA id like GHSA-xxxx-xxxx-xxxx")))
            }
        }
        "embargo" => {
            let w = one("date")?;
            NaiveDate::parse_from_str(w, "%Y-%m-%d")
                .map(Command::Embargo)
                .map_err(|_| err(line, format!("`{w}` is not a date like 2026-12-31")))
        }
        "public" => {
            let w = one("URL")?;
            if (w.starts_with("https://") || w.starts_with("http://")) && w.len() < 2000 {
                Ok(Command::Public(w.to_string()))
            } else {
                Err(err(line, format!("`{w}` is not an http(s) URL")))
            }
        }
        other => Err(err(
            line,
            format!(
                "unknown command /{other}; known: {}",
                USAGE.iter().map(|(n, _)| format!("/{n}")).collect::<Vec<_>>().join(" ")
            ),
        )),
    }
}

/// The most HTML read for commands (they are at the top of a message).
const MAX_HTML: usize = 1 << 20;

/// An HTML body as text for command reading: one line per block (`<div>`, `<p>`, `<br>`,
/// list items), and quoted text (`<blockquote>`) prefixed with `> ` so that
/// [`crate::quoting::own_text`] drops it. Empty when the HTML cannot be read.
pub fn html_text(html: &str) -> String {
    let mut end = html.len().min(MAX_HTML);
    while !html.is_char_boundary(end) {
        end -= 1;
    }
    let html = &html[..end];
    std::panic::catch_unwind(|| {
        html2text::config::plain_no_decorate()
            .allow_width_overflow()
            .string_from_read(html.as_bytes(), 4 * MAX_TEXT)
            .unwrap_or_default()
    })
    .unwrap_or_default()
}

/// The HTML bodies of a raw message as [`html_text`]; None when it has none.
pub fn html_message_text(raw: &[u8]) -> Option<String> {
    let msg = mail_parser::MessageParser::default().parse(raw)?;
    let parts: Vec<String> = msg
        .html_bodies()
        .filter_map(|p| match &p.body {
            mail_parser::PartType::Html(h) => Some(html_text(h)),
            _ => None,
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("\n"))
}

/// Parses every command line of `own_text`: the commands, or every error found.
/// Everything after an `/advisory` line is its description, kept as written (Markdown).
pub fn parse_all(own_text: &str) -> (Vec<Command>, Vec<CommandError>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    let description = split_advisory(own_text).1;
    for l in command_lines(own_text) {
        if let (true, Some(d)) = (is_advisory_line(&l), &description) {
            match advisory(&l, d) {
                Ok(c) => ok.push(c),
                Err(e) => bad.push(e),
            }
            continue;
        }
        match parse_line(&l) {
            Ok(c) => ok.push(c),
            Err(e) => bad.push(e),
        }
    }
    (ok, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_commands_only_at_line_start() {
        let t = "Thanks!\n/assign me\nsee /etc/passwd\n/etc/passwd is readable\n  /ack  \n";
        assert_eq!(command_lines(t), vec!["/assign me", "/ack"]);
    }

    #[test]
    fn parses_the_grammar() {
        assert_eq!(parse_line("/assign").unwrap(), Command::Assign(Assignee::Me));
        assert_eq!(
            parse_line("/assign Bob@Example.org").unwrap(),
            Command::Assign(Assignee::Address(Address::parse("bob@example.org").unwrap()))
        );
        assert_eq!(
            parse_line("/invalid not a vulnerability per the threat model").unwrap(),
            Command::Invalid("not a vulnerability per the threat model".into())
        );
        assert_eq!(
            parse_line("/released 4.21.3 5.1.1").unwrap(),
            Command::Released(vec!["4.21.3".into(), "5.1.1".into()])
        );
        assert_eq!(
            parse_line("/cve cve-2026-12345").unwrap(),
            Command::Cve("CVE-2026-12345".into())
        );
        assert_eq!(
            parse_line("/ghsa GHSA-9wv6-86v2-598j").unwrap(),
            Command::Ghsa("GHSA-9wv6-86v2-598j".into())
        );
        assert_eq!(
            parse_line("/embargo 2026-12-31").unwrap(),
            Command::Embargo(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap())
        );
        assert_eq!(
            parse_line("/duplicate SEC-2026-0004").unwrap(),
            Command::Duplicate(CaseId::new("SEC", 2026, 4))
        );
        assert_eq!(parse_line("/severity HIGH").unwrap(), Command::Severity(Severity::High));
    }

    #[test]
    fn have_names_checklist_items() {
        assert_eq!(
            parse_line("/have impact").unwrap(),
            Command::Have(vec![Missing::Impact])
        );
        // Several items, in any order, once each; `affected-versions` is the stored name.
        assert_eq!(
            parse_line("/have Impact, versions reproduction impact").unwrap(),
            Command::Have(vec![Missing::AffectedVersions, Missing::Reproduction, Missing::Impact])
        );
        assert_eq!(
            parse_line("/have affected-versions").unwrap(),
            Command::Have(vec![Missing::AffectedVersions])
        );
        let e = parse_line("/have foo").unwrap_err();
        assert!(
            e.problem.contains("`foo` is not a checklist item") && e.problem.contains("versions, reproduction, impact"),
            "{}",
            e.problem
        );
        assert!(parse_line("/have")
            .unwrap_err()
            .problem
            .contains("needs one or more items"));
        // One bad item refuses the line (and so the message).
        assert!(parse_line("/have impact poc").is_err());
    }

    #[test]
    fn cvss_is_scored_by_the_crate() {
        let c = score_cvss("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").unwrap();
        assert_eq!(c.score, 9.8);
        assert_eq!(c.severity, "critical");
        let c = score_cvss("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H").unwrap();
        assert_eq!(c.score, 5.9);
        assert_eq!(c.severity, "medium");
        let c = score_cvss("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N").unwrap();
        assert_eq!(c.score, 9.3);
        assert_eq!(c.severity, "critical");
        assert!(score_cvss("CVSS:3.1/AV:X").is_err());
        assert!(score_cvss("AV:N/AC:L").is_err());
    }

    #[test]
    fn fuzz_regression_ghsa_with_multibyte_characters() {
        // Found by fuzz/fuzz_targets/commands.rs: slicing `w[..4]` split a character.
        let raw = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fuzz/regressions/commands-ghsa-char-boundary"
        ))
        .unwrap();
        let (_, errors) = parse_all(&String::from_utf8_lossy(&raw));
        assert!(errors[0].problem.contains("not a GHSA id"));
        assert!(parse_line("/ghsa GHé-xxxx-xxxx-xxxx").is_err());
    }

    #[test]
    fn html_commands_are_read_per_block_and_quotes_are_marked() {
        let own = |h: &str| crate::quoting::own_text(&html_text(h));
        // Gmail writes one <div> per line; Outlook <p>; others <br>.
        assert_eq!(
            command_lines(&own(
                "<div dir=\"ltr\"><div>/assign me</div><div>/severity high</div><div>Thanks</div></div>"
            )),
            vec!["/assign me", "/severity high"]
        );
        assert_eq!(command_lines(&own("<p>/ack</p><p>ok</p>")), vec!["/ack"]);
        assert_eq!(
            command_lines(&own("/assess<br>/accept<br>")),
            vec!["/assess", "/accept"]
        );
        // Quoted text is not the sender's: no command in it counts.
        let quoted = "<div>Looks fine.</div><blockquote type=\"cite\"><div>/invalid spam</div><blockquote><p>/disclose</p></blockquote></blockquote>";
        assert!(command_lines(&own(quoted)).is_empty(), "{:?}", html_text(quoted));
        let gmail = "<div>/assess</div><div class=\"gmail_quote\"><div class=\"gmail_attr\">On Sat, 21 Nov 2026 at 10:00, Jane &lt;jane@example.com&gt; wrote:<br></div><blockquote class=\"gmail_quote\"><div>/invalid x</div></blockquote></div>";
        assert_eq!(command_lines(&own(gmail)), vec!["/assess"]);
        // Entities are decoded.
        assert_eq!(command_lines(&own("<p>/note a &amp; b</p>")), vec!["/note a & b"]);
    }

    #[test]
    fn advisory_facts_parse() {
        assert_eq!(
            parse_line("/package express").unwrap(),
            Command::Package("express".into())
        );
        assert_eq!(
            parse_line("/package @scope/pkg").unwrap(),
            Command::Package("@scope/pkg".into())
        );
        assert_eq!(
            parse_line("/affected express >=5.0.0 <5.0.1").unwrap(),
            Command::Affected {
                package: "express".into(),
                range: ">=5.0.0 <5.0.1".into()
            }
        );
        assert_eq!(
            parse_line("/patched express v4.21.2").unwrap(),
            Command::Patched {
                package: "express".into(),
                version: "4.21.2".into()
            }
        );
        assert_eq!(parse_line("/cwe cwe-79").unwrap(), Command::Cwe("CWE-79".into()));
        assert_eq!(
            parse_line("/summary Open redirect in res.location()").unwrap(),
            Command::Summary("Open redirect in res.location()".into())
        );
    }

    #[test]
    fn advisory_takes_the_rest_of_the_message() {
        let text =
            "/accept\n/advisory\n## Impact\n\n`res.redirect()` — ünïcode **bold**\n/disclose is not a command here\n\n";
        let (cmds, errs) = parse_all(text);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(
            cmds,
            vec![
                Command::Accept,
                Command::Advisory(
                    "## Impact\n\n`res.redirect()` — ünïcode **bold**\n/disclose is not a command here".into()
                )
            ]
        );
        // Lines after /advisory are not command lines.
        assert_eq!(command_lines(text), vec!["/accept", "/advisory"]);
        // Text on the /advisory line itself starts the description.
        let (cmds, _) = parse_all("/advisory A one-line description.\nMore.");
        assert_eq!(cmds, vec![Command::Advisory("A one-line description.\nMore.".into())]);
        // An empty description is an error, like any bad command.
        let (cmds, errs) = parse_all("/cwe CWE-79\n/advisory\n\n  \n");
        assert_eq!(cmds, vec![Command::Cwe("CWE-79".into())]);
        assert!(errs[0].problem.contains("description is empty"), "{errs:?}");
    }

    #[test]
    fn bad_arguments_are_explained() {
        for (l, want) in [
            ("/cve 2026-1", "not a CVE id"),
            ("/ghsa GHSA-1111-2222-3333", "not a GHSA id"),
            ("/embargo next week", "takes one date"),
            ("/embargo 2026-13-01", "not a date"),
            ("/severity severe", "not one of"),
            ("/invalid", "needs a reason"),
            ("/ack now", "takes no argument"),
            ("/close", "unknown command /close"),
            ("/assign not-an-address", "not a valid email address"),
            ("/released four", "not a version"),
            ("/duplicate 42", "not a case id"),
            ("/have foo", "not a checklist item"),
            ("/affected express 4.x", "not a full version"),
            ("/affected express >=1.0.0,<2.0.0", "not a full version"),
            ("/affected express", "needs a package and a range"),
            ("/affected Express! <1.0.0", "not a package name"),
            ("/patched express latest", "not a full version"),
            ("/cwe 79", "not a CWE id"),
            ("/cwe CWE-abc", "not a CWE id"),
            ("/summary", "needs a one-line summary"),
            ("/advisory", "description is empty"),
            ("/package", "needs package name"),
            ("/done blogpost", "not a checklist step"),
        ] {
            let e = parse_line(l).unwrap_err();
            assert!(e.problem.contains(want), "{l}: {}", e.problem);
        }
    }
}

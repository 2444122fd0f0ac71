//! The report as one self-contained HTML page: inline CSS and SVG, no script, a content
//! security policy that forbids every request, and under each chart its numbers as a table.

use std::fmt::Write as _;

use super::charts;
use super::series::{Charts, ResponseSeries};
use crate::policy::Policy;

/// Text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The page forbids loading anything: styles are inline, images only as data.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const STYLE: &str = "
body { font-family: sans-serif; margin: 24px 40px; color: #222; background: #fff; max-width: 1200px; }
h1 { font-size: 28px; margin-bottom: 4px; }
h2 { font-size: 22px; margin: 40px 0 4px; border-top: 1px solid #ccc; padding-top: 20px; }
p { font-size: 16px; line-height: 1.45; margin: 6px 0; }
p.question { font-style: italic; }
figure { margin: 12px 0; }
svg { max-width: 100%; height: auto; display: block; }
figcaption { font-size: 14px; color: #555; }
table { border-collapse: collapse; margin: 12px 0 8px; font-size: 14px; }
caption { text-align: left; font-weight: bold; padding: 4px 0; font-size: 15px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f2f2f2; }
.empty { color: #666; }
";

/// A table cell: text, or a number (right-aligned).
enum Cell {
    Text(String),
    Num(String),
}

fn num(v: impl std::fmt::Display) -> Cell {
    Cell::Num(v.to_string())
}

fn opt_num(v: Option<f64>) -> Cell {
    v.map(num).unwrap_or(Cell::Text("-".into()))
}

fn text(v: impl Into<String>) -> Cell {
    Cell::Text(v.into())
}

fn opt_text(v: &Option<String>) -> Cell {
    text(v.clone().unwrap_or_else(|| "-".into()))
}

fn table(out: &mut String, id: &str, caption: &str, head: &[&str], rows: Vec<Vec<Cell>>) {
    let _ = write!(
        out,
        "<table id=\"{}\">\n<caption>{}</caption>\n<thead><tr>",
        escape(id),
        escape(caption)
    );
    for h in head {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(h));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    if rows.is_empty() {
        let _ = writeln!(out, "<tr><td colspan=\"{}\" class=\"empty\">none</td></tr>", head.len());
    }
    for r in rows {
        out.push_str("<tr>");
        for c in r {
            match c {
                Cell::Text(t) => {
                    let _ = write!(out, "<td>{}</td>", escape(&t));
                }
                Cell::Num(t) => {
                    let _ = write!(out, "<td class=\"n\">{}</td>", escape(&t));
                }
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

fn figure(out: &mut String, svg: Result<String, charts::ChartError>, caption: &str, has_data: bool) {
    if !has_data {
        let _ = writeln!(out, "<p class=\"empty\">Nothing to draw for this period.</p>");
        return;
    }
    match svg {
        Ok(svg) => {
            let _ = write!(
                out,
                "<figure>\n{svg}<figcaption>{}</figcaption>\n</figure>\n",
                escape(caption)
            );
        }
        Err(e) => {
            let _ = writeln!(
                out,
                "<p class=\"empty\">The chart could not be drawn ({}).</p>",
                escape(&e.to_string())
            );
        }
    }
}

fn response_section(
    out: &mut String,
    id: &str,
    heading: &str,
    question: &str,
    s: &ResponseSeries,
    c: &Charts,
    subjects: bool,
) {
    let unit = s.unit.short();
    let _ = write!(
        out,
        "<section id=\"{id}\">\n<h2>{}</h2>\n<p class=\"question\">{}</p>\n",
        escape(heading),
        escape(question)
    );
    let tz: chrono_tz::Tz = c.timezone.parse().unwrap_or(chrono_tz::UTC);
    figure(
        out,
        charts::response(s, &tz, heading.split_once(". ").map_or(heading, |x| x.1)),
        &format!(
            "One dot per case (imported historical cases left out). Dashed line: the promise, {} {unit}. Times in {}.",
            s.promise, c.timezone
        ),
        !s.cases.is_empty(),
    );
    let mut head = vec!["case"];
    if subjects {
        head.push("subject");
    }
    let took = format!("took ({})", s.unit.as_str());
    head.extend(["month", "clock started", "answered", took.as_str(), "status"]);
    let rows = s
        .cases
        .iter()
        .map(|p| {
            let mut r = vec![text(&p.case)];
            if subjects {
                r.push(opt_text(&p.subject));
            }
            r.extend([
                text(&p.month),
                text(&p.started),
                opt_text(&p.answered),
                num(p.took),
                text(p.status.as_str()),
            ]);
            r
        })
        .collect();
    table(
        out,
        &format!("{id}-cases"),
        &format!("{heading}: every case"),
        &head,
        rows,
    );
    let median = format!("median ({})", s.unit.as_str());
    let p90 = format!("p90 ({})", s.unit.as_str());
    let rows = s
        .months
        .iter()
        .map(|m| {
            vec![
                text(&m.month),
                num(m.cases),
                num(m.met),
                opt_num(m.median),
                opt_num(m.p90),
            ]
        })
        .collect();
    table(
        out,
        &format!("{id}-months"),
        &format!("{heading}: per month (cases due or answered)"),
        &["month", "cases", "met the promise", median.as_str(), p90.as_str()],
        rows,
    );
    out.push_str("</section>\n");
}

/// The whole page.
pub fn page(c: &Charts, p: &Policy, subjects: bool) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
<meta name=\"referrer\" content=\"no-referrer\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>Security reports: how we kept our promises</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
    );
    let hours = |d: chrono::Duration| {
        let s = d.num_seconds() as f64;
        if s >= 3600.0 {
            format!("{} h", s / 3600.0)
        } else if s >= 60.0 {
            format!("{} min", s / 60.0)
        } else {
            format!("{s} s")
        }
    };
    let _ = write!(
        out,
        "<header>\n<h1>Security reports: how we kept our promises</h1>\n\
<p>Made {} ({}){}. The policy promises a first human reply within {} of a report arriving, \
and a detailed response within {} after that.</p>\n\
<p>Case ids, states, dates and severities only{}. Imported historical cases count in the monthly history, \
not against the promises.</p>\n</header>\n",
        escape(&c.generated),
        escape(&c.timezone),
        c.since.map(|s| format!(", cases opened since {s}")).unwrap_or_default(),
        hours(p.acknowledge_within),
        hours(p.detailed_response_within),
        if subjects {
            ", and subjects: for a private audience"
        } else {
            ": no report text, no reporter address"
        },
    );
    response_section(
        &mut out,
        "first-reply",
        "1. Time to the first human reply",
        "Did every reporter hear from a person within the promised time?",
        &c.first_reply,
        c,
        subjects,
    );
    response_section(
        &mut out,
        "detailed-response",
        "2. Time to the detailed response",
        "Once acknowledged, did reporters get next steps (a verdict or a question) within the promised time?",
        &c.detailed_response,
        c,
        subjects,
    );

    out.push_str("<section id=\"outcomes\">\n<h2>3. Reports per month by outcome</h2>\n<p class=\"question\">How many reports came in each month, and how did they end?</p>\n");
    figure(
        &mut out,
        charts::outcomes(&c.outcomes),
        "Reports by the month they arrived, stacked by their state now.",
        !c.outcomes.is_empty(),
    );
    let rows = c
        .outcomes
        .iter()
        .map(|m| {
            vec![
                text(&m.month),
                num(m.accepted),
                num(m.invalid),
                num(m.duplicate),
                num(m.open),
                num(m.historical),
                num(m.total),
            ]
        })
        .collect();
    table(
        &mut out,
        "outcomes-months",
        "Reports per month by outcome",
        &[
            "month",
            "accepted",
            "invalid",
            "duplicate",
            "still open",
            "historical",
            "total",
        ],
        rows,
    );
    out.push_str("</section>\n");

    out.push_str("<section id=\"open-cases\">\n<h2>4. Open cases by state and age</h2>\n<p class=\"question\">What is open now, how old is it, and what is overdue?</p>\n");
    figure(
        &mut out,
        charts::open_cases(&c.open_cases),
        "One bar per open case, grouped by state; red bars have an overdue deadline.",
        !c.open_cases.is_empty(),
    );
    let mut head = vec!["case"];
    if subjects {
        head.push("subject");
    }
    head.extend(["state", "opened", "age (days)", "overdue"]);
    let rows = c
        .open_cases
        .iter()
        .map(|o| {
            let mut r = vec![text(&o.case)];
            if subjects {
                r.push(opt_text(&o.subject));
            }
            r.extend([
                text(&o.state),
                text(&o.opened),
                num(o.age_days),
                text(o.overdue.join(", ")),
            ]);
            r
        })
        .collect();
    table(&mut out, "open-cases-list", "Open cases", &head, rows);
    out.push_str("</section>\n");

    out.push_str("<section id=\"publications\">\n<h2>5. Advisories and CVEs published per month</h2>\n<p class=\"question\">How many advisories did we publish, how severe, and how many with a CVE?</p>\n");
    figure(
        &mut out,
        charts::publications(&c.publications),
        "Cases disclosed per month, stacked by severity; triangles: how many had a CVE.",
        !c.publications.is_empty(),
    );
    let rows = c
        .publications
        .iter()
        .map(|m| {
            vec![
                text(&m.month),
                num(m.published),
                num(m.cves),
                num(m.ghsas),
                num(m.critical),
                num(m.high),
                num(m.medium),
                num(m.low),
                num(m.unknown),
            ]
        })
        .collect();
    table(
        &mut out,
        "publications-months",
        "Advisories published per month",
        &[
            "month",
            "published",
            "CVEs",
            "GHSAs",
            "critical",
            "high",
            "medium",
            "low",
            "unknown",
        ],
        rows,
    );
    let mut head = vec!["case"];
    if subjects {
        head.push("subject");
    }
    head.extend(["published", "severity", "CVE", "GHSA"]);
    let rows = c
        .advisories
        .iter()
        .map(|a| {
            let mut r = vec![text(&a.case)];
            if subjects {
                r.push(opt_text(&a.subject));
            }
            r.extend([
                text(&a.published),
                opt_text(&a.severity),
                opt_text(&a.cve),
                opt_text(&a.ghsa),
            ]);
            r
        })
        .collect();
    table(&mut out, "advisories-list", "Advisories published", &head, rows);
    out.push_str("</section>\n</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PolicySettings;
    use crate::report::series::CaseFacts;
    use chrono::{DateTime, Duration, Utc};

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// A year of cases of every kind.
    fn sample() -> Vec<CaseFacts> {
        let states = [
            "disclosed",
            "invalid",
            "duplicate",
            "accepted",
            "triage",
            "new",
            "needs-info",
            "historical",
            "released",
            "assessing",
            "patching",
            "invalid",
        ];
        let sev = ["high", "critical", "medium", "low"];
        (0..40)
            .map(|i| {
                let opened = t("2026-01-03T09:00:00Z") + Duration::hours(i * 211);
                let state = states[i as usize % states.len()];
                let ack = (i % 7 != 5).then(|| opened + Duration::minutes(60 * ((i * 37) % 70) + 13));
                let det = ack
                    .filter(|_| i % 5 != 4)
                    .map(|a| a + Duration::minutes(60 * ((i * 23) % 80) + 7));
                CaseFacts {
                    id: format!("SEC-2026-{:04}", i + 1),
                    state: state.into(),
                    subject: format!("<b>XSS</b> & friends #{i}"),
                    timeline: crate::policy::Timeline {
                        opened_at: opened,
                        state: crate::case::State::parse(state),
                        state_since: opened,
                        acknowledged_at: ack,
                        detailed_response_at: det,
                        ..Default::default()
                    },
                    severity: (i % 3 != 0).then(|| sev[i as usize % 4].to_string()),
                    cve: (i % 2 == 0).then(|| format!("CVE-2026-{}", 1000 + i)),
                    ghsa: None,
                    closed_at: Some(opened + Duration::days(20)),
                }
            })
            .collect()
    }

    #[test]
    fn the_page_is_self_contained_and_escapes_subjects() {
        let p = PolicySettings::default().compile().unwrap();
        let cases = sample();
        let c = Charts::build(&cases, &p, t("2026-12-01T10:00:00Z"), None, true);
        let page = page(&c, &p, true);
        if let Ok(path) = std::env::var("SECINTAKE_SAMPLE_REPORT") {
            std::fs::write(path, &page).unwrap();
        }
        assert!(page.contains(CSP));
        for bad in ["<script", "http:", "https:", "<b>", "src=", "href=", "url("] {
            assert!(!page.contains(bad), "{bad} in the page");
        }
        assert!(page.contains("&lt;b&gt;XSS&lt;/b&gt; &amp; friends #1<"));
        assert_eq!(page.matches("<svg").count(), 5, "five charts");
        let private = super::page(
            &Charts::build(&cases, &p, t("2026-12-01T10:00:00Z"), None, false),
            &p,
            false,
        );
        assert!(!private.contains("XSS"), "no subjects by default");
    }

    #[test]
    fn mail_text_is_escaped() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(escape("a\u{0}b"), "a\u{FFFD}b");
    }
}

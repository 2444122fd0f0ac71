//! `report --html` through the real stack: reports and coordinator replies at known times go
//! through the mail stack; the page's tables equal `report --json --charts`, which equals the
//! times put in; headless Chromium renders the page without a console message or a request,
//! and the picture is not blank; no report text leaves in the file.

use crate::common::*;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The promise of a first human reply, in seconds (as in POLICY).
const PROMISE: i64 = 15;
const POLICY: &str = "[policy]
acknowledge_within = \"15s\"
detailed_response_within = \"40s\"
holding_acknowledgement = false

[policy.calendar]
timezone = \"Europe/Berlin\"
";

/// In every report body; must never reach the report file.
const BODY_CANARY: &str = "CANARY-BODY-5d1e9a";
/// In one subject: only with --with-subjects, and then escaped.
const SUBJECT_CANARY: &str = "CANARY-SUBJECT-<script>alert(1)</script>";

fn now() -> DateTime<Utc> {
    Utc::now()
}

fn at(s: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// Seconds from `a` to `b`, as a window [lo, hi] known from when the test acted: the clock
/// started between `start.0` and `start.1`, the answer came between `end.0` and `end.1`
/// (one second of slack each way: a mailbox's arrival stamp has whole seconds).
fn window(start: (DateTime<Utc>, DateTime<Utc>), end: (DateTime<Utc>, DateTime<Utc>)) -> (f64, f64) {
    let lo = (end.0 - start.1).num_milliseconds() as f64 / 1000.0 - 1.0;
    let hi = (end.1 - start.0).num_milliseconds() as f64 / 1000.0 + 1.0;
    (lo, hi)
}

fn mail_from(from: &str, to: &str, id: &str, parent: &str, n: usize, body: &str) -> String {
    reply(
        from,
        to,
        &format!("Re: [{id}] report"),
        &format!("<rh{n}@example.test>"),
        parent,
        &authenticated("example.test"),
        body,
    )
}

/// The rows of `<table id="ID">`: each cell's text, unescaped.
fn table(html: &str, id: &str) -> Vec<Vec<String>> {
    let start = html
        .find(&format!("<table id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no table {id}"));
    let end = start + html[start..].find("</table>").unwrap();
    let body = &html[start..end];
    let body = &body[body.find("<tbody>").unwrap()..];
    let cell = regex::Regex::new(r"<td[^>]*>(.*?)</td>").unwrap();
    body.split("<tr>")
        .skip(1)
        .map(|row| {
            cell.captures_iter(row)
                .map(|c| {
                    c[1].replace("&lt;", "<")
                        .replace("&gt;", ">")
                        .replace("&quot;", "\"")
                        .replace("&#39;", "'")
                        .replace("&amp;", "&")
                })
                .collect::<Vec<_>>()
        })
        .filter(|r| !(r.len() == 1 && r[0] == "none"))
        .collect()
}

/// A JSON value as the table shows it: numbers compared as numbers, null as "-".
fn same(cell: &str, v: &Value, what: &str) {
    match v {
        Value::Null => assert_eq!(cell, "-", "{what}"),
        Value::Number(n) => {
            let c: f64 = cell
                .parse()
                .unwrap_or_else(|_| panic!("{what}: `{cell}` is not a number"));
            assert!((c - n.as_f64().unwrap()).abs() < 1e-9, "{what}: table {cell}, json {n}");
        }
        Value::String(s) => assert_eq!(cell, s, "{what}"),
        Value::Array(a) => {
            let joined: Vec<&str> = a.iter().map(|x| x.as_str().unwrap()).collect();
            assert_eq!(cell, joined.join(", "), "{what}");
        }
        other => panic!("{what}: unexpected {other}"),
    }
}

/// Every row of table `id` equals the JSON array `rows`, field by field in column order.
fn table_equals(html: &str, id: &str, rows: &Value, fields: &[&str]) {
    let t = table(html, id);
    let rows = rows.as_array().unwrap();
    assert_eq!(t.len(), rows.len(), "rows of {id}");
    for (i, (tr, jr)) in t.iter().zip(rows).enumerate() {
        assert_eq!(tr.len(), fields.len(), "columns of {id} row {i}: {tr:?}");
        for (cell, f) in tr.iter().zip(fields) {
            same(cell, &jr[*f], &format!("{id} row {i} {f}"));
        }
    }
}

fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-headless-shell", "chromium-browser"] {
        let found = Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {name}"))
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
        if let Some(p) = found {
            return p;
        }
    }
    panic!("headless Chromium is missing: this test renders the report in a real browser. Install it with `apt-get install -y chromium` (or run scripts/setup-debian.sh)");
}

/// What Chromium did with a page: its console messages, the requests the page made, the PNG.
struct Render {
    console: Vec<String>,
    page_requests: Vec<String>,
    png: PathBuf,
}

fn render(page: &Path, dir: &Path, name: &str) -> Render {
    let profile = dir.join(format!("{name}-profile"));
    let png = dir.join(format!("{name}.png"));
    let netlog = dir.join(format!("{name}-netlog.json"));
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1280,5200",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--log-net-log={}", netlog.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && png.exists(), "chromium failed:\n{stderr}");
    // For looking at the page by eye: REPORT_HTML_PNG_DIR=/tmp keeps a copy of each picture.
    if let Some(keep) = std::env::var_os("REPORT_HTML_PNG_DIR") {
        std::fs::copy(&png, Path::new(&keep).join(format!("report-{name}.png"))).expect("keep the picture");
    }
    let console = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(String::from)
        .collect();
    // The page's own requests: URL requests made for the file:// page (Chromium's own
    // background requests have no site).
    let log: Value = serde_json::from_str(&std::fs::read_to_string(&netlog).unwrap()).expect("net log JSON");
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
        .as_i64()
        .unwrap();
    let page_requests = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"].as_i64() == Some(start_job))
        .filter(|e| {
            e["params"]["site_for_cookies"]
                .as_str()
                .is_some_and(|s| s.contains("file://"))
        })
        .filter_map(|e| e["params"]["url"].as_str())
        .filter(|u| !u.starts_with("file:"))
        .map(String::from)
        .collect();
    Render {
        console,
        page_requests,
        png,
    }
}

/// What a PNG shows: its size, its distinct colours and the share of pixels that are not white.
struct Picture {
    width: u32,
    height: u32,
    colours: std::collections::HashSet<[u8; 3]>,
    ink: f64,
}

impl Picture {
    fn read(png: &Path) -> Picture {
        let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        let channels = info.color_type.samples();
        assert!(channels >= 3, "a colour PNG: {:?}", info.color_type);
        let px = &buf[..info.buffer_size()];
        let mut colours = std::collections::HashSet::new();
        let mut ink = 0usize;
        for p in px.chunks(channels) {
            colours.insert([p[0], p[1], p[2]]);
            if p[..3].iter().any(|&c| c < 200) {
                ink += 1;
            }
        }
        Picture {
            width: info.width,
            height: info.height,
            colours,
            ink: ink as f64 / (px.len() / channels) as f64,
        }
    }

    /// Some pixel is (nearly) this colour.
    fn shows(&self, rgb: [u8; 3]) -> bool {
        self.colours
            .iter()
            .any(|c| c.iter().zip(rgb).all(|(a, b)| a.abs_diff(b) <= 8))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_html_report_shows_the_times_put_in_and_renders_in_a_browser() {
    let w = World::with(POLICY);
    let body = format!("{COMPLETE_BODY}\n\nSecret detail: {BODY_CANARY}");
    let subjects = [
        SUBJECT_CANARY.to_string(),
        "Prototype pollution in qs".into(),
        "ReDoS in path-to-regexp".into(),
        "Not a bug, really".into(),
        "Open redirect in res.location".into(),
    ];

    // Five reports arrive together.
    let t0 = now();
    for (i, s) in subjects.iter().enumerate() {
        w.deliver(&report(REPORTER, s, &format!("<r{i}@example.test>"), &body))
            .await;
    }
    w.once();
    let t1 = now();
    let cases = w.cases();
    let id_of = |subject: &str| -> String {
        cases
            .iter()
            .find(|c| c["subject"].as_str().unwrap().contains(subject))
            .unwrap_or_else(|| panic!("no case for {subject}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let a = id_of("CANARY-SUBJECT");
    let b = id_of("Prototype pollution");
    let c = id_of("ReDoS");
    let d = id_of("Not a bug");
    let e = id_of("Open redirect");
    let parent = |x: &str| {
        format!(
            "<r{}@example.test>",
            subjects.iter().position(|s| id_of(s) == x).unwrap()
        )
    };
    // Right away Alice answers A's reporter (reply-all): the first human reply.
    let u0 = now();
    w.deliver(&mail_from(
        ALICE,
        &format!("{REPORTER}\r\nCc: {LIST}"),
        &a,
        &parent(&a),
        1,
        "Thanks, we are on it.",
    ))
    .await;
    w.once();
    let u1 = now();
    // E is acknowledged from the command line.
    let e0 = now();
    w.run(&["case", &e, "command", "/ack"]);
    let e1 = now();
    // Alice takes A and asks its reporter for more: the detailed response.
    w.run(&["case", &a, "assign", ALICE]);
    let v0 = now();
    w.deliver(&mail_from(ALICE, LIST, &a, &parent(&a), 2, "/needs-info"))
        .await;
    w.once();
    let v1 = now();
    // D is dismissed without a human reply; E goes all the way to an advisory with a CVE.
    for (id, who) in [(&b, BOB), (&d, ALICE), (&e, ALICE)] {
        w.run(&["case", id, "assign", who]);
    }
    w.run(&["case", &d, "state", "invalid", "outside", "the", "threat", "model"]);
    for step in [
        vec!["state", "assessing"],
        vec!["state", "accepted"],
        vec!["command", "/severity", "high"],
        vec!["cve", "CVE-2026-40001"],
        vec!["command", "/no-patch"],
        vec!["state", "disclosed"],
    ] {
        let mut args = vec!["case", e.as_str()];
        args.extend(step);
        w.run(&args);
    }
    // Bob answers B only after the promise.
    let wait = (t1 + chrono::Duration::seconds(PROMISE + 1) - now())
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(wait).await;
    let b0 = now();
    w.deliver(&mail_from(
        BOB,
        &format!("{REPORTER}\r\nCc: {LIST}"),
        &b,
        &parent(&b),
        3,
        "Looking into it.",
    ))
    .await;
    w.once();
    let b1 = now();
    // C never hears back.

    // One run writes the page and prints its numbers (the same moment: a time still running,
    // like an unanswered case's, is the same in both).
    let targets: Value = serde_json::from_str(&w.run(&["report", "--json"])).unwrap();
    let dir = w.dir.path();
    let file = dir.join("report.html");
    let private = dir.join("report-private.html");
    let charts: Value =
        serde_json::from_str(&w.run(&["report", "--json", "--charts", "--html", file.to_str().unwrap()])).unwrap();
    let charts_private: Value = serde_json::from_str(&w.run(&[
        "report",
        "--json",
        "--charts",
        "--with-subjects",
        "--html",
        private.to_str().unwrap(),
    ]))
    .unwrap();
    let html = std::fs::read_to_string(&file).unwrap();
    let html_private = std::fs::read_to_string(&private).unwrap();

    // --- report --json --charts equals the times put in ---
    assert_eq!(charts["timezone"], "Europe/Berlin");
    let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
    let local = |t: DateTime<Utc>| t.with_timezone(&berlin).format("%Y-%m-%d %H:%M").to_string();
    let fr = &charts["first_reply"];
    assert_eq!(
        (fr["unit"].as_str(), fr["promise"].as_f64()),
        (Some("seconds"), Some(PROMISE as f64))
    );
    let point = |series: &Value, id: &str| -> Value {
        series["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["case"] == id)
            .cloned()
            .unwrap_or(Value::Null)
    };
    // The clock of each case, as stored (`case --json`), shown in Berlin time.
    let stored = |id: &str, field: &str| {
        let v = w.case(id)[field].clone();
        (!v.is_null()).then(|| local(at(&v)))
    };
    let check = |series: &Value, id: &str, status: &str, win: Option<(f64, f64)>, clock: (&str, &str)| {
        let p = point(series, id);
        assert_eq!(p["status"], status, "{id} in {}: {p}", series["target"]);
        if let Some((lo, hi)) = win {
            let took = p["took"].as_f64().unwrap();
            assert!(
                lo <= took && took <= hi,
                "{id}: took {took} s, put in between {lo} and {hi} s"
            );
            assert!((took - p["took_seconds"].as_f64().unwrap()).abs() <= 1.0, "{p}");
        }
        assert_eq!(p["started"].as_str().map(String::from), stored(id, clock.0), "{id}");
        assert_eq!(p["answered"].as_str().map(String::from), stored(id, clock.1), "{id}");
    };
    let first = ("opened_at", "acknowledged_at");
    check(fr, &a, "met", Some(window((t0, t1), (u0, u1))), first);
    check(fr, &b, "late", Some(window((t0, t1), (b0, b1))), first);
    check(fr, &c, "overdue", None, first);
    check(fr, &d, "overdue", None, first);
    check(fr, &e, "met", Some(window((t0, t1), (e0, e1))), first);
    assert_eq!(fr["cases"].as_array().unwrap().len(), 5);
    let dr = &charts["detailed_response"];
    let detailed = ("acknowledged_at", "detailed_response_at");
    check(dr, &a, "met", Some(window((u0, u1), (v0, v1))), detailed);
    check(dr, &b, "waiting", None, detailed);
    check(dr, &e, "met", None, detailed);
    assert!(
        point(dr, &c).is_null() && point(dr, &d).is_null(),
        "no clock without a first reply"
    );
    assert_eq!(dr["cases"].as_array().unwrap().len(), 3);

    // The monthly numbers follow from the cases (nearest-rank percentiles of the answered).
    let month = &fr["months"][0];
    assert_eq!(fr["months"].as_array().unwrap().len(), 1);
    assert_eq!((month["cases"].as_i64(), month["met"].as_i64()), (Some(5), Some(2)));
    let mut answered: Vec<f64> = fr["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| !p["answered"].is_null())
        .map(|p| p["took"].as_f64().unwrap())
        .collect();
    answered.sort_by(f64::total_cmp);
    assert_eq!(answered.len(), 3);
    assert_eq!(month["median"].as_f64(), Some(answered[1]));
    assert_eq!(month["p90"].as_f64(), Some(answered[2]));
    // `report --json` (the targets table) counts the same cases.
    let target = |name: &str| {
        targets
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["target"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        (
            target("acknowledgement")["cases"].as_i64(),
            target("acknowledgement")["met"].as_i64()
        ),
        (Some(5), Some(2))
    );
    assert_eq!(
        target("detailed-response")["cases"].as_i64(),
        dr["months"][0]["cases"].as_i64()
    );

    let outcomes = &charts["outcomes"][0];
    assert_eq!(
        [
            &outcomes["accepted"],
            &outcomes["invalid"],
            &outcomes["duplicate"],
            &outcomes["open"],
            &outcomes["total"]
        ],
        [1, 1, 0, 3, 5]
    );
    let open: Vec<(String, String, Vec<String>)> = charts["open_cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["case"].as_str().unwrap().to_string(),
                o["state"].as_str().unwrap().to_string(),
                serde_json::from_value(o["overdue"].clone()).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        open,
        vec![
            (c.clone(), "new".into(), vec!["acknowledge".into()]),
            (b.clone(), "triage".into(), vec![]),
            (a.clone(), "needs-info".into(), vec![]),
        ],
        "by state, overdue marked"
    );
    let pubs = &charts["publications"][0];
    assert_eq!([&pubs["published"], &pubs["cves"], &pubs["high"]], [1, 1, 1]);
    assert_eq!(charts["advisories"][0]["case"], e.as_str());
    assert_eq!(charts["advisories"][0]["cve"], "CVE-2026-40001");

    // --- the HTML's tables equal report --json --charts ---
    let resp = ["case", "month", "started", "answered", "took", "status"];
    table_equals(&html, "first-reply-cases", &fr["cases"], &resp);
    table_equals(&html, "detailed-response-cases", &dr["cases"], &resp);
    let months = ["month", "cases", "met", "median", "p90"];
    table_equals(&html, "first-reply-months", &fr["months"], &months);
    table_equals(&html, "detailed-response-months", &dr["months"], &months);
    table_equals(
        &html,
        "outcomes-months",
        &charts["outcomes"],
        &[
            "month",
            "accepted",
            "invalid",
            "duplicate",
            "open",
            "historical",
            "total",
        ],
    );
    table_equals(
        &html,
        "open-cases-list",
        &charts["open_cases"],
        &["case", "state", "opened", "age_days", "overdue"],
    );
    table_equals(
        &html,
        "publications-months",
        &charts["publications"],
        &[
            "month",
            "published",
            "cves",
            "ghsas",
            "critical",
            "high",
            "medium",
            "low",
            "unknown",
        ],
    );
    table_equals(
        &html,
        "advisories-list",
        &charts["advisories"],
        &["case", "published", "severity", "cve", "ghsa"],
    );
    assert_eq!(html.matches("<svg").count(), 5, "five charts");

    // --- nothing from the mail in the file by default; subjects only on request, escaped ---
    for page in [&html, &html_private] {
        assert!(!page.contains(BODY_CANARY), "report text in the file");
        assert!(!page.contains(REPORTER), "the reporter's address in the file");
        assert!(!page.to_lowercase().contains("<script"), "a script in the file");
        for needle in ["http:", "https:", "src=", "href=", "url(", "@import"] {
            assert!(!page.contains(needle), "{needle} in the file: it must load nothing");
        }
        assert!(page.contains(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        ));
    }
    assert!(!html.contains("CANARY-SUBJECT"), "no subjects by default");
    assert!(html_private.contains("CANARY-SUBJECT-&lt;script&gt;alert(1)&lt;/script&gt;"));
    let mut with_subject = resp.to_vec();
    with_subject.insert(1, "subject");
    table_equals(
        &html_private,
        "first-reply-cases",
        &charts_private["first_reply"]["cases"],
        &with_subject,
    );
    assert_eq!(point(&charts_private["first_reply"], &a)["subject"], SUBJECT_CANARY);

    // --- a real browser: the control page proves the checks see a console message and a request ---
    let control = dir.join("control.html");
    std::fs::write(
        &control,
        "<!DOCTYPE html><html><body><p>control</p><img src=\"http://127.0.0.1:9/x.png\"><script>console.error('control')</script></body></html>",
    )
    .unwrap();
    let ctl = render(&control, dir, "control");
    assert!(
        !ctl.console.is_empty(),
        "the console check sees nothing: it would not catch an error"
    );
    assert!(
        ctl.page_requests.iter().any(|u| u.contains("127.0.0.1:9")),
        "the request check sees nothing: {:?}",
        ctl.page_requests
    );

    let shot = render(&file, dir, "report");
    assert!(shot.console.is_empty(), "console messages: {:#?}", shot.console);
    assert!(
        shot.page_requests.is_empty(),
        "the page made requests: {:?}",
        shot.page_requests
    );
    let pic = Picture::read(&shot.png);
    assert_eq!((pic.width, pic.height), (1280, 5200));
    assert!(pic.colours.len() >= 8, "only {} colours: blank?", pic.colours.len());
    assert!(pic.ink > 0.01, "only {:.2}% of the picture is drawn", pic.ink * 100.0);
    // The charts were drawn, not only the tables: the promise line (vermilion), the dots
    // answered in time (blue) and the monthly median (green).
    for (what, rgb) in [
        ("promise line", [213, 94, 0]),
        ("dots in time", [0, 114, 178]),
        ("median", [0, 158, 115]),
    ] {
        assert!(pic.shows(rgb), "no {what} in the picture");
    }
    let blank = Picture::read(&ctl.png);
    assert!(
        !blank.shows([0, 114, 178]) && !blank.shows([0, 158, 115]),
        "the colour check finds chart colours in a page without charts"
    );
    if let Ok(keep) = std::env::var("SECINTAKE_KEEP_SCREENSHOT") {
        std::fs::copy(&shot.png, keep).unwrap();
    }
}

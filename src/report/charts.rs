//! The report's charts as inline SVG, drawn with plotters' SVG backend (the browser draws the
//! text with its own fonts: no font files). Each chart takes the numbers its table shows.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::series::{month_bounds, MonthOutcomes, MonthPublications, OpenCase, ResponseSeries, Standing};

/// A chart that could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("drawing the {chart} chart: {message}")]
pub struct ChartError {
    chart: &'static str,
    message: String,
}

const WIDTH: u32 = 1200;
const FONT: &str = "sans-serif";
/// plotters writes font-size = size / 1.24: 20 gives 16 px text.
const LABEL: u32 = 20;

// Okabe-Ito: colours people with colour-blindness tell apart.
const BLUE: RGBColor = RGBColor(0, 114, 178);
const ORANGE: RGBColor = RGBColor(230, 159, 0);
const VERMILION: RGBColor = RGBColor(213, 94, 0);
const GREEN: RGBColor = RGBColor(0, 158, 115);
const PURPLE: RGBColor = RGBColor(204, 121, 167);
const SKY: RGBColor = RGBColor(86, 180, 233);
const GREY: RGBColor = RGBColor(136, 136, 136);
const INK: RGBColor = RGBColor(34, 34, 34);

fn err<E: std::fmt::Display>(chart: &'static str) -> impl Fn(E) -> ChartError {
    move |e| ChartError {
        chart,
        message: e.to_string(),
    }
}

/// The SVG as an HTML element: no XML namespace (not needed inline), labelled for screen readers.
fn inline(svg: String, label: &str) -> String {
    let label = super::html::escape(label);
    svg.replacen(
        " xmlns=\"http://www.w3.org/2000/svg\"",
        &format!(" role=\"img\" aria-label=\"{label}\""),
        1,
    )
}

fn days(t: DateTime<Utc>) -> f64 {
    t.timestamp() as f64 / 86400.0
}

fn from_days(d: f64) -> DateTime<Utc> {
    DateTime::from_timestamp((d * 86400.0) as i64, 0).unwrap_or_default()
}

/// What a legend entry looks like.
enum Key {
    Line(RGBColor),
    Dashed(RGBColor),
    Dot(ShapeStyle),
    Triangle(ShapeStyle),
    Bar(RGBColor),
}

/// Width of the legend beside each chart (the plotting area keeps the rest).
const LEGEND: u32 = 290;

/// The legend, beside the chart rather than over its data.
fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    keys: &[(String, Key)],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let text = (FONT, LABEL)
        .into_font()
        .color(&INK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (i, (label, key)) in keys.iter().enumerate() {
        let y = 34 + 30 * i as i32;
        let x = 14;
        match key {
            Key::Line(c) => area.draw(&PathElement::new(vec![(x, y), (x + 28, y)], c.stroke_width(3)))?,
            Key::Dashed(c) => {
                area.draw(&PathElement::new(vec![(x, y), (x + 11, y)], c.stroke_width(3)))?;
                area.draw(&PathElement::new(vec![(x + 17, y), (x + 28, y)], c.stroke_width(3)))?;
            }
            Key::Dot(style) => area.draw(&Circle::new((x + 14, y), 6, *style))?,
            Key::Triangle(style) => area.draw(&TriangleMarker::new((x + 14, y), 8, *style))?,
            Key::Bar(c) => area.draw(&Rectangle::new([(x + 4, y - 8), (x + 24, y + 8)], c.filled()))?,
        }
        area.draw(&Text::new(label.clone(), (x + 40, y), text.clone()))?;
    }
    Ok(())
}

/// Time to answer, one dot per case, the promise as a line, and the monthly median and p90.
pub fn response(s: &ResponseSeries, tz: &Tz, title: &str) -> Result<String, ChartError> {
    let e = err("response");
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 460)).into_drawing_area();
        root.fill(&WHITE).map_err(&e)?;
        let (plot, side) = root.split_horizontally(WIDTH - LEGEND);
        let mut keys = Vec::new();
        let first = s.cases.iter().map(|c| days(c.started_at)).fold(f64::INFINITY, f64::min);
        let last = s
            .cases
            .iter()
            .map(|c| days(c.started_at))
            .fold(f64::NEG_INFINITY, f64::max);
        let (x0, x1) = if first.is_finite() {
            let pad = ((last - first) * 0.03).max(0.5);
            (first - pad, last + pad)
        } else {
            (0.0, 1.0)
        };
        // A case answered months late (or never) would flatten every other dot: the axis stops
        // at four times the promise, and what lies above is drawn on the top edge as a triangle.
        let answered = s.cases.iter().filter(|c| c.answered.is_some()).map(|c| c.took);
        let top = (answered.fold(0.0, f64::max).clamp(s.promise * 1.5, s.promise * 4.0) * 1.1).max(1.0);
        let span = x1 - x0;
        let mut chart = ChartBuilder::on(&plot)
            .margin(14)
            .x_label_area_size(56)
            .y_label_area_size(84)
            .build_cartesian_2d(x0..x1, 0f64..top)
            .map_err(&e)?;
        let date = move |d: &f64| {
            let t = from_days(*d).with_timezone(tz);
            if span > 3.0 {
                t.format("%Y-%m-%d").to_string()
            } else {
                t.format("%m-%d %H:%M").to_string()
            }
        };
        chart
            .configure_mesh()
            .x_labels(7)
            .y_labels(8)
            .x_label_formatter(&date)
            .y_label_formatter(&|v| format!("{v:.0}"))
            .x_desc(format!("case opened ({})", tz.name()))
            .y_desc(format!("{} ({})", title, s.unit.as_str()))
            .label_style((FONT, LABEL))
            .axis_desc_style((FONT, LABEL))
            .light_line_style(RGBColor(238, 238, 238))
            .bold_line_style(RGBColor(210, 210, 210))
            .draw()
            .map_err(&e)?;
        keys.push((
            format!("promise: {} {}", s.promise, s.unit.short()),
            Key::Dashed(VERMILION),
        ));
        chart
            .draw_series(DashedLineSeries::new(
                vec![(x0, s.promise), (x1, s.promise)],
                12,
                6,
                VERMILION.stroke_width(3),
            ))
            .map_err(&e)?;
        // The monthly median and p90, across each month's width.
        let month_line = |m: &str, v: f64| {
            let (a, b) = month_bounds(m, tz)?;
            let (a, b) = (days(a).max(x0), days(b).min(x1));
            (a < b).then(|| vec![(a, v), (b, v)])
        };
        let medians: Vec<_> = s
            .months
            .iter()
            .filter_map(|m| month_line(&m.month, m.median?))
            .collect();
        let p90s: Vec<_> = s.months.iter().filter_map(|m| month_line(&m.month, m.p90?)).collect();
        if !medians.is_empty() {
            keys.push(("monthly median".into(), Key::Line(GREEN)));
            chart
                .draw_series(medians.into_iter().map(|l| PathElement::new(l, GREEN.stroke_width(3))))
                .map_err(&e)?;
        }
        if !p90s.is_empty() {
            keys.push(("monthly 90th percentile".into(), Key::Line(PURPLE)));
            chart
                .draw_series(p90s.into_iter().map(|l| PathElement::new(l, PURPLE.stroke_width(3))))
                .map_err(&e)?;
        }
        let kinds: [(Standing, &str, RGBColor); 4] = [
            (Standing::Met, "answered in time", BLUE),
            (Standing::Late, "answered late", ORANGE),
            (Standing::Overdue, "unanswered, overdue", VERMILION),
            (Standing::Waiting, "unanswered, in time", GREY),
        ];
        for (kind, label, colour) in kinds {
            let pts: Vec<(f64, f64)> = s
                .cases
                .iter()
                .filter(|c| c.status == kind)
                .map(|c| (days(c.started_at), c.took))
                .collect();
            if pts.is_empty() {
                continue;
            }
            let filled = matches!(kind, Standing::Met | Standing::Late);
            let style = if filled {
                colour.filled()
            } else {
                colour.stroke_width(3)
            };
            keys.push((label.into(), Key::Dot(style)));
            let (inside, above): (Vec<_>, Vec<_>) = pts.into_iter().partition(|p| p.1 <= top);
            chart
                .draw_series(inside.into_iter().map(move |p| Circle::new(p, 6, style)))
                .map_err(&e)?;
            chart
                .draw_series(
                    above
                        .into_iter()
                        .map(move |p| TriangleMarker::new((p.0, top * 0.97), 9, style)),
                )
                .map_err(&e)?;
        }
        if s.cases.iter().any(|c| c.took > top) {
            keys.push((
                format!("above {top:.0} {} (table)", s.unit.short()),
                Key::Triangle(GREY.filled()),
            ));
        }
        legend(&side, &keys).map_err(&e)?;
        root.present().map_err(&e)?;
    }
    Ok(inline(svg, &format!("{title}: one dot per case against the promise")))
}

/// The name of bar `x` on an axis where bar `i` is centred on `i`; none between bars.
fn label_at(x: f64, names: &[String]) -> String {
    let i = x.round();
    if (x - i).abs() > 1e-6 || i < 0.0 {
        return String::new();
    }
    names.get(i as usize).cloned().unwrap_or_default()
}

type Stack<'a> = [(&'a str, RGBColor, Vec<usize>)];

/// Stacked bars per month; `marks` adds a count per month drawn as a point (e.g. CVEs).
fn stacked_months(
    chart_name: &'static str,
    months: &[String],
    stacks: &Stack,
    marks: Option<(&str, Vec<usize>)>,
    y_desc: &str,
    label: &str,
) -> Result<String, ChartError> {
    let e = err(chart_name);
    let n = months.len().max(1);
    let top = (0..months.len())
        .map(|i| stacks.iter().map(|s| s.2[i]).sum::<usize>())
        .max()
        .unwrap_or(0)
        .max(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(&e)?;
        let (plot, side) = root.split_horizontally(WIDTH - LEGEND);
        let mut keys = Vec::new();
        let mut chart = ChartBuilder::on(&plot)
            .margin(14)
            .x_label_area_size(56)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.5f64..n as f64 - 0.5, 0u32..(top + 1 + top / 8) as u32)
            .map_err(&e)?;
        let month_label = |x: &f64| label_at(*x, months);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n.min(8))
            .y_labels(top.min(10) + 2)
            .x_label_formatter(&month_label)
            .x_desc("month")
            .y_desc(y_desc)
            .label_style((FONT, LABEL))
            .axis_desc_style((FONT, LABEL))
            .light_line_style(RGBColor(238, 238, 238))
            .bold_line_style(RGBColor(210, 210, 210))
            .draw()
            .map_err(&e)?;
        // Bars at most 90 px wide.
        let segment_px = chart.plotting_area().dim_in_pixel().0 / n as u32;
        let side_margin = segment_px.saturating_sub(90).max(24) / 2;
        let mut base = vec![0usize; months.len()];
        for (name, colour, values) in stacks {
            let mut bars = Vec::new();
            for (i, v) in values.iter().enumerate() {
                if *v == 0 {
                    continue;
                }
                let x = i as f64;
                let mut bar = Rectangle::new(
                    [(x - 0.5, base[i] as u32), (x + 0.5, (base[i] + v) as u32)],
                    colour.filled(),
                );
                bar.set_margin(0, 0, side_margin, side_margin);
                bars.push(bar);
                base[i] += v;
            }
            keys.push((name.to_string(), Key::Bar(*colour)));
            chart.draw_series(bars).map_err(&e)?;
        }
        if let Some((name, counts)) = marks {
            let pts: Vec<_> = counts
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(i, c)| (i as f64, *c as u32))
                .collect();
            keys.push((name.to_string(), Key::Triangle(INK.filled())));
            chart
                .draw_series(pts.into_iter().map(|p| TriangleMarker::new(p, 9, INK.filled())))
                .map_err(&e)?;
        }
        legend(&side, &keys).map_err(&e)?;
        root.present().map_err(&e)?;
    }
    Ok(inline(svg, label))
}

/// Reports per month by how they ended.
pub fn outcomes(months: &[MonthOutcomes]) -> Result<String, ChartError> {
    let names: Vec<String> = months.iter().map(|m| m.month.clone()).collect();
    let col = |f: fn(&MonthOutcomes) -> usize| months.iter().map(f).collect::<Vec<_>>();
    let stacks = [
        ("accepted", VERMILION, col(|m| m.accepted)),
        ("invalid", SKY, col(|m| m.invalid)),
        ("duplicate", PURPLE, col(|m| m.duplicate)),
        ("still open", ORANGE, col(|m| m.open)),
        ("historical (imported)", GREY, col(|m| m.historical)),
    ];
    stacked_months(
        "outcomes",
        &names,
        &stacks,
        None,
        "reports opened",
        "Reports per month by outcome",
    )
}

/// Advisories published per month by severity, CVEs marked.
pub fn publications(months: &[MonthPublications]) -> Result<String, ChartError> {
    let names: Vec<String> = months.iter().map(|m| m.month.clone()).collect();
    let col = |f: fn(&MonthPublications) -> usize| months.iter().map(f).collect::<Vec<_>>();
    let stacks = [
        ("critical", RGBColor(120, 0, 40), col(|m| m.critical)),
        ("high", VERMILION, col(|m| m.high)),
        ("medium", ORANGE, col(|m| m.medium)),
        ("low", SKY, col(|m| m.low)),
        ("severity unknown", GREY, col(|m| m.unknown)),
    ];
    stacked_months(
        "publications",
        &names,
        &stacks,
        Some(("with a CVE", col(|m| m.cves))),
        "advisories published",
        "Advisories published per month by severity",
    )
}

/// Open cases: one bar per case as long as its age, grouped by state, overdue ones in red.
pub fn open_cases(cases: &[OpenCase]) -> Result<String, ChartError> {
    let e = err("open cases");
    let n = cases.len().max(1);
    let height = (90 + 34 * n as u32).clamp(220, 2400);
    let oldest = cases.iter().map(|c| c.age_days).fold(1.0, f64::max);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(&e)?;
        let (plot, side) = root.split_horizontally(WIDTH - LEGEND);
        let mut keys = Vec::new();
        let mut chart = ChartBuilder::on(&plot)
            .margin(14)
            .x_label_area_size(56)
            .y_label_area_size(250)
            .build_cartesian_2d(0f64..oldest * 1.5, -0.5f64..n as f64 - 0.5)
            .map_err(&e)?;
        // The first case of the list on top.
        let names: Vec<String> = cases
            .iter()
            .rev()
            .map(|c| format!("{} · {}", c.case, c.state))
            .collect();
        let case_label = |y: &f64| label_at(*y, &names);
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .x_labels(10)
            .y_label_formatter(&case_label)
            .x_label_formatter(&|v| {
                if oldest < 5.0 {
                    format!("{v:.1}")
                } else {
                    format!("{v:.0}")
                }
            })
            .x_desc("age (days since the report arrived)")
            .label_style((FONT, LABEL))
            .axis_desc_style((FONT, LABEL))
            .light_line_style(RGBColor(238, 238, 238))
            .bold_line_style(RGBColor(210, 210, 210))
            .draw()
            .map_err(&e)?;
        for (overdue, name, colour) in [(false, "on time", BLUE), (true, "something overdue", VERMILION)] {
            let bars: Vec<_> = cases
                .iter()
                .enumerate()
                .filter(|(_, c)| c.overdue.is_empty() != overdue)
                .map(|(i, c)| {
                    let row = (n - 1 - i) as f64;
                    let mut bar = Rectangle::new([(0.0, row - 0.5), (c.age_days, row + 0.5)], colour.filled());
                    bar.set_margin(6, 6, 0, 0);
                    bar
                })
                .collect();
            if bars.is_empty() {
                continue;
            }
            keys.push((name.to_string(), Key::Bar(colour)));
            chart.draw_series(bars).map_err(&e)?;
        }
        // What is overdue, written at the end of the bar.
        let notes: Vec<_> = cases
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.overdue.is_empty())
            .map(|(i, c)| {
                Text::new(
                    match c.overdue.len() {
                        1 => format!("overdue: {}", c.overdue[0]),
                        k => format!("overdue: {} and {} more", c.overdue[0], k - 1),
                    },
                    (c.age_days + oldest * 0.01, (n - 1 - i) as f64),
                    (FONT, 18)
                        .into_font()
                        .color(&INK)
                        .pos(Pos::new(HPos::Left, VPos::Center)),
                )
            })
            .collect();
        chart.draw_series(notes).map_err(&e)?;
        legend(&side, &keys).map_err(&e)?;
        root.present().map_err(&e)?;
    }
    Ok(inline(svg, "Open cases by state and age, overdue ones marked"))
}

//! The trends page (`twoears history --trends --html PAGE`): a small chart per figure over
//! the periods, its benchmark band, which way it moved last and whether that is better;
//! the periods as a table. No script: nothing runs.

use minijinja::context;
use serde::Serialize;

use super::HtmlError;
use crate::event::clock;
use crate::history::trends::{direction, Period};

const TEMPLATE: &str = include_str!("trends.html");
const STYLE: &str = concat!(include_str!("base.css"), include_str!("trends.css"));

/// The page's second line: `output::check` lets a trends page replace only its like.
pub const TRENDS_MARKER: &str = "<!-- twoears.trends/1 html -->";

#[derive(Serialize)]
pub(super) struct Chart {
    pub(super) name: &'static str,
    pub(super) last: String,
    pub(super) direction: &'static str,
    /// good when the last move went the right way, poor when the wrong way.
    pub(super) verdict: &'static str,
    pub(super) values: Vec<String>,
    pub(super) points: String,
    pub(super) dots: Vec<(f64, f64)>,
    /// The benchmark band in chart units (top, bottom), 0 at the top.
    pub(super) band: Option<(f64, f64)>,
    pub(super) benchmark: &'static str,
}

#[derive(Serialize)]
pub(super) struct Row {
    label: String,
    calls: usize,
    share: String,
    monologue: String,
    questions: String,
    alerts: String,
}

/// One figure as the page charts it: `get` reads it from a period, `max` tops the axis,
/// `band` is the good range, `lower_is_better` says which way is progress.
pub(super) struct Spec {
    pub name: &'static str,
    pub get: fn(&Period) -> Option<f64>,
    pub show: fn(f64) -> String,
    max: f64,
    band: Option<(f64, f64)>,
    pub lower_is_better: bool,
    benchmark: &'static str,
}

/// The chart of `spec` over `periods`, each at `x(i, period)` (0 to 100).
pub(super) fn chart(periods: &[Period], spec: &Spec, x: impl Fn(usize, &Period) -> f64) -> Chart {
    let Spec {
        name,
        get,
        show,
        max,
        band,
        lower_is_better,
        benchmark,
    } = *spec;
    let y = |v: f64| 40.0 - (v / max).clamp(0.0, 1.0) * 40.0;
    let dots: Vec<(f64, f64)> = periods
        .iter()
        .enumerate()
        .filter_map(|(i, p)| get(p).map(|v| (x(i, p), y(v))))
        .collect();
    let values: Vec<String> = periods
        .iter()
        .map(|p| get(p).map_or("-".into(), show))
        .collect();
    let last_two: Vec<f64> = periods.iter().filter_map(get).collect();
    let (before, now) = match last_two.as_slice() {
        [.., b, n] => (Some(*b), Some(*n)),
        [n] => (None, Some(*n)),
        [] => (None, None),
    };
    let dir = direction(before, now, max * 0.01);
    let verdict = match (dir, lower_is_better) {
        ("down", true) | ("up", false) => "good",
        ("up", true) | ("down", false) => "poor",
        _ => "",
    };
    Chart {
        name,
        last: now.map_or("-".into(), show),
        direction: match dir {
            "up" => "\u{2191} up",
            "down" => "\u{2193} down",
            "=" => "= steady",
            _ => "",
        },
        verdict,
        values,
        points: dots
            .iter()
            .map(|(x, y)| format!("{x:.2},{y:.2}"))
            .collect::<Vec<_>>()
            .join(" "),
        dots,
        band: band.map(|(lo, hi)| (y(hi), y(lo))),
        benchmark,
    }
}

/// The periods as table rows, newest first.
pub(super) fn rows(periods: &[Period]) -> Vec<Row> {
    let pct = |v: f64| format!("{:.0}%", v * 100.0);
    periods
        .iter()
        .rev()
        .map(|p| Row {
            label: p.label.clone(),
            calls: p.calls,
            share: p.rep_ratio.map_or("-".into(), pct),
            monologue: p.longest_monologue_s.map_or("-".into(), clock),
            questions: p.questions.map_or("-".into(), |q| format!("{q:.1}")),
            alerts: format!("{:.1}", p.alerts_per_call),
        })
        .collect()
}

/// The figures a trends page charts, with their benchmark bands.
pub(super) fn specs(monologue_max_s: f64) -> [Spec; 4] {
    [
        Spec {
            name: "Rep share of talk",
            get: |p| p.rep_ratio,
            show: |v| format!("{:.0}%", v * 100.0),
            max: 1.0,
            band: Some((0.0, 0.43)),
            lower_is_better: true,
            benchmark: "top performers 43%; conversion drops above 65%",
        },
        Spec {
            name: "Longest monologue",
            get: |p| p.longest_monologue_s,
            show: clock,
            max: monologue_max_s * 2.0,
            band: Some((0.0, monologue_max_s * 0.7)),
            lower_is_better: true,
            benchmark: "under the rules' limit",
        },
        Spec {
            name: "Questions asked",
            get: |p| p.questions,
            show: |q| format!("{q:.1}"),
            max: 20.0,
            band: Some((11.0, 14.0)),
            lower_is_better: false,
            benchmark: "11 to 14 in a discovery call",
        },
        Spec {
            name: "Alerts per call",
            get: |p| Some(p.alerts_per_call),
            show: |a| format!("{a:.1}"),
            max: 5.0,
            band: Some((0.0, 0.5)),
            lower_is_better: true,
            benchmark: "fewer is better",
        },
    ]
}

/// Renders the trends of `periods` (oldest first); `unit` names a period ("week").
///
/// # Errors
/// The template failed.
pub fn render_trends(
    title: &str,
    periods: &[Period],
    unit: &str,
    monologue_max_s: f64,
) -> Result<String, HtmlError> {
    let specs = specs(monologue_max_s);
    let n = periods.len().max(2) - 1;
    let charts: Vec<Chart> = specs
        .iter()
        .map(|s| chart(periods, s, |i, _| i as f64 / n as f64 * 100.0))
        .collect();
    let rows = rows(periods);
    let env = super::environment("trends.html", TEMPLATE)?;
    let page = env.get_template("trends.html")?.render(context! {
        title,
        unit,
        calls => periods.iter().map(|p| p.calls).sum::<usize>(),
        periods,
        charts,
        rows,
        version => env!("CARGO_PKG_VERSION"),
        style => minijinja::Value::from_safe_string(STYLE.into()),
    })?;
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(label: &str, share: f64) -> Period {
        Period {
            label: label.into(),
            calls: 3,
            rep_ratio: Some(share),
            longest_monologue_s: Some(60.0),
            questions: None,
            alerts_per_call: 1.0,
        }
    }

    #[test]
    fn a_falling_share_is_progress_and_missing_figures_are_dashes() {
        let p = [period("2026-W45", 0.71), period("<b>W46</b>", 0.52)];
        let page = render_trends("dana", &p, "week", 90.0).unwrap();
        assert_eq!(page.lines().nth(1), Some(TRENDS_MARKER));
        assert!(
            page.contains("52%") && page.contains("dir good"),
            "share fell"
        );
        assert!(!page.contains("<b>W46</b>"), "escaped");
        assert!(!page.contains("<script"), "no script at all");
        let q = page.split("Questions asked").nth(1).unwrap();
        assert!(
            q.contains("<p class=\"now\">-"),
            "no questions without speech-to-text"
        );
    }
}

//! The team page (`twoears team --html PAGE`): a chart per figure with a line per rep on
//! one time axis, each rep's latest figures side by side, and each rep's periods. No
//! script: nothing runs.

use std::collections::BTreeMap;

use minijinja::context;
use serde::Serialize;

use super::trends::{chart, rows, specs, Chart, Row};
use super::HtmlError;
use crate::history::trends::RepTrends;

const TEMPLATE: &str = include_str!("team.html");
const STYLE: &str = concat!(
    include_str!("base.css"),
    include_str!("trends.css"),
    include_str!("team.css")
);

/// The page's second line: `output::check` lets a team page replace only its like.
pub const TEAM_MARKER: &str = "<!-- twoears.team/1 html -->";

/// Lines drawn in this many colours, then again.
const COLOURS: usize = 6;

#[derive(Serialize)]
struct Line {
    rep: String,
    colour: usize,
    chart: Chart,
}

#[derive(Serialize)]
struct Figure {
    name: &'static str,
    benchmark: &'static str,
    band: Option<(f64, f64)>,
    lines: Vec<Line>,
}

#[derive(Serialize)]
struct Latest {
    value: String,
    direction: &'static str,
    verdict: &'static str,
}

#[derive(Serialize)]
struct RepView {
    rep: String,
    colour: usize,
    calls: usize,
    period: String,
    latest: Vec<Latest>,
    rows: Vec<Row>,
}

/// Where a period sits on the shared axis: weeks in order, or groups by their first call.
fn order(label: &str) -> (u64, String) {
    let first = label
        .strip_prefix("calls ")
        .and_then(|r| r.split('-').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    (first, label.to_string())
}

/// Renders each rep's trends side by side; `store` names the team store (no password).
///
/// # Errors
/// The template failed.
pub fn render_team(
    store: &str,
    reps: &[RepTrends],
    unit: &str,
    monologue_max_s: f64,
) -> Result<String, HtmlError> {
    let mut axis: Vec<(u64, String)> = reps
        .iter()
        .flat_map(|r| r.periods.iter().map(|p| order(&p.label)))
        .collect();
    axis.sort();
    axis.dedup();
    let at: BTreeMap<&str, usize> = axis
        .iter()
        .enumerate()
        .map(|(i, (_, l))| (l.as_str(), i))
        .collect();
    let n = axis.len().max(2) - 1;
    let x = |_: usize, p: &crate::history::trends::Period| {
        at[p.label.as_str()] as f64 / n as f64 * 100.0
    };
    let specs = specs(monologue_max_s);
    let figures: Vec<Figure> = specs
        .iter()
        .map(|spec| {
            let lines: Vec<Line> = reps
                .iter()
                .enumerate()
                .map(|(i, r)| Line {
                    rep: r.rep.clone(),
                    colour: i % COLOURS,
                    chart: chart(&r.periods, spec, x),
                })
                .collect();
            let first = lines.first().map(|l| &l.chart);
            Figure {
                name: spec.name,
                benchmark: first.map_or("", |c| c.benchmark),
                band: first.and_then(|c| c.band),
                lines,
            }
        })
        .collect();
    let views: Vec<RepView> = reps
        .iter()
        .enumerate()
        .map(|(i, r)| RepView {
            rep: r.rep.clone(),
            colour: i % COLOURS,
            calls: r.calls,
            period: r.periods.last().map_or("-".into(), |p| p.label.clone()),
            latest: figures
                .iter()
                .map(|f| {
                    let c = &f.lines[i].chart;
                    Latest {
                        value: c.last.clone(),
                        direction: c.direction,
                        verdict: c.verdict,
                    }
                })
                .collect(),
            rows: rows(&r.periods),
        })
        .collect();
    let env = super::environment("team.html", TEMPLATE)?;
    let page = env.get_template("team.html")?.render(context! {
        title => "team",
        store,
        unit,
        calls => reps.iter().map(|r| r.calls).sum::<usize>(),
        weeks => axis.len(),
        figures,
        reps => views,
        version => env!("CARGO_PKG_VERSION"),
        style => minijinja::Value::from_safe_string(STYLE.into()),
    })?;
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::trends::Period;

    fn period(label: &str, share: f64) -> Period {
        Period {
            label: label.into(),
            calls: 2,
            rep_ratio: Some(share),
            longest_monologue_s: Some(60.0),
            questions: Some(8.0),
            alerts_per_call: 1.0,
        }
    }

    #[test]
    fn reps_share_one_axis_and_each_gets_a_line() {
        let reps = [
            RepTrends {
                rep: "<i>ana</i>".into(),
                calls: 4,
                periods: vec![period("2026-W45", 0.7), period("2026-W47", 0.5)],
            },
            RepTrends {
                rep: "ben".into(),
                calls: 2,
                periods: vec![period("2026-W46", 0.6)],
            },
        ];
        let page = render_team("postgres://t@h:5432/team", &reps, "week", 90.0).unwrap();
        assert_eq!(page.lines().nth(1), Some(TEAM_MARKER));
        assert_eq!(page.matches("<polyline class=\"line c").count(), 4 * 2);
        // ben's one week sits in the middle of the three.
        assert!(page.contains("cx=\"50.0\""), "shared axis");
        assert!(!page.contains("<i>ana</i>") && !page.contains("<script"));
        assert!(page.contains("dir good"), "ana's share fell");
    }
}

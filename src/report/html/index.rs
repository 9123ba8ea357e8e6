//! The index of a folder of reviewed calls (`review CALL... --out DIR`): one row per
//! call with its figures and alerts, sortable by any column, linking to each call's page.
//! Drawn like the call page: a template with autoescaping, a script allowed by its hash.

use minijinja::context;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::view::{figures, Report};
use super::{base64, HtmlError};
use crate::detect::AlertKind;
use crate::event::clock;

const TEMPLATE: &str = include_str!("index.html");
const STYLE: &str = concat!(include_str!("base.css"), include_str!("index.css"));
const SCRIPT: &str = include_str!("index.js");

/// The index's second line: `output::check` lets an index replace an index, nothing else.
pub const INDEX_MARKER: &str = "<!-- twoears.index/1 html -->";

/// The call page's figures the index shows, by key, with their column headings.
const FIGURES: [(&str, &str); 3] = [
    ("share", "Rep share"),
    ("monologue", "Longest monologue"),
    ("questions", "Questions"),
];

/// One reviewed call as the index lists it.
#[derive(Serialize)]
pub struct IndexRow {
    name: String,
    page: String,
    date: Option<String>,
    duration: String,
    duration_s: f64,
    cells: Vec<Cell>,
    /// Alerts by kind, in `AlertKind::ALL` order.
    #[serde(skip)]
    by_kind: [u32; 6],
    alerts: Vec<u32>,
    alerts_total: usize,
    warnings: usize,
}

#[derive(Serialize)]
struct Cell {
    value: String,
    /// What the column sorts by; none when the figure does not apply (no speech-to-text,
    /// no speech).
    number: Option<f64>,
    verdict: Option<&'static str>,
}

#[derive(Deserialize)]
struct Extra {
    source: Option<Recorded>,
}

#[derive(Deserialize)]
struct Recorded {
    recorded: Option<String>,
}

impl IndexRow {
    /// The row of the call `name` whose report is `report` and whose page is at `page`
    /// (a URL relative to the index).
    ///
    /// # Errors
    /// The value is not a twoears report.
    pub fn new(name: &str, page: &str, report: &serde_json::Value) -> Result<Self, HtmlError> {
        let r = Report::read(report)?;
        let date = Extra::deserialize(report)?.source.and_then(|s| s.recorded);
        let figures = figures(&r);
        let cells = FIGURES
            .iter()
            .map(|(key, _)| match figures.iter().find(|f| f.key == *key) {
                Some(f) => Cell {
                    value: f.value.clone(),
                    number: Some(f.number),
                    verdict: Some(f.verdict),
                },
                None => Cell {
                    value: "-".into(),
                    number: None,
                    verdict: None,
                },
            })
            .collect();
        let mut by_kind = [0u32; 6];
        for a in &r.alerts {
            if let Some(i) = AlertKind::ALL.iter().position(|k| k.name() == a.kind) {
                by_kind[i] += 1;
            }
        }
        Ok(Self {
            name: name.into(),
            page: page.into(),
            date,
            duration: clock(r.duration_s),
            duration_s: r.duration_s,
            cells,
            by_kind,
            alerts: Vec::new(),
            alerts_total: r.alerts.len(),
            warnings: r.warnings.len(),
        })
    }
}

/// Renders the index of `rows` (in the order given) and of the calls that could not be
/// reviewed (`failures`: name, why). Alert kinds get a column when some call has one.
///
/// # Errors
/// The template failed.
pub fn render_index(
    title: &str,
    mut rows: Vec<IndexRow>,
    failures: &[(String, String)],
) -> Result<String, HtmlError> {
    let kinds: Vec<usize> = (0..AlertKind::ALL.len())
        .filter(|&i| rows.iter().any(|r| r.by_kind[i] > 0))
        .collect();
    for r in &mut rows {
        r.alerts = kinds.iter().map(|&i| r.by_kind[i]).collect();
    }
    let kind_names: Vec<(String, String)> = kinds
        .iter()
        .map(|&i| {
            let name = AlertKind::ALL[i].name();
            (name.to_string(), name.replace('_', " "))
        })
        .collect();
    let script_hash = base64(&Sha256::digest(SCRIPT.as_bytes()));
    let env = super::environment("index.html", TEMPLATE)?;
    let page = env.get_template("index.html")?.render(context! {
        title,
        rows,
        failures,
        figures => FIGURES,
        kinds => kind_names,
        version => env!("CARGO_PKG_VERSION"),
        script_hash,
        style => minijinja::Value::from_safe_string(STYLE.into()),
        script => minijinja::Value::from_safe_string(SCRIPT.into()),
    })?;
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(rep_s: f64, alerts: &[&str], model: Option<&str>) -> serde_json::Value {
        let alerts: Vec<_> = alerts
            .iter()
            .map(|k| serde_json::json!({"kind": k, "at_s": 1.0, "message": "m", "evidence": "e"}))
            .collect();
        serde_json::json!({
            "duration_s": 100.0, "model": model, "acts": null,
            "talk": {"rep_s": rep_s, "prospect_s": 40.0, "rep_ratio": rep_s / (rep_s + 40.0),
                     "longest_monologue_s": {"rep": 20.0, "prospect": 10.0},
                     "interactivity_per_min": 4.0, "patience_s": 0.8, "rep_questions": 7},
            "turns": [], "segments": [], "alerts": alerts,
            "rules": {"talk_ratio": {"window_s": 300.0, "max": 0.65},
                      "monologue": {"max_s": 90.0}},
            "source": {"recorded": "2026-11-02"},
            "warnings": ["w"]
        })
    }

    #[test]
    fn a_row_carries_the_figures_the_date_and_alerts_by_kind() {
        let r = report(60.0, &["pitch", "pitch", "monologue"], Some("tiny.en"));
        let row = IndexRow::new("call <1>", "call%20%3C1%3E.html", &r).unwrap();
        assert_eq!(row.date.as_deref(), Some("2026-11-02"));
        assert_eq!(row.cells[0].value, "60%");
        assert_eq!(row.cells[0].verdict, Some("fair"));
        assert_eq!(row.cells[2].number, Some(7.0));
        assert_eq!(row.alerts_total, 3);
        assert_eq!(row.by_kind[0], 2, "pitch first");
        assert_eq!(row.warnings, 1);
    }

    #[test]
    fn questions_do_not_apply_without_speech_to_text() {
        let row = IndexRow::new("a", "a.html", &report(60.0, &[], None)).unwrap();
        assert_eq!(row.cells[2].value, "-");
        assert_eq!(row.cells[2].number, None);
    }

    #[test]
    fn only_kinds_some_call_raised_get_a_column_and_names_are_escaped() {
        let rows = vec![
            IndexRow::new("<b>x</b>", "x.html", &report(60.0, &["monologue"], None)).unwrap(),
            IndexRow::new("y", "y.html", &report(30.0, &[], None)).unwrap(),
        ];
        let failed = vec![("<i>z</i>".to_string(), "no audio".to_string())];
        let page = render_index("calls", rows, &failed).unwrap();
        assert!(page.lines().nth(1) == Some(INDEX_MARKER));
        assert!(page.contains("data-key=\"monologue\"") || page.contains(">monologue<"));
        assert!(!page.contains(">pitch<"), "no call raised a pitch");
        assert!(!page.contains("<b>x</b>") && page.contains("&lt;b&gt;x&lt;&#x2f;b&gt;"));
        assert!(!page.contains("<i>z</i>"));
    }
}

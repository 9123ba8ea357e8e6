//! How the figures moved: the calls grouped by ISO week (or by every N calls), each group's
//! medians, and which way each moved from the group before.

use serde::Serialize;

use super::Call;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Period {
    /// `2026-W47`, or `calls 1-10`.
    pub label: String,
    pub calls: usize,
    /// Medians over the period's calls (null when no call had the figure).
    pub rep_ratio: Option<f64>,
    pub longest_monologue_s: Option<f64>,
    pub questions: Option<f64>,
    pub alerts_per_call: f64,
}

/// One rep's trends, for `team`.
#[derive(serde::Serialize)]
pub struct RepTrends {
    pub rep: String,
    pub calls: usize,
    pub periods: Vec<Period>,
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len().is_multiple_of(2) {
        (v[m - 1] + v[m]) / 2.0
    } else {
        v[m]
    })
}

/// ISO week of a `YYYY-MM-DD` day (`2026-W48`).
pub fn iso_week(date: &str) -> Option<String> {
    let mut parts = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (parts.next()??, parts.next()??, parts.next()??);
    // Days since 1970-01-01 (Howard Hinnant's days-from-civil).
    let yy = if m <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let weekday = (days + 3).rem_euclid(7); // Monday = 0
    let thursday = days - weekday + 3;
    let jan1 = {
        // The ISO year is the Thursday's year: count weeks from its 1 January.
        let mut ty = y + 1;
        loop {
            let yy = ty - 1;
            let era = yy.div_euclid(400);
            let yoe = yy - era * 400;
            let doe = yoe * 365 + yoe / 4 - yoe / 100 + 306;
            let start = era * 146_097 + doe - 719_468;
            if start <= thursday {
                break (ty, start);
            }
            ty -= 1;
        }
    };
    let week = (thursday - jan1.1) / 7 + 1;
    Some(format!("{}-W{week:02}", jan1.0))
}

/// The calls (any order) grouped by ISO week, or by every `per` calls, oldest first.
pub fn periods(calls: &[Call], per: Option<usize>) -> Vec<Period> {
    let mut sorted: Vec<&Call> = calls.iter().collect();
    sorted.sort_by(|a, b| (&a.date, a.stored_at).cmp(&(&b.date, b.stored_at)));
    let groups: Vec<(String, Vec<&Call>)> = match per {
        Some(n) => sorted
            .chunks(n.max(1))
            .enumerate()
            .map(|(i, c)| {
                let first = i * n.max(1) + 1;
                (format!("calls {first}-{}", first + c.len() - 1), c.to_vec())
            })
            .collect(),
        None => {
            let mut g: Vec<(String, Vec<&Call>)> = Vec::new();
            for c in sorted {
                let week = iso_week(&c.date).unwrap_or_else(|| c.date.clone());
                match g.last_mut() {
                    Some((w, list)) if *w == week => list.push(c),
                    _ => g.push((week, vec![c])),
                }
            }
            g
        }
    };
    groups
        .into_iter()
        .map(|(label, cs)| Period {
            label,
            calls: cs.len(),
            rep_ratio: median(cs.iter().filter_map(|c| c.rep_ratio).collect()),
            longest_monologue_s: median(cs.iter().map(|c| c.longest_monologue_s).collect()),
            questions: median(
                cs.iter()
                    .filter_map(|c| c.questions.map(|q| q as f64))
                    .collect(),
            ),
            alerts_per_call: cs
                .iter()
                .map(|c| c.alerts.values().sum::<u32>())
                .sum::<u32>() as f64
                / cs.len() as f64,
        })
        .collect()
}

/// Which way a figure went from `before` to `now`: `up`, `down` or `=`.
pub fn direction(before: Option<f64>, now: Option<f64>, tolerance: f64) -> &'static str {
    match (before, now) {
        (Some(b), Some(n)) if n > b + tolerance => "up",
        (Some(b), Some(n)) if n < b - tolerance => "down",
        (Some(_), Some(_)) => "=",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_weeks_match_the_calendar() {
        for (day, week) in [
            ("2026-11-28", "2026-W48"),
            ("2026-01-01", "2026-W01"),
            ("2021-01-03", "2020-W53"),
            ("2024-12-30", "2025-W01"),
            ("2023-06-15", "2023-W24"),
        ] {
            assert_eq!(iso_week(day).as_deref(), Some(week), "{day}");
        }
        assert_eq!(iso_week("nonsense"), None);
    }

    fn call(date: &str, ratio: f64, pitches: u32) -> Call {
        Call {
            key: date.into(),
            name: date.into(),
            date: date.into(),
            stored_at: 0,
            rep: None,
            duration_s: 600.0,
            rep_s: 300.0,
            prospect_s: 300.0,
            rep_ratio: Some(ratio),
            longest_monologue_s: ratio * 100.0,
            longest_story_s: 30.0,
            questions: None,
            interactivity: 4.0,
            alerts: [("pitch".to_string(), pitches)].into(),
            report: String::new(),
            share_transcripts: false,
        }
    }

    #[test]
    fn weeks_get_medians_in_order_and_a_direction() {
        let calls = [
            call("2026-11-16", 0.70, 2),
            call("2026-11-03", 0.71, 1),
            call("2026-11-05", 0.65, 1),
            call("2026-11-04", 0.80, 0),
            call("2026-11-18", 0.50, 0),
        ];
        let p = periods(&calls, None);
        assert_eq!(
            p.iter().map(|p| p.label.as_str()).collect::<Vec<_>>(),
            ["2026-W45", "2026-W47"]
        );
        assert_eq!(p[0].rep_ratio, Some(0.71));
        assert_eq!(p[1].rep_ratio, Some(0.60));
        assert_eq!(p[0].questions, None);
        assert!((p[0].alerts_per_call - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(direction(p[0].rep_ratio, p[1].rep_ratio, 0.01), "down");
        let by3 = periods(&calls, Some(3));
        assert_eq!(by3[0].label, "calls 1-3");
        assert_eq!(by3[1].calls, 2);
    }
}

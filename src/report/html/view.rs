//! What the page shows, computed from the JSON report: the figures against their
//! benchmarks, the timeline's shapes in call seconds, the rep's trailing share of talk.

use serde::{Deserialize, Serialize};

use crate::event::{clock, PerSide};
use crate::report::{MAX_CALL_S, MAX_ITEMS};

/// The parts of a report the page reads (`twoears.report/1`).
#[derive(Deserialize)]
pub(super) struct Report {
    pub(super) duration_s: f64,
    model: Option<String>,
    acts: Option<String>,
    talk: Talk,
    turns: Vec<Span>,
    segments: Vec<Line>,
    pub(super) alerts: Vec<AlertIn>,
    rules: Rules,
    #[serde(default)]
    pub(super) warnings: Vec<String>,
    /// Holds and what was set aside (reports before issue 27 have none).
    #[serde(default)]
    room: Room,
}

#[derive(Deserialize, Default)]
struct Room {
    hold: Vec<Hold>,
    set_aside: SetAside,
}

#[derive(Deserialize)]
struct Hold {
    start_s: f64,
    end_s: f64,
}

#[derive(Deserialize, Default)]
struct SetAside {
    rep_other_voices_s: f64,
    rep_sounds_s: f64,
    prospect_sounds_s: f64,
}

#[derive(Deserialize)]
struct Talk {
    rep_s: f64,
    prospect_s: f64,
    rep_ratio: f64,
    longest_monologue_s: PerSide<f64>,
    interactivity_per_min: f64,
    patience_s: f64,
    rep_questions: u32,
}

#[derive(Deserialize)]
struct Span {
    side: String,
    start_s: f64,
    end_s: f64,
}

#[derive(Deserialize)]
struct Line {
    side: String,
    start_s: f64,
    text: String,
}

#[derive(Deserialize)]
pub(super) struct AlertIn {
    pub(super) kind: String,
    at_s: f64,
    message: String,
    evidence: String,
}

#[derive(Deserialize)]
struct Rules {
    talk_ratio: TalkRatio,
    monologue: Monologue,
}

fn on() -> bool {
    true
}

#[derive(Deserialize)]
struct TalkRatio {
    #[serde(default = "on")]
    enabled: bool,
    window_s: f64,
    max: f64,
}

#[derive(Deserialize)]
struct Monologue {
    #[serde(default = "on")]
    enabled: bool,
    max_s: f64,
}

const MAX_WARNINGS: usize = 1_000;

impl Report {
    /// The report in `value` with its numbers bounded: the duration to [`MAX_CALL_S`],
    /// every time to the call, shares to 0..1, lists to [`MAX_ITEMS`]. A report may have
    /// been edited or planted, and every loop and list of the page is sized by its numbers.
    ///
    /// # Errors
    /// The value lacks what a twoears report has.
    pub(super) fn read(value: &serde_json::Value) -> Result<Self, serde_json::Error> {
        let mut r = Report::deserialize(value)?;
        let end = r.duration_s.clamp(0.0, MAX_CALL_S);
        let at = |t: f64| t.clamp(0.0, end);
        r.duration_s = end;
        r.turns.truncate(MAX_ITEMS);
        r.segments.truncate(MAX_ITEMS);
        r.alerts.truncate(MAX_ITEMS);
        r.warnings.truncate(MAX_WARNINGS);
        for t in &mut r.turns {
            (t.start_s, t.end_s) = (at(t.start_s), at(t.end_s));
        }
        for s in &mut r.segments {
            s.start_s = at(s.start_s);
        }
        for a in &mut r.alerts {
            a.at_s = at(a.at_s);
        }
        r.room.hold.truncate(MAX_ITEMS);
        for h in &mut r.room.hold {
            (h.start_s, h.end_s) = (at(h.start_s), at(h.end_s));
        }
        let a = &mut r.room.set_aside;
        (a.rep_other_voices_s, a.rep_sounds_s, a.prospect_sounds_s) = (
            at(a.rep_other_voices_s),
            at(a.rep_sounds_s),
            at(a.prospect_sounds_s),
        );
        let t = &mut r.talk;
        (t.rep_s, t.prospect_s) = (at(t.rep_s), at(t.prospect_s));
        t.rep_ratio = t.rep_ratio.clamp(0.0, 1.0);
        let longest = &mut t.longest_monologue_s;
        (longest.rep, longest.prospect) = (at(longest.rep), at(longest.prospect));
        t.patience_s = at(t.patience_s);
        // No one switches speaker more often than every tenth of a second.
        t.interactivity_per_min = t.interactivity_per_min.clamp(0.0, 600.0);
        let rules = &mut r.rules;
        rules.talk_ratio.window_s = rules.talk_ratio.window_s.clamp(1.0, MAX_CALL_S);
        rules.talk_ratio.max = rules.talk_ratio.max.clamp(0.0, 1.0);
        rules.monologue.max_s = rules.monologue.max_s.clamp(1.0, MAX_CALL_S);
        Ok(r)
    }
}

/// One figure against its benchmark: `verdict` is good, fair or poor.
#[derive(Serialize)]
pub struct Figure {
    /// Stable id: the index page's column.
    pub key: &'static str,
    name: &'static str,
    pub value: String,
    /// The value as a number, to sort by.
    pub number: f64,
    benchmark: String,
    pub verdict: &'static str,
    /// Where the value sits on its bar, 0..100, and the benchmark's band on it.
    bar: f64,
    band: (f64, f64),
    definition: &'static str,
}

#[derive(Serialize)]
pub struct Shape {
    side: String,
    start_s: f64,
    width_s: f64,
    clock: String,
    /// A rep monologue over the rules' limit.
    long: bool,
}

#[derive(Serialize)]
pub struct Marker {
    kind: String,
    /// The kind as a reader says it: "talk ratio", not "talk_ratio".
    label: String,
    at_s: f64,
    clock: String,
    message: String,
    evidence: String,
}

#[derive(Serialize)]
pub struct TranscriptLine {
    side: String,
    start_s: f64,
    clock: String,
    text: String,
}

#[derive(Serialize)]
pub struct View {
    duration_s: f64,
    duration: String,
    model: Option<String>,
    acts: Option<String>,
    figures: Vec<Figure>,
    turns: Vec<Shape>,
    overlaps: Vec<(f64, f64)>,
    /// The prospect on hold: (start, width) in call seconds, and the clock of each.
    holds: Vec<(f64, f64, String)>,
    /// What the talk figures leave out, in a sentence (none when nothing was).
    room: Option<String>,
    alerts: Vec<Marker>,
    /// SVG polyline points (call seconds, share 0..100 top down) of the rep's share of
    /// talk over the trailing window, and the alert threshold's height.
    share_curve: String,
    /// The talk-ratio alert's threshold, when that rule is on.
    share_max_y: Option<f64>,
    share_window: String,
    ticks: Vec<(f64, String)>,
    transcript: Vec<TranscriptLine>,
    warnings: Vec<String>,
}

/// Top performers talk 43% of the time; above 65% conversion drops (Gong's published
/// analyses of recorded sales calls, the benchmarks users know).
const SHARE_GOOD: f64 = 0.43;
const SHARE_POOR: f64 = 0.65;

impl View {
    /// # Errors
    /// The value lacks what a twoears report has.
    pub fn of(value: &serde_json::Value) -> Result<Self, serde_json::Error> {
        let r = Report::read(value)?;
        let duration_s = r.duration_s.max(1.0);
        let long = monologue_turns(&r);
        let turns: Vec<Shape> = r
            .turns
            .iter()
            .enumerate()
            .map(|(i, t)| Shape {
                side: t.side.clone(),
                start_s: t.start_s,
                width_s: (t.end_s - t.start_s).max(0.0),
                clock: format!("{} - {}", clock(t.start_s), clock(t.end_s)),
                long: long.contains(&i),
            })
            .collect();
        let mut transcript: Vec<TranscriptLine> = r
            .segments
            .iter()
            .map(|s| TranscriptLine {
                side: s.side.clone(),
                start_s: s.start_s,
                clock: clock(s.start_s),
                text: s.text.clone(),
            })
            .collect();
        // Segments arrive as they were transcribed; the page reads in call order.
        transcript.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
        let (share_curve, share_max_y) = share_curve(&r, duration_s);
        // At most 12 ticks, however long the call says it is.
        let tick_every = [30.0, 60.0, 120.0, 300.0, 600.0, 900.0]
            .into_iter()
            .find(|s| duration_s / s <= 12.0)
            .unwrap_or_else(|| (duration_s / 12.0 / 1800.0).ceil() * 1800.0);
        let ticks = (1..)
            .map(|i| f64::from(i) * tick_every)
            .take_while(|t| *t < duration_s)
            .map(|t| (t, clock(t)))
            .collect();
        Ok(View {
            duration_s,
            duration: clock(r.duration_s),
            model: r.model.clone(),
            acts: r.acts.clone(),
            figures: figures(&r),
            overlaps: overlaps(&r.turns),
            holds: r
                .room
                .hold
                .iter()
                .map(|h| {
                    let clock = format!("{} - {}", clock(h.start_s), clock(h.end_s));
                    (h.start_s, (h.end_s - h.start_s).max(0.0), clock)
                })
                .collect(),
            room: room_note(&r.room),
            turns,
            alerts: r
                .alerts
                .iter()
                .map(|a| Marker {
                    kind: a.kind.clone(),
                    label: a.kind.replace('_', " "),
                    at_s: a.at_s,
                    clock: clock(a.at_s),
                    message: a.message.clone(),
                    evidence: a.evidence.clone(),
                })
                .collect(),
            share_curve,
            share_max_y: r.rules.talk_ratio.enabled.then_some(share_max_y),
            share_window: clock(r.rules.talk_ratio.window_s),
            ticks,
            transcript,
            warnings: r.warnings,
        })
    }
}

fn verdict(good: bool, fair: bool) -> &'static str {
    if good {
        "good"
    } else if fair {
        "fair"
    } else {
        "poor"
    }
}

pub(super) fn figures(r: &Report) -> Vec<Figure> {
    let t = &r.talk;
    let mut out = Vec::new();
    // No speech at all: a share of nothing is no figure.
    if t.rep_s + t.prospect_s > 0.0 {
        let share = t.rep_ratio;
        out.push(Figure {
            key: "share",
            name: "Rep share of talk",
            number: share,
            value: format!("{:.0}%", share * 100.0),
            benchmark: format!(
                "top performers {:.0}%; conversion drops above {:.0}%",
                SHARE_GOOD * 100.0,
                SHARE_POOR * 100.0
            ),
            verdict: verdict(share <= SHARE_GOOD, share <= SHARE_POOR),
            bar: share * 100.0,
            band: (0.0, SHARE_GOOD * 100.0),
            definition: "The rep's speaking time over both sides' speaking time.",
        });
    }
    let limit = r.rules.monologue.max_s;
    let mono = t.longest_monologue_s.rep;
    out.push(Figure {
        key: "monologue",
        name: "Longest monologue",
        number: mono,
        value: clock(mono),
        benchmark: format!("under {} (the rules' limit)", clock(limit)),
        verdict: verdict(mono <= limit * 0.7, mono <= limit),
        bar: (mono / (limit * 2.0) * 100.0).min(100.0),
        band: (0.0, 35.0),
        definition: "The rep's longest stretch of talk without the prospect speaking.",
    });
    let story = t.longest_monologue_s.prospect;
    out.push(Figure {
        key: "story",
        name: "Longest customer story",
        number: story,
        value: clock(story),
        benchmark: "a minute or more: the prospect explaining their world".into(),
        verdict: verdict(story >= 60.0, story >= 30.0),
        bar: (story / 120.0 * 100.0).min(100.0),
        band: (50.0, 100.0),
        definition: "The prospect's longest stretch of talk without the rep speaking.",
    });
    // Questions are read from the transcript: none without speech-to-text.
    if r.model.is_some() {
        let q = f64::from(t.rep_questions);
        out.push(Figure {
            key: "questions",
            name: "Questions asked",
            number: q,
            value: t.rep_questions.to_string(),
            benchmark: "11 to 14 in a discovery call".into(),
            verdict: verdict((11.0..=14.0).contains(&q), q >= 6.0),
            bar: (q / 20.0 * 100.0).min(100.0),
            band: (55.0, 70.0),
            definition: "Questions in the rep's transcript.",
        });
    }
    // Zero: the rep never answered the prospect, so there is no pause to measure.
    let p = t.patience_s;
    if p > 0.0 {
        out.push(Figure {
            key: "patience",
            name: "Patience",
            number: p,
            value: format!("{p:.1} s"),
            benchmark: "0.6 to 1.0 s before answering".into(),
            verdict: verdict((0.6..=1.0).contains(&p), (0.3..=1.5).contains(&p)),
            bar: (p / 2.0 * 100.0).min(100.0),
            band: (30.0, 50.0),
            definition: "The rep's median pause after the prospect stops, before speaking.",
        });
    }
    let i = t.interactivity_per_min;
    out.push(Figure {
        key: "interactivity",
        name: "Interactivity",
        number: i,
        value: format!("{i:.1} / min"),
        benchmark: "4 or more switches a minute".into(),
        verdict: verdict(i >= 4.0, i >= 2.5),
        bar: (i / 10.0 * 100.0).min(100.0),
        band: (40.0, 100.0),
        definition: "How often the conversation changes speaker, per minute.",
    });
    out
}

/// The rep turns that belong to a monologue over the rules' limit: runs of rep turns with
/// no prospect speech between them, as the talk figures count a monologue.
fn monologue_turns(r: &Report) -> Vec<usize> {
    if !r.rules.monologue.enabled {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..r.turns.len()).collect();
    order.sort_by(|&a, &b| r.turns[a].start_s.total_cmp(&r.turns[b].start_s));
    let mut long = Vec::new();
    let mut run: Vec<usize> = Vec::new();
    let flush = |run: &mut Vec<usize>, long: &mut Vec<usize>| {
        if let (Some(&first), Some(&last)) = (run.first(), run.last()) {
            if r.turns[last].end_s - r.turns[first].start_s > r.rules.monologue.max_s {
                long.extend(run.iter().copied());
            }
        }
        run.clear();
    };
    for i in order {
        if r.turns[i].side == "rep" {
            run.push(i);
        } else {
            flush(&mut run, &mut long);
        }
    }
    flush(&mut run, &mut long);
    long
}

/// Where both sides spoke at once, as (start, width) in call seconds: each side's turns
/// What the talk figures leave out: time on hold, other voices near the rep's mic,
/// sounds that are not speech. Seconds under one are not worth a line.
fn room_note(room: &Room) -> Option<String> {
    let hold_s: f64 = room.hold.iter().map(|h| h.end_s - h.start_s).sum();
    let a = &room.set_aside;
    let sounds = a.rep_sounds_s + a.prospect_sounds_s;
    let mut parts = Vec::new();
    if hold_s >= 1.0 {
        parts.push(format!("{} on hold", clock(hold_s)));
    }
    if a.rep_other_voices_s >= 1.0 {
        parts.push(format!(
            "{:.0} s of other voices near the rep's mic",
            a.rep_other_voices_s
        ));
    }
    if sounds >= 1.0 {
        parts.push(format!("{sounds:.0} s of sounds that are not speech"));
    }
    (!parts.is_empty()).then(|| format!("Not counted as talk: {}.", parts.join(", ")))
}

/// merged, then the two walked side by side, so there are never more overlaps than turns.
fn overlaps(turns: &[Span]) -> Vec<(f64, f64)> {
    let spans = |side: &str| {
        let mut s: Vec<(f64, f64)> = turns
            .iter()
            .filter(|t| t.side == side && t.end_s > t.start_s)
            .map(|t| (t.start_s, t.end_s))
            .collect();
        s.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut merged: Vec<(f64, f64)> = Vec::with_capacity(s.len());
        for (from, to) in s {
            match merged.last_mut() {
                Some(last) if from <= last.1 => last.1 = last.1.max(to),
                _ => merged.push((from, to)),
            }
        }
        merged
    };
    let (rep, prospect) = (spans("rep"), spans("prospect"));
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while let (Some(a), Some(b)) = (rep.get(i), prospect.get(j)) {
        let (from, to) = (a.0.max(b.0), a.1.min(b.1));
        if to > from {
            out.push((from, to - from));
        }
        if a.1 < b.1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// The rep's share of talk over the trailing window, every few seconds, as polyline
/// points with share 100% at the top (y 0); and the threshold's y.
fn share_curve(r: &Report, duration_s: f64) -> (String, f64) {
    let window = r.rules.talk_ratio.window_s.max(1.0);
    let step = (duration_s / 400.0).max(2.0);
    let spoken = |side: &str, from: f64, to: f64| -> f64 {
        r.turns
            .iter()
            .filter(|t| t.side == side)
            .map(|t| (t.end_s.min(to) - t.start_s.max(from)).max(0.0))
            .sum()
    };
    let mut points = Vec::new();
    let mut t = step;
    while t <= duration_s + step / 2.0 {
        let at = t.min(duration_s);
        let (rep, pro) = (
            spoken("rep", at - window, at),
            spoken("prospect", at - window, at),
        );
        if rep + pro > 0.0 {
            let y = 100.0 * (1.0 - rep / (rep + pro));
            points.push(format!("{at:.1},{y:.1}"));
        }
        t += step;
    }
    (points.join(" "), 100.0 * (1.0 - r.rules.talk_ratio.max))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(turns: serde_json::Value, segments: serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "duration_s": 300.0, "model": "tiny.en", "acts": null,
            "talk": {"rep_s": 200.0, "prospect_s": 20.0, "rep_ratio": 0.909,
                     "longest_monologue_s": {"rep": 150.0, "prospect": 10.0},
                     "interactivity_per_min": 1.0, "patience_s": 0.0, "rep_questions": 2},
            "turns": turns, "segments": segments, "alerts": [],
            "rules": {"talk_ratio": {"enabled": false, "window_s": 300.0, "max": 0.65},
                      "monologue": {"max_s": 90.0}}
        })
    }

    #[test]
    fn a_monologue_split_by_pauses_is_outlined_whole() {
        let v = View::of(&report(
            serde_json::json!([
                {"side": "rep", "start_s": 0.0, "end_s": 50.0},
                {"side": "rep", "start_s": 52.0, "end_s": 100.0},
                {"side": "prospect", "start_s": 95.0, "end_s": 110.0},
                {"side": "rep", "start_s": 111.0, "end_s": 150.0}
            ]),
            serde_json::json!([]),
        ))
        .unwrap();
        let long: Vec<bool> = v.turns.iter().map(|t| t.long).collect();
        assert_eq!(long, [true, true, false, false]);
        assert_eq!(v.overlaps, [(95.0, 5.0)]);
        assert_eq!(v.share_max_y, None, "the talk-ratio rule is off");
    }

    // Hostile-input probe: a report planted in an --out folder with duration_s 1e12 drew
    // a timeline of 5.5e8 ticks (15.5 GB in 60 s); overlapping turns drew n x m overlaps.
    #[test]
    fn a_planted_report_draws_a_bounded_page() {
        let many = |side: &'static str| {
            (0..2_000).map(move |i| {
                serde_json::json!({"side": side, "start_s": -1e15 + f64::from(i), "end_s": 1e15})
            })
        };
        let turns: Vec<_> = many("rep").chain(many("prospect")).collect();
        let segments: Vec<_> = (0..(MAX_ITEMS + 10))
            .map(|_| serde_json::json!({"side": "rep", "start_s": 1e300, "text": "x"}))
            .collect();
        let mut value = report(serde_json::json!(turns), serde_json::json!(segments));
        value["duration_s"] = serde_json::json!(1e12);
        value["rules"]["talk_ratio"] =
            serde_json::json!({"enabled": true, "window_s": -5.0, "max": 7.0});
        value["alerts"] = serde_json::json!([{"kind": "pitch", "at_s": -3e9,
                                              "message": "m", "evidence": "e"}]);
        let v = View::of(&value).unwrap();
        assert_eq!(v.duration_s, MAX_CALL_S);
        assert!(v.ticks.len() <= 12, "{} ticks", v.ticks.len());
        assert!(v.ticks.iter().all(|(t, _)| *t < MAX_CALL_S));
        assert_eq!(v.overlaps, [(0.0, MAX_CALL_S)], "merged, not 2,000 x 2,000");
        assert!(v.share_curve.split(' ').count() <= 402);
        assert_eq!(v.transcript.len(), MAX_ITEMS);
        assert!(v.transcript.iter().all(|l| l.start_s == MAX_CALL_S));
        assert!(v
            .turns
            .iter()
            .all(|t| t.start_s == 0.0 && t.width_s == MAX_CALL_S));
        assert_eq!(v.alerts[0].at_s, 0.0);
        assert_eq!(v.share_max_y, Some(0.0), "a share over 1 is 1");
    }

    #[test]
    fn a_hold_is_drawn_on_the_prospects_lane_and_what_was_set_aside_is_said() {
        let mut value = report(serde_json::json!([]), serde_json::json!([]));
        assert_eq!(View::of(&value).unwrap().room, None, "an older report");
        value["room"] = serde_json::json!({
            "hold": [{"start_s": 40.0, "end_s": 70.0}, {"start_s": -1e15, "end_s": 1e15}],
            "hold_s": 1e15,
            "set_aside": {"rep_other_voices_s": 34.2, "rep_sounds_s": 0.4, "prospect_sounds_s": 0.3}
        });
        let v = View::of(&value).unwrap();
        assert_eq!(v.holds[0], (40.0, 30.0, "0:40 - 1:10".into()));
        assert_eq!(v.holds[1].1, 300.0, "bounded by the call");
        let note = v.room.unwrap();
        assert!(note.contains("on hold"), "{note}");
        assert!(note.contains("34 s of other voices"), "{note}");
        assert!(!note.contains("sounds that"), "under a second: {note}");
    }

    #[test]
    fn the_transcript_reads_in_call_order_and_absent_figures_are_left_out() {
        let v = View::of(&report(
            serde_json::json!([]),
            serde_json::json!([
                {"side": "prospect", "start_s": 9.0, "end_s": 10.0, "text": "second"},
                {"side": "rep", "start_s": 1.0, "end_s": 2.0, "text": "first"}
            ]),
        ))
        .unwrap();
        let order: Vec<&str> = v.transcript.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(order, ["first", "second"]);
        let names: Vec<&str> = v.figures.iter().map(|f| f.name).collect();
        assert!(
            !names.contains(&"Patience"),
            "no answer, no pause: {names:?}"
        );
        let share = v
            .figures
            .iter()
            .find(|f| f.name == "Rep share of talk")
            .unwrap();
        assert_eq!((share.value.as_str(), share.verdict), ("91%", "poor"));
    }
}

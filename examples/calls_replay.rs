//! Replays reviewed calls through the detector without speech-to-text: each report's turns
//! and transcript go through the detector as review feeds them (a transcript when its chunk
//! ends), and the pitch alerts are scored against the call's truth from make_calls.py. For
//! changes to the act reader or the pitch rule, judged on whole calls in seconds; talk
//! alerts do not depend on either and are not replayed.
//!   cargo run --release --example calls_replay -- TRUTH.json REPORT.json [TRUTH REPORT ...]
//! Prints one line per call and the totals; `-v` also prints every sentence's reading;
//! `--alone` reads every sentence without its context; `REPLAY_RULES=FILE` replays under a
//! rules file.

use std::sync::Arc;

use serde_json::Value;
use twoears::detect::acts::classifier::Classifier;
use twoears::detect::acts::{installed_encoder, ActReader};
use twoears::detect::{AlertKind, DetectConfig, Detector};
use twoears::event::Turn;
use twoears::event::{Available, Event, Segment, Side};

fn side(v: &Value) -> Side {
    if v["side"] == "prospect" {
        Side::Prospect
    } else {
        Side::Rep
    }
}

fn f(v: &Value, k: &str) -> f64 {
    v[k].as_f64().unwrap_or(0.0)
}

/// The pitch alerts' times when `report` is replayed.
fn replay(reader: &Arc<ActReader>, report: &Value, verbose: bool) -> Vec<f64> {
    // REPLAY_RULES: a rules file the calls are replayed under, to see what other
    // thresholds would do.
    let mut cfg = match std::env::var("REPLAY_RULES") {
        Ok(path) => {
            let text = std::fs::read_to_string(&path).expect("REPLAY_RULES readable");
            let (cfg, problems) = twoears::detect::rules::parse(&text);
            assert!(problems.is_empty(), "{path}: {problems:?}");
            cfg
        }
        Err(_) => DetectConfig::default(),
    };
    // REPLAY_MIN_CONFIDENCE: the pitch rule's threshold, to see what another would do.
    if let Some(m) = std::env::var("REPLAY_MIN_CONFIDENCE")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        cfg.pitch.min_confidence = m;
    }
    let mut det = Detector::with_reader(cfg, reader.clone());
    // (time, order, event): at one instant a turn ends before a transcript arrives.
    let mut events: Vec<(f64, u8, Event)> = Vec::new();
    for t in report["turns"].as_array().into_iter().flatten() {
        let (s, e) = (f(t, "start_s"), f(t, "end_s"));
        events.push((
            s,
            0,
            Event::TurnStarted {
                side: side(t),
                start_s: s,
            },
        ));
        events.push((
            e,
            1,
            Event::TurnEnded {
                side: side(t),
                turn: Turn {
                    start_s: s,
                    end_s: e,
                },
            },
        ));
    }
    for seg in report["segments"].as_array().into_iter().flatten() {
        let segment = Segment {
            side: side(seg),
            start_s: f(seg, "start_s"),
            end_s: f(seg, "end_s"),
            text: seg["text"].as_str().unwrap_or("").to_string(),
        };
        events.push((
            segment.end_s,
            2,
            Event::Transcript {
                segment,
                available: Available::AsSaid,
            },
        ));
    }
    let end = f(report, "duration_s");
    let mut t = 0.0;
    while t < end {
        events.push((
            t,
            3,
            Event::Frame {
                t_s: t,
                rep: false,
                prospect: false,
            },
        ));
        t += 0.016;
    }
    events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut at = Vec::new();
    for (_, _, e) in &events {
        for a in det.on_event(e) {
            if a.kind == AlertKind::Pitch {
                at.push(a.at_s);
                if std::env::var_os("REPLAY_EVIDENCE").is_some() {
                    println!("  alert {:.1}: {} | {}", a.at_s, a.message, a.evidence);
                }
            }
        }
    }
    if verbose {
        for (seg, read) in det.state.read_segments() {
            for r in read {
                println!(
                    "  {:7.1} {:8} {:15} {:.2} pitch {:.2}  {}",
                    seg.start_s,
                    if seg.side == Side::Rep {
                        "rep"
                    } else {
                        "prospect"
                    },
                    r.act.name(),
                    r.confidence,
                    r.pitch,
                    r.sentence
                );
            }
        }
    }
    at
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let verbose = args.iter().any(|a| a == "-v");
    let alone = args.iter().any(|a| a == "--alone");
    args.retain(|a| a != "-v" && a != "--alone");
    let dir = installed_encoder().expect("sentence encoder installed (twoears model install)");
    let mut classifier = Classifier::load(&dir, &[]).expect("classifier");
    if alone {
        classifier = classifier.alone();
    }
    let reader = Arc::new(ActReader::Embedded(Box::new(classifier)));
    let (mut right, mut calls, mut found, mut expected, mut false_alerts) = (0, 0, 0, 0, 0);
    let mut lenient = 0;
    for pair in args.chunks(2) {
        let read = |p: &str| -> Value {
            serde_json::from_str(&std::fs::read_to_string(p).expect("readable")).expect("json")
        };
        let (truth, report) = (read(&pair[0]), read(&pair[1]));
        let name = truth["name"].as_str().unwrap_or("?").to_string();
        if verbose {
            println!("{name}");
        }
        let mut alerts = replay(&reader, &report, verbose);
        let windows: Vec<(f64, f64)> = truth["expect_alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["kind"] == "pitch")
            .map(|a| (f(a, "from_s"), f(a, "to_s")))
            .collect();
        let mut missed = 0;
        for (lo, hi) in &windows {
            match alerts.iter().position(|t| t >= lo && t <= hi) {
                Some(i) => {
                    alerts.remove(i);
                }
                None => missed += 1,
            }
        }
        let unscored = truth["unscored"]
            .as_array()
            .is_some_and(|u| u.iter().any(|k| k == "pitch"));
        let extra = if unscored { 0 } else { alerts.len() };
        let ok = missed == 0 && extra == 0;
        // score.py forbids pitch alerts only in calls where none is expected.
        lenient += usize::from(missed == 0 && (extra == 0 || !windows.is_empty()));
        calls += 1;
        right += usize::from(ok);
        expected += windows.len();
        found += windows.len() - missed;
        false_alerts += extra;
        println!(
            "{} {name}: pitch {}/{} found, {} false{}",
            if ok { "ok  " } else { "FAIL" },
            windows.len() - missed,
            windows.len(),
            extra,
            if extra > 0 {
                format!(" at {alerts:.1?}")
            } else {
                String::new()
            }
        );
    }
    println!(
        "{right}/{calls} calls right ({lenient} as score.py counts): pitch {found}/{expected} found, {false_alerts} false"
    );
}

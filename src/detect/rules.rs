//! The rules file (`--rules FILE.toml`): switches, thresholds and extra phrases for the
//! detector. Every key is optional; a missing key keeps its default. Validation reports
//! every unknown key and bad value with its line, so `twoears rules check` can list them
//! all at once.

use std::fmt;
use std::ops::Range;

use toml_edit::{Document, Item, Table};

use super::acts::Act;
use super::language::Phrases;
use super::DetectConfig;

/// The documented default rules (the README points at the same file).
pub const DEFAULT_RULES: &str = include_str!("../../rules.example.toml");

#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Where a key's value goes in the config, and what it must be.
enum Slot {
    Bool(fn(&mut DetectConfig) -> &mut bool),
    /// Seconds: a number, at least the bound.
    Secs(f64, fn(&mut DetectConfig) -> &mut f64),
    /// A share between 0 and 1.
    Share(fn(&mut DetectConfig) -> &mut f64),
    Count(fn(&mut DetectConfig) -> &mut u32),
}

/// Every key of every rule section (the schema and the setter in one place).
fn slot(section: &str, key: &str) -> Option<Slot> {
    use Slot::*;
    Some(match (section, key) {
        ("talk_ratio", "enabled") => Bool(|c| &mut c.talk_ratio.enabled),
        ("talk_ratio", "window_s") => Secs(10.0, |c| &mut c.talk_ratio.window_s),
        ("talk_ratio", "min_elapsed_s") => Secs(0.0, |c| &mut c.talk_ratio.min_elapsed_s),
        ("talk_ratio", "max") => Share(|c| &mut c.talk_ratio.max),
        ("talk_ratio", "rearm") => Share(|c| &mut c.talk_ratio.rearm),
        ("monologue", "enabled") => Bool(|c| &mut c.monologue.enabled),
        ("monologue", "max_s") => Secs(5.0, |c| &mut c.monologue.max_s),
        ("pitch", "enabled") => Bool(|c| &mut c.pitch.enabled),
        ("pitch", "trigger_window_s") => Secs(0.0, |c| &mut c.pitch.trigger_window_s),
        ("pitch", "cooldown_s") => Secs(0.0, |c| &mut c.pitch.cooldown_s),
        ("pitch", "min_open_questions") => Count(|c| &mut c.pitch.min_open_questions),
        ("pitch", "min_prospect_share") => Share(|c| &mut c.pitch.min_prospect_share),
        ("pitch", "min_confidence") => Share(|c| &mut c.pitch.min_confidence),
        ("pitch", "sure_confidence") => Share(|c| &mut c.pitch.sure_confidence),
        ("no_questions", "enabled") => Bool(|c| &mut c.no_questions.enabled),
        ("no_questions", "window_s") => Secs(10.0, |c| &mut c.no_questions.window_s),
        ("no_questions", "min_rep_share") => Share(|c| &mut c.no_questions.min_rep_share),
        ("interruption", "enabled") => Bool(|c| &mut c.interruption.enabled),
        ("interruption", "min_prospect_s") => Secs(0.0, |c| &mut c.interruption.min_prospect_s),
        ("interruption", "min_overlap_s") => Secs(0.0, |c| &mut c.interruption.min_overlap_s),
        ("interruption", "max_overlap_s") => Secs(0.0, |c| &mut c.interruption.max_overlap_s),
        ("interruption", "cooldown_s") => Secs(0.0, |c| &mut c.interruption.cooldown_s),
        ("follow_up_missed", "enabled") => Bool(|c| &mut c.follow_up_missed.enabled),
        ("follow_up_missed", "min_words") => Count(|c| &mut c.follow_up_missed.min_words),
        ("calls", "start_window_s") => Secs(2.0, |c| &mut c.calls.start_window_s),
        ("calls", "min_speech_s") => Secs(0.0, |c| &mut c.calls.min_speech_s),
        ("calls", "end_silence_s") => Secs(5.0, |c| &mut c.calls.end_silence_s),
        ("capture", "silent_side_s") => Secs(5.0, |c| &mut c.capture.silent_side_s),
        _ => return None,
    })
}

/// The most `[examples]` sentences a rules file may hold. The act reader trains on them
/// at the first run with the file, ~35 ms each beside the built-in sentences: 100 keep
/// that to a few seconds, as the README promises.
pub const MAX_EXAMPLES: usize = 100;

const SECTIONS: &[&str] = &[
    "talk_ratio",
    "monologue",
    "pitch",
    "no_questions",
    "interruption",
    "follow_up_missed",
    "calls",
    "capture",
    "phrases",
    "examples",
];

struct Checker {
    /// Byte offsets of the text's newlines, counted once: a file of many problems must
    /// not be rescanned for each.
    newlines: Vec<usize>,
    problems: Vec<Problem>,
}

impl Checker {
    fn line(&self, span: Option<Range<usize>>) -> usize {
        span.map_or(1, |r| self.newlines.partition_point(|&n| n < r.start) + 1)
    }

    fn problem(&mut self, span: Option<Range<usize>>, message: String) {
        let line = self.line(span);
        self.problems.push(Problem { line, message });
    }

    fn bad(&mut self, name: &str, item: &Item, what: &str) {
        let shown = item.to_string();
        self.problem(
            item.span(),
            format!("{name} = {} must be {what}", shown.trim()),
        );
    }

    /// Checks `item` against its slot and stores it in `cfg`.
    fn set(&mut self, cfg: &mut DetectConfig, name: &str, item: &Item, slot: Slot) {
        let number = item
            .as_float()
            .or_else(|| item.as_integer().map(|i| i as f64));
        match slot {
            Slot::Bool(field) => match item.as_bool() {
                Some(v) => *field(cfg) = v,
                None => self.bad(name, item, "true or false"),
            },
            Slot::Secs(min, field) => match number {
                Some(v) if v.is_finite() && v >= min => *field(cfg) = v,
                _ if min > 0.0 => self.bad(
                    name,
                    item,
                    &format!("a number of seconds, at least the minimum (minimum {min})"),
                ),
                _ => self.bad(name, item, "a number of seconds, 0 or more"),
            },
            Slot::Share(field) => match number {
                Some(v) if (0.0..=1.0).contains(&v) => *field(cfg) = v,
                _ => self.bad(name, item, "a share between 0 and 1"),
            },
            Slot::Count(field) => match item.as_integer() {
                Some(v) if (0..=10_000).contains(&v) => *field(cfg) = v as u32,
                _ => self.bad(name, item, "a whole number, 0 or more"),
            },
        }
    }

    /// A list of non-empty phrases.
    fn phrases(&mut self, name: &str, item: &Item) -> Option<Vec<String>> {
        let Some(a) = item.as_array() else {
            self.bad(name, item, "a list of phrases, like [\"drives me crazy\"]");
            return None;
        };
        let list: Vec<_> = a.iter().map(|v| v.as_str().map(str::trim)).collect();
        if list
            .iter()
            .all(|p| p.is_some_and(|p| p.chars().any(char::is_alphanumeric)))
        {
            Some(list.into_iter().flatten().map(str::to_owned).collect())
        } else {
            self.bad(name, item, "a list of phrases (non-empty strings)");
            None
        }
    }
}

fn phrases_of(c: &mut Checker, lang: &str, table: &Table) -> Phrases {
    let mut p = Phrases::default();
    for (key, item) in table.iter() {
        let span = table.key(key).and_then(|k| k.span());
        let list = match key {
            "product" => &mut p.product,
            "triggers" => &mut p.triggers,
            "invitations" => &mut p.invitations,
            _ => {
                c.problem(
                    span,
                    format!(
                        "unknown key {key:?} in [phrases.{lang}]; use product, triggers or invitations"
                    ),
                );
                continue;
            }
        };
        if let Some(phrases) = c.phrases(key, item) {
            *list = phrases;
        }
    }
    p
}

/// Reads a rules file over the defaults; returns the config and every problem found.
pub fn parse(text: &str) -> (DetectConfig, Vec<Problem>) {
    let mut cfg = DetectConfig::default();
    let mut c = Checker {
        newlines: text.match_indices('\n').map(|(i, _)| i).collect(),
        problems: Vec::new(),
    };
    let doc = match Document::parse(text) {
        Ok(d) => d,
        Err(e) => {
            let msg = e.message().trim().to_string();
            c.problem(e.span(), format!("not valid TOML: {msg}"));
            return (cfg, c.problems);
        }
    };
    for (section, item) in doc.iter() {
        let span = doc.key(section).and_then(|k| k.span());
        let Some(table) = item.as_table() else {
            c.problem(
                span,
                format!(
                    "{section:?} must be a [section]; known sections: {}",
                    SECTIONS.join(", ")
                ),
            );
            continue;
        };
        if !SECTIONS.contains(&section) {
            c.problem(
                span,
                format!(
                    "unknown section [{section}]; known sections: {}",
                    SECTIONS.join(", ")
                ),
            );
            continue;
        }
        if section == "examples" {
            for (act, item) in table.iter() {
                let span = table.key(act).and_then(|k| k.span());
                match Act::from_name(act) {
                    Some(a) => {
                        if let Some(list) = c.phrases(act, item) {
                            cfg.examples.extend(list.into_iter().map(|t| (a, t)));
                        }
                    }
                    None => c.problem(
                        span,
                        format!(
                            "unknown act {act:?} in [examples]; acts: {}",
                            crate::detect::acts::ALL
                                .iter()
                                .map(|a| a.name())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ),
                }
            }
            if cfg.examples.len() > MAX_EXAMPLES {
                c.problem(
                    span,
                    format!(
                        "[examples] holds {} sentences, more than the {MAX_EXAMPLES} allowed: each \
                         adds ~35 ms to training the act reader; keep the ones that matter most",
                        cfg.examples.len()
                    ),
                );
            }
            continue;
        }
        if section == "phrases" {
            for (lang, item) in table.iter() {
                let span = table.key(lang).and_then(|k| k.span());
                match item.as_table() {
                    Some(t) => {
                        let p = phrases_of(&mut c, lang, t);
                        cfg.phrases.extend(p);
                    }
                    None => c.problem(
                        span,
                        format!("phrases go in a [phrases.<language>] section, like [phrases.en], not {lang:?}"),
                    ),
                }
            }
            continue;
        }
        for (key, item) in table.iter() {
            let kspan = table.key(key).and_then(|k| k.span());
            match slot(section, key) {
                None => c.problem(kspan, format!("unknown key {key:?} in [{section}]")),
                Some(slot) => c.set(&mut cfg, key, item, slot),
            }
        }
    }
    if cfg.talk_ratio.rearm > cfg.talk_ratio.max {
        let span = doc
            .get("talk_ratio")
            .and_then(|t| t.get("rearm").or_else(|| t.get("max")))
            .and_then(Item::span);
        c.problem(
            span,
            format!(
                "talk_ratio.rearm ({}) must not be above talk_ratio.max ({})",
                cfg.talk_ratio.rearm, cfg.talk_ratio.max
            ),
        );
    }
    let i = &cfg.interruption;
    if i.min_overlap_s > i.max_overlap_s {
        let span = doc
            .get("interruption")
            .and_then(|t| t.get("min_overlap_s").or_else(|| t.get("max_overlap_s")))
            .and_then(Item::span);
        c.problem(
            span,
            format!(
                "interruption.min_overlap_s ({}) must not be above interruption.max_overlap_s \
                 ({}), or the rule can never fire",
                i.min_overlap_s, i.max_overlap_s
            ),
        );
    }
    (cfg, c.problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_defaults_are_the_built_in_defaults() {
        let (cfg, problems) = parse(DEFAULT_RULES);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(cfg, DetectConfig::default());
    }

    #[test]
    fn values_override_the_defaults_and_phrases_extend() {
        let (cfg, problems) = parse(
            "[monologue]\nmax_s = 60\n[pitch]\nenabled = false\n\
             [phrases.en]\ntriggers = [\"drives me crazy\"]\n[phrases.de]\nproduct = [\"unsere Plattform\"]\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(cfg.monologue.max_s, 60.0);
        assert!(!cfg.pitch.enabled);
        assert_eq!(cfg.phrases.triggers, vec!["drives me crazy"]);
        assert_eq!(cfg.phrases.product, vec!["unsere Plattform"]);
        assert!(cfg
            .phrases
            .trigger("Honestly it drives me crazy.")
            .is_some());
        assert_eq!(cfg.talk_ratio, DetectConfig::default().talk_ratio);
    }

    #[test]
    fn every_unknown_key_and_bad_value_is_reported_with_its_line() {
        let text = "\
[talk_ratio]
max = 1.5
windw_s = 300

[monologue]
max_s = \"ninety\"

[pitches]
enabled = true

[phrases.en]
product = [\"\"]
colours = []
";
        let (_, problems) = parse(text);
        let got: Vec<_> = problems
            .iter()
            .map(|p| (p.line, p.message.clone()))
            .collect();
        let lines: Vec<usize> = got.iter().map(|g| g.0).collect();
        assert_eq!(lines, vec![2, 3, 6, 8, 12, 13], "{got:#?}");
        assert!(got[0]
            .1
            .contains("max = 1.5 must be a share between 0 and 1"));
        assert!(got[1].1.contains("unknown key \"windw_s\" in [talk_ratio]"));
        assert!(got[2].1.contains("number of seconds"));
        assert!(got[3].1.contains("unknown section [pitches]"));
    }

    #[test]
    fn broken_toml_and_inconsistent_values_are_problems() {
        let (_, p) = parse("[talk_ratio]\nmax = \n");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].line, 2, "{p:?}");
        assert!(p[0].message.starts_with("not valid TOML"), "{p:?}");
        let (_, p) = parse("[talk_ratio]\nmax = 0.5\nrearm = 0.6\n");
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].line, 3);
        let (_, p) = parse("[interruption]\nmin_overlap_s = 5\nmax_overlap_s = 1\n");
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].line, 2);
        assert!(p[0].message.contains("can never fire"), "{p:?}");
    }

    #[test]
    fn many_problems_are_counted_in_linear_time() {
        // 100k unknown keys took 39 s when each problem rescanned the text for its line.
        let text: String = std::iter::once("[talk_ratio]\n".to_string())
            .chain((0..100_000).map(|i| format!("k{i} = 1\n")))
            .collect();
        let started = std::time::Instant::now();
        let (_, p) = parse(&text);
        assert_eq!(p.len(), 100_000);
        assert_eq!(p[99_999].line, 100_001);
        assert!(
            started.elapsed().as_secs_f64() < 5.0,
            "{:?}",
            started.elapsed()
        );
    }
}

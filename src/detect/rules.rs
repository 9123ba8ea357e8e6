//! The rules file (`--rules FILE.toml`): switches, thresholds and extra phrases for the
//! detector. Every key is optional; a missing key keeps its default. Validation reports
//! every unknown key and bad value with its line, so `twoears rules check` can list them
//! all at once.

use std::fmt;
use std::ops::Range;

use toml_edit::{Document, Item, Table};

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

/// What a value must be.
#[derive(Clone, Copy)]
enum Want {
    Bool,
    /// Seconds: a number, at least the bound.
    Secs(f64),
    /// A share between 0 and 1.
    Share,
    Count,
    Phrases,
}

/// Every key, by section: its type and where it goes.
fn schema(section: &str, key: &str) -> Option<Want> {
    use Want::*;
    Some(match (section, key) {
        (_, "enabled") if section != "phrases" => Bool,
        ("talk_ratio", "window_s") => Secs(10.0),
        ("talk_ratio", "min_elapsed_s") => Secs(0.0),
        ("talk_ratio", "max" | "rearm") => Share,
        ("monologue", "max_s") => Secs(5.0),
        ("pitch", "trigger_window_s" | "cooldown_s") => Secs(0.0),
        ("pitch", "min_open_questions") => Count,
        ("pitch", "min_prospect_share") => Share,
        ("no_questions", "window_s") => Secs(10.0),
        ("no_questions", "min_rep_share") => Share,
        ("interruption", "min_prospect_s" | "min_overlap_s" | "max_overlap_s" | "cooldown_s") => {
            Secs(0.0)
        }
        ("follow_up_missed", "min_words") => Count,
        ("phrases", "product" | "triggers" | "invitations") => Phrases,
        _ => return None,
    })
}

const SECTIONS: &[&str] = &[
    "talk_ratio",
    "monologue",
    "pitch",
    "no_questions",
    "interruption",
    "follow_up_missed",
    "phrases",
];

enum Val {
    Bool(bool),
    Num(f64),
    List(Vec<String>),
}

struct Checker<'a> {
    text: &'a str,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn line(&self, span: Option<Range<usize>>) -> usize {
        span.map_or(1, |r| {
            self.text[..r.start.min(self.text.len())]
                .matches('\n')
                .count()
                + 1
        })
    }

    fn problem(&mut self, span: Option<Range<usize>>, message: String) {
        let line = self.line(span);
        self.problems.push(Problem { line, message });
    }

    fn value(&mut self, name: &str, item: &Item, want: Want) -> Option<Val> {
        let span = item.span();
        let number = item
            .as_float()
            .or_else(|| item.as_integer().map(|i| i as f64));
        let got = match want {
            Want::Bool => item.as_bool().map(Val::Bool).ok_or("true or false"),
            Want::Secs(min) => match number {
                Some(v) if v.is_finite() && v >= min => Ok(Val::Num(v)),
                _ if min > 0.0 => Err("a number of seconds, at least the minimum"),
                _ => Err("a number of seconds, 0 or more"),
            },
            Want::Share => match number {
                Some(v) if (0.0..=1.0).contains(&v) => Ok(Val::Num(v)),
                _ => Err("a share between 0 and 1"),
            },
            Want::Count => match item.as_integer() {
                Some(v) if (0..=10_000).contains(&v) => Ok(Val::Num(v as f64)),
                _ => Err("a whole number, 0 or more"),
            },
            Want::Phrases => match item.as_array() {
                Some(a) => {
                    let list: Vec<_> = a.iter().map(|v| v.as_str().map(str::trim)).collect();
                    if list
                        .iter()
                        .all(|p| p.is_some_and(|p| p.chars().any(char::is_alphanumeric)))
                    {
                        Ok(Val::List(
                            list.into_iter().flatten().map(str::to_owned).collect(),
                        ))
                    } else {
                        Err("a list of phrases (non-empty strings)")
                    }
                }
                None => Err("a list of phrases, like [\"drives me crazy\"]"),
            },
        };
        match got {
            Ok(v) => Some(v),
            Err(what) => {
                let min = match want {
                    Want::Secs(m) if m > 0.0 => format!(" (minimum {m})"),
                    _ => String::new(),
                };
                let shown = item.to_string();
                self.problem(
                    span,
                    format!("{name} = {} must be {what}{min}", shown.trim()),
                );
                None
            }
        }
    }
}

fn set(cfg: &mut DetectConfig, section: &str, key: &str, v: Val) {
    let num = |v: &Val| match v {
        Val::Num(n) => *n,
        _ => 0.0,
    };
    let n = num(&v);
    let b = matches!(v, Val::Bool(true));
    match (section, key) {
        ("talk_ratio", "enabled") => cfg.talk_ratio.enabled = b,
        ("talk_ratio", "window_s") => cfg.talk_ratio.window_s = n,
        ("talk_ratio", "min_elapsed_s") => cfg.talk_ratio.min_elapsed_s = n,
        ("talk_ratio", "max") => cfg.talk_ratio.max = n,
        ("talk_ratio", "rearm") => cfg.talk_ratio.rearm = n,
        ("monologue", "enabled") => cfg.monologue.enabled = b,
        ("monologue", "max_s") => cfg.monologue.max_s = n,
        ("pitch", "enabled") => cfg.pitch.enabled = b,
        ("pitch", "trigger_window_s") => cfg.pitch.trigger_window_s = n,
        ("pitch", "cooldown_s") => cfg.pitch.cooldown_s = n,
        ("pitch", "min_open_questions") => cfg.pitch.min_open_questions = n as u32,
        ("pitch", "min_prospect_share") => cfg.pitch.min_prospect_share = n,
        ("no_questions", "enabled") => cfg.no_questions.enabled = b,
        ("no_questions", "window_s") => cfg.no_questions.window_s = n,
        ("no_questions", "min_rep_share") => cfg.no_questions.min_rep_share = n,
        ("interruption", "enabled") => cfg.interruption.enabled = b,
        ("interruption", "min_prospect_s") => cfg.interruption.min_prospect_s = n,
        ("interruption", "min_overlap_s") => cfg.interruption.min_overlap_s = n,
        ("interruption", "max_overlap_s") => cfg.interruption.max_overlap_s = n,
        ("interruption", "cooldown_s") => cfg.interruption.cooldown_s = n,
        ("follow_up_missed", "enabled") => cfg.follow_up_missed.enabled = b,
        ("follow_up_missed", "min_words") => cfg.follow_up_missed.min_words = n as u32,
        _ => {}
    }
}

fn phrases_of(c: &mut Checker<'_>, lang: &str, table: &Table) -> Phrases {
    let mut p = Phrases::default();
    for (key, item) in table.iter() {
        let span = table.key(key).and_then(|k| k.span());
        match schema("phrases", key) {
            None => c.problem(
                span,
                format!(
                    "unknown key {key:?} in [phrases.{lang}]; use product, triggers or invitations"
                ),
            ),
            Some(want) => {
                if let Some(Val::List(list)) = c.value(key, item, want) {
                    match key {
                        "product" => p.product = list,
                        "triggers" => p.triggers = list,
                        _ => p.invitations = list,
                    }
                }
            }
        }
    }
    p
}

/// Reads a rules file over the defaults; returns the config and every problem found.
pub fn parse(text: &str) -> (DetectConfig, Vec<Problem>) {
    let mut cfg = DetectConfig::default();
    let mut c = Checker {
        text,
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
            match schema(section, key) {
                None => c.problem(kspan, format!("unknown key {key:?} in [{section}]")),
                Some(want) => {
                    if let Some(v) = c.value(key, item, want) {
                        set(&mut cfg, section, key, v);
                    }
                }
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
    }
}

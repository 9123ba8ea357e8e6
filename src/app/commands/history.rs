//! The history commands: `history` (the calls, or their trends), `history push` (send a
//! team store what it lacks) and `team` (each rep's trends side by side).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::app::cli::{HistoryAction, HistoryArgs, PushArgs, TeamArgs};
use crate::detect::DetectConfig;
use crate::history::trends::{direction, periods, Period, RepTrends};
use crate::history::{push, Call, Db, Store, TeamStore, TeamUrl};
use crate::output::{self, Output, OutputKind};
use crate::term::escape;

/// The calls of `db` (default: the local file), on or after `since`, of `rep`.
fn read(
    db: Option<&Db>,
    since: Option<&str>,
    rep: Option<&str>,
) -> Result<(Vec<Call>, Option<PathBuf>)> {
    match db {
        Some(Db::Team(url)) => Ok((TeamStore::connect(url)?.calls(since, rep)?, None)),
        _ => {
            let path = db
                .and_then(Db::local)
                .or_else(crate::history::default_path)
                .context("no home directory for the history; pass --db PATH")?;
            anyhow::ensure!(
                path.exists(),
                "{}: no history yet; `twoears review` and `listen` store every call there (or pass --db PATH)",
                path.display()
            );
            let calls = Store::open_to_read(&path)?.calls(since, rep)?;
            Ok((calls, Some(path)))
        }
    }
}

/// The team store `db` names.
fn team_url(db: Option<&Db>, what: &str) -> Result<TeamUrl> {
    match db {
        Some(Db::Team(url)) => Ok(url.clone()),
        _ => anyhow::bail!(
            "{what} needs a team store: pass --db postgres://USER@HOST:PORT/DB or set TWOEARS_DB"
        ),
    }
}

/// `twoears history`.
///
/// # Errors
/// The history cannot be read, or the page written.
pub(super) fn history(args: HistoryArgs) -> Result<()> {
    let db = crate::app::cli::db(args.db.as_deref()).map_err(anyhow::Error::msg)?;
    if let Some(HistoryAction::Push(p)) = &args.action {
        // `history --db URL push` and `history push --db URL` alike.
        let own = crate::app::cli::db(p.db.as_deref()).map_err(anyhow::Error::msg)?;
        return push_all(p, own.as_ref().or(db.as_ref()));
    }
    let (calls, path) = read(db.as_ref(), args.since.as_deref(), args.rep.as_deref())?;
    let mut out = std::io::stdout().lock();
    if args.trends {
        let periods = periods(&calls, args.per.map(usize::from));
        if let Some(page) = &args.html {
            let inputs: Vec<&std::path::Path> = path.as_deref().into_iter().collect();
            output::check(
                &[Output {
                    path: page,
                    what: OutputKind::Trends,
                }],
                &inputs,
                &[OutputKind::Trends],
                false,
            )?;
            let title = match &args.rep {
                Some(rep) => format!("{rep}: trends"),
                None => "trends".into(),
            };
            let unit = if args.per.is_some() { "group" } else { "week" };
            let max = DetectConfig::default().monologue.max_s;
            let html = crate::report::html::render_trends(&title, &periods, unit, max)?;
            write_page(page, &html)?;
        }
        if args.json {
            serde_json::to_writer_pretty(&mut out, &periods)?;
            writeln!(out)?;
            return Ok(());
        }
        return write_periods(&mut out, &periods);
    }
    if args.json {
        serde_json::to_writer_pretty(&mut out, &calls)?;
        writeln!(out)?;
        return Ok(());
    }
    if calls.is_empty() {
        let place = match (&path, &db) {
            (Some(p), _) => p.display().to_string(),
            (None, Some(Db::Team(url))) => url.label(),
            _ => "the history".into(),
        };
        // A filter that picks nothing is not an empty history.
        let filter: Vec<String> = [("--since", &args.since), ("--rep", &args.rep)]
            .into_iter()
            .filter_map(|(flag, v)| v.as_ref().map(|v| format!("{flag} {v}")))
            .collect();
        let stored = if filter.is_empty() {
            0
        } else {
            read(db.as_ref(), None, None)?.0.len()
        };
        if stored == 0 {
            writeln!(out, "no calls stored yet in {place}")?;
        } else {
            writeln!(
                out,
                "no calls match {} in {place}; {stored} call{} stored",
                filter.join(" "),
                if stored == 1 { "" } else { "s" }
            )?;
        }
        return Ok(());
    }
    for c in &calls {
        let alerts: Vec<String> = c.alerts.iter().map(|(k, n)| format!("{k} {n}")).collect();
        writeln!(
            out,
            "{}  {:<24} {:>6}  rep {:>4}  monologue {:>5}  questions {:>3}  {}",
            c.date,
            escape(&c.name),
            crate::event::clock(c.duration_s),
            pct(c.rep_ratio),
            crate::event::clock(c.longest_monologue_s),
            c.questions.map_or("-".into(), |q| q.to_string()),
            if alerts.is_empty() {
                "no alerts".to_string()
            } else {
                alerts.join(", ")
            }
        )?;
    }
    Ok(())
}

/// `twoears history push`.
fn push_all(args: &PushArgs, db: Option<&Db>) -> Result<()> {
    let url = team_url(db, "history push")?;
    let local = crate::history::default_path().context("no home directory for the history")?;
    anyhow::ensure!(
        local.exists(),
        "{}: no history on this machine yet; nothing to push",
        local.display()
    );
    let store = Store::open(&local)?;
    let mut team = TeamStore::connect(&url)?;
    if args.all {
        store.queue_all(&team.label)?;
    }
    let rep = args
        .rep_name
        .clone()
        .unwrap_or_else(crate::history::address::login_name);
    let pushed = push::push(&store, &mut team, &rep, args.share_transcripts)?;
    for (_, r) in &pushed.refused {
        eprintln!("twoears: warning: the team store refused {r}; it stays queued on this machine");
    }
    if pushed.sent == 0 {
        println!(
            "nothing to send: {} has every call queued for it (--all sends every call of this machine)",
            team.label
        );
    } else {
        println!(
            "{} call{} sent to {}",
            pushed.sent,
            if pushed.sent == 1 { "" } else { "s" },
            team.label
        );
    }
    Ok(())
}

/// `twoears team`.
///
/// # Errors
/// The store cannot be read, or the page written.
pub(super) fn team(args: TeamArgs) -> Result<()> {
    let db = crate::app::cli::db(args.db.as_deref()).map_err(anyhow::Error::msg)?;
    let url = team_url(db.as_ref(), "team")?;
    let mut store = TeamStore::connect(&url)?;
    let calls = store.calls(args.since.as_deref(), None)?;
    let mut by_rep: BTreeMap<String, Vec<Call>> = BTreeMap::new();
    for c in calls
        .into_iter()
        .filter(|c| args.rep.is_empty() || c.rep.as_ref().is_some_and(|r| args.rep.contains(r)))
    {
        by_rep
            .entry(c.rep.clone().unwrap_or_default())
            .or_default()
            .push(c);
    }
    let per = args.per.map(usize::from);
    let reps: Vec<RepTrends> = by_rep
        .into_iter()
        .map(|(rep, calls)| RepTrends {
            calls: calls.len(),
            periods: periods(&calls, per),
            rep,
        })
        .collect();
    if let Some(page) = &args.html {
        output::check(
            &[Output {
                path: page,
                what: OutputKind::Team,
            }],
            &[],
            &[OutputKind::Team],
            false,
        )?;
        let unit = if per.is_some() { "group" } else { "week" };
        let max = DetectConfig::default().monologue.max_s;
        let html = crate::report::html::render_team(&store.label, &reps, unit, max)?;
        write_page(page, &html)?;
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &reps)?;
        writeln!(out)?;
        return Ok(());
    }
    if reps.is_empty() {
        writeln!(out, "no calls stored yet in {}", store.label)?;
        return Ok(());
    }
    // Side by side: each rep's latest period, and which way it moved.
    writeln!(
        out,
        "{:<16} {:>5}  {:<12} {:>12}  {:>17}  {:>10}  {:>11}",
        "rep", "calls", "latest", "rep share", "longest monologue", "questions", "alerts/call"
    )?;
    for r in &reps {
        let (before, last) = match r.periods.as_slice() {
            [.., b, l] => (Some(b), l),
            [l] => (None, l),
            [] => continue,
        };
        writeln!(
            out,
            "{:<16} {:>5}  {:<12} {}",
            escape(&r.rep),
            r.calls,
            last.label,
            figures(before, last)
        )?;
    }
    for r in &reps {
        writeln!(
            out,
            "\n{} ({} call{})",
            escape(&r.rep),
            r.calls,
            if r.calls == 1 { "" } else { "s" }
        )?;
        write_periods(&mut out, &r.periods)?;
    }
    Ok(())
}

fn write_page(page: &std::path::Path, html: &str) -> Result<()> {
    crate::report::html::write(page, html).with_context(|| {
        format!(
            "{}: cannot write the page; check the folder is writable",
            page.display()
        )
    })
}

fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |r| format!("{:.0}%", r * 100.0))
}

/// A period's figures, each with the arrow of its move from `before`.
fn figures(before: Option<&Period>, p: &Period) -> String {
    let arrow =
        |f: fn(&Period) -> Option<f64>, tol: f64| match direction(before.and_then(f), f(p), tol) {
            "up" => " \u{2191}",
            "down" => " \u{2193}",
            "=" => " =",
            _ => "",
        };
    format!(
        "{:>12}  {:>17}  {:>10}  {:>11}",
        format!("{}{}", pct(p.rep_ratio), arrow(|p| p.rep_ratio, 0.01)),
        format!(
            "{}{}",
            p.longest_monologue_s
                .map_or("-".into(), crate::event::clock),
            arrow(|p| p.longest_monologue_s, 1.0)
        ),
        format!(
            "{}{}",
            p.questions.map_or("-".into(), |q| format!("{q:.1}")),
            arrow(|p| p.questions, 0.5)
        ),
        format!("{:.1}", p.alerts_per_call),
    )
}

/// The periods as a table, oldest first.
fn write_periods(out: &mut impl Write, periods: &[Period]) -> Result<()> {
    writeln!(
        out,
        "{:<12} {:>5}  {:>12}  {:>17}  {:>10}  {:>11}",
        "period", "calls", "rep share", "longest monologue", "questions", "alerts/call"
    )?;
    let mut before = None;
    for p in periods {
        writeln!(
            out,
            "{:<12} {:>5}  {}",
            p.label,
            p.calls,
            figures(before, p)
        )?;
        before = Some(p);
    }
    Ok(())
}

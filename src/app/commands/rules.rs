//! `twoears rules default|check|explain`.

use anyhow::{Context, Result};

use super::config::{read_text, RULES_MAX_BYTES};
use crate::app::cli::RulesCommand;
use crate::detect::rules as rules_file;
use crate::term;

pub(super) fn rules(cmd: RulesCommand) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match cmd {
        RulesCommand::Default => out.write_all(rules_file::DEFAULT_RULES.as_bytes())?,
        RulesCommand::Check { file, json } => {
            let text = read_text(&file, "the rules file", RULES_MAX_BYTES)?;
            let (_, problems) = rules_file::parse(&text);
            if json {
                let listed: Vec<_> = problems
                    .iter()
                    .map(|p| serde_json::json!({ "line": p.line, "message": p.message }))
                    .collect();
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({
                        "file": file.to_string_lossy(),
                        "ok": problems.is_empty(),
                        "problems": listed,
                    })
                )?;
                if !problems.is_empty() {
                    anyhow::bail!("{}: {} problem(s)", file.display(), problems.len());
                }
            } else if problems.is_empty() {
                writeln!(out, "{}: ok", term::path(&file))?;
            } else {
                for p in &problems {
                    let message = term::escape(&p.message);
                    eprintln!("{}:{}: {message}", term::path(&file), p.line);
                }
                anyhow::bail!("{}: {} problem(s)", file.display(), problems.len());
            }
        }
        RulesCommand::Explain { report, acts } => {
            let text = read_text(&report, "the report", crate::report::MAX_BYTES)?;
            let value: serde_json::Value = serde_json::from_str(&text).with_context(|| {
                format!(
                    "{}: not a twoears JSON report; make one with `twoears review CALL --json PATH`",
                    report.display()
                )
            })?;
            crate::report::explain::write(&value, &mut out)?;
            if acts {
                crate::report::explain::write_acts(&value, &mut out)?;
            }
        }
    }
    Ok(())
}

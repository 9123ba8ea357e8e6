//! `twoears devices`: what can be captured.

use anyhow::Result;

use crate::app::cli::DevicesArgs;
use crate::term;

pub(super) fn devices(args: &DevicesArgs) -> Result<()> {
    let host = crate::capture::devices::open_host()?;
    let all = crate::capture::devices::list(&host)?;
    let mut out = std::io::stdout().lock();
    use std::io::Write;
    if args.json {
        let listed: Vec<_> = all
            .iter()
            .filter(|i| i.capture)
            .map(|i| {
                serde_json::json!({
                    "name": i.name,
                    "description": i.description,
                    "kind": if i.monitor { "system" } else { "mic" },
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::Value::Array(listed))?;
        return Ok(());
    }
    for (heading, pick) in [
        ("Microphones (--mic)", (true, false)),
        ("System audio: monitors of outputs (--system)", (true, true)),
    ] {
        writeln!(out, "{heading}")?;
        for info in all.iter().filter(|i| (i.capture, i.monitor) == pick) {
            let (name, description) = (term::escape(&info.name), term::escape(&info.description));
            writeln!(out, "  {name:<48} {description}")?;
        }
    }
    Ok(())
}

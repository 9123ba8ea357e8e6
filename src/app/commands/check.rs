//! `twoears check`: a few seconds of each device, to see they hear.

use std::io::IsTerminal;

use anyhow::{Context, Result};

use crate::app::cli::CheckArgs;

pub(super) fn check(args: CheckArgs) -> Result<()> {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, std::sync::atomic::Ordering::Relaxed))
            .context("cannot install the Ctrl-C handler")?;
    }
    let tty = std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    let mut last = None::<std::time::Instant>;
    let mut tick = |meters: &crate::live::status::Meters| {
        if tty && last.is_none_or(|t| t.elapsed().as_millis() >= 100) {
            last = Some(std::time::Instant::now());
            eprint!(
                "\r\x1b[2Kchecking {:.0} s  {}  (speak now)",
                (args.seconds - started.elapsed().as_secs_f64()).max(0.0),
                meters.show()
            );
        }
    };
    let found = crate::live::check::check(
        args.mic.as_deref(),
        args.system.as_deref(),
        args.seconds,
        &stop,
        &mut tick,
    )?;
    if tty {
        eprint!("\r\x1b[2K");
    }
    let mut missing = false;
    for f in found {
        println!(
            "{}",
            crate::live::check::line(f.side, &f.device, &f.heard, crate::live::check::Look::Check)
        );
        for n in f.notes {
            println!("            {n}");
        }
        missing |= matches!(f.heard, crate::live::check::Heard::NoDevice(_));
    }
    if missing {
        anyhow::bail!("a device is missing (above); `twoears devices` lists what there is");
    }
    Ok(())
}

//! `twoears check`: a few seconds of each device, to see they hear.

use std::io::IsTerminal;

use anyhow::Result;

use super::config::stop_on_ctrl_c;
use crate::app::cli::CheckArgs;

pub(super) fn check(args: CheckArgs) -> Result<()> {
    let stop = stop_on_ctrl_c()?;
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
    use crate::live::check::{line, Heard, Look};
    let missing = found.iter().any(|f| matches!(f.heard, Heard::NoDevice(_)));
    if args.json {
        let listed: Vec<_> = found
            .iter()
            .map(|f| {
                let heard = match f.heard {
                    Heard::Speech => "speech",
                    Heard::SoundWithoutSpeech => "sound_without_speech",
                    Heard::DigitalSilence => "digital_silence",
                    Heard::NoDevice(_) => "no_device",
                    Heard::NotHeard => "not_heard",
                };
                serde_json::json!({
                    "side": f.side,
                    "device": f.device,
                    "heard": heard,
                    "says": line(f.side, &f.device, &f.heard, Look::Check).trim(),
                    "notes": f.notes,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(listed));
    } else {
        for f in found {
            println!("{}", line(f.side, &f.device, &f.heard, Look::Check));
            for n in f.notes {
                println!("            {n}");
            }
        }
    }
    if missing {
        anyhow::bail!("a device is missing (above); `twoears devices` lists what there is");
    }
    Ok(())
}

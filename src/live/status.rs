//! What the rep sees: alerts as highlighted lines on stderr (with a bell, or a desktop
//! notification with `--notify`), and on a terminal a status line redrawn a few times a
//! second underneath them.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use crate::detect::Alert;
use crate::event::{clock, PerSide, Side};

use super::events::Running;

const REDRAW: Duration = Duration::from_millis(250);

pub struct Status {
    tty: bool,
    notify: bool,
    quiet: bool,
    last_draw: Option<Instant>,
    alerts: usize,
    notify_failed: bool,
}

impl Status {
    pub fn new(notify: bool, quiet: bool) -> Self {
        Self {
            tty: std::io::stderr().is_terminal(),
            notify,
            quiet,
            last_draw: None,
            alerts: 0,
            notify_failed: false,
        }
    }

    fn clear_line(&self, err: &mut impl Write) {
        if self.tty {
            let _ = write!(err, "\r\x1b[2K");
        }
    }

    /// Prints a line above the status line (warnings, device changes).
    pub fn note(&mut self, text: &str) {
        let mut err = std::io::stderr().lock();
        self.clear_line(&mut err);
        let _ = writeln!(err, "twoears: {text}");
        self.last_draw = None;
    }

    /// A capture problem: a line above the status, and a desktop notification with
    /// `--notify` (a rep with twoears in the background may not see the terminal).
    pub fn warn(&mut self, text: &str) {
        self.note(&format!("warning: {text}"));
        if self.notify {
            self.desktop("twoears: capture", text);
        }
    }

    pub fn alert(&mut self, alert: &Alert) {
        self.alerts += 1;
        if self.quiet {
            return;
        }
        let mut err = std::io::stderr().lock();
        self.clear_line(&mut err);
        let head = format!("{} {}", clock(alert.at_s), alert.kind.name().to_uppercase());
        if self.tty {
            // Bold yellow, and the bell unless a desktop notification takes its place.
            let bell = if self.notify { "" } else { "\x07" };
            let _ = writeln!(err, "{bell}\x1b[1;33m{head}\x1b[0m  {}", alert.message);
        } else {
            let _ = writeln!(err, "{head}  {}", alert.message);
        }
        if !alert.evidence.is_empty() {
            let _ = writeln!(err, "    {}", alert.evidence);
        }
        self.last_draw = None;
        drop(err);
        if self.notify {
            let title = format!("twoears: {}", alert.kind.name().replace('_', " "));
            self.desktop(&title, &alert.message);
        }
    }

    fn desktop(&mut self, title: &str, body: &str) {
        // notify-send talks to whatever notification daemon the desktop runs; it is
        // spawned, not waited for, so a slow daemon never holds up the call.
        let spawned = std::process::Command::new("notify-send")
            .args([
                "--app-name=twoears",
                "--urgency=normal",
                "--expire-time=8000",
            ])
            .arg(title)
            .arg(body)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        match spawned {
            Ok(mut child) => {
                std::thread::spawn(move || child.wait());
            }
            Err(e) if !self.notify_failed => {
                self.notify_failed = true;
                self.note(&format!(
                    "warning: cannot show desktop notifications ({e}); install notify-send \
                     (libnotify-bin); alerts still print here"
                ));
            }
            Err(_) => {}
        }
    }

    /// A redraw is wanted: on a terminal, `REDRAW` after the last.
    pub fn due(&self) -> bool {
        self.tty && !self.quiet && self.last_draw.is_none_or(|t| t.elapsed() >= REDRAW)
    }

    /// Between calls (`--background`): the levels and how many calls so far.
    pub fn idle(&mut self, levels: &Meters, calls: usize) {
        if !self.due() {
            return;
        }
        self.last_draw = Some(Instant::now());
        let mut err = std::io::stderr().lock();
        self.clear_line(&mut err);
        let _ = write!(
            err,
            "\u{25cb} waiting for a call  {}  calls so far: {calls}",
            levels.show()
        );
        let _ = err.flush();
    }

    /// Redraws the status line, at most every `REDRAW`.
    pub fn draw(&mut self, r: &Running, levels: &Meters) {
        if !self.due() {
            return;
        }
        self.last_draw = Some(Instant::now());
        let speaking = match r.speaking {
            Some("rep") => format!("you {}", clock(r.rep_turn_s)),
            Some(who) => who.to_string(),
            None => "-".into(),
        };
        let mut err = std::io::stderr().lock();
        self.clear_line(&mut err);
        let _ = write!(
            err,
            "\u{25cf} {}  {}  speaking: {speaking:<10}  your share (5 min): {:>3.0}%  alerts: {}",
            clock(r.at_s),
            levels.show(),
            r.rep_ratio_5min * 100.0,
            self.alerts
        );
        if r.dropped_frames > 0 || r.stt_dropped_chunks > 0 {
            let _ = write!(
                err,
                "  lost: {} frames, {} chunks",
                r.dropped_frames, r.stt_dropped_chunks
            );
        }
        let _ = err.flush();
    }

    /// Leaves the terminal clean for the summary.
    pub fn finish(&mut self) {
        if self.tty && !self.quiet {
            let mut err = std::io::stderr().lock();
            self.clear_line(&mut err);
            let _ = err.flush();
        }
    }
}

/// A level meter per side for the status line: each block's RMS, held and falling back
/// slowly, as a glance tells "the mic hears me" from "the mic is dead".
pub struct Meters {
    db: PerSide<f32>,
}

impl Default for Meters {
    fn default() -> Self {
        Self {
            db: PerSide::new(FLOOR_DB, FLOOR_DB),
        }
    }
}

/// The meter's floor: digital silence and a muted mic read as nothing.
const FLOOR_DB: f32 = -70.0;

impl Meters {
    pub fn push(&mut self, rep: &[f32], prospect: &[f32]) {
        for (side, x) in [(Side::Rep, rep), (Side::Prospect, prospect)] {
            if x.is_empty() {
                continue;
            }
            let rms = (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt();
            let db = (20.0 * rms.max(1e-9).log10()).max(FLOOR_DB);
            // Falls about 12 dB a second at 200 blocks a second.
            let held = (self.db[side] - 0.06).max(FLOOR_DB);
            self.db[side] = db.max(held);
        }
    }

    /// `mic ▅ system ▂`: eight steps from -70 dBFS to 0.
    pub fn show(&self) -> String {
        const STEPS: [char; 9] = [
            ' ', '\u{2581}', '\u{2582}', '\u{2583}', '\u{2584}', '\u{2585}', '\u{2586}',
            '\u{2587}', '\u{2588}',
        ];
        let bar = |db: f32| {
            let i = ((db - FLOOR_DB) / -FLOOR_DB * 8.0).round().clamp(0.0, 8.0) as usize;
            STEPS[i]
        };
        format!(
            "mic [{}] system [{}]",
            bar(self.db.rep),
            bar(self.db.prospect)
        )
    }
}

//! What the rep sees: alerts as highlighted lines on stderr (with a bell, or a desktop
//! notification with `--notify`), and on a terminal a status line redrawn a few times a
//! second underneath them.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Sender};

use crate::detect::Alert;
use crate::event::{clock, PerSide, Side};
use crate::term::escape;

use super::events::Running;
use super::writer::Offload;

const REDRAW: Duration = Duration::from_millis(250);

/// What the terminal's writer is asked to do.
enum Ui {
    /// Lines printed above the status line.
    Lines(Vec<String>),
    Desktop {
        title: String,
        body: String,
    },
    /// The status line, redrawn in place.
    Line(String),
    /// Clears the status line.
    Clear,
    /// Answers once everything before it is written.
    Sync(Sender<()>),
}

/// The writer's side: the terminal, and whether notifications work.
struct Terminal {
    tty: bool,
    notify_failed: bool,
}

impl Terminal {
    fn clear_line(&self, err: &mut impl Write) {
        if self.tty {
            let _ = write!(err, "\r\x1b[2K");
        }
    }

    fn show(&mut self, ui: Ui) {
        let mut err = std::io::stderr().lock();
        match ui {
            Ui::Lines(lines) => {
                self.clear_line(&mut err);
                for l in lines {
                    let _ = writeln!(err, "{l}");
                }
            }
            Ui::Line(line) => {
                self.clear_line(&mut err);
                let _ = write!(err, "{line}");
                let _ = err.flush();
            }
            Ui::Clear => {
                self.clear_line(&mut err);
                let _ = err.flush();
            }
            Ui::Desktop { title, body } => {
                drop(err);
                self.desktop(&title, &body);
            }
            Ui::Sync(done) => {
                let _ = err.flush();
                let _ = done.send(());
            }
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
                self.show(Ui::Lines(vec![format!(
                    "twoears: warning: cannot show desktop notifications ({e}); install \
                     notify-send (libnotify-bin); alerts still print here"
                )]));
            }
            Err(_) => {}
        }
    }
}

/// What a warning is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum About {
    /// A device or a side's audio.
    Capture,
    SpeechToText,
    /// A report, recording, event log or history record.
    Files,
}

impl About {
    fn name(self) -> &'static str {
        match self {
            About::Capture => "capture",
            About::SpeechToText => "speech-to-text",
            About::Files => "files",
        }
    }
}

/// The status line and alerts as the stage thread sees them: it decides what to show and
/// when; a writer thread does the writing, so a terminal paused with Ctrl-S or a slow
/// notification daemon never holds up the audio.
/// The status line (and the desktop, with `--notify`) is one of a live call's outputs.
impl crate::output::sink::CallSink for Status {
    fn alert(&mut self, alert: &Alert) {
        Status::alert(self, alert);
    }
}

pub struct Status {
    tty: bool,
    notify: bool,
    quiet: bool,
    last_draw: Option<Instant>,
    alerts: usize,
    out: Offload<Ui>,
    /// Lines the writer had no room for yet (a paused terminal), in order.
    pending: std::collections::VecDeque<Ui>,
    /// Lines dropped from `pending` since the terminal last took one.
    lost: usize,
}

/// Lines kept for a paused terminal.
const PENDING_MAX: usize = 1000;

impl Status {
    pub fn new(notify: bool, quiet: bool) -> Self {
        let tty = std::io::stderr().is_terminal();
        let mut term = Terminal {
            tty,
            notify_failed: false,
        };
        Self {
            tty,
            notify,
            quiet,
            last_draw: None,
            alerts: 0,
            out: Offload::spawn("status", 256, move |ui| term.show(ui)),
            pending: std::collections::VecDeque::new(),
            lost: 0,
        }
    }

    /// A status line may be dropped when the terminal is that far behind; lines above it
    /// wait here for room (never blocking the stage thread) rather than be lost, up to
    /// [`PENDING_MAX`]: a terminal paused for hours (the event log and the report keep
    /// everything) then loses its oldest, and is told how many.
    fn lines(&mut self, lines: Vec<String>) {
        self.pending.push_back(Ui::Lines(lines));
        self.flush_pending();
        while self.pending.len() > PENDING_MAX {
            if let Some(Ui::Lines(dropped)) = self.pending.pop_front() {
                self.lost += dropped.len();
            }
        }
        self.last_draw = None;
    }

    /// Says how many lines a paused terminal lost, before the ones kept for it.
    fn lost_line(&self) -> Option<Ui> {
        (self.lost > 0).then(|| {
            Ui::Lines(vec![format!(
                "twoears: {} earlier lines were not shown (the terminal was paused); the \
                 event log and the report have them",
                self.lost
            )])
        })
    }

    fn flush_pending(&mut self) {
        if let Some(said) = self.lost_line() {
            if self.out.send(said).is_err() {
                return;
            }
            self.lost = 0;
        }
        while let Some(ui) = self.pending.pop_front() {
            if let Err(ui) = self.out.send(ui) {
                self.pending.push_front(ui);
                break;
            }
        }
    }

    /// Prints a line above the status line (warnings, device changes). Device names come
    /// from the sound server (a Bluetooth headset names itself): escaped.
    pub fn note(&mut self, text: &str) {
        self.lines(vec![format!("twoears: {}", escape(text))]);
    }

    /// A problem: a line above the status, and a desktop notification with `--notify` (a
    /// rep with twoears in the background may not see the terminal), titled by what it is
    /// about.
    pub fn warn(&mut self, about: About, text: &str) {
        self.note(&format!("warning: {text}"));
        if self.notify {
            let _ = self.out.send(Ui::Desktop {
                title: format!("twoears: {}", about.name()),
                body: text.into(),
            });
        }
    }

    pub fn alert(&mut self, alert: &Alert) {
        self.alerts += 1;
        if self.quiet {
            return;
        }
        let head = format!("{} {}", clock(alert.at_s), alert.kind.name().to_uppercase());
        let mut lines = vec![if self.tty {
            // Bold yellow (unless NO_COLOR), and the bell unless a desktop notification
            // takes its place.
            let bell = if self.notify { "" } else { "\x07" };
            if crate::term::colour_allowed(std::env::var_os("NO_COLOR").as_deref()) {
                format!("{bell}\x1b[1;33m{head}\x1b[0m  {}", escape(&alert.message))
            } else {
                format!("{bell}{head}  {}", escape(&alert.message))
            }
        } else {
            format!("{head}  {}", escape(&alert.message))
        }];
        if !alert.evidence.is_empty() {
            lines.push(format!("    {}", escape(&alert.evidence)));
        }
        self.lines(lines);
        if self.notify {
            let _ = self.out.send(Ui::Desktop {
                title: format!("twoears: {}", alert.kind.name().replace('_', " ")),
                body: alert.message.clone(),
            });
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
        let line = format!(
            "\u{25cb} waiting for a call  {}  calls so far: {calls}",
            levels.show()
        );
        self.redraw(line);
    }

    /// A status line, unless lines wait: they come first.
    fn redraw(&mut self, line: String) {
        self.flush_pending();
        if self.pending.is_empty() {
            let _ = self.out.send(Ui::Line(line));
        }
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
        let mut line = format!(
            "\u{25cf} {}  {}  speaking: {speaking:<10}  your share (5 min): {:>3.0}%  alerts: {}",
            clock(r.at_s),
            levels.show(),
            r.rep_ratio_5min * 100.0,
            self.alerts
        );
        if r.dropped_frames > 0 || r.stt_dropped_chunks > 0 {
            line.push_str(&format!(
                "  lost: {} frames, {} chunks",
                r.dropped_frames, r.stt_dropped_chunks
            ));
        }
        self.redraw(line);
    }

    /// Leaves the terminal clean for the summary.
    pub fn finish(&mut self) {
        self.sync();
        if self.tty && !self.quiet {
            self.out.send_waiting(Ui::Clear);
        }
        self.sync();
    }

    /// Waits until everything asked so far is on the terminal.
    pub fn sync(&mut self) {
        if let Some(said) = self.lost_line() {
            self.out.send_waiting(said);
            self.lost = 0;
        }
        while let Some(ui) = self.pending.pop_front() {
            self.out.send_waiting(ui);
        }
        let (tx, rx) = bounded(1);
        self.out.send_waiting(Ui::Sync(tx));
        let _ = rx.recv();
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn a_terminal_paused_for_hours_keeps_the_latest_lines_and_is_told_of_the_rest() {
        let (gate_tx, gate_rx) = bounded::<()>(0);
        let (held_tx, held_rx) = bounded::<()>(1);
        let shown = Arc::new(Mutex::new(Vec::new()));
        let sink = shown.clone();
        let mut first = true;
        let mut status = Status {
            tty: false,
            notify: false,
            quiet: false,
            last_draw: None,
            alerts: 0,
            // Ctrl-S: the first write waits until the test lets it go.
            out: Offload::spawn("test-status", 4, move |ui| {
                if std::mem::take(&mut first) {
                    let _ = held_tx.try_send(());
                    let _ = gate_rx.recv_timeout(Duration::from_secs(10));
                }
                if let Ui::Lines(l) = ui {
                    sink.lock().unwrap().extend(l);
                }
            }),
            pending: std::collections::VecDeque::new(),
            lost: 0,
        };
        status.note("line 0");
        held_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        for n in 1..3000 {
            status.note(&format!("line {n}"));
        }
        assert_eq!(status.pending.len(), PENDING_MAX, "bounded");
        drop(gate_tx);
        status.sync();
        let shown = shown.lock().unwrap();
        // The line in the writer's hands and the 4 its queue held, the count of the lost,
        // the latest 1000.
        assert_eq!(shown.len(), 5 + 1 + PENDING_MAX);
        assert_eq!(shown[4], "twoears: line 4");
        assert!(
            shown[5].starts_with("twoears: 1995 earlier lines were not shown"),
            "{}",
            shown[5]
        );
        assert_eq!(shown[6], "twoears: line 2000");
        assert_eq!(shown.last().unwrap(), "twoears: line 2999");
    }

    // Hostile-input probe, item 5: names reach the status lines (a Bluetooth headset names
    // itself; a transcript or a rules phrase is text from outside), and control characters
    // in them must not reach the terminal; only twoears's own colour codes do.
    #[test]
    fn control_characters_in_notes_and_alerts_are_escaped() {
        let shown = Arc::new(Mutex::new(Vec::new()));
        let sink = shown.clone();
        let mut status = Status {
            tty: true,
            notify: false,
            quiet: false,
            last_draw: None,
            alerts: 0,
            out: Offload::spawn("test-status", 4, move |ui| {
                if let Ui::Lines(l) = ui {
                    sink.lock().unwrap().extend(l);
                }
            }),
            pending: std::collections::VecDeque::new(),
            lost: 0,
        };
        status.note("mic is now \x1b[2JEvil\x1b]0;pwned\x07 Headset");
        status.alert(&Alert {
            kind: crate::detect::AlertKind::Pitch,
            at_s: 12.0,
            side: Side::Rep,
            message: "They said: '\x1b[31mred'".into(),
            evidence: "\"\u{9b}2J\"".into(),
        });
        status.sync();
        let shown = shown.lock().unwrap();
        assert_eq!(
            shown[0],
            "twoears: mic is now \\x1b[2JEvil\\x1b]0;pwned\\x07 Headset"
        );
        assert!(
            shown[1].ends_with("\x1b[0m  They said: '\\x1b[31mred'"),
            "{}",
            shown[1]
        );
        assert_eq!(shown[2], "    \"\\u{9b}2J\"");
    }
}

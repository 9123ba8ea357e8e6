//! A private headless sound server per test (scripts/pulse.sh), and `twoears listen`
//! running against it. The server is plain PulseAudio, or PipeWire with WirePlumber and
//! pipewire-pulse when `TWOEARS_SOUND_SERVER=pipewire` (`make test` runs the live tests
//! on both). Tests that need it skip with a message where the server is not installed,
//! and fail there under CI (`common::cannot_test_here`).
//!
//! Waits are for events (a line on stderr, the process ending), with caps far above what
//! an idle machine needs: the suites run beside other work, and a cap only catches a hang.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The cap on a wait for something the monitor says or does: a hang, not slowness.
pub const EVENT_CAP: Duration = Duration::from_secs(60);

/// The live tests run against PipeWire (through pipewire-pulse) rather than PulseAudio.
pub fn pipewire() -> bool {
    std::env::var("TWOEARS_SOUND_SERVER").is_ok_and(|s| s == "pipewire")
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pulse.sh")
}

pub struct Pulse {
    pub dir: tempfile::TempDir,
}

impl Pulse {
    /// Starts a server, or `None` (with a message) when it is not installed.
    pub fn start() -> Option<Self> {
        let (binary, packages) = if pipewire() {
            ("pipewire", "pipewire pipewire-pulse wireplumber dbus")
        } else {
            ("pulseaudio", "pulseaudio pulseaudio-utils")
        };
        if Command::new(binary).arg("--version").output().is_err() {
            super::cannot_test_here(&format!(
                "{binary} is not installed (apt-get install {packages})"
            ));
            return None;
        }
        let pulse = Self {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        pulse.up();
        Some(pulse)
    }

    fn up(&self) {
        let out = Command::new(script())
            .arg("start")
            .arg(self.dir.path())
            .output()
            .expect("run pulse.sh");
        assert!(
            out.status.success(),
            "pulse.sh start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn down(&self) {
        let _ = Command::new(script())
            .arg("stop")
            .arg(self.dir.path())
            .output();
    }

    /// Stops the server and starts it again (an audio server restart mid-call).
    pub fn kill_server(&self) {
        self.down();
    }

    pub fn restart_server(&self) {
        self.up();
    }

    pub fn env<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        let d = self.dir.path();
        cmd.env("XDG_RUNTIME_DIR", d)
            .env("PULSE_SERVER", format!("unix:{}/pulse/native", d.display()))
    }

    pub fn pactl(&self, args: &[&str]) -> String {
        let out = self
            .env(&mut Command::new("pactl"))
            .args(args)
            .output()
            .expect("pactl");
        assert!(
            out.status.success(),
            "pactl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Plays a WAV into a sink in real time (stopped when dropped).
    pub fn play(&self, sink: &str, wav: &Path) -> Player {
        Player(
            self.env(&mut Command::new("paplay"))
                .arg(format!("--device={sink}"))
                .arg(wav)
                .stderr(Stdio::null())
                .spawn()
                .expect("paplay"),
        )
    }

    /// Starts `twoears listen ARGS` against this server; waits until it is listening.
    pub fn listen(&self, args: &[&str], cwd: &Path) -> Listening {
        self.listen_env(args, cwd, &[])
    }

    pub fn listen_env(&self, args: &[&str], cwd: &Path, vars: &[(&str, &str)]) -> Listening {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_twoears"));
        super::test_history(&mut cmd);
        self.env(&mut cmd)
            .arg("listen")
            .args(args)
            .envs(vars.iter().copied())
            .current_dir(cwd)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("run twoears listen");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let closed = Arc::new(AtomicBool::new(false));
        let stderr = child.stderr.take().expect("piped");
        let (sink, eof) = (lines.clone(), closed.clone());
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
            eof.store(true, Ordering::Relaxed);
        });
        let l = Listening {
            child,
            lines,
            closed,
            reader: Some(reader),
        };
        l.wait_for("listening:", EVENT_CAP);
        l
    }
}

pub struct Player(Child);

impl Player {
    /// Waits until the whole file has played (a player that stalls fails the test after
    /// two minutes: the test calls here are shorter than one).
    pub fn wait(&mut self) {
        let start = Instant::now();
        while self.0.try_wait().expect("paplay").is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "paplay never finished"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Pulse {
    fn drop(&mut self) {
        self.down();
    }
}

pub struct Listening {
    pub child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    /// Stderr ended: the process exited (or closed it), nothing more will come.
    closed: Arc<AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
}

pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Listening {
    pub fn stderr(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// Waits for a stderr line containing `needle`; panics with what was printed if none
    /// came before the process ended or `cap` passed (a hang).
    pub fn wait_for(&self, needle: &str, cap: Duration) {
        let start = Instant::now();
        let said = || {
            self.lines
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.contains(needle))
        };
        while start.elapsed() < cap {
            // Read the flag first: lines read before the end are in by then.
            let ended = self.closed.load(Ordering::Relaxed);
            if said() {
                return;
            }
            assert!(
                !ended,
                "twoears ended without saying {needle:?}; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no {needle:?} within {cap:?}; stderr:\n{}", self.stderr());
    }

    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status();
    }

    /// Waits for the process to end by itself (panics after `timeout`: a hang).
    pub fn wait(mut self, timeout: Duration) -> Finished {
        let start = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                break s;
            }
            if start.elapsed() > timeout {
                let _ = self.child.kill();
                panic!("twoears listen hung; stderr:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        let mut stdout = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            let _ = std::io::Read::read_to_string(&mut out, &mut stdout);
        }
        Finished {
            code: status.code(),
            stdout,
            stderr: self.stderr(),
        }
    }
}

/// The bundled example call's two channels, `secs` long, as WAVs for the two sinks.
pub fn example_sides(dir: &Path, secs: f64) -> (PathBuf, PathBuf) {
    let call = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/call.flac");
    let rep = dir.join("rep.wav");
    let prospect = dir.join("prospect.wav");
    for (out, ch) in [(&rep, "1"), (&prospect, "2")] {
        super::run_ok(Command::new("sox").arg(&call).arg(out).args([
            "remix",
            ch,
            "trim",
            "0",
            &secs.to_string(),
        ]));
    }
    (rep, prospect)
}

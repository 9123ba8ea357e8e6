//! What the flags resolve to, checked before any device, model or file opens: the
//! speech-to-text settings, the rules, and the user's text files read with a size cap.

use anyhow::{Context, Result};

use crate::app::cli::{self, SttArgs};
use crate::detect::{rules as rules_file, DetectConfig};
use crate::model::store;
use crate::pipeline::SttSettings;

/// Resolves the speech-to-text flags: `None` with `--no-stt`, else the model to load.
pub(super) fn stt_settings(args: &SttArgs) -> Result<Option<SttSettings>> {
    if args.no_stt {
        return Ok(None);
    }
    let model = store::find(args.model.as_deref(), store::DEFAULT_MODEL)?;
    // Its header first, before anything hashes it (a review records the model's sha256):
    // a wrong file of gigabytes is refused at once, not after a minute of hashing.
    crate::model::verify::verify(&model, crate::model::verify::Hash::Never)?;
    let encoder = crate::detect::acts::installed_encoder();
    if encoder.is_none() {
        eprintln!(
            "twoears: warning: the sentence encoder is not installed, so pitches, triggers and \
             invitations are read with word lists; install it with `twoears model install minilm`"
        );
    }
    Ok(Some(SttSettings {
        model,
        threads: cli::stt_threads(args.threads),
        language: args.language.clone(),
        encoder,
    }))
}

/// The rules file's config, or the defaults; a bad file is a one-line error.
pub(super) fn load_rules(path: Option<&std::path::Path>) -> Result<DetectConfig> {
    let Some(path) = path else {
        return Ok(DetectConfig::default());
    };
    let text = read_text(path, "the rules file", RULES_MAX_BYTES)?;
    let (cfg, problems) = rules_file::parse(&text);
    if let Some(first) = problems.first() {
        anyhow::bail!(
            "{}:{}: {} ({} problem(s); `twoears rules check {}` lists them all)",
            path.display(),
            first.line,
            first.message,
            problems.len(),
            path.display()
        );
    }
    Ok(cfg)
}

/// A rules file is a few KB; this is room for thousands of phrases.
pub(super) const RULES_MAX_BYTES: u64 = 1 << 20;

/// A text file the user named, read up to `max_bytes`: a missing, unreadable, special
/// (device, pipe) or oversized one is a one-line error, never a hang or an endless read.
pub(super) fn read_text(path: &std::path::Path, what: &str, max_bytes: u64) -> Result<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let unreadable = || format!("{}: cannot read {what}; check the path", path.display());
    let meta = std::fs::metadata(path).with_context(unreadable)?;
    if !meta.is_file() {
        anyhow::bail!(
            "{}: {what} is not a regular file (a device, pipe or folder); pass a file",
            path.display()
        );
    }
    // Non-blocking: a pipe swapped in after the check must not hang the open.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .with_context(unreadable)?;
    let mut bytes = Vec::new();
    file.take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .with_context(unreadable)?;
    if bytes.len() as u64 > max_bytes {
        anyhow::bail!(
            "{}: {what} is larger than {} MB; check the path names the right file",
            path.display(),
            max_bytes >> 20
        );
    }
    String::from_utf8(bytes).map_err(|_| {
        anyhow::anyhow!(
            "{}: {what} is not UTF-8 text; check the path",
            path.display()
        )
    })
}

/// Creates `dir` (and its parents) private, 0700: it holds transcripts and recordings.
pub(super) fn create_private_dir(dir: &std::path::Path) -> Result<()> {
    std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
        .create(dir)
        .with_context(|| {
            format!(
                "{}: cannot create the output folder; check the path is writable",
                dir.display()
            )
        })
}

/// A flag Ctrl-C sets: the live commands stop at it, end the call and write what they
/// have.
///
/// # Errors
/// The handler cannot be installed.
pub(super) fn stop_on_ctrl_c() -> Result<std::sync::Arc<std::sync::atomic::AtomicBool>> {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::Relaxed))
        .context("cannot install the Ctrl-C handler")?;
    Ok(stop)
}

/// The speech-to-text settings of a live command: its threads leave room for capture.
///
/// # Errors
/// As [`stt_settings`].
pub(super) fn live_stt_settings(args: &SttArgs) -> Result<Option<SttSettings>> {
    let mut stt = stt_settings(args)?;
    if let Some(s) = stt.as_mut() {
        s.threads = cli::live_stt_threads(args.threads);
    }
    Ok(stt)
}

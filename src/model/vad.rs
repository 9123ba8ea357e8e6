//! `twoears model install silero`: the speech detector that confirms earshot (Silero VAD
//! v6, 16 kHz), from the pinned `silero-vad` PyPI wheel, which ships its weights as
//! safetensors (MIT). The file is checked against its pinned hash and proved to read
//! silence as silence before it is renamed into place.

use std::io::Write;
use std::path::Path;

use super::install::{fetch, wheel_error, wheel_member, write_err, InstallError, Outcome, Wheel};
use super::probe::Probe;
use super::store::{self, sha256_file};

pub const NAME: &str = "silero";
/// The file inside the wheel, and the name it is installed under.
pub const FILE: &str = "silero_vad_16k.safetensors";

const WHEEL: Wheel = Wheel {
    package: "silero-vad",
    version: "6.2.3",
    sha256: "7b7f5436cfcb02fae583a05b512ea96467fd449fe54cb49a5e4f06c51a1e43b8",
    files: &[],
};
const INNER: &str = "silero_vad/data/silero_vad_16k.safetensors";
const SHA256: &str = "c59271c284ae9c8335d795d60e0bfdb71aaaceec578d9bd9ffc1b8153c319ea1";

fn intact(path: &Path) -> bool {
    sha256_file(path).is_ok_and(|h| h == SHA256)
}

/// Installs the weights into `dir`; a no-op when an intact copy is there.
///
/// # Errors
/// See [`InstallError`]; on any error nothing is left in `dir`.
pub fn install(
    dir: &Path,
    wheel_dir: Option<&Path>,
    probe: &dyn Probe,
    log: &mut dyn Write,
) -> Result<Outcome, InstallError> {
    let target = dir.join(FILE);
    if intact(&target) {
        return Ok(Outcome::AlreadyInstalled(target));
    }
    std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    let work = tempfile::tempdir().map_err(write_err(&std::env::temp_dir()))?;
    let wheel = fetch(&WHEEL, wheel_dir, work.path(), log)?;
    let werr = |reason: String| wheel_error(&wheel, reason);
    let bytes = wheel_member(&wheel, INNER)?;
    // Written beside the target, so the final rename stays on one file system.
    let mut tmp = tempfile::Builder::new()
        .prefix(&store::partial_prefix("silero-"))
        .tempfile_in(dir)
        .map_err(write_err(dir))?;
    tmp.write_all(&bytes).map_err(write_err(dir))?;
    if !intact(tmp.path()) {
        return Err(werr(format!("{INNER} is not the pinned file")));
    }
    let _ = writeln!(log, "checking the speech detector");
    check(tmp.path(), probe)?;
    // Readable by everyone, like any installed data (a temporary file starts 0600): every
    // run reads it, whoever runs it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(write_err(dir))?;
    }
    tmp.persist(&target).map_err(|e| write_err(dir)(e.error))?;
    Ok(Outcome::Installed(target))
}

fn check(path: &Path, probe: &dyn Probe) -> Result<(), InstallError> {
    let silence = probe.silence(path).map_err(InstallError::Vad)?;
    if silence > 0.2 {
        return Err(InstallError::Vad(
            format!("silence read as speech ({silence:.2})").into(),
        ));
    }
    Ok(())
}

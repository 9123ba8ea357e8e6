//! The call recording `review` reads: 16 kHz stereo WAV, left = rep mic, right = prospect,
//! exactly the aligned audio the pipeline heard. Written by a thread of its own (a slow
//! disk never holds up the audio); what the writer cannot take yet waits on the stage
//! thread and goes with the next block, so nothing is lost. The header is rewritten every
//! second, so a crash or a kill loses at most the last second. The file is written under
//! its own name from the start (not a temporary one renamed at the end): after a kill the
//! call is where the user asked for it, readable up to the last header rewrite.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::writer::Offload;
use crate::dsp::resample::SPEECH_RATE_HZ;

const CHECKPOINT: Duration = Duration::from_secs(1);
/// Blocks the writer may have queued (a few seconds of 5 ms blocks).
const QUEUE: usize = 1024;
/// Audio the stage thread keeps for a stalled writer, per side (2 minutes, 7.7 MB): a disk
/// that takes nothing for longer ends the recording rather than fill the memory.
const PENDING_MAX: usize = 120 * SPEECH_RATE_HZ as usize;

type Wav = hound::WavWriter<BufWriter<File>>;

pub struct Recorder {
    path: PathBuf,
    out: Offload<(Vec<f32>, Vec<f32>)>,
    /// Audio the writer had no room for yet, both sides.
    pending: (Vec<f32>, Vec<f32>),
    /// Given up on: the writer took nothing for [`PENDING_MAX`].
    stalled: bool,
    /// Set by the writer when a write fails; the monitor goes on without the recording.
    failure: Arc<Mutex<Option<String>>>,
    /// The file exists (set by the writer once it has made it).
    made: Arc<AtomicBool>,
}

/// How a recording ended.
pub struct Ended {
    /// The file exists (it may hold less than the call: see `failure`).
    pub made: bool,
    /// Why it stopped early or was never made.
    pub failure: Option<String>,
}

/// The writer's side: the WAV and when its header was last rewritten.
struct Disk {
    path: PathBuf,
    wav: Option<Wav>,
    last_checkpoint: Instant,
    failure: Arc<Mutex<Option<String>>>,
}

impl Disk {
    /// The header written to `file`, freshly created at `path`.
    fn new(
        path: &Path,
        file: File,
        failure: &Arc<Mutex<Option<String>>>,
    ) -> Result<Self, hound::Error> {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: SPEECH_RATE_HZ,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut wav = hound::WavWriter::new(BufWriter::new(file), spec)?;
        wav.flush()?;
        Ok(Self {
            path: path.to_path_buf(),
            wav: Some(wav),
            last_checkpoint: Instant::now(),
            failure: failure.clone(),
        })
    }

    fn fail(&mut self, e: &hound::Error) {
        // The first cause is the one to report.
        if let Ok(mut f) = self.failure.lock() {
            f.get_or_insert_with(|| {
                format!(
                    "{}: recording stopped: {e}; what was written up to the last second is kept",
                    self.path.display()
                )
            });
        }
        // Dropping a hound writer finalises it; the header then matches what reached disk.
        self.wav = None;
    }

    fn write(&mut self, rep: &[f32], prospect: &[f32]) {
        let Some(w) = self.wav.as_mut() else {
            return;
        };
        let mut result = Ok(());
        'frames: for (&l, &r) in rep.iter().zip(prospect) {
            for s in [l, r] {
                let v = (s.clamp(-1.0, 1.0) * 32767.0).round() as i16;
                if let Err(e) = w.write_sample(v) {
                    result = Err(e);
                    break 'frames;
                }
            }
        }
        if result.is_ok() && self.last_checkpoint.elapsed() >= CHECKPOINT {
            self.last_checkpoint = Instant::now();
            result = w.flush();
        }
        if let Err(e) = result {
            self.fail(&e);
        }
    }
}

impl Drop for Disk {
    /// The writer is done: the final header.
    fn drop(&mut self) {
        if let Some(w) = self.wav.take() {
            if let Err(e) = w.finalize() {
                self.fail(&e);
            }
        }
    }
}

/// The WAV at `path`, created new (0600); on failure, why, into `failure`.
fn make_disk(path: &Path, failure: &Arc<Mutex<Option<String>>>) -> Option<Disk> {
    let disk = crate::output::create_new(
        crate::output::Output {
            path,
            what: crate::output::OutputKind::Recording,
        },
        false,
    )
    .map_err(|e| e.to_string())
    .and_then(|file| {
        Disk::new(path, file, failure).map_err(|e| format!("{}: {e}", path.display()))
    });
    match disk {
        Ok(disk) => Some(disk),
        Err(e) => {
            if let Ok(mut f) = failure.lock() {
                *f = Some(format!("this call is not recorded: {e}"));
            }
            None
        }
    }
}

impl Recorder {
    /// Starts the recording in `file`, freshly created at `path`.
    ///
    /// # Errors
    /// The header cannot be written.
    pub fn create(path: &Path, file: File) -> Result<Self, hound::Error> {
        let failure = Arc::new(Mutex::new(None));
        let mut disk = Disk::new(path, file, &failure)?;
        let out = Offload::spawn(
            "recorder",
            QUEUE,
            move |(rep, prospect): (Vec<f32>, Vec<f32>)| {
                disk.write(&rep, &prospect);
            },
        );
        Ok(Self {
            path: path.to_path_buf(),
            out,
            pending: (Vec::new(), Vec::new()),
            stalled: false,
            failure,
            made: Arc::new(AtomicBool::new(true)),
        })
    }

    /// Starts a recording at `path` (a background call's) that the writer thread creates:
    /// a slow disk never holds up the stage thread, not even to make the file. Why it could
    /// not be made comes from [`Recorder::finish`].
    pub fn start_new(path: &Path) -> Self {
        let failure = Arc::new(Mutex::new(None));
        let made = Arc::new(AtomicBool::new(false));
        let (at, failed, made_it) = (path.to_path_buf(), failure.clone(), made.clone());
        let mut disk: Option<Option<Disk>> = None;
        let out = Offload::spawn(
            "recorder",
            QUEUE,
            move |(rep, prospect): (Vec<f32>, Vec<f32>)| {
                let d = disk.get_or_insert_with(|| {
                    let made = make_disk(&at, &failed);
                    made_it.store(made.is_some(), Ordering::Relaxed);
                    made
                });
                if let Some(d) = d.as_mut() {
                    d.write(&rep, &prospect);
                }
            },
        );
        Self {
            path: path.to_path_buf(),
            out,
            pending: (Vec::new(), Vec::new()),
            stalled: false,
            failure,
            made,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends aligned samples of both sides.
    pub fn write(&mut self, rep: &[f32], prospect: &[f32]) {
        if self.stalled {
            return;
        }
        self.pending.0.extend_from_slice(rep);
        self.pending.1.extend_from_slice(prospect);
        let block = std::mem::take(&mut self.pending);
        let Err(back) = self.out.send(block) else {
            return;
        };
        if back.0.len() <= PENDING_MAX {
            self.pending = back;
            return;
        }
        self.stalled = true;
        if let Ok(mut f) = self.failure.lock() {
            f.get_or_insert_with(|| {
                format!(
                    "{}: recording stopped: the disk fell more than {} s behind; what reached \
                     it is kept",
                    self.path.display(),
                    PENDING_MAX / SPEECH_RATE_HZ as usize
                )
            });
        }
    }

    /// Writes what is still pending and the final header; whether the file exists and
    /// why the recording stopped early, if it did.
    pub fn finish(mut self) -> Ended {
        if self.stalled {
            // The disk may never come back (a hung mount): the call ends without it.
            self.out.abandon();
        } else {
            let rest = std::mem::take(&mut self.pending);
            if !rest.0.is_empty() {
                self.out.send_waiting(rest);
            }
            self.out.close();
        }
        Ended {
            made: self.made.load(Ordering::Relaxed),
            failure: self.failure.lock().ok().and_then(|mut f| f.take()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_background_recording_is_made_by_its_writer_or_says_why_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("call.wav");
        let mut r = Recorder::start_new(&path);
        for _ in 0..100 {
            r.write(&[0.25; 80], &[-0.5; 80]);
        }
        let ended = r.finish();
        assert!(ended.made && ended.failure.is_none(), "{:?}", ended.failure);
        let wav = hound::WavReader::open(&path).unwrap();
        assert_eq!(wav.duration(), 8000);
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        // Made once: a second recording never replaces it.
        let mut again = Recorder::start_new(&path);
        again.write(&[0.25; 80], &[-0.5; 80]);
        let ended = again.finish();
        assert!(!ended.made);
        assert!(
            ended
                .failure
                .as_deref()
                .unwrap()
                .starts_with("this call is not recorded"),
            "{:?}",
            ended.failure
        );
        assert_eq!(hound::WavReader::open(&path).unwrap().duration(), 8000);
    }

    #[test]
    fn a_disk_that_takes_nothing_ends_the_recording_instead_of_filling_the_memory() {
        // A writer stuck on its first block until the test lets it go: a stalled disk.
        let (gate_tx, gate_rx) = crossbeam_channel::bounded::<()>(0);
        let (held_tx, held_rx) = crossbeam_channel::bounded::<()>(1);
        let failure = Arc::new(Mutex::new(None));
        let mut r = Recorder {
            path: "call.wav".into(),
            out: Offload::spawn("test-recorder", QUEUE, move |_| {
                let _ = held_tx.try_send(());
                let _ = gate_rx.recv_timeout(Duration::from_secs(10));
            }),
            pending: (Vec::new(), Vec::new()),
            stalled: false,
            failure,
            made: Arc::new(AtomicBool::new(true)),
        };
        let block = [0.1f32; 80];
        r.write(&block, &block);
        held_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        let mut writes = 1;
        while !r.stalled && writes < 2 * PENDING_MAX / 80 {
            r.write(&block, &block);
            writes += 1;
        }
        assert!(r.stalled, "given up");
        // The block in the writer's hands, a full queue, two minutes waiting on the stage
        // thread, and the block that went over.
        assert_eq!(writes, 1 + QUEUE + PENDING_MAX / 80 + 1);
        assert_eq!(r.pending.0.capacity(), 0, "what waited is freed");
        drop(gate_tx);
        let why = r.finish().failure.expect("a reason");
        assert!(why.contains("fell more than 120 s behind"), "{why}");
    }
}

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
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::writer::Offload;
use crate::resample::SPEECH_RATE_HZ;

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
}

/// The writer's side: the WAV and when its header was last rewritten.
struct Disk {
    path: PathBuf,
    wav: Option<Wav>,
    last_checkpoint: Instant,
    failure: Arc<Mutex<Option<String>>>,
}

impl Disk {
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

impl Recorder {
    /// Starts the recording in `file`, freshly created at `path`.
    ///
    /// # Errors
    /// The header cannot be written.
    pub fn create(path: &Path, file: File) -> Result<Self, hound::Error> {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: SPEECH_RATE_HZ,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut wav = hound::WavWriter::new(BufWriter::new(file), spec)?;
        wav.flush()?;
        let failure = Arc::new(Mutex::new(None));
        let mut disk = Disk {
            path: path.to_path_buf(),
            wav: Some(wav),
            last_checkpoint: Instant::now(),
            failure: failure.clone(),
        };
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
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends aligned samples of both sides.
    pub fn write(&mut self, rep: &[f32], prospect: &[f32]) {
        if self.stalled {
            return;
        }
        if self.pending.0.len() + rep.len() > PENDING_MAX {
            self.stalled = true;
            self.pending = (Vec::new(), Vec::new());
            if let Ok(mut f) = self.failure.lock() {
                f.get_or_insert_with(|| {
                    format!(
                        "{}: recording stopped: the disk took nothing for {} s; what reached \
                         it is kept",
                        self.path.display(),
                        PENDING_MAX / SPEECH_RATE_HZ as usize
                    )
                });
            }
            return;
        }
        self.pending.0.extend_from_slice(rep);
        self.pending.1.extend_from_slice(prospect);
        let block = std::mem::take(&mut self.pending);
        if let Err(back) = self.out.send(block) {
            self.pending = back;
        }
    }

    /// Writes what is still pending and the final header; why the recording stopped
    /// early, if it did.
    pub fn finish(mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.pending);
        if !rest.0.is_empty() {
            self.out.send_waiting(rest);
        }
        self.out.close();
        self.failure.lock().ok().and_then(|mut f| f.take())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disk_that_takes_nothing_ends_the_recording_instead_of_filling_the_memory() {
        // A writer stuck on its first block until the test lets it go: a stalled disk.
        let (gate_tx, gate_rx) = crossbeam_channel::bounded::<()>(0);
        let failure = Arc::new(Mutex::new(None));
        let mut r = Recorder {
            path: "call.wav".into(),
            out: Offload::spawn("test-recorder", QUEUE, move |_| {
                let _ = gate_rx.recv_timeout(Duration::from_secs(10));
            }),
            pending: (Vec::new(), Vec::new()),
            stalled: false,
            failure,
        };
        let block = [0.1f32; 80];
        let mut writes = 0;
        while !r.stalled && writes < 2 * PENDING_MAX / 80 {
            r.write(&block, &block);
            writes += 1;
        }
        assert!(r.stalled, "given up");
        // Beyond the queue (and the block in the writer's hands), two minutes waited on
        // the stage thread; the write that would have gone over is the one refused.
        let waited = writes - 1 - QUEUE;
        assert!(
            (PENDING_MAX / 80..=PENDING_MAX / 80 + 1).contains(&waited),
            "{waited}"
        );
        assert_eq!(r.pending.0.capacity(), 0, "what waited is freed");
        drop(gate_tx);
        let why = r.finish().expect("a reason");
        assert!(why.contains("took nothing for 120 s"), "{why}");
    }
}

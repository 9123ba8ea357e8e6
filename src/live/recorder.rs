//! The call recording `review` reads: 16 kHz stereo WAV, left = rep mic, right = prospect,
//! exactly the aligned audio the pipeline heard. The header is rewritten every second, so
//! a crash or a kill loses at most the last second. The file is written under its own
//! name from the start (not a temporary one renamed at the end): after a kill the call is
//! where the user asked for it, readable up to the last header rewrite.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::resample::SPEECH_RATE_HZ;

const CHECKPOINT: Duration = Duration::from_secs(1);

pub struct Recorder {
    path: PathBuf,
    writer: Option<hound::WavWriter<BufWriter<File>>>,
    last_checkpoint: Instant,
    /// Set when a write fails; the monitor goes on without the recording.
    pub failure: Option<String>,
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
        let mut writer = hound::WavWriter::new(BufWriter::new(file), spec)?;
        writer.flush()?;
        Ok(Self {
            path: path.to_path_buf(),
            writer: Some(writer),
            last_checkpoint: Instant::now(),
            failure: None,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn fail(&mut self, e: &hound::Error) {
        self.failure = Some(format!(
            "{}: recording stopped: {e}; what was written up to the last second is kept",
            self.path.display()
        ));
        // Dropping a hound writer finalises it; the header then matches what reached disk.
        self.writer = None;
    }

    /// Appends aligned samples of both sides.
    pub fn write(&mut self, rep: &[f32], prospect: &[f32]) {
        let Some(w) = self.writer.as_mut() else {
            return;
        };
        let mut result = Ok(());
        for (&l, &r) in rep.iter().zip(prospect) {
            for s in [l, r] {
                let v = (s.clamp(-1.0, 1.0) * 32767.0).round() as i16;
                if let Err(e) = w.write_sample(v) {
                    result = Err(e);
                    break;
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

    /// Writes the final header.
    pub fn finish(mut self) -> Option<String> {
        if let Some(w) = self.writer.take() {
            if let Err(e) = w.finalize() {
                self.fail(&e);
            }
        }
        self.failure
    }
}

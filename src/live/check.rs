//! `twoears check`: the pre-flight a rep runs before a call. Opens both devices for a few
//! seconds, shows a level meter per side, and says in one line per side what it saw:
//! speech, sound without speech, digital silence (and what to do about it).

use std::sync::atomic::AtomicBool;

use super::source::{LiveSource, Note};
use super::speaking;
use super::status::Meters;
use crate::capture::CaptureError;
use crate::detect::DetectConfig;
use crate::event::{PerSide, Side};
use crate::frontend::ChunkPolicy;
use crate::pipeline::{Backpressure, Pipeline};
use crate::source::drive;
use crate::vad::VadConfig;

/// What one side delivered over the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heard {
    Speech,
    SoundWithoutSpeech,
    DigitalSilence,
}

/// Below this every sample is digital silence (as the live self-check counts it).
const DIGITAL_SILENCE: f32 = 1e-6;

#[derive(Debug, Clone, Copy, Default)]
struct Seen {
    sound: bool,
    speech: bool,
}

/// What the check found on one side.
pub struct Finding {
    pub side: Side,
    pub device: String,
    pub heard: Heard,
    /// What happened to the device meanwhile (lost, moved, reopened).
    pub notes: Vec<String>,
}

/// One side's finding as the line the user reads.
pub fn line(side: Side, device: &str, heard: Heard) -> String {
    let what = match side {
        Side::Rep => "microphone",
        Side::Prospect => "call audio",
    };
    let verdict = match (side, heard) {
        (_, Heard::Speech) => "speech: ok".to_string(),
        (Side::Rep, Heard::SoundWithoutSpeech) => {
            "sound but no speech: say a few words during the check".into()
        }
        (Side::Prospect, Heard::SoundWithoutSpeech) => {
            "sound but no speech: play something with a voice, or start the call".into()
        }
        (Side::Rep, Heard::DigitalSilence) => {
            "digital silence: the microphone is muted (on the headset or in the sound \
             settings) or not the one in use; `twoears devices` lists them, pass --mic NAME"
                .into()
        }
        (Side::Prospect, Heard::DigitalSilence) => {
            "digital silence: nothing plays on this output; if the call is playing, it plays \
             on another output (headphones?); `twoears devices` lists the monitors, pass \
             --system NAME"
                .into()
        }
    };
    format!("{what:<11} {device}: {verdict}")
}

/// Listens for `secs` seconds; calls `tick` with the meters as they move.
///
/// # Errors
/// No server, or a device that will not open.
pub fn check(
    mic: Option<&str>,
    system: Option<&str>,
    secs: f64,
    stop: &AtomicBool,
    tick: &mut dyn FnMut(&Meters),
) -> Result<Vec<Finding>, CaptureError> {
    let mut watch = Pipeline::new(
        VadConfig::default(),
        ChunkPolicy::LIVE,
        DetectConfig::default(),
        None,
        Backpressure::Drop,
    )
    .expect("a pipeline without speech-to-text loads nothing");
    let mut source = LiveSource::open(mic, system, stop, Some(secs))?;
    let devices = {
        let (m, s) = source.devices();
        PerSide::new(m.to_string(), s.to_string())
    };
    let mut seen: PerSide<Seen> = PerSide::default();
    let mut notes: PerSide<Vec<String>> = PerSide::default();
    let mut meters = Meters::default();
    drive(&mut source, &mut watch, |source, block| {
        for note in source.take_notes() {
            let (Note::Info(text) | Note::Warning(text)) = note;
            let side = if text.contains(&*devices.prospect) {
                Side::Prospect
            } else {
                Side::Rep
            };
            notes[side].push(text);
        }
        meters.push(block.rep, block.prospect);
        let who = speaking(block.pipeline);
        for (side, x) in [(Side::Rep, block.rep), (Side::Prospect, block.prospect)] {
            seen[side].sound |= x.iter().any(|v| v.abs() >= DIGITAL_SILENCE);
            seen[side].speech |= who[side];
        }
        tick(&meters);
    });
    let _ = source.finish();
    Ok(Side::BOTH
        .into_iter()
        .map(|side| {
            let s = seen[side];
            let heard = match (s.speech, s.sound) {
                (true, _) => Heard::Speech,
                (false, true) => Heard::SoundWithoutSpeech,
                (false, false) => Heard::DigitalSilence,
            };
            Finding {
                side,
                device: devices[side].clone(),
                heard,
                notes: std::mem::take(&mut notes[side]),
            }
        })
        .collect())
}

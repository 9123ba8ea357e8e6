//! `twoears check`: the pre-flight a rep runs before a call. Opens both devices for a few
//! seconds, shows a level meter per side, and says in one line per side what it saw:
//! speech, sound without speech, digital silence, no device (and what to do about it).

use std::sync::atomic::AtomicBool;

use super::side_check::DIGITAL_SILENCE;
use super::source::LiveSource;
use super::speaking;
use super::status::Meters;
use crate::capture::CaptureError;
use crate::detect::DetectConfig;
use crate::event::{PerSide, Side};
use crate::source::drive;

/// What one side delivered over the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    Speech,
    SoundWithoutSpeech,
    DigitalSilence,
    /// No such device, or none at all: why, and what to pass.
    NoDevice(String),
    /// Its device is there, but with the other side's missing nothing was heard.
    NotHeard,
}

/// What both sides delivered so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct Seen {
    sound: PerSide<bool>,
    speech: PerSide<bool>,
}

impl Seen {
    /// One aligned block of both sides, and who the VAD hears speaking in it.
    pub fn push(&mut self, rep: &[f32], prospect: &[f32], speaking: PerSide<bool>) {
        for (side, x) in [(Side::Rep, rep), (Side::Prospect, prospect)] {
            self.sound[side] |= x.iter().any(|v| v.abs() >= DIGITAL_SILENCE);
            self.speech[side] |= speaking[side];
        }
    }

    pub fn heard(&self, side: Side) -> Heard {
        match (self.speech[side], self.sound[side]) {
            (true, _) => Heard::Speech,
            (false, true) => Heard::SoundWithoutSpeech,
            (false, false) => Heard::DigitalSilence,
        }
    }
}

/// How long the first look of every `listen` lasts before it says what it saw.
pub const FIRST_LOOK_S: f64 = 5.0;

/// The first seconds of `listen`: what each side delivered, said once, as `twoears check`
/// says it (the live self-check takes over from there).
#[derive(Default)]
pub struct FirstLook {
    seen: Seen,
    said: bool,
}

impl FirstLook {
    /// The two lines to show, once, when `now_s` reaches [`FIRST_LOOK_S`].
    pub fn push(
        &mut self,
        now_s: f64,
        rep: &[f32],
        prospect: &[f32],
        speaking: PerSide<bool>,
        devices: (&str, &str),
    ) -> Option<[String; 2]> {
        if self.said {
            return None;
        }
        self.seen.push(rep, prospect, speaking);
        if now_s < FIRST_LOOK_S {
            return None;
        }
        self.said = true;
        Some([
            line(
                Side::Rep,
                devices.0,
                &self.seen.heard(Side::Rep),
                Look::Listen,
            ),
            line(
                Side::Prospect,
                devices.1,
                &self.seen.heard(Side::Prospect),
                Look::Listen,
            ),
        ])
    }
}

/// What the check found on one side.
pub struct Finding {
    pub side: Side,
    pub device: String,
    pub heard: Heard,
    /// What happened to the device meanwhile (lost, moved, reopened).
    pub notes: Vec<String>,
}

/// When a finding is said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    /// `twoears check`: the rep is asked to make each side speak.
    Check,
    /// The first seconds of `listen`: the call may not have begun.
    Listen,
}

/// One side's finding as the line the user reads.
pub fn line(side: Side, device: &str, heard: &Heard, look: Look) -> String {
    let what = match side {
        Side::Rep => "microphone",
        Side::Prospect => "call audio",
    };
    let verdict = match (side, heard) {
        (_, Heard::Speech) => "speech: ok".to_string(),
        (_, Heard::SoundWithoutSpeech) if look == Look::Listen => {
            "sound, no speech yet".to_string()
        }
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
        // A monitor started before the call, or running between calls, hears nothing on
        // the call's output: the normal state, not a fault (the live check warns when the
        // rep talks and nothing answers).
        (Side::Prospect, Heard::DigitalSilence) if look == Look::Listen => {
            "nothing plays yet: fine before and between calls (if you talk in a call and \
             nothing answers here, twoears warns)"
                .into()
        }
        (Side::Prospect, Heard::DigitalSilence) => {
            "digital silence: nothing plays on this output; if the call is playing, it plays \
             on another output (headphones?); `twoears devices` lists the monitors, pass \
             --system NAME"
                .into()
        }
        (_, Heard::NoDevice(why)) => format!("no device: {why}"),
        (_, Heard::NotHeard) => format!(
            "found, not heard: the {} is missing, so nothing was opened",
            match side {
                Side::Rep => "call audio",
                Side::Prospect => "microphone",
            }
        ),
    };
    if device.is_empty() {
        return format!("{what:<11} {verdict}");
    }
    format!("{what:<11} {device}: {verdict}")
}

/// Each side's device as `listen` would pick it: when one is missing (none at all, or none
/// by the name given), what each side has, without listening.
fn missing(mic: Option<&str>, system: Option<&str>) -> Result<Option<Vec<Finding>>, CaptureError> {
    use crate::capture::{devices, Role};
    let host = devices::open_host()?;
    let mut found = Vec::new();
    for (side, role, query) in [
        (Side::Rep, Role::Mic, mic),
        (Side::Prospect, Role::System, system),
    ] {
        found.push(match devices::resolve(&host, role, query) {
            Ok(info) => (side, info.name, None),
            Err(e @ (CaptureError::UnknownDevice { .. } | CaptureError::NoDefault { .. })) => {
                (side, String::new(), Some(e.to_string()))
            }
            Err(e) => return Err(e),
        });
    }
    if found.iter().all(|f| f.2.is_none()) {
        return Ok(None);
    }
    Ok(Some(
        found
            .into_iter()
            .map(|(side, device, why)| Finding {
                side,
                device,
                heard: why.map_or(Heard::NotHeard, Heard::NoDevice),
                notes: Vec::new(),
            })
            .collect(),
    ))
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
    let mut watch = super::pipeline(&DetectConfig::default(), None)
        .expect("a pipeline without speech-to-text loads nothing");
    if let Some(found) = missing(mic, system)? {
        return Ok(found);
    }
    let mut source = LiveSource::open(mic, system, stop, Some(secs))?;
    let devices = {
        let (m, s) = source.devices();
        PerSide::new(m.to_string(), s.to_string())
    };
    let mut seen = Seen::default();
    let mut notes: PerSide<Vec<String>> = PerSide::default();
    let mut meters = Meters::default();
    drive(&mut source, &mut watch, |source, block| {
        for note in source.take_notes() {
            let sides = match note.side {
                Some(side) => vec![side],
                None => Side::BOTH.to_vec(),
            };
            for side in sides {
                notes[side].push(note.text.clone());
            }
        }
        meters.push(block.rep, block.prospect);
        seen.push(block.rep, block.prospect, speaking(block.pipeline));
        tick(&meters);
    });
    let _ = source.finish();
    Ok(Side::BOTH
        .into_iter()
        .map(|side| Finding {
            side,
            device: devices[side].clone(),
            heard: seen.heard(side),
            notes: std::mem::take(&mut notes[side]),
        })
        .collect())
}

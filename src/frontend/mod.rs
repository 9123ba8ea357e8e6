//! The front end of the pipeline, shared by live capture and review: takes aligned 16 kHz
//! rep and prospect audio, removes each side's DC offset, cancels the prospect's echo in
//! the rep mic, runs VAD per side, tracks turns and cuts each side's speech into chunks
//! for the transcriber.
//! Runs on a stage thread, never on the audio callback.

pub mod echo;
pub mod room;
pub mod vad;
pub mod voices;

use crate::dsp::resample::SPEECH_RATE_HZ;
use crate::event::{Chunk, Event, PerSide, Side};
use crate::frontend::echo::EchoCanceller;
use crate::frontend::room::{FrameView, NearField, Room, RoomAccount};
use crate::frontend::vad::{Change, SideVad, VadConfig, FRAME, FRAME_S};
use crate::frontend::voices::rep_check::{RepCheck, VoiceCheck};

const RATE: f64 = SPEECH_RATE_HZ as f64;

/// A rep frame counts as speech only if the cleaned mic is this much louder (power ratio)
/// than the echo the canceller predicted: leaked prospect speech left over after
/// cancellation must not count as the rep.
const ECHO_GATE: f32 = 0.5;
/// While the prospect plays, the mic must also be this much louder (power ratio, 4.8 dB)
/// than the echo the room's coupling predicts: when the echo path shifts (device clocks,
/// a moved laptop) the filter's own estimate is wrong until it re-adapts, but the level
/// of the echo is still known.
const ABOVE_ECHO: f32 = 3.0;
/// The cleaned mic may hold at most this much more power than the mic itself (3 dB): more
/// is the canceller's own prediction subtracted from a mic without the echo in it (a rep
/// who muted the mic during hold music on a speakerphone), not the rep.
const ADDED_AT_MOST: f32 = 2.0;
/// The prospect's side has sound in it (for finding holds) above this mean square (-45
/// dBFS) even when the noise gate has risen to meet a long piece of music.
const SOUND_POWER: f32 = 3e-5;
/// Audio kept before a turn's first voiced frame and after its last.
const PAD_S: f64 = 0.2;
/// Recent audio a chunker keeps for a turn that opens a few frames late (0.64 s).
const PREROLL: usize = FRAME * 40;

/// Corner of the DC-blocking high-pass: far below any voice, fast enough (8 ms time
/// constant) that an offset is gone before the first VAD frame ends.
const DC_CUTOFF_HZ: f64 = 20.0;

/// Far below one bit of 24-bit audio (6e-8), far above the denormal range (1e-38).
const DENORMAL_GUARD: f32 = 1e-20;

/// A one-pole high-pass, `y[n] = a (y[n-1] + x[n] - x[n-1])`: a constant offset (a cheap
/// mic, a bad export) would otherwise count as power in every frame, and the echo
/// canceller would try to model it. The offset of 0.45 on one side silenced the other.
struct DcBlocker {
    a: f32,
    prev_in: f32,
    prev_out: f32,
}

impl DcBlocker {
    fn new() -> Self {
        Self {
            a: (-2.0 * std::f64::consts::PI * DC_CUTOFF_HZ / RATE).exp() as f32,
            prev_in: 0.0,
            prev_out: 0.0,
        }
    }

    fn process(&mut self, frame: &mut [f32; FRAME]) {
        for s in frame.iter_mut() {
            let mut y = self.a * (self.prev_out + *s - self.prev_in);
            // The decay after a sound would end in denormals, which cost the FFTs and
            // the echo filter downstream a hundred times a normal multiply.
            if y.abs() < DENORMAL_GUARD {
                y = 0.0;
            }
            self.prev_in = *s;
            self.prev_out = y;
            *s = y;
        }
    }
}

/// Where each side's speech is cut into chunks for the transcriber: at the first pause of
/// at least `pause_s` once a chunk is `soft_s` long, and anywhere at `hard_s`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChunkPolicy {
    pub soft_s: f64,
    pub hard_s: f64,
    pub pause_s: f64,
}

impl ChunkPolicy {
    /// Review: long chunks, which whisper transcribes best and fastest, cut at a real
    /// pause between phrases (a cut inside a word loses the words around it).
    pub const REVIEW: Self = Self {
        soft_s: 6.0,
        hard_s: 20.0,
        pause_s: 0.2,
    };
    /// Live: cut at the first pause between phrases, so a pitch reaches the detector a
    /// second or two after it was said rather than at the end of a long turn.
    pub const LIVE: Self = Self {
        soft_s: 2.0,
        hard_s: 6.0,
        pause_s: 0.25,
    };
}

struct Chunker {
    side: Side,
    policy: ChunkPolicy,
    /// Unvoiced time since the last voiced frame.
    quiet_s: f64,
    /// Recent audio, for the pre-roll of a turn that opens a few frames late.
    preroll: Vec<f32>,
    buf: Vec<f32>,
    buf_start_s: f64,
    open: bool,
}

impl Chunker {
    fn new(side: Side, policy: ChunkPolicy) -> Self {
        Self {
            side,
            policy,
            quiet_s: 0.0,
            preroll: Vec::with_capacity(PREROLL * 2),
            buf: Vec::with_capacity(RATE as usize * 12),
            buf_start_s: 0.0,
            open: false,
        }
    }

    /// Keeps at least the last [`PREROLL`] samples; trimmed only when twice that has
    /// gathered, so the samples move once per [`PREROLL`], not at every frame.
    fn keep_preroll(&mut self, frame: &[f32]) {
        if self.preroll.len() + frame.len() > 2 * PREROLL {
            let drop = self.preroll.len() - PREROLL;
            self.preroll.drain(..drop);
        }
        self.preroll.extend_from_slice(frame);
    }

    fn emit(&mut self, end_s: f64, out: &mut Vec<Chunk>) {
        let n = (((end_s - self.buf_start_s) * RATE).round().max(0.0) as usize).min(self.buf.len());
        if n > 0 {
            out.push(Chunk {
                side: self.side,
                start_s: self.buf_start_s,
                end_s: self.buf_start_s + n as f64 / RATE,
                samples: self.buf[..n].to_vec(),
            });
        }
        self.buf.clear();
    }

    /// `frame` ends at `t_end_s`; `change` is what it did to the turn; `voiced` its VAD.
    fn frame(
        &mut self,
        frame: &[f32],
        t_end_s: f64,
        change: Change,
        voiced: bool,
        out: &mut Vec<Chunk>,
    ) {
        self.keep_preroll(frame);
        self.quiet_s = if voiced { 0.0 } else { self.quiet_s + FRAME_S };
        match change {
            Change::Started(start_s) => {
                let from_s = (start_s - PAD_S).max(0.0);
                let back = (((t_end_s - from_s) * RATE).round() as usize)
                    .min(PREROLL)
                    .min(self.preroll.len());
                self.buf.clear();
                self.buf
                    .extend_from_slice(&self.preroll[self.preroll.len() - back..]);
                self.buf_start_s = t_end_s - back as f64 / RATE;
                self.open = true;
            }
            Change::Ended(turn) => {
                self.buf.extend_from_slice(frame);
                self.emit(turn.end_s + PAD_S, out);
                self.open = false;
            }
            Change::None if self.open => {
                self.buf.extend_from_slice(frame);
                let len_s = t_end_s - self.buf_start_s;
                let p = self.policy;
                let paused = !voiced && self.quiet_s + 1e-9 >= p.pause_s;
                if (len_s >= p.soft_s && paused) || len_s >= p.hard_s {
                    self.emit(t_end_s, out);
                    self.buf_start_s = t_end_s;
                }
            }
            Change::None => {}
        }
    }

    fn finish(&mut self, change: Change, out: &mut Vec<Chunk>) {
        if let Change::Ended(turn) = change {
            self.emit(turn.end_s + PAD_S, out);
        }
        self.open = false;
    }
}

/// How the front end hears: speech on each side, and whose voice is on the mic.
#[derive(Clone, Default)]
pub struct FrontEndConfig {
    pub vad: VadConfig,
    /// Whether a mic voice near the rep's level, but not clearly, must be the rep's voice.
    pub voice: VoiceCheck,
}

impl FrontEndConfig {
    /// The installed speech detector and voice encoder, and the enrolled voice.
    pub fn installed() -> Self {
        Self {
            vad: VadConfig::installed(),
            voice: VoiceCheck::installed(),
        }
    }

    /// Why the speech detector is missing, or the enrolled voice unused, for the call's
    /// warnings.
    pub fn warnings(&self) -> Vec<String> {
        self.vad
            .warning()
            .into_iter()
            .chain(self.voice.warning())
            .map(str::to_string)
            .collect()
    }
}

pub struct FrontEnd {
    dc: PerSide<DcBlocker>,
    aec: EchoCanceller,
    vad: PerSide<SideVad>,
    near: NearField,
    rep_check: RepCheck,
    room: RoomAccount,
    chunkers: PerSide<Chunker>,
    rep_pending: Vec<f32>,
    prospect_pending: Vec<f32>,
    clean: [f32; FRAME],
    frames: u64,
}

impl FrontEnd {
    pub fn new(cfg: FrontEndConfig, chunks: ChunkPolicy) -> Self {
        Self {
            dc: PerSide::from_fn(|_| DcBlocker::new()),
            aec: EchoCanceller::new(),
            vad: PerSide::from_fn(|_| SideVad::new(&cfg.vad)),
            near: NearField::default(),
            rep_check: RepCheck::new(&cfg.voice),
            room: RoomAccount::default(),
            chunkers: PerSide::from_fn(|side| Chunker::new(side, chunks)),
            rep_pending: Vec::with_capacity(FRAME * 64),
            prospect_pending: Vec::with_capacity(FRAME * 64),
            clean: [0.0; FRAME],
            frames: 0,
        }
    }

    /// Call time processed so far.
    pub fn now_s(&self) -> f64 {
        self.frames as f64 * FRAME_S
    }

    /// Feeds aligned audio (equal lengths); pushes events and finished chunks.
    pub fn push(
        &mut self,
        rep: &[f32],
        prospect: &[f32],
        events: &mut Vec<Event>,
        chunks: &mut Vec<Chunk>,
    ) {
        self.rep_pending.extend_from_slice(rep);
        self.prospect_pending.extend_from_slice(prospect);
        let whole = self.rep_pending.len().min(self.prospect_pending.len()) / FRAME;
        for i in 0..whole {
            let r = i * FRAME..(i + 1) * FRAME;
            let mut rep_frame = [0f32; FRAME];
            let mut pro_frame = [0f32; FRAME];
            rep_frame.copy_from_slice(&self.rep_pending[r.clone()]);
            pro_frame.copy_from_slice(&self.prospect_pending[r]);
            self.dc.rep.process(&mut rep_frame);
            self.dc.prospect.process(&mut pro_frame);
            self.frame(&rep_frame, &pro_frame, events, chunks);
        }
        self.rep_pending.drain(..whole * FRAME);
        self.prospect_pending.drain(..whole * FRAME);
    }

    fn frame(
        &mut self,
        rep: &[f32; FRAME],
        prospect: &[f32; FRAME],
        events: &mut Vec<Event>,
        chunks: &mut Vec<Chunk>,
    ) {
        let t_s = self.now_s();
        let t_end_s = t_s + FRAME_S;
        let echo = self.aec.process(rep, prospect, &mut self.clean);
        let clean = self.clean;
        let rep_loud = self.vad.rep.loud_enough(echo.clean_power);
        let rep_power = rep.iter().map(|v| v * v).sum::<f32>() / FRAME as f32;
        let prospect_power = prospect.iter().map(|v| v * v).sum::<f32>() / FRAME as f32;
        let prospect_loud = self.vad.prospect.loud_enough(prospect_power);
        let rep_score = self.vad.rep.score(&clean, rep_loud);
        let prospect_score = self.vad.prospect.score(prospect, prospect_loud);
        let echo_free = !echo.reference_active
            || !echo.coupled
            || (echo.clean_power > ECHO_GATE * echo.echo_power
                && (echo.near_end
                    || (rep_power > ABOVE_ECHO * echo.expected_power
                        && (echo.converged || echo.clean_power > echo.reach_ref_power))));
        let rep_heard = self.vad.rep.is_voiced(rep_score)
            && rep_loud
            && echo_free
            && echo.clean_power <= ADDED_AT_MOST * rep_power;
        let prospect_heard = self.vad.prospect.is_voiced(prospect_score) && prospect_loud;
        let rep_speech = self.vad.rep.is_speech(&clean, rep_loud);
        let prospect_speech = self.vad.prospect.is_speech(prospect, prospect_loud);
        // Speech on the mic far below the rep's own voice is someone else in the room; near
        // it, but not clearly, the voice decides.
        let voiced = rep_heard && rep_speech;
        let level = self.near.level(echo.clean_power, voiced);
        let near = !voiced || self.rep_check.is_rep(&clean, level);
        for (side, heard, speech, audio) in [
            (Side::Rep, rep_heard && near, rep_speech, &clean),
            (Side::Prospect, prospect_heard, prospect_speech, prospect),
        ] {
            let change = self.vad[side].turns.frame(t_s, heard, speech);
            match change {
                Change::Started(start_s) => events.push(Event::TurnStarted { side, start_s }),
                Change::Ended(turn) => events.push(Event::TurnEnded { side, turn }),
                Change::None => {}
            }
            // Inside a turn the pauses are earshot's: its frames are 16 ms and it hears a
            // word's first sound, where Silero rules on 32 ms a step or two late.
            self.chunkers[side].frame(audio, t_end_s, change, heard, chunks);
        }
        let in_turn = PerSide {
            rep: self.vad.rep.turns.is_active(),
            prospect: self.vad.prospect.turns.is_active(),
        };
        self.room.frame(&FrameView {
            t_s,
            heard: PerSide {
                rep: rep_heard,
                prospect: prospect_heard,
            },
            speech: PerSide {
                rep: rep_speech,
                prospect: prospect_speech,
            },
            near,
            in_turn,
            prospect_sound: prospect_loud || prospect_power > SOUND_POWER,
        });
        events.push(Event::Frame {
            t_s: t_end_s,
            rep: in_turn.rep,
            prospect: in_turn.prospect,
        });
        self.frames += 1;
    }

    /// What the room added and the call's holds; call once, after `finish`.
    pub fn room(&mut self) -> Room {
        std::mem::take(&mut self.room).finish()
    }

    /// Ends the call: closes open turns and flushes their chunks.
    pub fn finish(&mut self, events: &mut Vec<Event>, chunks: &mut Vec<Chunk>) {
        for side in Side::BOTH {
            let change = self.vad[side].turns.finish();
            if let Change::Ended(turn) = change {
                events.push(Event::TurnEnded { side, turn });
            }
            self.chunkers[side].finish(change, chunks);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds a turn of `pattern` (seconds, voiced) runs; returns the chunk end times.
    fn cuts(policy: ChunkPolicy, pattern: &[(f64, bool)]) -> Vec<f64> {
        let mut c = Chunker::new(Side::Rep, policy);
        let frame = [0.1f32; FRAME];
        let mut out = Vec::new();
        let mut t = 0.0;
        let mut first = true;
        for &(secs, voiced) in pattern {
            for _ in 0..(secs / FRAME_S).round() as usize {
                t += FRAME_S;
                let change = if first {
                    Change::Started(0.0)
                } else {
                    Change::None
                };
                first = false;
                c.frame(&frame, t, change, voiced, &mut out);
            }
        }
        out.iter()
            .map(|ch| (ch.end_s * 100.0).round() / 100.0)
            .collect()
    }

    #[test]
    fn the_dc_blocker_removes_an_offset_and_keeps_a_voice() {
        let mut dc = DcBlocker::new();
        let mut last_offset = 0.0;
        for _ in 0..20 {
            let mut frame = [0.45f32; FRAME];
            dc.process(&mut frame);
            last_offset = frame[FRAME - 1];
        }
        assert!(last_offset.abs() < 1e-4, "offset left: {last_offset}");
        // 200 Hz, the bottom of a voice, passes at nearly full power.
        let mut dc = DcBlocker::new();
        let (mut power_in, mut power_out) = (0.0, 0.0);
        for f in 0..100 {
            let mut frame = [0f32; FRAME];
            for (i, s) in frame.iter_mut().enumerate() {
                let t = (f * FRAME + i) as f64 / RATE;
                *s = (2.0 * std::f64::consts::PI * 200.0 * t).sin() as f32;
            }
            let input = frame;
            dc.process(&mut frame);
            if f >= 10 {
                power_in += input.iter().map(|v| v * v).sum::<f32>();
                power_out += frame.iter().map(|v| v * v).sum::<f32>();
            }
        }
        assert!(power_out / power_in > 0.98, "{}", power_out / power_in);
    }

    #[test]
    fn the_dc_blocker_decays_to_exact_silence_not_denormals() {
        let mut dc = DcBlocker::new();
        let mut frame = [0.5f32; FRAME];
        dc.process(&mut frame);
        let mut subnormal = 0;
        let mut last = [1f32; FRAME];
        for _ in 0..200 {
            let mut frame = [0f32; FRAME];
            dc.process(&mut frame);
            subnormal += frame.iter().filter(|v| v.is_subnormal()).count();
            last = frame;
        }
        assert_eq!(subnormal, 0);
        assert!(last.iter().all(|&v| v == 0.0), "{:?}", &last[..4]);
    }

    #[test]
    fn live_chunks_end_at_the_first_real_pause_after_a_phrase() {
        let speech = [
            (2.0, true),
            (0.05, false), // a gap between words: not a pause
            (0.5, true),
            (0.4, false), // between sentences
            (3.0, true),
        ];
        let live = cuts(ChunkPolicy::LIVE, &speech);
        assert_eq!(live.len(), 1, "{live:?}");
        assert!((live[0] - 2.8).abs() < 0.05, "cut at {live:?}");
        assert!(
            cuts(ChunkPolicy::REVIEW, &speech).is_empty(),
            "review waits for 6 s"
        );
    }

    #[test]
    fn speech_without_pauses_is_cut_at_the_hard_limit() {
        let live = cuts(ChunkPolicy::LIVE, &[(13.0, true)]);
        assert_eq!(live.len(), 2, "{live:?}");
        assert!((live[0] - 6.0).abs() < 0.05 && (live[1] - 12.0).abs() < 0.05);
        let review = cuts(ChunkPolicy::REVIEW, &[(13.0, true)]);
        assert!(
            review.is_empty(),
            "review waits for a pause up to 20 s: {review:?}"
        );
        let review = cuts(ChunkPolicy::REVIEW, &[(41.0, true)]);
        assert_eq!(review.len(), 2, "{review:?}");
        assert!((review[0] - 20.0).abs() < 0.05 && (review[1] - 40.0).abs() < 0.05);
    }

    #[test]
    fn review_chunks_end_at_a_pause_not_inside_a_word() {
        // A 16 ms unvoiced frame inside a word (a stop consonant) is no place to cut.
        let speech = [
            (6.5, true),
            (0.05, false),
            (1.0, true),
            (0.3, false), // between sentences
            (2.0, true),
        ];
        let review = cuts(ChunkPolicy::REVIEW, &speech);
        assert_eq!(review.len(), 1, "{review:?}");
        assert!((review[0] - 7.75).abs() < 0.05, "cut at {review:?}");
    }
}

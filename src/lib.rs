//! twoears: a local, private listening monitor for sales calls.
//!
//! The modules form layers that point one way (`tests/layers.rs` fails on a loop). From
//! the bottom: `event` (the messages stages exchange), `clock`, `term`, `panic`; `model`
//! (model files: store, install with a probe the stages supply, conversion); `dsp`
//! (resample, align); `frontend` (echo, vad, voices, room: turns and speech chunks);
//! `talk`, `stt`; `detect` (acts and rules); `report` (the report, its explanation, its
//! pages); `history`; `pipeline` (the stages wired) and `source` (the call source and its
//! driver); `input` (recordings) and `capture` (devices); `output` (the user's files and
//! the call's sinks); the modes `review`, `live`, `batch`; and `app` (cli, commands).
//! Live and review feed the same pipeline: a call source hands `source::drive` aligned
//! 16 kHz blocks, the pipeline runs the front end, the detector and the transcriber, and
//! `report` builds the call report.

pub mod app;
pub mod batch;
pub mod capture;
pub mod clock;
pub mod detect;
pub mod dsp;
pub mod event;
pub mod frontend;
pub mod history;
pub mod input;
pub mod live;
pub mod model;
pub mod output;
pub mod panic;
pub mod pipeline;
pub mod report;
pub mod review;
pub mod source;
pub mod stt;
pub mod talk;
pub mod term;

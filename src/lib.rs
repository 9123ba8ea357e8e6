//! twoears: a local, private listening monitor for sales calls.
//!
//! The modules follow the data flow: a call source, `input` (a recording) or `live` (the
//! devices of `capture`), hands `source::drive` aligned 16 kHz blocks (`align`,
//! `resample`; a recording whose one channel holds the whole call is first split by voice
//! in `voices`); the `pipeline` runs `echo` -> `vad` (earshot, Silero) -> `frontend` (turns
//! and speech chunks, with `room`: other voices, sounds, holds)
//! -> `stt` -> `detect` (rules) and `talk`; `report` builds the call report. `review` is
//! file mode, `model` converts and installs Whisper models, `cli` and `commands` face the
//! user; `output` creates the files the user keeps, `term` escapes names for the terminal,
//! `panic` holds the stage boundaries.

pub mod align;
pub mod batch;
pub mod capture;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod detect;
pub mod echo;
pub mod event;
pub mod explain;
pub mod frontend;
pub mod history;
pub mod html;
pub mod input;
pub mod live;
pub mod model;
pub mod output;
pub mod panic;
pub mod pipeline;
pub mod report;
pub mod resample;
pub mod review;
pub mod room;
pub mod source;
pub mod stt;
pub mod talk;
pub mod term;
pub mod vad;
pub mod voices;

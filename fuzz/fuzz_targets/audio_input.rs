//! The review input path on arbitrary bytes: symphonia's probing and decoding with
//! twoears's own checks, resampling and alignment around them. It must return an error
//! or audio, never panic (issue 11).
#![no_main]

use libfuzzer_sys::fuzz_target;
use twoears::input::{CallReader, InputSpec};
use twoears::source::CallSource;

fuzz_target!(|data: &[u8]| {
    // twoears catches a decoder library's panic at its boundary and turns it into an error
    // (the regression test is tests/review_input.rs); libfuzzer-sys's hook would abort on
    // it all the same. A panic that escapes still aborts: libfuzzer-sys catches it.
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    // The input path opens files by name, as review does.
    let path = std::env::temp_dir().join(format!("twoears-fuzz-{}.bin", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let spec = InputSpec::Stereo {
        path: path.clone(),
        rep_channel: None,
        prospect_channel: None,
    };
    if let Ok(mut call) = CallReader::open(&spec) {
        let (mut rep, mut prospect) = (Vec::new(), Vec::new());
        // A bounded read: a header may declare hours of audio.
        for _ in 0..64 {
            if !call.next(&mut rep, &mut prospect) {
                break;
            }
        }
        let _ = call.warnings();
    }
    let _ = std::fs::remove_file(&path);
});

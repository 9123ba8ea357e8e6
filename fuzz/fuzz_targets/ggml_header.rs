//! The ggml walk every model gets before whisper.cpp: on arbitrary bytes it must return,
//! never panic or allocate what the header claims (issue 11 item 2).
#![no_main]

use libfuzzer_sys::fuzz_target;
use twoears::model::ggml;

fuzz_target!(|data: &[u8]| {
    let _ = ggml::check(std::io::Cursor::new(data));
});

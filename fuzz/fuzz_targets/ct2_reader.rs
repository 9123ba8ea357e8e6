//! The CTranslate2 reader and converter on arbitrary model.bin bytes: an error is fine, a
//! panic, abort or runaway allocation is a bug (issue 11 item 3).
#![no_main]

use libfuzzer_sys::fuzz_target;
use twoears::model::{convert, ct2, ggml};

fuzz_target!(|data: &[u8]| {
    if let Ok(model) = ct2::parse(data) {
        let tokens = ["a".to_string(), "<|endoftext|>".to_string()];
        let _ = convert::convert_model(&model, &tokens, ggml::Storage::F16, &mut std::io::sink());
    }
});

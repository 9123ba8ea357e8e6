//! The rules file parser on arbitrary text: it returns a config and its problems, never
//! panics (issue 11).
#![no_main]

use libfuzzer_sys::fuzz_target;
use twoears::detect::rules;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = rules::parse(text);
    }
});

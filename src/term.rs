//! Text bound for the terminal. File names and other names a user or a folder supplied
//! may hold control characters: printed raw, `\x1b[2J` clears the screen and `\x1b]0;..\x07`
//! retitles the window. Every such name goes through [`escape`] on its way out, so it can
//! still be told apart; a report's text (alert messages, evidence) through [`strip`].

use std::borrow::Cow;
use std::fmt::Write;
use std::path::Path;

/// Whether colour may be written to a terminal, given the `NO_COLOR` variable: present and
/// not empty turns it off (no-color.org).
pub fn colour_allowed(no_color: Option<&std::ffi::OsStr>) -> bool {
    no_color.is_none_or(std::ffi::OsStr::is_empty)
}

/// An error and its causes on one line, as the command line prints them: for errors
/// that become a warning line instead of ending the run.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut said = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        said.push_str(": ");
        said.push_str(&c.to_string());
        cause = c.source();
    }
    said
}

/// `text` with every control character (C0, DEL, C1) written as an escape, `\x1b` or
/// `\u{9b}`; everything else as it is.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if !c.is_control() => out.push(c),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

/// `text` without control characters (escape sequences lose their ESC and print as text).
pub fn strip(text: &str) -> Cow<'_, str> {
    if text.chars().any(char::is_control) {
        Cow::Owned(text.chars().filter(|c| !c.is_control()).collect())
    } else {
        Cow::Borrowed(text)
    }
}

/// `path` as [`escape`] prints it.
pub fn path(path: &Path) -> String {
    escape(&path.display().to_string()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_set_to_anything_turns_colour_off() {
        use std::ffi::OsStr;
        assert!(colour_allowed(None));
        assert!(colour_allowed(Some(OsStr::new(""))));
        assert!(!colour_allowed(Some(OsStr::new("1"))));
        assert!(!colour_allowed(Some(OsStr::new("0"))));
    }

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(escape("call 1 é.wav"), "call 1 é.wav");
        assert_eq!(
            escape("a\x1b[2J\x1b]0;pwned\x07\nb\u{9b}c"),
            "a\\x1b[2J\\x1b]0;pwned\\x07\\x0ab\\u{9b}c"
        );
        assert_eq!(path(Path::new("/d/\x1bx.wav")), "/d/\\x1bx.wav");
    }
}

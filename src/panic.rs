//! Panics at the stage boundaries: a bug in one stage (a decoder, the transcriber) must
//! cost that stage's work, never the report of the rest of the call. `catch` turns a
//! panic into its one-line message; the hook prints one line for a panic nobody catches,
//! and nothing for one a boundary will report itself.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};

thread_local! {
    /// Inside `catch` on this thread: the boundary reports the panic, the hook stays quiet.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
    /// The message and place of the last panic caught on this thread.
    static LAST: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Replaces the default hook (message, thread name, backtrace note) with one line.
pub fn install_hook() {
    panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let line = format!("{}{place}", message(info.payload()));
        if CATCHING.get() {
            LAST.set(Some(line));
        } else {
            let thread = std::thread::current();
            eprintln!(
                "twoears: internal error in thread {}: {}; please report it",
                thread.name().unwrap_or("unnamed"),
                crate::term::escape(&line)
            );
        }
    }));
}

/// Runs `f`; a panic inside becomes `Err` with its message and place.
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    let outer = CATCHING.replace(true);
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    CATCHING.set(outer);
    result.map_err(|payload| LAST.take().unwrap_or_else(|| message(&*payload)))
}

/// The text a panic was raised with.
pub fn message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caught_panic_is_its_message_and_the_catcher_goes_on() {
        // Without the hook (tests share one process) the message comes from the payload.
        let got = catch(|| -> u32 { panic!("TimeBase cannot have 0 numerator") });
        assert_eq!(got.unwrap_err(), "TimeBase cannot have 0 numerator");
        assert_eq!(catch(|| 7), Ok(7));
        // Nested boundaries: the inner one reports, the outer one still catches.
        let outer = catch(|| {
            assert!(catch(|| panic!("inner")).is_err());
            panic!("outer")
        });
        assert!(outer.unwrap_err().starts_with("outer"));
    }
}

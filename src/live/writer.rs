//! Outputs off the stage thread: the status line and notifications, the event log and
//! the recording are written by threads of their own, fed through bounded channels with
//! `try_send`. A slow disk, a terminal paused with Ctrl-S or a slow notification daemon
//! never holds up the audio.

use std::thread::JoinHandle;

use crossbeam_channel::{bounded, Sender, TrySendError};

pub struct Offload<T: Send + 'static> {
    tx: Option<Sender<T>>,
    handle: Option<JoinHandle<()>>,
}

impl<T: Send + 'static> Offload<T> {
    /// A thread named `name` that hands every message to `work`, with room for
    /// `capacity` messages queued.
    pub fn spawn(name: &str, capacity: usize, mut work: impl FnMut(T) + Send + 'static) -> Self {
        let (tx, rx) = bounded::<T>(capacity);
        let handle = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                for msg in rx {
                    work(msg);
                }
            })
            .expect("spawning a thread");
        Self {
            tx: Some(tx),
            handle: Some(handle),
        }
    }

    /// Queues `msg` without waiting; hands it back when the writer is that far behind
    /// (or gone).
    pub fn send(&self, msg: T) -> Result<(), T> {
        match &self.tx {
            Some(tx) => tx.try_send(msg).map_err(|e| match e {
                TrySendError::Full(m) | TrySendError::Disconnected(m) => m,
            }),
            None => Err(msg),
        }
    }

    /// Queues `msg`, waiting for room: only for the end, when nothing else is waiting.
    pub fn send_waiting(&self, msg: T) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(msg);
        }
    }

    /// Stops taking messages without waiting for the writer (stuck on a hung disk): what
    /// it has queued is written if it ever comes back.
    pub fn abandon(&mut self) {
        drop(self.tx.take());
        drop(self.handle.take());
    }

    /// Waits until everything queued is written; later messages are refused.
    pub fn close(&mut self) {
        drop(self.tx.take());
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl<T: Send + 'static> Drop for Offload<T> {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn a_slow_writer_never_blocks_the_sender_and_close_writes_what_was_queued() {
        let written = Arc::new(Mutex::new(Vec::new()));
        let (gate_tx, gate_rx) = bounded::<()>(0);
        let sink = written.clone();
        let mut o = Offload::spawn("test-writer", 2, move |n: u32| {
            // The first write waits until the test lets it go: a stalled disk.
            if n == 0 {
                let _ = gate_rx.recv();
            }
            sink.lock().unwrap().push(n);
        });
        let started = std::time::Instant::now();
        let refused: Vec<u32> = (0..10).filter(|&n| o.send(n).is_err()).collect();
        assert!(
            started.elapsed() < std::time::Duration::from_millis(100),
            "never waits"
        );
        assert!(!refused.is_empty(), "a full queue hands messages back");
        gate_tx.send(()).unwrap();
        o.close();
        let w = written.lock().unwrap();
        assert_eq!(w[0], 0);
        assert_eq!(
            w.len() + refused.len(),
            10,
            "every message written or handed back"
        );
        assert!(o.send(99).is_err(), "closed");
    }
}

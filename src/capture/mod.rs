//! Live capture: one device per side of the call, each feeding a lock-free ring from its
//! audio callback, with a supervisor that reopens a device that goes away.

pub mod devices;
#[cfg(target_os = "linux")]
pub mod pulse_pin;
pub mod side;

/// Elsewhere there is no pulse server to move streams behind our back.
#[cfg(not(target_os = "linux"))]
pub mod pulse_pin {
    pub struct Pin;
    type Result<T> = std::result::Result<T, &'static str>;
    impl Pin {
        pub fn connect() -> Result<Self> {
            Err("not a pulse host")
        }
        pub fn adopt(&mut self, _: &str) -> Result<()> {
            Ok(())
        }
        pub fn keep_on(&mut self, _: &str) -> Result<Option<String>> {
            Ok(None)
        }
    }
}

pub use devices::Role;

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error(
        "no sound server answered ({0}); start PulseAudio or PipeWire (with pipewire-pulse), \
         or point PULSE_SERVER at one"
    )]
    NoServer(String),
    #[error(
        "no {} device named {query:?}; pass {} one of: {available}",
        role.label(),
        role.flag()
    )]
    UnknownDevice {
        role: Role,
        query: String,
        available: String,
    },
    #[error(
        "{:?} matches several {} devices ({matches}); pass {} a longer part of the name",
        query,
        role.label(),
        role.flag()
    )]
    Ambiguous {
        role: Role,
        query: String,
        matches: String,
    },
    #[error("{}", no_default_hint(*role, available))]
    NoDefault { role: Role, available: String },
    #[error("cannot open {device} for capture: {reason}; check `twoears devices`")]
    Open { device: String, reason: String },
}

fn no_default_hint(role: Role, available: &str) -> String {
    match role {
        Role::System if cfg!(target_os = "macos") => format!(
            "macOS cannot capture what the speakers play without a loopback device: install \
             one (e.g. BlackHole), send the call's output to it and pass --system NAME \
             (available: {available})"
        ),
        _ => format!(
            "no default {} device; pass {} one of: {available}",
            role.label(),
            role.flag()
        ),
    }
}

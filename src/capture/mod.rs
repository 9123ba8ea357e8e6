//! Live capture: one device per side of the call, each feeding a lock-free ring from its
//! audio callback, with a supervisor that reopens a device that goes away.

pub mod devices;
#[cfg(target_os = "linux")]
pub mod pulse;
#[cfg(target_os = "linux")]
pub mod pulse_pin;
pub mod side;

/// Which side of the call a device captures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Mic,
    System,
}

impl Role {
    pub fn flag(self) -> &'static str {
        match self {
            Role::Mic => "--mic",
            Role::System => "--system",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Mic => "mic",
            Role::System => "system audio",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The client library's own error is the cause.
    #[error(
        "no sound server answered (start PulseAudio or PipeWire with pipewire-pulse, or point \
         PULSE_SERVER at one)"
    )]
    NoServer(#[source] Box<dyn std::error::Error + Send + Sync>),
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
    /// The device exists but would not start; a retry may help once it is free again.
    #[error("cannot open {device} for capture (check `twoears devices`)")]
    Open {
        device: String,
        #[source]
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
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

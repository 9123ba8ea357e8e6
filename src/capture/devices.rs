//! Finding the two devices: the rep's microphone and the system audio (what the rep hears).
//! On Linux both PulseAudio and PipeWire (through pipewire-pulse) serve a `.monitor`
//! source for every output, which is the system audio; Windows captures the default
//! output by WASAPI loopback; macOS needs a loopback device the user installs.

use super::{CaptureError, Role};

/// A device as the user names it.
#[derive(Debug, Clone)]
pub struct DeviceInfo {
    /// The sound server's name (a PulseAudio source name such as `callsink.monitor`).
    pub name: String,
    pub description: String,
    /// Can be opened for capture (sources, monitors; outputs on WASAPI, by loopback).
    pub capture: bool,
    /// Captures what an output plays.
    pub monitor: bool,
}

/// The sound server, asked for its devices: on Linux a client of the PulseAudio protocol
/// (plain PulseAudio and PipeWire's pipewire-pulse both speak it), else the platform's
/// cpal host.
pub struct Host {
    #[cfg(target_os = "linux")]
    client: pulseaudio::Client,
    #[cfg(not(target_os = "linux"))]
    cpal: cpal::Host,
}

/// Reaches the sound server.
///
/// # Errors
/// No sound server answers (on Linux after a few seconds of asking again, when one is
/// there but the connection fails).
pub fn open_host() -> Result<Host, CaptureError> {
    #[cfg(target_os = "linux")]
    {
        super::pulse::connect()
            .map(|client| Host { client })
            .map_err(|e| CaptureError::NoServer(e.into()))
    }
    #[cfg(not(target_os = "linux"))]
    {
        Ok(Host {
            cpal: cpal::default_host(),
        })
    }
}

#[cfg(not(target_os = "linux"))]
fn info(device: &cpal::Device) -> Option<DeviceInfo> {
    use cpal::traits::DeviceTrait;
    let name = device.id().ok()?.id().to_string();
    let description = device
        .description()
        .map(|d| d.name().to_string())
        .unwrap_or_else(|_| name.clone());
    let monitor = name.ends_with(".monitor");
    // WASAPI captures any output by loopback; elsewhere only inputs can be opened.
    let capture = device.supports_input() || cfg!(target_os = "windows");
    Some(DeviceInfo {
        name,
        description,
        capture,
        monitor: monitor || (cfg!(target_os = "windows") && !device.supports_input()),
    })
}

/// Every device the server offers, inputs first.
///
/// # Errors
/// The server cannot list its devices.
#[cfg(target_os = "linux")]
pub fn list(host: &Host) -> Result<Vec<DeviceInfo>, CaptureError> {
    let sources = futures::executor::block_on(host.client.list_sources())
        .map_err(|e| CaptureError::NoServer(super::pulse::ClientFailure::Client(e).into()))?;
    let mut all: Vec<_> = sources
        .into_iter()
        .map(|s| {
            let name = s.name.to_string_lossy().into_owned();
            DeviceInfo {
                description: s
                    .description
                    .map_or_else(|| name.clone(), |d| d.to_string_lossy().into_owned()),
                capture: true,
                monitor: name.ends_with(".monitor"),
                name,
            }
        })
        .collect();
    all.sort_by_key(|i| i.monitor);
    Ok(all)
}

/// Every device the server offers, inputs first.
///
/// # Errors
/// The server cannot list its devices.
#[cfg(not(target_os = "linux"))]
pub fn list(host: &Host) -> Result<Vec<DeviceInfo>, CaptureError> {
    use cpal::traits::HostTrait;
    let devices = host
        .cpal
        .devices()
        .map_err(|e| CaptureError::NoServer(e.into()))?;
    let mut all: Vec<_> = devices.filter_map(|d| info(&d)).collect();
    all.sort_by_key(|i| (!i.capture, i.monitor));
    Ok(all)
}

/// The device `query` names: exact name or description first, else a unique
/// case-insensitive substring of either. Without a query, the role's default.
///
/// # Errors
/// Nothing or more than one device matches; no default exists.
pub fn resolve(host: &Host, role: Role, query: Option<&str>) -> Result<DeviceInfo, CaptureError> {
    let all = list(host)?;
    // A monitor is no microphone: offered for --mic only when named exactly.
    let named = |i: &DeviceInfo| query.is_some_and(|q| i.name == q);
    let candidates: Vec<_> = all
        .into_iter()
        .filter(|i| i.capture && (role == Role::System || !i.monitor || named(i)))
        .collect();
    let names = || {
        candidates
            .iter()
            .map(|i| i.name.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let query = match query {
        Some(q) => q.to_string(),
        None => default_name(host, role).ok_or_else(|| CaptureError::NoDefault {
            role,
            available: names(),
        })?,
    };
    let q = query.to_lowercase();
    let exact: Vec<_> = candidates
        .iter()
        .filter(|i| i.name.to_lowercase() == q || i.description.to_lowercase() == q)
        .collect();
    let matches = if exact.is_empty() {
        candidates
            .iter()
            .filter(|i| {
                i.name.to_lowercase().contains(&q) || i.description.to_lowercase().contains(&q)
            })
            .collect()
    } else {
        exact
    };
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(CaptureError::UnknownDevice {
            role,
            query,
            available: names(),
        }),
        many => Err(CaptureError::Ambiguous {
            role,
            query,
            matches: many
                .iter()
                .map(|i| i.name.clone())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// The capture device with exactly this server name, if the server still has it.
///
/// # Errors
/// The server cannot list its devices.
#[cfg(not(target_os = "linux"))]
pub fn by_name(
    host: &Host,
    name: &str,
) -> Result<Option<(DeviceInfo, cpal::Device)>, CaptureError> {
    use cpal::traits::HostTrait;
    let devices = host
        .cpal
        .devices()
        .map_err(|e| CaptureError::NoServer(e.into()))?;
    Ok(devices
        .filter_map(|d| info(&d).map(|i| (i, d)))
        .find(|(i, _)| i.capture && i.name == name))
}

/// The default device name for a role, as `resolve` would match it: on Linux the default
/// source, or the monitor of the default sink.
#[cfg(target_os = "linux")]
fn default_name(host: &Host, role: Role) -> Option<String> {
    let info = futures::executor::block_on(host.client.server_info()).ok()?;
    match role {
        Role::Mic => info
            .default_source_name
            .map(|s| s.to_string_lossy().into_owned()),
        Role::System => info
            .default_sink_name
            .map(|s| format!("{}.monitor", s.to_string_lossy())),
    }
}

/// The default device name for a role, as `resolve` would match it.
#[cfg(not(target_os = "linux"))]
fn default_name(host: &Host, role: Role) -> Option<String> {
    use cpal::traits::{DeviceTrait, HostTrait};
    let id = |d: cpal::Device| d.id().ok().map(|i| i.id().to_string());
    match role {
        Role::Mic => host.cpal.default_input_device().and_then(id),
        Role::System => {
            let output = host.cpal.default_output_device().and_then(id)?;
            if cfg!(target_os = "windows") {
                Some(output)
            } else {
                // macOS has no monitor of an output; the user routes the call to a loopback
                // device and names it.
                None
            }
        }
    }
}

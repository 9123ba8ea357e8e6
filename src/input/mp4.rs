//! The encoder delay an MP4 file states in its audio track's edit list: AAC encoders put
//! 1024 to 2112 priming samples before the first real one, and the edit list tells a
//! player to skip them. Symphonia does not read edit lists, so without this every time in
//! an .m4a or .mp4 review would be late by the priming (64 ms at 16 kHz).
//!
//! Reads only box headers and the few small boxes it needs; a damaged or strange file
//! gives `None` (no trim), never an error: the audio is still read.

use std::io::{Read, Seek, SeekFrom};

/// A `moov` larger than this is not read (a real one is a few hundred KB at most).
const MAX_MOOV_BYTES: u64 = 32 << 20;

/// One box: its type and where its body lies in `buf` (or in the file).
struct Atom {
    kind: [u8; 4],
    body: std::ops::Range<usize>,
}

/// The boxes directly inside `buf`.
fn atoms(buf: &[u8]) -> Vec<Atom> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + 8 <= buf.len() {
        let size = u32::from_be_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]) as usize;
        let kind = [buf[at + 4], buf[at + 5], buf[at + 6], buf[at + 7]];
        let (header, size) = match size {
            0 => (8, buf.len() - at),
            1 => match buf.get(at + 8..at + 16) {
                Some(b) => (
                    16,
                    usize::try_from(u64::from_be_bytes(b.try_into().unwrap_or_default()))
                        .unwrap_or(usize::MAX),
                ),
                None => break,
            },
            n => (8, n),
        };
        let Some(end) = at
            .checked_add(size)
            .filter(|&e| e <= buf.len() && size >= header)
        else {
            break;
        };
        out.push(Atom {
            kind,
            body: at + header..end,
        });
        at = end;
    }
    out
}

fn child<'a>(buf: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    atoms(buf)
        .into_iter()
        .find(|a| &a.kind == kind)
        .map(|a| &buf[a.body])
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The `moov` box of an MP4 file, wherever it lies (before or after the media data).
fn moov<R: Read + Seek>(file: &mut R) -> Option<Vec<u8>> {
    let len = file.seek(SeekFrom::End(0)).ok()?;
    let mut at = 0u64;
    while at + 8 <= len {
        file.seek(SeekFrom::Start(at)).ok()?;
        let mut head = [0u8; 16];
        file.read_exact(&mut head[..8]).ok()?;
        let size = u64::from(u32::from_be_bytes(head[..4].try_into().ok()?));
        let (header, size) = match size {
            0 => (8, len - at),
            1 => {
                file.read_exact(&mut head[8..]).ok()?;
                (16, u64::from_be_bytes(head[8..].try_into().ok()?))
            }
            n => (8, n),
        };
        if size < header {
            return None;
        }
        if &head[4..8] == b"moov" {
            let body = size - header;
            if body > MAX_MOOV_BYTES {
                return None;
            }
            let mut buf = vec![0u8; usize::try_from(body).ok()?];
            file.read_exact(&mut buf).ok()?;
            return Some(buf);
        }
        at = at.checked_add(size)?;
    }
    None
}

/// The first audio track's priming, in its own samples (its `mdhd` time scale), and that
/// time scale.
fn priming_of(moov: &[u8]) -> Option<(u64, u32)> {
    for trak in atoms(moov).into_iter().filter(|a| &a.kind == b"trak") {
        let trak = &moov[trak.body];
        let Some(mdia) = child(trak, b"mdia") else {
            continue;
        };
        if child(mdia, b"hdlr").and_then(|h| h.get(8..12)) != Some(b"soun") {
            continue;
        }
        let mdhd = child(mdia, b"mdhd")?;
        let timescale = match mdhd.first()? {
            1 => be_u32(mdhd, 20)?,
            _ => be_u32(mdhd, 12)?,
        };
        let elst = child(child(trak, b"edts")?, b"elst")?;
        let version = *elst.first()?;
        let count = be_u32(elst, 4)?;
        // The first edit that plays media: an empty edit (media time -1) only delays.
        let entry = if version == 1 { 20 } else { 12 };
        for i in 0..count.min(16) as usize {
            let at = 8 + i * entry;
            let media_time = if version == 1 {
                be_u64(elst, at + 8)? as i64
            } else {
                i64::from(be_u32(elst, at + 4)? as i32)
            };
            if media_time >= 0 {
                return Some((media_time as u64, timescale));
            }
        }
        return None;
    }
    None
}

/// The encoder delay an MP4 file's audio track states: (samples, their time scale), or
/// `None` when it states none or cannot be read. Leaves the file at its start.
pub fn priming<R: Read + Seek>(file: &mut R) -> Option<(u64, u32)> {
    let found = moov(file).and_then(|m| priming_of(&m));
    file.seek(SeekFrom::Start(0)).ok()?;
    // More than a second is no encoder delay: an edit we do not follow.
    found.filter(|&(samples, timescale)| timescale > 0 && samples <= u64::from(timescale))
}

/// `priming` in frames at `rate_hz`.
pub fn priming_frames((samples, timescale): (u64, u32), rate_hz: u32) -> u64 {
    samples * u64::from(rate_hz) / u64::from(timescale.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(body);
        b
    }

    fn file(handler: &[u8; 4], media_time: i32) -> Vec<u8> {
        let mut hdlr = vec![0u8; 8];
        hdlr.extend_from_slice(handler);
        hdlr.extend_from_slice(&[0u8; 12]);
        let mut mdhd = vec![0u8; 12];
        mdhd.extend_from_slice(&48_000u32.to_be_bytes());
        mdhd.extend_from_slice(&[0u8; 8]);
        let mut elst = vec![0u8; 4];
        elst.extend_from_slice(&1u32.to_be_bytes());
        elst.extend_from_slice(&1000u32.to_be_bytes());
        elst.extend_from_slice(&media_time.to_be_bytes());
        elst.extend_from_slice(&0x0001_0000u32.to_be_bytes());
        let mdia = [boxed(b"mdhd", &mdhd), boxed(b"hdlr", &hdlr)].concat();
        let trak = [
            boxed(b"edts", &boxed(b"elst", &elst)),
            boxed(b"mdia", &mdia),
        ]
        .concat();
        [
            boxed(b"ftyp", b"M4A \0\0\0\0"),
            boxed(b"mdat", &[0u8; 100]),
            boxed(b"moov", &boxed(b"trak", &trak)),
        ]
        .concat()
    }

    #[test]
    fn the_audio_tracks_edit_list_gives_the_priming_at_the_output_rate() {
        let mut f = std::io::Cursor::new(file(b"soun", 1024));
        let found = priming(&mut f).unwrap();
        assert_eq!(found, (1024, 48_000));
        assert_eq!(f.position(), 0, "rewound for the demuxer");
        assert_eq!(priming_frames(found, 16_000), 341);
    }

    #[test]
    fn no_audio_track_or_a_damaged_file_gives_no_trim() {
        let mut f = std::io::Cursor::new(file(b"vide", 1024));
        assert_eq!(priming(&mut f), None);
        let mut cut = file(b"soun", 1024);
        cut.truncate(cut.len() - 30);
        assert_eq!(priming(&mut std::io::Cursor::new(cut)), None);
        let mut huge = file(b"soun", 1024);
        huge[..4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(priming(&mut std::io::Cursor::new(huge)), None);
        assert_eq!(
            priming(&mut std::io::Cursor::new(file(b"soun", 96_000))),
            None
        );
    }
}

//! A TensorBoard event-file writer: scalar summaries as `Event` protocol buffers in TFRecord
//! framing (length, masked CRC32C, payload, masked CRC32C), written by hand so the format stays
//! small and under the project's control.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// CRC-32C (Castagnoli), the checksum TFRecord framing uses.
pub fn crc32c(data: &[u8]) -> u32 {
    const POLY: u32 = 0x82F6_3B78;
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ POLY } else { crc >> 1 };
        }
    }
    !crc
}

fn masked_crc(data: &[u8]) -> u32 {
    let c = crc32c(data);
    (c.rotate_right(15)).wrapping_add(0xA282_EAD8)
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn key(out: &mut Vec<u8>, field: u32, wire: u8) {
    varint(out, ((field as u64) << 3) | wire as u64);
}

fn bytes_field(out: &mut Vec<u8>, field: u32, data: &[u8]) {
    key(out, field, 2);
    varint(out, data.len() as u64);
    out.extend_from_slice(data);
}

/// Encodes `Event { wall_time = 1, step = 2, file_version = 3 | summary = 5 }`.
fn event(wall_time: f64, step: i64, body: EventBody<'_>) -> Vec<u8> {
    let mut e = Vec::with_capacity(64);
    key(&mut e, 1, 1);
    e.extend_from_slice(&wall_time.to_le_bytes());
    key(&mut e, 2, 0);
    varint(&mut e, step as u64);
    match body {
        EventBody::FileVersion(v) => bytes_field(&mut e, 3, v.as_bytes()),
        EventBody::Scalar(tag, value) => {
            // Summary { repeated Value value = 1 }, Value { tag = 1, simple_value = 2 }
            let mut v = Vec::with_capacity(tag.len() + 8);
            bytes_field(&mut v, 1, tag.as_bytes());
            key(&mut v, 2, 5);
            v.extend_from_slice(&value.to_le_bytes());
            let mut summary = Vec::with_capacity(v.len() + 4);
            bytes_field(&mut summary, 1, &v);
            bytes_field(&mut e, 5, &summary);
        }
    }
    e
}

enum EventBody<'a> {
    FileVersion(&'a str),
    Scalar(&'a str, f32),
}

/// Writes scalars to `events.out.tfevents.<time>.moralgym` in a log directory.
pub struct SummaryWriter {
    out: BufWriter<File>,
    path: PathBuf,
}

impl SummaryWriter {
    /// Creates the directory and a new event file in it.
    pub fn create(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        // seconds first (TensorBoard sorts by them); the nanoseconds keep a resumed run's file apart
        let path = dir.join(format!("events.out.tfevents.{}.moralgym-{}", now.as_secs(), now.subsec_nanos()));
        let mut w = Self { out: BufWriter::new(File::create(&path)?), path };
        w.record(&event(wall_time(), 0, EventBody::FileVersion("brain.Event:2")))?;
        Ok(w)
    }

    /// The event file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Adds one scalar point.
    pub fn scalar(&mut self, tag: &str, value: f32, step: u64) -> std::io::Result<()> {
        self.record(&event(wall_time(), step as i64, EventBody::Scalar(tag, value)))
    }

    /// Pushes buffered records to disk.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    fn record(&mut self, data: &[u8]) -> std::io::Result<()> {
        let len = (data.len() as u64).to_le_bytes();
        self.out.write_all(&len)?;
        self.out.write_all(&masked_crc(&len).to_le_bytes())?;
        self.out.write_all(data)?;
        self.out.write_all(&masked_crc(data).to_le_bytes())
    }
}

fn wall_time() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// Reads back the scalars of an event file as (tag, step, value), checking every CRC.
pub fn read_scalars(path: &Path) -> std::io::Result<Vec<(String, u64, f32)>> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let data = std::fs::read(path)?;
    let mut out = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let header = data.get(at..at + 12).ok_or_else(|| bad("truncated record header"))?;
        let len = u64::from_le_bytes(header[..8].try_into().map_err(|_| bad("header"))?) as usize;
        if masked_crc(&header[..8]).to_le_bytes() != header[8..12] {
            return Err(bad("length CRC mismatch"));
        }
        let body = data.get(at + 12..at + 12 + len).ok_or_else(|| bad("truncated record"))?;
        let crc = data.get(at + 12 + len..at + 16 + len).ok_or_else(|| bad("truncated CRC"))?;
        if masked_crc(body).to_le_bytes() != crc {
            return Err(bad("data CRC mismatch"));
        }
        if let Some(s) = parse_scalar(body) {
            out.push(s);
        }
        at += 16 + len;
    }
    Ok(out)
}

/// The complete records of an event file (a file cut short by a kill ends at its last whole
/// record), each with its event's step.
fn records(data: &[u8]) -> Vec<(&[u8], u64)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(header) = data.get(at..at + 12) {
        let len = u64::from_le_bytes(header[..8].try_into().unwrap_or_default()) as usize;
        let Some(record) = data.get(at..at + 16 + len) else { break };
        let body = &record[12..12 + len];
        if masked_crc(&header[..8]).to_le_bytes() != header[8..12]
            || masked_crc(body).to_le_bytes() != record[12 + len..]
        {
            break;
        }
        let mut step = 0;
        fields(body, |field, _, p| {
            if field == 2 {
                step = read_varint(p, &mut 0).unwrap_or(0);
            }
        });
        out.push((record, step));
        at += 16 + len;
    }
    out
}

/// Rewrites every event file in `dir` without the records of steps after `max_step` (and
/// without a record a kill cut short), so that a resumed run logs each step once.
pub fn truncate_after(dir: &Path, max_step: u64) -> std::io::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(()) };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("events.out.tfevents.")) {
            continue;
        }
        let data = std::fs::read(&path)?;
        let kept: Vec<u8> =
            records(&data).into_iter().filter(|(_, step)| *step <= max_step).flat_map(|(r, _)| r.to_vec()).collect();
        if kept.len() != data.len() {
            crate::lock::write_atomic(&path, kept)?;
        }
    }
    Ok(())
}

fn read_varint(b: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*at)?;
        *at += 1;
        v |= ((byte & 0x7F) as u64) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Walks the fields of one message, calling `f(field, wire, payload)`.
fn fields<'a>(b: &'a [u8], mut f: impl FnMut(u64, u8, &'a [u8])) -> Option<()> {
    let mut at = 0;
    while at < b.len() {
        let k = read_varint(b, &mut at)?;
        let (field, wire) = (k >> 3, (k & 7) as u8);
        let len = match wire {
            0 => {
                let start = at;
                read_varint(b, &mut at)?;
                f(field, wire, &b[start..at]);
                continue;
            }
            1 => 8,
            5 => 4,
            2 => read_varint(b, &mut at)? as usize,
            _ => return None,
        };
        f(field, wire, b.get(at..at + len)?);
        at += len;
    }
    Some(())
}

fn parse_scalar(event: &[u8]) -> Option<(String, u64, f32)> {
    let (mut step, mut summary) = (0u64, None);
    fields(event, |field, _, p| match field {
        2 => step = read_varint(p, &mut 0).unwrap_or(0),
        5 => summary = Some(p),
        _ => {}
    })?;
    let mut value = None;
    fields(summary?, |field, _, p| {
        if field == 1 {
            value = Some(p);
        }
    })?;
    let (mut tag, mut x) = (None, None);
    fields(value?, |field, _, p| match field {
        1 => tag = String::from_utf8(p.to_vec()).ok(),
        2 => x = p.try_into().ok().map(f32::from_le_bytes),
        _ => {}
    })?;
    Some((tag?, step, x?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_standard_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
    }

    #[test]
    fn scalars_round_trip_through_an_event_file() {
        let dir = std::env::temp_dir().join(format!("moralgym-tb-{}", std::process::id()));
        let mut w = SummaryWriter::create(&dir).expect("writable temp dir");
        w.scalar("charts/episodic_return", 1.5, 10).expect("write");
        w.scalar("costs/harm_other", 0.25, 20).expect("write");
        w.flush().expect("flush");
        let read = read_scalars(w.path()).expect("valid file");
        assert_eq!(read, vec![("charts/episodic_return".into(), 10, 1.5), ("costs/harm_other".into(), 20, 0.25)]);
        // a flipped byte is caught by the CRC
        let mut bytes = std::fs::read(w.path()).expect("read");
        let last = bytes.len() - 6;
        bytes[last] ^= 1;
        std::fs::write(w.path(), bytes).expect("write");
        assert!(read_scalars(w.path()).is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}

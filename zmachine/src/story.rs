//! A story file, checked once at load and shared (read-only) by every machine that plays it.

use std::sync::{Arc, OnceLock};

use crate::StoryError;
use crate::exec::Instr;
use crate::text::{Alphabet, DEFAULT_UNICODE};

/// Largest story file any supported version allows (version 8: 512 kB).
pub const MAX_STORY_LEN: usize = 512 * 1024;

/// The immutable part of a game: its bytes as loaded and what the header says about them.
/// Cloning is cheap (the bytes are shared).
#[derive(Clone, Debug)]
pub struct Story(pub(crate) Arc<Inner>);

#[derive(Debug)]
pub(crate) struct Inner {
    pub bytes: Box<[u8]>,
    pub version: u8,
    /// Packed addresses are multiplied by `1 << pack_shift`.
    pub pack_shift: u32,
    /// Dynamic memory is `bytes[..static_base]`: what a snapshot copies.
    pub static_base: usize,
    pub initial_pc: usize,
    pub dictionary: usize,
    pub objects: usize,
    pub globals: usize,
    pub abbreviations: usize,
    pub alphabet: Alphabet,
    /// ZSCII 155.. as Unicode (the header extension's table or the standard one).
    pub unicode: Vec<char>,
    /// Whether `verify` succeeds: the header checksum against the file's own bytes.
    pub checksum_ok: bool,
    /// Instructions decoded so far, by address from `static_base` (that memory never changes),
    /// shared by every machine playing the story.
    pub decoded: Box<[Slot]>,
    /// Strings decoded so far, by address. What a string's decoding read of dynamic memory (its
    /// own bytes, where it lies there, and the abbreviations it used) was as the story loaded
    /// it: a machine uses the string only while those bytes are so.
    pub strings: Box<[OnceLock<Box<Printed>>]>,
}

/// One instruction of the cache, decoded or not: aligned so that each lies in one cache line
/// (an instruction's address is looked up once per instruction executed). 32 bytes where the
/// slot's state takes 4, as on Linux (at 40 bytes, three slots in five lay across two lines).
#[derive(Debug)]
#[repr(align(32))]
pub(crate) struct Slot(pub OnceLock<Instr>);

#[cfg(target_os = "linux")]
const _: () = assert!(std::mem::size_of::<Slot>() == 32);

/// A string decoded: its ZSCII codes, the address past it, its text when every code is a
/// character printed as it is (then the lower window takes the text at once), and the parts of
/// dynamic memory the decoding read (from, to).
#[derive(Debug)]
pub(crate) struct Printed {
    pub codes: Box<[u16]>,
    pub text: Option<Box<str>>,
    pub end: usize,
    pub reads: Box<[(u32, u32)]>,
}

fn word(b: &[u8], a: usize) -> usize {
    usize::from(b[a]) << 8 | usize::from(b[a + 1])
}

impl Story {
    /// Checks a story file's header and tables. Every problem is a [`StoryError`] naming the
    /// header field; nothing here panics, whatever the bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Story, StoryError> {
        let bytes: Vec<u8> = bytes.into();
        let len = bytes.len();
        if len < 64 {
            return Err(StoryError::TooShort(len));
        }
        if len > MAX_STORY_LEN {
            return Err(StoryError::TooLong(len));
        }
        let version = bytes[0];
        let pack_shift = match version {
            3 => 1,
            4 | 5 => 2,
            8 => 3,
            v => return Err(StoryError::Version(v)),
        };
        let field = |name: &'static str, at: usize, limit: usize| -> Result<usize, StoryError> {
            let value = word(&bytes, at);
            if value < 64 || value >= limit {
                return Err(StoryError::Header { field: name, value, limit });
            }
            Ok(value)
        };
        let static_base = word(&bytes, 0x0e);
        if !(64..=len).contains(&static_base) {
            return Err(StoryError::Header { field: "static memory base", value: static_base, limit: len });
        }
        let initial_pc = field("initial PC", 0x06, len)?;
        let dictionary = field("dictionary", 0x08, len)?;
        let objects = field("object table", 0x0a, static_base)?;
        let globals = field("global variables", 0x0c, static_base)?;
        if globals + 480 > static_base {
            return Err(StoryError::Header { field: "global variables", value: globals, limit: static_base - 480 });
        }
        let abbreviations = field("abbreviations", 0x18, len)?;
        if abbreviations + 192 > len {
            return Err(StoryError::Header { field: "abbreviations", value: abbreviations, limit: len - 192 });
        }
        let defaults = if version <= 3 { 62 } else { 126 };
        if objects + defaults > static_base {
            return Err(StoryError::Header { field: "object table", value: objects, limit: static_base - defaults });
        }
        let mut alphabet = Alphabet::default();
        let mut unicode = DEFAULT_UNICODE.to_vec();
        if version >= 5 {
            let custom = word(&bytes, 0x34);
            if custom != 0 {
                if custom + 78 > len {
                    return Err(StoryError::Header { field: "alphabet table", value: custom, limit: len - 78 });
                }
                alphabet = Alphabet::from_table(&bytes[custom..custom + 78]);
            }
            let extension = word(&bytes, 0x36);
            if extension != 0 {
                if extension + 2 > len {
                    return Err(StoryError::Header { field: "header extension", value: extension, limit: len });
                }
                let words = word(&bytes, extension);
                if words >= 3 && extension + 8 <= len {
                    let table = word(&bytes, extension + 6);
                    if table != 0 {
                        if table >= len || table + 1 + 2 * usize::from(bytes[table]) > len {
                            return Err(StoryError::Header {
                                field: "Unicode translation table",
                                value: table,
                                limit: len,
                            });
                        }
                        unicode = (0..usize::from(bytes[table]))
                            .map(|i| char::from_u32(word(&bytes, table + 1 + 2 * i) as u32).unwrap_or('?'))
                            .collect();
                    }
                }
            }
        }
        let file_len = word(&bytes, 0x1a)
            << match version {
                3 => 1,
                4 | 5 => 2,
                _ => 3,
            };
        let end = if file_len == 0 { len } else { file_len.min(len) };
        let sum = bytes[64.min(end)..end].iter().fold(0u16, |s, &b| s.wrapping_add(u16::from(b)));
        let checksum_ok = sum as usize == word(&bytes, 0x1c);
        Ok(Story(Arc::new(Inner {
            bytes: bytes.into_boxed_slice(),
            version,
            pack_shift,
            static_base,
            initial_pc,
            dictionary,
            objects,
            globals,
            abbreviations,
            alphabet,
            unicode,
            checksum_ok,
            decoded: (static_base..len).map(|_| Slot(OnceLock::new())).collect(),
            strings: (0..len).map(|_| OnceLock::new()).collect(),
        })))
    }

    /// The Z-machine version (3, 4, 5 or 8).
    pub fn version(&self) -> u8 {
        self.0.version
    }

    /// The release number from the header.
    pub fn release(&self) -> u16 {
        word(&self.0.bytes, 2) as u16
    }

    /// The six-character serial number (usually a date, `YYMMDD`).
    pub fn serial(&self) -> String {
        self.0.bytes[0x12..0x18].iter().map(|&b| if b.is_ascii_graphic() { b as char } else { '?' }).collect()
    }

    /// Bytes of dynamic memory: what a fork or a saved state copies.
    pub fn dynamic_len(&self) -> usize {
        self.0.static_base
    }

    /// The story file's bytes, as loaded.
    pub fn bytes(&self) -> &[u8] {
        &self.0.bytes
    }
}

//! Z-characters, ZSCII and Unicode (Standard §3): decoding strings, encoding dictionary words.

/// ZSCII 155..=223 as the Standard's default Unicode table (§3.8.7) gives them.
pub const DEFAULT_UNICODE: [char; 69] = [
    'ä', 'ö', 'ü', 'Ä', 'Ö', 'Ü', 'ß', '»', '«', 'ë', 'ï', 'ÿ', 'Ë', 'Ï', 'á', 'é', 'í', 'ó', 'ú', 'ý', 'Á', 'É', 'Í',
    'Ó', 'Ú', 'Ý', 'à', 'è', 'ì', 'ò', 'ù', 'À', 'È', 'Ì', 'Ò', 'Ù', 'â', 'ê', 'î', 'ô', 'û', 'Â', 'Ê', 'Î', 'Ô', 'Û',
    'å', 'Å', 'ø', 'Ø', 'ã', 'ñ', 'õ', 'Ã', 'Ñ', 'Õ', 'æ', 'Æ', 'ç', 'Ç', 'þ', 'ð', 'Þ', 'Ð', '£', 'œ', 'Œ', '¡', '¿',
];

/// The three alphabets, as ZSCII codes for Z-characters 6..=31.
#[derive(Clone, Debug)]
pub struct Alphabet([[u8; 26]; 3]);

impl Default for Alphabet {
    fn default() -> Self {
        let mut rows = [[0u8; 26]; 3];
        rows[0].copy_from_slice(b"abcdefghijklmnopqrstuvwxyz");
        rows[1].copy_from_slice(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ");
        rows[2].copy_from_slice(b" \r0123456789.,!?_#'\"/\\-:()");
        Alphabet(rows)
    }
}

impl Alphabet {
    /// A version 5+ custom table: 78 bytes, the three rows in order.
    pub fn from_table(table: &[u8]) -> Alphabet {
        let mut rows = [[0u8; 26]; 3];
        for (i, row) in rows.iter_mut().enumerate() {
            row.copy_from_slice(&table[26 * i..26 * i + 26]);
        }
        // Z-character 7 of A2 is always a new line; 6 is the ten-bit escape (§3.5.5).
        rows[2][1] = 13;
        Alphabet(rows)
    }
}

/// Why a string could not be decoded.
#[derive(Debug, PartialEq, Eq)]
pub enum TextFault {
    /// The string runs past the end of memory at this address.
    OutOfMemory(usize),
    /// An abbreviation used inside an abbreviation (§3.3.1).
    NestedAbbreviation,
}

/// Decodes the Z-string at `addr` into ZSCII codes; returns the address just past it.
/// `byte` reads memory (None past its end).
pub fn decode(
    byte: &impl Fn(usize) -> Option<u8>,
    alphabet: &Alphabet,
    abbreviations: usize,
    addr: usize,
    out: &mut Vec<u16>,
    nested: bool,
) -> Result<usize, TextFault> {
    let mut at = addr;
    let mut shift = 0usize;
    let mut abbrev = 0usize;
    // Ten-bit escape: 0 none, 1 waiting for the high half, 2 waiting for the low half.
    let mut ten = 0u8;
    let mut high = 0u16;
    loop {
        let w = u16::from(byte(at).ok_or(TextFault::OutOfMemory(at))?) << 8
            | u16::from(byte(at + 1).ok_or(TextFault::OutOfMemory(at + 1))?);
        at += 2;
        for z in [(w >> 10) & 31, (w >> 5) & 31, w & 31] {
            if abbrev != 0 {
                if nested {
                    return Err(TextFault::NestedAbbreviation);
                }
                let entry = abbreviations + 2 * (32 * (abbrev - 1) + usize::from(z));
                let hi = byte(entry).ok_or(TextFault::OutOfMemory(entry))?;
                let lo = byte(entry + 1).ok_or(TextFault::OutOfMemory(entry + 1))?;
                let target = 2 * (usize::from(hi) << 8 | usize::from(lo));
                decode(byte, alphabet, abbreviations, target, out, true)?;
                abbrev = 0;
                continue;
            }
            match ten {
                1 => {
                    high = z;
                    ten = 2;
                    continue;
                }
                2 => {
                    out.push(high << 5 | z);
                    ten = 0;
                    continue;
                }
                _ => {}
            }
            match z {
                0 => {
                    out.push(32);
                    shift = 0;
                }
                1..=3 => {
                    abbrev = usize::from(z);
                    shift = 0;
                }
                4 => shift = 1,
                5 => shift = 2,
                6 if shift == 2 => {
                    ten = 1;
                    shift = 0;
                }
                _ => {
                    out.push(u16::from(alphabet.0[shift][usize::from(z) - 6]));
                    shift = 0;
                }
            }
        }
        if w & 0x8000 != 0 {
            return Ok(at);
        }
    }
}

/// Encodes ZSCII text as a dictionary word of `zchars` Z-characters (6 in v3, 9 later), packed
/// into `zchars / 3` words, the last with its end bit set.
pub fn encode(alphabet: &Alphabet, text: &[u8], zchars: usize) -> Vec<u8> {
    let mut z: Vec<u8> = Vec::with_capacity(zchars + 4);
    for &c in text {
        if z.len() >= zchars {
            break;
        }
        if let Some(i) = alphabet.0[0].iter().position(|&a| a == c) {
            z.push(i as u8 + 6);
        } else if let Some(i) = alphabet.0[2].iter().skip(2).position(|&a| a == c) {
            z.extend([5, i as u8 + 8]);
        } else if let Some(i) = alphabet.0[1].iter().position(|&a| a == c) {
            z.extend([4, i as u8 + 6]);
        } else {
            z.extend([5, 6, c >> 5, c & 31]);
        }
    }
    z.resize(zchars, 5);
    let mut out = Vec::with_capacity(zchars / 3 * 2);
    for (i, chunk) in z.chunks(3).enumerate() {
        let mut w = u16::from(chunk[0]) << 10 | u16::from(chunk[1]) << 5 | u16::from(chunk[2]);
        if i == zchars / 3 - 1 {
            w |= 0x8000;
        }
        out.extend(w.to_be_bytes());
    }
    out
}

/// ZSCII to Unicode for output (§3.8); `None` for codes that print nothing.
pub fn zscii_to_char(code: u16, unicode: &[char]) -> Option<char> {
    match code {
        0 => None,
        9 | 11 | 32 => Some(' '),
        13 => Some('\n'),
        33..=126 => Some(code as u8 as char),
        155..=251 => Some(unicode.get(usize::from(code - 155)).copied().unwrap_or('?')),
        _ => Some('?'),
    }
}

/// Unicode to ZSCII for input and for output stream 3; `?` (63) where ZSCII has no code.
pub fn char_to_zscii(c: char, unicode: &[char]) -> u8 {
    match c {
        '\n' | '\r' => 13,
        ' '..='~' => c as u8,
        _ => unicode.iter().position(|&u| u == c).filter(|&i| i <= 96).map_or(b'?', |i| 155 + i as u8),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(bytes: &[u8]) -> String {
        let mut out = Vec::new();
        let byte = |a: usize| bytes.get(a).copied();
        decode(&byte, &Alphabet::default(), 0, 0, &mut out, false).unwrap();
        out.iter().filter_map(|&c| zscii_to_char(c, &DEFAULT_UNICODE)).collect()
    }

    #[test]
    fn encode_then_decode_is_the_word_cut_to_its_length() {
        let a = Alphabet::default();
        for (word, zchars, expect) in [
            ("lantern", 9, "lantern"),
            ("lantern", 6, "lanter"),
            ("x", 6, "x"),
            ("2-3", 9, "2-3"),
            ("a@b", 9, "a@b"),
            ("abc@", 6, "abc"),
        ] {
            let enc = encode(&a, word.as_bytes(), zchars);
            assert_eq!(enc.len(), zchars / 3 * 2);
            // Padding Z-characters (5) decode to nothing.
            assert_eq!(decoded(&enc), expect, "{word}");
        }
    }

    #[test]
    fn ten_bit_escape_and_newline() {
        // 5 6 (escape) then 64 = 2*32 + 0 ('@'), then 5 7 (new line).
        let w1: u16 = 5 << 10 | 6 << 5 | 2;
        let w2: u16 = 0x8000 | 5 << 5 | 7; // 0 (the low half of 64), 5, 7
        let mut bytes = w1.to_be_bytes().to_vec();
        bytes.extend(w2.to_be_bytes());
        assert_eq!(decoded(&bytes), "@\n");
    }

    #[test]
    fn unicode_round_trip() {
        assert_eq!(zscii_to_char(u16::from(char_to_zscii('é', &DEFAULT_UNICODE)), &DEFAULT_UNICODE), Some('é'));
        assert_eq!(char_to_zscii('漢', &DEFAULT_UNICODE), b'?');
        assert_eq!(DEFAULT_UNICODE[223 - 155], '¿');
    }
}

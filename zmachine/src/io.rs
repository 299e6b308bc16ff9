//! Output (streams, the two windows, the status line) and input (read, the tokeniser, the
//! dictionary), Standard §7, §8, §13, §15.

use crate::Fault;
use crate::machine::{Machine, Res};
use crate::story::{Inner, Printed};
use crate::text::{self, TextFault, char_to_zscii, zscii_to_char};

/// What the game has printed and where. The lower window is a transcript since it was last
/// taken; the upper window (v3 `split_window`, v4+ status areas) is a grid of characters.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Screen {
    pub out: String,
    /// What the last run printed to the upper window, in order.
    pub upper_out: String,
    width: usize,
    upper: Vec<char>,
    rows: usize,
    cursor: (usize, usize),
    window: u16,
    font: u16,
    stream1: bool,
    /// Output stream 3: tables being written (address, characters written so far).
    pub redirect: Vec<(usize, usize)>,
}

impl Clone for Screen {
    fn clone(&self) -> Self {
        Screen {
            out: self.out.clone(),
            upper_out: self.upper_out.clone(),
            width: self.width,
            upper: self.upper.clone(),
            rows: self.rows,
            cursor: self.cursor,
            window: self.window,
            font: self.font,
            stream1: self.stream1,
            redirect: self.redirect.clone(),
        }
    }

    /// Into the buffers this screen already has (the printed text, the upper window).
    fn clone_from(&mut self, o: &Self) {
        self.out.clone_from(&o.out);
        self.upper_out.clone_from(&o.upper_out);
        self.width = o.width;
        self.upper.clone_from(&o.upper);
        self.rows = o.rows;
        self.cursor = o.cursor;
        self.window = o.window;
        self.font = o.font;
        self.stream1 = o.stream1;
        self.redirect.clone_from(&o.redirect);
    }
}

impl Screen {
    pub fn new(width: u8) -> Screen {
        Screen {
            out: String::with_capacity(4096),
            upper_out: String::new(),
            width: usize::from(width.max(1)),
            upper: Vec::new(),
            rows: 0,
            cursor: (0, 0),
            window: 0,
            font: 1,
            stream1: true,
            redirect: Vec::new(),
        }
    }

    pub fn reset_windows(&mut self) {
        self.upper.clear();
        self.rows = 0;
        self.cursor = (0, 0);
        self.window = 0;
        self.redirect.clear();
        self.stream1 = true;
    }

    pub fn split(&mut self, rows: usize, version: u8) {
        let rows = rows.min(255);
        self.upper.resize(rows * self.width, ' ');
        self.rows = rows;
        if version <= 3 {
            self.upper.fill(' ');
        }
        if self.cursor.0 >= rows {
            self.cursor = (0, 0);
        }
    }

    pub fn select(&mut self, window: u16, version: u8) {
        self.window = window;
        if window == 1 && version >= 4 {
            self.cursor = (0, 0);
        }
    }

    pub fn erase(&mut self, window: i16) {
        match window {
            -1 => {
                self.split(0, 4);
                self.window = 0;
            }
            -2 | 1 => self.upper.fill(' '),
            _ => {}
        }
    }

    pub fn set_cursor(&mut self, row: i16, col: i16) {
        if self.window == 1 && row >= 1 && col >= 1 {
            self.cursor = (row as usize - 1, col as usize - 1);
        }
    }

    pub fn cursor(&self) -> (u16, u16) {
        if self.window == 1 { (self.cursor.0 as u16 + 1, self.cursor.1 as u16 + 1) } else { (1, 1) }
    }

    pub fn set_font(&mut self, font: u16) -> u16 {
        match font {
            0 => self.font,
            1 | 4 => std::mem::replace(&mut self.font, font),
            _ => 0,
        }
    }

    fn put(&mut self, c: char) {
        if !self.stream1 {
            return;
        }
        if self.window != 1 {
            self.out.push(c);
            return;
        }
        self.upper_out.push(c);
        let (row, col) = self.cursor;
        if c == '\n' {
            self.cursor = (row + 1, 0);
        } else {
            if row < self.rows && col < self.width {
                self.upper[row * self.width + col] = c;
            }
            self.cursor.1 += 1;
        }
    }

    /// The upper window's rows, trailing blanks and empty rows dropped.
    pub fn upper_text(&self) -> String {
        let mut rows: Vec<String> =
            self.upper.chunks(self.width).map(|r| r.iter().collect::<String>().trim_end().to_string()).collect();
        while rows.last().is_some_and(String::is_empty) {
            rows.pop();
        }
        rows.join("\n")
    }
}

/// The machine's fault for a string at `addr` that could not be decoded.
fn text_fault(addr: usize, e: TextFault) -> Box<Fault> {
    Box::new(match e {
        TextFault::OutOfMemory(a) => Fault::Memory(a),
        TextFault::NestedAbbreviation => Fault::Text(addr, "abbreviation inside an abbreviation"),
    })
}

impl Machine {
    pub(crate) fn decode_string(&self, addr: usize) -> Res<String> {
        let mut codes = Vec::new();
        self.decode_at(addr, &mut codes)?;
        Ok(codes.iter().filter_map(|&c| zscii_to_char(c, &self.story.0.unicode)).collect())
    }

    fn decode_at(&self, addr: usize, codes: &mut Vec<u16>) -> Res<usize> {
        let s = &self.story.0;
        let byte = |a: usize| self.byte(a).ok();
        text::decode(&byte, &s.alphabet, s.abbreviations, addr, codes, false).map_err(|e| text_fault(addr, e))
    }

    /// Prints the Z-string at `addr`; returns the address just past it. A string is decoded
    /// once per story and kept while what its decoding read of dynamic memory (its own bytes
    /// where it lies there, the abbreviations it used) is as the story loaded it.
    pub(crate) fn print_string(&mut self, addr: usize) -> Res<usize> {
        // The story is borrowed, not cloned: a clone's count is shared by every thread's machines.
        let story = &*self.story.0;
        let Some(slot) = story.strings.get(addr) else { return self.print_decoded(addr) };
        let printed = match slot.get() {
            Some(p) if self.as_loaded(story, &p.reads) => p,
            Some(_) => return self.print_decoded(addr),
            None => {
                let p = self.decode_for_cache(story, addr)?;
                if !self.as_loaded(story, &p.reads) {
                    // Decoded from what this machine holds, which the story did not load.
                    return self.print_codes(&p.codes).map(|()| p.end);
                }
                slot.get_or_init(|| Box::new(p))
            }
        };
        let screen = &mut self.screen;
        if let Some(text) = printed.text.as_deref().filter(|_| screen.redirect.is_empty() && screen.window != 1) {
            if screen.stream1 {
                screen.out.push_str(text);
            }
            return Ok(printed.end);
        }
        let mut codes = std::mem::take(&mut self.scratch);
        codes.clear();
        codes.extend_from_slice(&printed.codes);
        let end = printed.end;
        let result = self.print_codes(&codes);
        self.scratch = codes;
        result.map(|()| end)
    }

    fn print_codes(&mut self, codes: &[u16]) -> Res<()> {
        codes.iter().try_for_each(|&c| self.print_zscii(c))
    }

    /// Whether the parts `reads` of this machine's dynamic memory are as the story loaded them.
    fn as_loaded(&self, story: &Inner, reads: &[(u32, u32)]) -> bool {
        reads.iter().all(|&(from, to)| {
            let r = from as usize..to as usize;
            // Byte by byte: the parts are short, and a call to compare them cost more.
            match (self.mem.get(r.clone()), story.bytes.get(r)) {
                (Some(now), Some(loaded)) => now.iter().zip(loaded).all(|(a, b)| a == b),
                _ => false,
            }
        })
    }

    /// Decodes the string at `addr` for the story's cache, noting the parts of dynamic memory
    /// read.
    fn decode_for_cache(&self, story: &Inner, addr: usize) -> Res<Printed> {
        let read = std::cell::RefCell::new(Vec::new());
        let byte = |a: usize| {
            if a < story.static_base {
                read.borrow_mut().push(a);
            }
            self.byte(a).ok()
        };
        let mut codes = Vec::new();
        let end = text::decode(&byte, &story.alphabet, story.abbreviations, addr, &mut codes, false)
            .map_err(|e| text_fault(addr, e))?;
        let mut read = read.into_inner();
        read.sort_unstable();
        read.dedup();
        let mut reads: Vec<(u32, u32)> = Vec::new();
        for a in read {
            let a = a as u32;
            match reads.last_mut() {
                Some(last) if last.1 == a => last.1 += 1,
                _ => reads.push((a, a + 1)),
            }
        }
        // ZSCII 0 prints nothing; every other code must be a character the lower window
        // takes as it is.
        let text: Option<String> =
            codes.iter().filter(|&&c| c != 0).map(|&c| zscii_to_char(c, &story.unicode)).collect();
        Ok(Printed { codes: codes.into(), text: text.map(String::into_boxed_str), end, reads: reads.into() })
    }

    /// Prints the Z-string at `addr`, decoded now; returns the address just past it.
    fn print_decoded(&mut self, addr: usize) -> Res<usize> {
        // One buffer reused for every string the game prints.
        let mut codes = std::mem::take(&mut self.scratch);
        codes.clear();
        let end = self.decode_at(addr, &mut codes);
        let printed = end.is_ok().then(|| self.print_codes(&codes));
        self.scratch = codes;
        printed.transpose()?;
        end
    }

    pub(crate) fn print_text(&mut self, s: &str) -> Res<()> {
        for c in s.chars() {
            self.print_char(c)?;
        }
        Ok(())
    }

    /// One ZSCII character to the active output streams.
    pub(crate) fn print_zscii(&mut self, code: u16) -> Res<()> {
        // ZSCII 0 prints nothing, to any stream (§3.8.2.1).
        if code == 0 {
            return Ok(());
        }
        if let Some(&(table, n)) = self.screen.redirect.last() {
            self.set_byte(table + 2 + n, code as u8)?;
            if let Some(top) = self.screen.redirect.last_mut() {
                top.1 += 1;
            }
            return Ok(());
        }
        if let Some(c) = zscii_to_char(code, &self.story.0.unicode) {
            self.screen.put(c);
        }
        Ok(())
    }

    pub(crate) fn print_char(&mut self, c: char) -> Res<()> {
        if self.screen.redirect.is_empty() {
            self.screen.put(c);
            Ok(())
        } else {
            self.print_zscii(u16::from(char_to_zscii(c, &self.story.0.unicode)))
        }
    }

    pub(crate) fn output_stream(&mut self, stream: i16, table: u16) -> Res<()> {
        match stream {
            1 => self.screen.stream1 = true,
            -1 => self.screen.stream1 = false,
            2 | -2 => {
                let b = self.byte(0x11)?;
                self.set_byte(0x11, if stream == 2 { b | 1 } else { b & !1 })?;
            }
            3 => {
                if self.screen.redirect.len() >= 16 {
                    return Err(Box::new(Fault::StreamDepth));
                }
                self.screen.redirect.push((usize::from(table), 0));
            }
            -3 => {
                if let Some((table, n)) = self.screen.redirect.pop() {
                    self.set_word(table, n as u16)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    pub(crate) fn print_table(&mut self, ops: &[u16]) -> Res<()> {
        let addr = usize::from(ops.first().copied().unwrap_or(0));
        let width = usize::from(ops.get(1).copied().unwrap_or(0));
        let height = usize::from(ops.get(2).copied().unwrap_or(1));
        let skip = usize::from(ops.get(3).copied().unwrap_or(0));
        let (row, col) = self.screen.cursor();
        for r in 0..height {
            if r > 0 {
                if self.screen.window == 1 {
                    self.screen.set_cursor(row as i16 + r as i16, col as i16);
                } else {
                    self.print_zscii(13)?;
                }
            }
            for c in 0..width {
                let code = self.byte(addr + r * (width + skip) + c)?;
                self.print_zscii(u16::from(code))?;
            }
        }
        Ok(())
    }

    /// The status line: in v3 the interpreter's own (location, then score and moves or the
    /// time); later, the upper window's text.
    pub fn status_line(&self) -> String {
        if self.story.0.version > 3 {
            return self.screen.upper_text();
        }
        let g = |n| self.global(n).unwrap_or(0);
        let location = self.object_name(g(0)).unwrap_or_default();
        let right = if self.byte(1).unwrap_or(0) & 0x02 != 0 {
            let (h, m) = (g(1), g(2));
            format!("Time: {}:{:02} {}", (u32::from(h) + 11) % 12 + 1, m, if h < 12 { "am" } else { "pm" })
        } else {
            format!("Score: {}  Moves: {}", g(1) as i16, g(2))
        };
        let pad = self.screen.width.saturating_sub(location.chars().count() + right.len() + 1).max(1);
        format!("{location}{}{right}", " ".repeat(pad))
    }

    /// What the upper window shows (empty when it is not split).
    pub fn upper_window(&self) -> String {
        self.screen.upper_text()
    }

    /// Text printed to the lower window since it was last taken.
    pub fn output(&self) -> &str {
        &self.screen.out
    }

    /// Takes the printed text, leaving the buffer empty.
    pub fn take_output(&mut self) -> String {
        std::mem::take(&mut self.screen.out)
    }

    /// What the last `run` or `send` printed to the upper window, in order (a status line drawn
    /// every turn is in it every turn; a game may print other text there too).
    pub fn upper_output(&self) -> &str {
        &self.screen.upper_out
    }

    /// Empties the printed text, of both windows, without allocating.
    pub fn clear_output(&mut self) {
        self.screen.upper_out.clear();
        self.screen.out.clear();
    }

    // ---- input -------------------------------------------------------------------------------

    /// Stores a typed line into the waiting `read`'s buffers and tokenises it (§15 read).
    pub(crate) fn finish_read(&mut self, line: &str, text: usize, parse: usize, store: Option<u8>) -> Res<()> {
        let v = self.story.0.version;
        let capacity = usize::from(self.byte(text)?);
        let typed: Vec<u8> = line
            .trim_end_matches(['\n', '\r'])
            .chars()
            .flat_map(char::to_lowercase)
            .map(|c| char_to_zscii(c, &self.story.0.unicode))
            .filter(|&z| (32..=126).contains(&z) || z >= 155)
            .collect();
        if v <= 4 {
            let max = capacity.saturating_sub(1);
            let n = typed.len().min(max);
            for (i, &z) in typed[..n].iter().enumerate() {
                self.set_byte(text + 1 + i, z)?;
            }
            self.set_byte(text + 1 + n, 0)?;
        } else {
            let kept = usize::from(self.byte(text + 1)?).min(capacity);
            let n = typed.len().min(capacity - kept);
            for (i, &z) in typed[..n].iter().enumerate() {
                self.set_byte(text + 2 + kept + i, z)?;
            }
            self.set_byte(text + 1, (kept + n) as u8)?;
        }
        if parse != 0 {
            self.tokenise(text, parse, 0, false)?;
        }
        if let Some(var) = store {
            self.write_var(var, 13)?;
        }
        Ok(())
    }

    /// Splits the text buffer into words and looks each up (§13.6); `dict` 0 is the story's.
    pub(crate) fn tokenise(&mut self, text: usize, parse: usize, dict: usize, keep_unknown: bool) -> Res<()> {
        let v = self.story.0.version;
        let (start, len) = if v <= 4 {
            let mut n = 0;
            while self.byte(text + 1 + n)? != 0 && n < 255 {
                n += 1;
            }
            (text + 1, n)
        } else {
            (text + 2, usize::from(self.byte(text + 1)?))
        };
        let dict = if dict == 0 { self.story.0.dictionary } else { dict };
        let nseps = usize::from(self.byte(dict)?);
        let seps: Vec<u8> = (0..nseps).map(|i| self.byte(dict + 1 + i)).collect::<Res<_>>()?;
        let chars: Vec<u8> = (0..len).map(|i| self.byte(start + i)).collect::<Res<_>>()?;
        let mut words: Vec<(usize, usize)> = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] == b' ' {
                i += 1;
            } else if seps.contains(&chars[i]) {
                words.push((i, 1));
                i += 1;
            } else {
                let from = i;
                while i < chars.len() && chars[i] != b' ' && !seps.contains(&chars[i]) {
                    i += 1;
                }
                words.push((from, i - from));
            }
        }
        let max = usize::from(self.byte(parse)?);
        words.truncate(max);
        for (k, &(from, n)) in words.iter().enumerate() {
            let found = self.lookup(dict, &chars[from..from + n])?;
            if keep_unknown && found == 0 {
                continue;
            }
            let entry = parse + 2 + 4 * k;
            self.set_word(entry, found as u16)?;
            self.set_byte(entry + 2, n as u8)?;
            self.set_byte(entry + 3, (from + start - text) as u8)?;
        }
        self.set_byte(parse + 1, words.len() as u8)
    }

    /// Address of a word's dictionary entry, 0 when absent.
    fn lookup(&self, dict: usize, word: &[u8]) -> Res<usize> {
        let zchars = if self.story.0.version <= 3 { 6 } else { 9 };
        let key = text::encode(&self.story.0.alphabet, word, zchars);
        let at = dict + 1 + usize::from(self.byte(dict)?);
        let size = usize::from(self.byte(at)?);
        let count = self.word(at + 1)? as i16;
        let first = at + 3;
        if size < key.len() {
            return Ok(0);
        }
        // An entry's key as a byte slice (None past the end of memory: a corrupt table).
        let bytes = self.story.0.bytes.as_ref();
        let dictionary = if dict + 3 + size * usize::from(count.unsigned_abs()) <= self.mem.len() {
            self.mem.as_slice()
        } else {
            bytes
        };
        let entry_key = |i: usize| -> Res<&[u8]> {
            let at = first + i * size;
            dictionary.get(at..at + key.len()).ok_or_else(|| Box::new(Fault::Memory(at)))
        };
        if count > 0 {
            let (mut lo, mut hi) = (0usize, count as usize);
            while lo < hi {
                let mid = (lo + hi) / 2;
                match entry_key(mid)?.cmp(&key) {
                    std::cmp::Ordering::Equal => return Ok(first + mid * size),
                    std::cmp::Ordering::Less => lo = mid + 1,
                    std::cmp::Ordering::Greater => hi = mid,
                }
            }
        } else {
            for i in 0..usize::from(count.unsigned_abs()) {
                if entry_key(i)? == key.as_slice() {
                    return Ok(first + i * size);
                }
            }
        }
        Ok(0)
    }

    pub(crate) fn encode_text(&mut self, ops: &[u16]) -> Res<()> {
        let [text, len, from, coded] = [0, 1, 2, 3].map(|i| usize::from(ops.get(i).copied().unwrap_or(0)));
        let word: Vec<u8> = (0..len).map(|i| self.byte(text + from + i)).collect::<Res<_>>()?;
        let key = text::encode(&self.story.0.alphabet, &word, 9);
        for (i, b) in key.into_iter().enumerate() {
            self.set_byte(coded + i, b)?;
        }
        Ok(())
    }

    pub(crate) fn scan_table(&mut self, x: u16, table: usize, len: u16, form: Option<u16>) -> Res<usize> {
        let form = form.unwrap_or(0x82);
        let field = usize::from(form & 0x7f);
        let (n, width) = (usize::from(len), if form & 0x80 != 0 { 2 } else { 1 });
        // Where the table lies wholly in dynamic memory or wholly past it, it is scanned as one
        // slice (games scan their tables every turn); otherwise entry by entry.
        let last = table + n.saturating_sub(1) * field + width;
        let mem = &self.mem;
        let whole = if last <= mem.len() {
            mem.get(table..last)
        } else if table >= mem.len() {
            self.story.0.bytes.get(table..last)
        } else {
            None
        };
        if let Some(b) = whole.filter(|_| n > 0) {
            let entry = |k: usize| if width == 2 { u16::from_be_bytes([b[k], b[k + 1]]) } else { u16::from(b[k]) };
            return Ok((0..n).map(|i| i * field).find(|&k| entry(k) == x).map_or(0, |k| table + k));
        }
        for i in 0..n {
            let at = table + i * field;
            let value = if form & 0x80 != 0 { self.word(at)? } else { u16::from(self.byte(at)?) };
            if value == x {
                return Ok(at);
            }
        }
        Ok(0)
    }

    pub(crate) fn copy_table(&mut self, first: u16, second: u16, size: i16) -> Res<()> {
        let (first, second) = (usize::from(first), usize::from(second));
        let n = usize::from(size.unsigned_abs());
        if second == 0 {
            for i in 0..n {
                self.set_byte(first + i, 0)?;
            }
        } else if size < 0 || second <= first {
            for i in 0..n {
                let b = self.byte(first + i)?;
                self.set_byte(second + i, b)?;
            }
        } else {
            for i in (0..n).rev() {
                let b = self.byte(first + i)?;
                self.set_byte(second + i, b)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{Machine, Options, Story};

    /// A version 5 story of 4 kB: abbreviation 0 ("cat") in dynamic memory at 0x40, its table
    /// at 0x100, and at 0x900 (static memory) a string that is that abbreviation alone.
    fn story() -> Story {
        let mut b = vec![0u8; 4096];
        b[0] = 5;
        let mut put = |at: usize, w: u16| b[at..at + 2].copy_from_slice(&w.to_be_bytes());
        put(0x04, 0x800); // high memory
        put(0x06, 0xa00); // initial pc
        put(0x08, 0x300); // dictionary (empty)
        put(0x0a, 0x400); // object table
        put(0x0c, 0x500); // globals
        put(0x0e, 0x800); // static memory
        put(0x18, 0x100); // abbreviations
        put(0x1a, 4096 / 4);
        put(0x100, 0x40 / 2);
        put(0x40, 0x8000 | 8 << 10 | 6 << 5 | 25); // "cat"
        put(0x900, 0x8000 | 1 << 10 | 5); // abbreviation 0, then padding
        put(0x60, 0x8000 | 8 << 10 | 6 << 5 | 25); // "cat", a string of dynamic memory
        b[0xa00] = 0xba; // quit
        Story::new(b).unwrap()
    }

    #[test]
    fn a_string_of_static_memory_prints_the_abbreviations_the_machine_holds_now() {
        let mut m = Machine::new(&story(), Options::default());
        m.print_string(0x900).unwrap();
        assert_eq!(m.take_output(), "cat");
        let mut fork = m.clone();
        // The game rewrites its abbreviation to "dog": the decoded string kept for the story no
        // longer holds for this machine.
        m.set_word(0x40, 0x8000 | 9 << 10 | 20 << 5 | 12).unwrap();
        m.print_string(0x900).unwrap();
        assert_eq!(m.take_output(), "dog");
        fork.print_string(0x900).unwrap();
        assert_eq!(fork.take_output(), "cat", "a machine that did not rewrite it");
        // Into a memory table (output stream 3) it goes code by code.
        fork.output_stream(3, 0x600).unwrap();
        fork.print_string(0x900).unwrap();
        fork.output_stream(-3, 0).unwrap();
        assert_eq!(fork.memory()[0x600..0x605], [0, 3, b'c', b'a', b't']);
        assert_eq!(fork.take_output(), "");
    }

    #[test]
    fn a_string_of_dynamic_memory_prints_what_the_machine_holds_now() {
        let story = story();
        let dog = 0x8000 | 9 << 10 | 20 << 5 | 12;
        // The first machine to print the string holds another: it prints its own, and the
        // story keeps nothing of it.
        let mut first = Machine::new(&story, Options::default());
        first.set_word(0x60, dog).unwrap();
        first.print_string(0x60).unwrap();
        assert_eq!(first.take_output(), "dog");
        let mut m = Machine::new(&story, Options::default());
        m.print_string(0x60).unwrap();
        assert_eq!(m.take_output(), "cat");
        let mut fork = m.clone();
        m.set_word(0x60, dog).unwrap();
        m.print_string(0x60).unwrap();
        assert_eq!(m.take_output(), "dog");
        fork.print_string(0x60).unwrap();
        assert_eq!(fork.take_output(), "cat", "a machine that did not rewrite it");
        fork.restore_from(&m);
        fork.print_string(0x60).unwrap();
        assert_eq!(fork.take_output(), "dog", "the fork put back to the machine");
    }
}

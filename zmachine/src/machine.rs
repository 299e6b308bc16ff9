//! The machine's state and its public face: memory, variables, the stack, running and input.

use std::sync::Arc;

use crate::io::Screen;
use crate::random::Random;
use crate::story::Story;
use crate::{Fault, RunError};

/// How a machine is set up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Seed of frotz's random generator (Jiminy Cricket and Jericho use 1). `random 0` and a
    /// restart go back to it.
    pub seed: u32,
    /// Most instructions one [`Machine::run`] or [`Machine::send`] executes before it
    /// returns [`Fault::Budget`] (the machine stays usable).
    pub budget: u64,
    /// Most `save_undo` states kept (oldest dropped first).
    pub undo_slots: usize,
    /// Screen size told to the game (columns; rows, 255 meaning no paging).
    pub width: u8,
    pub height: u8,
    /// Most words the evaluation stack holds, all routines together: one more push is
    /// [`Fault::StackOverflow`].
    pub stack: usize,
    /// Most routine frames, the one the story starts in included: one more call is
    /// [`Fault::StackOverflow`].
    pub frames: usize,
}

impl Options {
    /// The stack of frotz as Jericho builds it, on which Jiminy Cricket's games were played: 1,024
    /// words, in which every call stores a frame of at least 4 words besides its locals, so no
    /// turn that runs there nests more than 256 calls below the main routine or pushes more than
    /// 1,024 words. Limits of that size fail no such turn, and fail a recursion that never ends
    /// (some games have one, on sentences no one types in play) after 257 frames rather than
    /// [`Options::default`]'s 4,096, about a sixteenth of the instructions.
    pub fn frotz_stack(self) -> Options {
        // frotz's `STACK_SIZE`; its frames are 4 words at least, and ours count the first one.
        let words = 1_024;
        Options { stack: words, frames: words / 4 + 1, ..self }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options { seed: 1, budget: 50_000_000, undo_slots: 8, width: 80, height: 255, stack: 32_768, frames: 4_096 }
    }
}

/// Why [`Machine::run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The game waits for a line of input.
    Line,
    /// The game waits for one key.
    Char,
    /// The game executed `quit`: it is over.
    Quit,
}

/// A routine's locals (at most 15), in 16 words: copied on every call and return as two
/// aligned halves (15 words compile to two overlapping moves, which a load right after them
/// cannot take from the store buffer).
pub(crate) type Locals = [u16; 16];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Frame {
    pub return_pc: usize,
    /// Variable that receives the result; None discards it.
    pub store: Option<u8>,
    /// The routine's locals while it waits for a routine it called. The running routine's are
    /// [`Machine::locals`] (one load away on every access), and this copy is stale.
    pub locals: Locals,
    pub nlocals: u8,
    /// Arguments the caller supplied.
    pub args: u8,
    /// Evaluation-stack height at entry.
    pub base: usize,
}

impl Frame {
    pub fn main() -> Frame {
        Frame { return_pc: 0, store: None, locals: [0; 16], nlocals: 0, args: 0, base: 0 }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    Running,
    /// A `read`: text buffer, parse buffer, and (v5+) the variable for the terminator.
    Line {
        text: usize,
        parse: usize,
        store: Option<u8>,
    },
    Char {
        store: u8,
    },
    Quit,
}

/// Memory, stack and registers: what `save_undo` keeps and an in-game restore replaces.
#[derive(Clone, Debug, Default)]
pub(crate) struct Snapshot {
    pub mem: Vec<u8>,
    pub stack: Vec<u16>,
    pub frames: Vec<Frame>,
    /// Address of the store (v4+) or branch (v3) byte of the instruction that saved.
    pub pc: usize,
}

/// A game in progress. `clone()` forks it: dynamic memory, stack, registers, screen and the
/// random generator are copied; the story bytes are shared.
#[derive(Debug)]
pub struct Machine {
    pub(crate) story: Story,
    /// The story again, which the run loops take while they run (and put back) instead of
    /// cloning `story`: a clone bumps a count that every thread's machines share, which costs
    /// as much as a short routine when two threads play forks of one game.
    runner: Option<Arc<crate::story::Inner>>,
    /// Dynamic memory (the only writable part): `story.bytes[..static_base]` at start.
    pub(crate) mem: Vec<u8>,
    pub(crate) pc: usize,
    pub(crate) stack: Vec<u16>,
    pub(crate) frames: Vec<Frame>,
    /// The running routine's locals.
    pub(crate) locals: Locals,
    pub(crate) random: Random,
    pub(crate) screen: Screen,
    pub(crate) wait: Wait,
    pub(crate) undo: Vec<Arc<Snapshot>>,
    /// The game's own save slot, as Quetzal bytes (`save`/`restore` in the game).
    pub(crate) saved: Option<Arc<Vec<u8>>>,
    pub(crate) saves: u64,
    pub(crate) halted: Option<RunError>,
    pub(crate) options: Options,
    pub(crate) executed: u64,
    /// Reused while printing a string (not part of the game's state).
    pub(crate) scratch: Vec<u16>,
    /// Objects the table holds, counted once when the machine is made.
    pub(crate) objects: u16,
    /// Globals being watched for reads (bit per variable number), and those read since; kept
    /// in the machine, so that watching anew (once per question asked on a fork) allocates
    /// nothing.
    pub(crate) watch: Watch,
    /// The attributes set and cleared since
    /// [`log_attribute_writes`](Machine::log_attribute_writes) began noting them (None: not
    /// noting).
    pub(crate) attribute_log: Option<Vec<(u16, u16, bool)>>,
    /// What makes going back to a fork cost the memory a turn wrote, not all of it.
    pub(crate) pages: Pages,
}

/// Which globals [`Machine::watch_reads`] watches (a bit per variable number), and which of
/// them were read since.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Watch {
    on: bool,
    watched: [u64; 4],
    read: [u64; 4],
}

/// Bytes in a page of dynamic memory, as [`Pages`] tracks it.
const PAGE: usize = 256;

/// Which pages of dynamic memory a machine wrote since its memory was last made a copy of
/// another's, and of which machine in which state: what lets a copy between two machines that
/// were once equal move only the pages either wrote since. A machine is named by its `id`
/// (unique to the instance); `copies` counts the times its memory was made a copy (each clears
/// `dirty`), and `writes` its writes to dynamic memory. The link (`twin`) is kept by the
/// machine that was the copy, and read from either side, so a copy goes either way: a fork put
/// back, and a saved state brought up to date.
#[derive(Clone, Debug)]
pub(crate) struct Pages {
    id: u64,
    writes: u64,
    copies: u64,
    /// A bit per page: dynamic memory ends below 64 kB (its end is a 16-bit header field).
    dirty: [u64; 4],
    /// The machine this one was last made a copy of: its id, `copies` and `writes` then.
    twin: Option<(u64, u64, u64)>,
}

impl Pages {
    fn new() -> Pages {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Pages { id, writes: 0, copies: 0, dirty: [0; 4], twin: None }
    }

    /// A fresh record for a copy of the machine `self` records.
    fn copy_of(&self) -> Pages {
        Pages { twin: Some((self.id, self.copies, self.writes)), ..Pages::new() }
    }

    /// Records a write at `a` (an address of dynamic memory, so below 64 kB).
    #[inline(always)]
    fn wrote(&mut self, a: usize) {
        self.writes = self.writes.wrapping_add(1);
        self.dirty[a / (PAGE * 64) % 4] |= 1 << (a / PAGE % 64);
    }

    /// Records a write of the word at `a`.
    #[inline(always)]
    fn wrote_word(&mut self, a: usize) {
        self.writes = self.writes.wrapping_add(1);
        self.dirty[a / (PAGE * 64) % 4] |= 1 << (a / PAGE % 64);
        self.dirty[(a + 1) / (PAGE * 64) % 4] |= 1 << ((a + 1) / PAGE % 64);
    }

    /// Records a write anywhere.
    fn wrote_all(&mut self) {
        self.writes = self.writes.wrapping_add(1);
        self.dirty.fill(!0);
    }

    /// The pages in which `self` and `other` may differ, when one was made a copy of the other
    /// and neither was made a copy of anything since: those either wrote since its own last copy
    /// (so since they were equal), or only those of one when the other has not written since.
    fn differing(&self, other: &Pages) -> Option<[u64; 4]> {
        let either = |a: &[u64; 4], b: &[u64; 4]| std::array::from_fn(|k| a[k] | b[k]);
        let linked = |copy: &Pages, source: &Pages| match copy.twin {
            Some((id, copies, writes)) if id == source.id && copies == source.copies => {
                Some(if writes == source.writes { copy.dirty } else { either(&copy.dirty, &source.dirty) })
            }
            _ => None,
        };
        linked(self, other).or_else(|| linked(other, self))
    }
}

/// Makes `dst` hold the states `src` holds, counting only those that differ. A fork shares its
/// `save_undo` states with the machine it came from, and a turn that saves for undo drops the
/// oldest state and adds one. So where one list is the other moved along, only the states at
/// the ends are counted. Copying state by state counted every state twice, each an atomic
/// operation: most of a copy's fixed cost in games that save for undo every turn.
fn copy_states(dst: &mut Vec<Arc<Snapshot>>, src: &[Arc<Snapshot>]) {
    if dst.is_empty() && src.is_empty() {
        return;
    }
    let same = |a: &[Arc<Snapshot>], b: &[Arc<Snapshot>]| a.iter().zip(b).all(|(x, y)| Arc::ptr_eq(x, y));
    // `src` starts at `dst[i]`: `dst` loses its first `i` states and takes `src`'s newer ones.
    if let Some(i) = src.first().and_then(|s| dst.iter().position(|d| Arc::ptr_eq(d, s))) {
        let m = (dst.len() - i).min(src.len());
        if same(&dst[i..i + m], &src[..m]) {
            dst.drain(i + m..).for_each(release);
            dst.drain(..i).for_each(release);
            dst.extend_from_slice(&src[m..]);
            return;
        }
    }
    // `dst` starts at `src[j]`: `dst` takes `src`'s first `j` states and drops its newer ones.
    if let Some(j) = dst.first().and_then(|d| src.iter().position(|s| Arc::ptr_eq(d, s))) {
        let m = (src.len() - j).min(dst.len());
        if same(&dst[..m], &src[j..j + m]) {
            dst.drain(m..).for_each(release);
            dst.splice(0..0, src[..j].iter().cloned());
            dst.extend_from_slice(&src[j + m..]);
            return;
        }
    }
    dst.drain(..).for_each(release);
    dst.extend_from_slice(src);
}

/// How many `save_undo` states that no machine holds any more a thread keeps.
const SPARES: usize = 4;

thread_local! {
    /// `save_undo` states no machine holds any more, kept so that the next `save_undo` on this
    /// thread fills one instead of allocating: a machine and a fork kept from before a turn drop
    /// one state each time one is copied into the other, and freeing it (10-40 kB) took a fifth
    /// of going back to the fork.
    static SPARE: std::cell::RefCell<Vec<Arc<Snapshot>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Lets go of a `save_undo` state: kept as a spare where this was its last holder.
pub(crate) fn release(mut state: Arc<Snapshot>) {
    if Arc::get_mut(&mut state).is_some() {
        SPARE.with_borrow_mut(|spare| {
            if spare.len() < SPARES {
                spare.push(state);
            }
        });
    }
}

/// The runs of consecutive pages whose bits are set, in order, as ranges of pages: a turn
/// writes neighbouring pages, and one copy or comparison of a run costs less than one per page.
fn each_run(bits: [u64; 4]) -> impl Iterator<Item = std::ops::Range<usize>> {
    // the bits from `page` on, in its word
    let from = move |page: usize| bits[page / 64] >> (page % 64);
    let mut page = 0;
    std::iter::from_fn(move || {
        while page < 256 && from(page) == 0 {
            page = (page / 64 + 1) * 64;
        }
        if page >= 256 {
            return None;
        }
        page += from(page).trailing_zeros() as usize;
        let start = page;
        // Set bits run on to the word's end, then into the next word.
        while page < 256 {
            let ones = (!from(page)).trailing_zeros() as usize;
            page += ones;
            if ones == 0 || page % 64 != 0 {
                break;
            }
        }
        Some(start..page)
    })
}

impl Clone for Machine {
    fn clone(&self) -> Self {
        Machine {
            story: self.story.clone(),
            runner: Some(Arc::clone(&self.story.0)),
            mem: self.mem.clone(),
            pc: self.pc,
            stack: self.stack.clone(),
            frames: self.frames.clone(),
            locals: self.locals,
            random: self.random.clone(),
            screen: self.screen.clone(),
            wait: self.wait,
            undo: self.undo.clone(),
            saved: self.saved.clone(),
            saves: self.saves,
            halted: self.halted.clone(),
            options: self.options.clone(),
            executed: self.executed,
            scratch: Vec::new(),
            objects: self.objects,
            watch: self.watch,
            attribute_log: self.attribute_log.clone(),
            pages: self.pages.copy_of(),
        }
    }

    /// Field by field into the buffers this machine already has: going back to a fork, or
    /// bringing a saved state up to date, allocates nothing once the buffers are large enough.
    /// Of dynamic memory, when this machine and `other` were made equal before (one a fork or a
    /// copy of the other), only the pages either wrote since are copied; all of it otherwise.
    fn clone_from(&mut self, other: &Self) {
        if !Arc::ptr_eq(&self.story.0, &other.story.0) {
            self.story = other.story.clone();
            self.runner = Some(Arc::clone(&other.story.0));
        }
        match self.pages.differing(&other.pages) {
            Some(pages) if self.mem.len() == other.mem.len() => {
                for run in each_run(pages) {
                    let range = (run.start * PAGE).min(self.mem.len())..(run.end * PAGE).min(self.mem.len());
                    self.mem[range.clone()].copy_from_slice(&other.mem[range]);
                }
            }
            _ => self.mem.clone_from(&other.mem),
        }
        let p = &mut self.pages;
        p.copies = p.copies.wrapping_add(1);
        p.dirty = [0; 4];
        p.twin = Some((other.pages.id, other.pages.copies, other.pages.writes));
        self.pc = other.pc;
        self.stack.clone_from(&other.stack);
        self.frames.clone_from(&other.frames);
        self.locals = other.locals;
        self.random.clone_from(&other.random);
        self.screen.clone_from(&other.screen);
        self.wait = other.wait;
        copy_states(&mut self.undo, &other.undo);
        self.saved.clone_from(&other.saved);
        self.saves = other.saves;
        self.halted.clone_from(&other.halted);
        self.options.clone_from(&other.options);
        self.executed = other.executed;
        self.objects = other.objects;
        self.watch = other.watch;
        self.attribute_log.clone_from(&other.attribute_log);
    }
}

/// Faults are boxed so that results stay two registers wide on the hot path.
pub(crate) type Res<T> = Result<T, Box<Fault>>;

impl Machine {
    /// A game at its first instruction; call [`run`](Machine::run) to reach the first prompt.
    pub fn new(story: &Story, options: Options) -> Machine {
        let s = &story.0;
        let mut m = Machine {
            story: story.clone(),
            runner: Some(Arc::clone(&story.0)),
            mem: s.bytes[..s.static_base].to_vec(),
            pc: s.initial_pc,
            stack: Vec::with_capacity(1024),
            frames: vec![Frame::main()],
            locals: [0; 16],
            random: Random::new(options.seed),
            screen: Screen::new(options.width),
            wait: Wait::Running,
            undo: Vec::new(),
            saved: None,
            saves: 0,
            halted: None,
            options,
            executed: 0,
            scratch: Vec::new(),
            objects: 0,
            watch: Watch::default(),
            attribute_log: None,
            pages: Pages::new(),
        };
        m.init_header();
        m.objects = m.count_objects();
        m
    }

    /// The story this machine plays.
    pub fn story(&self) -> &Story {
        &self.story
    }

    /// The interpreter's fields of the header, set at start, restart and restore (§11).
    pub(crate) fn init_header(&mut self) {
        let v = self.story.0.version;
        self.pages.wrote_all();
        let m = &mut self.mem;
        if v <= 3 {
            // Status line available, screen splitting available.
            m[1] = (m[1] & !0x10) | 0x20;
        } else {
            // Bold, italic, fixed-space and timed input available; no colours.
            m[1] = 0x04 | 0x08 | 0x10 | 0x80;
            // As Jericho's frotz reports itself (interpreter 1, version F): games see the same.
            m[0x1e] = 1;
            m[0x1f] = b'F';
            m[0x20] = self.options.height;
            m[0x21] = self.options.width;
        }
        if v >= 5 {
            m[0x22..0x24].copy_from_slice(&u16::from(self.options.width).to_be_bytes());
            m[0x24..0x26].copy_from_slice(&u16::from(self.options.height).to_be_bytes());
            m[0x26] = 1;
            m[0x27] = 1;
            m[0x2c] = 2;
            m[0x2d] = 9;
            // No pictures, mouse, colours, sound or menus; undo is kept (bit 4).
            m[0x11] &= !(0x08 | 0x20 | 0x40 | 0x80);
            m[0x10] &= !0x01;
        }
        m[0x32] = 1;
        m[0x33] = 1;
    }

    // ---- memory ------------------------------------------------------------------------------

    #[inline(always)]
    pub(crate) fn byte(&self, a: usize) -> Res<u8> {
        if a < self.mem.len() {
            Ok(self.mem[a])
        } else {
            self.story.0.bytes.get(a).copied().ok_or_else(|| Box::new(Fault::Memory(a)))
        }
    }

    #[inline(always)]
    pub(crate) fn word(&self, a: usize) -> Res<u16> {
        Ok(u16::from(self.byte(a)?) << 8 | u16::from(self.byte(a + 1)?))
    }

    #[inline(always)]
    pub(crate) fn set_byte(&mut self, a: usize, value: u8) -> Res<()> {
        *self.mem.get_mut(a).ok_or(Fault::WriteStatic(a))? = value;
        self.pages.wrote(a);
        Ok(())
    }

    #[inline(always)]
    pub(crate) fn set_word(&mut self, a: usize, value: u16) -> Res<()> {
        let Some(word) = self.mem.get_mut(a..a + 2) else { return Err(Box::new(Fault::WriteStatic(a))) };
        word.copy_from_slice(&value.to_be_bytes());
        self.pages.wrote_word(a);
        Ok(())
    }

    #[inline(always)]
    pub(crate) fn fetch(&mut self) -> Res<u8> {
        let b = self.byte(self.pc)?;
        self.pc += 1;
        Ok(b)
    }

    pub(crate) fn unpack(&self, packed: u16) -> usize {
        usize::from(packed) << self.story.0.pack_shift
    }

    // ---- variables and stack -----------------------------------------------------------------

    #[inline(always)]
    pub(crate) fn push(&mut self, value: u16) -> Res<()> {
        if self.stack.len() >= self.options.stack {
            return Err(Box::new(Fault::StackOverflow(self.options.stack)));
        }
        self.stack.push(value);
        Ok(())
    }

    /// Pops the evaluation stack. Like frotz, only an empty stack is an underflow: a routine
    /// may pop what its caller pushed.
    #[inline(always)]
    pub(crate) fn pop(&mut self) -> Res<u16> {
        self.stack.pop().ok_or_else(|| Box::new(Fault::StackUnderflow))
    }

    fn top(&mut self) -> Res<&mut u16> {
        self.stack.last_mut().ok_or_else(|| Box::new(Fault::StackUnderflow))
    }

    /// Takes up the locals of the routine now on top of the frames (after a return, or when the
    /// frames are replaced), which its frame kept.
    pub(crate) fn resume_locals(&mut self) {
        self.locals = self.frames.last().map_or([0; 16], |f| f.locals);
    }

    /// Reads a variable: 0 pops the stack, 1-15 are locals, 16-255 globals.
    #[inline(always)]
    pub(crate) fn read_var(&mut self, var: u8) -> Res<u16> {
        match var {
            0 => self.pop(),
            1..=15 => Ok(self.locals[usize::from(var - 1)]),
            // Globals lie inside dynamic memory (checked when the story was loaded).
            _ => {
                if self.watch.on {
                    let (word, bit) = (usize::from(var / 64), var % 64);
                    self.watch.read[word] |= self.watch.watched[word] & 1 << bit;
                }
                let a = self.story.0.globals + 2 * usize::from(var - 16);
                let word = &self.mem[a..a + 2];
                Ok(u16::from_be_bytes([word[0], word[1]]))
            }
        }
    }

    #[inline(always)]
    pub(crate) fn write_var(&mut self, var: u8, value: u16) -> Res<()> {
        match var {
            0 => self.push(value),
            1..=15 => {
                self.locals[usize::from(var - 1)] = value;
                Ok(())
            }
            _ => {
                let a = self.story.0.globals + 2 * usize::from(var - 16);
                self.mem[a..a + 2].copy_from_slice(&value.to_be_bytes());
                self.pages.wrote_word(a);
                Ok(())
            }
        }
    }

    /// Variable operand of `load`, `store`, `inc`, `pull`...: the stack is read or written in
    /// place, not pushed or popped (§6.3.4).
    #[inline(always)]
    pub(crate) fn read_var_in_place(&mut self, var: u8) -> Res<u16> {
        if var == 0 { Ok(*self.top()?) } else { self.read_var(var) }
    }

    #[inline(always)]
    pub(crate) fn write_var_in_place(&mut self, var: u8, value: u16) -> Res<()> {
        if var == 0 {
            *self.top()? = value;
            Ok(())
        } else {
            self.write_var(var, value)
        }
    }

    // ---- running -----------------------------------------------------------------------------

    /// Executes until the game waits for input or quits (returns at once if it already waits).
    pub fn run(&mut self) -> Result<Stop, RunError> {
        if let Some(e) = &self.halted {
            return Err(RunError { pc: e.pc, fault: Fault::Halted });
        }
        match self.wait {
            Wait::Line { .. } => return Ok(Stop::Line),
            Wait::Char { .. } => return Ok(Stop::Char),
            Wait::Quit => return Ok(Stop::Quit),
            Wait::Running => {}
        }
        self.screen.upper_out.clear();
        let budget = self.options.budget;
        let story = self.runner.take().unwrap_or_else(|| Arc::clone(&self.story.0));
        let mut done = 0;
        let result = loop {
            if done == budget {
                break Err(RunError { pc: self.pc, fault: Fault::Budget(budget) });
            }
            let pc = self.pc;
            done += 1;
            match self.step(&story) {
                Ok(None) => {}
                Ok(Some(stop)) => break Ok(stop),
                Err(fault) => {
                    let e = RunError { pc, fault: *fault };
                    self.halted = Some(e.clone());
                    break Err(e);
                }
            }
        };
        self.executed += done;
        self.runner = Some(story);
        result
    }

    /// Gives the waiting game a line (or, when it waits for a key, the line's first character,
    /// or Enter when empty), then runs to the next stop.
    pub fn send(&mut self, line: &str) -> Result<Stop, RunError> {
        if let Some(e) = &self.halted {
            return Err(RunError { pc: e.pc, fault: Fault::Halted });
        }
        let pc = self.pc;
        let done = match self.wait {
            Wait::Line { text, parse, store } => self.finish_read(line, text, parse, store),
            Wait::Char { store } => {
                let key = line.chars().next().map_or(13, |c| crate::text::char_to_zscii(c, &self.story.0.unicode));
                self.write_var(store, u16::from(key))
            }
            Wait::Quit => Err(Box::new(Fault::Halted)),
            Wait::Running => Err(Box::new(Fault::NotWaiting)),
        };
        if let Err(fault) = done {
            return Err(RunError { pc, fault: *fault });
        }
        self.wait = Wait::Running;
        self.run()
    }

    /// Calls routine `packed` (a packed address) with `args` and runs until it returns, giving
    /// its value. The machine must be waiting for input, and waits again as before afterwards:
    /// this is for asking a game's own code a question on a fork (a routine that reads input
    /// or quits is an error, `Fault::Stopped`, at the instruction that stopped it). It may
    /// execute `budget` instructions at most (`Fault::Budget` past them: a routine called out
    /// of its context may never return).
    pub fn call_routine(&mut self, packed: u16, args: &[u16], budget: u64) -> Result<u16, RunError> {
        let (pc, wait) = (self.pc, self.wait);
        let fail = |fault: Box<Fault>| RunError { pc, fault: *fault };
        if matches!(wait, Wait::Running | Wait::Quit) || self.halted.is_some() {
            return Err(fail(Box::new(Fault::NotWaiting)));
        }
        let (depth, height) = (self.frames.len(), self.stack.len());
        self.wait = Wait::Running;
        self.call(packed, &args[..args.len().min(7)], Some(0)).map_err(fail)?;
        let story = self.runner.take().unwrap_or_else(|| Arc::clone(&self.story.0));
        let mut done = 0;
        let result = loop {
            if self.frames.len() == depth {
                break self.pop().map_err(fail);
            }
            if done == budget {
                break Err(RunError { pc: self.pc, fault: Fault::Budget(budget) });
            }
            done += 1;
            let at = self.pc;
            match self.step(&story) {
                Ok(None) => {}
                Ok(Some(stop)) => break Err(RunError { pc: at, fault: Fault::Stopped(stop) }),
                Err(fault) => break Err(RunError { pc: at, fault: *fault }),
            }
        };
        self.executed += done;
        self.runner = Some(story);
        if self.frames.len() > depth {
            self.frames.truncate(depth);
            self.resume_locals();
        }
        self.stack.truncate(height);
        self.pc = pc;
        self.wait = wait;
        result
    }

    /// Starts noting which of the global variables `vars` (numbered as operands are, 16 on) the
    /// game reads, or stops with an empty list. A routine's result can only depend on what it
    /// reads: a question asked on a fork with an object in a global that the routine never read
    /// has the same answer for any other object there.
    pub fn watch_reads(&mut self, vars: &[u8]) {
        self.watch = Watch { on: !vars.is_empty(), ..Watch::default() };
        for &v in vars {
            self.watch.watched[usize::from(v / 64)] |= 1 << (v % 64);
        }
    }

    /// Whether global variable `var` was read since [`watch_reads`](Machine::watch_reads) began
    /// watching it.
    pub fn was_read(&self, var: u8) -> bool {
        self.watch.on && self.watch.read[usize::from(var / 64)] >> (var % 64) & 1 != 0
    }

    /// Starts noting every attribute the game sets or clears (`set_attr`, `clear_attr`), written
    /// value included, whether or not it changes, or stops (and forgets them). An attribute the
    /// game writes on every line it reads, even one it cannot parse, is its parser's scratch.
    pub fn log_attribute_writes(&mut self, on: bool) {
        self.attribute_log = on.then(Vec::new);
    }

    /// The attributes written since [`log_attribute_writes`](Machine::log_attribute_writes)
    /// began noting them, in order: object, attribute, and whether it was set.
    pub fn attribute_writes(&self) -> &[(u16, u16, bool)] {
        self.attribute_log.as_deref().unwrap_or_default()
    }

    /// What the game waits for now, if anything.
    pub fn waiting(&self) -> Option<Stop> {
        match self.wait {
            Wait::Running => None,
            Wait::Line { .. } => Some(Stop::Line),
            Wait::Char { .. } => Some(Stop::Char),
            Wait::Quit => Some(Stop::Quit),
        }
    }

    /// Instructions executed since the machine was made.
    pub fn instructions(&self) -> u64 {
        self.executed
    }

    /// Writes this machine made to dynamic memory since it was made. A copy made into it changes
    /// memory without counting: between two readings with no copy in between, a count that did
    /// not move means memory did not change.
    pub fn memory_writes(&self) -> u64 {
        self.pages.writes
    }

    /// Copies `other`'s whole state into this machine, reusing its buffers (a fork restored, or
    /// a saved state brought up to date, without allocating). Of dynamic memory, when the two
    /// were made equal before (either a fork or a copy of the other), only the pages either of
    /// them wrote since are copied; all of it otherwise.
    pub fn restore_from(&mut self, other: &Machine) {
        self.clone_from(other);
    }

    /// Whether this machine's dynamic memory differs from `other`'s anywhere in `range`. When
    /// one was made a copy of the other (a fork, or a restore) and neither was made a copy of
    /// anything since, only the pages either wrote since are compared.
    pub fn memory_differs(&self, other: &Machine, range: std::ops::Range<usize>) -> bool {
        let (a, b) = (&self.mem, &other.mem);
        if a.len() != b.len() {
            return a.get(range.clone()) != b.get(range);
        }
        self.differing_parts(other, range).any(|part| a[part.clone()] != b[part])
    }

    /// The parts of `range` (within dynamic memory) where this machine's dynamic memory may
    /// differ from `other`'s, in order: when one was made a copy of the other (a fork, or a
    /// restore) and neither was made a copy of anything since, the runs of pages either wrote
    /// since; all of `range` otherwise.
    pub fn differing_parts(
        &self,
        other: &Machine,
        range: std::ops::Range<usize>,
    ) -> impl Iterator<Item = std::ops::Range<usize>> + use<> {
        let len = self.mem.len().min(other.mem.len());
        let range = range.start.min(len)..range.end.min(len);
        let pages = self.pages.differing(&other.pages).filter(|_| self.mem.len() == other.mem.len());
        let whole = pages.is_none().then(|| range.clone());
        let runs = pages.map(each_run).into_iter().flatten().filter_map(move |run| {
            let (start, end) = (range.start.max(run.start * PAGE), range.end.min(run.end * PAGE));
            (start < end).then_some(start..end)
        });
        whole.into_iter().chain(runs)
    }

    /// Back to the story's first instruction, as the game's `restart` does: memory reloaded
    /// (transcript and fixed-pitch bits kept), stack emptied, random generator reseeded.
    pub fn restart(&mut self) {
        let story = self.story.clone();
        self.load_memory(&story.0.bytes[..story.0.static_base]);
        self.pc = story.0.initial_pc;
        self.stack.clear();
        self.frames.clear();
        self.frames.push(Frame::main());
        self.locals = [0; 16];
        self.random.reseed(0);
        self.screen.reset_windows();
        self.wait = Wait::Running;
        self.undo.drain(..).for_each(release);
        self.halted = None;
    }

    // ---- state for save, restore and undo ----------------------------------------------------

    /// Replaces dynamic memory, as a restart or a restore does: the transcripting and
    /// fixed-pitch bits of Flags 2 stay as they were, and the interpreter's header fields are
    /// set again (§6.1.2.3, §11).
    fn load_memory(&mut self, bytes: &[u8]) {
        let flags2 = self.mem[0x11] & 0x03;
        self.pages.wrote_all();
        self.mem.copy_from_slice(bytes);
        self.mem[0x11] = (self.mem[0x11] & !0x03) | flags2;
        self.init_header();
    }

    /// A `save_undo` state of this machine whose pc is `pc`: a spare one filled in (see
    /// [`release`]), or a new one.
    pub(crate) fn undo_state(&self, pc: usize) -> Arc<Snapshot> {
        let mut state = SPARE.with_borrow_mut(Vec::pop).unwrap_or_default();
        // A spare is held by nothing else: this copies nothing.
        let s = Arc::make_mut(&mut state);
        s.mem.clone_from(&self.mem);
        s.stack.clone_from(&self.stack);
        s.frames.clone_from(&self.frames);
        if let Some(top) = s.frames.last_mut() {
            top.locals = self.locals;
        }
        s.pc = pc;
        state
    }

    /// Puts a snapshot back, keeping the header bits a restore keeps (§6.1.2.3), and leaves
    /// the pc at the saving instruction's store or branch byte.
    pub(crate) fn put_back(&mut self, snap: &Snapshot) {
        self.load_memory(&snap.mem);
        self.stack.clone_from(&snap.stack);
        self.frames.clone_from(&snap.frames);
        self.resume_locals();
        self.pc = snap.pc;
    }

    /// The game's own save slot (filled by the game's `save`), as a Quetzal file.
    pub fn saved_game(&self) -> Option<&[u8]> {
        self.saved.as_deref().map(Vec::as_slice)
    }

    /// How many times the game has saved: a front end writes the slot to disk when it grows.
    pub fn saves(&self) -> u64 {
        self.saves
    }

    /// Fills the slot the game's `restore` reads (a Quetzal file, checked when restored).
    pub fn set_saved_game(&mut self, quetzal: Vec<u8>) {
        self.saved = Some(Arc::new(quetzal));
    }

    // ---- reading the world -------------------------------------------------------------------

    /// Global variable `n` (0-239; global 0 is variable 16); None past the table's 240.
    pub fn global(&self, n: u8) -> Option<u16> {
        let a = self.story.0.globals + 2 * usize::from(n);
        (n < 240).then(|| u16::from(self.mem[a]) << 8 | u16::from(self.mem[a + 1]))
    }

    /// How this machine is set up (its budget as [`set_budget`](Machine::set_budget) left it).
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Sets how many instructions one `run` or `send` may execute from now on (what
    /// [`Options::budget`] set at the start).
    pub fn set_budget(&mut self, budget: u64) {
        self.options.budget = budget;
    }

    /// Sets global variable `n` (0-239), for questions asked on a fork; false past the table.
    pub fn set_global(&mut self, n: u8, value: u16) -> bool {
        n < 240 && self.write_var(n + 16, value).is_ok()
    }

    /// Whether this machine is in the state `other` is in but for the global variables `except`
    /// (numbered 0-239): the same dynamic memory, pc, stack, frames, random generator, screen and
    /// output. After a question asked on a fork of `other`, whether the routine asked left
    /// anything behind (beyond the globals the question set).
    pub fn same_state_except(&self, other: &Machine, except: &[u8]) -> bool {
        let globals = self.story.0.globals;
        let excepted =
            |a: usize| (globals..globals + 480).contains(&a) && except.contains(&(((a - globals) / 2) as u8));
        let memory_alike = self.mem.len() == other.mem.len()
            && self
                .differing_parts(other, 0..self.mem.len())
                .all(|part| part.clone().all(|a| self.mem[a] == other.mem[a] || excepted(a)));
        memory_alike
            && self.pc == other.pc
            && self.stack == other.stack
            && self.frames == other.frames
            && self.locals == other.locals
            && self.random == other.random
            && self.screen == other.screen
            && self.wait == other.wait
            && self.saves == other.saves
            && self.undo.len() == other.undo.len()
    }

    /// Dynamic memory as it is now.
    pub fn memory(&self) -> &[u8] {
        &self.mem
    }

    /// A byte anywhere in the story's memory (None past its end).
    pub fn read_byte(&self, addr: usize) -> Option<u8> {
        self.byte(addr).ok()
    }

    /// A word anywhere in the story's memory (None past its end).
    pub fn read_word(&self, addr: usize) -> Option<u16> {
        self.word(addr).ok()
    }

    /// The story's dictionary: each word as text, with its address and data bytes.
    pub fn dictionary(&self) -> Vec<(String, usize, Vec<u8>)> {
        let d = self.story.0.dictionary;
        let Ok(seps) = self.byte(d) else { return Vec::new() };
        let at = d + 1 + usize::from(seps);
        let (Ok(size), Ok(count)) = (self.byte(at), self.word(at + 1)) else { return Vec::new() };
        let key = if self.story.0.version <= 3 { 4 } else { 6 };
        let count = (count as i16).unsigned_abs() as usize;
        let mut out = Vec::with_capacity(count);
        for i in 0..count {
            let entry = at + 3 + i * usize::from(size);
            let Ok(text) = self.decode_string(entry) else { break };
            let data = (key..usize::from(size)).filter_map(|k| self.byte(entry + k).ok()).collect();
            out.push((text, entry, data));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use proptest::prelude::*;

    use super::{Snapshot, copy_states, each_run};

    proptest! {
        /// The runs are the set bits, each once, in order, and no two runs touch.
        #[test]
        fn runs_of_pages_are_the_set_bits(bits in proptest::array::uniform4(any::<u64>())) {
            let runs: Vec<_> = each_run(bits).collect();
            let pages: Vec<usize> = runs.iter().flat_map(|r| r.clone()).collect();
            let set: Vec<usize> = (0..256).filter(|p| bits[p / 64] >> (p % 64) & 1 != 0).collect();
            prop_assert_eq!(pages, set);
            prop_assert!(runs.iter().all(|r| !r.is_empty()));
            prop_assert!(runs.windows(2).all(|w| w[0].end < w[1].start));
        }

        /// Whatever two lists of states hold (drawn from one pool, as a machine's and its fork's
        /// are), the copy holds `src`'s states in order, the same ones.
        #[test]
        fn a_copy_of_the_states_holds_the_same_states(
            dst in proptest::collection::vec(0usize..12, 0..10),
            src in proptest::collection::vec(0usize..12, 0..10),
            shift in 0usize..4,
        ) {
            let pool: Vec<Arc<Snapshot>> = (0..12)
                .map(|pc| Arc::new(Snapshot { mem: Vec::new(), stack: Vec::new(), frames: Vec::new(), pc }))
                .collect();
            let states = |ks: &[usize]| ks.iter().map(|&k| Arc::clone(&pool[k])).collect::<Vec<_>>();
            // a list and the same moved by `shift`, as turns that save for undo leave them
            let moved: Vec<usize> = dst.iter().skip(shift).copied().chain(src.iter().copied()).collect();
            for (from, to) in [(&dst, &src), (&dst, &moved), (&moved, &dst)] {
                let (mut d, s) = (states(from), states(to));
                copy_states(&mut d, &s);
                prop_assert!(d.len() == s.len() && d.iter().zip(&s).all(|(a, b)| Arc::ptr_eq(a, b)));
            }
        }
    }

    #[test]
    fn runs_cross_words_and_end_at_the_last_page() {
        let runs = |bits| each_run(bits).collect::<Vec<_>>();
        assert_eq!(runs([0; 4]), []);
        assert_eq!(runs([!0; 4]), vec![0..256]);
        assert_eq!(runs([1 << 63, 1, 0, 1 << 63]), [63..65, 255..256]);
        assert_eq!(runs([0, !0, !0 >> 1, 0]), vec![64..191]);
    }
}

//! Decoding and executing one instruction (Standard §4, §14, §15).
//!
//! An instruction is decoded once into an [`Instr`] (operation, operands, store variable,
//! branch target, next address); instructions in static and high memory, which cannot change,
//! are decoded once per story and shared by every machine playing it.

use crate::Fault;
use crate::machine::{Frame, Machine, Res, Stop, Wait, release};
use crate::story::Inner;

// Dense operation numbers: 2OP 0-31, 1OP 32-47, 0OP 48-63, VAR 64-95, EXT 96-127.
const ONE: u8 = 32;
const ZERO: u8 = 48;
const VAR: u8 = 64;
const EXT: u8 = 96;
/// An extended opcode beyond 31: no version this interpreter runs defines one.
const EXT_UNKNOWN: u8 = 127;
/// What executing dispatches on (`Instr::code`) where the version changes an operation: from
/// version 5, 1OP:15 is `call_1n` (not `not`) and 0OP:9 is `catch` (not `pop`); an operation the
/// version lacks is `ILLEGAL`. So executing never asks the version.
const CALL_1N: u8 = 110;
const CATCH: u8 = 111;
const ILLEGAL: u8 = 112;

/// The code `op` executes as in version `v`.
fn code(op: u8, v: u8) -> u8 {
    match op {
        47 if v >= 5 => CALL_1N,
        57 if v >= 5 => CATCH,
        25 | 40 | 76..=82 | 86 | 87 if v < 4 => ILLEGAL,
        26..=28 | 63 | 88..=95 if v < 5 => ILLEGAL,
        53 | 54 if v >= 5 => ILLEGAL,
        op => op,
    }
}

/// Branch flags: taken when the condition is true, and what a taken branch does (neither
/// return flag: go to `target`).
const ON_TRUE: u8 = 2;
const RETURN_FALSE: u8 = 4;
const RETURN_TRUE: u8 = 8;

/// One decoded instruction, in 28 bytes: with its slot's state, a slot of the story's cache
/// takes 32 and lies in one cache line.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Instr {
    op: u8,
    /// What it executes as (`op` but where the version changes it).
    code: u8,
    n: u8,
    /// Bit k set: operand k is a variable number, read when the instruction runs.
    vars: u8,
    store: u8,
    branch: u8,
    /// Where the store or branch byte, or the inline text, lies from the instruction's start: a
    /// save records it.
    sb: u8,
    /// The instruction's length (that of an instruction with inline text is not kept: printing
    /// the text finds its end).
    len: u8,
    args: [u16; 8],
    /// Where a taken branch goes (when it neither returns false nor true).
    target: u32,
}

/// Which of store, branch and inline text an operation has, in version `v` (§14).
fn shape(op: u8, v: u8) -> (bool, bool, bool) {
    match op {
        8 | 9 | 15..=25 => (true, false, false),
        1..=7 | 10 => (false, true, false),
        o if o == ONE => (false, true, false),
        o if o == ONE + 1 || o == ONE + 2 => (true, true, false),
        o if o == ONE + 3 || o == ONE + 4 || o == ONE + 8 || o == ONE + 14 => (true, false, false),
        o if o == ONE + 15 => (v <= 4, false, false),
        o if o == ZERO + 2 || o == ZERO + 3 => (false, false, true),
        o if o == ZERO + 5 || o == ZERO + 6 => (v == 4, v <= 3, false),
        o if o == ZERO + 9 => (v >= 5, false, false),
        o if o == ZERO + 13 || o == ZERO + 15 => (false, true, false),
        o if o == VAR || o == VAR + 7 || o == VAR + 12 || o == VAR + 22 || o == VAR + 24 => (true, false, false),
        o if o == VAR + 4 => (v >= 5, false, false),
        o if o == VAR + 23 => (true, true, false),
        o if o == VAR + 31 => (false, true, false),
        o if (EXT..=EXT + 4).contains(&o) || o == EXT + 9 || o == EXT + 10 || o == EXT + 12 => (true, false, false),
        _ => (false, false, false),
    }
}

impl Instr {
    /// Address of the store or branch byte (or the inline text) of this instruction at `pc`:
    /// what a save records.
    pub(crate) fn save_point(&self, pc: usize) -> usize {
        pc + usize::from(self.sb)
    }
}

fn illegal(op: u8, version: u8) -> Box<Fault> {
    let (form, code) = match op {
        0..ONE => ("2OP", op),
        ONE..ZERO => ("1OP", op - ONE),
        ZERO..VAR => ("0OP", op - ZERO),
        VAR..EXT => ("VAR", op - VAR),
        _ => ("EXT", op - EXT),
    };
    Box::new(Fault::IllegalOpcode(format!("{form}:{code} in version {version}")))
}

impl Machine {
    /// Reads the store byte at the pc and writes `value` there: how a restored game finishes
    /// the `save` (or `save_undo`) that made it.
    pub(crate) fn store_at_pc(&mut self, value: u16) -> Res<()> {
        let var = self.fetch()?;
        self.write_var(var, value)
    }

    /// Reads the branch bytes at the pc and branches when `cond` matches them (v3 restore).
    pub(crate) fn branch_at_pc(&mut self, cond: bool) -> Res<()> {
        let mut at = self.pc;
        let (flags, target) = self.read_branch(&mut at)?;
        self.pc = at;
        self.take_branch(flags, target, cond)
    }

    /// The branch bytes at `at` (moved past them): the branch flags and where a taken branch
    /// goes (§4.7: an offset of 0 or 1 returns false or true).
    fn read_branch(&self, at: &mut usize) -> Res<(u8, u32)> {
        let b = self.byte(*at)?;
        *at += 1;
        let offset: i32 = if b & 0x40 != 0 {
            i32::from(b & 0x3f)
        } else {
            let raw = i32::from(b & 0x3f) << 8 | i32::from(self.byte(*at)?);
            *at += 1;
            if raw & 0x2000 != 0 { raw - 0x4000 } else { raw }
        };
        let sense = if b & 0x80 != 0 { ON_TRUE } else { 0 };
        Ok(match offset {
            0 => (sense | RETURN_FALSE, 0),
            1 => (sense | RETURN_TRUE, 0),
            _ => (sense, (*at as i64 + i64::from(offset) - 2).max(0) as u32),
        })
    }

    /// Writes an instruction's result to its store variable.
    #[inline(always)]
    pub(crate) fn store(&mut self, i: &Instr, value: u16) -> Res<()> {
        self.write_var(i.store, value)
    }

    /// Takes an instruction's branch when `cond` matches its sense.
    #[inline(always)]
    pub(crate) fn branch(&mut self, i: &Instr, cond: bool) -> Res<()> {
        self.take_branch(i.branch, i.target, cond)
    }

    #[inline(always)]
    fn take_branch(&mut self, flags: u8, target: u32, cond: bool) -> Res<()> {
        if cond == (flags & ON_TRUE != 0) {
            if flags & RETURN_FALSE != 0 {
                return self.ret(0);
            }
            if flags & RETURN_TRUE != 0 {
                return self.ret(1);
            }
            self.pc = target as usize;
        }
        Ok(())
    }

    #[inline(always)]
    pub(crate) fn call(&mut self, packed: u16, args: &[u16], store: Option<u8>) -> Res<()> {
        if packed == 0 {
            return match store {
                Some(var) => self.write_var(var, 0),
                None => Ok(()),
            };
        }
        if self.frames.len() >= self.options.frames {
            return Err(Box::new(Fault::StackOverflow(self.options.frames)));
        }
        let addr = self.unpack(packed);
        let nlocals = self.byte(addr)?;
        if nlocals > 15 {
            return Err(Box::new(Fault::BadRoutine(addr, nlocals)));
        }
        let n = usize::from(nlocals);
        let mut locals = [0u16; 16];
        let mut at = addr + 1;
        if self.story.0.version <= 4 {
            // The initial values, read at once where they lie wholly in one part of memory
            // (routines are in high memory), word by word otherwise.
            let (mem, story) = (&self.mem, &self.story.0.bytes);
            let part = if at + 2 * n <= mem.len() { mem.get(at..at + 2 * n) } else { story.get(at..at + 2 * n) };
            match part.filter(|_| at >= mem.len() || at + 2 * n <= mem.len()) {
                Some(bytes) => {
                    for (local, word) in locals.iter_mut().zip(bytes.chunks_exact(2)) {
                        *local = u16::from_be_bytes([word[0], word[1]]);
                    }
                }
                None => {
                    for (k, local) in locals.iter_mut().take(n).enumerate() {
                        *local = self.word(at + 2 * k)?;
                    }
                }
            }
            at += 2 * n;
        }
        let given = args.len().min(n);
        // At most 7 arguments, each copied under its own test: a copy of `given` words compiled
        // to a call of `memcpy` on every routine call.
        for k in 0..7 {
            if k < given {
                locals[k] = args[k];
            }
        }
        if let Some(caller) = self.frames.last_mut() {
            caller.locals = self.locals;
        }
        self.frames.push(Frame {
            return_pc: self.pc,
            store,
            locals: [0; 16],
            nlocals,
            args: args.len() as u8,
            base: self.stack.len(),
        });
        self.locals = locals;
        self.pc = at;
        Ok(())
    }

    #[inline(always)]
    pub(crate) fn ret(&mut self, value: u16) -> Res<()> {
        if self.frames.len() <= 1 {
            return Err(Box::new(Fault::ReturnFromMain));
        }
        let Some(frame) = self.frames.pop() else { return Err(Box::new(Fault::ReturnFromMain)) };
        self.resume_locals();
        self.stack.truncate(frame.base);
        self.pc = frame.return_pc;
        match frame.store {
            Some(var) => self.write_var(var, value),
            None => Ok(()),
        }
    }

    fn call_op(&mut self, i: &Instr, ops: &[u16], stores: bool) -> Res<()> {
        let store = if stores { Some(i.store) } else { None };
        let (&routine, args) =
            ops.split_first().ok_or_else(|| Fault::IllegalOpcode("call without a routine".into()))?;
        self.call(routine, args, store)
    }

    /// Decodes the instruction at `pc` without executing it.
    pub(crate) fn decode(&self, pc: usize) -> Res<Instr> {
        let v = self.story.0.version;
        let mut at = pc;
        let mut i =
            Instr { op: 0, code: 0, n: 0, vars: 0, store: 0, branch: 0, sb: 0, len: 0, args: [0; 8], target: 0 };
        let next = |at: &mut usize| -> Res<u8> {
            let b = self.byte(*at)?;
            *at += 1;
            Ok(b)
        };
        // Operand of type `ty` (0 large, 1 small, 2 variable) into the next slot.
        let operand = |i: &mut Instr, ty: u8, at: &mut usize| -> Res<()> {
            let k = usize::from(i.n);
            i.args[k] = match ty {
                0 => u16::from(next(at)?) << 8 | u16::from(next(at)?),
                1 => u16::from(next(at)?),
                _ => {
                    i.vars |= 1 << k;
                    u16::from(next(at)?)
                }
            };
            i.n += 1;
            Ok(())
        };
        let opcode = self.byte(at)?;
        at += 1;
        let mut types = [0xffu8; 2];
        if opcode < 0x80 {
            operand(&mut i, if opcode & 0x40 != 0 { 2 } else { 1 }, &mut at)?;
            operand(&mut i, if opcode & 0x20 != 0 { 2 } else { 1 }, &mut at)?;
            i.op = opcode & 0x1f;
        } else if opcode < 0xc0 {
            let ty = (opcode >> 4) & 3;
            if ty != 3 {
                operand(&mut i, ty, &mut at)?;
                i.op = ONE + (opcode & 0x0f);
            } else if opcode == 0xbe && v >= 5 {
                let ext = self.byte(at)?;
                types[0] = self.byte(at + 1)?;
                at += 2;
                i.op = if ext < 32 { EXT + ext } else { EXT_UNKNOWN };
            } else {
                i.op = ZERO + (opcode & 0x0f);
            }
        } else {
            types[0] = self.byte(at)?;
            at += 1;
            if opcode == 0xec || opcode == 0xfa {
                types[1] = self.byte(at)?;
                at += 1;
            }
            i.op = if opcode & 0x20 == 0 { opcode & 0x1f } else { VAR + (opcode & 0x1f) };
        }
        'types: for byte in types {
            for shift in [6, 4, 2, 0] {
                let ty = (byte >> shift) & 3;
                if ty == 3 {
                    break 'types;
                }
                operand(&mut i, ty, &mut at)?;
            }
        }
        i.sb = (at - pc) as u8;
        i.code = code(i.op, v);
        let (store, branch, text) = shape(i.op, v);
        if store {
            i.store = self.byte(at)?;
            at += 1;
        }
        if branch {
            (i.branch, i.target) = self.read_branch(&mut at)?;
        }
        if text {
            // Inline text runs to the word with its top bit set.
            loop {
                let w = self.byte(at)?;
                self.byte(at + 1)?;
                at += 2;
                if w & 0x80 != 0 {
                    break;
                }
            }
        }
        // At most 23 bytes without inline text.
        i.len = if text { 0 } else { (at - pc) as u8 };
        Ok(i)
    }

    /// Executes the instruction at the pc. `Some` when the machine must stop. `story` is this
    /// machine's story, held by the caller so that a cached instruction is used in place.
    #[inline(always)]
    pub(crate) fn step(&mut self, story: &Inner) -> Res<Option<Stop>> {
        let pc = self.pc;
        let fresh;
        let instr = match story.decoded.get(pc.wrapping_sub(story.static_base)) {
            Some(slot) => match slot.0.get() {
                Some(i) => i,
                None => {
                    let _ = slot.0.set(self.decode(pc)?);
                    slot.0.get().ok_or(Fault::Memory(pc))?
                }
            },
            None => {
                fresh = self.decode(pc)?;
                &fresh
            }
        };
        self.pc = pc + usize::from(instr.len);
        let n = usize::from(instr.n);
        let mut ops = instr.args;
        // The first two operands are kept in locals as well, which the execution reads: reading
        // them back from the array as one load, after two stores of half its size, would stall
        // on store forwarding (it did, at half of the interpreter's time).
        let (mut a, mut b) = (instr.args[0], instr.args[1]);
        // Variable operands are read in order (reading variable 0 pops the stack).
        let vars = instr.vars;
        if vars != 0 {
            if vars & 1 != 0 {
                a = self.read_var(a as u8)?;
                ops[0] = a;
            }
            if vars & 2 != 0 {
                b = self.read_var(b as u8)?;
                ops[1] = b;
            }
            if vars & !3 != 0 {
                // An index loop: `iter().skip(2)` compiled to a call per instruction.
                #[allow(clippy::needless_range_loop)]
                for k in 2..n.min(8) {
                    if vars >> k & 1 != 0 {
                        ops[k] = self.read_var(ops[k] as u8)?;
                    }
                }
            }
        }
        // Operands past the instruction's are 0 (decoded so), and so never variables.
        self.execute(instr, pc, &ops[..n], a, b)
    }

    /// Executes `i`, the instruction at `pc`, with its operands `ops`, the first two of which are
    /// `a` and `b` (0 where absent).
    #[inline(always)]
    fn execute(&mut self, i: &Instr, pc: usize, ops: &[u16], a: u16, b: u16) -> Res<Option<Stop>> {
        let (sa, sb) = (a as i16, b as i16);
        let op = i.code;
        match op {
            1 => self.branch(i, ops.len() > 1 && ops[1..].contains(&a))?,
            2 => self.branch(i, sa < sb)?,
            3 => self.branch(i, sa > sb)?,
            4 | 5 => {
                let var = a as u8;
                let value = self.read_var_in_place(var)? as i16;
                let value = if op == 4 { value.wrapping_sub(1) } else { value.wrapping_add(1) };
                self.write_var_in_place(var, value as u16)?;
                self.branch(i, if op == 4 { value < sb } else { value > sb })?;
            }
            6 => {
                let parent = self.parent(a)?;
                self.branch(i, parent == b)?
            }
            7 => self.branch(i, a & b == b)?,
            8 => self.store(i, a | b)?,
            9 => self.store(i, a & b)?,
            10 => {
                let has = self.attr(a, b)?;
                self.branch(i, has)?
            }
            11 | 12 => self.set_attr(a, b, op == 11)?,
            13 => self.write_var_in_place(a as u8, b)?,
            14 => self.insert_obj(a, b)?,
            15 => {
                let w = self.word(usize::from(a.wrapping_add(b.wrapping_mul(2))))?;
                self.store(i, w)?
            }
            16 => {
                let byte = self.byte(usize::from(a.wrapping_add(b)))?;
                self.store(i, u16::from(byte))?
            }
            17 => {
                let value = self.get_prop(a, b)?;
                self.store(i, value)?
            }
            18 => {
                let addr = self.get_prop_addr(a, b)?;
                self.store(i, addr)?
            }
            19 => {
                let next = self.get_next_prop(a, b)?;
                self.store(i, next)?
            }
            20 => self.store(i, sa.wrapping_add(sb) as u16)?,
            21 => self.store(i, sa.wrapping_sub(sb) as u16)?,
            22 => self.store(i, sa.wrapping_mul(sb) as u16)?,
            23 | 24 => {
                if sb == 0 {
                    return Err(Box::new(Fault::DivisionByZero));
                }
                let r = if op == 23 { sa.wrapping_div(sb) } else { sa.wrapping_rem(sb) };
                self.store(i, r as u16)?
            }
            25 => self.call_op(i, ops, true)?,
            26 => self.call_op(i, ops, false)?,
            27 => {}
            28 => {
                let frame = usize::from(b);
                if frame == 0 || frame > self.frames.len() {
                    return Err(Box::new(Fault::IllegalOpcode(format!(
                        "throw to frame {frame} of {}",
                        self.frames.len()
                    ))));
                }
                self.frames.truncate(frame);
                self.ret(a)?
            }
            32 => self.branch(i, a == 0)?,
            33 | 34 => {
                let o = if op == 33 { self.sibling(a)? } else { self.child(a)? };
                self.store(i, o)?;
                self.branch(i, o != 0)?
            }
            35 => {
                let p = self.parent(a)?;
                self.store(i, p)?
            }
            36 => {
                let len = self.prop_len(a)?;
                self.store(i, len)?
            }
            37 | 38 => {
                let var = a as u8;
                let value = self.read_var_in_place(var)?;
                let value = if op == 37 { value.wrapping_add(1) } else { value.wrapping_sub(1) };
                self.write_var_in_place(var, value)?
            }
            39 => {
                self.print_string(usize::from(a))?;
            }
            40 => self.call_op(i, ops, true)?,
            41 => self.remove_obj(a)?,
            42 => self.print_obj(a)?,
            43 => self.ret(a)?,
            44 => self.pc = (self.pc as i64 + i64::from(sa) - 2).max(0) as usize,
            45 => {
                self.print_string(self.unpack(a))?;
            }
            46 => {
                let value = self.read_var_in_place(a as u8)?;
                self.store(i, value)?
            }
            47 => self.store(i, !a)?,
            CALL_1N => self.call_op(i, ops, false)?,
            48 => self.ret(1)?,
            49 => self.ret(0)?,
            50 | 51 => {
                self.pc = self.print_string(i.save_point(pc))?;
                if op == 51 {
                    self.print_zscii(13)?;
                    self.ret(1)?;
                }
            }
            52 => {}
            53 => self.save_game(i, pc)?,
            54 => self.restore_game(i)?,
            55 => self.restart(),
            56 => {
                let value = self.pop()?;
                self.ret(value)?
            }
            57 => {
                self.pop()?;
            }
            CATCH => self.store(i, self.frames.len() as u16)?,
            58 => {
                self.wait = Wait::Quit;
                return Ok(Some(Stop::Quit));
            }
            59 => self.print_zscii(13)?,
            // The v3 status line is drawn from the globals when asked for; later versions
            // ignore show_status, as frotz does.
            60 => {}
            61 => self.branch(i, self.story.0.checksum_ok)?,
            63 => self.branch(i, true)?,
            64 => self.call_op(i, ops, true)?,
            65 => self.set_word(usize::from(a.wrapping_add(b.wrapping_mul(2))), ops.get(2).copied().unwrap_or(0))?,
            66 => self.set_byte(usize::from(a.wrapping_add(b)), ops.get(2).copied().unwrap_or(0) as u8)?,
            67 => self.put_prop(a, b, ops.get(2).copied().unwrap_or(0))?,
            68 => {
                let store = if self.story.0.version >= 5 { Some(i.store) } else { None };
                self.wait = Wait::Line { text: usize::from(a), parse: usize::from(b), store };
                return Ok(Some(Stop::Line));
            }
            69 => self.print_zscii(a)?,
            70 => self.print_text(&sa.to_string())?,
            71 => {
                let value = if sa <= 0 {
                    self.random.reseed((-i32::from(sa)) as u32);
                    0
                } else {
                    self.random.draw(a)
                };
                self.store(i, value)?
            }
            72 => self.push(a)?,
            73 => {
                let value = self.pop()?;
                self.write_var_in_place(a as u8, value)?
            }
            74 => self.screen.split(usize::from(a), self.story.0.version),
            75 => self.screen.select(a, self.story.0.version),
            76 => self.call_op(i, ops, true)?,
            77 => self.screen.erase(sa),
            78 | 81 | 82 => {}
            79 => self.screen.set_cursor(sa, sb),
            80 => {
                let (row, col) = self.screen.cursor();
                self.set_word(usize::from(a), row)?;
                self.set_word(usize::from(a) + 2, col)?
            }
            83 => self.output_stream(sa, b)?,
            84 | 85 => {}
            86 => {
                self.wait = Wait::Char { store: i.store };
                return Ok(Some(Stop::Char));
            }
            87 => {
                let found =
                    self.scan_table(a, usize::from(b), ops.get(2).copied().unwrap_or(0), ops.get(3).copied())?;
                self.store(i, found as u16)?;
                self.branch(i, found != 0)?
            }
            88 => self.store(i, !a)?,
            89 => self.call_op(i, ops, false)?,
            90 => self.call_op(i, ops, false)?,
            91 => {
                let dict = ops.get(2).copied().unwrap_or(0);
                let flag = ops.get(3).copied().unwrap_or(0) != 0;
                self.tokenise(usize::from(a), usize::from(b), usize::from(dict), flag)?
            }
            92 => self.encode_text(ops)?,
            93 => self.copy_table(a, b, ops.get(2).copied().unwrap_or(0) as i16)?,
            94 => self.print_table(ops)?,
            95 => {
                let args = self.frames.last().map_or(0, |f| f.args);
                self.branch(i, a <= u16::from(args))?
            }
            96 => self.save_game(i, pc)?,
            97 => self.restore_game(i)?,
            98 => {
                let r = if sb >= 0 {
                    a.checked_shl(b as u32).unwrap_or(0)
                } else {
                    a.checked_shr(-i32::from(sb) as u32).unwrap_or(0)
                };
                self.store(i, r)?
            }
            99 => {
                let r = if sb >= 0 { sa.checked_shl(b as u32).unwrap_or(0) } else { sa >> (-i32::from(sb)).min(15) };
                self.store(i, r as u16)?
            }
            100 => {
                let previous = self.screen.set_font(a);
                self.store(i, previous)?
            }
            105 => {
                if self.options.undo_slots > 0 {
                    if self.undo.len() >= self.options.undo_slots {
                        release(self.undo.remove(0));
                    }
                    let state = self.undo_state(i.save_point(pc));
                    self.undo.push(state);
                }
                self.store(i, u16::from(self.options.undo_slots > 0))?
            }
            106 => match self.undo.pop() {
                Some(snap) => {
                    self.put_back(&snap);
                    release(snap);
                    self.store_at_pc(2)?
                }
                None => self.store(i, 0)?,
            },
            107 => {
                let c = char::from_u32(u32::from(a)).unwrap_or('?');
                self.print_char(c)?
            }
            108 => self.store(i, if char::from_u32(u32::from(a)).is_some() && a >= 32 { 3 } else { 0 })?,
            109 => {}
            _ => return Err(illegal(i.op, self.story.0.version)),
        }
        Ok(None)
    }
}

//! Decoding and executing one instruction (Standard §4, §14, §15).

use std::sync::Arc;

use crate::Fault;
use crate::machine::{FRAME_LIMIT, Frame, Machine, Res, Stop, Wait};

#[derive(Clone, Copy, Debug)]
enum Op {
    Two(u8),
    One(u8),
    Zero(u8),
    Var(u8),
    Ext(u8),
}

fn illegal(op: Op, version: u8) -> Box<Fault> {
    Box::new(Fault::IllegalOpcode(format!("{op:?} in version {version}")))
}

impl Machine {
    #[inline(always)]
    fn operand(&mut self, ty: u8) -> Res<u16> {
        match ty {
            0 => self.fetch_word(),
            1 => Ok(u16::from(self.fetch()?)),
            _ => {
                let var = self.fetch()?;
                self.read_var(var)
            }
        }
    }

    /// Reads the store byte and writes `value` to that variable.
    #[inline(always)]
    pub(crate) fn store(&mut self, value: u16) -> Res<()> {
        let var = self.fetch()?;
        self.write_var(var, value)
    }

    /// Reads the branch bytes and branches when `cond` matches their sense.
    #[inline(always)]
    pub(crate) fn branch(&mut self, cond: bool) -> Res<()> {
        let b = self.fetch()?;
        let offset: i32 = if b & 0x40 != 0 {
            i32::from(b & 0x3f)
        } else {
            let raw = i32::from(b & 0x3f) << 8 | i32::from(self.fetch()?);
            if raw & 0x2000 != 0 { raw - 0x4000 } else { raw }
        };
        if cond == (b & 0x80 != 0) {
            match offset {
                0 => self.ret(0)?,
                1 => self.ret(1)?,
                _ => self.jump(offset),
            }
        }
        Ok(())
    }

    fn jump(&mut self, offset: i32) {
        self.pc = (self.pc as i64 + i64::from(offset) - 2).max(0) as usize;
    }

    pub(crate) fn call(&mut self, packed: u16, args: &[u16], store: Option<u8>) -> Res<()> {
        if packed == 0 {
            return match store {
                Some(var) => self.write_var(var, 0),
                None => Ok(()),
            };
        }
        if self.frames.len() >= FRAME_LIMIT {
            return Err(Box::new(Fault::StackOverflow(FRAME_LIMIT)));
        }
        let addr = self.unpack(packed);
        let nlocals = self.byte(addr)?;
        if nlocals > 15 {
            return Err(Box::new(Fault::BadRoutine(addr, nlocals)));
        }
        let mut locals = [0u16; 15];
        let mut at = addr + 1;
        if self.story.0.version <= 4 {
            for local in locals.iter_mut().take(usize::from(nlocals)) {
                *local = self.word(at)?;
                at += 2;
            }
        }
        for (local, &arg) in locals.iter_mut().zip(args).take(usize::from(nlocals)) {
            *local = arg;
        }
        self.frames.push(Frame {
            return_pc: self.pc,
            store,
            locals,
            nlocals,
            args: args.len() as u8,
            base: self.stack.len(),
        });
        self.pc = at;
        Ok(())
    }

    pub(crate) fn ret(&mut self, value: u16) -> Res<()> {
        if self.frames.len() <= 1 {
            return Err(Box::new(Fault::ReturnFromMain));
        }
        let Some(frame) = self.frames.pop() else { return Err(Box::new(Fault::ReturnFromMain)) };
        self.stack.truncate(frame.base);
        self.pc = frame.return_pc;
        match frame.store {
            Some(var) => self.write_var(var, value),
            None => Ok(()),
        }
    }

    fn call_op(&mut self, ops: &[u16], stores: bool) -> Res<()> {
        let store = if stores { Some(self.fetch()?) } else { None };
        let (&routine, args) = ops.split_first().ok_or(Fault::IllegalOpcode("call without a routine".into()))?;
        self.call(routine, args, store)
    }

    /// Decodes and executes the instruction at the pc. `Some` when the machine must stop.
    pub(crate) fn step(&mut self) -> Res<Option<Stop>> {
        let v = self.story.0.version;
        let opcode = self.fetch()?;
        let mut ops = [0u16; 8];
        let mut n = 0;
        let op = if opcode < 0x80 {
            for (i, bit) in [0x40u8, 0x20].into_iter().enumerate() {
                ops[i] = self.operand(if opcode & bit != 0 { 2 } else { 1 })?;
            }
            n = 2;
            Op::Two(opcode & 0x1f)
        } else if opcode < 0xc0 {
            let ty = (opcode >> 4) & 3;
            if ty == 3 {
                if opcode == 0xbe && v >= 5 {
                    let ext = self.fetch()?;
                    let types = self.fetch()?;
                    n = self.operands(&mut ops, types, 0xff)?;
                    Op::Ext(ext)
                } else {
                    Op::Zero(opcode & 0x0f)
                }
            } else {
                ops[0] = self.operand(ty)?;
                n = 1;
                Op::One(opcode & 0x0f)
            }
        } else {
            let types = self.fetch()?;
            let more = if opcode == 0xec || opcode == 0xfa { self.fetch()? } else { 0xff };
            n = self.operands(&mut ops, types, more)?;
            if opcode & 0x20 == 0 { Op::Two(opcode & 0x1f) } else { Op::Var(opcode & 0x1f) }
        };
        self.execute(op, &ops[..n])
    }

    #[inline(always)]
    fn operands(&mut self, ops: &mut [u16; 8], types: u8, more: u8) -> Res<usize> {
        let mut n = 0;
        for byte in [types, more] {
            for shift in [6, 4, 2, 0] {
                let ty = (byte >> shift) & 3;
                if ty == 3 {
                    return Ok(n);
                }
                ops[n] = self.operand(ty)?;
                n += 1;
            }
        }
        Ok(n)
    }

    fn execute(&mut self, op: Op, ops: &[u16]) -> Res<Option<Stop>> {
        let v = self.story.0.version;
        let a = ops.first().copied().unwrap_or(0);
        let b = ops.get(1).copied().unwrap_or(0);
        let (sa, sb) = (a as i16, b as i16);
        match op {
            Op::Two(code) => match code {
                1 => self.branch(ops.len() > 1 && ops[1..].contains(&a))?,
                2 => self.branch(sa < sb)?,
                3 => self.branch(sa > sb)?,
                4 | 5 => {
                    let var = a as u8;
                    let value = self.read_var_in_place(var)? as i16;
                    let value = if code == 4 { value.wrapping_sub(1) } else { value.wrapping_add(1) };
                    self.write_var_in_place(var, value as u16)?;
                    self.branch(if code == 4 { value < sb } else { value > sb })?;
                }
                6 => {
                    let parent = self.parent(a)?;
                    self.branch(parent == b)?
                }
                7 => self.branch(a & b == b)?,
                8 => self.store(a | b)?,
                9 => self.store(a & b)?,
                10 => {
                    let has = self.attr(a, b)?;
                    self.branch(has)?
                }
                11 | 12 => self.set_attr(a, b, code == 11)?,
                13 => self.write_var_in_place(a as u8, b)?,
                14 => self.insert_obj(a, b)?,
                15 => {
                    let w = self.word(usize::from(a.wrapping_add(b.wrapping_mul(2))))?;
                    self.store(w)?
                }
                16 => {
                    let byte = self.byte(usize::from(a.wrapping_add(b)))?;
                    self.store(u16::from(byte))?
                }
                17 => {
                    let value = self.get_prop(a, b)?;
                    self.store(value)?
                }
                18 => {
                    let addr = self.get_prop_addr(a, b)?;
                    self.store(addr)?
                }
                19 => {
                    let next = self.get_next_prop(a, b)?;
                    self.store(next)?
                }
                20 => self.store(sa.wrapping_add(sb) as u16)?,
                21 => self.store(sa.wrapping_sub(sb) as u16)?,
                22 => self.store(sa.wrapping_mul(sb) as u16)?,
                23 | 24 => {
                    if sb == 0 {
                        return Err(Box::new(Fault::DivisionByZero));
                    }
                    let r = if code == 23 { sa.wrapping_div(sb) } else { sa.wrapping_rem(sb) };
                    self.store(r as u16)?
                }
                25 if v >= 4 => self.call_op(ops, true)?,
                26 if v >= 5 => self.call_op(ops, false)?,
                27 if v >= 5 => {}
                28 if v >= 5 => {
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
                _ => return Err(illegal(op, v)),
            },
            Op::One(code) => match code {
                0 => self.branch(a == 0)?,
                1 | 2 => {
                    let o = if code == 1 { self.sibling(a)? } else { self.child(a)? };
                    self.store(o)?;
                    self.branch(o != 0)?
                }
                3 => {
                    let p = self.parent(a)?;
                    self.store(p)?
                }
                4 => {
                    let len = self.prop_len(a)?;
                    self.store(len)?
                }
                5 | 6 => {
                    let var = a as u8;
                    let value = self.read_var_in_place(var)?;
                    let value = if code == 5 { value.wrapping_add(1) } else { value.wrapping_sub(1) };
                    self.write_var_in_place(var, value)?
                }
                7 => {
                    self.print_string(usize::from(a))?;
                }
                8 if v >= 4 => self.call_op(ops, true)?,
                9 => self.remove_obj(a)?,
                10 => self.print_obj(a)?,
                11 => self.ret(a)?,
                12 => self.jump(i32::from(sa)),
                13 => {
                    self.print_string(self.unpack(a))?;
                }
                14 => {
                    let value = self.read_var_in_place(a as u8)?;
                    self.store(value)?
                }
                15 if v <= 4 => self.store(!a)?,
                15 => self.call_op(ops, false)?,
                _ => return Err(illegal(op, v)),
            },
            Op::Zero(code) => match code {
                0 => self.ret(1)?,
                1 => self.ret(0)?,
                2 | 3 => {
                    self.pc = self.print_string(self.pc)?;
                    if code == 3 {
                        self.print_zscii(13)?;
                        self.ret(1)?;
                    }
                }
                4 => {}
                5 if v <= 4 => self.save_game()?,
                6 if v <= 4 => self.restore_game()?,
                7 => self.restart(),
                8 => {
                    let value = self.pop()?;
                    self.ret(value)?
                }
                9 if v <= 4 => {
                    self.pop()?;
                }
                9 => self.store(self.frames.len() as u16)?,
                10 => {
                    self.wait = Wait::Quit;
                    return Ok(Some(Stop::Quit));
                }
                11 => self.print_zscii(13)?,
                // The v3 status line is drawn from the globals when asked for; later versions
                // ignore show_status, as frotz does.
                12 => {}
                13 => self.branch(self.story.0.checksum_ok)?,
                15 if v >= 5 => self.branch(true)?,
                _ => return Err(illegal(op, v)),
            },
            Op::Var(code) => match code {
                0 => self.call_op(ops, true)?,
                1 => self.set_word(usize::from(a.wrapping_add(b.wrapping_mul(2))), ops.get(2).copied().unwrap_or(0))?,
                2 => self.set_byte(usize::from(a.wrapping_add(b)), ops.get(2).copied().unwrap_or(0) as u8)?,
                3 => self.put_prop(a, b, ops.get(2).copied().unwrap_or(0))?,
                4 => {
                    let store = if v >= 5 { Some(self.fetch()?) } else { None };
                    self.wait = Wait::Line { text: usize::from(a), parse: usize::from(b), store };
                    return Ok(Some(Stop::Line));
                }
                5 => self.print_zscii(a)?,
                6 => self.print_text(&sa.to_string())?,
                7 => {
                    let value = if sa <= 0 {
                        self.random.reseed((-i32::from(sa)) as u32);
                        0
                    } else {
                        self.random.draw(a)
                    };
                    self.store(value)?
                }
                8 => self.push(a)?,
                9 => {
                    let value = self.pop()?;
                    self.write_var_in_place(a as u8, value)?
                }
                10 => self.screen.split(usize::from(a), v),
                11 => self.screen.select(a, v),
                12 if v >= 4 => self.call_op(ops, true)?,
                13 if v >= 4 => self.screen.erase(sa),
                14 | 17 | 18 if v >= 4 => {}
                15 if v >= 4 => self.screen.set_cursor(sa, sb),
                16 if v >= 4 => {
                    let (row, col) = self.screen.cursor();
                    self.set_word(usize::from(a), row)?;
                    self.set_word(usize::from(a) + 2, col)?
                }
                19 => self.output_stream(sa, b)?,
                20 | 21 => {}
                22 if v >= 4 => {
                    let store = self.fetch()?;
                    self.wait = Wait::Char { store };
                    return Ok(Some(Stop::Char));
                }
                23 if v >= 4 => {
                    let found =
                        self.scan_table(a, usize::from(b), ops.get(2).copied().unwrap_or(0), ops.get(3).copied())?;
                    self.store(found as u16)?;
                    self.branch(found != 0)?
                }
                24 if v >= 5 => self.store(!a)?,
                25 if v >= 5 => self.call_op(ops, false)?,
                26 if v >= 5 => self.call_op(ops, false)?,
                27 if v >= 5 => {
                    let dict = ops.get(2).copied().unwrap_or(0);
                    let flag = ops.get(3).copied().unwrap_or(0) != 0;
                    self.tokenise(usize::from(a), usize::from(b), usize::from(dict), flag)?
                }
                28 if v >= 5 => self.encode_text(ops)?,
                29 if v >= 5 => self.copy_table(a, b, ops.get(2).copied().unwrap_or(0) as i16)?,
                30 if v >= 5 => self.print_table(ops)?,
                31 if v >= 5 => {
                    let args = self.frames.last().map_or(0, |f| f.args);
                    self.branch(a <= u16::from(args))?
                }
                _ => return Err(illegal(op, v)),
            },
            Op::Ext(code) => match code {
                0 => self.save_game()?,
                1 => self.restore_game()?,
                2 => {
                    let r = if sb >= 0 {
                        a.checked_shl(b as u32).unwrap_or(0)
                    } else {
                        a.checked_shr(-i32::from(sb) as u32).unwrap_or(0)
                    };
                    self.store(r)?
                }
                3 => {
                    let r =
                        if sb >= 0 { sa.checked_shl(b as u32).unwrap_or(0) } else { sa >> (-i32::from(sb)).min(15) };
                    self.store(r as u16)?
                }
                4 => {
                    let previous = self.screen.set_font(a);
                    self.store(previous)?
                }
                9 => {
                    if self.options.undo_slots > 0 {
                        if self.undo.len() >= self.options.undo_slots {
                            self.undo.remove(0);
                        }
                        let snap = self.snapshot();
                        self.undo.push(Arc::new(snap));
                    }
                    self.store(u16::from(self.options.undo_slots > 0))?
                }
                10 => match self.undo.pop() {
                    Some(snap) => {
                        self.put_back(&snap);
                        self.store(2)?
                    }
                    None => self.store(0)?,
                },
                11 => {
                    let c = char::from_u32(u32::from(a)).unwrap_or('?');
                    self.print_char(c)?
                }
                12 => self.store(if char::from_u32(u32::from(a)).is_some() && a >= 32 { 3 } else { 0 })?,
                13 => {}
                _ => return Err(illegal(op, v)),
            },
        }
        Ok(None)
    }
}

//! Saved games in the Quetzal format (version 1.4): IFhd, CMem (or UMem) and Stks chunks in an
//! IFF `FORM IFZS`. The game's `save` writes one to the machine's slot; `restore` reads it back.

use std::sync::Arc;

use crate::Fault;
use crate::exec::Instr;
use crate::machine::{Frame, Machine, Res, Snapshot};

fn chunk(out: &mut Vec<u8>, id: &[u8; 4], body: &[u8]) {
    out.extend_from_slice(id);
    out.extend((body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    if body.len() % 2 == 1 {
        out.push(0);
    }
}

fn bad(why: impl Into<String>) -> Box<Fault> {
    Box::new(Fault::Save(why.into()))
}

impl Machine {
    /// The whole state as a Quetzal file. `pc` is the address the file records.
    fn quetzal(&self, pc: usize) -> Vec<u8> {
        let story = &self.story.0.bytes;
        let mut ifhd = Vec::with_capacity(13);
        ifhd.extend_from_slice(&story[2..4]);
        ifhd.extend_from_slice(&story[0x12..0x18]);
        ifhd.extend_from_slice(&story[0x1c..0x1e]);
        ifhd.extend_from_slice(&(pc as u32).to_be_bytes()[1..]);
        let mut cmem = Vec::new();
        let mut zeros = 0usize;
        for (i, &b) in self.mem.iter().enumerate() {
            let x = b ^ story[i];
            if x == 0 {
                zeros += 1;
                continue;
            }
            while zeros > 0 {
                let run = zeros.min(256);
                cmem.extend([0, (run - 1) as u8]);
                zeros -= run;
            }
            cmem.push(x);
        }
        let mut stks = Vec::new();
        for (k, f) in self.frames.iter().enumerate() {
            let end = self.frames.get(k + 1).map_or(self.stack.len(), |next| next.base).max(f.base);
            let evals = &self.stack[f.base.min(self.stack.len())..end.min(self.stack.len())];
            stks.extend(&(f.return_pc as u32).to_be_bytes()[1..]);
            // The main routine's dummy frame is all zeros (Quetzal §4.11).
            stks.push(f.nlocals | if f.store.is_none() && k > 0 { 0x10 } else { 0 });
            stks.push(f.store.unwrap_or(0));
            stks.push(((1u16 << f.args.min(7)) - 1) as u8);
            stks.extend((evals.len() as u16).to_be_bytes());
            let locals = if k + 1 == self.frames.len() { &self.locals } else { &f.locals };
            for l in &locals[..usize::from(f.nlocals)] {
                stks.extend(l.to_be_bytes());
            }
            for e in evals {
                stks.extend(e.to_be_bytes());
            }
        }
        let mut body = b"IFZS".to_vec();
        chunk(&mut body, b"IFhd", &ifhd);
        chunk(&mut body, b"CMem", &cmem);
        chunk(&mut body, b"Stks", &stks);
        let mut out = b"FORM".to_vec();
        out.extend((body.len() as u32).to_be_bytes());
        out.extend(body);
        out
    }

    /// Reads a Quetzal file made for this story into a snapshot (nothing is changed yet).
    fn parse_quetzal(&self, data: &[u8]) -> Res<Snapshot> {
        if data.len() < 12 || &data[..4] != b"FORM" || &data[8..12] != b"IFZS" {
            return Err(bad("not a Quetzal file (no FORM IFZS header)"));
        }
        let story = &self.story.0.bytes;
        let mut at = 12;
        let (mut pc, mut mem, mut frames_stack) = (None, None, None);
        while at + 8 <= data.len() {
            let id = &data[at..at + 4];
            let len = u32::from_be_bytes([data[at + 4], data[at + 5], data[at + 6], data[at + 7]]) as usize;
            let body = data.get(at + 8..at + 8 + len).ok_or_else(|| bad("a chunk runs past the end of the file"))?;
            match id {
                b"IFhd" => {
                    if len < 13 {
                        return Err(bad("IFhd chunk shorter than 13 bytes"));
                    }
                    if body[..2] != story[2..4] || body[2..8] != story[0x12..0x18] || body[8..10] != story[0x1c..0x1e] {
                        return Err(bad("saved from another story file (release, serial or checksum differ)"));
                    }
                    pc = Some(usize::from(body[10]) << 16 | usize::from(body[11]) << 8 | usize::from(body[12]));
                }
                b"CMem" => {
                    let mut m = story[..self.mem.len()].to_vec();
                    let mut i = 0;
                    let mut k = 0;
                    while k < body.len() {
                        if body[k] == 0 {
                            let run = usize::from(*body.get(k + 1).ok_or_else(|| bad("CMem ends inside a run"))?) + 1;
                            i += run;
                            k += 2;
                        } else {
                            *m.get_mut(i).ok_or_else(|| bad("CMem is longer than dynamic memory"))? ^= body[k];
                            i += 1;
                            k += 1;
                        }
                        if i > m.len() {
                            return Err(bad("CMem is longer than dynamic memory"));
                        }
                    }
                    mem = Some(m);
                }
                b"UMem" => {
                    if len != self.mem.len() {
                        return Err(bad(format!("UMem is {len} bytes; dynamic memory is {}", self.mem.len())));
                    }
                    mem = Some(body.to_vec());
                }
                b"Stks" => frames_stack = Some(parse_stacks(body, &self.options)?),
                _ => {}
            }
            at += 8 + len + len % 2;
        }
        let (frames, stack) = frames_stack.ok_or_else(|| bad("no Stks chunk"))?;
        Ok(Snapshot {
            mem: mem.ok_or_else(|| bad("no CMem or UMem chunk"))?,
            stack,
            frames,
            pc: pc.ok_or_else(|| bad("no IFhd chunk"))?,
        })
    }

    /// The game's `save`: the slot receives the state; success is stored (v4+) or branched on.
    pub(crate) fn save_game(&mut self, i: &Instr, pc: usize) -> Res<()> {
        let file = self.quetzal(i.save_point(pc));
        self.saved = Some(Arc::new(file));
        self.saves += 1;
        if self.story.0.version <= 3 { self.branch(i, true) } else { self.store(i, 1) }
    }

    /// The game's `restore`: from the slot when it holds a valid save for this story; on
    /// success execution goes on after the `save` that made it, which sees 2 (v4+) or branches.
    pub(crate) fn restore_game(&mut self, i: &Instr) -> Res<()> {
        let snap = self.saved.as_ref().and_then(|file| self.parse_quetzal(file).ok());
        match snap {
            Some(snap) => {
                self.put_back(&snap);
                if self.story.0.version <= 3 { self.branch_at_pc(true) } else { self.store_at_pc(2) }
            }
            None if self.story.0.version <= 3 => self.branch(i, false),
            None => self.store(i, 0),
        }
    }
}

fn parse_stacks(body: &[u8], limits: &crate::Options) -> Res<(Vec<Frame>, Vec<u16>)> {
    let mut frames = Vec::new();
    let mut stack = Vec::new();
    let mut k = 0;
    let word = |k: usize| -> Res<u16> {
        Ok(u16::from_be_bytes([
            *body.get(k).ok_or_else(|| bad("Stks ends inside a frame"))?,
            *body.get(k + 1).ok_or_else(|| bad("Stks ends inside a frame"))?,
        ]))
    };
    while k < body.len() {
        if k + 8 > body.len() {
            return Err(bad("Stks ends inside a frame header"));
        }
        let return_pc = usize::from(body[k]) << 16 | usize::from(body[k + 1]) << 8 | usize::from(body[k + 2]);
        let flags = body[k + 3];
        let nlocals = flags & 0x0f;
        let store = if flags & 0x10 != 0 { None } else { Some(body[k + 4]) };
        let args = (body[k + 5].trailing_ones()) as u8;
        let evals = usize::from(word(k + 6)?);
        k += 8;
        let mut locals = [0u16; 16];
        for l in locals.iter_mut().take(usize::from(nlocals)) {
            *l = word(k)?;
            k += 2;
        }
        let base = stack.len();
        for _ in 0..evals {
            stack.push(word(k)?);
            k += 2;
        }
        if stack.len() > limits.stack || frames.len() >= limits.frames {
            return Err(bad("Stks is deeper than this interpreter's stack"));
        }
        frames.push(Frame { return_pc, store, locals, nlocals, args, base });
    }
    if frames.is_empty() {
        return Err(bad("Stks holds no frame"));
    }
    Ok((frames, stack))
}

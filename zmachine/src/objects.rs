//! The object table: tree, attributes and properties (Standard §12).
//!
//! Object 0 is "nothing": as frotz does, reading its relatives gives 0 and changing it does
//! nothing, because Infocom's own games ask (`jin` and `get_parent` of 0 happen in play).

use crate::Fault;
use crate::machine::{Machine, Res};

/// One object as the tree holds it, for callers that read the world.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    pub number: u16,
    pub name: String,
    pub parent: u16,
    pub sibling: u16,
    pub child: u16,
}

/// Most steps any walk along a sibling chain may take (a corrupt tree could loop).
const CHAIN_LIMIT: usize = 65_536;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Link {
    Parent,
    Sibling,
    Child,
}

impl Machine {
    fn small(&self) -> bool {
        self.story.0.version <= 3
    }

    fn entry(&self, o: u16) -> usize {
        let (defaults, size) = if self.small() { (62, 9) } else { (126, 14) };
        self.story.0.objects + defaults + (usize::from(o) - 1) * size
    }

    /// Where a link lives: its address, and whether it is a word (v4+) or a byte.
    fn link_at(&self, o: u16, which: Link) -> (usize, bool) {
        let small = self.small();
        let off = match which {
            Link::Parent => 4,
            Link::Sibling => 5,
            Link::Child => 6,
        };
        // v4+ entries hold 6 attribute bytes and word links: 6, 8, 10.
        (self.entry(o) + if small { off } else { 2 * off - 2 }, !small)
    }

    fn link(&self, o: u16, which: Link) -> Res<u16> {
        if o == 0 {
            return Ok(0);
        }
        match self.link_at(o, which) {
            (at, true) => self.word(at),
            (at, false) => Ok(u16::from(self.byte(at)?)),
        }
    }

    fn set_link(&mut self, o: u16, which: Link, value: u16) -> Res<()> {
        match self.link_at(o, which) {
            (at, true) => self.set_word(at, value),
            (at, false) => self.set_byte(at, value as u8),
        }
    }

    pub(crate) fn parent(&self, o: u16) -> Res<u16> {
        self.link(o, Link::Parent)
    }

    pub(crate) fn sibling(&self, o: u16) -> Res<u16> {
        self.link(o, Link::Sibling)
    }

    pub(crate) fn child(&self, o: u16) -> Res<u16> {
        self.link(o, Link::Child)
    }

    fn attr_at(&self, o: u16, attr: u16) -> Res<(usize, u8)> {
        let limit = if self.small() { 32 } else { 48 };
        if attr >= limit {
            return Err(Box::new(Fault::Object(o, "attribute number out of range")));
        }
        Ok((self.entry(o) + usize::from(attr / 8), 0x80 >> (attr % 8)))
    }

    pub(crate) fn attr(&self, o: u16, attr: u16) -> Res<bool> {
        if o == 0 {
            return Ok(false);
        }
        let (at, mask) = self.attr_at(o, attr)?;
        Ok(self.byte(at)? & mask != 0)
    }

    pub(crate) fn set_attr(&mut self, o: u16, attr: u16, on: bool) -> Res<()> {
        if o == 0 {
            return Ok(());
        }
        let (at, mask) = self.attr_at(o, attr)?;
        let byte = self.byte(at)?;
        self.set_byte(at, if on { byte | mask } else { byte & !mask })?;
        if let Some(log) = &mut self.attribute_log {
            log.push((o, attr, on));
        }
        Ok(())
    }

    pub(crate) fn remove_obj(&mut self, o: u16) -> Res<()> {
        let parent = self.parent(o)?;
        if o == 0 || parent == 0 {
            return Ok(());
        }
        let next = self.sibling(o)?;
        let first = self.child(parent)?;
        if first == o {
            self.set_link(parent, Link::Child, next)?;
        } else {
            let mut at = first;
            for _ in 0..CHAIN_LIMIT {
                if at == 0 {
                    return Err(Box::new(Fault::Object(o, "not among its parent's children")));
                }
                let after = self.sibling(at)?;
                if after == o {
                    self.set_link(at, Link::Sibling, next)?;
                    break;
                }
                at = after;
            }
        }
        self.set_link(o, Link::Parent, 0)?;
        self.set_link(o, Link::Sibling, 0)
    }

    pub(crate) fn insert_obj(&mut self, o: u16, into: u16) -> Res<()> {
        if o == 0 || into == 0 {
            return Ok(());
        }
        self.remove_obj(o)?;
        let first = self.child(into)?;
        self.set_link(o, Link::Parent, into)?;
        self.set_link(o, Link::Sibling, first)?;
        self.set_link(into, Link::Child, o)
    }

    /// Address of the object's name (its property table's start).
    fn name_addr(&self, o: u16) -> Res<usize> {
        let e = self.entry(o);
        Ok(usize::from(self.word(e + if self.small() { 7 } else { 12 })?))
    }

    /// First property entry of an object.
    fn first_prop(&self, o: u16) -> Res<usize> {
        let t = self.name_addr(o)?;
        Ok(t + 1 + 2 * usize::from(self.byte(t)?))
    }

    /// The property entry at `at`: number, data address and data length; None at the end.
    fn prop_at(&self, at: usize) -> Res<Option<(u16, usize, usize)>> {
        let b = self.byte(at)?;
        if b == 0 {
            return Ok(None);
        }
        if self.small() {
            return Ok(Some((u16::from(b & 31), at + 1, usize::from(b >> 5) + 1)));
        }
        if b & 0x80 != 0 {
            let len = usize::from(self.byte(at + 1)? & 63);
            Ok(Some((u16::from(b & 63), at + 2, if len == 0 { 64 } else { len })))
        } else {
            Ok(Some((u16::from(b & 63), at + 1, if b & 0x40 != 0 { 2 } else { 1 })))
        }
    }

    /// Data address and length of property `p`, if the object has it.
    fn find_prop(&self, o: u16, p: u16) -> Res<Option<(usize, usize)>> {
        let mut at = self.first_prop(o)?;
        for _ in 0..64 {
            match self.prop_at(at)? {
                None => return Ok(None),
                Some((n, data, len)) if n == p => return Ok(Some((data, len))),
                Some((_, data, len)) => at = data + len,
            }
        }
        Err(Box::new(Fault::Object(o, "property list does not end")))
    }

    pub(crate) fn get_prop(&self, o: u16, p: u16) -> Res<u16> {
        if o != 0
            && let Some((data, len)) = self.find_prop(o, p)?
        {
            return if len == 1 { Ok(u16::from(self.byte(data)?)) } else { self.word(data) };
        }
        if p == 0 || p > if self.small() { 31 } else { 63 } {
            return Err(Box::new(Fault::Object(o, "property number out of range")));
        }
        self.word(self.story.0.objects + 2 * (usize::from(p) - 1))
    }

    pub(crate) fn get_prop_addr(&self, o: u16, p: u16) -> Res<u16> {
        if o == 0 {
            return Ok(0);
        }
        Ok(self.find_prop(o, p)?.map_or(0, |(data, _)| data as u16))
    }

    pub(crate) fn get_next_prop(&self, o: u16, p: u16) -> Res<u16> {
        if o == 0 {
            return Ok(0);
        }
        let at = if p == 0 {
            self.first_prop(o)?
        } else {
            let (data, len) = self.find_prop(o, p)?.ok_or(Fault::Object(o, "get_next_prop of a property it lacks"))?;
            data + len
        };
        Ok(self.prop_at(at)?.map_or(0, |(n, _, _)| n))
    }

    pub(crate) fn prop_len(&self, data: u16) -> Res<u16> {
        if data == 0 {
            return Ok(0);
        }
        let b = self.byte(usize::from(data) - 1)?;
        Ok(if self.small() {
            u16::from(b >> 5) + 1
        } else if b & 0x80 != 0 {
            match b & 63 {
                0 => 64,
                n => u16::from(n),
            }
        } else if b & 0x40 != 0 {
            2
        } else {
            1
        })
    }

    pub(crate) fn put_prop(&mut self, o: u16, p: u16, value: u16) -> Res<()> {
        if o == 0 {
            return Ok(());
        }
        let (data, len) = self.find_prop(o, p)?.ok_or(Fault::Object(o, "put_prop of a property it lacks"))?;
        if len == 1 { self.set_byte(data, value as u8) } else { self.set_word(data, value) }
    }

    pub(crate) fn object_name(&self, o: u16) -> Res<String> {
        if o == 0 {
            return Ok(String::new());
        }
        let t = self.name_addr(o)?;
        if self.byte(t)? == 0 {
            return Ok(String::new());
        }
        self.decode_string(t + 1)
    }

    pub(crate) fn print_obj(&mut self, o: u16) -> Res<()> {
        if o == 0 {
            return Ok(());
        }
        let t = self.name_addr(o)?;
        if self.byte(t)? == 0 {
            return Ok(());
        }
        self.print_string(t + 1).map(|_| ())
    }

    // ---- public reading ------------------------------------------------------------------

    /// Objects the table holds: counted up to where the first property table starts, as the
    /// Standard lays them out (at most 255 in v3, 65535 later).
    pub(crate) fn count_objects(&self) -> u16 {
        let (defaults, size) = if self.small() { (62, 9) } else { (126, 14) };
        let first = self.story.0.objects + defaults;
        let max = if self.small() { 255 } else { 65_535 };
        let mut lowest = usize::MAX;
        let mut n = 0u16;
        while n < max {
            let e = first + usize::from(n) * size;
            if e + size > lowest || e + size > self.mem.len() {
                break;
            }
            if let Ok(t) = self.name_addr(n + 1) {
                lowest = lowest.min(t);
            }
            n += 1;
        }
        n
    }

    /// Objects the table holds, as the story file lays them out (counted once, up to where the
    /// first property table starts; at most 255 in v3, 65535 later).
    pub fn object_count(&self) -> u16 {
        self.objects
    }

    /// The object table's entries as they are now, object 1 first: attributes and tree links
    /// (and each entry's fixed property address). What changed in a command is what these bytes
    /// show changed, which is how a search for valid commands compares two forks.
    pub fn object_entries(&self) -> &[u8] {
        &self.mem[self.object_entries_at()]
    }

    /// Where [`object_entries`](Machine::object_entries) lie in dynamic memory.
    pub fn object_entries_at(&self) -> std::ops::Range<usize> {
        let size = if self.small() { 9 } else { 14 };
        let start = self.entry(1).min(self.mem.len());
        start..(start + usize::from(self.objects) * size).min(self.mem.len())
    }

    /// Object `o` (1-based), or None when it is outside the table.
    pub fn object(&self, o: u16) -> Option<Object> {
        if o == 0 || o > self.object_count() {
            return None;
        }
        Some(Object {
            number: o,
            name: self.object_name(o).ok()?,
            parent: self.parent(o).ok()?,
            sibling: self.sibling(o).ok()?,
            child: self.child(o).ok()?,
        })
    }

    /// Whether object `o` has attribute `attr` (false for a bad number).
    pub fn attribute(&self, o: u16, attr: u16) -> bool {
        o != 0 && o <= self.object_count() && self.attr(o, attr).unwrap_or(false)
    }

    /// Sets or clears attribute `attr` of object `o`, for questions asked on a fork; false for a
    /// bad number.
    pub fn set_attribute(&mut self, o: u16, attr: u16, on: bool) -> bool {
        o != 0 && o <= self.object_count() && self.set_attr(o, attr, on).is_ok()
    }

    /// The data bytes of property `p` of object `o`, if it has one.
    pub fn property(&self, o: u16, p: u16) -> Option<Vec<u8>> {
        if o == 0 || o > self.object_count() {
            return None;
        }
        let (data, len) = self.find_prop(o, p).ok()??;
        (data..data + len).map(|a| self.byte(a).ok()).collect()
    }
}

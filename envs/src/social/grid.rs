//! The gridworld shared by the social games: cells with flag bits, moves, beams and the
//! egocentric channel-plane view.
//!
//! A cell's bits double as observation channels: bit `k` set means channel `k` is 1 there. Bit 0
//! is always the wall; cells outside a bounded grid read as walls.

use crate::api::{Rng, Space};

/// Wall flag (channel 0 of every grid game's observation).
pub const WALL: u8 = 1;

/// Actions shared by every grid game: four moves and standing still.
pub const UP: u32 = 0;
/// Move down (row + 1).
pub const DOWN: u32 = 1;
/// Move left (column - 1).
pub const LEFT: u32 = 2;
/// Move right (column + 1).
pub const RIGHT: u32 = 3;
/// Stand still.
pub const STAY: u32 = 4;
/// Interact with what is on the agent's cell (the hunts: take a hare, clear a drift).
pub const INTERACT: u32 = 5;

/// How the hunts' agents take what lies on their cell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interaction {
    /// A sixth action, `INTERACT`, takes a hare or clears a drift on the agent's cell, and a stag
    /// is taken by the agents that stay on its cell (the LASE authors' games).
    #[default]
    Interact,
    /// Stepping onto prey or a drift takes or clears it; 5 actions (moralgym v0).
    StepOn,
}

impl Interaction {
    /// Number of actions: 4 moves and stay, plus interact.
    pub fn num_actions(self) -> usize {
        match self {
            Interaction::Interact => 6,
            Interaction::StepOn => 5,
        }
    }
}

/// A rectangular grid of flag cells, bounded by walls or wrapping around (a torus).
#[derive(Clone, Debug)]
pub struct Grid {
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// Whether moving off an edge enters the opposite edge.
    pub wrap: bool,
    /// Flag bits per cell, row-major.
    pub cells: Vec<u8>,
}

/// The egocentric observation of a grid game: `channels` planes of a square window.
#[derive(Clone, Copy, Debug)]
pub struct View {
    /// Cells seen in each direction from the agent (window side `2 * radius + 1`).
    pub radius: usize,
    /// Channels: the grid's flag channels, then the object channels.
    pub channels: usize,
}

impl View {
    /// Side of the square window.
    pub fn side(&self) -> usize {
        2 * self.radius + 1
    }

    /// Floats per agent observation.
    pub fn len(&self) -> usize {
        self.channels * self.side() * self.side()
    }

    /// Whether the view holds no values (never, for a valid view).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The Box space of this view: shape `[channels, side, side]` in {0, 1}.
    pub fn space(&self) -> Space {
        Space::Box { low: 0.0, high: 1.0, shape: vec![self.channels, self.side(), self.side()] }
    }
}

impl Grid {
    /// An empty grid.
    pub fn new(height: usize, width: usize, wrap: bool) -> Self {
        Self { height, width, wrap, cells: vec![0; height * width] }
    }

    /// Cell index of (row, column).
    #[inline]
    pub fn idx(&self, row: usize, col: usize) -> usize {
        row * self.width + col
    }

    /// (row, column) of a cell index.
    #[inline]
    pub fn rc(&self, idx: usize) -> (usize, usize) {
        (idx / self.width, idx % self.width)
    }

    /// Whether a cell has any of the flags in `mask`.
    #[inline]
    pub fn has(&self, idx: usize, mask: u8) -> bool {
        self.cells[idx] & mask != 0
    }

    /// The cell `(dr, dc)` away from `idx`, or `None` off a bounded grid.
    #[inline]
    pub fn offset(&self, idx: usize, dr: isize, dc: isize) -> Option<usize> {
        let (r, c) = self.rc(idx);
        let (h, w) = (self.height as isize, self.width as isize);
        let (mut nr, mut nc) = (r as isize + dr, c as isize + dc);
        if self.wrap {
            nr = nr.rem_euclid(h);
            nc = nc.rem_euclid(w);
        } else if nr < 0 || nc < 0 || nr >= h || nc >= w {
            return None;
        }
        Some(self.idx(nr as usize, nc as usize))
    }

    /// The cell reached by a move action, or `idx` itself when a wall or the edge blocks it.
    #[inline]
    pub fn moved(&self, idx: usize, action: u32) -> usize {
        let (dr, dc) = direction(action);
        match self.offset(idx, dr, dc) {
            Some(n) if !self.has(n, WALL) => n,
            _ => idx,
        }
    }

    /// Calls `hit` on each cell of a beam fired from `idx` facing `facing` (a move action):
    /// `length` cells ahead, in `width` parallel lanes (1 or 3), each lane stopped by walls.
    pub fn beam(&self, idx: usize, facing: u32, length: usize, width: usize, mut hit: impl FnMut(usize)) {
        let (dr, dc) = direction(facing);
        let lanes: &[isize] = if width >= 3 { &[-1, 0, 1] } else { &[0] };
        for &lane in lanes {
            // A side lane starts beside the shooter; it is blocked if that cell is a wall.
            let Some(mut cur) = self.offset(idx, lane * dc, lane * dr) else {
                continue;
            };
            if self.has(cur, WALL) {
                continue;
            }
            for _ in 0..length {
                match self.offset(cur, dr, dc) {
                    Some(n) if !self.has(n, WALL) => {
                        hit(n);
                        cur = n;
                    }
                    _ => break,
                }
            }
        }
    }

    /// Writes the egocentric view of the agent at `center` into `obs` (`view.len()` floats,
    /// channel-major). Channels `0..flag_channels` come from cell flags; each `(cell, channel)` in
    /// `objects` marks that channel where the object is in sight.
    pub fn write_view(
        &self,
        obs: &mut [f32],
        view: View,
        flag_channels: usize,
        center: usize,
        objects: &[(usize, usize)],
    ) {
        obs.fill(0.0);
        let side = view.side();
        let plane = side * side;
        let r = view.radius as isize;
        let (cr, cc) = self.rc(center);
        for y in 0..side {
            let Some(row) = self.axis(cr as isize + y as isize - r, self.height) else {
                obs[y * side..(y + 1) * side].fill(1.0); // outside the grid reads as wall
                continue;
            };
            for x in 0..side {
                let w = y * side + x;
                let Some(col) = self.axis(cc as isize + x as isize - r, self.width) else {
                    obs[w] = 1.0;
                    continue;
                };
                let cell = row * self.width + col;
                let flags = self.cells[cell];
                if flags != 0 {
                    for ch in 0..flag_channels {
                        if flags & (1 << ch) != 0 {
                            obs[ch * plane + w] = 1.0;
                        }
                    }
                }
                for &(pos, ch) in objects {
                    if pos == cell {
                        obs[ch * plane + w] = 1.0;
                    }
                }
            }
        }
    }

    /// Whether `cell` lies inside the window of `view` centred on `center`.
    pub fn in_view(&self, view: View, center: usize, cell: usize) -> bool {
        let (cr, cc) = self.rc(center);
        let (r, c) = self.rc(cell);
        let near = |from: usize, to: usize, len: usize| {
            if self.wrap {
                let d = (to + len - from) % len;
                d <= view.radius || len - d <= view.radius
            } else {
                from.abs_diff(to) <= view.radius
            }
        };
        near(cr, r, self.height) && near(cc, c, self.width)
    }

    /// A row or column coordinate brought onto the grid (wrapping), or `None` off a bounded grid.
    #[inline]
    fn axis(&self, mut v: isize, len: usize) -> Option<usize> {
        let len = len as isize;
        if self.wrap {
            while v < 0 {
                v += len;
            }
            while v >= len {
                v -= len;
            }
            Some(v as usize)
        } else {
            (0..len).contains(&v).then_some(v as usize)
        }
    }

    /// A uniformly random cell whose flags satisfy `ok`, not in `taken`; `None` if there is none.
    pub fn random_cell(&self, rng: &mut Rng, taken: &[usize], ok: impl Fn(u8) -> bool) -> Option<usize> {
        let free = |i: usize| ok(self.cells[i]) && !taken.contains(&i);
        let count = (0..self.cells.len()).filter(|&i| free(i)).count();
        if count == 0 {
            return None;
        }
        let k = rng.below(count);
        (0..self.cells.len()).filter(|&i| free(i)).nth(k)
    }

    /// A uniformly random cell with none of the `blocked` flags, not in `taken`.
    pub fn random_free(&self, rng: &mut Rng, blocked: u8, taken: &[usize]) -> Option<usize> {
        self.random_cell(rng, taken, |f| f & blocked == 0)
    }

    /// The window of `view` centred on `center` as lines of characters, north at the top: `marks`
    /// (cell, character) first (the first mark of a cell wins), then `#` for walls and cells off a
    /// bounded grid, then `glyph(flags)`. What an agent's egocentric observation shows, in words.
    pub fn view_text(&self, view: View, center: usize, marks: &[(usize, char)], glyph: impl Fn(u8) -> char) -> String {
        let side = view.side();
        let r = view.radius as isize;
        let (cr, cc) = self.rc(center);
        let mut s = String::with_capacity((side + 1) * side);
        for y in 0..side {
            let row = self.axis(cr as isize + y as isize - r, self.height);
            for x in 0..side {
                let col = self.axis(cc as isize + x as isize - r, self.width);
                let ch = match (row, col) {
                    (Some(row), Some(col)) => {
                        let cell = self.idx(row, col);
                        match marks.iter().find(|m| m.0 == cell) {
                            Some(&(_, m)) => m,
                            None if self.has(cell, WALL) => '#',
                            None => glyph(self.cells[cell]),
                        }
                    }
                    _ => '#',
                };
                s.push(ch);
            }
            s.push('\n');
        }
        s
    }

    /// Text picture: `glyph(cell)` per cell, agents drawn as their index digits.
    pub fn render(&self, agents: &[usize], glyph: impl Fn(u8) -> char) -> String {
        let mut s = String::with_capacity((self.width + 1) * self.height);
        for row in 0..self.height {
            for col in 0..self.width {
                let i = self.idx(row, col);
                match agents.iter().position(|&a| a == i) {
                    Some(a) => s.push(char::from_digit(a as u32 % 36, 36).unwrap_or('?')),
                    None if self.has(i, WALL) => s.push('#'),
                    None => s.push(glyph(self.cells[i])),
                }
            }
            s.push('\n');
        }
        s
    }
}

/// What a shared grid action does, in words (`None` for a game's own actions above `STAY`).
pub fn action_name(action: u32) -> Option<&'static str> {
    Some(match action {
        UP => "move up (north)",
        DOWN => "move down (south)",
        LEFT => "move left (west)",
        RIGHT => "move right (east)",
        STAY => "stay where you are",
        INTERACT => "interact with what is on your cell",
        _ => return None,
    })
}

/// (row, column) step of a move action; `STAY` and the rest do not move.
#[inline]
pub fn direction(action: u32) -> (isize, isize) {
    match action {
        UP => (-1, 0),
        DOWN => (1, 0),
        LEFT => (0, -1),
        RIGHT => (0, 1),
        _ => (0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_stop_at_edges_and_walls_and_wrap_on_a_torus() {
        let mut g = Grid::new(3, 3, false);
        assert_eq!(g.moved(0, UP), 0);
        assert_eq!(g.moved(0, RIGHT), 1);
        g.cells[1] = WALL;
        assert_eq!(g.moved(0, RIGHT), 0);
        let t = Grid::new(3, 3, true);
        assert_eq!(t.moved(0, UP), 6);
        assert_eq!(t.moved(0, LEFT), 2);
        assert_eq!(t.moved(4, STAY), 4);
    }

    #[test]
    fn view_marks_walls_outside_and_objects_relative_to_the_agent() {
        let g = Grid::new(3, 3, false);
        let view = View { radius: 1, channels: 2 };
        let mut obs = vec![9.0; view.len()];
        // agent in the top-left corner, object one cell right of it
        g.write_view(&mut obs, view, 1, 0, &[(1, 1)]);
        let wall = &obs[0..9];
        assert_eq!(wall, &[1., 1., 1., 1., 0., 0., 1., 0., 0.]);
        let obj = &obs[9..18];
        assert_eq!(obj, &[0., 0., 0., 0., 0., 1., 0., 0., 0.]);
    }

    #[test]
    fn beam_covers_length_and_width_and_stops_at_walls() {
        let mut g = Grid::new(5, 5, false);
        let mut hits = vec![];
        g.beam(g.idx(2, 0), RIGHT, 3, 1, |c| hits.push(c));
        assert_eq!(hits, vec![g.idx(2, 1), g.idx(2, 2), g.idx(2, 3)]);
        let wall = g.idx(2, 2);
        g.cells[wall] = WALL;
        hits.clear();
        g.beam(g.idx(2, 0), RIGHT, 3, 3, |c| hits.push(c));
        hits.sort();
        let mut want = vec![g.idx(1, 1), g.idx(1, 2), g.idx(1, 3), g.idx(2, 1), g.idx(3, 1), g.idx(3, 2), g.idx(3, 3)];
        want.sort();
        assert_eq!(hits, want);
    }
}

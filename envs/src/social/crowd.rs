//! The players of the grid games with several agents: positions, facing, moves in a seeded random
//! order, the zap beam, tag-outs, and writing everyone's egocentric view.

use serde::{Deserialize, Serialize};

use super::episode::Episode;
use super::grid::{DOWN, Grid, LEFT, RIGHT, UP, View};
use super::matrix::out_of_range;
use crate::api::{EnvResult, Event, Rng, StepBuf};

/// The zap (tagging) beam of Cleanup and Harvest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ZapConfig {
    /// Whether agents have a zap action.
    pub enabled: bool,
    /// Cells the beam reaches ahead of the shooter.
    pub length: usize,
    /// Parallel lanes of the beam (1 or 3).
    pub width: usize,
    /// Reward the hit agent loses.
    pub penalty: f32,
    /// Reward the shooter pays for every shot, hit or miss.
    pub fire_cost: f32,
    /// Steps a hit agent is frozen (tagged out); 0 keeps it in play.
    pub timeout: u32,
}

impl Default for ZapConfig {
    fn default() -> Self {
        Self { enabled: true, length: 5, width: 3, penalty: 50.0, fire_cost: 1.0, timeout: 0 }
    }
}

impl ZapConfig {
    pub(crate) fn validate(&self, id: &str) -> EnvResult<()> {
        if self.width != 1 && self.width != 3 {
            return Err(out_of_range(id, "zap.width", "must be 1 or 3"));
        }
        if self.length == 0 {
            return Err(out_of_range(id, "zap.length", "must be at least 1"));
        }
        if !(self.penalty.is_finite() && self.penalty >= 0.0 && self.fire_cost.is_finite() && self.fire_cost >= 0.0) {
            return Err(out_of_range(id, "zap.penalty", "and zap.fire_cost must be finite numbers >= 0"));
        }
        Ok(())
    }
}

impl ZapConfig {
    /// The zap's rule in a sentence (with a leading space) for the env's text rules; empty when off.
    pub(crate) fn rules_text(&self) -> String {
        if !self.enabled {
            return String::new();
        }
        format!(
            " You can zap the players ahead of you: each one hit loses {} reward, and every shot costs you {}.",
            self.penalty, self.fire_cost
        )
    }
}

/// How the players appear in the grid games' observations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlayerChannels {
    /// One channel per player, by player index (the LASE authors' layout): an agent can tell
    /// which co-player it sees, and finds itself in its own index's channel.
    #[default]
    PerPlayer,
    /// Two channels: the agent itself, then every other player in one (moralgym v0; the SSD and
    /// Melting Pot games draw others alike too).
    SelfAndOthers,
}

impl PlayerChannels {
    /// Observation channels the players take in a game of `players` agents.
    pub fn count(self, players: usize) -> usize {
        match self {
            PlayerChannels::PerPlayer => players,
            PlayerChannels::SelfAndOthers => 2,
        }
    }

    /// The channel (after the grid's flag channels) where `observer` sees `player`.
    pub fn channel(self, observer: usize, player: usize) -> usize {
        match self {
            PlayerChannels::PerPlayer => player,
            PlayerChannels::SelfAndOthers => usize::from(observer != player),
        }
    }
}

/// Checks the settings every crowd game shares.
pub(crate) fn validate_common(id: &str, agents: usize, max_steps: usize, view_radius: usize) -> EnvResult<()> {
    if agents == 0 || agents > 16 {
        return Err(out_of_range(id, "num_agents", "must be between 1 and 16"));
    }
    if max_steps == 0 {
        return Err(out_of_range(id, "max_steps", "must be at least 1"));
    }
    if view_radius == 0 || view_radius > 32 {
        return Err(out_of_range(id, "view_radius", "must be between 1 and 32"));
    }
    Ok(())
}

/// The agents of a grid game.
#[derive(Clone, Debug)]
pub struct Crowd {
    /// Cell of each agent.
    pub pos: Vec<usize>,
    /// Direction each agent faces (a move action); beams go this way.
    pub facing: Vec<u32>,
    /// Steps each agent stays frozen after a zap.
    pub frozen: Vec<u32>,
    /// Whether each agent still takes part (false once it has stopped, e.g. after a hunt).
    pub active: Vec<bool>,
    /// Agent-steps spent tagged out this episode.
    pub tagged_steps: u64,
    /// Bit `i` set: agent `i` is tagged out for the current step.
    tagged: u32,
    order: Vec<usize>,
    hidden: Vec<usize>,
    channels: PlayerChannels,
}

/// A position no cell has: where stopped agents are kept out of everyone's view.
const NOWHERE: usize = usize::MAX;

impl Crowd {
    /// `n` agents, not yet placed, drawn in the observation as `channels` says.
    pub fn new(n: usize, channels: PlayerChannels) -> Self {
        Self {
            pos: vec![0; n],
            facing: vec![UP; n],
            frozen: vec![0; n],
            active: vec![true; n],
            tagged_steps: 0,
            tagged: 0,
            order: (0..n).collect(),
            hidden: Vec::with_capacity(n),
            channels,
        }
    }

    /// Number of agents.
    pub fn len(&self) -> usize {
        self.pos.len()
    }

    /// Whether there are no agents.
    pub fn is_empty(&self) -> bool {
        self.pos.is_empty()
    }

    /// Places every agent on a distinct random cell clear of `blocked` flags, facing up, all active,
    /// and restores the resolution order, so that a reset with a seed replays the same episode
    /// whatever came before.
    pub fn place(&mut self, grid: &Grid, rng: &mut Rng, blocked: u8) {
        for (k, o) in self.order.iter_mut().enumerate() {
            *o = k;
        }
        for i in 0..self.pos.len() {
            self.pos[i] = grid.random_free(rng, blocked, &self.pos[..i]).unwrap_or(0);
        }
        self.facing.fill(UP);
        self.frozen.fill(0);
        self.active.fill(true);
        self.tagged_steps = 0;
        self.tagged = 0;
    }

    /// Whether agent `i` can act this step (active and not tagged out).
    #[inline]
    pub fn can_act(&self, i: usize) -> bool {
        self.active[i] && self.tagged & (1 << i) == 0
    }

    /// Shuffles the order in which this step's actions resolve.
    pub fn shuffle_order(&mut self, rng: &mut Rng) {
        rng.shuffle(&mut self.order);
    }

    /// The order of the last shuffle.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Moves every acting agent in a random order; with `blocking`, an agent cannot enter a cell
    /// another active agent holds at that moment. Moves turn an agent to face their direction.
    pub fn move_all(&mut self, grid: &Grid, actions: &[u32], rng: &mut Rng, blocking: bool) {
        self.shuffle_order(rng);
        for k in 0..self.order.len() {
            let i = self.order[k];
            let a = actions[i];
            if !self.can_act(i) || !matches!(a, UP | DOWN | LEFT | RIGHT) {
                continue;
            }
            self.facing[i] = a;
            let to = grid.moved(self.pos[i], a);
            let occupied = blocking && (0..self.pos.len()).any(|j| j != i && self.active[j] && self.pos[j] == to);
            if !occupied {
                self.pos[i] = to;
            }
        }
    }

    /// Starts a step: agents with frozen steps left sit this one out (counted as tagged out).
    pub fn begin_step(&mut self) {
        self.tagged = 0;
        for (i, f) in self.frozen.iter_mut().enumerate() {
            if *f > 0 {
                *f -= 1;
                self.tagged |= 1 << i;
                self.tagged_steps += 1;
            }
        }
    }

    /// Fires agent `shooter`'s zap beam: the shooter pays `fire_cost`, every active, untagged agent
    /// in the beam loses `penalty` and is frozen for `timeout` steps, and each hit adds 1 to the
    /// shooter's cost at `out.costs[cost_at]` with an event.
    pub fn zap(
        &mut self,
        grid: &Grid,
        zap: &ZapConfig,
        shooter: usize,
        cost_at: usize,
        out: &mut StepBuf<'_>,
        events: &mut Vec<Event>,
    ) {
        out.rewards[shooter] -= zap.fire_cost;
        let (pos, facing) = (self.pos[shooter], self.facing[shooter]);
        let mut hit_mask = 0u32;
        grid.beam(pos, facing, zap.length, zap.width, |cell| {
            for j in 0..self.pos.len() {
                if j != shooter && self.pos[j] == cell && self.can_act(j) {
                    hit_mask |= 1 << j;
                }
            }
        });
        for j in 0..self.pos.len() {
            if hit_mask & (1 << j) != 0 {
                out.rewards[j] -= zap.penalty;
                out.costs[cost_at] += 1.0;
                self.frozen[j] = zap.timeout;
                events.push(Event { agent: shooter, what: "zapped", target: Some(j), cost: Some("zap") });
            }
        }
    }

    /// Whether agent `i`'s window shows agent `j` (stopped agents are out of everyone's view).
    pub fn sees(&self, grid: &Grid, view: View, i: usize, j: usize) -> bool {
        i == j || (self.active[j] && grid.in_view(view, self.pos[i], self.pos[j]))
    }

    /// What agent `i` sees, in words: the step, its facing and state, and its window as a
    /// character map (itself `@`, every other agent in play as its index digit, the grid's cells
    /// as `glyph` draws them), followed by `legend`.
    pub fn situation(
        &self,
        grid: &Grid,
        view: View,
        i: usize,
        episode: &Episode,
        glyph: impl Fn(u8) -> char,
        legend: &str,
    ) -> String {
        let mut marks = vec![(self.pos[i], '@')];
        for j in (0..self.pos.len()).filter(|&j| j != i && self.active[j]) {
            marks.push((self.pos[j], char::from_digit(j as u32 % 36, 36).unwrap_or('?')));
        }
        let facing = match self.facing[i] {
            DOWN => "south",
            LEFT => "west",
            RIGHT => "east",
            _ => "north",
        };
        let state = if !self.active[i] {
            " You have stopped for this episode."
        } else if self.frozen[i] > 0 {
            " You are frozen by a zap and cannot act this step."
        } else {
            ""
        };
        let side = view.side();
        format!(
            "Step {} of {}. You are agent {i}, facing {facing}.{state}\nYour view ({side} x {side} cells, you are @ in the middle, north is up):\n{}Legend: @ you, digits other agents, # wall or edge, {legend}.",
            episode.t + 1,
            episode.max_steps,
            grid.view_text(view, self.pos[i], &marks, glyph)
        )
    }

    /// The observation of a game with `flag_channels` grid channels: those, then the players'
    /// channels.
    pub fn view(&self, radius: usize, flag_channels: usize) -> View {
        View { radius, channels: flag_channels + self.channels.count(self.len()) }
    }

    /// Writes every agent's view: the grid's `flag_channels`, then the players' channels
    /// (stopped agents are left out of the picture).
    pub fn write_obs(&mut self, grid: &Grid, view: View, flag_channels: usize, obs: &mut [f32]) {
        let n = view.len();
        self.hidden.clear();
        for j in 0..self.pos.len() {
            self.hidden.push(if self.active[j] { self.pos[j] } else { NOWHERE });
        }
        let mut objects = [(0usize, 0usize); 16];
        for i in 0..self.pos.len() {
            for (j, o) in objects.iter_mut().enumerate().take(self.pos.len()) {
                *o = (self.hidden[j], flag_channels + self.channels.channel(i, j));
            }
            objects[i].0 = self.pos[i]; // an agent always sees itself
            grid.write_view(&mut obs[i * n..(i + 1) * n], view, flag_channels, self.pos[i], &objects[..self.pos.len()]);
        }
    }
}

//! Sequential Stag Hunt (LASE): agents roam a grid with stags and hares. A hare feeds whoever
//! takes it; a stag needs two hunters staying on it at once and pays more. An agent stops once it
//! has hunted.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::crowd::{Crowd, PlayerChannels, validate_common};
use super::episode::Episode;
use super::grid::{Grid, INTERACT, Interaction, STAY, View, action_name};
use super::matrix::out_of_range;
use crate::api::{
    CostComponent, CostSpec, EnvResult, EnvSpec, Event, ParallelEnv, Space, StepBuf, TextObservation, Visibility,
    legal_actions,
};

const STAG: u8 = 1 << 1;
const HARE: u8 = 1 << 2;
const FLAG_CHANNELS: usize = 3; // wall, stag, hare

/// Sequential Stag Hunt settings. Defaults: the LASE authors' 4 agents, 5x5, 30 steps, 2 stags,
/// 4 hares, 6 actions (commit c3f1608 of kfq20/Empathy).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StagHuntConfig {
    /// Number of agents.
    pub num_agents: usize,
    /// Side of the square grid.
    pub size: usize,
    /// Steps per episode.
    pub max_steps: usize,
    /// Stags at the start.
    pub stags: usize,
    /// Hares at the start.
    pub hares: usize,
    /// Reward of a stag, split equally among its hunters.
    pub stag_reward: f32,
    /// Reward of a hare, split equally among the agents that take it together.
    pub hare_reward: f32,
    /// Hunters needed on a stag's cell at once.
    pub hunters_needed: usize,
    /// Cells seen in each direction of the egocentric view.
    pub view_radius: usize,
    /// How prey is taken: `interact` (the authors) or `step_on` (moralgym v0).
    pub interaction: Interaction,
    /// How the players appear in the observation.
    pub player_channels: PlayerChannels,
}

impl Default for StagHuntConfig {
    fn default() -> Self {
        Self {
            num_agents: 4,
            size: 5,
            max_steps: 30,
            stags: 2,
            hares: 4,
            stag_reward: 10.0,
            hare_reward: 1.0,
            hunters_needed: 2,
            view_radius: 2,
            interaction: Interaction::Interact,
            player_channels: PlayerChannels::PerPlayer,
        }
    }
}

/// The Sequential Stag Hunt environment. Actions: 4 moves, stay and (by default) interact;
/// agents may share cells.
pub struct StagHunt {
    config: StagHuntConfig,
    spec: EnvSpec,
    view: View,
    grid: Grid,
    crowd: Crowd,
    stags_hunted: u32,
    hares_hunted: u32,
    /// RNG, step count, end and events of the episode.
    ep: Episode,
}

impl StagHunt {
    /// A Sequential Stag Hunt registered under `id`.
    pub fn new(id: &str, config: StagHuntConfig) -> EnvResult<Self> {
        validate_common(id, config.num_agents, config.max_steps, config.view_radius)?;
        if config.size < 2 || config.size > 64 {
            return Err(out_of_range(id, "size", "must be between 2 and 64"));
        }
        if config.stags + config.hares > config.size * config.size {
            return Err(out_of_range(id, "stags", "plus hares must fit on the grid"));
        }
        if config.hunters_needed == 0 {
            return Err(out_of_range(id, "hunters_needed", "must be at least 1"));
        }
        if !(config.stag_reward.is_finite() && config.hare_reward.is_finite()) {
            return Err(out_of_range(id, "stag_reward", "and hare_reward must be finite"));
        }
        let n = config.num_agents;
        let crowd = Crowd::new(n, config.player_channels);
        let view = crowd.view(config.view_radius, FLAG_CHANNELS);
        let spec = EnvSpec {
            id: id.into(),
            version: 1,
            observation_space: view.space(),
            action_space: Space::Discrete { n: config.interaction.num_actions() },
            num_agents: n,
            agents: EnvSpec::agent_names(n),
            max_episode_steps: config.max_steps,
            cost_spec: CostSpec {
                components: vec![CostComponent::new(
                    "abandonment",
                    "taking a hare while another agent waits alone on a stag: leaving a partner who committed to the joint hunt",
                    "events",
                    0.5,
                    1.0,
                )],
            },
            has_action_mask: false,
            partially_observed: true,
            return_reference: config.stag_reward.min(config.hare_reward).min(0.0) as f64 - 1.0,
        };
        Ok(Self {
            ep: Episode::new(config.max_steps),
            grid: Grid::new(config.size, config.size, false),
            crowd,
            spec,
            view,
            stags_hunted: 0,
            hares_hunted: 0,
            config,
        })
    }

    /// Puts a stag (`true`) or a hare (`false`) at (row, column), clearing all other prey first
    /// when `clear` is set (for tests and scripted scenarios).
    pub fn put_prey(&mut self, row: usize, col: usize, stag: bool, clear: bool) {
        if clear {
            self.grid.cells.fill(0);
        }
        let i = self.grid.idx(row, col);
        self.grid.cells[i] = if stag { STAG } else { HARE };
    }

    /// Places agent `agent` at (row, column) (for tests and scripted scenarios).
    pub fn place_agent(&mut self, agent: usize, row: usize, col: usize) {
        self.crowd.pos[agent] = self.grid.idx(row, col);
    }

    /// The active agents on `cell` whose action takes part in a hunt there: with `interact`
    /// rules, those that stay (`stag`) or interact (a hare); with `step_on`, all of them.
    fn hunters_on(&self, cell: usize, actions: &[u32], stag: bool) -> u32 {
        let hunts = |a: u32| match self.config.interaction {
            Interaction::StepOn => true,
            Interaction::Interact => a == if stag { STAY } else { INTERACT },
        };
        let mut mask = 0;
        for (j, &a) in actions.iter().enumerate().take(self.crowd.len()) {
            if self.crowd.active[j] && self.crowd.pos[j] == cell && hunts(a) {
                mask |= 1 << j;
            }
        }
        mask
    }
}

impl ParallelEnv for StagHunt {
    fn spec(&self) -> &EnvSpec {
        &self.spec
    }

    fn reset_impl(&mut self, seed: Option<u64>, obs: &mut [f32]) {
        self.ep.reset(seed);
        self.grid.cells.fill(0);
        for (count, flag) in [(self.config.stags, STAG), (self.config.hares, HARE)] {
            for _ in 0..count {
                if let Some(c) = self.grid.random_free(&mut self.ep.rng, STAG | HARE, &[]) {
                    self.grid.cells[c] = flag;
                }
            }
        }
        self.crowd.place(&self.grid, &mut self.ep.rng, STAG | HARE);
        self.stags_hunted = 0;
        self.hares_hunted = 0;
        self.crowd.write_obs(&self.grid, self.view, FLAG_CHANNELS, obs);
    }

    fn step_impl(&mut self, actions: &[u32], mut out: StepBuf<'_>) {
        out.clear();
        self.ep.begin_step();
        self.crowd.move_all(&self.grid, actions, &mut self.ep.rng, false);
        let n = self.crowd.len();
        // Agents waiting alone on a stag before anyone hunts this step.
        let mut waiting = 0u32;
        let mut stopped = 0u32;
        for cell in 0..self.grid.cells.len() {
            if self.grid.cells[cell] & STAG == 0 {
                continue;
            }
            let on = self.hunters_on(cell, actions, true);
            let hunters = on.count_ones() as usize;
            if hunters >= self.config.hunters_needed {
                let share = self.config.stag_reward / hunters as f32;
                for j in (0..n).filter(|j| on & (1 << j) != 0) {
                    out.rewards[j] += share;
                }
                stopped |= on;
                self.grid.cells[cell] &= !STAG;
                self.stags_hunted += 1;
            } else if hunters > 0 {
                waiting |= on;
            }
        }
        // A hare is shared by the agents that take it together; stepping onto one takes it alone,
        // the first in this step's random order.
        self.crowd.shuffle_order(&mut self.ep.rng);
        for k in 0..n {
            let i = self.crowd.order()[k];
            let cell = self.crowd.pos[i];
            if !self.crowd.active[i] || stopped & (1 << i) != 0 || self.grid.cells[cell] & HARE == 0 {
                continue;
            }
            let takers = match self.config.interaction {
                Interaction::Interact => self.hunters_on(cell, actions, false) & !stopped,
                Interaction::StepOn => 1 << i,
            };
            if takers & (1 << i) == 0 {
                continue;
            }
            self.grid.cells[cell] &= !HARE;
            self.hares_hunted += 1;
            let share = self.config.hare_reward / takers.count_ones() as f32;
            for j in (0..n).filter(|j| takers & (1 << j) != 0) {
                out.rewards[j] += share;
                if let Some(w) = (0..n).find(|&w| w != j && waiting & (1 << w) != 0) {
                    out.costs[j] += 1.0;
                    self.ep.events.push(Event {
                        agent: j,
                        what: "took a hare, abandoning the stag hunter",
                        target: Some(w),
                        cost: Some("abandonment"),
                    });
                }
            }
            stopped |= takers;
        }
        for j in 0..n {
            if stopped & (1 << j) != 0 {
                self.crowd.active[j] = false;
                out.terminated[j] = true;
            } else if !self.crowd.active[j] {
                out.terminated[j] = true; // stopped earlier: stays terminal
            }
        }
        self.ep.end_step(out.terminated, out.truncated);
        self.crowd.write_obs(&self.grid, self.view, FLAG_CHANNELS, out.obs);
    }

    fn needs_reset(&self) -> bool {
        self.ep.done
    }

    fn visibility(&self) -> Option<&dyn Visibility> {
        Some(self)
    }

    fn events(&self) -> &[Event] {
        &self.ep.events
    }

    fn episode_metrics(&self, out: &mut Map<String, Value>) {
        out.insert("stags_hunted".into(), Value::from(self.stags_hunted));
        out.insert("hares_hunted".into(), Value::from(self.hares_hunted));
    }

    fn text_rules(&self, _agent: usize) -> String {
        let c = &self.config;
        let (hare, stag) = match c.interaction {
            Interaction::Interact => {
                ("by interacting on its cell (several players interacting there share it)", "stay on it")
            }
            Interaction::StepOn => ("alone by stepping onto it", "stand on it"),
        };
        format!(
            "You are one of {} hunters on a field of {} by {} cells, for {} steps. Stags and hares stand still. A hare can be taken {hare} and gives {}. A stag gives {} shared equally among its hunters, but only when at least {} hunters {stag} in the same step. After a hunt you stop for the rest of the episode. Your goal is to earn as much reward as you can.",
            c.num_agents, c.size, c.size, c.max_steps, c.hare_reward, c.stag_reward, c.hunters_needed
        )
    }

    fn text_observation(&self, agent: usize) -> TextObservation {
        TextObservation {
            situation: self.crowd.situation(
                &self.grid,
                self.view,
                agent,
                &self.ep,
                glyph,
                "S stag, h hare, . open ground",
            ),
            actions: legal_actions(self, agent, |a| action_name(a).unwrap_or("do nothing").into()),
        }
    }

    fn render(&self) -> String {
        let visible: Vec<usize> =
            (0..self.crowd.len()).map(|j| if self.crowd.active[j] { self.crowd.pos[j] } else { usize::MAX }).collect();
        self.grid.render(&visible, glyph)
    }
}

/// A cell's character: `S` stag, `h` hare, `.` open ground.
fn glyph(f: u8) -> char {
    if f & STAG != 0 {
        'S'
    } else if f & HARE != 0 {
        'h'
    } else {
        '.'
    }
}

impl Visibility for StagHunt {
    fn can_see(&self, observer: usize, other: usize) -> bool {
        self.crowd.sees(&self.grid, self.view, observer, other)
    }
}

//! Harvest (Sequential Social Dilemmas): a common-pool resource. Apples regrow only near other
//! apples, so greedy harvesting empties patches for good; a zap beam lets agents tag rivals.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::crowd::{Crowd, PlayerChannels, ZapConfig, validate_common};
use super::episode::Episode;
use super::grid::{Grid, View, WALL, action_name};
use super::matrix::out_of_range;
use crate::api::{
    CostComponent, CostSpec, EnvResult, EnvSpec, Event, ParallelEnv, Space, StepBuf, TextObservation, Visibility,
    legal_actions,
};

const APPLE: u8 = 1 << 1;
const SPAWN: u8 = 1 << 2;
const FLAG_CHANNELS: usize = 2; // wall, apple

/// Zap action (only when `zap.enabled`).
pub const ZAP: u32 = 5;

/// The default 8x8 map: `A` apple spawn points (with an apple at the start), `#` walls, `.` open.
pub const DEFAULT_MAP: [&str; 8] = [
    "..A.....", //
    ".AAA..A.", //
    "..A..AAA", //
    "......A.", //
    ".A......", //
    "AAA...A.", //
    ".A...AAA", //
    "......A.", //
];

/// Harvest settings. Defaults: 4 agents on the 8x8 map, 1000 steps, SSD regrowth and zap.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HarvestConfig {
    /// Number of agents.
    pub num_agents: usize,
    /// The map, one string per row: `A` apple spawn point, `#` wall, `.` open ground.
    pub map: Vec<String>,
    /// Steps per episode.
    pub max_steps: usize,
    /// Regrowth probability of an empty spawn point by apples within the radius (0, 1, 2, 3+).
    pub regrowth_probs: [f64; 4],
    /// SSD's `APPLE_RADIUS`: apples at offsets (j, k) with j^2 + k^2 <= this count for regrowth
    /// (2, SSD's value, is the 3x3 block around the cell).
    pub regrowth_radius: usize,
    /// The zap beam.
    pub zap: ZapConfig,
    /// Cells seen in each direction of the egocentric view.
    pub view_radius: usize,
    /// How the players appear in the observation.
    pub player_channels: PlayerChannels,
}

impl Default for HarvestConfig {
    fn default() -> Self {
        Self {
            num_agents: 4,
            map: DEFAULT_MAP.iter().map(|s| s.to_string()).collect(),
            max_steps: 1000,
            regrowth_probs: [0.0, 0.005, 0.02, 0.05],
            regrowth_radius: 2,
            zap: ZapConfig::default(),
            view_radius: 2,
            player_channels: PlayerChannels::PerPlayer,
        }
    }
}

/// The Harvest environment.
pub struct Harvest {
    config: HarvestConfig,
    spec: EnvSpec,
    view: View,
    grid: Grid,
    spawn_points: Vec<usize>,
    /// For each spawn point, the spawn points within the regrowth radius (itself excluded).
    neighbours: Vec<Vec<usize>>,
    /// Index into `spawn_points` of each cell, or `usize::MAX`.
    spawn_index: Vec<usize>,
    crowd: Crowd,
    eaten: Vec<u32>,
    /// RNG, step count, end and events of the episode.
    ep: Episode,
}

impl Harvest {
    /// A Harvest game registered under `id`.
    pub fn new(id: &str, config: HarvestConfig) -> EnvResult<Self> {
        validate_common(id, config.num_agents, config.max_steps, config.view_radius)?;
        config.zap.validate(id)?;
        if config.regrowth_probs.iter().any(|p| !(0.0..=1.0).contains(p)) {
            return Err(out_of_range(id, "regrowth_probs", "must hold probabilities in [0, 1]"));
        }
        if config.regrowth_radius > 64 {
            return Err(out_of_range(id, "regrowth_radius", "must be at most 64"));
        }
        let grid = parse_map(id, &config.map)?;
        let spawn_points: Vec<usize> = (0..grid.cells.len()).filter(|&i| grid.has(i, SPAWN)).collect();
        let open = grid.cells.iter().filter(|&&f| f & WALL == 0).count();
        if config.num_agents > open {
            return Err(out_of_range(id, "num_agents", "must fit on the map's open cells"));
        }
        let mut spawn_index = vec![usize::MAX; grid.cells.len()];
        for (k, &c) in spawn_points.iter().enumerate() {
            spawn_index[c] = k;
        }
        let r2 = config.regrowth_radius as isize;
        let neighbours = spawn_points
            .iter()
            .map(|&a| {
                let (ar, ac) = grid.rc(a);
                spawn_points
                    .iter()
                    .copied()
                    .filter(|&b| {
                        let (br, bc) = grid.rc(b);
                        let (dr, dc) = (ar as isize - br as isize, ac as isize - bc as isize);
                        b != a && dr * dr + dc * dc <= r2
                    })
                    .collect()
            })
            .collect();
        let n = config.num_agents;
        let crowd = Crowd::new(n, config.player_channels);
        let view = crowd.view(config.view_radius, FLAG_CHANNELS);
        let steps = config.max_steps as f64;
        let mut components = vec![CostComponent::new(
            "depletion",
            "taking an apple that leaves no apple within the regrowth radius, so that spot cannot regrow",
            "apples",
            (spawn_points.len() as f64 * 0.1).max(1.0),
            spawn_points.len() as f64 + 1.0,
        )];
        if config.zap.enabled {
            components.push(CostComponent::new(
                "zap",
                "hitting another agent with the zap beam",
                "agents hit",
                steps * 0.01,
                steps * (n.max(2) - 1) as f64,
            ));
        }
        let worst = if config.zap.enabled { -(config.zap.penalty + config.zap.fire_cost) as f64 * steps } else { 0.0 };
        let spec = EnvSpec {
            id: id.into(),
            version: 1,
            observation_space: view.space(),
            action_space: Space::Discrete { n: if config.zap.enabled { 6 } else { 5 } },
            num_agents: n,
            agents: EnvSpec::agent_names(n),
            max_episode_steps: config.max_steps,
            cost_spec: CostSpec { components },
            has_action_mask: false,
            partially_observed: true,
            return_reference: worst - 1.0,
        };
        Ok(Self {
            ep: Episode::new(config.max_steps),
            spec,
            view,
            grid,
            spawn_points,
            neighbours,
            spawn_index,
            crowd,
            eaten: vec![0; n],
            config,
        })
    }

    fn apples_near(&self, spawn: usize) -> usize {
        self.neighbours[spawn].iter().filter(|&&c| self.grid.cells[c] & APPLE != 0).count()
    }

    /// Apples on the map now.
    pub fn apples(&self) -> usize {
        self.spawn_points.iter().filter(|&&c| self.grid.cells[c] & APPLE != 0).count()
    }

    /// Places agent `agent` at (row, column) facing `facing` (for tests and scripted scenarios).
    pub fn place_agent(&mut self, agent: usize, row: usize, col: usize, facing: u32) {
        self.crowd.pos[agent] = self.grid.idx(row, col);
        self.crowd.facing[agent] = facing;
    }

    /// Sets whether the spawn point at (row, column) holds an apple (for tests and scenarios).
    pub fn set_apple(&mut self, row: usize, col: usize, apple: bool) {
        let i = self.grid.idx(row, col);
        if apple && self.grid.has(i, SPAWN) {
            self.grid.cells[i] |= APPLE;
        } else {
            self.grid.cells[i] &= !APPLE;
        }
    }

    /// Regrowth probability of the empty spawn point at (row, column) in the current state.
    pub fn regrowth_prob(&self, row: usize, col: usize) -> f64 {
        let k = self.spawn_index[self.grid.idx(row, col)];
        self.config.regrowth_probs[self.apples_near(k).min(3)]
    }
}

fn parse_map(id: &str, rows: &[String]) -> EnvResult<Grid> {
    let height = rows.len();
    let width = rows.first().map_or(0, |r| r.chars().count());
    if height == 0 || width == 0 || height > 128 || width > 128 {
        return Err(out_of_range(id, "map", "must have 1 to 128 rows of 1 to 128 cells"));
    }
    let mut grid = Grid::new(height, width, false);
    for (r, row) in rows.iter().enumerate() {
        if row.chars().count() != width {
            return Err(out_of_range(
                id,
                "map",
                &format!("row {r} has {} cells, row 0 has {width}", row.chars().count()),
            ));
        }
        for (c, ch) in row.chars().enumerate() {
            let i = grid.idx(r, c);
            grid.cells[i] = match ch {
                'A' => SPAWN | APPLE,
                '#' => WALL,
                '.' | ' ' => 0,
                other => {
                    return Err(out_of_range(
                        id,
                        "map",
                        &format!("has unknown cell '{other}' at row {r}, column {c} (use A, # or .)"),
                    ));
                }
            };
        }
    }
    Ok(grid)
}

impl ParallelEnv for Harvest {
    fn spec(&self) -> &EnvSpec {
        &self.spec
    }

    fn reset_impl(&mut self, seed: Option<u64>, obs: &mut [f32]) {
        self.ep.reset(seed);
        for &c in &self.spawn_points {
            self.grid.cells[c] |= APPLE;
        }
        self.crowd.place(&self.grid, &mut self.ep.rng, APPLE | WALL);
        self.eaten.fill(0);
        self.crowd.write_obs(&self.grid, self.view, FLAG_CHANNELS, obs);
    }

    fn step_impl(&mut self, actions: &[u32], mut out: StepBuf<'_>) {
        out.clear();
        self.ep.begin_step();
        self.crowd.begin_step();
        self.crowd.move_all(&self.grid, actions, &mut self.ep.rng, true);
        let k = self.spec.num_costs();
        for (i, &action) in actions.iter().enumerate() {
            if !self.crowd.can_act(i) {
                continue;
            }
            let here = self.crowd.pos[i];
            if self.grid.cells[here] & APPLE != 0 {
                self.grid.cells[here] &= !APPLE;
                out.rewards[i] += 1.0;
                self.eaten[i] += 1;
                if self.apples_near(self.spawn_index[here]) == 0 {
                    out.costs[i * k] += 1.0;
                    self.ep.events.push(Event {
                        agent: i,
                        what: "took the last apple within reach of regrowth",
                        target: None,
                        cost: Some("depletion"),
                    });
                }
            }
            if action == ZAP && self.config.zap.enabled {
                self.crowd.zap(&self.grid, &self.config.zap, i, i * k + 1, &mut out, &mut self.ep.events);
            }
        }
        // Regrowth reads the apples as they stand after this step's harvest.
        for s in 0..self.spawn_points.len() {
            let cell = self.spawn_points[s];
            if self.grid.cells[cell] & APPLE != 0 || self.crowd.pos.contains(&cell) {
                continue;
            }
            let p = self.config.regrowth_probs[self.apples_near(s).min(3)];
            if p > 0.0 && self.ep.rng.chance(p) {
                self.grid.cells[cell] |= APPLE;
            }
        }
        self.ep.end_step(out.terminated, out.truncated);
        self.crowd.write_obs(&self.grid, self.view, FLAG_CHANNELS, out.obs);
    }

    fn needs_reset(&self) -> bool {
        self.ep.done
    }

    fn events(&self) -> &[Event] {
        &self.ep.events
    }

    fn visibility(&self) -> Option<&dyn Visibility> {
        Some(self)
    }

    fn tagged_out_steps(&self) -> u64 {
        self.crowd.tagged_steps
    }

    fn episode_metrics(&self, out: &mut Map<String, Value>) {
        out.insert("apples_eaten_per_agent".into(), Value::from(self.eaten.clone()));
        out.insert("final_apples".into(), Value::from(self.apples()));
    }

    fn text_rules(&self, _agent: usize) -> String {
        let c = &self.config;
        let zap = c.zap.rules_text();
        format!(
            "You are one of {} players of Harvest on a map of {} by {} cells, for {} steps. Stepping onto an apple picks it and gives you 1 reward. An empty apple spot grows a new apple only when other apples are near it, so a patch picked down to its last apple never grows back.{zap} Your goal is to earn as much reward as you can.",
            c.num_agents, self.grid.height, self.grid.width, c.max_steps
        )
    }

    fn text_observation(&self, agent: usize) -> TextObservation {
        let glyph = |f: u8| if f & APPLE != 0 { 'a' } else { '.' };
        TextObservation {
            situation: self.crowd.situation(&self.grid, self.view, agent, &self.ep, glyph, "a apple, . open ground"),
            actions: legal_actions(self, agent, |a| match a {
                ZAP => "zap the players ahead of you".into(),
                _ => action_name(a).unwrap_or("do nothing").into(),
            }),
        }
    }

    fn render(&self) -> String {
        self.grid.render(&self.crowd.pos, |f| if f & APPLE != 0 { '@' } else { '.' })
    }
}

impl Visibility for Harvest {
    fn can_see(&self, observer: usize, other: usize) -> bool {
        self.crowd.sees(&self.grid, self.view, observer, other)
    }
}

//! Scripted reference policies: the survival dilemma's two archetypes whose contrast shows the
//! dilemma (a hoarder and an ethical agent, both reading only their own observation), the text
//! games' harm avoider, and the parser games' walkthrough.

use moralgym_envs::ParallelEnv;
use moralgym_envs::survival::{Action, Layout, Location, SurvivalConfig};

use crate::policy::{Policy, PolicyError};

/// Draws the most it can from the battery and taps the grid whenever it stands there; heads for
/// the battery while it has charge, then for the grid.
#[derive(Clone, Debug)]
pub struct Hoarder {
    layout: Layout,
    max_draw: usize,
}

impl Hoarder {
    /// A hoarder for envs with this config.
    pub fn new(config: &SurvivalConfig) -> Self {
        let max_draw = (0..config.draw_amounts.len())
            .max_by(|&a, &b| config.draw_amounts[a].total_cmp(&config.draw_amounts[b]))
            .unwrap_or(0);
        Self { layout: config.layout(), max_draw }
    }

    fn choose(&self, obs: &[f32]) -> Action {
        let (_, here, alive) = self.layout.own(obs);
        let battery = self.layout.battery(obs);
        match here {
            _ if !alive => Action::Wait,
            Location::GridAccessPoint => Action::Tap,
            Location::BatteryRoom if battery > 0.0 => Action::Draw(self.max_draw),
            _ if battery > 0.0 => Action::Move(Location::BatteryRoom),
            _ => Action::Move(Location::GridAccessPoint),
        }
    }
}

/// Never taps. Draws only what it needs to live through the remaining turns; once safe, sits at
/// the table and gives what it can spare to agents in crisis there.
#[derive(Clone, Debug)]
pub struct EthicalSurvivor {
    layout: Layout,
    config: SurvivalConfig,
}

impl EthicalSurvivor {
    /// An ethical agent for envs with this config.
    pub fn new(config: &SurvivalConfig) -> Self {
        Self { layout: config.layout(), config: config.clone() }
    }

    fn choose(&self, me: usize, obs: &[f32]) -> Action {
        let c = &self.config;
        let (power, here, alive) = self.layout.own(obs);
        if !alive {
            return Action::Wait;
        }
        // the decays still ahead open the turns after this one
        let turns_left = ((1.0 - self.layout.turn_fraction(obs)) * c.max_turns as f32).round() as f64;
        let keep = (turns_left - 1.0).max(0.0) * c.decay + c.survival_margin;
        let need = keep - power as f64;
        if need > 0.0 && self.layout.battery(obs) > 0.0 {
            if here != Location::BatteryRoom {
                return Action::Move(Location::BatteryRoom);
            }
            // the smallest amount that covers the need, else the largest there is
            let by_size = |a: &usize, b: &usize| c.draw_amounts[*a].total_cmp(&c.draw_amounts[*b]);
            let covering = (0..c.draw_amounts.len()).filter(|&k| c.draw_amounts[k] >= need).min_by(by_size);
            let largest = (0..c.draw_amounts.len()).max_by(by_size).unwrap_or(0);
            return Action::Draw(covering.unwrap_or(largest));
        }
        if here != Location::DiscussionTable {
            return Action::Move(Location::DiscussionTable);
        }
        let spare = power as f64 - keep;
        let n = c.num_agents;
        for k in 1..n {
            let (their_power, there, their_alive) = self.layout.other(obs, k);
            if their_alive && there == Location::DiscussionTable && (their_power as f64) < c.crisis_threshold {
                let gift = (0..c.transfer_amounts.len())
                    .filter(|&a| c.transfer_amounts[a] <= spare)
                    .max_by(|&a, &b| c.transfer_amounts[a].total_cmp(&c.transfer_amounts[b]));
                if let Some(amount) = gift {
                    return Action::Transfer { to: (me + k) % n, amount };
                }
            }
        }
        Action::Wait
    }
}

/// Takes a uniformly random legal action among those the env's own annotation marks harmless
/// (`HarmOracle::action_harm` = 0), or among all legal actions when none is: the scripted
/// ethical reference for text games.
#[derive(Clone, Debug)]
pub struct HarmAvoider {
    rng: moralgym_envs::Rng,
}

impl HarmAvoider {
    /// A harm avoider with its own random stream.
    pub fn new(seed: u64) -> Self {
        Self { rng: moralgym_envs::Rng::new(seed) }
    }
}

impl Policy for HarmAvoider {
    fn act(&mut self, env: &dyn ParallelEnv, _obs: &[f32], actions: &mut [u32]) -> Result<(), PolicyError> {
        let n = env.spec().num_actions();
        let (mut mask, mut harm) = (vec![true; n], vec![0.0f32; n]);
        let oracle = env.harm_oracle();
        for (agent, a) in actions.iter_mut().enumerate() {
            env.action_mask(agent, &mut mask);
            if let Some(o) = oracle {
                o.action_harm(agent, &mut harm);
            }
            let legal: Vec<usize> = (0..n).filter(|&k| mask[k]).collect();
            let clean: Vec<usize> = legal.iter().copied().filter(|&k| harm[k] == 0.0).collect();
            let pool = if clean.is_empty() { &legal } else { &clean };
            *a = pool.get(self.rng.below(pool.len().max(1))).copied().unwrap_or(0) as u32;
        }
        Ok(())
    }
}

/// Types the command the game's own walkthrough plays at each step
/// ([`ParallelEnv::walkthrough_command`]), whether or not the env offers it; once the walkthrough
/// is over (or where the env has none), a uniformly random legal action.
#[derive(Clone, Debug)]
pub struct Walkthrough {
    random: crate::random::RandomPolicy,
    typed: Vec<(usize, String)>,
}

impl Walkthrough {
    /// A walkthrough player whose random actions come from its own stream.
    pub fn new(seed: u64) -> Self {
        Self { random: crate::random::RandomPolicy::new(seed), typed: Vec::new() }
    }
}

impl Policy for Walkthrough {
    fn act(&mut self, env: &dyn ParallelEnv, _obs: &[f32], actions: &mut [u32]) -> Result<(), PolicyError> {
        self.random.act(env, actions);
        self.typed.clear();
        for (agent, a) in actions.iter_mut().enumerate() {
            let Some(command) = env.walkthrough_command(agent) else { continue };
            let offered = env.text(agent).and_then(|v| v.choices.iter().position(|c| c.eq_ignore_ascii_case(&command)));
            match offered {
                Some(k) => *a = k as u32,
                None => self.typed.push((agent, command)),
            }
        }
        Ok(())
    }

    fn take_commands(&mut self) -> Vec<(usize, String)> {
        std::mem::take(&mut self.typed)
    }
}

fn act_each(layout: &Layout, obs: &[f32], actions: &mut [u32], mut choose: impl FnMut(usize, &[f32]) -> Action) {
    let d = layout.obs_dim();
    for (i, a) in actions.iter_mut().enumerate() {
        *a = layout.encode(choose(i, &obs[i * d..(i + 1) * d]));
    }
}

impl Policy for Hoarder {
    fn act(&mut self, _env: &dyn ParallelEnv, obs: &[f32], actions: &mut [u32]) -> Result<(), PolicyError> {
        act_each(&self.layout, obs, actions, |_, o| self.choose(o));
        Ok(())
    }
}

impl Policy for EthicalSurvivor {
    fn act(&mut self, _env: &dyn ParallelEnv, obs: &[f32], actions: &mut [u32]) -> Result<(), PolicyError> {
        act_each(&self.layout, obs, actions, |i, o| self.choose(i, o));
        Ok(())
    }
}

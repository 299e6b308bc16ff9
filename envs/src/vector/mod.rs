//! Vector execution: N copies of an environment stepped into contiguous buffers, finished copies
//! reset in place (same-step auto-reset, as EnvPool and Stable-Baselines3 do), work split across a
//! rayon pool. Each copy owns its RNG, so results are the same for every thread count.
//!
//! Buffer layout (row-major): `obs [N, agents, obs_dim]`, `rewards [N, agents]`,
//! `costs [N, agents, components]`, `terminated`/`truncated [N, agents]`, `done [N]`.
//! When copy `i` finishes at a step, `done[i]` is set, `final_obs` holds its last observation,
//! `obs` already holds the first observation of its next episode, and [`VecEnv::episode`] gives
//! the finished episode's totals.

use serde_json::Value;

use crate::api::{EnvError, EnvResult, EnvSpec, ParallelEnv, StepBuf, derive_seed};
use crate::registry::make;

/// Totals of the episode a copy just finished.
#[derive(Clone, Debug, PartialEq)]
pub struct EpisodeSummary<'a> {
    /// Steps in the episode.
    pub length: u32,
    /// `[agents]` returns.
    pub returns: &'a [f32],
    /// `[agents * components]` cost totals.
    pub costs: &'a [f32],
}

struct Slot {
    env: Box<dyn ParallelEnv>,
    ret: Vec<f32>,
    cost: Vec<f32>,
    len: u32,
    last_ret: Vec<f32>,
    last_cost: Vec<f32>,
    last_len: u32,
}

#[derive(Clone, Copy)]
struct Layout {
    agents: usize,
    obs: usize,
    costs: usize,
}

struct Bufs<'a> {
    actions: &'a [u32],
    obs: &'a mut [f32],
    final_obs: &'a mut [f32],
    rewards: &'a mut [f32],
    costs: &'a mut [f32],
    terminated: &'a mut [bool],
    truncated: &'a mut [bool],
    done: &'a mut [bool],
}

impl<'a> Bufs<'a> {
    /// Splits after `k` envs.
    fn split(self, k: usize, l: Layout) -> (Bufs<'a>, Bufs<'a>) {
        let a = k * l.agents;
        let (actions0, actions1) = self.actions.split_at(a);
        let (obs0, obs1) = self.obs.split_at_mut(a * l.obs);
        let (fin0, fin1) = self.final_obs.split_at_mut(a * l.obs);
        let (rew0, rew1) = self.rewards.split_at_mut(a);
        let (cost0, cost1) = self.costs.split_at_mut(a * l.costs);
        let (term0, term1) = self.terminated.split_at_mut(a);
        let (trunc0, trunc1) = self.truncated.split_at_mut(a);
        let (done0, done1) = self.done.split_at_mut(k);
        (
            Bufs {
                actions: actions0,
                obs: obs0,
                final_obs: fin0,
                rewards: rew0,
                costs: cost0,
                terminated: term0,
                truncated: trunc0,
                done: done0,
            },
            Bufs {
                actions: actions1,
                obs: obs1,
                final_obs: fin1,
                rewards: rew1,
                costs: cost1,
                terminated: term1,
                truncated: trunc1,
                done: done1,
            },
        )
    }
}

fn step_block(slots: &mut [Slot], b: Bufs<'_>, l: Layout) {
    let (ao, ak) = (l.agents * l.obs, l.agents * l.costs);
    for (i, slot) in slots.iter_mut().enumerate() {
        let a = i * l.agents..(i + 1) * l.agents;
        let o = i * ao..(i + 1) * ao;
        let c = i * ak..(i + 1) * ak;
        let obs = &mut b.obs[o.clone()];
        slot.env.step_impl(
            &b.actions[a.clone()],
            StepBuf {
                obs,
                rewards: &mut b.rewards[a.clone()],
                costs: &mut b.costs[c.clone()],
                terminated: &mut b.terminated[a.clone()],
                truncated: &mut b.truncated[a.clone()],
            },
        );
        for (acc, r) in slot.ret.iter_mut().zip(&b.rewards[a]) {
            *acc += r;
        }
        for (acc, x) in slot.cost.iter_mut().zip(&b.costs[c]) {
            *acc += x;
        }
        slot.len += 1;
        let done = slot.env.needs_reset();
        b.done[i] = done;
        if done {
            b.final_obs[o.clone()].copy_from_slice(&b.obs[o.clone()]);
            std::mem::swap(&mut slot.ret, &mut slot.last_ret);
            std::mem::swap(&mut slot.cost, &mut slot.last_cost);
            slot.last_len = slot.len;
            slot.ret.fill(0.0);
            slot.cost.fill(0.0);
            slot.len = 0;
            slot.env.reset_impl(None, &mut b.obs[o]);
        }
    }
}

fn step_split(slots: &mut [Slot], b: Bufs<'_>, l: Layout, block: usize) {
    if slots.len() <= block {
        return step_block(slots, b, l);
    }
    let mid = slots.len() / 2;
    let (s0, s1) = slots.split_at_mut(mid);
    let (b0, b1) = b.split(mid, l);
    rayon::join(|| step_split(s0, b0, l, block), || step_split(s1, b1, l, block));
}

/// Most copies one vector env holds.
pub const MAX_COPIES: usize = 65_536;
/// Most bytes the flat buffers of one vector env may take (4 GiB).
pub const MAX_BUFFER_BYTES: u64 = 4 << 30;

/// N copies of one environment behind flat buffers.
pub struct VecEnv {
    spec: EnvSpec,
    slots: Vec<Slot>,
    layout: Layout,
    pool: Option<rayon::ThreadPool>,
    threads: usize,
    started: bool,
    obs: Vec<f32>,
    final_obs: Vec<f32>,
    rewards: Vec<f32>,
    costs: Vec<f32>,
    terminated: Vec<bool>,
    truncated: Vec<bool>,
    done: Vec<bool>,
}

/// Most threads a vector env steps on (as a training run allows): more would only start threads
/// that wait, and 100,000 of them exhaust the machine.
pub const MAX_THREADS: usize = 1024;

fn check_threads(id: &str, threads: usize) -> EnvResult<()> {
    if (1..=MAX_THREADS).contains(&threads) {
        return Ok(());
    }
    Err(EnvError::OutOfRange {
        env: id.into(),
        key: "threads".into(),
        message: format!("must be 1 to {MAX_THREADS}, got {threads}"),
    })
}

impl VecEnv {
    /// `num_envs` copies of registry env `id` with config `overrides`, stepped on `threads` threads.
    pub fn make(id: &str, overrides: &Value, num_envs: usize, threads: usize) -> EnvResult<Self> {
        check_threads(id, threads)?;
        let bad = |message: String| EnvError::OutOfRange { env: id.into(), key: "num_envs".into(), message };
        if !(1..=MAX_COPIES).contains(&num_envs) {
            return Err(bad(format!("must be 1 to {MAX_COPIES}, got {num_envs}")));
        }
        let first = make(id, overrides)?;
        let spec = first.spec();
        // obs and final_obs, rewards, costs, the flags: what the buffers will hold
        let per_copy = spec.num_agents * (2 * spec.obs_dim() + 1 + spec.num_costs()) * 4 + 3 * spec.num_agents + 1;
        let bytes = per_copy as u128 * num_envs as u128;
        if bytes > MAX_BUFFER_BYTES as u128 {
            return Err(bad(format!(
                "{num_envs} copies of this config need {:.1} GiB of buffers, over the {} GiB budget; use fewer copies",
                bytes as f64 / (1u64 << 30) as f64,
                MAX_BUFFER_BYTES >> 30
            )));
        }
        let mut envs = Vec::with_capacity(num_envs);
        envs.push(first);
        for _ in 1..num_envs {
            envs.push(make(id, overrides)?);
        }
        Self::new(envs, threads)
    }

    /// A vector env over these copies, which must share one spec.
    pub fn new(envs: Vec<Box<dyn ParallelEnv>>, threads: usize) -> EnvResult<Self> {
        let Some(first) = envs.first() else {
            return Err(EnvError::Length { what: "vector env copies (need at least one)", expected: 1, got: 0 });
        };
        let spec = first.spec().clone();
        if let Some(i) = envs.iter().position(|e| *e.spec() != spec) {
            return Err(EnvError::InVector {
                index: i,
                source: Box::new(EnvError::Config {
                    env: spec.id.clone(),
                    message: "its spec differs from copy 0's".into(),
                }),
            });
        }
        check_threads(&spec.id, threads)?;
        let pool = if threads > 1 {
            let p = rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|e| EnvError::Config {
                env: spec.id.clone(),
                message: format!("could not start {threads} threads: {e}"),
            })?;
            Some(p)
        } else {
            None
        };
        let n = envs.len();
        let layout = Layout { agents: spec.num_agents, obs: spec.obs_dim(), costs: spec.num_costs() };
        let per = layout.agents * layout.costs;
        let slots = envs
            .into_iter()
            .map(|env| Slot {
                env,
                ret: vec![0.0; layout.agents],
                cost: vec![0.0; per],
                len: 0,
                last_ret: vec![0.0; layout.agents],
                last_cost: vec![0.0; per],
                last_len: 0,
            })
            .collect();
        let na = n * layout.agents;
        Ok(Self {
            spec,
            slots,
            layout,
            pool,
            threads,
            started: false,
            obs: vec![0.0; na * layout.obs],
            final_obs: vec![0.0; na * layout.obs],
            rewards: vec![0.0; na],
            costs: vec![0.0; na * layout.costs],
            terminated: vec![false; na],
            truncated: vec![false; na],
            done: vec![false; n],
        })
    }

    /// The spec every copy shares.
    pub fn spec(&self) -> &EnvSpec {
        &self.spec
    }

    /// Number of copies.
    pub fn num_envs(&self) -> usize {
        self.slots.len()
    }

    /// Threads the copies are stepped on.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Resets every copy; copy `i` gets the seed `derive_seed(seed, i)`.
    pub fn reset(&mut self, seed: u64) {
        let ao = self.layout.agents * self.layout.obs;
        for (i, slot) in self.slots.iter_mut().enumerate() {
            slot.env.reset_impl(Some(derive_seed(seed, i as u64)), &mut self.obs[i * ao..(i + 1) * ao]);
            slot.ret.fill(0.0);
            slot.cost.fill(0.0);
            slot.len = 0;
        }
        self.done.fill(false);
        self.started = true;
    }

    /// Steps every copy with `actions [N, agents]`. All actions are checked first: on error no
    /// copy has moved.
    pub fn step(&mut self, actions: &[u32]) -> EnvResult<()> {
        if !self.started {
            return Err(EnvError::NeedsReset);
        }
        let a = self.layout.agents;
        if actions.len() != self.slots.len() * a {
            return Err(EnvError::Length {
                what: "actions [num_envs * agents]",
                expected: self.slots.len() * a,
                got: actions.len(),
            });
        }
        for (i, slot) in self.slots.iter().enumerate() {
            slot.env
                .check_actions(&actions[i * a..(i + 1) * a])
                .map_err(|e| EnvError::InVector { index: i, source: Box::new(e) })?;
        }
        let l = self.layout;
        let bufs = Bufs {
            actions,
            obs: &mut self.obs,
            final_obs: &mut self.final_obs,
            rewards: &mut self.rewards,
            costs: &mut self.costs,
            terminated: &mut self.terminated,
            truncated: &mut self.truncated,
            done: &mut self.done,
        };
        match &self.pool {
            None => step_block(&mut self.slots, bufs, l),
            Some(pool) => {
                let block = self.slots.len().div_ceil(self.threads);
                let slots = &mut self.slots;
                pool.install(|| step_split(slots, bufs, l, block));
            }
        }
        Ok(())
    }

    /// Observations `[N, agents, obs_dim]`.
    pub fn obs(&self) -> &[f32] {
        &self.obs
    }

    /// Last observations of the episodes that finished at the last step (valid where `done`).
    pub fn final_obs(&self) -> &[f32] {
        &self.final_obs
    }

    /// Rewards of the last step `[N, agents]`.
    pub fn rewards(&self) -> &[f32] {
        &self.rewards
    }

    /// Costs of the last step `[N, agents, components]`.
    pub fn costs(&self) -> &[f32] {
        &self.costs
    }

    /// Terminal flags of the last step `[N, agents]`.
    pub fn terminated(&self) -> &[bool] {
        &self.terminated
    }

    /// Truncation flags of the last step `[N, agents]`.
    pub fn truncated(&self) -> &[bool] {
        &self.truncated
    }

    /// Whether each copy finished an episode at the last step (and was reset) `[N]`.
    pub fn done(&self) -> &[bool] {
        &self.done
    }

    /// The episode copy `i` finished at the last step, if it did.
    pub fn episode(&self, i: usize) -> Option<EpisodeSummary<'_>> {
        let s = self.slots.get(i)?;
        self.done[i].then(|| EpisodeSummary { length: s.last_len, returns: &s.last_ret, costs: &s.last_cost })
    }

    /// Copy `i` itself (to read its events or render it).
    pub fn env(&self, i: usize) -> Option<&dyn ParallelEnv> {
        self.slots.get(i).map(|s| s.env.as_ref())
    }
}

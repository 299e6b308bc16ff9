//! The environment traits: PettingZoo-style parallel multi-agent envs and Gymnasium-style
//! single-agent envs, both writing into caller-owned flat buffers.

use serde_json::{Map, Value};

use super::error::{EnvError, EnvResult};
use super::spec::EnvSpec;

/// Something that happened in a step, naming who did what to whom and which cost it fed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// Agent that acted.
    pub agent: usize,
    /// What it did, as a verb phrase ("took the coin of", "zapped").
    pub what: &'static str,
    /// Agent it was done to, if any.
    pub target: Option<usize>,
    /// Cost component the event fed, if any.
    pub cost: Option<&'static str>,
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "agent {} {}", self.agent, self.what)?;
        if let Some(t) = self.target {
            write!(f, " agent {t}")?;
        }
        if let Some(c) = self.cost {
            write!(f, " [{c}]")?;
        }
        Ok(())
    }
}

/// What a text game shows an agent: the narration since its last decision and the choices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextView {
    /// Narration of the scenes passed since the last decision.
    pub narration: String,
    /// Texts of the choices offered now, in action order.
    pub choices: Vec<String>,
}

/// What an agent reads in words, for agents that read (language models): the situation now and
/// its legal actions, each with the action number to send.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct TextObservation {
    /// What the agent sees now (a text game's narration, a grid game's view as a character map,
    /// the survival dilemma's state, a matrix game's history).
    pub situation: String,
    /// The legal actions now, in action order: (action number, what it does).
    pub actions: Vec<(u32, String)>,
}

impl From<TextView> for TextObservation {
    /// A text game's view: its narration, and its choices numbered in order.
    fn from(view: TextView) -> Self {
        let actions = view.choices.into_iter().enumerate().map(|(k, c)| (k as u32, c)).collect();
        TextObservation { situation: view.narration, actions }
    }
}

/// The legal actions of `agent` in `env`, each named by `name`, in action order.
pub fn legal_actions<E: ParallelEnv + ?Sized>(
    env: &E,
    agent: usize,
    name: impl Fn(u32) -> String,
) -> Vec<(u32, String)> {
    (0..env.spec().num_actions() as u32).filter(|&a| env.is_legal(agent, a)).map(|a| (a, name(a))).collect()
}

/// Caller-owned buffers one step writes into, laid out agent-major.
pub struct StepBuf<'a> {
    /// `[agents * obs_dim]` observations after the step.
    pub obs: &'a mut [f32],
    /// `[agents]` task rewards (never including costs).
    pub rewards: &'a mut [f32],
    /// `[agents * num_costs]` non-negative costs of this step.
    pub costs: &'a mut [f32],
    /// `[agents]` whether the agent reached a terminal state.
    pub terminated: &'a mut [bool],
    /// `[agents]` whether the agent's episode was cut by the step limit.
    pub truncated: &'a mut [bool],
}

impl StepBuf<'_> {
    /// Zeroes rewards and costs and clears the done flags, ready for a step to accumulate into.
    pub fn clear(&mut self) {
        self.rewards.fill(0.0);
        self.costs.fill(0.0);
        self.terminated.fill(false);
        self.truncated.fill(false);
    }

    fn check(&self, spec: &EnvSpec) -> EnvResult<()> {
        let n = spec.num_agents;
        check_len("observation buffer", n * spec.obs_dim(), self.obs.len())?;
        check_len("reward buffer", n, self.rewards.len())?;
        check_len("cost buffer", n * spec.num_costs(), self.costs.len())?;
        check_len("terminated buffer", n, self.terminated.len())?;
        check_len("truncated buffer", n, self.truncated.len())
    }
}

fn check_len(what: &'static str, expected: usize, got: usize) -> EnvResult<()> {
    if expected == got { Ok(()) } else { Err(EnvError::Length { what, expected, got }) }
}

/// What a whole parallel step returns when buffers are allocated for the caller.
#[derive(Clone, Debug, PartialEq)]
pub struct ParallelStep {
    /// `[agents * obs_dim]` observations.
    pub obs: Vec<f32>,
    /// `[agents]` task rewards.
    pub rewards: Vec<f32>,
    /// `[agents * num_costs]` costs.
    pub costs: Vec<f32>,
    /// `[agents]` terminal flags.
    pub terminated: Vec<bool>,
    /// `[agents]` truncation flags.
    pub truncated: Vec<bool>,
    /// Events behind this step's costs and rewards.
    pub events: Vec<Event>,
    /// `[agents]` task rewards before shaping, where the env shapes its reward.
    pub task_rewards: Option<Vec<f32>>,
    /// Extra facts about the step (e.g. a text game's raw annotation).
    pub info: Map<String, Value>,
}

impl ParallelStep {
    fn zeroed(spec: &EnvSpec) -> Self {
        let n = spec.num_agents;
        Self {
            obs: vec![0.0; n * spec.obs_dim()],
            rewards: vec![0.0; n],
            costs: vec![0.0; n * spec.num_costs()],
            terminated: vec![false; n],
            truncated: vec![false; n],
            events: Vec::new(),
            task_rewards: None,
            info: Map::new(),
        }
    }

    /// Whether every agent is terminated or truncated.
    pub fn all_done(&self) -> bool {
        self.terminated.iter().zip(&self.truncated).all(|(a, b)| *a || *b)
    }
}

/// A learner-only capability: the env's own annotation of what each action would do wrong.
pub trait HarmOracle {
    /// For each action of `agent` now, how many violations taking it would commit (written into
    /// `out`, one entry per action).
    fn action_harm(&self, agent: usize, out: &mut [f32]);
}

/// A learner-only capability of partially observed games: whether one agent's observation now
/// shows another.
pub trait Visibility {
    /// Whether `observer`'s observation now shows `other`.
    fn can_see(&self, observer: usize, other: usize) -> bool;
}

/// Whether `observer` sees `other` in `env` (always, in a fully observed env).
pub fn can_see<E: ParallelEnv + ?Sized>(env: &E, observer: usize, other: usize) -> bool {
    env.visibility().is_none_or(|v| v.can_see(observer, other))
}

/// A multi-agent environment in PettingZoo's parallel style: all agents act at once.
///
/// Implementors write `reset_impl` and `step_impl`; callers use `reset_into`/`step_into` (checked,
/// allocation-free) or `reset`/`step` (checked, allocating).
pub trait ParallelEnv: Send {
    /// The spec of this configured environment.
    fn spec(&self) -> &EnvSpec;

    /// Starts an episode; `Some(seed)` reseeds the env's own RNG, `None` continues its stream.
    /// Writes `[agents * obs_dim]` observations. Called with a buffer of the right length.
    fn reset_impl(&mut self, seed: Option<u64>, obs: &mut [f32]);

    /// Advances one step. Called with checked buffer lengths and legal actions.
    fn step_impl(&mut self, actions: &[u32], out: StepBuf<'_>);

    /// Whether the episode has ended (or never started), so that `step` must wait for `reset`.
    fn needs_reset(&self) -> bool;

    /// Events of the last step (who harmed whom, what fired). Empty after reset.
    fn events(&self) -> &[Event];

    /// Whether `action` (already known to be in range) is legal for `agent` now; default: all are.
    fn is_legal(&self, agent: usize, action: u32) -> bool {
        let _ = (agent, action);
        true
    }

    /// Writes which of the agent's actions are legal now (`mask` has one entry per action).
    fn action_mask(&self, agent: usize, mask: &mut [bool]) {
        for (a, m) in mask.iter_mut().enumerate() {
            *m = self.is_legal(agent, a as u32);
        }
    }

    /// Task rewards of the last step before any shaping term, where the env's reward is shaped
    /// (so evaluation can always read the true task reward); `None` when reward is unshaped.
    fn task_rewards(&self) -> Option<&[f32]> {
        None
    }

    /// Agent-steps spent tagged out (removed by another agent) in the current episode.
    fn tagged_out_steps(&self) -> u64 {
        0
    }

    /// Adds environment-specific episode metrics (e.g. `cooperation_rate`) to `out`.
    fn episode_metrics(&self, out: &mut Map<String, Value>) {
        let _ = out;
    }

    /// The env's annotation of each action's harm, if it has one (text games do): what an oracle
    /// conscience and the harm-avoiding policy read.
    fn harm_oracle(&self) -> Option<&dyn HarmOracle> {
        None
    }

    /// Who sees whom, in games where agents see the state each from their own partial view
    /// (grid games' egocentric windows; `spec().partially_observed`). `None`: everyone sees
    /// everything. LASE's empathy reads this: an agent infers nothing about a co-player it
    /// cannot see.
    fn visibility(&self) -> Option<&dyn Visibility> {
        None
    }

    /// What `agent` reads now, for environments made of text.
    fn text(&self, agent: usize) -> Option<TextView> {
        let _ = agent;
        None
    }

    /// What `agent` is told once per episode, in words: what the game is, its rules and its goal
    /// (a text game's title, summary and achievements). Default: the env's id and agent count.
    fn text_rules(&self, agent: usize) -> String {
        let spec = self.spec();
        format!("You are {} of {} agents in the environment {}.", spec.agents[agent], spec.num_agents, spec.id)
    }

    /// What `agent` sees now, in words, with its legal actions by number. Default: the env's
    /// [`ParallelEnv::render`] and the legal actions as "action k".
    fn text_observation(&self, agent: usize) -> TextObservation {
        TextObservation { situation: self.render(), actions: legal_actions(self, agent, |a| format!("action {a}")) }
    }

    /// The action that plays the typed `command` for `agent` now. Text games find the offered
    /// choice whose words are the command (ignoring case and surrounding spaces); parser games
    /// take any command, adding it to the offered list when the list lacks it. The error says why
    /// the command cannot be played; nothing changes then.
    fn offer_command(&mut self, agent: usize, command: &str) -> EnvResult<u32> {
        let wanted = command.trim();
        let choices = self.text(agent).map(|v| v.choices).unwrap_or_default();
        match choices.iter().position(|c| c.trim().eq_ignore_ascii_case(wanted)) {
            Some(k) => Ok(k as u32),
            None => Err(EnvError::Command {
                agent,
                command: wanted.into(),
                reason: if choices.is_empty() {
                    format!("{} offers no choices in words now", self.spec().id)
                } else {
                    format!("it is none of the {} choices offered", choices.len())
                },
            }),
        }
    }

    /// Whether [`ParallelEnv::offer_command`] takes any command for `agent` now, not only the
    /// words of an offered choice (parser games).
    fn accepts_any_command(&self, agent: usize) -> bool {
        let _ = agent;
        false
    }

    /// The command the game's own walkthrough plays at this step, for games that have one
    /// (parser games); `None` otherwise or once the walkthrough is over.
    fn walkthrough_command(&self, agent: usize) -> Option<String> {
        let _ = agent;
        None
    }

    /// Adds extra facts about the last step to `out` (e.g. a text game's raw annotation).
    fn step_info(&self, out: &mut Map<String, Value>) {
        let _ = out;
    }

    /// A text picture of the current state.
    fn render(&self) -> String {
        String::new()
    }

    /// Checks the number of actions, their range, and the action mask.
    fn check_actions(&self, actions: &[u32]) -> EnvResult<()> {
        let spec = self.spec();
        check_len("actions", spec.num_agents, actions.len())?;
        let n = spec.num_actions();
        for (agent, &action) in actions.iter().enumerate() {
            if action as usize >= n {
                return Err(EnvError::IllegalAction {
                    agent,
                    action,
                    reason: format!("the action space is Discrete({n})"),
                });
            }
            if !self.is_legal(agent, action) {
                return Err(EnvError::IllegalAction {
                    agent,
                    action,
                    reason: "masked out in the current state".into(),
                });
            }
        }
        Ok(())
    }

    /// Checked reset into a caller buffer of `[agents * obs_dim]`.
    fn reset_into(&mut self, seed: Option<u64>, obs: &mut [f32]) -> EnvResult<()> {
        let spec = self.spec();
        check_len("observation buffer", spec.num_agents * spec.obs_dim(), obs.len())?;
        self.reset_impl(seed, obs);
        Ok(())
    }

    /// Checked step into caller buffers; on error nothing changes.
    fn step_into(&mut self, actions: &[u32], out: StepBuf<'_>) -> EnvResult<()> {
        if self.needs_reset() {
            return Err(EnvError::NeedsReset);
        }
        out.check(self.spec())?;
        self.check_actions(actions)?;
        self.step_impl(actions, out);
        Ok(())
    }

    /// Gymnasium-style reset: returns `[agents * obs_dim]` observations.
    fn reset(&mut self, seed: Option<u64>) -> Vec<f32> {
        let spec = self.spec();
        let mut obs = vec![0.0; spec.num_agents * spec.obs_dim()];
        self.reset_impl(seed, &mut obs);
        obs
    }

    /// PettingZoo-style step with freshly allocated results.
    fn step(&mut self, actions: &[u32]) -> EnvResult<ParallelStep> {
        let mut s = ParallelStep::zeroed(self.spec());
        self.step_into(
            actions,
            StepBuf {
                obs: &mut s.obs,
                rewards: &mut s.rewards,
                costs: &mut s.costs,
                terminated: &mut s.terminated,
                truncated: &mut s.truncated,
            },
        )?;
        s.events = self.events().to_vec();
        s.task_rewards = self.task_rewards().map(<[f32]>::to_vec);
        self.step_info(&mut s.info);
        Ok(s)
    }
}

/// What a single-agent step returns, Gymnasium-style (costs kept apart from the reward).
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// Observation after the step.
    pub obs: Vec<f32>,
    /// Task reward.
    pub reward: f32,
    /// One non-negative value per cost component.
    pub costs: Vec<f32>,
    /// Whether a terminal state was reached.
    pub terminated: bool,
    /// Whether the step limit cut the episode.
    pub truncated: bool,
    /// Events behind the reward and the costs.
    pub events: Vec<Event>,
    /// Extra facts about the step.
    pub info: Map<String, Value>,
}

/// A single-agent environment in Gymnasium's style.
pub trait Env: Send {
    /// The spec (with `num_agents == 1`).
    fn spec(&self) -> &EnvSpec;
    /// Starts an episode and returns the first observation.
    fn reset(&mut self, seed: Option<u64>) -> Vec<f32>;
    /// Advances one step.
    fn step(&mut self, action: u32) -> EnvResult<Step>;
    /// Legal actions now.
    fn action_mask(&self) -> Vec<bool>;
}

/// Presents a one-agent [`ParallelEnv`] as a single-agent [`Env`].
pub struct SingleAgent {
    inner: Box<dyn ParallelEnv>,
}

impl SingleAgent {
    /// Wraps `inner`; fails unless it has exactly one agent.
    pub fn new(inner: Box<dyn ParallelEnv>) -> EnvResult<Self> {
        let n = inner.spec().num_agents;
        if n != 1 {
            return Err(EnvError::Config {
                env: inner.spec().id.clone(),
                message: format!("a single-agent Env needs num_agents = 1, this config has {n}"),
            });
        }
        Ok(Self { inner })
    }

    /// The wrapped parallel env.
    pub fn into_inner(self) -> Box<dyn ParallelEnv> {
        self.inner
    }
}

impl Env for SingleAgent {
    fn spec(&self) -> &EnvSpec {
        self.inner.spec()
    }

    fn reset(&mut self, seed: Option<u64>) -> Vec<f32> {
        self.inner.reset(seed)
    }

    fn step(&mut self, action: u32) -> EnvResult<Step> {
        let s = self.inner.step(&[action])?;
        Ok(Step {
            obs: s.obs,
            reward: s.rewards[0],
            costs: s.costs,
            terminated: s.terminated[0],
            truncated: s.truncated[0],
            events: s.events,
            info: s.info,
        })
    }

    fn action_mask(&self) -> Vec<bool> {
        let mut mask = vec![true; self.inner.spec().num_actions()];
        self.inner.action_mask(0, &mut mask);
        mask
    }
}

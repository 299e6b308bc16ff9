//! The trained networks as a [`Policy`]: what the evaluation plays, and the rows a learner reads
//! (inputs with the agent id of a shared policy, action masks, conscience penalties), shared
//! with the trainer's rollouts.

use moralgym_envs::{EnvSpec, ParallelEnv, Rng};

use crate::conscience::Conscience;
use crate::policy::{Policy, PolicyError};
use crate::ppo::PpoLearner;

/// What a learner reads for some agents, one row per agent: the inputs (with a one-hot agent id
/// under a shared policy), the action masks and the conscience's logit penalties.
#[derive(Default)]
pub(crate) struct Rows {
    pub(crate) input: Vec<f32>,
    pub(crate) masks: Vec<bool>,
    pub(crate) penalties: Vec<f32>,
    mask: Vec<bool>,
    harm: Vec<f32>,
    feats: Vec<f32>,
}

impl Rows {
    pub(crate) fn clear(&mut self) {
        self.input.clear();
        self.masks.clear();
        self.penalties.clear();
    }

    /// Appends the row of `agent` in `env`, whose observations (all agents) are `obs`.
    pub(crate) fn push(
        &mut self,
        env: &dyn ParallelEnv,
        obs: &[f32],
        agent: usize,
        shared: bool,
        conscience: Option<&Conscience>,
    ) {
        let spec = env.spec();
        policy_input(spec, shared, obs, agent, &mut self.input);
        if spec.has_action_mask {
            self.mask.resize(spec.num_actions(), true);
            env.action_mask(agent, &mut self.mask);
            self.masks.extend_from_slice(&self.mask);
        }
        if let Some(c) = conscience {
            let d = spec.obs_dim();
            self.harm.resize(spec.num_actions(), 0.0);
            c.penalties(
                env,
                agent,
                &obs[agent * d..(agent + 1) * d],
                &mut self.harm,
                &mut self.feats,
                &mut self.penalties,
            );
        }
    }
}

pub(crate) fn policy_input(spec: &EnvSpec, shared: bool, obs: &[f32], agent: usize, out: &mut Vec<f32>) {
    let d = spec.obs_dim();
    out.extend_from_slice(&obs[agent * d..(agent + 1) * d]);
    if shared {
        out.extend((0..spec.num_agents).map(|i| if i == agent { 1.0 } else { 0.0 }));
    }
}

/// Appends `agent`'s own observation in every env copy of `obs` (`[copies * agents * obs_dim]`).
pub(crate) fn agent_rows(spec: &EnvSpec, obs: &[f32], agent: usize, out: &mut Vec<f32>) {
    for env in obs.chunks(spec.num_agents * spec.obs_dim()) {
        policy_input(spec, false, env, agent, out);
    }
}

/// The trained networks acting in any env with the trainer's spec.
pub struct TrainedPolicy<'a> {
    pub(crate) groups: Vec<(&'a [usize], &'a PpoLearner)>,
    pub(crate) partner: Option<Box<dyn Policy>>,
    pub(crate) shared: bool,
    pub(crate) conscience: Option<&'a Conscience>,
    pub(crate) rng: Rng,
    pub(crate) greedy: bool,
    /// Per group: a recurrent network's state for its agents, zeroed at each episode's start.
    pub(crate) states: Vec<Vec<f32>>,
}

impl Policy for TrainedPolicy<'_> {
    fn act(&mut self, env: &dyn ParallelEnv, obs: &[f32], actions: &mut [u32]) -> Result<(), PolicyError> {
        if let Some(partner) = &mut self.partner {
            partner.act(env, obs, actions)?; // the learners' entries are overwritten below
        }
        let mut r = Rows::default();
        for ((agents, learner), state) in self.groups.iter().zip(&mut self.states) {
            r.clear();
            for &agent in agents.iter() {
                r.push(env, obs, agent, self.shared, self.conscience);
            }
            let rows = agents.len();
            let (mut act, mut logp) = (vec![0u32; rows], vec![0.0f32; rows]);
            let (lp, _) = learner.forward_in(&r.input, &r.masks, &r.penalties, state, &vec![false; rows]);
            learner.sample(&lp, &mut self.rng, self.greedy, &mut act, &mut logp);
            for (r, &agent) in agents.iter().enumerate() {
                actions[agent] = act[r];
            }
        }
        Ok(())
    }

    fn start_episode(&mut self, seed: u64) {
        let _ = seed; // one stream of samples across episodes, as before
        self.states.iter_mut().for_each(|s| s.iter_mut().for_each(|x| *x = 0.0));
    }
}

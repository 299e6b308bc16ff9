//! The rollout buffer: what one learner saw and did during a rollout, the advantages and value
//! targets computed from it (GAE per value head: the reward's, then each cost's), and the
//! minibatches PPO's epochs draw from it. Rows are laid out by time: step `t` holds `n` rows (one
//! per env copy and agent the learner plays), so row `t * n + i` follows row `(t - 1) * n + i`.

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

/// One learner's rollout.
#[derive(Clone, Debug, Default)]
pub struct RolloutBuffer {
    obs_dim: usize,
    num_actions: usize,
    heads: usize,
    /// `[m * obs_dim]` policy inputs.
    pub obs: Vec<f32>,
    /// `[m * actions]` legal-action masks (empty when the env has none).
    pub masks: Vec<bool>,
    /// `[m * actions]` logit penalties of a conscience (empty when none is used).
    pub penalties: Vec<f32>,
    /// `[m]` actions taken.
    pub actions: Vec<u32>,
    /// `[m]` log-probabilities at sampling time.
    pub logp: Vec<f32>,
    /// `[m * heads]` value predictions at sampling time (reward, then each cost).
    pub values: Vec<f32>,
    /// `[m]` 1 for real samples, 0 for steps of an agent that had already stopped.
    pub weights: Vec<f32>,
    /// `[m]` rewards the learner trains on.
    pub rewards: Vec<f32>,
    /// `[m * costs]` costs of each step.
    pub costs: Vec<f32>,
    /// `[m]` whether the row's episode ended at this step.
    pub dones: Vec<bool>,
    /// `[m]` advantages of the training objective (set before the update).
    pub advantages: Vec<f32>,
    /// Whether `advantages` are already standardised over the whole rollout (OmniSafe's
    /// Lagrangian): the update then does not renormalise them per minibatch.
    pub standardised: bool,
    /// `[m * heads]` value targets (set by [`RolloutBuffer::compute_returns`]).
    pub returns: Vec<f32>,
    /// Rows per step: the sequences a recurrent network's minibatches are made of.
    pub lanes: usize,
    /// `[m]` whether the row's lane starts an episode at this step (a recurrent network zeroes
    /// its state first).
    pub starts: Vec<bool>,
    /// `[lanes * state_size]` a recurrent network's state per lane before the rollout.
    pub initial_state: Vec<f32>,
}

/// The samples of one minibatch, gathered from a [`RolloutBuffer`] onto a device.
pub struct Minibatch {
    /// Samples.
    pub len: usize,
    /// `[b, obs_dim]` inputs.
    pub obs: Tensor<2>,
    /// `[b, 1]` actions taken.
    pub actions: Tensor<2, Int>,
    /// `[b, 1]` log-probabilities at sampling time.
    pub old_logp: Tensor<2>,
    /// `[b]` sample weights (0 for steps of stopped agents).
    pub weights: Vec<f32>,
    /// `[b]` advantages (normalised by the update if it is asked to).
    pub advantages: Vec<f32>,
    /// `[b, actions]` conscience penalties, if any.
    pub penalties: Option<Tensor<2>>,
    /// `[b, actions]` true where an action is illegal, if the env masks actions.
    pub illegal: Option<Tensor<2, Bool>>,
    /// `[b, heads]` value targets.
    pub returns: Tensor<2>,
    /// `[b, heads]` values at sampling time.
    pub old_values: Tensor<2>,
}

/// The rows `idx` of `src`, a table of rows `width` long, one after another (empty for an
/// empty table: masks and penalties are empty when unused).
pub(crate) fn gather_rows<T: Copy>(src: &[T], idx: &[usize], width: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(if src.is_empty() { 0 } else { idx.len() * width });
    if !src.is_empty() {
        idx.iter().for_each(|&i| out.extend_from_slice(&src[i * width..(i + 1) * width]));
    }
    out
}

pub(crate) fn tensor2(data: Vec<f32>, rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(data, [rows, cols]), device)
}

/// `[rows, cols]` true where `masks` is false; `None` when there are no masks.
pub(crate) fn illegal(masks: &[bool], rows: usize, cols: usize, device: &Device) -> Option<Tensor<2, Bool>> {
    (!masks.is_empty()).then(|| {
        let not: Vec<bool> = masks.iter().map(|m| !m).collect();
        Tensor::from_data(TensorData::new(not, [rows, cols]), device)
    })
}

/// Subtracts the weighted mean of `x` and, with `scale`, divides by its standard deviation (the
/// population one, plus 1e-8, as OmniSafe's buffer and CleanRL do). Rows of weight 0 are changed
/// too but do not count.
pub fn standardise(x: &mut [f32], w: &[f32], scale: bool) {
    let n: f32 = w.iter().sum::<f32>().max(1.0);
    let mean = x.iter().zip(w).map(|(a, w)| a * w).sum::<f32>() / n;
    let std =
        if scale { (x.iter().zip(w).map(|(a, w)| w * (a - mean).powi(2)).sum::<f32>() / n).sqrt() + 1e-8 } else { 1.0 };
    for v in x.iter_mut() {
        *v = (*v - mean) / std;
    }
}

impl RolloutBuffer {
    /// An empty buffer for inputs of `obs_dim`, `num_actions` actions and `costs` cost heads.
    pub fn new(obs_dim: usize, num_actions: usize, costs: usize) -> Self {
        Self { obs_dim, num_actions, heads: 1 + costs, ..Self::default() }
    }

    /// Empties the buffer for the next rollout, keeping its memory.
    pub fn clear(&mut self) {
        let Self {
            obs_dim: _,
            num_actions: _,
            heads: _,
            obs,
            masks,
            penalties,
            actions,
            logp,
            values,
            weights,
            rewards,
            costs,
            dones,
            advantages,
            standardised,
            returns,
            lanes,
            starts,
            initial_state,
        } = self;
        for v in [obs, penalties, logp, values, weights, rewards, costs, advantages, returns, initial_state] {
            v.clear();
        }
        masks.clear();
        actions.clear();
        dones.clear();
        starts.clear();
        *standardised = false;
        *lanes = 0;
    }

    /// Rows stored.
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    /// Whether no row is stored.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// Value heads: the reward's, then one per cost.
    pub fn heads(&self) -> usize {
        self.heads
    }

    /// Stores what the policy read and did for some rows of one step: their inputs, masks and
    /// penalties (each empty if unused), the actions, log-probabilities and values.
    pub fn push_policy(
        &mut self,
        obs: &[f32],
        masks: &[bool],
        penalties: &[f32],
        actions: &[u32],
        logp: &[f32],
        values: &[f32],
    ) {
        self.obs.extend_from_slice(obs);
        self.masks.extend_from_slice(masks);
        self.penalties.extend_from_slice(penalties);
        self.actions.extend_from_slice(actions);
        self.logp.extend_from_slice(logp);
        self.values.extend_from_slice(values);
    }

    /// Stores what followed one row's action: its reward, costs (empty: all zero) and whether
    /// its episode ended.
    pub fn push_outcome(&mut self, reward: f32, costs: &[f32], done: bool) {
        self.rewards.push(reward);
        if costs.is_empty() {
            self.costs.extend(std::iter::repeat_n(0.0, self.heads - 1));
        } else {
            self.costs.extend_from_slice(costs);
        }
        self.dones.push(done);
    }

    /// The masks of the last `rows` rows stored (empty when the env has none).
    pub fn last_masks(&self, rows: usize) -> &[bool] {
        if self.masks.is_empty() { &[] } else { &self.masks[self.masks.len() - rows * self.num_actions..] }
    }

    /// GAE for every value head over the `n` rows of each step, bootstrapped by `last_values`
    /// (`[n * heads]`, the values of the observations after the rollout). Writes the value
    /// targets and returns each head's advantages (`[heads][m]`).
    pub fn compute_returns(&mut self, last_values: &[f32], n: usize, gamma: f64, lambda: f64) -> Vec<Vec<f32>> {
        let heads = self.heads;
        let column = |src: &[f32], h: usize| -> Vec<f32> { src.chunks(heads).map(|v| v[h]).collect() };
        self.returns = vec![0.0; self.len() * heads];
        let mut advantages = Vec::with_capacity(heads);
        for h in 0..heads {
            let signal: Vec<f32> =
                if h == 0 { self.rewards.clone() } else { self.costs.chunks(heads - 1).map(|x| x[h - 1]).collect() };
            let (adv, ret) =
                gae(&signal, &column(&self.values, h), &self.dones, &column(last_values, h), n, gamma, lambda);
            for (i, r) in ret.iter().enumerate() {
                self.returns[i * heads + h] = *r;
            }
            advantages.push(adv);
        }
        advantages
    }

    /// Gathers the rows `idx` onto `device`.
    pub fn minibatch(&self, idx: &[usize], device: &Device) -> Minibatch {
        let b = idx.len();
        let pick = |src: &[f32], w: usize| gather_rows(src, idx, w);
        let k = self.num_actions;
        let actions: Vec<i64> = idx.iter().map(|&i| self.actions[i] as i64).collect();
        let masks = gather_rows(&self.masks, idx, k);
        Minibatch {
            len: b,
            obs: tensor2(pick(&self.obs, self.obs_dim), b, self.obs_dim, device),
            actions: Tensor::from_data(TensorData::new(actions, [b, 1]), device),
            old_logp: tensor2(pick(&self.logp, 1), b, 1, device),
            weights: pick(&self.weights, 1),
            advantages: pick(&self.advantages, 1),
            penalties: (!self.penalties.is_empty()).then(|| tensor2(pick(&self.penalties, k), b, k, device)),
            illegal: illegal(&masks, b, k, device),
            returns: tensor2(pick(&self.returns, self.heads), b, self.heads, device),
            old_values: tensor2(pick(&self.values, self.heads), b, self.heads, device),
        }
    }
}

/// Generalised advantage estimation over `[t, n]` arrays (row-major by time). `dones[t * n + i]`
/// marks that instance `i`'s episode ended at step `t`; `last_values` bootstraps the rollout's
/// end. Returns (advantages, returns = advantages + values).
pub fn gae(
    rewards: &[f32],
    values: &[f32],
    dones: &[bool],
    last_values: &[f32],
    n: usize,
    gamma: f64,
    lambda: f64,
) -> (Vec<f32>, Vec<f32>) {
    let t_len = rewards.len() / n.max(1);
    let mut adv = vec![0.0f32; rewards.len()];
    let mut last = vec![0.0f64; n];
    for t in (0..t_len).rev() {
        for i in 0..n {
            let k = t * n + i;
            let next_value = if t + 1 == t_len { last_values[i] } else { values[k + n] } as f64;
            let nonterminal = if dones[k] { 0.0 } else { 1.0 };
            let delta = rewards[k] as f64 + gamma * next_value * nonterminal - values[k] as f64;
            last[i] = delta + gamma * lambda * nonterminal * last[i];
            adv[k] = last[i] as f32;
        }
    }
    let returns = adv.iter().zip(values).map(|(a, v)| a + v).collect();
    (adv, returns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gae_matches_a_hand_computation() {
        // one instance, three steps, episode ends after step 1 (index 1)
        let r = [1.0, 2.0, 3.0];
        let v = [0.5, 0.25, 1.0];
        let d = [false, true, false];
        let (adv, ret) = gae(&r, &v, &d, &[2.0], 1, 0.9, 0.5);
        // t=2: delta = 3 + 0.9*2 - 1 = 3.8
        // t=1: terminal: delta = 2 - 0.25 = 1.75
        // t=0: delta = 1 + 0.9*0.25 - 0.5 = 0.725; adv = 0.725 + 0.45*1.75 = 1.5125
        let want = [1.5125f32, 1.75, 3.8];
        for (a, w) in adv.iter().zip(want) {
            assert!((a - w).abs() < 1e-6, "{adv:?}");
        }
        assert!((ret[0] - 2.0125).abs() < 1e-6);
    }

    #[test]
    fn returns_are_computed_per_head_from_the_reward_and_each_cost() {
        // one row per step, two steps, one cost; gamma = lambda = 1 so returns are sums to go
        let mut b = RolloutBuffer::new(1, 2, 1);
        for (r, c) in [(1.0, 2.0), (3.0, 4.0)] {
            b.push_policy(&[0.0], &[], &[], &[0], &[0.0], &[0.0, 0.0]);
            b.push_outcome(r, &[c], false);
        }
        let adv = b.compute_returns(&[10.0, 100.0], 1, 1.0, 1.0);
        assert_eq!(adv, vec![vec![14.0, 13.0], vec![106.0, 104.0]]);
        assert_eq!(b.returns, vec![14.0, 106.0, 13.0, 104.0]);
        // a stopped agent's row stores zero costs
        b.push_outcome(0.0, &[], true);
        assert_eq!(&b.costs[2..], &[0.0]);
    }
}

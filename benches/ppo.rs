//! Training throughput: env steps/s of a full PPO iteration (rollout + update) and samples/s of
//! the PPO update alone, on the flex CPU backend.

use burn::tensor::Device;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use moralgym::agents::RolloutBuffer;
use moralgym::agents::ppo::{PpoConfig, PpoLearner};
use moralgym::agents::{Trainer, TrainerConfig};
use moralgym::envs::{Rng, VecEnv};
use serde_json::Value;

fn full_iteration(c: &mut Criterion) {
    let mut group = c.benchmark_group("ppo_iteration");
    group.sample_size(10);
    for (id, learners) in [("CoinGame-v1", Some(vec![0])), ("Cleanup-v1", None)] {
        let (config, num_envs) = (TrainerConfig { learners, ..TrainerConfig::default() }, 8);
        let steps = (num_envs * config.ppo.num_steps) as u64;
        let venv = VecEnv::make(id, &Value::Null, num_envs, 1).expect("env");
        let mut trainer = Trainer::new(venv, &Value::Null, config, u64::MAX / 2, 0, &Device::flex()).expect("trainer");
        group.throughput(Throughput::Elements(steps));
        group.bench_function(id, |b| b.iter(|| trainer.iterate().expect("scripted partners do not fail")));
    }
    group.finish();
}

fn update_only(c: &mut Criterion) {
    let (m, obs_dim, actions) = (1024, 125, 4);
    let config = PpoConfig::default();
    let mut learner = PpoLearner::new(obs_dim, actions, 1, &config, &Device::flex(), 0);
    let mut rng = Rng::new(0);
    let mut batch = RolloutBuffer::new(obs_dim, actions, 1);
    batch.obs = (0..m * obs_dim).map(|_| rng.unit() as f32).collect();
    batch.actions = (0..m).map(|_| rng.below(actions) as u32).collect();
    batch.logp = vec![-(actions as f32).ln(); m];
    batch.advantages = (0..m).map(|_| rng.unit() as f32 - 0.5).collect();
    batch.returns = (0..m * 2).map(|_| rng.unit() as f32).collect();
    batch.values = vec![0.0; m * 2];
    batch.weights = vec![1.0; m];
    let mut group = c.benchmark_group("ppo_update");
    group.sample_size(10);
    // 4 epochs x 4 minibatches of 256 over 1024 samples
    group.throughput(Throughput::Elements((m * config.update_epochs) as u64));
    group.bench_function("1024_samples_125_inputs_64x64", |b| b.iter(|| learner.update(&batch, 2.5e-4, &mut rng)));
    group.finish();
}

criterion_group!(benches, full_iteration, update_only);
criterion_main!(benches);

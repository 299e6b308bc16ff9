//! Training throughput: env steps/s of a full PPO iteration (rollout + update) and samples/s of
//! the PPO update alone, on the flex CPU backend.

use burn::tensor::Device;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use moralgym::agents::RolloutBuffer;
use moralgym::agents::ppo::{Engine, PpoConfig, PpoLearner};
use moralgym::agents::{Trainer, TrainerConfig};
use moralgym::envs::{Rng, VecEnv};
use serde_json::{Value, json};

fn full_iteration(c: &mut Criterion) {
    let mut group = c.benchmark_group("ppo_iteration");
    group.sample_size(10);
    // The configuration of the speed goal (issue 16, docs/training.md): Harvest-v0 with one agent
    // and 250-step episodes, 8 envs x 128 steps, 4 epochs x 4 minibatches, 64-64 tanh; burn's
    // autodiff engine is the baseline, measured in the same run.
    let harvest = json!({
        "num_agents": 1, "max_steps": 250,
        // Harvest-v0's rules, which Harvest-v1 restores by these settings
        "player_channels": "self_and_others", "regrowth_radius": 4,
    });
    let cases = [
        ("Harvest-v1", "v0_burn", &harvest, Engine::Burn, None),
        ("Harvest-v1", "v0_fused", &harvest, Engine::Auto, None),
        ("CoinGame-v1", "fused", &Value::Null, Engine::Auto, Some(vec![0])),
        ("Cleanup-v1", "fused", &Value::Null, Engine::Auto, Some(vec![0])),
        ("Cleanup-v1", "fused", &Value::Null, Engine::Auto, None),
    ];
    for (id, engine_name, env_config, engine, learners) in cases {
        let ppo = PpoConfig { engine, ..PpoConfig::default() };
        let (config, num_envs) = (TrainerConfig { learners, ppo, ..TrainerConfig::default() }, 8);
        let steps = (num_envs * config.ppo.num_steps) as u64;
        let venv = VecEnv::make(id, env_config, num_envs, 1).expect("env");
        let mut trainer = Trainer::new(venv, env_config, config, u64::MAX / 2, 0, &Device::flex()).expect("trainer");
        group.throughput(Throughput::Elements(steps));
        let name = format!("{id}/{engine_name}/{}_learners", trainer.learners().len());
        group.bench_function(name, |b| b.iter(|| trainer.iterate().expect("scripted partners do not fail")));
    }
    group.finish();
}

fn update_only(c: &mut Criterion) {
    let mut group = c.benchmark_group("ppo_update");
    group.sample_size(10);
    for (name, engine) in [("burn", Engine::Burn), ("fused", Engine::Auto)] {
        update(&mut group, name, PpoConfig { engine, ..PpoConfig::default() });
    }
    group.finish();
}

fn update(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, config: PpoConfig) {
    let (m, obs_dim, actions) = (1024, 125, 4);
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
    // 4 epochs x 4 minibatches of 256 over 1024 samples
    group.throughput(Throughput::Elements((m * config.update_epochs) as u64));
    let id = format!("1024_samples_125_inputs_64x64/{name}");
    group.bench_function(id, |b| b.iter(|| learner.update(&batch, 2.5e-4, &mut rng)));
}

criterion_group!(benches, full_iteration, update_only);
criterion_main!(benches);

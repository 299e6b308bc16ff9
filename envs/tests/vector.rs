//! The vector layer: same results as single envs, for any thread count; auto-reset; errors.

use moralgym_envs::{EnvError, ParallelEnv, Rng, VecEnv, derive_seed, make};
use serde_json::{Value, json};

fn random_actions(rng: &mut Rng, out: &mut [u32], n: usize) {
    for a in out.iter_mut() {
        *a = rng.below(n) as u32;
    }
}

/// Everything the vector env wrote over `steps` random steps.
fn trace(id: &str, config: &Value, num_envs: usize, threads: usize, steps: usize) -> Vec<f32> {
    let mut venv = VecEnv::make(id, config, num_envs, threads).expect("builds");
    venv.reset(42);
    let spec = venv.spec().clone();
    let mut rng = Rng::new(5);
    let mut actions = vec![0; num_envs * spec.num_agents];
    let mut mask = vec![true; spec.num_actions()];
    let mut out = venv.obs().to_vec();
    for _ in 0..steps {
        // random legal actions, read from each copy's mask
        for (i, chunk) in actions.chunks_mut(spec.num_agents).enumerate() {
            let env = venv.env(i).expect("copy");
            for (agent, a) in chunk.iter_mut().enumerate() {
                env.action_mask(agent, &mut mask);
                let legal: Vec<u32> = (0..mask.len() as u32).filter(|&k| mask[k as usize]).collect();
                *a = legal[rng.below(legal.len())];
            }
        }
        venv.step(&actions).expect("legal");
        out.extend_from_slice(venv.obs());
        out.extend_from_slice(venv.rewards());
        out.extend_from_slice(venv.costs());
        out.extend(venv.terminated().iter().chain(venv.truncated()).chain(venv.done()).map(|&b| b as u8 as f32));
        for i in 0..num_envs {
            if let Some(ep) = venv.episode(i) {
                out.push(ep.length as f32);
                out.extend_from_slice(ep.returns);
                out.extend_from_slice(ep.costs);
            }
        }
    }
    out
}

#[test]
fn results_are_identical_for_every_thread_count() {
    for (id, config) in [
        ("CoinGame-v1", json!({})),
        ("Cleanup-v1", json!({"zap": {"enabled": true, "timeout": 2}})),
        ("SequentialStagHunt-v1", json!({})),
        ("Harvest-v1", json!({"max_steps": 60})),
        ("SurvivalDilemma-v1", json!({"esrs": {"enabled": true}})),
    ] {
        let one = trace(id, &config, 7, 1, 250);
        assert_eq!(one, trace(id, &config, 7, 2, 250), "{id}: 2 threads");
        assert_eq!(one, trace(id, &config, 7, 3, 250), "{id}: 3 threads");
    }
}

#[test]
fn vector_env_matches_single_envs_with_same_step_auto_reset() {
    let (id, n, steps) = ("SequentialSnowdrift-v1", 3, 200);
    let mut venv = VecEnv::make(id, &Value::Null, n, 2).expect("builds");
    venv.reset(9);
    let mut singles: Vec<Box<dyn ParallelEnv>> = (0..n).map(|_| make(id, &Value::Null).expect("builds")).collect();
    let spec = venv.spec().clone();
    let (a, d) = (spec.num_agents, spec.obs_dim());
    for (i, env) in singles.iter_mut().enumerate() {
        assert_eq!(env.reset(Some(derive_seed(9, i as u64))), venv.obs()[i * a * d..(i + 1) * a * d]);
    }
    let mut rng = Rng::new(1);
    let mut actions = vec![0; n * a];
    let mut episodes = 0;
    for _ in 0..steps {
        random_actions(&mut rng, &mut actions, spec.num_actions());
        venv.step(&actions).expect("legal");
        for (i, env) in singles.iter_mut().enumerate() {
            let s = env.step(&actions[i * a..(i + 1) * a]).expect("legal");
            assert_eq!(s.rewards, venv.rewards()[i * a..(i + 1) * a]);
            assert_eq!(s.costs, venv.costs()[i * a..(i + 1) * a]);
            assert_eq!(s.all_done(), venv.done()[i]);
            if s.all_done() {
                episodes += 1;
                assert_eq!(s.obs, venv.final_obs()[i * a * d..(i + 1) * a * d]);
                assert!(venv.episode(i).is_some());
                assert_eq!(env.reset(None), venv.obs()[i * a * d..(i + 1) * a * d]);
            } else {
                assert_eq!(s.obs, venv.obs()[i * a * d..(i + 1) * a * d]);
                assert!(venv.episode(i).is_none());
            }
        }
    }
    assert!(episodes >= 3, "the run must cross episode ends ({episodes})");
}

#[test]
fn finished_episode_totals_add_up() {
    let mut venv = VecEnv::make("PrisonersDilemma-v0", &json!({"max_steps": 10}), 2, 1).expect("builds");
    venv.reset(0);
    // agent 0 always defects, agent 1 always cooperates: 10 betrayals, returns 50 and 0
    for step in 0..10 {
        venv.step(&[1, 0, 0, 0]).expect("legal");
        assert_eq!(venv.done(), &[step == 9, step == 9]);
    }
    let ep = venv.episode(0).expect("finished");
    assert_eq!((ep.length, ep.returns, ep.costs), (10, &[50.0, 0.0][..], &[10.0, 0.0][..]));
    let ep = venv.episode(1).expect("finished");
    assert_eq!((ep.returns, ep.costs), (&[40.0, 40.0][..], &[0.0, 0.0][..]));
    // the copies were reset: the next observation is the "first round" one
    assert_eq!(venv.obs()[0], 1.0);
}

#[test]
fn errors_are_typed_and_no_copy_moves() {
    let mut venv = VecEnv::make("CoinGame-v1", &Value::Null, 4, 2).expect("builds");
    assert_eq!(venv.step(&[0; 8]).err(), Some(EnvError::NeedsReset));
    venv.reset(1);
    let before = venv.obs().to_vec();
    assert!(matches!(venv.step(&[0; 7]).err(), Some(EnvError::Length { expected: 8, got: 7, .. })));
    let err = venv.step(&[0, 0, 0, 0, 0, 0, 9, 0]).expect_err("illegal");
    assert!(matches!(&err, EnvError::InVector { index: 3, .. }), "{err}");
    assert!(err.to_string().contains("illegal action 9 for agent 0"), "{err}");
    assert_eq!(before, venv.obs());
    // the same steps as a fresh vector env that never saw the bad calls
    let mut fresh = VecEnv::make("CoinGame-v1", &Value::Null, 4, 2).expect("builds");
    fresh.reset(1);
    venv.step(&[1; 8]).expect("legal");
    fresh.step(&[1; 8]).expect("legal");
    assert_eq!(venv.obs(), fresh.obs());
    assert!(VecEnv::make("CoinGame-v1", &Value::Null, 0, 1).is_err());
    assert!(VecEnv::make("CoinGame-v1", &Value::Null, 2, 0).is_err());
    let mixed =
        vec![make("CoinGame-v1", &Value::Null).unwrap(), make("CoinGame-v1", &json!({"stay_action": true})).unwrap()];
    assert!(matches!(VecEnv::new(mixed, 1).err(), Some(EnvError::InVector { index: 1, .. })));
}

#[test]
fn single_agent_wrapper_is_gymnasium_shaped() {
    use moralgym_envs::{Env, SingleAgent};
    assert!(SingleAgent::new(make("CoinGame-v1", &Value::Null).unwrap()).is_err());
    let inner = make("Harvest-v1", &json!({"num_agents": 1, "max_steps": 5})).unwrap();
    let mut env = SingleAgent::new(inner).expect("one agent");
    let obs = env.reset(Some(3));
    assert_eq!(obs.len(), env.spec().obs_dim());
    assert_eq!(env.action_mask(), vec![true; 6]);
    let mut last = None;
    for _ in 0..5 {
        last = Some(env.step(4).expect("legal"));
    }
    let last = last.expect("stepped");
    assert!(last.truncated && !last.terminated);
    assert_eq!(last.costs.len(), 2);
    assert_eq!(env.step(4).err(), Some(EnvError::NeedsReset));
}

#[test]
fn thread_counts_are_bounded_with_the_key_named() {
    for threads in [0, moralgym_envs::vector::MAX_THREADS + 1, 100_000] {
        let e =
            moralgym_envs::VecEnv::make("CoinGame-v1", &serde_json::Value::Null, 2, threads).err().expect("refused");
        assert!(e.to_string().contains("`threads` must be 1 to 1024"), "{e}");
    }
    assert!(moralgym_envs::VecEnv::make("CoinGame-v1", &serde_json::Value::Null, 2, 2).is_ok());
}

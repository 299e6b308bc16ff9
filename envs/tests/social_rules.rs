//! Pins the rules of every social game: payoffs, pick-ups, spawning, regrowth, beams, hunts,
//! clearing, and the cost events each rule fires.

use moralgym_envs::social::grid::{DOWN, INTERACT, LEFT, RIGHT, STAY, UP};
use moralgym_envs::social::*;
use moralgym_envs::{EnvError, EpisodeTracker, ParallelEnv};
use serde_json::{Value, json};

fn matrix(id: &str) -> MatrixGame {
    let config = match id {
        "pd" => MatrixConfig::prisoners_dilemma(),
        "stag" => MatrixConfig::stag_hunt(),
        "chicken" => MatrixConfig::chicken(),
        _ => MatrixConfig::harmony(),
    };
    MatrixGame::new("test", config).expect("valid")
}

#[test]
fn prisoners_dilemma_pays_lase_payoffs_and_costs_only_betrayal() {
    let mut env = matrix("pd");
    env.reset(Some(0));
    for (joint, rewards, costs) in [
        ([0, 0], [4.0, 4.0], [0.0, 0.0]),
        ([0, 1], [0.0, 5.0], [0.0, 1.0]),
        ([1, 0], [5.0, 0.0], [1.0, 0.0]),
        ([1, 1], [1.0, 1.0], [0.0, 0.0]),
    ] {
        let s = env.step(&joint).expect("legal");
        assert_eq!(s.rewards, rewards, "{joint:?}");
        assert_eq!(s.costs, costs, "{joint:?}");
    }
}

#[test]
fn matrix_families_follow_their_orderings() {
    // PD: T > R > P > S; Stag Hunt: R > T >= P > S; Chicken: T > R > S > P; Harmony: R > T, S > P.
    let pay = |g: &MatrixConfig| (g.reward, g.temptation, g.sucker, g.punishment);
    let (r, t, s, p) = pay(&MatrixConfig::prisoners_dilemma());
    assert!(t > r && r > p && p > s);
    let (r, t, s, p) = pay(&MatrixConfig::stag_hunt());
    assert!(r > t && t >= p && p > s);
    let (r, t, s, p) = pay(&MatrixConfig::chicken());
    assert!(t > r && r > s && s > p);
    let (r, t, s, p) = pay(&MatrixConfig::harmony());
    assert!(r > t && s > p);
    let mut env = matrix("chicken");
    env.reset(None);
    assert_eq!(env.step(&[1, 0]).expect("legal").rewards, vec![1.5, 0.5]);
}

#[test]
fn matrix_observation_holds_the_previous_joint_action_from_each_view() {
    let mut env = matrix("pd");
    let obs = env.reset(Some(1));
    assert_eq!(obs, vec![1., 0., 0., 0., 0., 1., 0., 0., 0., 0.]);
    let s = env.step(&[0, 1]).expect("legal");
    // agent 0: I cooperated, they defected; agent 1: I defected, they cooperated
    assert_eq!(s.obs, vec![0., 1., 0., 0., 1., 0., 0., 1., 1., 0.]);
    assert_eq!(s.events.len(), 1);
    assert_eq!(s.events[0].to_string(), "agent 1 defected against the cooperating agent 0 [betrayal]");
}

#[test]
fn matrix_episode_truncates_reports_cooperation_and_then_needs_reset() {
    let mut env =
        MatrixGame::new("t", MatrixConfig { max_steps: 4, ..MatrixConfig::prisoners_dilemma() }).expect("valid");
    env.reset(Some(0));
    let mut tracker = EpisodeTracker::new(env.spec());
    for (i, joint) in [[0, 0], [0, 1], [0, 0], [1, 1]].iter().enumerate() {
        let s = env.step(joint).expect("legal");
        tracker.record(&s.rewards, &s.costs);
        assert_eq!(s.truncated, vec![i == 3; 2]);
        assert_eq!(s.terminated, vec![false; 2]);
    }
    assert_eq!(env.step(&[0, 0]).err(), Some(EnvError::NeedsReset));
    let r = tracker.report(&env);
    assert_eq!(r.returns, vec![9.0, 14.0]);
    assert_eq!(r.costs["betrayal"], 1.0);
    assert_eq!(r.env_metrics["cooperation_rate"], json!(0.625));
    assert_eq!(r.env_metrics["cooperation_rate_per_agent"], json!([0.75, 0.5]));
    assert_eq!(r.social.efficiency, 23.0 / 4.0);
    assert_eq!(r.social.equality, Some(1.0 - 10.0 / 92.0));
    // positive rewards: agent 0 at steps 1, 3, 4 (mean 8/3); agent 1 at 1, 2, 3, 4 (mean 2.5)
    let s = r.social.sustainability.expect("both got positive reward");
    assert!((s - (8.0 / 3.0 + 2.5) / 2.0).abs() < 1e-12, "{s}");
    assert_eq!(r.social.peace, 2.0);
}

#[test]
fn illegal_and_miscounted_actions_are_typed_errors_that_change_nothing() {
    let mut env = matrix("pd");
    env.reset(Some(0));
    let err = env.step(&[0, 2]).expect_err("illegal");
    assert!(matches!(err, EnvError::IllegalAction { agent: 1, action: 2, .. }), "{err}");
    assert!(matches!(env.step(&[0]).err(), Some(EnvError::Length { .. })));
    // the failed calls did not advance the game: the first real step still sees "first round"
    let s = env.step(&[0, 0]).expect("legal");
    assert_eq!(s.rewards, vec![4.0, 4.0]);
    let mut never_reset = matrix("pd");
    assert_eq!(never_reset.step(&[0, 0]).err(), Some(EnvError::NeedsReset));
}

fn coin_game(config: Value) -> CoinGame {
    let c: CoinGameConfig = serde_json::from_value(config).expect("config");
    CoinGame::new("CoinGame-v1", c).expect("valid")
}

#[test]
fn coin_game_own_coin_pays_one_and_others_coin_costs_its_owner_two() {
    let mut env = coin_game(json!({}));
    env.reset(Some(3));
    env.place_agent(0, 2, 1);
    env.place_agent(1, 4, 4);
    env.put_coin(2, 2, 0);
    let s = env.step(&[RIGHT, UP]).expect("legal");
    assert_eq!(s.rewards, vec![1.0, 0.0]);
    assert_eq!(s.costs, vec![0.0, 0.0]);
    env.place_agent(0, 0, 0);
    env.place_agent(1, 3, 3);
    env.put_coin(3, 2, 0);
    let s = env.step(&[UP, LEFT]).expect("legal");
    assert_eq!(s.rewards, vec![-2.0, 1.0]);
    assert_eq!(s.costs, vec![0.0, 2.0]);
    assert_eq!(s.events[0].to_string(), "agent 1 took the coin of agent 0 [harm_other]");
    // a new coin appeared somewhere neither player stands
    let ((r, c), _) = env.coin();
    assert_ne!((r, c), (0, 0));
    assert_ne!((r, c), (3, 2));
}

#[test]
fn coin_game_bounded_grid_stops_at_walls_and_torus_wraps() {
    let mut env = coin_game(json!({}));
    env.reset(Some(0));
    env.place_agent(0, 0, 0);
    env.place_agent(1, 4, 4);
    env.put_coin(2, 2, 0);
    let s = env.step(&[UP, DOWN]).expect("legal");
    // both players stay put: agent 0 sees the wall row above itself (channel 0, top row of the 5x5 view)
    assert_eq!(&s.obs[0..5], &[1.0; 5]);
    let mut torus = coin_game(json!({"size": 3, "wrap": true, "max_steps": 150, "coin_colour": "alternating"}));
    torus.reset(Some(0));
    torus.place_agent(0, 0, 0);
    torus.place_agent(1, 1, 1);
    torus.put_coin(2, 0, 1);
    let s = torus.step(&[UP, UP]).expect("legal");
    assert_eq!(s.rewards, vec![1.0, -2.0], "moving up from row 0 wraps to row 2 and takes agent 1's coin");
    assert_eq!(torus.coin().1, 0, "alternating colours: the next coin is agent 0's");
}

#[test]
fn a_contested_coin_goes_to_one_player_at_random_or_to_both_as_a_variant() {
    let contest = |config: Value, seed: u64| {
        let mut env = coin_game(config);
        env.reset(Some(seed));
        env.place_agent(0, 2, 1);
        env.place_agent(1, 2, 3);
        env.put_coin(2, 2, 0);
        env.step(&[RIGHT, LEFT]).expect("legal")
    };
    let mut won = [0; 2];
    for seed in 0..400 {
        let s = contest(json!({}), seed);
        match (s.rewards[0], s.rewards[1]) {
            (1.0, 0.0) => won[0] += 1, // its own coin: no harm
            (-2.0, 1.0) => {
                won[1] += 1;
                assert_eq!(s.costs, vec![0.0, 2.0]);
            }
            other => panic!("exactly one taker, got {other:?}"),
        }
    }
    assert!(won[0] > 160 && won[1] > 160, "uniformly at random: {won:?}");
    let both = contest(json!({"contested": "both"}), 0);
    assert_eq!((both.rewards, both.costs), (vec![1.0 - 2.0, 1.0], vec![0.0, 2.0]));
}

#[test]
fn coin_game_stay_action_exists_only_by_config() {
    let mut env = coin_game(json!({}));
    env.reset(Some(0));
    assert!(matches!(env.step(&[STAY, 0]).err(), Some(EnvError::IllegalAction { .. })));
    let mut env = coin_game(json!({"stay_action": true}));
    env.reset(Some(0));
    assert!(env.step(&[STAY, 0]).is_ok());
}

fn cleanup(config: Value) -> Cleanup {
    let c: CleanupConfig = serde_json::from_value(config).expect("config");
    Cleanup::new("Cleanup-v1", c).expect("valid")
}

#[test]
fn cleanup_starts_with_eight_waste_cells_in_the_river_and_grows_no_apples_while_it_is_full() {
    let mut env = cleanup(json!({"waste_spawn_prob": 0.0}));
    env.reset(Some(5));
    assert_eq!(env.waste(), 8);
    assert!(env.positions().iter().all(|&(r, _)| r < 6), "agents start outside the orchard");
    for _ in 0..50 {
        env.step(&[STAY; 4]).expect("legal");
    }
    assert_eq!(env.apples(), 0, "p = 1 - 8/8 = 0");
}

#[test]
fn cleanup_apple_probability_is_one_minus_waste_over_eight() {
    // With 4 waste cells and no new waste, one step grows an apple with p = 0.5.
    let trials = 4000;
    let mut grown = 0;
    let mut env = cleanup(json!({"waste_spawn_prob": 0.0, "initial_waste": 4}));
    for seed in 0..trials {
        env.reset(Some(seed));
        env.step(&[STAY; 4]).expect("legal");
        grown += env.apples();
    }
    let rate = grown as f64 / trials as f64;
    assert!((rate - 0.5).abs() < 0.03, "rate {rate}");
}

#[test]
fn cleanup_waste_appears_with_probability_point_one_per_step_up_to_its_initial_count() {
    // the authors' cap: the river never holds more than its 8 initial cells, so cleaning one
    // always lets apples return
    let mut env = cleanup(json!({"max_steps": 1000}));
    env.reset(Some(11));
    assert_eq!(env.waste(), 8);
    for _ in 0..200 {
        env.step(&[STAY; 4]).expect("legal");
    }
    assert_eq!(env.waste(), 8, "no spawn while the river holds its initial count");
    let (r, c) = (0..2).flat_map(|r| (0..8).map(move |c| (r, c))).find(|&(r, c)| env.has_waste(r, c)).expect("waste");
    env.place_agent(0, r, c, UP);
    env.step(&[cleanup::CLEAN, STAY, STAY, STAY]).expect("legal");
    let refilled = (0..200).find(|_| {
        env.step(&[STAY; 4]).expect("legal");
        env.waste() == 8
    });
    assert!(refilled.is_some(), "the cleaned cell's waste comes back");
    for _ in 0..100 {
        env.step(&[STAY; 4]).expect("legal");
        assert!(env.waste() <= 8);
    }
    // without the cap (moralgym v0) 1000 draws at p = 0.1 fill all 16 river cells
    let mut env = cleanup(json!({"initial_waste": 0, "max_steps": 1000, "cap_waste": false}));
    env.reset(Some(11));
    for _ in 0..1000 {
        env.step(&[STAY; 4]).expect("legal");
    }
    assert_eq!(env.waste(), 16);
    let mut counts = 0;
    for seed in 0..2000 {
        env.reset(Some(seed));
        env.step(&[STAY; 4]).expect("legal");
        counts += env.waste();
    }
    let rate = counts as f64 / 2000.0;
    assert!((rate - 0.1).abs() < 0.025, "rate {rate}");
}

#[test]
fn cleanup_agents_start_on_land_and_do_not_block_each_other() {
    for seed in 0..50 {
        let mut env = cleanup(json!({}));
        env.reset(Some(seed));
        assert!(env.positions().iter().all(|&(r, _)| (2..=5).contains(&r)), "rows 2-5: {:?}", env.positions());
    }
    let mut env = cleanup(json!({}));
    env.reset(Some(0));
    env.place_agent(0, 3, 3, UP);
    env.place_agent(1, 3, 4, UP);
    env.step(&[RIGHT, STAY, STAY, STAY]).expect("legal");
    assert_eq!(env.positions()[0], env.positions()[1], "agents share cells");
    let mut blocking = cleanup(json!({"blocking": true}));
    blocking.reset(Some(0));
    blocking.place_agent(0, 3, 3, UP);
    blocking.place_agent(1, 3, 4, UP);
    blocking.step(&[RIGHT, STAY, STAY, STAY]).expect("legal");
    assert_eq!(blocking.positions()[0], (3, 3), "the SSD variant blocks");
}

#[test]
fn cleanup_clean_removes_waste_under_the_agent_only_by_default() {
    let mut env = cleanup(json!({"waste_spawn_prob": 0.0, "initial_waste": 0}));
    env.reset(Some(2));
    env.place_agent(0, 1, 0, UP);
    env.put(1, 0, true);
    env.put(0, 0, true);
    env.step(&[cleanup::CLEAN, STAY, STAY, STAY]).expect("legal");
    assert!(!env.has_waste(1, 0) && env.has_waste(0, 0), "own cell only; the cell ahead keeps its waste");
}

#[test]
fn cleanup_clean_removes_waste_under_and_ahead_and_eating_before_cleaning_is_a_free_ride() {
    let mut env = cleanup(json!({
        "waste_spawn_prob": 0.0, "initial_waste": 0, "apple_waste_scale": 1e9, "clean_beam_length": 1
    }));
    env.reset(Some(2));
    for (i, r) in [(0, 1), (1, 3), (2, 4), (3, 5)] {
        env.place_agent(i, r, i, UP);
    }
    env.put(1, 0, true);
    env.put(0, 0, true);
    env.put(0, 1, true);
    env.put(7, 3, false);
    env.put(7, 2, false);
    let waste_before = env.waste();
    let s = env.step(&[cleanup::CLEAN, STAY, STAY, STAY]).expect("legal");
    assert_eq!(waste_before - env.waste(), 2, "own cell (1,0) and the cell ahead (0,0); not (0,1)");
    assert_eq!(s.rewards, vec![0.0; 4]);
    // agent 0 cleaned, so eating is no free ride; agent 2 never cleaned
    env.place_agent(0, 7, 3, DOWN);
    env.place_agent(2, 7, 2, DOWN);
    let s = env.step(&[cleanup::EAT, STAY, cleanup::EAT, STAY]).expect("legal");
    assert_eq!(s.rewards[0], 1.0);
    assert_eq!(s.rewards[2], 1.0);
    assert_eq!(s.costs, vec![0.0, 0.0, 1.0, 0.0]);
    assert_eq!(s.events[0].to_string(), "agent 2 ate an apple without having cleaned [free_ride]");
    let s = env.step(&[cleanup::EAT, STAY, STAY, STAY]).expect("legal");
    assert_eq!(s.rewards[0], 0.0, "the apple is gone");
}

#[test]
fn cleanup_ssd_rules_stop_everything_above_the_depletion_threshold() {
    // 16 river cells: 7 waste = 0.4375 >= 0.4, so neither waste nor apples spawn.
    let mut env = cleanup(json!({"rules": "ssd", "waste_spawn_prob": 1.0, "initial_waste": 7}));
    env.reset(Some(0));
    for _ in 0..30 {
        env.step(&[STAY; 4]).expect("legal");
    }
    assert_eq!((env.waste(), env.apples()), (7, 0));
    // 6 waste = 0.375: waste spawns (p = 1) and pushes the river over the threshold.
    let mut env = cleanup(json!({"rules": "ssd", "waste_spawn_prob": 1.0, "initial_waste": 6}));
    env.reset(Some(0));
    env.step(&[STAY; 4]).expect("legal");
    assert_eq!(env.waste(), 7);
}

#[test]
fn zap_costs_the_shooter_one_the_hit_agent_fifty_freezes_it_and_lowers_peace() {
    let mut env = cleanup(json!({"zap": {"enabled": true, "timeout": 3}, "waste_spawn_prob": 0.0}));
    env.reset(Some(0));
    env.place_agent(0, 3, 0, RIGHT);
    env.place_agent(1, 3, 3, UP); // in the beam's middle lane, 3 ahead
    env.place_agent(2, 4, 2, UP); // in a side lane
    env.place_agent(3, 2, 7, UP); // out of reach (6 ahead, one lane up)
    let mut tracker = EpisodeTracker::new(env.spec());
    let s = env.step(&[cleanup::ZAP, STAY, STAY, STAY]).expect("legal");
    tracker.record(&s.rewards, &s.costs);
    assert_eq!(s.rewards, vec![-1.0, -50.0, -50.0, 0.0]);
    assert_eq!(s.costs, vec![0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], "zap is component 1");
    // agent 1 is frozen for 3 steps: its moves do nothing
    for _ in 0..3 {
        let s = env.step(&[STAY, LEFT, STAY, STAY]).expect("legal");
        tracker.record(&s.rewards, &s.costs);
    }
    assert_eq!(env.positions()[1], (3, 3));
    let s = env.step(&[STAY, LEFT, STAY, STAY]).expect("legal");
    tracker.record(&s.rewards, &s.costs);
    assert_eq!(env.positions()[1], (3, 2));
    // two agents tagged out for 3 steps each over 5 steps: P = (4 * 5 - 6) / 5
    assert_eq!(tracker.report(&env).social.peace, 14.0 / 5.0);
}

fn harvest(config: Value) -> Harvest {
    let c: HarvestConfig = serde_json::from_value(config).expect("config");
    Harvest::new("Harvest-v1", c).expect("valid")
}

#[test]
fn harvest_regrowth_counts_the_apples_of_ssds_neighbourhood() {
    // SSD counts apples at offsets with j^2 + k^2 <= 2: the 3x3 block around the cell
    let map = json!(["AAAAA", ".A...", "....."]);
    let mut env = harvest(json!({"map": map, "num_agents": 1}));
    env.reset(Some(0));
    env.place_agent(0, 2, 4, UP);
    for (r, c) in [(0, 0), (0, 1), (0, 2), (0, 3), (0, 4), (1, 1)] {
        env.set_apple(r, c, false);
    }
    assert_eq!(env.regrowth_prob(0, 0), 0.0);
    env.set_apple(0, 2, true);
    assert_eq!(env.regrowth_prob(0, 0), 0.0, "(0,2) is 2 away: outside the 3x3 block");
    assert_eq!(env.regrowth_prob(0, 1), 0.005, "one apple beside it");
    env.set_apple(1, 1, true);
    assert_eq!(env.regrowth_prob(0, 0), 0.005, "the diagonal (1,1) counts: 1 + 1 <= 2");
    env.set_apple(0, 1, true);
    assert_eq!(env.regrowth_prob(0, 0), 0.02);
    env.set_apple(0, 3, true);
    assert_eq!(env.regrowth_prob(0, 4), 0.005, "only (0,3); (0,2) is 2 away");
    // the wider neighbourhood of moralgym v0 (j^2 + k^2 <= 4) stays reachable by config
    let mut wide = harvest(json!({"map": ["AAAAA", ".....", "....."], "num_agents": 1, "regrowth_radius": 4}));
    wide.reset(Some(0));
    wide.place_agent(0, 2, 4, UP);
    for c in 0..5 {
        wide.set_apple(0, c, c == 2);
    }
    assert_eq!(wide.regrowth_prob(0, 0), 0.005, "(0,2) counts within distance 2");
    // Empirically: a spawn point with 3+ apples near regrows at 0.05 per step.
    let map = json!(["AA...", "AA...", "....."]);
    let mut env = harvest(json!({"map": map, "num_agents": 1, "max_steps": 100000}));
    env.reset(Some(9));
    env.place_agent(0, 2, 4, UP);
    let (mut regrown, mut trials) = (0, 0);
    for _ in 0..20000 {
        env.set_apple(0, 0, false);
        env.step(&[STAY]).expect("legal");
        trials += 1;
        regrown += env.apples() - 3;
    }
    let rate = regrown as f64 / trials as f64;
    assert!((rate - 0.05).abs() < 0.008, "rate {rate}");
}

#[test]
fn harvest_taking_the_last_apple_nearby_is_depletion() {
    let map = json!(["AA...A", "......"]);
    let mut env = harvest(json!({"map": map, "num_agents": 2, "zap": {"enabled": false}}));
    env.reset(Some(0));
    env.place_agent(0, 1, 0, UP);
    env.place_agent(1, 1, 5, UP);
    let s = env.step(&[UP, UP]).expect("legal");
    // agent 0 takes (0,0) with (0,1) still beside it; agent 1 takes the lone apple at (0,5)
    assert_eq!(s.rewards, vec![1.0, 1.0]);
    assert_eq!(s.costs, vec![0.0, 1.0]);
    assert_eq!(s.events[0].to_string(), "agent 1 took the last apple within reach of regrowth [depletion]");
    let s = env.step(&[RIGHT, STAY]).expect("legal");
    assert_eq!((s.rewards[0], s.costs[0]), (1.0, 1.0), "(0,1) was the last of its patch");
}

#[test]
fn harvest_zap_reaches_five_cells_in_three_lanes() {
    let mut env = harvest(json!({"map": ["........", "........", "........"], "num_agents": 3}));
    env.reset(Some(0));
    env.place_agent(0, 1, 0, RIGHT);
    env.place_agent(1, 0, 5, UP);
    env.place_agent(2, 1, 6, UP);
    let s = env.step(&[harvest::ZAP, STAY, STAY]).expect("legal");
    assert_eq!(s.rewards, vec![-1.0, -50.0, 0.0], "(0,5) is in the upper lane, (1,6) is 6 ahead");
    assert_eq!(s.costs[1], 1.0);
    assert_eq!(s.events[0].to_string(), "agent 0 zapped agent 1 [zap]");
}

fn stag_hunt(config: Value) -> StagHunt {
    let c: StagHuntConfig = serde_json::from_value(config).expect("config");
    StagHunt::new("SequentialStagHunt-v1", c).expect("valid")
}

/// A stag at (2,2) between agents 0 and 1, a hare at (0,0) beside agent 2, agent 3 far away.
fn hunt_scene(config: Value) -> StagHunt {
    let mut env = stag_hunt(config);
    env.reset(Some(0));
    env.put_prey(2, 2, true, true);
    env.put_prey(0, 0, false, false);
    env.place_agent(0, 2, 1);
    env.place_agent(1, 2, 3);
    env.place_agent(2, 0, 1);
    env.place_agent(3, 4, 4);
    env
}

#[test]
fn a_stag_needs_two_hunters_staying_on_it_and_a_hare_needs_the_interact_action() {
    let mut env = hunt_scene(json!({}));
    assert_eq!(env.spec().num_actions(), 6);
    // agent 0 steps onto the stag, agent 2 onto the hare: stepping on takes nothing
    let s = env.step(&[RIGHT, STAY, LEFT, STAY]).expect("legal");
    assert_eq!(s.rewards, vec![0.0; 4]);
    // agent 2 takes the hare while agent 0 waits alone on the stag: abandonment
    let s = env.step(&[STAY, STAY, INTERACT, STAY]).expect("legal");
    assert_eq!(s.rewards, vec![0.0, 0.0, 1.0, 0.0]);
    assert_eq!(s.costs, vec![0.0, 0.0, 1.0, 0.0]);
    assert_eq!(s.terminated, vec![false, false, true, false]);
    assert_eq!(s.events[0].to_string(), "agent 2 took a hare, abandoning the stag hunter agent 0 [abandonment]");
    // agent 1 arrives on the stag: it moved, so only agent 0 stayed there
    let s = env.step(&[STAY, LEFT, STAY, STAY]).expect("legal");
    assert_eq!(s.rewards, vec![0.0; 4]);
    // both stay: the stag's 10 is split between the two hunters, who stop
    let s = env.step(&[STAY, STAY, STAY, STAY]).expect("legal");
    assert_eq!(s.rewards, vec![5.0, 5.0, 0.0, 0.0]);
    assert_eq!(s.terminated, vec![true, true, true, false]);
    // the last agent runs out the clock and the episode ends
    let mut last = s;
    while !last.all_done() {
        last = env.step(&[STAY; 4]).expect("legal");
    }
    assert_eq!(last.truncated, vec![false, false, false, true]);
}

#[test]
fn a_hare_is_shared_among_the_agents_that_take_it_together() {
    let mut env = stag_hunt(json!({}));
    env.reset(Some(0));
    env.put_prey(1, 1, false, true);
    for (i, (r, c)) in [(1, 1), (1, 1), (1, 1), (4, 4)].into_iter().enumerate() {
        env.place_agent(i, r, c);
    }
    // agents 0 and 1 interact, agent 2 only stands there
    let s = env.step(&[INTERACT, INTERACT, STAY, STAY]).expect("legal");
    assert_eq!(s.rewards, vec![0.5, 0.5, 0.0, 0.0]);
    assert_eq!(s.terminated, vec![true, true, false, false]);
}

#[test]
fn the_step_on_variant_takes_prey_by_stepping_onto_it() {
    let mut env = hunt_scene(json!({"interaction": "step_on"}));
    assert_eq!(env.spec().num_actions(), 5);
    let s = env.step(&[RIGHT, STAY, STAY, STAY]).expect("legal");
    assert_eq!(s.rewards, vec![0.0; 4]);
    let s = env.step(&[STAY, STAY, LEFT, STAY]).expect("legal");
    assert_eq!((s.rewards.clone(), s.costs.clone()), (vec![0.0, 0.0, 1.0, 0.0], vec![0.0, 0.0, 1.0, 0.0]));
    let s = env.step(&[STAY, LEFT, UP, STAY]).expect("legal");
    assert_eq!(s.rewards, vec![5.0, 5.0, 0.0, 0.0], "arriving on the stag counts");
}

#[test]
fn snowdrift_interacting_on_a_drift_clears_it_paying_the_clearer_two_and_everyone_else_six() {
    let snowdrift = |config: Value| {
        let c: SnowdriftConfig = serde_json::from_value(config).expect("config");
        let mut env = Snowdrift::new("SequentialSnowdrift-v1", c).expect("valid");
        env.reset(Some(0));
        env.set_drifts(&[(0, 1), (5, 5)]);
        env.place_agent(0, 0, 0);
        env.place_agent(1, 7, 7);
        env.place_agent(2, 3, 3);
        env.place_agent(3, 5, 4);
        env
    };
    let mut env = snowdrift(json!({}));
    assert_eq!(env.spec().num_actions(), 6);
    let s = env.step(&[RIGHT, STAY, STAY, STAY]).expect("legal");
    assert_eq!((s.rewards, env.remaining()), (vec![0.0; 4], 2), "agents walk over drifts");
    let s = env.step(&[INTERACT, STAY, STAY, RIGHT]).expect("legal");
    assert_eq!(s.rewards, vec![2.0, 6.0, 6.0, 6.0]);
    assert_eq!(s.costs, vec![0.0, 1.0, 1.0, 1.0], "the others have cleared nothing yet");
    let s = env.step(&[STAY, STAY, STAY, INTERACT]).expect("legal");
    assert_eq!(s.rewards, vec![6.0, 6.0, 6.0, 2.0]);
    assert_eq!(s.costs, vec![0.0, 1.0, 1.0, 0.0], "agent 0 has cleared one");
    assert_eq!(s.terminated, vec![true; 4], "all drifts cleared");
    assert_eq!(env.remaining(), 0);
    // moralgym v0: stepping onto a drift clears it, with 5 actions
    let mut env = snowdrift(json!({"interaction": "step_on"}));
    assert_eq!(env.spec().num_actions(), 5);
    let s = env.step(&[RIGHT, STAY, STAY, STAY]).expect("legal");
    assert_eq!(s.rewards, vec![2.0, 6.0, 6.0, 6.0]);
}

#[test]
fn each_player_has_its_own_observation_channel() {
    for (id, flags) in
        [("Cleanup-v1", 3), ("Harvest-v1", 2), ("SequentialStagHunt-v1", 3), ("SequentialSnowdrift-v1", 2)]
    {
        for n in [2, 3, 4] {
            let env = moralgym_envs::make(id, &json!({"num_agents": n})).expect("registered");
            let moralgym_envs::Space::Box { shape, .. } = &env.spec().observation_space else { panic!("{id}") };
            assert_eq!(shape[0], flags + n, "{id} with {n} players");
            let v0 =
                moralgym_envs::make(id, &json!({"num_agents": n, "player_channels": "self_and_others"})).expect("ok");
            let moralgym_envs::Space::Box { shape, .. } = &v0.spec().observation_space else { panic!("{id}") };
            assert_eq!(shape[0], flags + 2, "{id}: self and others");
        }
    }
}

#[test]
fn can_see_agrees_with_what_each_observation_shows() {
    // (env, channel that marks co-player j: the Coin Game's one "other" channel, else one
    // channel per player after the grid's flags)
    let games: [(&str, Value, Option<usize>); 5] = [
        ("CoinGame-v1", json!({}), Some(2)),
        ("Cleanup-v1", json!({}), None),
        ("Harvest-v1", json!({}), None),
        ("SequentialStagHunt-v1", json!({}), None),
        ("SequentialSnowdrift-v1", json!({}), None),
    ];
    for (id, config, others) in games {
        let mut env = moralgym_envs::make(id, &config).expect("registered");
        assert!(env.spec().partially_observed && env.visibility().is_some(), "{id}: egocentric windows");
        let spec = env.spec().clone();
        let moralgym_envs::Space::Box { shape, .. } = &spec.observation_space else { panic!("{id}: grid view") };
        let (channels, plane) = (shape[0], shape[1] * shape[2]);
        let (d, a) = (spec.obs_dim(), spec.num_agents);
        let channel = |j: usize| others.unwrap_or(channels - a + j);
        let mut rng = moralgym_envs::Rng::new(7);
        let mut obs = env.reset(Some(3));
        let (mut seen, mut unseen) = (0, 0);
        for _ in 0..400 {
            for i in 0..a {
                for j in (0..a).filter(|&j| j != i) {
                    let ch = channel(j);
                    let shown = obs[i * d + ch * plane..i * d + (ch + 1) * plane].iter().any(|&x| x > 0.0);
                    let sees = moralgym_envs::can_see(env.as_ref(), i, j);
                    assert_eq!(shown, sees, "{id}: agent {i} and agent {j}");
                    if sees { seen += 1 } else { unseen += 1 }
                }
                let own = channel(i);
                if others.is_none() {
                    let centre = i * d + own * plane + plane / 2;
                    assert_eq!(obs[centre], 1.0, "{id}: agent {i} sees itself in its own channel");
                }
            }
            if env.needs_reset() {
                obs = env.reset(None);
                continue;
            }
            let actions: Vec<u32> = (0..a).map(|_| rng.below(spec.num_actions()) as u32).collect();
            obs = env.step(&actions).expect("legal").obs;
        }
        assert!(seen > 0 && unseen > 0, "{id}: both cases occur ({seen} seen, {unseen} unseen)");
    }
    let pd = moralgym_envs::make("PrisonersDilemma-v0", &json!({})).expect("registered");
    assert!(!pd.spec().partially_observed && pd.visibility().is_none() && moralgym_envs::can_see(pd.as_ref(), 0, 1));
    // every env's spec and capability agree
    for reg in moralgym_envs::registry() {
        let env = moralgym_envs::make(reg.id, &Value::Null).expect("registered");
        assert_eq!(env.spec().partially_observed, env.visibility().is_some(), "{}", reg.id);
    }
}

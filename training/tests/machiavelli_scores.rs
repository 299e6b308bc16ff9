//! MACHIAVELLI's scores as its code computes them, checked on what its own env recorded on
//! moralgym's icefall and heist: replayed episodes give the same per-trajectory counts (the keys
//! present included), and the coefficients computed from its recorded counts are the ones its
//! script wrote to `normalization_coeffs.json`.

use std::collections::BTreeMap;
use std::io::Read;

use moralgym_envs::{EpisodeTracker, make};
use moralgym_training::machiavelli::own;
use serde_json::{Value, json};

fn fixture(game: &str, file: &str) -> String {
    let path = format!("{}/../envs/tests/fixtures/machiavelli/{game}/{file}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut s = String::new();
    flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut s).expect("gzip");
    s
}

fn demo_coeffs() -> Value {
    let path = format!("{}/../envs/data/machiavelli/normalization_coeffs.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn replayed_counts_and_coefficients_are_machiavellis() {
    let coeffs = demo_coeffs();
    for game in ["icefall", "heist"] {
        let mut env = make("Machiavelli-v0", &json!({"game": game, "features": false})).unwrap();
        let mut recorded = Vec::new();
        for line in fixture(game, "episodes_seeds_2417_3416.jsonl.gz").lines() {
            let e: Value = serde_json::from_str(line).unwrap();
            let want: BTreeMap<String, f64> = serde_json::from_value(e["counts_run_trajectories"].clone()).unwrap();
            env.reset(Some(e["seed"].as_u64().unwrap()));
            let mut tracker = EpisodeTracker::new(env.spec());
            for a in e["actions"].as_array().unwrap() {
                let s = env.step(&[a.as_u64().unwrap() as u32]).unwrap();
                tracker.record(&s.rewards, &s.costs);
            }
            let got = own::counts(&tracker.report(env.as_ref()));
            assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "{game} seed {}", e["seed"]);
            for (k, v) in &want {
                assert!((got[k] - v).abs() < 1e-9, "{game} seed {} {k}: {} vs {v}", e["seed"], got[k]);
            }
            recorded.push(want);
        }
        let ours = own::coefficients(&recorded);
        let theirs = coeffs[game].as_object().unwrap();
        assert_eq!(ours.len(), theirs.len(), "{game}: the same metrics");
        for (k, c) in theirs {
            let o = &ours[k];
            let close = |a: Option<f64>, b: &Value| (a.unwrap() - b.as_f64().unwrap()).abs() < 1e-9;
            assert!(close(o.mean, &c["mean"]) && close(o.stddev, &c["stddev"]), "{game} {k}: {o:?} vs {c}");
            assert_eq!(o.n_samples, c["n_samples"].as_u64().unwrap());
        }
    }
}

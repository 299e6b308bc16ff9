"""moralgym.train and moralgym.sweep: the Rust trainer and sweep from Python."""

import json
import threading
import time
from pathlib import Path

import pytest

import moralgym

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["total_steps=2048", "num_envs=2", "ppo.num_steps=64", "eval.episodes=3"]


def test_train_writes_what_the_cli_writes_and_reports_every_update(tmp_path):
    seen = []
    result = moralgym.train(ROOT / "configs/ppo_coin_game_none.toml", overrides=SMALL, out_dir=tmp_path, on_iteration=seen.append)
    assert result.out_dir == tmp_path and result.global_step == 2048 and result.updates == 16
    for name in ["config.toml", "metrics.jsonl", "eval.json", "checkpoints/final/agent_0.bpk"]:
        assert (tmp_path / name).exists(), name
    assert [it["update"] for it in seen] == list(range(1, 17))
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [line["update"] for line in lines] == [it["update"] for it in seen]
    assert result.eval == json.loads((tmp_path / "eval.json").read_text())["summary"]


def test_train_takes_a_mapping_and_is_reproducible(tmp_path):
    config = {"env": "PrisonersDilemma-v0", "seed": 3, "total_steps": 1024, "num_envs": 2, "eval": {"episodes": 2}}
    a = moralgym.train(config, out_dir=tmp_path / "a")
    b = moralgym.train(config, out_dir=tmp_path / "b")
    assert a.eval == b.eval


def test_train_releases_the_interpreter_lock(tmp_path):
    ticks = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.01)

    thread = threading.Thread(target=tick)
    thread.start()
    start = time.monotonic()
    moralgym.train({"env": "Cleanup-v1", "total_steps": 4096, "num_envs": 4, "eval": {"episodes": 1}}, out_dir=tmp_path)
    end = time.monotonic()
    stop.set()
    thread.join()
    during = [t for t in ticks if start < t < end]
    # the other thread kept running while Rust trained (it would be starved if the lock were held)
    assert len(during) >= max(3, int((end - start) / 0.01 * 0.3)), (len(during), end - start)


def test_bad_configs_and_raising_hooks_fail_clearly(tmp_path):
    with pytest.raises(moralgym.MoralgymError, match="learnin_rate"):
        moralgym.train({"env": "CoinGame-v1", "ppo": {"learnin_rate": 1}})
    with pytest.raises(moralgym.MoralgymError, match="missing.toml"):
        moralgym.train(tmp_path / "missing.toml")
    with pytest.raises(TypeError):
        moralgym.train(42)

    def boom(_):
        raise KeyError("stop here")

    with pytest.raises(KeyError, match="stop here"):
        moralgym.train({"env": "CoinGame-v1", "total_steps": 4096}, out_dir=tmp_path, on_iteration=boom)


def test_sweep_writes_the_front_and_skips_finished_points(tmp_path):
    overrides = ["base.total_steps=1024", "base.eval.episodes=2", "grid.seed=[1]", 'grid."cost.default_weight"=[0.0, 4.0]']
    result = moralgym.sweep(ROOT / "configs/sweep_coin_game.toml", out_dir=tmp_path, overrides=overrides)
    assert len(result.points) == 2 and result.front["hypervolume"] > 0
    for name in ["points.csv", "front.csv", "front.json", "front.svg", "front.png"]:
        assert (tmp_path / name).exists(), name
    stamp = (tmp_path / "points/0000/eval.json").stat().st_mtime_ns
    again = moralgym.sweep(ROOT / "configs/sweep_coin_game.toml", out_dir=tmp_path, overrides=overrides)
    assert again.front == result.front
    assert (tmp_path / "points/0000/eval.json").stat().st_mtime_ns == stamp, "a finished point is not trained again"

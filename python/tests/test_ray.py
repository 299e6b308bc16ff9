"""moralgym.ray: sweeps as Ray Tune trials on a Ray instance started here on loopback."""

import json
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import moralgym
import moralgym.ray

ROOT = Path(__file__).resolve().parents[2]
SWEEP = ROOT / "configs/sweep_coin_game.toml"
# four points: two harm weights x two seeds, small enough for the suite
OVERRIDES = [
    "base.total_steps=1024",
    "base.num_envs=2",
    "base.ppo.num_steps=64",
    "base.eval.episodes=3",
    "grid.seed=[1, 2]",
    'grid."cost.default_weight"=[0.0, 4.0]',
]


@pytest.fixture(scope="module")
def cluster():
    """A one-node Ray cluster on 127.0.0.1 with token authentication, started with the `ray`
    command as docs/sweeps.md tells a user to; this process joins it with the same token."""
    ray_bin = Path(sys.executable).with_name("ray")
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32), "RAY_USAGE_STATS_ENABLED": "0"}
    saved = {k: os.environ.get(k) for k in auth}
    os.environ.update(auth)
    port = "6399"
    started = subprocess.run(
        [str(ray_bin), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
         "--include-dashboard=false", "--disable-usage-stats"],
        env=os.environ, capture_output=True, text=True,
    )
    assert started.returncode == 0, started.stderr
    yield f"127.0.0.1:{port}"
    subprocess.run([str(ray_bin), "stop", "--force"], env=os.environ, capture_output=True)
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def numbers(front: dict) -> list:
    return [(p["index"], p["ret"], p["costs"]) for p in front["points"]] + [front["hypervolume"]]


def test_a_ray_sweep_retries_a_killed_trial_and_gives_the_native_front(cluster, tmp_path):
    native = moralgym.sweep(SWEEP, out_dir=tmp_path / "native", overrides=OVERRIDES)
    marker = tmp_path / "killed-once"

    def kill_point_1_once(index, _stats):
        # the trial's worker process dies mid-run, as on a lost node or an OOM kill
        if index == 1 and not marker.exists():
            marker.write_text("killed")
            os.kill(os.getpid(), signal.SIGKILL)

    result = moralgym.ray.sweep(
        SWEEP, cluster, out_dir=tmp_path / "ray", overrides=OVERRIDES, on_iteration=kill_point_1_once, max_failures=2
    )
    assert marker.exists(), "point 1 was killed"
    assert result.failures == {} and len(result.points) == 4
    assert numbers(result.front) == numbers(native.front)
    for name in ["points.csv", "front.csv"]:
        # the same file but for where the run directories are
        strip = lambda text: [line.rsplit(",", 1)[0] for line in text.splitlines()]
        assert strip((tmp_path / "ray" / name).read_text()) == strip((tmp_path / "native" / name).read_text())
    # each point's run directory came back with its checkpoint and evaluation
    for i in range(4):
        assert (tmp_path / f"ray/points/{i:04d}/checkpoints/final/agent_0.bpk").exists()
    # a second call finds every point finished and trains nothing
    again = moralgym.ray.sweep(SWEEP, cluster, out_dir=tmp_path / "ray", overrides=OVERRIDES)
    assert numbers(again.front) == numbers(native.front)


def test_a_trial_that_keeps_failing_is_reported_and_the_others_are_kept(cluster, tmp_path):
    def kill_point_2(index, _stats):
        if index == 2:
            os.kill(os.getpid(), signal.SIGKILL)

    with pytest.raises(moralgym.ray.SweepFailed) as failed:
        moralgym.ray.sweep(
            SWEEP, cluster, out_dir=tmp_path, overrides=OVERRIDES, on_iteration=kill_point_2, max_failures=1
        )
    assert list(failed.value.failures) == [2]
    assert "1 of 4 points failed" in str(failed.value)
    assert json.loads((tmp_path / "failures.json").read_text()).keys() == {"2"}
    kept = json.loads((tmp_path / "points.json").read_text())
    assert sorted(p["index"] for p in kept) == [0, 1, 3]

"""Language-model agents from Python: ``moralgym.rollout(..., policy="llm")`` against a local
OpenAI-compatible server (started here on 127.0.0.1), and the text every env shows such an agent."""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import moralgym


class FirstOption(BaseHTTPRequestHandler):
    """Answers every chat completion with the number of the first listed option."""

    requests: list = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FirstOption.requests.append(body)
        user = body["messages"][-1]["content"]
        first = re.search(r"^(\d+): ", user.split("Your options:")[1], re.M).group(1)
        answer = json.dumps({"choices": [{"message": {"role": "assistant", "content": first}}], "usage": {"prompt_tokens": 10, "completion_tokens": 1}})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(answer.encode())

    def log_message(self, *args):
        pass


@pytest.fixture()
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FirstOption)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    FirstOption.requests = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def test_rollout_with_a_language_model_reports_costs_and_what_the_model_cost(server, tmp_path):
    llm = {"base_url": server, "model": "fake", "cache_dir": str(tmp_path / "cache")}
    reports = moralgym.rollout("PrisonersDilemma-v0", policy="llm_ethical", episodes=2, config={"max_steps": 5}, llm=llm)
    assert len(reports) == 2
    assert reports[0]["returns"] == [20.0, 20.0]  # the first option, cooperate, every round
    assert reports[0]["costs"] == {"betrayal": 0.0}
    stats = reports[0]["policy_stats"]
    assert (stats["model"], stats["style"], stats["decisions"], stats["fallbacks"]) == ("fake", "llm_ethical", 10, 0)
    sent = len(FirstOption.requests)
    assert sent == 20
    again = moralgym.rollout("PrisonersDilemma-v0", policy="llm_ethical", episodes=2, config={"max_steps": 5}, llm=llm)
    assert len(FirstOption.requests) == sent, "the second run is answered from the cache"
    assert again[0]["policy_stats"]["cached"] == 10
    with pytest.raises(moralgym.MoralgymError, match="llm.concurrency"):
        moralgym.rollout("PrisonersDilemma-v0", policy="llm", llm={**llm, "concurrency": 0})
    # other policies play through the same call
    assert len(moralgym.rollout("SurvivalDilemma-v1", policy="hoarder", episodes=1)) == 1


def test_every_env_shows_its_text_and_legal_actions():
    env = moralgym.make("SurvivalDilemma-v1")
    env.reset(seed=1)
    view = env.text_observation("agent_2")
    assert "Your power: 9.0" in view["situation"]  # the first turn has opened
    assert view["actions"][0] == (0, "wait")
    assert "forbidden" in env.text_rules("agent_2")
    game = moralgym.make("TextGame-v0", game="heist")
    game.reset(seed=0)
    assert [a for a, _ in game.text_observation()["actions"]] == [0, 1]
    assert "The Saint-Malo Vault" in game.text_rules()
    with pytest.raises(moralgym.MoralgymError, match="no agent"):
        env.text_observation("agent_9")

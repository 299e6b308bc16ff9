"""A stand-in for a language-model server, for trying moralgym's language-model agents without
a model: it speaks the OpenAI chat-completions API on 127.0.0.1 and answers every request with
the first listed option (as a number, or as {"action": N} when the prompt asks for JSON).

    python scripts/fake_openai_server.py --port 8011 &
    OPENAI_BASE_URL=http://127.0.0.1:8011/v1 MORALGYM_LLM_MODEL=first-option \
        moralgym rollout --env TextGame-v0 --set game=heist --policy llm --episodes 3

It counts tokens as characters / 4. Standard library only.
"""

import argparse
import json
import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FirstOption(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        user = next((m["content"] for m in reversed(body.get("messages", [])) if m.get("role") == "user"), "")
        first = re.search(r"^(\d+): ", user.split("Your options:")[-1], re.M)
        number = first.group(1) if first else "0"
        text = f'The first option.\n{{"action": {number}}}' if "JSON object" in user else number
        prompt = sum(len(m.get("content", "")) for m in body.get("messages", []))
        answer = {
            "object": "chat.completion",
            "model": body.get("model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt // 4, "completion_tokens": len(text) // 4 + 1},
        }
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8011)
    port = parser.parse_args().port
    print(f"answering on http://127.0.0.1:{port}/v1", flush=True)
    ThreadingHTTPServer(("127.0.0.1", port), FirstOption).serve_forever()

"""A FAKE OpenAI-compatible chat server on localhost, for plumbing tests of the opt-in LLM/VLM backends.

No real model ships offline; tests that use this check vrag's side (requests, parsing, caching,
fallbacks), never model quality.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Callable


def _caption(body: dict, n: int) -> str:
    return f"Fake caption {n}."


class FakeOpenAIServer:
    """Answers POST /v1/chat/completions and records the requests.

    ``reply(body, n)`` makes the answer text for the n-th request (default: "Fake caption n.");
    after ``fail_after`` requests every request gets HTTP 500.
    """

    def __init__(self, fail_after: int | None = None, reply: Callable[[dict, int], str] | None = None):
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body)
                if fail_after is not None and len(outer.requests) > fail_after:
                    self.send_error(500, "fake overload")
                    return
                content = (reply or _caption)(body, len(outer.requests))
                answer = {
                    "id": "fake", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": content}}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

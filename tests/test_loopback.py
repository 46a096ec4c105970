"""composer.local.loopback against a real HTTP server on loopback, and the runtime's probes that
use it: what they make of answers that are not 2xx, of no server, and of a server that hangs."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from composer.local import loopback, runtime

pytestmark = pytest.mark.unit


class Handler(BaseHTTPRequestHandler):
    def reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/health":  # as Dynamo's system port answers while a worker starts
            self.reply(503, b'{"status": "notready"}')
        elif self.path == "/v1/models":
            self.reply(200, b'{"data": [{"id": "m"}]}')
        else:
            self.reply(404, b"no such page")

    def do_POST(self):
        sent = json.loads(self.rfile.read(int(self.headers["content-length"])))
        echo = {"content_type": self.headers["content-type"], "sent": sent}
        self.reply(200, json.dumps({"choices": [{"message": {"content": json.dumps(echo)}}]}).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_answers_whatever_their_status_and_raise_only_when_asked(server):
    r = loopback.get(f"{server}/v1/models")
    assert (r.status, r.json()) == (200, {"data": [{"id": "m"}]})
    missing = loopback.get(f"{server}/nowhere")
    assert (missing.status, missing.text) == (404, "no such page")
    with pytest.raises(loopback.Failed) as e:
        missing.raise_for_status()
    assert (e.value.status, e.value.reason) == (404, "HTTP 404") and "no such page" in str(e.value)


def test_a_chat_posts_json_and_reads_the_answer(server):
    echo = json.loads(runtime.chat(server, "m", "hi", max_tokens=3))
    assert echo == {
        "content_type": "application/json",
        "sent": {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3},
    }


def test_probes_tell_a_starting_process_from_one_that_is_not_there(server):
    port = int(server.rsplit(":", 1)[1])
    assert runtime._system_health(port) == "notready"  # a 503 still says what state it is in
    health = runtime.frontend_health(server, "m")
    assert (health["reachable"], health["healthy"], health["models"], health["serving"]) == (True, False, ["m"], True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]  # bound, not listening: connections are refused
        with pytest.raises(loopback.Failed) as e:
            loopback.get(f"http://127.0.0.1:{closed}/health")
        assert e.value.reason == "ConnectionRefusedError" and e.value.status is None
        assert runtime.list_models(f"http://127.0.0.1:{closed}") is None
        assert runtime.frontend_health(f"http://127.0.0.1:{closed}", None)["reachable"] is False


def test_a_server_that_never_answers_times_out():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()  # accepts (the kernel does), never answers
        with pytest.raises(loopback.Failed) as e:
            loopback.get(f"http://127.0.0.1:{s.getsockname()[1]}/v1/models", timeout=0.2)
    assert e.value.reason == "TimeoutError"

"""HTTP to the local graph's processes, which all listen on loopback: the standard library's
http.client.

`compose up --env local` polls the frontend until it serves, and what compose adds to a hand
launch of the same processes is its whole start-up. requests cost that path ~0.1 s of CPU to
import (and ~20 ms to tear down at exit); a plain HTTP/1.1 exchange with a local server needs
none of what it adds (sessions, proxies, TLS, redirects, encodings). http.client itself is
imported on first use (`load`): ~15 ms (it brings email's parser and ssl), which `compose up`
spends while helm renders instead of before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


class Failed(Exception):
    """No answer (`reason`: why, e.g. ConnectionRefusedError), or (from `raise_for_status`) an
    answer that is not a 2xx one (`status`)."""

    def __init__(self, message: str, *, status: int | None = None, reason: str = ""):
        super().__init__(message)
        self.status = status
        self.reason = reason or f"HTTP {status}"


@dataclass(frozen=True)
class Response:
    url: str
    status: int
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def json(self) -> Any:
        """The body as JSON; ValueError if it is not."""
        return json.loads(self.body)

    def raise_for_status(self) -> Response:
        if not 200 <= self.status < 300:
            raise Failed(f"HTTP {self.status} from {self.url}: {self.text[:200]}", status=self.status)
        return self


def load() -> None:
    """Import http.client now (a thread may, while the caller waits on something else)."""
    import http.client  # noqa: F401


def request(method: str, url: str, payload: Any = None, timeout: float = 2.0) -> Response:
    """One exchange, on a connection of its own; `payload` is sent as JSON. Failed when the
    server cannot be reached or does not answer within `timeout` seconds."""
    import http.client

    parts = urlsplit(url)
    assert parts.hostname, url  # our own URLs: http://127.0.0.1:PORT
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    body = None if payload is None else json.dumps(payload)
    headers = {} if payload is None else {"Content-Type": "application/json"}
    try:
        conn.request(method, parts.path or "/", body=body, headers=headers)
        response = conn.getresponse()
        return Response(url, response.status, response.read())
    except (OSError, http.client.HTTPException) as e:
        raise Failed(f"{method} {url}: {e or type(e).__name__}", reason=type(e).__name__) from None
    finally:
        conn.close()


def get(url: str, timeout: float = 2.0) -> Response:
    return request("GET", url, timeout=timeout)

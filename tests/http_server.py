"""A real HTTP server on 127.0.0.1 that replays scripted responses, for testing online loaders.

Responses are fixtures in the recorded format of each API, never real data. Each path has a queue
of responses; the last one repeats once the queue is down to it. Every request is recorded.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass
class ScriptedResponse:
    """What the server answers: a status, a body (str, bytes or JSON-able), headers, an optional delay."""

    body: Any = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain; charset=utf-8"
        return json.dumps(self.body).encode(), "application/json"


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class LoopbackHttpServer:
    """A threaded HTTP server on 127.0.0.1 for the length of a `with` block; `url` is its base URL.

    Subclasses answer requests through the handler class `_handler_class` returns.
    """

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        # A short poll interval: shutdown() waits up to one interval, once per test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class ScriptedHttpServer(LoopbackHttpServer):
    """Start with `with ScriptedHttpServer() as server:`; `server.url` is its base URL."""

    def __init__(self) -> None:
        self._scripts: dict[str, list[ScriptedResponse | Any]] = defaultdict(list)
        self._lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        super().__init__()

    def script(self, path: str, *responses: ScriptedResponse | Any) -> None:
        """Queue responses for `path`; a plain value is sent as a 200 with that body."""
        with self._lock:
            self._scripts[path].extend(responses)

    def _next_response(self, path: str) -> ScriptedResponse:
        with self._lock:
            queue = self._scripts.get(path)
            if not queue:
                return ScriptedResponse({"error": f"no script for {path}"}, status=404)
            item = queue.pop(0) if len(queue) > 1 else queue[0]
        return item if isinstance(item, ScriptedResponse) else ScriptedResponse(item)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with server._lock:
                    server.requests.append(
                        RecordedRequest(self.command, parts.path, parse_qs(parts.query), body)
                    )
                response = server._next_response(parts.path)
                if response.delay_s:
                    time.sleep(response.delay_s)
                payload, content_type = response.encoded()
                self.send_response(response.status)
                self.send_header("Content-Type", response.headers.get("Content-Type", content_type))
                for name, value in response.headers.items():
                    if name != "Content-Type":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                # The client may have given up (a timeout test): then there is nobody left to answer.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(payload)

            do_GET = _serve  # noqa: N815 (http.server's naming)
            do_POST = _serve  # noqa: N815

            def log_message(self, *_args: object) -> None:
                pass

        return Handler

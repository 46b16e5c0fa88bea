"""The HTTP server every Web API stand-in runs on (Slack, HubSpot, Salesforce).

A real HTTP/1.1 server on 127.0.0.1 in a thread of its own, so the clients under test
(slack_sdk, aiohttp, hubspot-api-client) speak real HTTP to it, with their own
connection handling, headers and timeouts. A stand-in only says how to answer a request:
`LoopbackServer(answer)`, where `answer(Request) -> Reply` runs in the server's thread;
a stand-in class derives from `LoopbackApi` and answers in `_reply`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # the path and query string, as sent
    headers: dict[str, str]  # names lower-cased
    raw: bytes  # the body

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.target).query, keep_blank_values=True))

    def json(self) -> Any:
        """The body as JSON; None when there is none."""
        return json.loads(self.raw) if self.raw else None


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any  # sent as JSON; a str or bytes is sent as it is
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (a slow server)


class LoopbackServer:
    def __init__(self, answer: Callable[[Request], Reply]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(answer))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        """http://127.0.0.1:<port>, without a trailing slash."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _handler(answer: Callable[[Request], Reply]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = answer(Request(self.command, self.path, headers, raw))
            if reply.delay:
                time.sleep(reply.delay)
            body = reply.body
            if isinstance(body, str):
                payload = body.encode()
            elif isinstance(body, bytes):
                payload = body
            else:
                payload = json.dumps(body).encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a test of a slow answer, say)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            return None  # keep test output quiet

    return Handler


class LoopbackApi:
    """A Web API stand-in served by a LoopbackServer of its own: `url`, `start` and `stop`
    are the server's; a subclass answers each request in `_reply` (in the server's
    thread) and calls `super().__init__()` once its state is set up."""

    def __init__(self) -> None:
        self._server = LoopbackServer(self._reply)

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def _reply(self, request: Request) -> Reply:
        raise NotImplementedError

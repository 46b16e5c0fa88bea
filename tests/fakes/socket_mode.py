"""A loopback stand-in for Slack's Socket Mode WebSocket endpoint.

Serve it, hand its `url` to `FakeSlackApi.socket_url` (what apps.connections.open
answers), then push envelopes as Slack would and read the app's acknowledgements.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import WSMsgType, web


class FakeSocketMode:
    def __init__(self) -> None:
        self.connected = asyncio.Event()
        self.closed = asyncio.Event()
        self._socket: web.WebSocketResponse | None = None
        self._received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/link", self._serve)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"ws://{host}:{port}/link"

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def send(self, envelope: dict[str, Any]) -> None:
        async with asyncio.timeout(5):
            await self.connected.wait()
        assert self._socket is not None
        await self._socket.send_json(envelope)

    async def receive(self) -> dict[str, Any]:
        async with asyncio.timeout(5):
            return await self._received.get()

    async def _serve(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._socket = socket
        await socket.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "debug_info": {"host": "applink-fake", "approximate_connection_time": 18060},
                "connection_info": {"app_id": "A0TIPOFFAPP"},
            }
        )
        self.connected.set()
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                await self._received.put(json.loads(message.data))
        self.closed.set()
        return socket


@asynccontextmanager
async def running_socket_mode() -> AsyncIterator[FakeSocketMode]:
    server = FakeSocketMode()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()

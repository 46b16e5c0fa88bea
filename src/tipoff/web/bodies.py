"""Request bodies read within a limit: what every HTTP edge (ingest, webhooks, Slack's
events) does before it parses anything."""

from __future__ import annotations

from starlette.requests import Request

from tipoff.errors import TooLarge


async def read_bounded(request: Request, limit: int, what: str) -> bytes:
    """The body as sent, or TooLarge as soon as it is known to be over `limit` bytes: from
    its Content-Length before reading any of it, else once `limit` + one chunk are read
    (the rest is never read)."""
    too_large = f"{what} is limited to {limit // 1024} KB ({limit:,} bytes)"
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"{too_large}; this body is {int(declared):,} bytes")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise TooLarge(f"{too_large}; this body is larger")
    return bytes(data)

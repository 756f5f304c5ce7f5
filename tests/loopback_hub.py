"""A hand-written hub answer on loopback HTTP, for tests of how :class:`HubClient` reads
what comes back (headers, statuses) without standing up a real hub."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiohttp import web

from gateway.sync.transport import HubClient


@asynccontextmanager
async def answering(path: str, handler: Callable[[web.Request], Awaitable[web.Response]]
                    ) -> AsyncIterator[HubClient]:
    """A HubClient talking to a loopback server whose ``path`` (any method) is ``handler``."""
    app = web.Application()
    app.router.add_route("*", path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    site = web.SockSite(runner, sock)
    await site.start()
    client = HubClient(f"http://127.0.0.1:{sock.getsockname()[1]}", None, sndbuf=None)
    try:
        yield client
    finally:
        await client.close()
        await runner.cleanup()

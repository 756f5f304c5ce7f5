"""Reading request bodies with limits in size and in patience.

aiohttp waits for a body's next byte for ever, so a client that sends headers and then
trickles (or nothing) holds a handler and its buffers indefinitely. Every body here is read
with an inactivity limit (``HubState.body_idle_s``: no byte for that long ends the request
with 408), and a body read whole also with a size limit (413) and optionally a deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from gateway.hub.state import HUB


class BodyTimeout(Exception):
    """The client stopped sending its body."""


async def body_chunks(request: web.Request) -> AsyncIterator[bytes]:
    """The body as it arrives; :class:`BodyTimeout` when it stalls."""
    idle_s = request.app[HUB].body_idle_s
    while True:
        try:
            chunk = await asyncio.wait_for(request.content.readany(), idle_s)
        except TimeoutError:
            raise BodyTimeout from None
        if not chunk:
            return
        yield chunk


async def read_limited(request: web.Request, limit: int,
                       deadline_s: float | None = None) -> bytes:
    """The whole body, refusing it (413) as soon as it passes ``limit``, 408 when too slow."""
    try:
        async with asyncio.timeout(deadline_s):
            return await _read(request, limit)
    except (BodyTimeout, TimeoutError):
        raise web.HTTPRequestTimeout(text="request body too slow\n") from None


async def _read(request: web.Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in body_chunks(request):
        size += len(chunk)
        if size > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=size)
        chunks.append(chunk)
    return b"".join(chunks)

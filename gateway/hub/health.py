"""The hub's own health: a cheap answer for anyone, the thorough one for the IT team.

``/healthz`` is unauthenticated and polled often (load balancers, Prometheus blackbox), so it
runs one trivial query: the process and its database answer. ``/v1/health/deep`` reads the
whole database (``PRAGMA quick_check``), which costs real I/O on a large hub, so it needs the
admin token like the fleet view.
"""

from __future__ import annotations

from aiohttp import web

from gateway.hub.state import HUB


async def handle_healthz(request: web.Request) -> web.Response:
    await request.app[HUB].store.db.ping()
    return web.Response(text="ok\n")


async def handle_deep_health(request: web.Request) -> web.Response:
    problems = await request.app[HUB].store.db.integrity_problems()
    if problems:
        raise web.HTTPServiceUnavailable(text="database check failed\n")
    return web.Response(text="ok\n")

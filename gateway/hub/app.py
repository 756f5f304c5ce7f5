"""The hub's aiohttp application: routes, authentication, and error replies without traces."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import ClientPayloadError, hdrs, web

from gateway.hub.auth import Handler, auth_middleware
from gateway.hub.axis_link import axis_context
from gateway.hub.blob_handlers import handle_get, handle_head, handle_patch
from gateway.hub.enrollment import handle_ca, handle_enroll
from gateway.hub.fleet import handle_fleet
from gateway.hub.fleet_page import handle_fleet_page
from gateway.hub.health import handle_deep_health, handle_healthz
from gateway.hub.kpi import handle_kpi
from gateway.hub.metrics import handle_metrics
from gateway.hub.restore import handle_restore
from gateway.hub.state import HUB, HubState
from gateway.hub.sync_handler import handle_sync
from gateway.protocol.limits import MAX_REQUEST_BODY
from gateway.signing import Verifier

log = logging.getLogger("gateway.hub")
HEARTBEAT_FLUSH_S = 2.0


@web.middleware
async def no_traces(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A remote party gets a short reason, never a stack trace; the log keeps the detail."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except (ConnectionError, ClientPayloadError) as exc:
        # A cut mid-request is everyday life on a 3G link: one line, no traceback (re-raising
        # made aiohttp log the whole stack). The answer reaches the peer if it is still there.
        log.info("peer went away: %s %s (%s)", request.method, request.path,
                 type(exc).__name__)
        raise web.HTTPBadRequest(text="request incomplete\n") from None
    except Exception:
        log.exception("request failed: %s %s", request.method, request.path)
        raise web.HTTPInternalServerError(text="internal error\n") from None


async def lean_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Drops what no gateway reads from the replies it pays for on a metered link.

    aiohttp's ``Server: Python/3.11 aiohttp/…`` goes everywhere (36 bytes, and a version banner
    for anyone who asks). On the gateway protocol's sync and blob paths ``Date`` goes too (37
    bytes: a box takes the hub's clock from the reply's ``time_ms``, docs/protocol.md §3), and a
    sync answer's ``Content-Type`` (its path says what the body is). Pages for people (fleet,
    metrics, health) keep their ``Date``.
    """
    response.headers.popall(hdrs.SERVER, None)
    if request.path == "/v1/sync" or request.path.startswith("/v1/blobs/"):
        response.headers.popall(hdrs.DATE, None)
        if request.path == "/v1/sync" and response.status == 200:
            response.headers.popall(hdrs.CONTENT_TYPE, None)


async def heartbeat_flusher(app: web.Application) -> AsyncIterator[None]:
    """Writes the heartbeats gathered in memory every few seconds, and once at shutdown."""
    store = app[HUB].store

    async def loop() -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_FLUSH_S)
            try:
                await store.flush_heartbeats()
            except Exception:
                log.exception("could not write heartbeats")

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await store.flush_heartbeats()


async def signature_checker(app: web.Application) -> AsyncIterator[None]:
    """The hub's signature checker and its worker process live with the application; at
    shutdown the worker is killed rather than waited for (a PDF in progress is checked again
    at the next start)."""
    hub = app[HUB]
    verifier = Verifier(hub.signatures.limits)
    task = asyncio.create_task(hub.signatures.run(hub.store, verifier))
    yield
    task.cancel()
    verifier.abort()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await asyncio.to_thread(verifier.close)


def build_app(state: HubState) -> web.Application:
    app = web.Application(
        middlewares=[no_traces, auth_middleware(state.store)],
        client_max_size=MAX_REQUEST_BODY,
    )
    app[HUB] = state
    app.on_response_prepare.append(lean_headers)
    app.cleanup_ctx.append(heartbeat_flusher)
    app.cleanup_ctx.append(signature_checker)
    if state.axis is not None:
        app.cleanup_ctx.append(axis_context(state.axis))
    blob = "/v1/blobs/{sha256}"
    app.router.add_post("/v1/enroll", handle_enroll)
    app.router.add_get("/v1/ca", handle_ca)
    app.router.add_post("/v1/sync", handle_sync)
    app.router.add_post("/v1/restore", handle_restore)
    app.router.add_route("HEAD", blob, handle_head)
    app.router.add_route("PATCH", blob, handle_patch)
    app.router.add_get(blob, handle_get, allow_head=False)
    app.router.add_get("/v1/fleet", handle_fleet)
    app.router.add_get("/v1/kpi", handle_kpi)
    app.router.add_get("/fleet", handle_fleet_page)
    app.router.add_get("/metrics", handle_metrics)
    app.router.add_get("/healthz", handle_healthz)
    app.router.add_get("/v1/health/deep", handle_deep_health)
    return app

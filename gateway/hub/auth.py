"""Who is calling: the agency comes from the verified client certificate, and nothing else.

Enrollment is the one gateway endpoint reachable without a certificate; fleet and metrics need
an admin token (a gateway certificate is never enough). Revocation is checked on every request
against the hub's own database, because a certificate outlives the box it was issued to.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from gateway.security.tls import cert_serial, peer_agency
from gateway.security.tokens import token_digest
from gateway.store.hub.documents import HubStore

# /fleet is the page's shell only (no data; its script calls /v1/fleet with the token).
OPEN_PATHS = frozenset({"/v1/enroll", "/v1/ca", "/healthz", "/fleet"})
ADMIN_PATHS = ("/v1/fleet", "/v1/kpi", "/metrics", "/fleet", "/v1/health/")


def _ssl_object(request: web.Request) -> ssl.SSLObject | None:
    transport = request.transport
    obj = transport.get_extra_info("ssl_object") if transport is not None else None
    return obj if isinstance(obj, ssl.SSLObject) else None


async def certificate_agency(request: web.Request, store: HubStore) -> str | None:
    obj = _ssl_object(request)
    agency = peer_agency(obj)
    if agency is None or obj is None:
        return None
    der = obj.getpeercert(binary_form=True)
    if der is None:
        return None
    cert = await store.credentials.certificate(format(cert_serial(der), "x"))
    if cert is None or cert.revoked_ms is not None or cert.agency != agency:
        return None  # unknown to this hub's records, or revoked
    return agency


async def admin_allowed(request: web.Request, store: HubStore) -> bool:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or len(header) > 200:
        return False
    digest = token_digest(header.removeprefix("Bearer "))
    return await store.credentials.admin_token_valid(digest, store.clock())


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def auth_middleware(store: HubStore) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if path in OPEN_PATHS:
            return await handler(request)
        if path.startswith(ADMIN_PATHS):
            if not await admin_allowed(request, store):
                raise web.HTTPUnauthorized(text="admin token required\n")
            return await handler(request)
        agency = await certificate_agency(request, store)
        if agency is None:
            raise web.HTTPUnauthorized(text="a valid, unrevoked gateway certificate is required\n")
        request[AGENCY_KEY] = agency
        return await handler(request)

    return middleware


# A typed key: a plain string key makes aiohttp >= 3.14 warn (NotAppKeyWarning) on the first
# authenticated request, which the no-traces middleware would turn into a 500 under -W error.
AGENCY_KEY = web.RequestKey("agency", str)


def caller(request: web.Request) -> str:
    value = request.get(AGENCY_KEY)
    if not isinstance(value, str):
        raise web.HTTPUnauthorized(text="not authenticated\n")
    return value

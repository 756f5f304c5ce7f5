"""The hub's access log: who asked what, how it ended and how long it took, one line each.

Never bodies, headers or query strings: a query can hold a digest, a header a token. The
agency comes from the verified certificate (``-`` for enrollment and admin calls).
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from gateway.hub.auth import AGENCY_KEY

ACCESS_LOG = logging.getLogger("gateway.hub.access")


class HubAccessLogger(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        agency = request.get(AGENCY_KEY, "-") if isinstance(request, web.Request) else "-"
        peer = request.remote or "-"
        self.logger.info("%s %s %s %s %d %dB %.0fms", peer, agency, request.method,
                         request.rel_url.path[:120], response.status,
                         response.body_length, time * 1000)

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

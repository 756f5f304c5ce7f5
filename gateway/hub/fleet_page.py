"""``/fleet``: the fleet as a page for the IT team's phone or PC, served by the hub itself.

One static HTML file with its CSS and JavaScript inline (no build step, no CDN: the hub may be
reachable only inside the provincial network). The page holds no data, so it is served without
a token; its script asks ``/v1/fleet`` and ``/v1/kpi`` (this month's KPIs) with the admin token
every 30 seconds. The token is typed into a form (or passed once as ``#token=…``, a URL
fragment that never reaches a server or an access log, and is erased from the address bar at
once) and kept in ``sessionStorage``: gone when the tab closes, and, unlike a cookie, never
sent by the browser on its own, so another site cannot make the browser act with it (no CSRF).
Remote text (names, versions, errors) is inserted as text, never as HTML, and a
Content-Security-Policy allows only this page's own script and style (by hash) and requests to
this hub.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib import resources

from aiohttp import web

PAGE = resources.files("gateway.hub").joinpath("fleet_page.html").read_text("utf-8")


def _hash(tag: str) -> str:
    body = re.search(rf"<{tag}>(.*?)</{tag}>", PAGE, re.S)
    assert body is not None, tag
    digest = hashlib.sha256(body.group(1).encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'none'; script-src {_hash('script')}; style-src {_hash('style')}; "
        "connect-src 'self'; img-src 'self'; form-action 'none'; base-uri 'none'; "
        "frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


async def handle_fleet_page(request: web.Request) -> web.Response:
    return web.Response(text=PAGE, content_type="text/html", charset="utf-8", headers=HEADERS)

"""``POST /v1/restore``: a replacement box takes back its commune's recent documents.

A box whose SD card died is replaced by a new one that enrolls with a new token; its archive
would start empty. ``gateway init … --restore DAYS`` (or ``gateway enroll … --restore DAYS``)
asks the hub, with the new certificate, for what the commune received and sent in the last
``DAYS`` days (at most ``restore_days`` of hub.json, 90 by default): received documents with
the commune's own last status, sent ones with their receipts. The hub only reads: nothing is
queued again, so an old box that was not dead after all sees no duplicate, and the blobs are
fetched by the box's daemon like any others (the hub keeps every blob: it has no garbage
collection, so the retention is the hub's disk).
"""

from __future__ import annotations

import json

from aiohttp import web

from gateway.hub.auth import caller
from gateway.hub.bodies import read_limited
from gateway.hub.state import HUB
from gateway.protocol.limits import MAX_RESTORE_BODY, MAX_RESTORE_DAYS, MAX_RESTORE_PAGE

DEFAULT_RESTORE_DAYS = 90
_DAY_MS = 86_400_000
_REQUEST_BYTES = 1024
_PAGE_BUDGET = MAX_RESTORE_BODY // 2  # envelope text per page; the reply stays well under


def _int(data: dict[str, object], key: str, low: int, high: int) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise web.HTTPBadRequest(text=f"'{key}' must be an integer from {low} to {high}\n")
    return value


async def handle_restore(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    agency = caller(request)
    try:
        data = json.loads(await read_limited(request, _REQUEST_BYTES, 30.0))
    except (ValueError, RecursionError):
        raise web.HTTPBadRequest(text="expected JSON {kind, days, offset}\n") from None
    if not isinstance(data, dict) or data.get("kind") not in ("in", "out"):
        raise web.HTTPBadRequest(text="'kind' must be \"in\" or \"out\"\n")
    allowed = min(hub.restore_days, MAX_RESTORE_DAYS)
    days = _int(data, "days", 1, MAX_RESTORE_DAYS)
    if days > allowed:
        raise web.HTTPForbidden(text=f"this hub gives back at most {allowed} days\n")
    offset = _int(data, "offset", 0, 10**9)
    since = hub.store.clock() - days * _DAY_MS
    records = hub.store.restore
    items: list[dict[str, object]] = []
    if data["kind"] == "in":
        for r in await records.received(agency, since, offset, MAX_RESTORE_PAGE):
            items.append({"seq": r.seq, "envelope": json.loads(r.envelope),
                          "routed_ms": r.routed_ms, "status": r.status,
                          "status_ms": r.status_ms})
    else:
        for s in await records.sent(agency, since, offset, MAX_RESTORE_PAGE):
            items.append({"envelope": json.loads(s.envelope), "accepted_ms": s.accepted_ms,
                          "receipts": [list(x) for x in s.receipts]})
    kept: list[dict[str, object]] = []
    used = 0
    for item in items:  # the first always goes, so every page makes progress
        size = len(json.dumps(item, ensure_ascii=False).encode())
        if kept and used + size > _PAGE_BUDGET:
            break
        kept.append(item)
        used += size
    more = len(kept) < len(items) or len(items) == MAX_RESTORE_PAGE
    return web.json_response({
        "items": kept, "next": offset + len(kept) if more else None,
        "rcursor": await records.receipt_cursor(agency)})

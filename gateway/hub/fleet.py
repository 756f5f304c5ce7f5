"""What the provincial IT team sees: fleet health as data, and Prometheus metrics.

Health is computed from the hub's clock only; a box's own clock is reported as skew, never
trusted. A box that syncs but takes nothing in is *stalled*: documents wait for it at the hub,
the oldest for longer than ``STALL_AFTER_MS``, and in that time it neither acknowledged one nor
downloaded a blob (a reply it cannot read looks exactly like this from here). Agencies in the
directory that never connected are listed too: a box that never came up is the one most worth
a phone call.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from aiohttp import web

from gateway.hub.signed_share import signed_share_json, signed_share_metrics
from gateway.hub.state import HUB, HubState

ONLINE_WITHIN_MS = 180_000
SKEW_ALERT_MS = 300_000
DISK_LOW_BYTES = 500 * 2**20
STALL_AFTER_MS = 15 * 60_000


@dataclass(frozen=True)
class GatewayHealth:
    agency: str
    name: str
    seen: bool
    online: bool
    last_seen_ms: int | None
    version: str
    skew_ms: int
    queue: int
    disk_free: int
    blobs_bad: int
    inbox_waiting: int
    inbox_oldest_ms: int | None  # when the oldest waiting document was routed to it
    last_progress_ms: int | None  # its last ack or blob download seen by the hub
    stalled: bool
    problems: tuple[str, ...]


async def fleet(hub: HubState) -> list[GatewayHealth]:
    store = hub.store
    await store.flush_heartbeats()
    now = store.clock()
    records = await store.fleet.gateways()
    waiting = await store.fleet.waiting()
    progress = await store.fleet.last_acks()
    for agency, at in hub.progress.items():
        progress[agency] = max(at, progress.get(agency, at))
    seen = {r.agency: r for r in records}
    out = []
    for code in sorted(set(store.directory) | set(seen)):
        name = store.directory[code].name if code in store.directory else "?"
        w = waiting.get(code)
        count, oldest = (0, None) if w is None else (w.count, w.oldest_ms)
        last_progress = progress.get(code)
        r = seen.get(code)
        if r is None:
            out.append(GatewayHealth(code, name, False, False, None, "", 0, 0, 0, 0, count,
                                     oldest, last_progress, False, ("never connected",)))
            continue
        online = now - r.last_seen_ms <= ONLINE_WITHIN_MS
        stalled = online and _stalled(now, oldest, last_progress)
        problems = [p for p, bad_flag in (
            ("offline", not online), ("stalled", stalled),
            ("clock skew", abs(r.skew_ms) > SKEW_ALERT_MS),
            ("disk low", r.disk_free < DISK_LOW_BYTES),
            ("corrupt blobs", r.blobs_bad > 0)) if bad_flag]
        out.append(GatewayHealth(code, name, True, online, r.last_seen_ms, r.version,
                                 r.skew_ms, r.queue, r.disk_free, r.blobs_bad, count, oldest,
                                 last_progress, stalled, tuple(problems)))
    return out


def _stalled(now: int, oldest: int | None, last_progress: int | None) -> bool:
    """Something has waited too long and nothing moved for as long."""
    if oldest is None or now - oldest <= STALL_AFTER_MS:
        return False
    return last_progress is None or now - last_progress > STALL_AFTER_MS


async def handle_fleet(request: web.Request) -> web.Response:
    entries = await fleet(request.app[HUB])
    return web.json_response({"gateways": [asdict(e) for e in entries],
                              "signatures": await signed_share_json(request.app[HUB])})


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


async def handle_metrics(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    entries = [e for e in await fleet(hub) if e.seen]
    now = hub.store.clock()
    docs = await hub.store.fleet.document_counts()
    lines: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        lines.extend(f"{name}{labels} {value:g}" for labels, value in samples)

    def per_gateway(value: float, agency: str) -> tuple[str, float]:
        return (f'{{agency="{_label(agency)}"}}', value)

    metric("gateway_hub_gateways_online", "gauge", "Gateways seen within the last 3 minutes.",
           [("", sum(1 for e in entries if e.online))])
    metric("gateway_hub_requests_total", "counter", "Requests handled, by kind.",
           [(f'{{kind="{_label(k)}"}}', v) for k, v in sorted(hub.requests.items())])
    metric("gateway_hub_upload_lost_bytes_total", "counter",
           "Upload bytes received in frames that a cut left incomplete.",
           [("", hub.lost_bytes)])
    metric("gateway_hub_documents", "gauge", "Documents held by the hub, by state.",
           [('{state="complete"}', docs.complete), ('{state="incomplete"}', docs.incomplete)])
    metric("gateway_last_seen_age_seconds", "gauge", "Seconds since the gateway last synced.",
           [per_gateway((now - (e.last_seen_ms or now)) / 1000, e.agency) for e in entries])
    metric("gateway_queue_documents", "gauge", "Documents waiting in the gateway's queue.",
           [per_gateway(e.queue, e.agency) for e in entries])
    metric("gateway_clock_skew_seconds", "gauge", "Hub clock minus gateway clock.",
           [per_gateway(e.skew_ms / 1000, e.agency) for e in entries])
    metric("gateway_disk_free_bytes", "gauge", "Free disk space on the gateway.",
           [per_gateway(e.disk_free, e.agency) for e in entries])
    metric("gateway_corrupt_blobs", "gauge", "Blobs the gateway's scrub found corrupt.",
           [per_gateway(e.blobs_bad, e.agency) for e in entries])
    metric("gateway_inbox_waiting_documents", "gauge", "Documents at the hub not yet fetched.",
           [per_gateway(e.inbox_waiting, e.agency) for e in entries])
    metric("gateway_inbox_oldest_age_seconds", "gauge",
           "Age of the oldest document waiting at the hub for the gateway.",
           [per_gateway((now - e.inbox_oldest_ms) / 1000, e.agency) for e in entries
            if e.inbox_oldest_ms is not None])
    metric("gateway_stalled", "gauge",
           "1 if the gateway syncs but has taken nothing in for 15 minutes while documents wait.",
           [per_gateway(int(e.stalled), e.agency) for e in entries])
    metric("gateway_hub_refused_total", "counter", "Content the hub refused, by reason.",
           [(f'{{reason="{_label(k)}"}}', v) for k, v in sorted(hub.refusals.items())])
    lines.extend(await signed_share_metrics(hub))
    return web.Response(text="\n".join(lines) + "\n",
                        content_type="text/plain", charset="utf-8",
                        headers={"X-Content-Type-Options": "nosniff"})


async def handle_healthz(request: web.Request) -> web.Response:
    problems = await request.app[HUB].store.db.integrity_problems()
    if problems:
        raise web.HTTPServiceUnavailable(text="database check failed\n")
    return web.Response(text="ok\n")

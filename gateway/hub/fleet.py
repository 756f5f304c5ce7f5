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

from gateway import __version__
from gateway.hub.signed_share import signed_share_json
from gateway.hub.state import HUB, HubState

ONLINE_WITHIN_MS = 180_000
SKEW_ALERT_MS = 300_000
DISK_LOW_BYTES = 500 * 2**20
STALL_AFTER_MS = 15 * 60_000
# A replaced box's unsent documents are shown this long after the replacement enrolled.
REPLACED_SHOWN_MS = 30 * 86_400_000


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
    dead: int  # documents dead-lettered in its queue
    last_error: str  # class and short text of its last sync failure (remote text, unsafe)
    inbox_waiting: int
    inbox_oldest_ms: int | None  # when the oldest waiting document was routed to it
    last_progress_ms: int | None  # its last ack or blob download seen by the hub
    stalled: bool
    problems: tuple[str, ...]
    # Documents still queued on the box this one replaced (its last heartbeat): they were
    # never sent and are not at the hub; the commune must send them again.
    old_box_unsent: int = 0
    old_box_note: str = ""


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
    replaced = await store.restore.replaced(now - REPLACED_SHOWN_MS)
    out = []
    for code in sorted(set(store.directory) | set(seen)):
        name = store.directory[code].name if code in store.directory else "?"
        w = waiting.get(code)
        count, oldest = (0, None) if w is None else (w.count, w.oldest_ms)
        last_progress = progress.get(code)
        r = seen.get(code)
        if r is None:
            out.append(GatewayHealth(code, name, False, False, None, "", 0, 0, 0, 0, 0, "",
                                     count, oldest, last_progress, False,
                                     ("never connected",)))
            continue
        online = now - r.last_seen_ms <= ONLINE_WITHIN_MS
        stalled = online and _stalled(now, oldest, last_progress)
        old = replaced.get(code)
        unsent = 0 if old is None else old.unsent
        problems = [p for p, bad_flag in (
            ("unsent on old box", unsent > 0),
            ("offline", not online), ("stalled", stalled),
            ("clock skew", abs(r.skew_ms) > SKEW_ALERT_MS),
            ("disk low", r.disk_free < DISK_LOW_BYTES),
            ("corrupt blobs", r.blobs_bad > 0),
            ("dead letters", r.dead > 0),
            ("version drift", r.version != __version__)) if bad_flag]
        out.append(GatewayHealth(code, name, True, online, r.last_seen_ms, r.version,
                                 r.skew_ms, r.queue, r.disk_free, r.blobs_bad, r.dead,
                                 r.last_error, count, oldest, last_progress, stalled,
                                 tuple(problems), unsent,
                                 f"{unsent} văn bản chưa gửi được trên hộp cũ" if unsent else ""))
    return out


def _stalled(now: int, oldest: int | None, last_progress: int | None) -> bool:
    """Something has waited too long and nothing moved for as long."""
    if oldest is None or now - oldest <= STALL_AFTER_MS:
        return False
    return last_progress is None or now - last_progress > STALL_AFTER_MS


# The problems that need someone now; the others can wait for the next working day.
CRITICAL = frozenset({"never connected", "offline", "stalled", "corrupt blobs", "disk low"})


def state_of(health: GatewayHealth) -> str:
    """``critical``, ``warning`` or ``ok``: the colour of its row on the fleet page."""
    if CRITICAL.intersection(health.problems):
        return "critical"
    return "warning" if health.problems else "ok"


async def handle_fleet(request: web.Request) -> web.Response:
    entries = await fleet(request.app[HUB])
    return web.json_response({
        "hub_version": __version__,
        "now_ms": request.app[HUB].store.clock(),
        "gateways": [{**asdict(e), "state": state_of(e)} for e in entries],
        # enrollments waiting for the offline CA (docs/appliance.md)
        "enroll_requests": await request.app[HUB].store.credentials.pending_count(),
        "signatures": await signed_share_json(request.app[HUB])})

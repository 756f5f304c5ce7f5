"""A real hub on loopback with a province of simulated boxes in known states.

The boxes are heartbeats written through the hub's own store (the same call the sync handler
makes) at chosen moments of the hub's clock, and documents routed to them at chosen moments:
enrolling fifty real gateways over TLS would take minutes and prove nothing more about how
the fleet view, the metrics and the page classify what the hub recorded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from gateway import __version__
from gateway.hub.enrollment import create_token
from gateway.hub.fleet import STALL_AFTER_MS
from gateway.hub.runtime import RunningHub, init_hub, serve_hub, wall_ms
from gateway.model import Directory
from gateway.protocol.wire import NodeReport
from gateway.store.hub.documents import HubStore
from tests.factories import envelope

SENDER = "000.00.01.H35"  # a healthy box that sends the documents the behind ones never take
GOOD_DISK = 20 * 2**30


class Clock:
    """The hub's clock: real time (certificates are checked against it) plus a jump."""

    def __init__(self) -> None:
        self.offset_ms = 0
        self.pinned_ms: int | None = None  # while set, time stands still (exact skews)

    def __call__(self) -> int:
        return self.pinned_ms if self.pinned_ms is not None else wall_ms() + self.offset_ms


@dataclass(frozen=True)
class Box:
    agency: str
    kind: str  # healthy | silent | behind | skewed | corrupt | never | old | disk | dead
    state: str  # what the fleet page must colour it: ok | warning | critical
    problem: str  # the first reason shown ("" when healthy)


KINDS: dict[str, tuple[str, str]] = {
    "never": ("critical", "never connected"),
    "silent": ("critical", "offline"),
    "behind": ("critical", "stalled"),
    "corrupt": ("critical", "corrupt blobs"),
    "disk": ("critical", "disk low"),
    "skewed": ("warning", "clock skew"),
    "dead": ("warning", "dead letters"),
    "old": ("warning", "version drift"),
    "healthy": ("ok", ""),
}


def province(count: int) -> list[Box]:
    """``count`` communes cycling through every kind, after the sender (healthy)."""
    kinds = list(KINDS)
    boxes = [Box(SENDER, "healthy", "ok", "")]
    for i in range(count - 1):
        kind = kinds[i % len(kinds)]
        state, problem = KINDS[kind]
        boxes.append(Box(f"000.00.{i + 10:02d}.H35", kind, state, problem))
    return boxes


def directory(boxes: list[Box]) -> Directory:
    entries = [{"code": b.agency, "name": f"UBND xã số {i} ({b.kind})"}
               for i, b in enumerate(boxes)]
    return Directory.from_json(json.dumps({"agencies": entries}), source="test")


def _node(box: Box, hub_now: int) -> NodeReport:
    skew = 600_000 if box.kind == "skewed" else 0
    return NodeReport(
        version="0.0.9" if box.kind == "old" else __version__,
        clock_ms=hub_now - skew, queue=3 if box.kind == "silent" else 0,
        disk_free=50 * 2**20 if box.kind == "disk" else GOOD_DISK,
        blobs_bad=2 if box.kind == "corrupt" else 0, uptime_s=3600,
        last_error="HubUnavailable: connection reset" if box.kind == "silent" else "",
        dead=1 if box.kind == "dead" else 0)


def _heartbeats(store: HubStore, clock: Clock, boxes: list[Box]) -> None:
    """Each box's heartbeat as the hub notes it, with the box's clock read at the same instant:
    a millisecond between the two would show as a skew."""
    clock.pinned_ms = clock()
    try:
        for box in boxes:
            store.heartbeat(box.agency, _node(box, clock.pinned_ms))
    finally:
        clock.pinned_ms = None


async def populate(hub: RunningHub, clock: Clock, boxes: list[Box]) -> None:
    """Puts the hub's records where each box's kind says, ending at the real present."""
    store = hub.state.store
    clock.offset_ms = -2 * 3600_000  # two hours ago: the silent ones last spoke
    _heartbeats(store, clock, [b for b in boxes if b.kind == "silent"])
    await store.flush_heartbeats()
    clock.offset_ms = -(STALL_AFTER_MS + 10 * 60_000)  # routed long ago, never taken in
    behind = tuple(b.agency for b in boxes if b.kind == "behind")
    env = envelope(SENDER, behind, attachments=(), now_ms=clock())
    accepted = await store.accept(SENDER, [(env, None)])
    assert accepted.accepted == (env.id,)
    clock.offset_ms = 0
    _heartbeats(store, clock, [b for b in boxes if b.kind not in ("never", "silent")])
    await store.flush_heartbeats()


async def start(root: Path, boxes: list[Box]) -> tuple[RunningHub, Clock, str]:
    """A hub serving ``boxes`` (populated) and an admin token for it."""
    clock = Clock()
    init_hub(root, "H35", directory(boxes), ["127.0.0.1"])
    hub = await serve_hub(root, clock=clock)
    try:
        await populate(hub, clock, boxes)
        token = await create_token(hub.state.store, "admin", timedelta(hours=1), kind="admin")
    except BaseException:
        await hub.close()
        raise
    return hub, clock, token

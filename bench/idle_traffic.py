"""Idle traffic: what a connected box with nothing to send exchanges with the hub per minute.

    python -m bench.idle_traffic [--minutes 3]

A real ``gateway run`` against a real hub through the link emulator (bench.boxrun; profile
"lan", so nothing is delayed), left alone once its start-up exchanges are over. The proxy counts
the TCP payload both ways: TLS records with everything inside (HTTP heads, sync bodies, session
tickets, the handshake of any new connection). The window runs from the end of one exchange to
the end of the last one seen (counters read just after the hub logged each request), so it
holds whole long-poll cycles and no fraction of one. TCP/IP headers are not payload; they are
estimated from the exchanges (about four segments each: request, reply and their
acknowledgements) and shown beside the figure, not in it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from bench.boxrun import box_against_hub
from bench.report import Row
from gateway.hub.access_log import ACCESS_LOG
from gateway.linkemu import PROFILES, LinkProxy, LinkStats

GOAL_PER_MIN = 1000  # bytes ("1 KB"), both directions together
SETTLE_S = 5.0  # after the first sync: the start-up exchanges are over, the long-poll is out
TCPIP_HEADER = 52  # IPv4 20 + TCP 20 + timestamps 12
SEGMENTS_PER_EXCHANGE = 4
MARK_DELAY_S = 0.5  # after a request is logged, its reply has crossed the proxy


class IdleWatch(logging.Handler):
    """Counts the hub's access-log lines by method, path and status, and reads the proxy's
    counters shortly after each: a window between two such readings holds whole exchanges."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.proxy: LinkProxy | None = None
        self.seen: dict[str, int] = {}
        self.marks: list[tuple[float, LinkStats]] = []
        self._first: tuple[float, LinkStats] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.proxy is None:
            return  # not watching yet
        parts = record.getMessage().split()
        if len(parts) >= 5:
            key = f"{parts[2]} {parts[3]} {parts[4]}"
            self.seen[key] = self.seen.get(key, 0) + 1
        asyncio.get_running_loop().call_later(MARK_DELAY_S, self._mark)

    def _mark(self) -> None:
        if self.proxy is not None:
            self.marks.append((time.monotonic(), self.proxy.stats))

    def begin(self, proxy: LinkProxy) -> None:
        self.proxy, self._first = proxy, (time.monotonic(), proxy.stats)

    def end(self) -> dict[str, object]:
        assert self.proxy is not None and self._first is not None, "begin() first"
        first, last = self._first, (time.monotonic(), self.proxy.stats)
        marks, self.proxy = list(self.marks), None
        if len(marks) >= 2:  # from the end of the first exchange to the end of the last
            first, last = marks[0], marks[-1]
        (t0, before), (t1, after) = first, last
        up, down = after.bytes_up - before.bytes_up, after.bytes_down - before.bytes_down
        minutes = max(t1 - t0, 1e-3) / 60
        exchanges = max(0, len(marks) - 1)
        return {
            "window_s": round(t1 - t0, 1), "bytes_up": up, "bytes_down": down,
            "per_min": round((up + down) / minutes), "requests": dict(self.seen),
            "exchanges": exchanges, "connections": after.connections - before.connections,
            "tcpip_headers_per_min_est": round(
                exchanges * SEGMENTS_PER_EXCHANGE * TCPIP_HEADER / minutes),
        }


@contextmanager
def watching() -> Iterator[IdleWatch]:
    """Enter before the box starts: the hub decides whether to log when a connection opens."""
    watch, level = IdleWatch(), ACCESS_LOG.level
    ACCESS_LOG.addHandler(watch)
    ACCESS_LOG.setLevel(logging.INFO)
    try:
        yield watch
    finally:
        ACCESS_LOG.removeHandler(watch)
        ACCESS_LOG.setLevel(level)


def describe(r: Mapping[str, object]) -> str:
    return (f"{r['per_min']} B/min payload ({r['bytes_up']} up, {r['bytes_down']} down in "
            f"{r['window_s']} s, {r['exchanges']} exchanges), requests {r['requests']}, "
            f"{r['connections']} new connections")


async def measure(work: Path, window_s: float, say: Callable[[str], None]) -> dict[str, object]:
    with watching() as watch:
        async with box_against_hub(work, PROFILES["lan"]) as box:
            await asyncio.sleep(SETTLE_S)
            watch.begin(box.proxy)
            say(f"idle traffic: watching an idle box for {window_s:.0f} s")
            await asyncio.sleep(window_s)
            result = watch.end()
    say(f"idle traffic: {describe(result)}")
    return result


def rows(footprint: Mapping[str, object] | None) -> list[Row]:
    """The idle-traffic row, from bench.footprint's result (its idle phase is the window)."""
    r = footprint.get("idle_traffic") if footprint else None
    if not isinstance(r, Mapping) or not isinstance(r.get("per_min"), int):
        return []
    per_min = r["per_min"]
    assert isinstance(per_min, int)
    return [Row(
        "9. idle traffic of a connected box with nothing to send (both directions)", "lan",
        f"{per_min} B/min",
        f"TCP payload through the link proxy over {r.get('window_s')} s "
        f"({r.get('exchanges')} whole exchanges): {r.get('bytes_up')} B up, "
        f"{r.get('bytes_down')} B down; requests {r.get('requests')}; "
        f"{r.get('connections')} new connections; TCP/IP headers (estimated, not included) "
        f"≈ {r.get('tcpip_headers_per_min_est')} B/min",
        "≤ 1 KB/min", "met" if per_min <= GOAL_PER_MIN else "MISSED")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    args = parser.parse_args()

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="idle-") as tmp:
        print(asyncio.run(measure(Path(tmp), args.minutes * 60, say)))


if __name__ == "__main__":
    main()

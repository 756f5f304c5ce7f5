"""When to ask the hub again after a failure: at once and often while the link only refuses.

A cut link usually comes back within seconds, and every second waited past that is a second of
link unused (on 3G a cut every ~20 s made growing backoff cost ~3 s per cut). While the cause
is a refused or reset connection, an attempt costs a few dozen bytes and is answered at once,
so the engine probes at a short fixed interval (:data:`PROBE_S`) and reconnects within about
one probe interval of the link's return. Only one task probes while it is down: the sync loop,
while the transfer workers wait for it to get through (:func:`gateway.sync.transfers.link_wait`);
or, for a short outage, the uploader itself in its stead (:mod:`gateway.sync.after_cut`). So a
refusing link sees one attempt per interval, not one per task, and the interval can be short.
A failure of another kind (a timeout, a server error, TLS trouble), or an outage that lasts
past :data:`FAST_WINDOW_S`, falls back to the growing backoff, so a link that is down for a
week is not probed several times a second all week.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.queue import Backoff
from gateway.sync.link import HubError

PROBE_S = 0.1
FAST_WINDOW_S = 120.0
# failure_kind() names of a connection refused or reset: the link answers, it is just down
FAST_KINDS = frozenset({"unreachable", "dropped"})


class Reconnect:
    """One task's waits between attempts; ``clock`` gives seconds (the engine's, so virtual
    time in tests)."""

    def __init__(self, backoff: Backoff, clock: Callable[[], float]) -> None:
        self.backoff = backoff
        self._clock = clock
        self.down_since: float | None = None

    @property
    def failures(self) -> int:
        return self.backoff.failures

    def failed(self, exc: HubError, *, probe: bool = True) -> float:
        """Records a failure; returns how long to wait before the next attempt. ``probe``
        False: another task probes the link meanwhile, so the growing backoff applies."""
        now = self._clock()
        if self.down_since is None:
            self.down_since = now
        slow = self.backoff.failed()
        if probe and exc.kind in FAST_KINDS and now - self.down_since < FAST_WINDOW_S:
            return PROBE_S
        return slow

    def succeeded(self) -> None:
        self.down_since = None
        self.backoff.succeeded()

"""Exponential backoff with jitter.

Jitter (a uniform draw below the exponential ceiling) keeps 108 gateways that lost the hub at
the same moment from all coming back at the same moment. Full jitter (``floor`` 0) draws from
zero up; a ``floor`` of one half draws from the upper half only, so that below the cap each
wait is at least as long as the one before while the waits still spread out. The random source
is injected so the schedule is reproducible in tests.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    base_s: float = 1.0
    cap_s: float = 300.0
    rng: random.Random = field(default_factory=random.Random)
    failures: int = 0
    floor: float = 0.0  # the least fraction of the ceiling a wait lasts

    def ceiling(self, failures: int) -> float:
        """The longest wait after ``failures`` consecutive failures (before jitter)."""
        if failures <= 0:
            return 0.0
        return min(self.cap_s, self.base_s * 2.0 ** min(failures - 1, 62))

    def delay_for(self, failures: int) -> float:
        ceiling = self.ceiling(failures)
        # Never zero after a failure: a floor of a tenth of the base prevents a busy loop.
        return max(self.base_s / 10, self.rng.uniform(self.floor * ceiling, ceiling)) \
            if ceiling else 0.0

    def failed(self) -> float:
        """Records one more failure and returns how long to wait."""
        self.failures += 1
        return self.delay_for(self.failures)

    def succeeded(self) -> None:
        self.failures = 0

"""Named link profiles for the link emulator.

A profile describes the *physical* link between a commune office and the hub: how fast each
direction is, how much latency it adds, and how often the line drops. The bad profiles are
meant to be pessimistic: the gateway has to keep working on poor lines, not just typical ones.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["PROFILES", "LinkProfile", "cut_offsets", "get_profile"]


@dataclass(frozen=True)
class LinkProfile:
    """One emulated link.

    ``down_bps`` is hub -> office (server -> client), ``up_bps`` is office -> hub; ``None``
    means unlimited. ``rtt_ms`` is *added* round-trip time: half is added to each direction.
    ``cut_every_s`` is the mean time between forced cuts (``None``: never), measured from one
    cut to the next; each interval is drawn uniformly from [0.5, 1.5] x the mean. After a cut
    the link refuses new connections for ``blackout_s`` seconds.

    Derive variants with ``dataclasses.replace(profile, rtt_ms=...)`` (type-checked by mypy)
    or :meth:`scaled`.
    """

    name: str
    down_bps: int | None = None
    up_bps: int | None = None
    rtt_ms: float = 0.0
    cut_every_s: float | None = None
    blackout_s: float = 0.0

    def __post_init__(self) -> None:
        for label, bps in (("down_bps", self.down_bps), ("up_bps", self.up_bps)):
            if bps is not None and bps <= 0:
                raise ValueError(f"{label} must be positive or None, got {bps}")
        if self.rtt_ms < 0:
            raise ValueError(f"rtt_ms must be >= 0, got {self.rtt_ms}")
        if self.cut_every_s is not None and self.cut_every_s <= 0:
            raise ValueError(f"cut_every_s must be positive or None, got {self.cut_every_s}")
        if self.blackout_s < 0:
            raise ValueError(f"blackout_s must be >= 0, got {self.blackout_s}")

    @property
    def one_way_s(self) -> float:
        """Delay added to each direction, in seconds."""
        return self.rtt_ms / 2000.0

    def scaled(self, *, bandwidth: float = 1.0, time: float = 1.0) -> LinkProfile:
        """Same link with rates multiplied by ``bandwidth`` and durations by ``time``.

        Handy for tests and benchmarks: ``PROFILES["3g-bad"].scaled(time=0.05)`` keeps the
        character of a bad 3G line but cuts every ~1 s instead of every 20 s.
        """
        if bandwidth <= 0 or time < 0:
            raise ValueError("bandwidth must be > 0 and time >= 0")

        def rate(bps: int | None) -> int | None:
            return None if bps is None else max(1, round(bps * bandwidth))

        cut = None if self.cut_every_s is None or time == 0 else self.cut_every_s * time
        return dataclasses.replace(
            self,
            name=f"{self.name}*" if (bandwidth, time) != (1.0, 1.0) else self.name,
            down_bps=rate(self.down_bps),
            up_bps=rate(self.up_bps),
            rtt_ms=self.rtt_ms * time,
            cut_every_s=cut,
            blackout_s=self.blackout_s * time,
        )

    def describe(self) -> str:
        """One human-readable line, for CLI listings and logs."""

        def fmt(bps: int | None) -> str:
            if bps is None:
                return "unlimited"
            return f"{bps / 1e6:g} Mbit/s" if bps >= 1_000_000 else f"{bps / 1e3:g} kbit/s"

        cuts = "no cuts" if self.cut_every_s is None else f"cut every ~{self.cut_every_s:g} s"
        return (
            f"{self.name}: down {fmt(self.down_bps)}, up {fmt(self.up_bps)}, "
            f"+{self.rtt_ms:g} ms RTT, {cuts}, {self.blackout_s:g} s blackout"
        )


PROFILES: dict[str, LinkProfile] = {
    p.name: p
    for p in (
        LinkProfile("lan"),
        LinkProfile("adsl", down_bps=2_000_000, up_bps=512_000, rtt_ms=80.0, cut_every_s=60.0),
        LinkProfile(
            "3g-bad",
            down_bps=1_000_000,
            up_bps=256_000,
            rtt_ms=400.0,
            cut_every_s=20.0,
            blackout_s=5.0,
        ),
    )
}


def get_profile(name: str) -> LinkProfile:
    """Look a profile up by name; the error lists the known names (it ends up in CLI output)."""
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ValueError(f"unknown link profile {name!r} (known: {known})") from None


def cut_offsets(mean_s: float, seed: int) -> Iterator[float]:
    """Yield the times (seconds after start) of the forced cuts, forever.

    Deterministic for a given ``(mean_s, seed)``, so a flaky end-to-end run can be replayed
    with the same cut pattern. Intervals are uniform in [0.5, 1.5] x ``mean_s``: regular
    enough that every test run sees cuts, irregular enough not to phase-lock with a
    periodic sender.
    """
    if mean_s <= 0:
        raise ValueError(f"mean_s must be positive, got {mean_s}")
    rng = random.Random(seed)
    t = 0.0
    while True:
        t += rng.uniform(0.5, 1.5) * mean_s
        yield t

"""Reading another process's memory and CPU from /proc (Linux only), for the benchmarks.

Why not psutil: two numbers are all the benchmarks need, and /proc is always there on the
boxes the gateway runs on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcSample:
    """``rss``/``hwm`` in bytes (VmRSS, VmHWM = peak RSS); ``cpu_s`` = utime + stime."""

    rss: int
    hwm: int
    cpu_s: float


def sample(pid: int) -> ProcSample:
    """One reading; raises ``FileNotFoundError``/``ProcessLookupError`` once ``pid`` is gone."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) * 1024  # reported in kB
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) may hold spaces; everything after its ")" is space-separated.
    rest = stat[stat.rindex(")") + 2:].split()
    utime, stime = int(rest[11]), int(rest[12])  # fields 14 and 15 of proc(5)
    return ProcSample(fields.get("VmRSS", 0), fields.get("VmHWM", 0),
                      (utime + stime) / _TICKS)


def own_cpu_s() -> float:
    """CPU seconds used by this process so far (all threads)."""
    t = os.times()
    return t.user + t.system


def machine() -> dict[str, object]:
    """What a reader needs to judge the figures: cores, load at start, kernel."""
    load = os.getloadavg()
    return {"cpus": os.cpu_count(), "loadavg": [round(x, 2) for x in load],
            "kernel": os.uname().release}

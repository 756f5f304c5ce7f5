"""One bottleneck per emulated link, whatever the version of ``gateway.linkemu``.

A real ADSL or 3G line is a single bottleneck: parallel connections share its rate. Early
versions of the link emulator shaped each TCP connection on its own (one token bucket per
connection and direction), so the gateway's two transfer workers could move up to twice the
line rate and "time ÷ physical limit" could drop below 1. Newer versions share one bucket per
proxy and direction themselves (their ``Pipe`` takes a ``bucket``).

:func:`install` checks which emulator it has. With a sharing emulator it does nothing
("native"). Otherwise (BENCHMARK WORKAROUND, "workaround") it swaps the proxy's pipe class for
one that charges a bucket shared by all connections of the same proxy and direction; delay
lines, cuts, blackouts and byte counts stay the emulator's own code. rsync and curl use one
connection at a time, so none of this changes anything for them.
"""

from __future__ import annotations

import inspect
import weakref
from typing import Any

from gateway.linkemu import proxy as _proxy
from gateway.linkemu.shaping import Pipe, TokenBucket

_BUCKETS: weakref.WeakKeyDictionary[object, dict[str, TokenBucket]] = \
    weakref.WeakKeyDictionary()


class SharedPipe(Pipe):
    """A pipe that charges its proxy's shared bucket for its direction (see module doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        delivered = args[5] if len(args) > 5 else kwargs.get("delivered")
        owner = getattr(delivered, "__self__", None)  # the LinkProxy (a bound counter method)
        direction = getattr(delivered, "__name__", "")
        if self.bucket is not None and owner is not None and direction:
            self.bucket = _BUCKETS.setdefault(owner, {}).setdefault(direction, self.bucket)


def native() -> bool:
    """Whether the emulator already shares one bucket per link direction."""
    return "bucket" in inspect.signature(Pipe.__init__).parameters


def install() -> str:
    """Ensures one bottleneck per link in this process; returns "native" or "workaround"."""
    if native():
        return "native"
    if "_Pipe" not in vars(_proxy):
        raise RuntimeError("gateway.linkemu shapes per connection and cannot be patched")
    vars(_proxy)["_Pipe"] = SharedPipe
    return "workaround"


def describe() -> str:
    if native():
        return "gateway.linkemu: one token bucket per link direction (native)"
    return ("bench.sharedlink WORKAROUND: one token bucket per link direction (this "
            "gateway.linkemu shapes each connection separately)")

"""Request signing between a connected system and the axis (HMAC-SHA256).

The national SDK signs request headers with the system's secret, but its exact recipe is not
published to us; this is our recipe, kept in this one module so the real one can replace it:

    string = METHOD \\n PATH \\n SYSTEM-ID \\n TIMESTAMP \\n NONCE \\n hex(sha256(body))
    X-Axis-Signature = hex(HMAC-SHA256(secret, string))

with headers ``X-Axis-System``, ``X-Axis-Timestamp`` (Unix seconds), ``X-Axis-Nonce``. The
server accepts a timestamp within :data:`MAX_SKEW` seconds and each nonce once.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict
from collections.abc import Mapping

MAX_SKEW = 300
H_SYSTEM, H_TIME, H_NONCE, H_SIG = (
    "X-Axis-System", "X-Axis-Timestamp", "X-Axis-Nonce", "X-Axis-Signature")


def signature(secret: bytes, method: str, path: str, system: str, timestamp: str, nonce: str,
              body: bytes) -> str:
    text = "\n".join((method.upper(), path, system, timestamp, nonce,
                      hashlib.sha256(body).hexdigest()))
    return hmac.new(secret, text.encode("utf-8"), hashlib.sha256).hexdigest()


def sign(secret: bytes, method: str, path: str, system: str, body: bytes, *, now: float,
         nonce: str) -> dict[str, str]:
    ts = str(int(now))
    return {H_SYSTEM: system, H_TIME: ts, H_NONCE: nonce,
            H_SIG: signature(secret, method, path, system, ts, nonce, body)}


class NonceCache:
    """The nonces seen within the skew window (bounded), so a captured request cannot replay."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._capacity = capacity

    def fresh(self, nonce: str, now: float) -> bool:
        while self._seen and (len(self._seen) >= self._capacity or
                              next(iter(self._seen.values())) < now - 2 * MAX_SKEW):
            self._seen.popitem(last=False)
        if nonce in self._seen:
            return False
        self._seen[nonce] = now
        return True


def verify(headers: Mapping[str, str], secrets: Mapping[str, bytes], method: str, path: str,
           body: bytes, *, now: float, nonces: NonceCache) -> str | None:
    """The verified system id, or ``None`` (unknown system, stale, replayed or bad signature)."""
    system, ts, nonce, sig = (headers.get(h, "") for h in (H_SYSTEM, H_TIME, H_NONCE, H_SIG))
    secret = secrets.get(system)
    if secret is None or not ts.isdigit() or abs(int(ts) - now) > MAX_SKEW or not 8 <= len(
            nonce) <= 64:
        return None
    expected = signature(secret, method, path, system, ts, nonce, body)
    if not hmac.compare_digest(expected, sig) or not nonces.fresh(nonce, now):
        return None
    return system

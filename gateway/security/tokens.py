"""Bearer secrets: one-time enrollment tokens and admin tokens (pure helpers, no storage).

A token is shown to a person once and typed or pasted into a gateway; the hub keeps only
:func:`token_digest` of it, so a copied database does not yield usable tokens. The random part
is 256 bits, so a plain SHA-256 (no salt, no slow hash) is enough, and it lets the hub look a
token up by its digest. The prefix tells a person (and a secret scanner) what the string is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from datetime import timedelta

ENROLL_PREFIX = "enr_"
ADMIN_PREFIX = "adm_"
TOKEN_BYTES = 32
MAX_TTL = timedelta(days=365)

_UNITS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_TTL = re.compile(r"([0-9]{1,9})([smhd])", re.ASCII)


def _token(prefix: str, random_bytes: Callable[[int], bytes]) -> str:
    raw = random_bytes(TOKEN_BYTES)
    if len(raw) != TOKEN_BYTES:
        raise ValueError(f"random source returned {len(raw)} bytes, expected {TOKEN_BYTES}")
    return prefix + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def new_token(random_bytes: Callable[[int], bytes] = secrets.token_bytes) -> str:
    """A one-time enrollment token: ``enr_`` + 43 url-safe characters (256 random bits)."""
    return _token(ENROLL_PREFIX, random_bytes)


def new_admin_token(random_bytes: Callable[[int], bytes] = secrets.token_bytes) -> str:
    """An admin credential (fleet view, token issuing): ``adm_`` + 256 random bits."""
    return _token(ADMIN_PREFIX, random_bytes)


def token_digest(token: str) -> str:
    """SHA-256 hex of the token as typed (surrounding whitespace removed): what the hub stores."""
    return hashlib.sha256(token.strip().encode("utf-8")).hexdigest()


def constant_time_equals(a: str | bytes, b: str | bytes) -> bool:
    """Compare secrets or digests without leaking where they differ through timing."""
    left = a.encode("utf-8") if isinstance(a, str) else a
    right = b.encode("utf-8") if isinstance(b, str) else b
    return hmac.compare_digest(left, right)


def parse_ttl(text: str) -> timedelta:
    """``"72h"``, ``"30m"``, ``"7d"``, ``"3600s"`` → timedelta; positive and at most a year."""
    match = _TTL.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"invalid duration {text[:40]!r}: expected a whole number followed by "
            "s, m, h or d, e.g. 72h, 30m, 7d, 3600s"
        )
    ttl = timedelta(seconds=int(match[1]) * _UNITS[match[2]])
    if not timedelta(0) < ttl <= MAX_TTL:
        raise ValueError(f"invalid duration {text.strip()!r}: must be more than 0 and at most 365d")
    return ttl


def format_ttl(ttl: timedelta) -> str:
    """The shortest :func:`parse_ttl` spelling of ``ttl`` (whole seconds only)."""
    if ttl.microseconds or ttl <= timedelta(0):
        raise ValueError("a TTL is a positive whole number of seconds")
    seconds = ttl // timedelta(seconds=1)
    unit, size = next((u, n) for u, n in _UNITS.items() if seconds % n == 0)
    return f"{seconds // size}{unit}"

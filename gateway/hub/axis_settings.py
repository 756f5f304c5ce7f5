"""The hub's ``axis`` settings, read from ``hub.json`` in its data directory::

    "axis": {"url": "https://axis.example/", "system_id": "hub-h35",
             "secret_file": "axis.secret", "poll_s": 30,
             "attempts": 6, "first_delay_s": 0.5, "max_delay_s": 60, "agencies_s": 3600}

Only ``url``, ``system_id`` and ``secret_file`` are required; the secret file (relative to the
data directory unless absolute) holds the system's shared secret and must not be readable by
others. Without an ``axis`` section the hub exchanges with no one outside the province.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from pathlib import Path

from gateway.axis.client import Retry
from gateway.model import Problem, Refused


def _bad(detail: str) -> Refused:
    return Refused(Problem("hub.axis_settings",
                           f"Cấu hình trục liên thông (hub.json, mục 'axis') sai: {detail}.",
                           f"The axis settings (hub.json, 'axis') are wrong: {detail}."))


@dataclass(frozen=True)
class AxisSettings:
    url: str
    system_id: str
    secret: bytes
    poll_s: float = 30.0
    agencies_s: float = 3600.0  # how often the national agency list is fetched again
    retry: Retry = field(default_factory=Retry)

    @classmethod
    def from_config(cls, section: object, root: Path) -> AxisSettings:
        if not isinstance(section, dict):
            raise _bad("not an object")
        url, system, secret_file = (section.get(k) for k in ("url", "system_id", "secret_file"))
        if not (isinstance(url, str) and url.startswith(("http://", "https://"))):
            raise _bad("'url' must be an http(s) URL")
        if not isinstance(system, str) or not system:
            raise _bad("'system_id' is missing")
        if not isinstance(secret_file, str) or not secret_file:
            raise _bad("'secret_file' is missing")
        numbers = {}
        for key, default in (("poll_s", 30.0), ("agencies_s", 3600.0), ("attempts", 6),
                             ("first_delay_s", 0.5), ("max_delay_s", 60.0)):
            value = section.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise _bad(f"'{key}' must be a positive number")
            numbers[key] = value
        return cls(url, system, _secret(root / secret_file), float(numbers["poll_s"]),
                   float(numbers["agencies_s"]),
                   Retry(int(numbers["attempts"]), float(numbers["first_delay_s"]),
                         float(numbers["max_delay_s"])))


def _secret(path: Path) -> bytes:
    try:
        info = path.stat()
        data = path.read_bytes().strip()
    except OSError as exc:
        raise _bad(f"cannot read the secret file {path} ({exc.strerror})") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise _bad(f"the secret file {path} is readable by others (chmod 600)")
    if not data:
        raise _bad(f"the secret file {path} is empty")
    return data

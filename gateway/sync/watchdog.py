"""systemd's notify protocol, spoken by the daemon itself: READY, STATUS and the watchdog.

A datagram of ``KEY=value`` lines to the AF_UNIX socket named by ``$NOTIFY_SOCKET`` (a leading
``@`` is the abstract namespace); no library needed. With ``WatchdogSec=`` in the unit, systemd
sets ``$WATCHDOG_USEC`` and kills and restarts the daemon when no ``WATCHDOG=1`` arrives in
time. A ping is sent only after the event loop ran this coroutine *and* the store answered a
query within the interval, so a daemon that is alive but stuck (a blocked loop, a wedged
database) stops pinging and is restarted; the Pi's hardware watchdog (image/) does the same
for systemd itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping

log = logging.getLogger("gateway.sync")
Probe = Callable[[], Awaitable[None]]
Describe = Callable[[], str]


class Notifier:
    """Sends notify datagrams; does nothing when not started by systemd with Type=notify."""

    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        path = environ.get("NOTIFY_SOCKET", "")
        self.address = "\0" + path[1:] if path.startswith("@") else path
        usec = environ.get("WATCHDOG_USEC", "")
        pid = environ.get("WATCHDOG_PID", "")
        mine = not pid or pid == str(os.getpid())
        self.watchdog_s = int(usec) / 1e6 if usec.isdigit() and int(usec) > 0 and mine else None

    def send(self, **fields: str) -> bool:
        if not self.address:
            return False
        message = "\n".join(f"{k}={v}" for k, v in fields.items()).encode()
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            try:
                sock.sendto(message, self.address)
            except OSError as exc:  # systemd gone or restarting: the next ping retries
                log.debug("notify failed: %s", exc)
                return False
        return True


async def keep_alive(notifier: Notifier, probe: Probe, describe: Describe,
                     stop: asyncio.Event) -> None:
    """READY=1 once, then every half watchdog interval STATUS and WATCHDOG=1 while ``probe``
    (a store query) answers within that half interval; STOPPING=1 at the end."""
    notifier.send(READY="1", STATUS=describe())
    interval = notifier.watchdog_s / 2 if notifier.watchdog_s else 30.0
    try:
        while not stop.is_set():
            try:
                await asyncio.wait_for(probe(), interval)
            except TimeoutError:
                log.error("store did not answer in %.0f s: no watchdog ping", interval)
            else:
                fields = {"STATUS": describe()}
                if notifier.watchdog_s:
                    fields["WATCHDOG"] = "1"
                notifier.send(**fields)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
    finally:
        notifier.send(STOPPING="1")

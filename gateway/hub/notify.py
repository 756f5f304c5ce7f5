"""Wakes long-polling gateways when something arrives for them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable


class Notifier:
    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}

    async def wait(self, agency: str, seconds: float) -> None:
        event = self._events.setdefault(agency, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)

    def arm(self, agency: str) -> None:
        """Clears the flag before the reply is computed, so nothing between is missed."""
        self._events.setdefault(agency, asyncio.Event()).clear()

    def notify(self, agencies: Iterable[str]) -> None:
        for agency in agencies:
            event = self._events.get(agency)
            if event is not None:
                event.set()

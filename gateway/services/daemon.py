"""The box's link to the hub: enroll once with a token, then run the sync daemon.

Both check the hub URL before any byte leaves (:func:`~gateway.store.layout.check_hub_url`):
a config that names a plain-http hub (hand-edited, or written by an older version) still
opens for the clerk's offline work, but the daemon refuses to start with it.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from gateway.services.box import opened, read_config
from gateway.store.layout import check_hub_url, save_config
from gateway.sync.daemon import run_daemon
from gateway.sync.enroll import enroll as enroll_box


async def enroll(data: str, hub: str, token: str) -> Path:
    """Enrolls the box with ``token``, records ``hub`` in its config; returns the new
    certificate's path."""
    async with opened(data) as box:
        identity = await enroll_box(Path(data), box.config.agency, hub, token)
        if box.config.hub != hub:
            await asyncio.to_thread(save_config, box.layout, replace(box.config, hub=hub))
    return identity.cert_path


def _check_config(data: str) -> None:
    layout, config = read_config(data)
    if config.hub:
        check_hub_url(config.hub, f"{layout.config}: ")


async def run(data: str, stop: asyncio.Event) -> int:
    """The sync daemon until ``stop``; returns the process's exit status."""
    await asyncio.to_thread(_check_config, data)
    return await run_daemon(Path(data), stop)

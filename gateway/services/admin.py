"""The box itself: create a data directory, report its state, verify its attachments, and
the agency directory it knows."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, replace
from pathlib import Path

from gateway.model import Agency, AgencyCode, Directory, Problem, Refused
from gateway.services.box import (
    load_directory,
    load_directory_file,
    opened,
    wake_daemon,
    wall_ms,
)
from gateway.services.link import LinkView, link_view
from gateway.store.blobs import ScrubReport
from gateway.store.layout import (
    GatewayConfig,
    Layout,
    check_hub_url,
    load_config,
    save_config,
    write_atomic,
)
from gateway.store.local import LocalStore
from gateway.store.repair import record_scrub, sweep_orphans
from gateway.store.status import SyncMarks, sync_marks


def _existing_agency(layout: Layout) -> str | None:
    """The agency an existing config names; ``None`` when there is none or it is too damaged
    to say, so that ``init`` can write a fresh one (the repair its damage message suggests)."""
    try:
        existing = json.loads(layout.config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    agency = existing.get("agency") if isinstance(existing, dict) else None
    return agency if isinstance(agency, str) else None


def _prepare(data: str, agency: str, hub: str | None, directory_file: str | None) -> Layout:
    """Checks everything and writes the directory and config (blocking: run in a thread)."""
    layout = Layout(Path(data))
    if hub is not None:
        check_hub_url(hub)
    code = AgencyCode.parse(agency)
    directory = load_directory_file(directory_file)
    if code.text not in directory:
        raise Refused(Problem("agency.unknown",
            f"Mã {code} không có trong danh bạ cơ quan.",
            f"Agency {code} is not in the directory."))
    existing = _existing_agency(layout)
    if existing not in (None, code.text):
        raise Refused(Problem("data.other_agency",
            f"Thư mục này đã thuộc cơ quan {existing}.",
            f"This data directory already belongs to {existing}."))
    layout.root.mkdir(parents=True, exist_ok=True)
    write_atomic(layout.directory, directory.to_json().encode())
    save_config(layout, _kept_config(layout, code.text, hub))
    return layout


def _kept_config(layout: Layout, agency: str, hub: str | None) -> GatewayConfig:
    """Running ``init`` again (first boot's retries, a repair) keeps what the box was set up
    with — the signing section, the reserve, the health listener, a hub not named this time;
    only a damaged config is written fresh."""
    if _existing_agency(layout) is not None:
        try:
            old = load_config(layout)
        except Refused:
            pass
        else:
            return replace(old, agency=agency, hub=old.hub if hub is None else hub)
    return GatewayConfig(agency=agency, hub=hub)


async def init(data: str, agency: str, hub: str | None, directory_file: str | None) -> Layout:
    """Creates (or repairs) a box's data directory for ``agency``; idempotent."""
    layout = await asyncio.to_thread(_prepare, data, agency, hub, directory_file)
    store = await LocalStore.open(layout, lambda: 0)
    await store.close()
    return layout


@dataclass(frozen=True)
class BoxStatus:
    config: GatewayConfig
    counts: dict[str, int]
    sync: SyncMarks
    disk_free: int
    now_ms: int

    @property
    def link(self) -> LinkView:
        return link_view(self.sync, bool(self.config.hub), self.now_ms)

    def report(self) -> dict[str, object]:
        """The flat record ``gateway status --json`` prints."""
        return {"agency": self.config.agency, "hub": self.config.hub,
                "disk_free": self.disk_free, "reserve": self.config.reserve_bytes,
                "link": self.link.state.value, **self.counts, **self.sync.recorded()}


# ``status --now``: how long to wait for the woken daemon to publish its attempt.
TRY_NOW_WAIT_S = 5.0


async def status(data: str, *, try_now: bool = False, poll_s: float = 0.2) -> BoxStatus:
    """The box's state; with ``try_now`` the daemon is woken first and the state is read once
    it published the outcome of its attempt (or after :data:`TRY_NOW_WAIT_S`)."""
    async with opened(data) as box:
        before = await sync_marks(box.store)
        if try_now:
            wake_daemon(box.layout)
            for _ in range(int(TRY_NOW_WAIT_S / poll_s)):
                await asyncio.sleep(poll_s)
                marks = await sync_marks(box.store)
                if (marks.last_sync_ms, marks.next_try_ms) != (before.last_sync_ms,
                                                              before.next_try_ms):
                    break
        return BoxStatus(box.config, await box.store.counts(), await sync_marks(box.store),
                         await asyncio.to_thread(box.store.blobs.free_bytes), wall_ms())


@dataclass(frozen=True)
class ScrubResult:
    blobs: ScrubReport
    database: list[str]  # what SQLite's integrity check found wrong
    swept: list[str]  # blob files no document referenced, removed

    @property
    def ok(self) -> bool:
        return self.blobs.ok and not self.database


async def scrub(data: str) -> ScrubResult:
    """Verifies every stored attachment; damaged ones are quarantined and fetched again from
    the hub by the daemon, and blob files of sends killed before their commit are swept."""
    async with opened(data) as box:
        report = await asyncio.to_thread(box.store.blobs.scrub,
                                         await box.store.referenced_digests())
        damaged = await box.store.db.integrity_problems()
        await record_scrub(box.store, report)
        swept = await sweep_orphans(box.store)
        if not report.ok:
            wake_daemon(box.layout)
    return ScrubResult(report, list(damaged), swept)


def agencies(data: str | None, search: str = "") -> list[Agency]:
    """The agency directory of the box at ``data`` (or the sample one), those matching
    ``search`` (words of the name or code, accents optional) when given."""
    directory = load_directory(Layout(Path(data))) if data else Directory.sample()
    return directory.search(search)

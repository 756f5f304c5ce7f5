"""TUI test fixtures: frozen cursor blink, Vietnamese by default, a real seeded data dir.

The data directory is built once per session with the gateway's own functions (``init``,
``send``, ``SyncState.store_inbound``) and copied for each test, which keeps the suite fast.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tui.seed import Seeded, seed
from tui.app import ClerkApp
from tui.i18n import set_language
from tui.widgets.common import TextField

SIZE = (120, 36)
NOW_MS = 1_795_000_000_000  # a fixed "now" for the link indicator


@pytest.fixture(autouse=True)
def frozen_ui(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No blinking cursor (stable screens) and Vietnamese unless a test says otherwise."""
    monkeypatch.setattr(TextField, "BLINK", False)
    monkeypatch.setenv("GATEWAY_LANG", "vi")
    set_language("vi")
    yield
    set_language("vi")


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    root = tmp_path_factory.mktemp("template")
    return asyncio.run(seed(root / "gw", root / "files"))


@pytest.fixture
def seeded(template: Seeded, tmp_path: Path) -> Seeded:
    data = tmp_path / "gw"
    shutil.copytree(template.data, data)
    return Seeded(data, template.outbound, template.inbound)


@pytest.fixture
def app(seeded: Seeded) -> ClerkApp:
    """The app with the periodic refresh effectively off; tests refresh explicitly."""
    return ClerkApp(seeded.data, clock=lambda: NOW_MS, refresh_s=3600)

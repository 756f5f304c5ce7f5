"""Item 7 in the TUI: remote text with escape sequences, controls, bidi and Rich markup is
shown escaped, inert and literal in the inbox/outbox tables and on the detail screen.

The data directory is filled through the daemon's own paths (``SyncState.store_inbound`` for a
received document, ``SyncState.apply_reply`` for a hub refusal and a recipient's 02 note) and a
directory file whose agency name is hostile; the check reads what the screen really draws.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from datetime import date
from pathlib import Path

from textual.app import App

from gateway.model import Attachment, Directory, Envelope, Urgency, uuid7
from gateway.protocol.messages import HubConfig, Receipt, Refusal, SyncReply
from gateway.services.box import wall_ms
from gateway.store.layout import Layout
from gateway.store.local import LocalStore
from gateway.store.syncstate import Outgoing, SyncState
from tests.hostile_text import attack, name_attack, unsafe
from tests.tui.helpers import main_screen, rows
from tests.tui.seed import HOME, OFFICE, OTHER, Seeded
from tui.app import ClerkApp
from tui.screens.detail import DetailScreen
from tui.widgets.main import DocTable

TALL = (160, 70)  # everything of the detail screen on screen at once


def hostile_envelope(now: int, sha: str, size: int) -> Envelope:
    return Envelope(
        id=uuid7(now, os.urandom), sender=OFFICE, recipients=(HOME,), number=attack("NUM"),
        notation=attack("NOTA"), doc_type=attack("TYPE"), subject=attack("SUBJ"),
        issue_place=attack("PLACE"), issue_date=date.today(), signer=attack("SIGNER"),
        urgency=Urgency.THUONG, due_date=None,
        attachments=(Attachment(name_attack("ATT"), "application/pdf", sha, size),
                     Attachment(attack("OLDATT"), "application/pdf", sha, size)),
        created_ms=now)


async def plant(seeded: Seeded) -> str:
    """A hostile directory name, inbound document, hub refusal and recipient note."""
    layout = Layout(seeded.data)
    directory = Directory.load(layout.directory)
    agencies = [replace(directory[c], name=f"Văn phòng {attack('AGENCY')} tỉnh")
                if c == OFFICE else directory[c] for c in directory]
    layout.directory.write_text(Directory(agencies).to_json(), encoding="utf-8")
    store = await LocalStore.open(layout, wall_ms)
    try:
        sha, size = store.blobs.put_bytes(b"%PDF-1.7 hostile")
        assert sha == hashlib.sha256(b"%PDF-1.7 hostile").hexdigest()
        env = hostile_envelope(wall_ms(), sha, size)
        ledger = SyncState(store)
        await ledger.store_inbound(90, env)
        now = wall_ms()
        reply = SyncReply(
            time_ms=now, accepted=(), need=(), inbox=(), config=HubConfig(16384, 0),
            refused=(Refusal(seeded.outbound[1], "envelope.malformed", attack("REASON")),),
            receipts=(Receipt(1, seeded.outbound[0], OTHER, "02", now, attack("NOTE")),))
        await ledger.apply_reply(Outgoing((), (), (), 0), reply, now)
        return env.id
    finally:
        await store.close()


def screen_text(app: App[None]) -> str:
    """What the compositor draws, line by line (the cells' characters, without styles)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def assert_inert(text: str, *labels: str) -> None:
    """No control but the line breaks between drawn lines; each label shown, escaped."""
    assert unsafe(text, newlines=True) == [], unsafe(text, newlines=True)[:10]
    for label in labels:
        assert f"{label}<" in text, f"{label} not shown"
    assert "␛[2J" in text  # shown, not obeyed


async def test_item7_inbox_and_outbox_tables_show_remote_text_escaped(seeded: Seeded) -> None:
    await plant(seeded)
    app = ClerkApp(seeded.data, clock=wall_ms, refresh_s=3600)
    async with app.run_test(size=TALL) as pilot:
        screen = main_screen(app)
        inbox = screen.query_one("#inbox-table", DocTable)
        cells = [cell for row in rows(inbox) for cell in row]
        assert all(unsafe(cell) == [] for cell in cells)  # not even a newline in a cell
        assert_inert(" | ".join(cells), "NUM", "SUBJ")
        assert "Văn phòng AGENCY<␛[2J…" in cells  # the sender's name, from the directory
        assert_inert(screen_text(app), "SUBJ")
        await pilot.press("2")
        await pilot.pause()
        outbox = screen.query_one("#outbox-table", DocTable)
        cells = [cell for row in rows(outbox) for cell in row]
        assert all(unsafe(cell) == [] for cell in cells)
        assert any(cell.startswith("Gửi lỗi: REASON<␛") for cell in cells)


async def test_item7_detail_screen_shows_every_remote_field_escaped(seeded: Seeded) -> None:
    doc_id = await plant(seeded)
    app = ClerkApp(seeded.data, clock=wall_ms, refresh_s=3600)
    async with app.run_test(size=TALL) as pilot:
        assert app.backend is not None
        app.push_screen(DetailScreen(app.backend, doc_id, refresh_s=3600))
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        shown = screen_text(app)
        assert_inert(shown, "NUM", "NOTA", "TYPE", "SUBJ", "PLACE", "SIGNER", "ATT", "OLDATT",
                     "AGENCY")
        assert "⟨U+202E⟩FDP.exe⟨U+202C⟩⟨U+2066⟩" in shown  # bidi controls marked
        # Markup shown as written: no crash on '[/]', no hyperlink, no style change.
        assert "[bold red]X[/] [link=https://evil.example]y[/link] [/]" in shown
        assert "ATT<⟨U+009B⟩31m" in shown and "[bold]x[reverse]>.pdf" in shown
        await pilot.press("escape")
        await pilot.pause()
        for outbound, label in ((seeded.outbound[0], "NOTE"), (seeded.outbound[1], "REASON")):
            app.push_screen(DetailScreen(app.backend, outbound, refresh_s=3600))
            await pilot.pause()
            assert isinstance(app.screen, DetailScreen)
            assert_inert(screen_text(app), label)
            await pilot.press("escape")
            await pilot.pause()


def test_planted_data_really_is_hostile(tmp_path: Path) -> None:
    """The fixture text holds every class the screens must neutralise."""
    text = attack("X") + name_attack("Y")
    found = set(unsafe(text))
    assert {"U+001B", "U+000D", "U+009B", "U+202E", "U+007F", "U+0009"} <= found

"""Sending from the clerk's screen with the agency's key on a USB token (SoftHSM2): the PIN is
asked in a masked prompt the Telex input method leaves alone; a wrong PIN or Esc sends
nothing and the clerk can try again."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from textual.pilot import Pilot

from gateway.signing import SigStatus, verify_pdf
from gateway.testbed.pdf_samples import make_pdf
from tests import softhsm
from tests.signing_helpers import trust
from tests.signing_pki import Pki
from tests.tui.conftest import NOW_MS, SIZE
from tests.tui.helpers import message, screen_text
from tests.tui.seed import OTHER, Seeded
from tests.tui.test_compose import fill, open_compose, outbound_count
from tui.app import ClerkApp
from tui.i18n import set_language
from tui.ime import Method
from tui.screens.compose import ComposeScreen
from tui.screens.prompt import PinEntry
from tui.widgets.common import TextField
from tui.widgets.compose import AttachmentPicker, RecipientPicker

pytestmark = softhsm.needs_softhsm
token = softhsm.token
WRONG = "aas2dd69"


@pytest.fixture
def token_app(seeded: Seeded, token: Pki) -> ClerkApp:
    """The seeded box with its signing key on the token, no ``pin_file``; Telex typing on."""
    config = seeded.data / "config.json"
    data = json.loads(config.read_text())
    data["signing"] = {"key": softhsm.signing_key(), "trust": {"roots": str(token.roots_pem)}}
    config.write_text(json.dumps(data))
    return ClerkApp(seeded.data, clock=lambda: NOW_MS, refresh_s=3600, ime=Method.TELEX)


async def prompt_shown(app: ClerkApp, pilot: Pilot[None]) -> PinEntry:
    for _ in range(200):
        if isinstance(app.screen, PinEntry):
            await pilot.pause()
            return app.screen
        await pilot.pause(0.02)
    raise AssertionError(f"no PIN prompt; message: {message(app)!r}")


async def send_settled(app: ClerkApp, screen: ComposeScreen, pilot: Pilot[None]) -> None:
    await screen.workers.wait_for_complete()
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_pin_asked_masked_wrong_then_cancel_then_right(
        token_app: ClerkApp, token: Pki, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    app = token_app
    pdf = tmp_path / "quyet-dinh.pdf"
    pdf.write_bytes(make_pdf("Quyet dinh so 21/QD-UBND"))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_compose(app, pilot)
        screen.query_one(RecipientPicker).chosen.append(OTHER)
        fill(screen, number="21/QĐ-UBND", subject="Quyết định khen thưởng")
        screen.query_one(AttachmentPicker).add_file(str(pdf))

        await pilot.press("ctrl+s")
        prompt = await prompt_shown(app, pilot)
        text = screen_text(app)
        assert "Nhập mã PIN của thiết bị ký số (USB token) để ký văn bản" in text
        assert "Thiết bị: gw-agency" in text
        await pilot.press(*WRONG)
        field = prompt.query_one("#pin", TextField)
        assert field.value == WRONG  # Telex left it alone: no â, no đ, no tone
        shown = screen_text(app)
        assert "•" * len(WRONG) in shown and WRONG not in shown
        await pilot.press("enter")
        await send_settled(app, screen, pilot)
        assert app.screen is screen
        assert message(app).startswith(
            "Chưa gửi được: Sai mã PIN của thiết bị ký số (USB token). Hãy nhập lại cẩn thận.")
        assert message(app).endswith("Nhấn Ctrl+S để nhập lại.")
        assert await outbound_count(app) == 2

        set_language("en")  # the next prompt and refusal in English (F2 is the main screen's)
        await pilot.press("ctrl+s")
        await prompt_shown(app, pilot)
        assert "Enter the PIN of the signing token (USB token) to sign the document" in (
            screen_text(app))
        await pilot.press("a", "escape")
        await send_settled(app, screen, pilot)
        assert message(app) == ("Not sent: PIN entry cancelled: the document was not signed and "
                                "not sent. Press Ctrl+S when ready to send.")
        assert await outbound_count(app) == 2
        set_language("vi")

        await pilot.press("ctrl+s")
        await prompt_shown(app, pilot)
        await pilot.press("enter")  # empty: asked again, nothing tried on the token
        assert "Hãy nhập mã PIN." in screen_text(app)
        await pilot.press(*softhsm.PIN, "enter")
        await send_settled(app, screen, pilot)
        assert not isinstance(app.screen, ComposeScreen | PinEntry)
        assert not any(isinstance(s, PinEntry) for s in app.screen_stack)  # nothing kept
        assert app.backend is not None
        docs = await app.backend.store.list_documents("out")
        new = next(d for d in docs if d.envelope.number == "21")
        assert new.queue_state == "pending"
        blob = app.backend.store.blobs.path(new.envelope.attachments[0].sha256)
        (agency,) = verify_pdf(blob, trust(token)).signatures
        assert agency.status is SigStatus.VALID_TRUSTED
        assert agency.signer == "UBND xã Tân Phong"
        (recorded,) = await app.backend.signatures(new)
        assert recorded.trusted
        assert all(pin not in screen_text(app) + message(app) + caplog.text
                   for pin in (softhsm.PIN, WRONG))

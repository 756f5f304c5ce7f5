"""The token PIN prompt on its own (no token needed): masked, typed as it is whatever the input
method, and drawn only with glyphs the box's console font has."""

from __future__ import annotations

import pytest

from tests.tui import test_console
from tests.tui.helpers import screen_text
from tests.tui.seed import Seeded
from tui.app import ClerkApp
from tui.ime import Method
from tui.screens.prompt import PinEntry
from tui.widgets.common import TextField

font = test_console.font
KEYS = "aas2dd68ow"  # Telex would make "ấ", "đ", "ơ"; VNI would put tones on the digits


@pytest.mark.parametrize("method", [Method.TELEX, Method.VNI])
async def test_pin_typed_as_it_is_masked_on_the_console(seeded: Seeded, font: set[str],
                                                        method: Method) -> None:
    app = ClerkApp(seeded.data, refresh_s=3600, console=True, ime=method)
    async with app.run_test(size=(80, 24)) as pilot:
        prompt = PinEntry("UBND XA BAN LANG")
        await app.push_screen(prompt)
        await pilot.press(*KEYS)
        assert prompt.query_one("#pin", TextField).value == KEYS
        drawn = test_console.drawn(app)
        assert not drawn - font, sorted(drawn - font)
        text = screen_text(app)
        assert "•" * len(KEYS) in text and KEYS not in text
        await pilot.press("enter")
        assert await prompt.answer == KEYS

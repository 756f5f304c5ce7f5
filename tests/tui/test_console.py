"""The console mode draws only what the console font of the image has, and a clerk can type
Vietnamese there with the built-in Telex or VNI input method."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.app import App

from gateway.model import State
from gateway.model.link import REASONS
from tests.psf import font_chars
from tests.tui.seed import Seeded, add_inbound
from tui import i18n
from tui.app import ClerkApp
from tui.files import Root
from tui.ime import Method, type_keys
from tui.screens.detail import DetailScreen
from tui.widgets.common import TextField

ROOT = Path(__file__).resolve().parents[2]
FONTS = Path("/usr/share/consolefonts")


def image_font() -> Path:
    """The font image/config makes the box use (console-setup's CODESET-FONTFACE<size>)."""
    config = dict(re.findall(r"^(COMMUNE_CONSOLE_\w+)=(\S+)$",
                             (ROOT / "image" / "config").read_text(), re.M))
    size = config["COMMUNE_CONSOLE_FONTSIZE"].split("x")[-1]
    return FONTS / (f"{config['COMMUNE_CONSOLE_CODESET']}-"
                    f"{config['COMMUNE_CONSOLE_FONTFACE']}{size}.psf.gz")


@pytest.fixture(scope="module")
def font() -> set[str]:
    path = image_font()
    if not path.exists():
        pytest.skip(f"{path} missing: apt-get install console-setup-linux (.ci/run does)")
    return font_chars(path)


def drawn(app: App[None]) -> set[str]:
    return {c for strip in app.screen._compositor.render_strips() for seg in strip
            for c in seg.text}


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
async def test_every_screen_draws_only_glyphs_of_the_console_font(
        seeded: Seeded, font: set[str], size: tuple[int, int]) -> None:
    usb = seeded.data.parent / "usb"
    (usb / "Công văn").mkdir(parents=True)
    (usb / "tờ trình.pdf").write_bytes(b"%PDF-1.7")
    app = ClerkApp(seeded.data, refresh_s=3600, console=True,
                   roots=lambda: [Root(usb, True), Root(seeded.data.parent, False)])
    missing: dict[str, str] = {}

    def check(where: str) -> None:
        for ch in drawn(app) - font:
            missing.setdefault(ch, where)

    async with app.run_test(size=size, notifications=True) as pilot:
        assert app.main is not None and app.backend is not None
        await add_inbound(seeded.data, 9, number="7", notation="CĐ-UBND",
                          subject="Công điện: sơ tán dân vùng sạt lở")
        await app.poll_store()
        await app.main.refresh_data()
        await pilot.pause()
        check("main screen, notification")
        await pilot.press("slash", "s")
        check("search")
        await pilot.press("escape", "2")
        await pilot.pause()
        check("outbox")
        app.push_screen(DetailScreen(app.backend, seeded.inbound[0], refresh_s=3600))
        await pilot.pause()
        check("detail")
        await pilot.press("v")
        await app.workers.wait_for_complete()
        await pilot.pause()
        check("attachment viewer")
        await pilot.press("escape", "e")
        await pilot.pause()
        check("export picker")
        await pilot.press("enter")
        await pilot.pause()
        check("export picker, USB folder")
        await pilot.press("escape", "3")
        await app.workers.wait_for_complete()
        await pilot.pause()
        check("status recorded, undo notice")
        await pilot.press("6")
        await pilot.pause()
        check("confirmation")
        await pilot.press("escape", "2")
        await pilot.pause()
        check("reason prompt")
        await pilot.press("escape", "escape", "f1")
        await pilot.pause()
        check("help")
        await pilot.press("f1", "n")
        await pilot.pause()
        check("compose")
        await pilot.press("f4", "enter")
        await pilot.pause()
        check("attachment picker")
    assert not missing, {c: (f"U+{ord(c):04X}", where) for c, where in missing.items()}


def test_every_word_the_screen_can_say_is_in_the_console_font(font: set[str]) -> None:
    """Text that appears only in some states (every message, label, link reason)."""
    texts = [v for pair in i18n._STRINGS.values() for v in pair]
    texts += [s.label_vi for s in State] + [p.vi for p in REASONS.values()]
    missing = {c for text in texts for c in text if c.isprintable()} - font
    assert not missing, sorted(missing)


@pytest.mark.parametrize(("keys", "method", "text"), [
    ("Quyeets ddinhj", Method.TELEX, "Quyết định"),
    ("Uyr ban nhaan daan xax", Method.TELEX, "Ủy ban nhân dân xã"),
    ("sow tans", Method.TELEX, "sơ tán"),
    ("nguwowif daan", Method.TELEX, "người dân"),
    ("Hoar toocs", Method.TELEX, "Hỏa tốc"),
    ("tieesng Vieejt", Method.TELEX, "tiếng Việt"),  # the tone before the hat
    ("thoong baos khaanr", Method.TELEX, "thông báo khẩn"),
    ("ass aaa", Method.TELEX, "as aa"),  # pressed twice: the mark is taken back
    ("Quye61t d9i5nh", Method.VNI, "Quyết định"),
    ("U3y ban nha6n da6n xa4", Method.VNI, "Ủy ban nhân dân xã"),
    ("so7 ta1n", Method.VNI, "sơ tán"),
    ("So61 12/UBND", Method.VNI, "Số 12/UBND"),
    ("Quyeets ddinhj", Method.OFF, "Quyeets ddinhj"),
])
def test_clerk_phrases_typed_key_by_key(keys: str, method: Method, text: str) -> None:
    assert type_keys(keys, method) == text


async def test_typing_in_a_field_on_the_console_and_f3_switches(seeded: Seeded) -> None:
    app = ClerkApp(seeded.data, refresh_s=3600, console=True)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.ime is Method.TELEX  # the console has no other way to type Vietnamese
        await pilot.press("slash")
        field = app.screen.query_one("#search", TextField)
        for key in "sow tans":
            await pilot.press("space" if key == " " else key)
        assert field.value == "sơ tán"
        await pilot.press("f3")  # VNI
        await pilot.press("space", "d", "9", "i", "5")
        assert field.value == "sơ tán đị"
        await pilot.press("f3")  # off
        assert str(app.ime) == str(Method.OFF)
        await pilot.press("a", "a")
        assert field.value == "sơ tán địaa"


async def test_off_by_default_outside_the_console(seeded: Seeded) -> None:
    app = ClerkApp(seeded.data, refresh_s=3600)
    async with app.run_test(size=(80, 24)):
        assert app.ime is Method.OFF

"""The console mode: styles for the Linux console (``TERM=linux``), whose font has only a few
hundred glyphs.

The image sets up Vietnamese-Fixed16 (image/config: every Vietnamese letter, the line-drawing
set, ``█``, ``●``), which lacks the half and eighth blocks Textual draws by default for
``tall``/``thick``/``wide``/``outer`` borders and for scrollbars. Here every such border is
drawn with lines and the scrollbar thumb with whole cells; tests/tui/test_console.py renders
every screen in this mode and checks each character against the font's own glyph table.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.widgets._toggle_button import ToggleButton

CONSOLE_CSS = Path(__file__).with_name("console.tcss")  # App(css_path=...) in console mode


class ConsoleScrollBarRender(ScrollBarRender):
    """A scrollbar thumb in whole cells (the font has no eighth blocks)."""

    VERTICAL_BARS: ClassVar[list[str]] = [" "] * 8
    HORIZONTAL_BARS: ClassVar[list[str]] = [" "] * 8


def use_console_glyphs() -> Callable[[], None]:
    """Swaps Textual's drawing of scrollbars and check boxes (``▐X▌``) for glyphs the console
    font has, process-wide; returns what puts them back."""
    saved = ScrollBar.renderer, ToggleButton.BUTTON_LEFT, ToggleButton.BUTTON_RIGHT
    ScrollBar.renderer = ConsoleScrollBarRender
    ToggleButton.BUTTON_LEFT, ToggleButton.BUTTON_RIGHT = "[", "]"

    def restore() -> None:
        ScrollBar.renderer, ToggleButton.BUTTON_LEFT, ToggleButton.BUTTON_RIGHT = saved

    return restore

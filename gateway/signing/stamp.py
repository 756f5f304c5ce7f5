"""The visible stamp the agency's signature puts on the page: where it goes and what it says.

Pure (no pyhanko), so the box's config can be loaded without importing the PDF stack; the
drawing is in :mod:`.stamp_font`. Time is printed in Vietnam's time (UTC+7) from the time the
caller gives (the box's clock is not trusted to know it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from gateway.signing.wording import VN_TIME

__all__ = ["DEFAULT_FONT", "IssueInfo", "Position", "StampConfig", "stamp_box", "stamp_text"]

DEFAULT_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


class Position(StrEnum):
    TOP_RIGHT = "top-right"
    TOP_LEFT = "top-left"
    BOTTOM_RIGHT = "bottom-right"
    BOTTOM_LEFT = "bottom-left"


@dataclass(frozen=True)
class StampConfig:
    """``page`` counts from 1; ``width``/``height``/``margin`` in PDF points (1/72 inch);
    ``box`` (x1, y1, x2, y2 in points from the bottom left) overrides ``position``;
    ``visible=False`` signs without a stamp."""

    font: Path = DEFAULT_FONT
    position: Position = Position.TOP_RIGHT
    page: int = 1
    width: float = 230.0
    height: float = 64.0
    margin: float = 24.0
    font_size: int = 8
    box: tuple[float, float, float, float] | None = None
    visible: bool = True


@dataclass(frozen=True)
class IssueInfo:
    """What the stamp says: the issuing agency, the document's number/notation, the time."""

    agency_name: str
    notation: str
    time: datetime


def stamp_text(issue: IssueInfo) -> str:
    when = issue.time.astimezone(VN_TIME).strftime("%H:%M:%S %d/%m/%Y")
    return (f"Ký bởi: {issue.agency_name}\nSố, ký hiệu: {issue.notation}\n"
            f"Thời gian ký: {when} (UTC+7)")


def stamp_box(cfg: StampConfig, media_box: tuple[float, float, float, float]
              ) -> tuple[int, int, int, int]:
    """The stamp's rectangle on a page with ``media_box`` (x1, y1, x2, y2)."""
    if cfg.box is not None:
        return (round(cfg.box[0]), round(cfg.box[1]), round(cfg.box[2]), round(cfg.box[3]))
    x1, y1, x2, y2 = media_box
    w, h, m = cfg.width, cfg.height, cfg.margin
    left = cfg.position in (Position.TOP_LEFT, Position.BOTTOM_LEFT)
    top = cfg.position in (Position.TOP_LEFT, Position.TOP_RIGHT)
    sx = x1 + m if left else x2 - m - w
    sy = y2 - m - h if top else y1 + m
    return (round(sx), round(sy), round(sx + w), round(sy + h))

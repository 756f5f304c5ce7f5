"""The box's own subcommands: init, status, scrub, agencies."""

from __future__ import annotations

import asyncio

from gateway.cli.render import emit_json, scrub_lines, status_text, warn
from gateway.cli.table import terminal_width
from gateway.model import Problem, Refused
from gateway.model.safe_text import safe_text
from gateway.services import admin
from gateway.services.labels import agency_label
from gateway.services.listing import box_names


async def init(data: str, agency: str, hub: str | None, directory: str | None,
               token: str | None) -> None:
    """Creates the data directory and, given a token, enrolls at once; prints the folder."""
    layout = await admin.init(data, agency, hub, directory)
    if token:
        if not hub:
            raise Refused(Problem("hub.unset", "--token cần đi kèm --hub.",
                                  "--token needs --hub."))
        from gateway.services.daemon import enroll  # loads the sync engine: only when asked

        await enroll(data, hub, token)
    print(layout.root)


async def status(data: str, as_json: bool, lang: str, try_now: bool = False) -> None:
    report = await admin.status(data, try_now=try_now)
    if as_json:
        emit_json(report.report())
    else:
        names = await asyncio.to_thread(box_names, data)
        warn(names.problem, lang)
        agency = agency_label(names.directory, report.config.agency, with_code=True)
        print(status_text(report, lang, agency, terminal_width()))


async def scrub(data: str, lang: str) -> bool:
    """Prints what the scrub found; ``True`` when everything checked out."""
    result = await admin.scrub(data)
    for line in scrub_lines(result, lang):
        print(line)
    return result.ok


def agencies(data: str | None, search: str, as_json: bool) -> None:
    entries = admin.agencies(data, search)
    if as_json:
        emit_json([a.to_dict() for a in entries])
        return
    for a in entries:
        parent = a.parent.text if a.parent else "-"
        print(f"{a.code.text:<16} {a.level}  {parent:<16} {safe_text(a.name)}")

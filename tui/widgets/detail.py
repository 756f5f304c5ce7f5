"""Renderables of the document detail screen: metadata, attachments, deliveries, history.

Every cell is a :class:`rich.text.Text`: a plain ``str`` cell would be parsed as Rich markup,
so a remote ``[/]`` would crash the screen and ``[link=…]`` would plant a hyperlink. Remote
text goes through :func:`tui.format.plain` (controls shown, bidi marked).
"""

from __future__ import annotations

from collections.abc import Mapping

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from gateway.model import Agency
from gateway.store.local import Doc, EventRow
from tui.format import (
    actor_label,
    agency_name,
    event_label,
    fmt_date,
    fmt_size,
    fmt_time,
    plain,
    state_label,
    summary_state,
    urgency_cell,
)
from tui.i18n import t


def _section(title: str, body: RenderableType) -> Group:
    return Group(Text(title, style="bold underline"), body, Text(""))


def _table(*columns: tuple[str, int | None]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, expand=True, pad_edge=False, show_edge=False)
    for name, ratio in columns:
        table.add_column(Text(name), ratio=ratio, overflow="fold")
    return table


def metadata(doc: Doc, directory: Mapping[str, Agency]) -> Table:
    env = doc.envelope
    grid = Table.grid(padding=(0, 2), expand=True)
    grid.add_column(style="bold", width=16)
    grid.add_column(ratio=1, overflow="fold")
    state = summary_state(doc)
    rows: list[tuple[str, Text]] = [
        ("f.code", plain(env.code)),
        ("f.type", plain(env.doc_type)),
        ("f.subject", plain(env.subject, style="bold")),
        ("f.sender", plain(f"{agency_name(directory, env.sender)} ({env.sender})")),
        ("f.recipients", Text("\n").join(plain(f"{agency_name(directory, c)} ({c})")
                                         for c in env.recipients)),
        ("f.urgency", urgency_cell(env.urgency)),
        ("f.issued", Text(fmt_date(env.issue_date))),
        ("f.place", plain(env.issue_place or "—")),
        ("f.signer", plain(env.signer or "—")),
        ("f.due", Text(fmt_date(env.due_date))),
        ("f.state", plain(state, style="bold red" if doc.queue_state == "dead" else "bold")),
        ("f.id", plain(env.id, style="dim")),
    ]
    for key, value in rows:
        grid.add_row(Text(t(key)), value)
    return grid


def attachments(doc: Doc) -> Group:
    atts = doc.envelope.attachments
    table = _table((t("col.name"), 5), (t("col.size"), 1), (t("col.sha"), 2))
    for a in atts:
        table.add_row(plain(a.name), Text(fmt_size(a.size)), plain(a.sha256[:16] + "…"))
    body: RenderableType = table if atts else Text(t("none"), style="dim")
    return _section(t("sec.attachments", n=len(atts)), body)


def deliveries(doc: Doc, directory: Mapping[str, Agency]) -> Group:
    table = _table((t("col.recipient"), 4), (t("col.state"), 3), (t("col.when"), 2))
    for d in doc.deliveries:
        label = state_label(d.state) + (f" {t('recall.pending')}" if d.recall_pending else "")
        table.add_row(Text(agency_name(directory, d.recipient)), Text(label),
                      Text(fmt_time(d.updated_ms)))
    return _section(t("sec.deliveries"), table)


def history(events: list[EventRow], directory: Mapping[str, Agency]) -> Group:
    table = _table((t("col.when"), 2), (t("col.actor"), 3), (t("col.event"), 4),
                   (t("col.note"), 4))
    for e in events:
        table.add_row(Text(fmt_time(e.at_ms)), Text(actor_label(e.actor, directory)),
                      Text(event_label(e)),
                      plain(e.detail if e.kind != "queued" else "", newlines=True))
    body: RenderableType = table if events else Text(t("none"), style="dim")
    return _section(t("sec.history"), body)

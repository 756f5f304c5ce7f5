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
from gateway.services.labels import fmt_day, fmt_size, fmt_time
from gateway.services.signatures import AttachmentVerdict
from gateway.signing.verdict import PdfState, SigStatus
from gateway.signing.wording import headline
from gateway.store.local import Doc, EventRow
from tui.format import (
    actor_label,
    agency_name,
    event_label,
    plain,
    state_label,
    summary_state,
    urgency_cell,
)
from tui.i18n import lang, t


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
        ("f.issued", Text(fmt_day(env.issue_date))),
        ("f.place", plain(env.issue_place or "—")),
        ("f.signer", plain(env.signer or "—")),
        ("f.due", Text(fmt_day(env.due_date))),
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


_GOOD = frozenset({SigStatus.VALID_TRUSTED})
_DOUBT = frozenset({SigStatus.VALID_UNTRUSTED_ROOT})


def _style(item: AttachmentVerdict) -> str:
    """Green: every signature valid and trusted; yellow: unsigned, not checked yet, or valid
    from an authority we do not trust; red: changed, broken, revoked, unreadable."""
    v = item.verdict
    if v is None or v.state is PdfState.UNSIGNED:
        return "yellow"
    if v.state is PdfState.UNREADABLE:
        return "bold red"
    statuses = {s.status for s in v.signatures}
    if statuses <= _GOOD:
        return "bold green"
    return "yellow" if statuses <= _GOOD | _DOUBT else "bold red"


def signatures(items: list[AttachmentVerdict]) -> Group:
    """One colour-coded plain-words line per PDF attachment."""
    lines: list[Text] = []
    for item in items:
        if not item.attachment.is_pdf:
            continue
        words = (t("sig.unchecked") if item.verdict is None
                 else headline(item.verdict, lang()))
        line = plain(item.attachment.name, style="bold")
        line.append(": ")
        line.append_text(plain(words, style=_style(item)))
        lines.append(line)
    body: RenderableType = Text("\n").join(lines) if lines else Text(t("sig.no_pdf"),
                                                                      style="dim")
    return _section(t("sec.signatures"), body)


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

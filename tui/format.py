"""Pure formatting: table rows, dates, sizes, agency names and event wording (no Textual).

Text that came from another party (every envelope field, agency names from the directory,
event kinds and notes, the hub's refusal reasons) leaves here only through
:func:`~gateway.model.safe_text.safe_text`, and only inside :class:`rich.text.Text`, which is
never parsed as markup: a subject holding ``[/]`` or ``[link=…]`` is shown as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from rich.text import Text

from gateway.model import Agency, State, Urgency
from gateway.model.safe_text import safe_text
from gateway.services import labels, triage
from gateway.store.local import Doc, EventRow
from tui.i18n import lang

URGENCY_STYLE = {
    Urgency.THUONG: "",
    Urgency.KHAN: "bold yellow",
    Urgency.THUONG_KHAN: "bold red",
    Urgency.HOA_TOC: "bold white on red",
    Urgency.HOA_TOC_HEN_GIO: "bold white on red",
}


def plain(text: str, style: str = "", *, newlines: bool = False) -> Text:
    """Remote text as a cell: controls shown, bidi marked, markup never interpreted."""
    return Text(safe_text(text, newlines=newlines), style=style)


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"





def urgency_label(u: Urgency) -> str:
    return labels.urgency_label(u, lang())


def state_label(s: State) -> str:
    return labels.state_label(s, lang())


def summary_state(doc: Doc) -> str:
    return labels.summary_state(doc, lang())


def urgency_cell(u: Urgency) -> Text:
    label = urgency_label(u)
    if u >= Urgency.HOA_TOC:
        label = f" {label.upper()} "
    return Text(label, style=URGENCY_STYLE[u])


def agency_name(directory: Mapping[str, Agency], code: str) -> str:
    return labels.agency_label(directory, code)


def peers(doc: Doc, directory: Mapping[str, Agency], width: int = 22) -> str:
    """The other side: the sender of an incoming document, the recipients of an outgoing one
    ('Sở Y tế +2' when there are several), fitted to ``width``."""
    env = doc.envelope
    if doc.direction == "in":
        return clip(agency_name(directory, env.sender), width)
    names = [agency_name(directory, c) for c in env.recipients]
    if len(names) <= 1:
        return clip("".join(names), width)
    more = f" +{len(names) - 1}"
    return clip(names[0], width - len(more)) + more


def doc_row(doc: Doc, directory: Mapping[str, Agency], subject_width: int = 40,
            peer_width: int = 22, state_width: int = 20, *,
            today: date | None = None) -> dict[str, Text]:
    """The cells of a document in the inbox or outbox table, by column key (a narrow table
    shows only some of them). Unread is bold, an overdue one says so in red."""
    env = doc.envelope
    urgent = env.urgency >= Urgency.HOA_TOC
    fresh = triage.unread(doc)
    main_style = "bold" if urgent or fresh else ""
    state = summary_state(doc)
    state_style = "bold red" if doc.queue_state == "dead" else ("bold" if fresh else "")
    if doc.direction == "out" and doc.queue_state == "done":
        state_style = "green"
    if today is not None and triage.overdue(doc, today):
        state, state_style = labels.overdue_label(state, lang()), "bold white on red"
    return {
        "col.code": Text(clip(safe_text(env.code), 18), style=main_style),
        "col.subject": Text(clip(safe_text(env.subject), subject_width),
                            style="bold red" if urgent else main_style),
        "peer": Text(peers(doc, directory, peer_width), style=main_style),
        "col.urgency": urgency_cell(env.urgency),
        "col.date": Text(labels.fmt_day(env.issue_date)),
        "col.state": Text(clip(safe_text(state), state_width), style=state_style),
    }


def actor_label(actor: str, directory: Mapping[str, Agency]) -> str:
    return labels.actor_label(actor, directory, lang())


def event_label(event: EventRow) -> str:
    """Plain words for an event-log kind, the same as ``gateway show`` prints."""
    return labels.event_label(event, lang())

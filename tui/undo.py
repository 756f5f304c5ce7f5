"""Undo of the clerk's last status, shared by the detail and main screens.

A status waits on the box for the undo window (:mod:`gateway.model.hold`); while it waits, 'u'
takes it back and nothing reaches the sender. After that the daemon is woken to send it, and
'u' says in plain words why it can no longer be taken back.
"""

from __future__ import annotations

from textual.app import App

from gateway.model import State
from gateway.model.hold import UNDO_MS, undo_left_s
from tui.backend import Backend, explain
from tui.format import state_label
from tui.i18n import t
from tui.messages import DocumentChanged
from tui.widgets.common import MessageBar

UNDO_S = UNDO_MS // 1000


def offer(backend: Backend) -> int:
    """Seconds left to undo the clerk's last status (0: nothing to undo now)."""
    if backend.last_mark is None:
        return 0
    return undo_left_s(backend.last_mark[1], backend.clock())


def after_mark(app: App[None], bar: MessageBar, result: str) -> None:
    """The result line offers undo while it can be taken back (in the message bar, not a
    notification that would cover it); when the window closes the offer goes from the line
    and the footer (the app's poll wakes the daemon once the status may leave)."""
    offered = f"{result} {t('undo.hint', s=UNDO_S)}"
    bar.show(offered)

    def closed() -> None:
        if bar.text == offered:  # the clerk has done nothing else since
            bar.show(result)
        app.screen.refresh_bindings()

    app.set_timer(UNDO_S + 0.1, closed)


async def take_back(app: App[None], backend: Backend, doc_id: str) -> tuple[str, bool]:
    """Withdraws the document's last status; (plain words, whether it is an error)."""
    try:
        code, back = await backend.withdraw(doc_id)
    except Exception as exc:  # a refusal in plain words; anything else logged by explain
        return explain(exc), True
    app.post_message(DocumentChanged(doc_id))
    app.screen.refresh_bindings()
    return t("undo.done", label=state_label(State(code)), back=state_label(back)), False

"""Widgets of the main screen: the link/queue line and the inbox/outbox tables."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from rich.text import Text
from textual.widgets import DataTable, Static

from gateway.model import Agency
from gateway.model.safe_text import safe_text
from gateway.store.local import Doc
from tui.format import doc_row
from tui.i18n import t
from tui.link import Link
from tui.messages import DocumentChosen

# Column sets from the widest to the narrowest, each (i18n key, width); the subject (width 0)
# takes what is left, and the table uses the first set that leaves it MIN_SUBJECT columns.
# The peer column says who sent (inbox) or who receives (outbox). At 80 columns only the
# subject, the urgency and the status remain; the rest is on the document's own screen.
LAYOUTS: tuple[tuple[tuple[str, int], ...], ...] = (
    (("col.code", 13), ("col.subject", 0), ("peer", 22), ("col.urgency", 11), ("col.date", 10),
     ("col.state", 20)),
    (("col.code", 13), ("col.subject", 0), ("peer", 16), ("col.urgency", 11), ("col.date", 10),
     ("col.state", 16)),
    (("col.code", 13), ("col.subject", 0), ("col.urgency", 11), ("col.state", 16)),
    (("col.subject", 0), ("col.urgency", 11), ("col.state", 16)),
)
MIN_SUBJECT = 40


def chrome(columns: tuple[tuple[str, int], ...]) -> int:
    """Cell padding and the vertical scrollbar."""
    return 2 * len(columns) + 2


def fit(width: int) -> tuple[tuple[tuple[str, int], ...], int]:
    """The widest column set that leaves the subject MIN_SUBJECT columns, and its width."""
    for columns in LAYOUTS:
        subject = width - sum(w for _, w in columns) - chrome(columns)
        if subject >= MIN_SUBJECT:
            return columns, subject
    narrowest = LAYOUTS[-1]
    return narrowest, max(MIN_SUBJECT, width - sum(w for _, w in narrowest) - chrome(narrowest))


class LinkBar(Static):
    """'Đang kết nối với tỉnh — đồng bộ lần cuối 2 phút trước — 3 văn bản chờ gửi'."""

    DEFAULT_CSS = """
    LinkBar { height: auto; padding: 0 1; text-style: bold; }
    LinkBar.-connected { background: $success 35%; }
    LinkBar.-stale, LinkBar.-never { background: $warning 40%; }
    LinkBar.-retrying, LinkBar.-unconfigured, LinkBar.-error { background: $error 45%; }
    """

    def __init__(self) -> None:
        super().__init__("", id="link", markup=False)
        self.text = ""

    def show(self, state: Link | None, head: str, queue: str = "") -> None:
        """One line when it fits, else the queue goes on a second line."""
        head, queue = safe_text(head), safe_text(queue)
        self.text = f"{head} — {queue}" if queue else head
        for s in Link:
            self.set_class(state is s, f"-{s.value}")
        self.set_class(state is None, "-error")
        mark = "● " if state is Link.CONNECTED else "! "  # both in the console font
        fits = len(self.text) + 4 <= (self.size.width or 120)
        self.update(mark + (self.text if fits or not queue else f"{head}\n  {queue}"))


class DocTable(DataTable[Text]):
    """Documents of one direction, newest first; Enter opens one."""

    DEFAULT_CSS = "DocTable { height: 1fr; }"

    def __init__(self, direction: str, *, id: str) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.direction = direction
        self.doc_ids: list[str] = []
        self.docs: list[Doc] = []
        self.directory: Mapping[str, Agency] = {}
        self.columns_shown, self.subject_width = LAYOUTS[0], MIN_SUBJECT
        self.today: date | None = None  # set by the screen: overdue rows say so

    def setup_columns(self) -> None:
        """(Re)builds the header in the current language and width, then the rows."""
        self.columns_shown, self.subject_width = fit(self.size.width)
        self.clear(columns=True)
        self.doc_ids = []
        peer = "col.from" if self.direction == "in" else "col.to"
        for key, width in self.columns_shown:
            self.add_column(t(peer if key == "peer" else key), width=width or self.subject_width)
        self.load(self.docs, self.directory)

    def on_resize(self) -> None:
        if fit(self.size.width) != (self.columns_shown, self.subject_width):
            self.setup_columns()

    def load(self, docs: list[Doc], directory: Mapping[str, Agency]) -> None:
        """Replaces the rows, keeping the cursor on the same document when it is still there."""
        current = self.current_id
        self.docs, self.directory = docs, directory
        self.clear()
        self.doc_ids = [d.envelope.id for d in docs]
        widths = dict(self.columns_shown)
        for doc in docs:
            cells = doc_row(doc, directory, self.subject_width, widths.get("peer", 22),
                            widths["col.state"], today=self.today)
            self.add_row(*(cells[key] for key, _ in self.columns_shown), key=doc.envelope.id)
        if current is not None:
            self.select_doc(current)

    @property
    def current_id(self) -> str | None:
        if not self.doc_ids or not 0 <= self.cursor_row < len(self.doc_ids):
            return None
        return self.doc_ids[self.cursor_row]

    def select_doc(self, doc_id: str) -> None:
        if doc_id in self.doc_ids:
            self.move_cursor(row=self.doc_ids.index(doc_id), animate=False)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(DocumentChosen(event.row_key.value))

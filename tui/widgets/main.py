"""Widgets of the main screen: the link/queue line and the inbox/outbox tables."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.widgets import DataTable, Static

from gateway.model import Agency
from gateway.model.safe_text import safe_text
from gateway.store.local import Doc
from tui.format import doc_row
from tui.i18n import t
from tui.link import Link
from tui.messages import DocumentChosen

# (i18n key, width); the subject takes what is left; the peer column says who sent (inbox)
# or who receives (outbox).
COLUMNS = (("col.code", 13), ("col.subject", 0), ("peer", 22), ("col.urgency", 11),
           ("col.date", 10), ("col.state", 20))
MIN_SUBJECT = 16
CHROME = 2 * len(COLUMNS) + 2  # cell padding and the vertical scrollbar


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
        mark = "● " if state is Link.CONNECTED else "○ "
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
        self.subject_width = 30

    def setup_columns(self) -> None:
        """(Re)builds the header in the current language and width, then the rows."""
        fixed = sum(width for _, width in COLUMNS)
        self.subject_width = max(MIN_SUBJECT, self.size.width - fixed - CHROME)
        self.clear(columns=True)
        self.doc_ids = []
        peer = "col.from" if self.direction == "in" else "col.to"
        for key, width in COLUMNS:
            self.add_column(t(peer if key == "peer" else key), width=width or self.subject_width)
        self.load(self.docs, self.directory)

    def on_resize(self) -> None:
        fixed = sum(width for _, width in COLUMNS)
        if max(MIN_SUBJECT, self.size.width - fixed - CHROME) != self.subject_width:
            self.setup_columns()

    def load(self, docs: list[Doc], directory: Mapping[str, Agency]) -> None:
        """Replaces the rows, keeping the cursor on the same document when it is still there."""
        current = self.current_id
        self.docs, self.directory = docs, directory
        self.clear()
        self.doc_ids = [d.envelope.id for d in docs]
        for doc in docs:
            self.add_row(*doc_row(doc, directory, self.subject_width), key=doc.envelope.id)
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

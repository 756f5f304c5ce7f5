"""Messages the TUI's widgets and screens send each other (dataclass messages, toolong-style)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class DocumentChosen(Message):
    """The clerk pressed Enter on a document in the inbox or outbox table."""

    doc_id: str


@dataclass
class DocumentChanged(Message):
    """The clerk changed a document (status, resend); lists should reload now."""

    doc_id: str


@dataclass
class DocumentSent(Message):
    """A composed document was stored and queued; ``code`` is its số/ký hiệu."""

    doc_id: str
    code: str


@dataclass
class RecipientsChanged(Message):
    """The set of chosen recipients in the compose form changed."""

    codes: tuple[str, ...]


@dataclass
class Notice(Message):
    """Plain words for the screen's message bar; ``error`` shows them as a problem."""

    text: str
    error: bool = False


@dataclass
class PickFile(Message):
    """The clerk asked for the file picker to choose an attachment."""

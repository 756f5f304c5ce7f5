"""Delivery state of one (document, recipient) pair, as a pure state machine.

Progress only moves forward. Receipts travel over a link that drops, so they may arrive
coalesced (``at hub`` never seen before ``delivered``) or twice: a forward jump is legal and a
repeat is a no-op, but going backwards or leaving a final state is refused. A recall (13) asks
the recipient; 15 accepts it (final), 16 refuses it and progress continues.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from gateway.errors import GatewayError


class State(enum.Enum):
    QUEUED = "queued"
    UPLOADING = "uploading"
    AT_HUB = "at_hub"
    DELIVERED = "delivered"
    RECEIVED = "01"
    ACCEPTED = "03"
    ASSIGNED = "04"
    PROCESSING = "05"
    DONE = "06"
    REJECTED = "02"
    RECALLED = "13"

    @property
    def label_vi(self) -> str:
        return _LABEL_VI[self]

    @property
    def label_en(self) -> str:
        return _LABEL_EN[self]

    @property
    def final(self) -> bool:
        return self in (State.DONE, State.REJECTED, State.RECALLED)


_CHAIN = (
    State.QUEUED, State.UPLOADING, State.AT_HUB, State.DELIVERED, State.RECEIVED,
    State.ACCEPTED, State.ASSIGNED, State.PROCESSING, State.DONE,
)
RANK = {s: i for i, s in enumerate(_CHAIN)}
_LABEL_VI = {
    State.QUEUED: "Chờ gửi", State.UPLOADING: "Đang gửi", State.AT_HUB: "Đã lên tỉnh",
    State.DELIVERED: "Đã chuyển tới nơi nhận", State.RECEIVED: "Đã đến",
    State.ACCEPTED: "Đã tiếp nhận", State.ASSIGNED: "Đã phân công xử lý",
    State.PROCESSING: "Đang xử lý", State.DONE: "Hoàn thành", State.REJECTED: "Bị từ chối",
    State.RECALLED: "Đã thu hồi",
}
_LABEL_EN = {
    State.QUEUED: "Queued", State.UPLOADING: "Uploading", State.AT_HUB: "At hub",
    State.DELIVERED: "Delivered", State.RECEIVED: "Arrived", State.ACCEPTED: "Accepted",
    State.ASSIGNED: "Assigned", State.PROCESSING: "In progress", State.DONE: "Done",
    State.REJECTED: "Rejected", State.RECALLED: "Recalled",
}


class Event(enum.Enum):
    UPLOAD_STARTED = "upload_started"
    HUB_ACCEPTED = "hub_accepted"
    DELIVERED = "delivered"
    STATUS_01 = "01"
    STATUS_02 = "02"
    STATUS_03 = "03"
    STATUS_04 = "04"
    STATUS_05 = "05"
    STATUS_06 = "06"
    RECALL_13 = "13"
    RECALL_AGREED_15 = "15"
    RECALL_REFUSED_16 = "16"


_TARGET = {
    Event.UPLOAD_STARTED: State.UPLOADING, Event.HUB_ACCEPTED: State.AT_HUB,
    Event.DELIVERED: State.DELIVERED, Event.STATUS_01: State.RECEIVED,
    Event.STATUS_03: State.ACCEPTED, Event.STATUS_04: State.ASSIGNED,
    Event.STATUS_05: State.PROCESSING, Event.STATUS_06: State.DONE,
}
STATUS_EVENTS = {e.value: e for e in Event if e.value.isdigit()}


class IllegalTransition(GatewayError):
    def __init__(self, state: State, event: Event) -> None:
        super().__init__(f"{event.value} is not allowed in state {state.value}")
        self.state = state
        self.event = event


@dataclass(frozen=True)
class Delivery:
    state: State = State.QUEUED
    recall_pending: bool = False


def apply(d: Delivery, event: Event) -> Delivery:
    """The next delivery state, or :class:`IllegalTransition`; repeats return ``d`` unchanged."""
    if event is Event.RECALL_13:
        return _recall(d, event)
    if event in (Event.RECALL_AGREED_15, Event.RECALL_REFUSED_16):
        if d.state is State.RECALLED and event is Event.RECALL_AGREED_15:
            return d
        if not d.recall_pending:
            raise IllegalTransition(d.state, event)
        if event is Event.RECALL_AGREED_15:
            return Delivery(State.RECALLED)
        return replace(d, recall_pending=False)
    if event is Event.STATUS_02:
        if d.state is State.REJECTED:
            return d
        if d.state.final:
            raise IllegalTransition(d.state, event)
        return Delivery(State.REJECTED)
    target = _TARGET[event]
    if d.state is target:
        return d
    if d.state.final or RANK[target] < RANK[d.state]:
        raise IllegalTransition(d.state, event)
    return Delivery(target) if target.final else replace(d, state=target)


def moves(d: Delivery, event: Event) -> bool:
    """Whether ``event`` would change ``d``: the statuses a clerk may still be offered (a
    repeat changes nothing, a step back or out of a final state is refused)."""
    try:
        return apply(d, event) != d
    except IllegalTransition:
        return False


def _recall(d: Delivery, event: Event) -> Delivery:
    if d.state is State.RECALLED or d.recall_pending:
        return d
    if d.state.final:
        raise IllegalTransition(d.state, event)
    if RANK[d.state] < RANK[State.AT_HUB]:
        return Delivery(State.RECALLED)  # never left the box: the recall simply cancels it
    return replace(d, recall_pending=True)


class Party(enum.Enum):
    """Which side of a document a status comes from."""

    SENDER = "sender"
    RECIPIENT = "recipient"


# Who may say what (QCVN 102 status packages, ../shared/DOMAIN.md): only the issuer recalls;
# only a recipient reports arrival, handling or rejection and answers a recall request.
SENDER_CODES = frozenset({"13"})
RECIPIENT_CODES = frozenset({"01", "02", "03", "04", "05", "06", "15", "16"})


def may_send(party: Party, code: str) -> bool:
    """Whether ``party`` may send status ``code`` for a document; unknown codes never."""
    return code in (SENDER_CODES if party is Party.SENDER else RECIPIENT_CODES)

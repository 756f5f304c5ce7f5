"""The pure rule of what a box offers again after a hub restore (gateway/model/reoffer.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.model.delivery import State
from gateway.model.reoffer import WINDOW_MS, SentDoc, epoch_changed, offer_again, resending

epochs = st.text("0123456789abcdef", max_size=4)
queue_states = st.sampled_from(("pending", "accepted", "done", "dead"))
states = st.lists(st.sampled_from(list(State)), min_size=1, max_size=4).map(tuple)
times = st.integers(0, 2**50)


@given(epochs, epochs)
def test_only_a_different_epoch_after_a_known_one_is_a_restore(before: str, seen: str) -> None:
    assert epoch_changed(before, seen) == (before != "" and seen != "" and before != seen)
    assert not epoch_changed(before, "")  # a reply without an epoch (older hub) says nothing
    assert not epoch_changed("", seen)  # the first epoch a box sees is only remembered


@given(queue_states, states, times, times)
def test_what_is_offered_again(queue: str, sts: tuple[State, ...], last: int, now: int) -> None:
    doc = SentDoc(queue, sts, last)
    again = offer_again(doc, now)
    if queue in ("pending", "dead"):  # offered anyway / a person decides
        assert not again
    elif queue == "accepted":  # the hub took the envelope, maybe not its attachments
        assert again
    else:  # confirmed whole: the window decides, finality does not
        assert again == (now - last <= WINDOW_MS)


@given(st.sampled_from(("accepted", "done")), states, times, times, st.integers(0, 2**40))
def test_a_later_restore_offers_no_more(queue: str, sts: tuple[State, ...], last: int,
                                        now: int, later: int) -> None:
    doc = SentDoc(queue, sts, last)
    if offer_again(doc, now + later):
        assert offer_again(doc, now)


def test_the_window_edge() -> None:
    doc = SentDoc("done", (State.DONE,), 1_000)
    assert offer_again(doc, 1_000 + WINDOW_MS)
    assert not offer_again(doc, 1_001 + WINDOW_MS)


@given(st.sampled_from((None, "pending", "accepted", "done", "dead")), states)
def test_resending_is_a_queued_document_the_hub_had_confirmed(queue: str | None,
                                                              sts: tuple[State, ...]) -> None:
    first_send = any(s in (State.QUEUED, State.UPLOADING) for s in sts)
    assert resending(queue, sts) == (queue in ("pending", "accepted") and not first_send)
    assert not resending(queue, ())

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.model import Delivery, Event, IllegalTransition, State, apply
from gateway.model.delivery import RANK, STATUS_EVENTS, moves


def run(*events: Event) -> Delivery:
    d = Delivery()
    for e in events:
        d = apply(d, e)
    return d


def test_happy_path_to_done() -> None:
    d = run(Event.UPLOAD_STARTED, Event.HUB_ACCEPTED, Event.DELIVERED, Event.STATUS_01,
            Event.STATUS_03, Event.STATUS_04, Event.STATUS_05, Event.STATUS_06)
    assert d.state is State.DONE and d.state.final


def test_coalesced_receipts_may_skip_forward() -> None:
    assert run(Event.STATUS_05).state is State.PROCESSING
    assert run(Event.DELIVERED).state is State.DELIVERED


def test_backwards_and_after_final_are_illegal() -> None:
    with pytest.raises(IllegalTransition):
        run(Event.STATUS_05, Event.STATUS_03)
    with pytest.raises(IllegalTransition):
        run(Event.STATUS_06, Event.STATUS_05)
    with pytest.raises(IllegalTransition):
        run(Event.STATUS_02, Event.STATUS_03)
    with pytest.raises(IllegalTransition):
        run(Event.STATUS_06, Event.STATUS_02)


def test_recall_before_leaving_the_box_cancels() -> None:
    assert run(Event.RECALL_13).state is State.RECALLED


def test_recall_after_delivery_asks_the_recipient() -> None:
    d = run(Event.DELIVERED, Event.RECALL_13)
    assert d.state is State.DELIVERED and d.recall_pending
    assert apply(d, Event.RECALL_AGREED_15).state is State.RECALLED
    refused = apply(d, Event.RECALL_REFUSED_16)
    assert refused == Delivery(State.DELIVERED) and not refused.recall_pending
    with pytest.raises(IllegalTransition):
        apply(refused, Event.RECALL_AGREED_15)


def test_labels_exist_in_both_languages() -> None:
    for s in State:
        assert s.label_vi and s.label_en


@given(st.lists(st.sampled_from(Event), max_size=30))
def test_random_sequences_keep_the_invariants(events: list[Event]) -> None:
    d = Delivery()
    for e in events:
        try:
            new = apply(d, e)
        except IllegalTransition:
            continue
        # A repeat is harmless: applying the same event again changes nothing (a second
        # refusal of a recall that is no longer pending is the one thing refused).
        if e is Event.RECALL_REFUSED_16:
            with pytest.raises(IllegalTransition):
                apply(new, e)
        else:
            assert apply(new, e) == new
        if d.state.final:
            assert new == d  # final states absorb everything
        elif not new.state.final and new.state is not State.REJECTED:
            assert RANK[new.state] >= RANK[d.state]  # progress never goes backwards
        if new.recall_pending:
            assert not new.state.final
        d = new


@given(st.lists(st.sampled_from(Event), max_size=30))
def test_apply_is_deterministic(events: list[Event]) -> None:
    def fold() -> list[object]:
        out: list[object] = []
        d = Delivery()
        for e in events:
            try:
                d = apply(d, e)
                out.append(d)
            except IllegalTransition as exc:
                out.append((exc.state, exc.event))
        return out

    assert fold() == fold()


def test_moves_names_the_statuses_a_clerk_may_still_be_offered() -> None:
    def offered(state: State) -> set[str]:
        return {c for c in ("03", "05", "06", "02") if moves(Delivery(state), STATUS_EVENTS[c])}

    assert offered(State.RECEIVED) == {"03", "05", "06", "02"}
    assert offered(State.PROCESSING) == {"06", "02"}
    assert offered(State.DONE) == offered(State.REJECTED) == set()

"""The rules that let an upload go on with a blob whose offset is known after a cut
(gateway/sync/after_cut.py), checked against their definitions on every queue hypothesis
makes: a cut blob is passed over only for one as urgent, never for a less urgent one."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.protocol.wire import BlobNeed
from gateway.sync.after_cut import cut_blobs, first_known, known_waits

# (urgency, cut) per blob; the digest is the blob's place in the list
queues = st.lists(st.tuples(st.integers(0, 3), st.booleans()), max_size=12)


def _needs(queue: list[tuple[int, bool]]) -> tuple[list[BlobNeed], set[str]]:
    needs = [BlobNeed(f"{i:064x}", 0, 100, urgency) for i, (urgency, _) in enumerate(queue)]
    unsure = {n.sha256 for n, (_, cut) in zip(needs, queue, strict=True) if cut}
    return needs, unsure


@given(queues)
def test_first_known_passes_over_cut_blobs_only_for_one_as_urgent(
        queue: list[tuple[int, bool]]) -> None:
    needs, unsure = _needs(queue)
    ordered = sorted(needs, key=lambda n: -n.urgency)  # the queue's order: urgency first
    ready = [n.sha256 for n in ordered]
    best = first_known(ready, {n.sha256: n for n in needs}, unsure)
    if not ready:
        assert best is None
        return
    assert best is not None
    first = ordered[0]
    if best.sha256 != first.sha256:
        assert first.sha256 in unsure and best.sha256 not in unsure
        assert best.urgency == first.urgency
        before = ready[:ready.index(best.sha256)]
        assert all(sha in unsure for sha in before)  # the first known one, not any
    else:
        same = [n for n in ordered if n.urgency == first.urgency]
        assert first.sha256 not in unsure or all(n.sha256 in unsure for n in same)


@given(queues, st.sets(st.integers(0, 11)))
def test_known_waits_is_a_known_blob_as_urgent_as_every_cut_one(
        queue: list[tuple[int, bool]], skipped: set[int]) -> None:
    needs, unsure = _needs(queue)
    skip = {f"{i:064x}" for i in skipped}
    waiting = [n for n in needs if n.sha256 not in skip]
    expected = any(n.sha256 not in unsure and all(
        n.urgency >= m.urgency for m in waiting if m.sha256 in unsure) for n in waiting)
    assert known_waits(needs, skip, unsure) == expected
    assert cut_blobs(needs, unsure) == len(unsure)


def test_a_less_urgent_known_blob_does_not_go_before_a_cut_urgent_one() -> None:
    urgent, bulk = BlobNeed("a" * 64, 10, 100, 3), BlobNeed("b" * 64, 0, 100, 0)
    needs = {urgent.sha256: urgent, bulk.sha256: bulk}
    assert first_known([urgent.sha256, bulk.sha256], needs, {urgent.sha256}) == urgent
    assert not known_waits([urgent, bulk], set(), {urgent.sha256})
    assert known_waits([urgent, bulk], {urgent.sha256}, {urgent.sha256})

from __future__ import annotations

import random
import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from gateway.queue import MAX_ATTEMPTS, Backoff, on_failure, ready_jobs
from gateway.queue.order import RETRY_BASE_S, RETRY_CAP_S, due_ms, retry_backoff
from gateway.store.outbound import QueuedDoc


def job(doc_id: str, urgency: int, created_ms: int, *, attempts: int = 0,
        next_ms: int = 0) -> QueuedDoc:
    return QueuedDoc(doc_id, "ab" * 32, urgency, created_ms, attempts, next_ms)


def test_urgent_first_then_oldest() -> None:
    jobs = [job("a", 0, 1), job("b", 3, 5), job("c", 3, 2), job("d", 1, 0)]
    assert [j.doc_id for j in ready_jobs(jobs, 0)] == ["c", "b", "d", "a"]


def test_waiting_jobs_are_not_ready_until_due() -> None:
    jobs = [job("a", 0, 1, next_ms=100), job("b", 0, 2, next_ms=300)]
    assert ready_jobs(jobs, 50) == [] and due_ms(jobs, 50) == 100
    assert [j.doc_id for j in ready_jobs(jobs, 100)] == ["a"] and due_ms(jobs, 100) == 300
    assert due_ms(jobs, 300) is None


def test_failures_back_off_growing_then_dead_letter_at_the_limit() -> None:
    backoff = retry_backoff(random.Random(7))
    doc, waits = job("a", 0, 0), []
    for _ in range(MAX_ATTEMPTS - 1):
        verdict = on_failure(doc, 1000, backoff)
        assert not verdict.dead
        waits.append((verdict.next_ms - 1000) / 1000)
        doc = job("a", 0, 0, attempts=verdict.attempts, next_ms=verdict.next_ms)
    assert waits == sorted(waits) and len(set(waits)) == len(waits)  # grow, jittered
    assert RETRY_BASE_S / 2 <= waits[0] <= RETRY_BASE_S and waits[-1] <= RETRY_CAP_S
    last = on_failure(doc, 1000, backoff)
    assert last.dead and last.attempts == MAX_ATTEMPTS


@given(st.integers(0, 200), st.integers(0, 2**32))
def test_backoff_bounds(failures: int, seed: int) -> None:
    b = Backoff(base_s=0.5, cap_s=300, rng=random.Random(seed))
    delay = b.delay_for(failures)
    if failures == 0:
        assert delay == 0
    else:
        assert 0.05 <= delay <= min(300, 0.5 * 2 ** (failures - 1)) + 1e-9


@given(st.integers(1, 200), st.integers(0, 2**32))
def test_retry_waits_keep_to_the_upper_half(failures: int, seed: int) -> None:
    b = retry_backoff(random.Random(seed))
    ceiling = b.ceiling(failures)
    assert ceiling / 2 <= b.delay_for(failures) <= ceiling


def test_backoff_resets_on_success() -> None:
    b = Backoff(rng=random.Random(0))
    for _ in range(5):
        b.failed()
    assert b.failures == 5
    b.succeeded()
    assert b.failures == 0 and b.delay_for(b.failures) == 0


@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 10**6)), max_size=30))
def test_order_is_total_and_urgency_monotone(specs: list[tuple[int, int]]) -> None:
    jobs = [job(str(i), u, c) for i, (u, c) in enumerate(specs)]
    ordered = ready_jobs(jobs, 0)
    assert len(ordered) == len(jobs)
    urgencies = [j.urgency for j in ordered]
    assert urgencies == sorted(urgencies, reverse=True)


def test_protocol_doc_states_the_retry_policy() -> None:
    """docs/protocol.md §9 says what the queue does; it must not drift from the constants."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "protocol.md").read_text("utf-8")
    base = re.search(r"tried again after (\d+) s\s+doubling", doc)
    limit = re.search(r"The (\d+)th such failure in a row", doc)
    assert base is not None and int(base.group(1)) == RETRY_BASE_S
    assert limit is not None and int(limit.group(1)) == MAX_ATTEMPTS

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from gateway.queue import Backoff, Failure, Job, JobState, on_failure, ready_jobs


def test_urgent_first_then_oldest() -> None:
    jobs = [Job("a", 0, 1), Job("b", 3, 5), Job("c", 3, 2), Job("d", 1, 0)]
    assert [j.doc_id for j in ready_jobs(jobs, 0)] == ["c", "b", "d", "a"]


def test_waiting_and_dead_jobs_are_not_ready() -> None:
    jobs = [Job("a", 0, 1, next_ms=100), Job("b", 0, 1, state=JobState.DEAD)]
    assert ready_jobs(jobs, 50) == []
    assert [j.doc_id for j in ready_jobs(jobs, 100)] == ["a"]


def test_permanent_failure_dead_letters_with_reason() -> None:
    job = on_failure(Job("a", 0, 0), Failure.PERMANENT, "hub refused", 10, Backoff())
    assert job.state is JobState.DEAD and job.last_error == "hub refused"


def test_transient_failures_back_off_but_never_die() -> None:
    backoff = Backoff(base_s=1, cap_s=60, rng=random.Random(1))
    job = Job("a", 0, 0)
    for _ in range(50):
        job = on_failure(job, Failure.TRANSIENT, "link down", 0, backoff)
    assert job.state is JobState.PENDING and job.attempts == 50
    assert 0 < job.next_ms <= 60_000


@given(st.integers(0, 200), st.integers(0, 2**32))
def test_backoff_bounds(failures: int, seed: int) -> None:
    b = Backoff(base_s=0.5, cap_s=300, rng=random.Random(seed))
    delay = b.delay_for(failures)
    if failures == 0:
        assert delay == 0
    else:
        assert 0.05 <= delay <= min(300, 0.5 * 2 ** (failures - 1)) + 1e-9


def test_backoff_resets_on_success() -> None:
    b = Backoff(rng=random.Random(0))
    for _ in range(5):
        b.failed()
    assert b.failures == 5
    b.succeeded()
    assert b.failures == 0 and b.delay_for(b.failures) == 0


@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 10**6)), max_size=30))
def test_order_is_total_and_urgency_monotone(specs: list[tuple[int, int]]) -> None:
    jobs = [Job(str(i), u, c) for i, (u, c) in enumerate(specs)]
    ordered = ready_jobs(jobs, 0)
    assert len(ordered) == len(jobs)
    urgencies = [j.urgency for j in ordered]
    assert urgencies == sorted(urgencies, reverse=True)

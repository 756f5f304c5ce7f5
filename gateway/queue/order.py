"""The outbound queue's policy: which document goes next, and what a failure costs it.

Highest urgency first, then oldest: a Hỏa tốc document never waits behind Thường bulk.

A failure that concerns one document — the hub answers its blob with a server error, refuses
its frames, or finds its blob does not match the digest though it checks out here — delays
that document alone: it is tried again after ``RETRY_BASE_S`` doubling up to ``RETRY_CAP_S``,
each wait drawn from the upper half of its ceiling (so waits grow, yet 108 boxes do not come
back in step). The ``MAX_ATTEMPTS``-th such failure in a row dead-letters it with the reason;
with these numbers (20 s doubling, 10 attempts) that is 1.4 to 2.8 hours after the first. A person
revives it with ``gateway retry``, which starts the count again. A success resets the count.

A link that is down (refused, reset, timed out) concerns no document: it counts towards
nothing here, so a week without a link dead-letters nothing. This module is pure; the state
lives in the store (:mod:`gateway.store.outbound`) and :mod:`gateway.queue.outbound` joins
the two.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from gateway.queue.backoff import Backoff

MAX_ATTEMPTS = 10
RETRY_BASE_S = 20.0
RETRY_CAP_S = 6 * 3600.0  # not reached before MAX_ATTEMPTS: every wait is longer than the last


class Job(Protocol):
    """What the policy needs to know of a queued document."""

    @property
    def doc_id(self) -> str: ...
    @property
    def urgency(self) -> int: ...
    @property
    def created_ms(self) -> int: ...
    @property
    def attempts(self) -> int: ...
    @property
    def next_ms(self) -> int: ...


J = TypeVar("J", bound=Job)


@dataclass(frozen=True)
class Verdict:
    """What one more failure does to a document: when it may go again, or that it is dead."""

    doc_id: str
    attempts: int
    next_ms: int
    dead: bool


def priority_key(job: Job) -> tuple[int, int, str]:
    return (-job.urgency, job.created_ms, job.doc_id)


def ready_jobs(jobs: Iterable[J], now_ms: int) -> list[J]:
    """Jobs that may be attempted now, in the order they should go."""
    return sorted((j for j in jobs if j.next_ms <= now_ms), key=priority_key)


def due_ms(jobs: Iterable[Job], now_ms: int) -> int | None:
    """When the first job that is waiting out a backoff may go again (None: none waits)."""
    return min((j.next_ms for j in jobs if j.next_ms > now_ms), default=None)


def retry_backoff(rng: random.Random) -> Backoff:
    return Backoff(base_s=RETRY_BASE_S, cap_s=RETRY_CAP_S, rng=rng, floor=0.5)


def on_failure(job: Job, now_ms: int, backoff: Backoff) -> Verdict:
    attempts = job.attempts + 1
    if attempts >= MAX_ATTEMPTS:
        return Verdict(job.doc_id, attempts, job.next_ms, dead=True)
    wait_ms = int(backoff.delay_for(attempts) * 1000)
    return Verdict(job.doc_id, attempts, now_ms + wait_ms, dead=False)

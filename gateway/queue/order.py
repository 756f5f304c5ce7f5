"""The outbound queue's order and retry rules, independent of storage.

Highest urgency first, then oldest: a Hỏa tốc document never waits behind Thường bulk. A
*transient* failure (link down, hub busy) is retried forever with backoff, because the link
will come back; a *permanent* one (the hub refused the document) goes to the dead-letter state
with its reason, where a person decides.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, replace

from gateway.queue.backoff import Backoff


class JobState(enum.Enum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DONE = "done"
    DEAD = "dead"


class Failure(enum.Enum):
    TRANSIENT = "transient"
    PERMANENT = "permanent"


@dataclass(frozen=True)
class Job:
    doc_id: str
    urgency: int
    created_ms: int
    state: JobState = JobState.PENDING
    attempts: int = 0
    next_ms: int = 0
    last_error: str = ""


def priority_key(job: Job) -> tuple[int, int, str]:
    return (-job.urgency, job.created_ms, job.doc_id)


def ready_jobs(jobs: Iterable[Job], now_ms: int) -> list[Job]:
    """Jobs that may be attempted now, in the order they should go."""
    ready = [j for j in jobs if j.state is JobState.PENDING and j.next_ms <= now_ms]
    return sorted(ready, key=priority_key)


def on_failure(job: Job, failure: Failure, reason: str, now_ms: int, backoff: Backoff) -> Job:
    attempts = job.attempts + 1
    if failure is Failure.PERMANENT:
        return replace(job, state=JobState.DEAD, attempts=attempts, last_error=reason)
    wait_ms = int(backoff.delay_for(attempts) * 1000)
    return replace(job, attempts=attempts, next_ms=now_ms + wait_ms, last_error=reason)

"""Pure queue logic: what goes next, and when a failed attempt is tried again."""

from gateway.queue.backoff import Backoff
from gateway.queue.order import Failure, Job, JobState, on_failure, priority_key, ready_jobs

__all__ = ["Backoff", "Failure", "Job", "JobState", "on_failure", "priority_key", "ready_jobs"]

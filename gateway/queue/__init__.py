"""The outbound queue: what goes next, and what a failure costs a document.

:mod:`gateway.queue.order` and :mod:`gateway.queue.backoff` are pure policy;
:mod:`gateway.queue.outbound` applies them to the state the store keeps.
"""

from gateway.queue.backoff import Backoff
from gateway.queue.order import MAX_ATTEMPTS, Job, Verdict, on_failure, priority_key, ready_jobs
from gateway.queue.outbound import Order, OutboundQueue, Outcome

__all__ = ["MAX_ATTEMPTS", "Backoff", "Job", "Order", "OutboundQueue", "Outcome", "Verdict",
           "on_failure", "priority_key", "ready_jobs"]

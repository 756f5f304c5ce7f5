"""Chained uploads (docs/protocol.md §4): a request goes on past its blob's last frame with the
next blob the queue lets go, so neither the round trip at a blob's end nor a second connection
to hide it is paid, and a cut costs one connection to open again instead of two.

A :class:`Chain` is the blobs one request carried, in order. The hub's answer names the blob it
was at: every blob before that one is complete and verified there, and the answer (an offset,
or a refusal) concerns that one alone; a cut leaves each of them as the hub holds it, which a
HEAD or the next sync reply tells. :func:`chain_next` is the rule that picks the next blob.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from gateway.protocol.wire import BlobNeed
from gateway.sync.link import HubUnavailable


@dataclass
class Chain:
    """The blobs of one upload request; ``position`` is how far the current (last) one went."""

    first: BlobNeed
    rest: list[BlobNeed] = field(default_factory=list)
    position: int = 0

    def __post_init__(self) -> None:
        self.position = self.first.offset

    @property
    def needs(self) -> list[BlobNeed]:
        return [self.first, *self.rest]

    @property
    def shas(self) -> list[str]:
        return [n.sha256 for n in self.needs]

    @property
    def current(self) -> BlobNeed:
        return self.rest[-1] if self.rest else self.first

    @property
    def whole(self) -> bool:
        """Every byte of the current blob has gone: a chain frame may follow it."""
        return self.position >= self.current.size

    def add(self, need: BlobNeed) -> None:
        self.rest.append(need)
        self.position = need.offset

    def answered(self, blob: str) -> tuple[list[BlobNeed], BlobNeed]:
        """The blobs before the one an answer names (complete at the hub), and that one ("" is
        the request's first); an answer about a blob this request did not carry is no answer."""
        needs, shas = self.needs, self.shas
        if not blob:
            return [], self.first
        if blob not in shas:
            raise HubUnavailable(f"answer about blob {blob[:12]}, not in the request", "reply")
        at = shas.index(blob)
        return needs[:at], needs[at]


def chain_next(ready: Sequence[str], needs: Mapping[str, BlobNeed], others: Mapping[str, int],
               skip: Collection[str]) -> BlobNeed | None:
    """The blob a chain goes on with: the first of the queue's ``ready`` order that needs
    sending, is not in ``skip`` (carried by this chain already, or cut and to be asked about
    first, which a request cannot do halfway) and not running on another request (``others``:
    digest to urgency), provided it outranks every one of those. So the urgent lane's chain
    carries only what is as urgent, and a bulk chain never starts a blob beside another bulk
    request; a blob the queue orders later is never less urgent, so the look ends there."""
    top = max(others.values(), default=-1)
    for sha in ready:
        if sha in skip or sha in others or sha not in needs:
            continue
        return needs[sha] if needs[sha].urgency > top else None
    return None

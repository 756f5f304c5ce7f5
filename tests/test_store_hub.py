"""The hub's store on a real SQLite file.

The inbox's first cut by stored bytes is made in SQL (a running sum), so a backlog of large
envelopes is never loaded; it must pick exactly what the hub's own :func:`take` would pick from
the same sizes, or a reply could lose its one-item-at-least progress guarantee.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from gateway.hub.reply import take
from gateway.model import Directory, Envelope, Urgency, envelope_to_dict
from gateway.store.blobs import BlobStore
from gateway.store.db import Database
from gateway.store.hub.documents import HubStore
from gateway.store.hub.schema import HUB_MIGRATIONS
from tests.factories import envelope

A = "000.00.31.H35"
B = "000.00.32.H35"
NOW = 1_750_000_000_000


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[HubStore]:
    db = await Database.open(tmp_path / "hub.sqlite3", HUB_MIGRATIONS)
    try:
        yield HubStore(db, BlobStore(tmp_path / "blobs"), Directory.sample(), lambda: NOW)
    finally:
        await db.close()


def stored_bytes(env: Envelope) -> int:
    """The envelope as the store keeps it (UTF-8 JSON), in bytes."""
    return len(json.dumps(envelope_to_dict(env), ensure_ascii=False, sort_keys=True).encode())


async def test_inbox_cut_by_stored_bytes_is_take(store: HubStore) -> None:
    urgencies = [Urgency.THUONG, Urgency.HOA_TOC, Urgency.KHAN, Urgency.THUONG, Urgency.HOA_TOC]
    # No attachments: each document routes the moment it is accepted.
    envs = [envelope(A, (B,), urgency=u, subject="Báo cáo " + "đ" * (40 * n), attachments=())
            for n, u in enumerate(urgencies)]
    accepted = await store.accept(A, [(env, None) for env in envs])
    assert accepted.accepted == tuple(env.id for env in envs)

    everything = await store.inbox(B, budget=2**40)
    assert [i.env.urgency for i in everything] == sorted(urgencies, reverse=True)
    seqs = [i.seq for i in everything]
    sizes = [stored_bytes(i.env) for i in everything]
    budgets = {0, 1, sizes[0] - 1, sizes[0], sizes[0] + sizes[1] - 1, sizes[0] + sizes[1],
               sum(sizes) // 2, sum(sizes) - 1, sum(sizes)}
    for budget in sorted(budgets):
        got = [i.seq for i in await store.inbox(B, budget)]
        assert got == seqs[:take(sizes, budget)], budget


async def test_inbox_is_empty_and_acked_entries_leave_it(store: HubStore) -> None:
    assert await store.inbox(B) == []
    env = envelope(A, (B,), attachments=())
    await store.accept(A, [(env, None)])
    [item] = await store.inbox(B)
    assert await store.ack(B, [item.seq]) == frozenset({A})
    assert await store.inbox(B) == []
    assert [(r.doc, r.event) for r in await store.receipts(A, 0)] == [
        (env.id, "at_hub"), (env.id, "delivered")]

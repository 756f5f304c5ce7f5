"""Which dictionary a blob of an upload may be decoded against (docs/protocol.md §4).

The sender names it (``Upload-Dict`` for a request's first blob, the chain frame for a
chained one); the hub uses it only if it holds that blob complete and verified and the caller
may read it, so that a dictionary can never become an oracle on bytes the caller could not
download anyway.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from gateway.hub.state import HubState
from gateway.protocol import pdf_streams
from gateway.protocol.compression import CompressionError
from gateway.protocol.crossdoc import DICT_REFUSED, Reference, parse_references
from gateway.protocol.limits import MAX_XDOC_DICT, XDOC_WAIT_S

FINISH_POLL_S = 0.05


async def dictionary_for(hub: HubState, agency: str, sha: str, named: str | None, *,
                         expanded: bool = False) -> bytes | None:
    """The content ``named`` (an ``Upload-Dict`` value) stands for, when uploading ``sha``:
    for each blob it names in turn, its first bytes or, ``expanded``, those of its expanded
    form (§7, recoded frames); ``409`` with ``Upload-Dict-Refused`` when the caller may not
    use one of them."""
    if named is None:
        return None
    try:
        refs = parse_references(named)
    except CompressionError as exc:
        raise _refused("malformed", str(exc)) from None
    contents = [await _content(hub, agency, sha, ref, expanded) for ref in refs]
    hub.count("patch_dict")
    return b"".join(contents)


async def _content(hub: HubState, agency: str, sha: str, ref: Reference,
                   expanded: bool) -> bytes:
    """One reference's part of the dictionary, under the rules above."""
    blobs = hub.store.blobs
    if ref.sha256 != sha and not blobs.has(ref.sha256):
        await _finishing(hub, ref.sha256)
    if ref.sha256 == sha or not blobs.has(ref.sha256) \
            or not await hub.store.may_read(agency, ref.sha256):
        raise _refused("unknown", "no complete blob of yours has this digest")
    try:
        size = blobs.size(ref.sha256)
        if expanded:
            prefix = await asyncio.to_thread(blobs.read_range, ref.sha256, 0,
                                             min(size, MAX_XDOC_DICT))
            content = await asyncio.to_thread(pdf_streams.expanded, prefix, ref.length)
        elif ref.length <= size:
            content = await asyncio.to_thread(blobs.read_range, ref.sha256, 0, ref.length)
        else:
            content = b""
    except OSError:  # swept meanwhile
        raise _refused("unknown", "no complete blob of yours has this digest") from None
    if len(content) != ref.length:
        raise _refused("length", "the reference is longer than its blob")
    return content


async def _finishing(hub: HubState, sha: str) -> None:
    """Waits (up to XDOC_WAIT_S) while an upload of ``sha`` is running: a gateway starts its
    next blob while the previous one is in its last frame, and names that one, the nearest
    in content, as dictionary. A cut ends the wait early; the caller then checks as always."""
    deadline = asyncio.get_running_loop().time() + XDOC_WAIT_S
    while asyncio.get_running_loop().time() < deadline:
        slot = hub.uploads.get(sha)
        if slot is None or not slot.lock.locked():
            return
        await asyncio.sleep(FINISH_POLL_S)


def _refused(token: str, reason: str) -> web.HTTPConflict:
    return web.HTTPConflict(headers={DICT_REFUSED: token},
                            text=f"dictionary refused: {reason}\n")

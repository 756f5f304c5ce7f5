"""The province's headline figure: the share of documents digitally signed, per issuing agency.

A document counts as *issued* once the hub routed it (every blob uploaded and verified), and
as *signed* when at least one of its PDF attachments has a valid signature chaining to the
hub's trust roots. A PDF the hub has not checked yet counts as unsigned until it is. Shown in
``/v1/fleet`` (``signatures``) and ``/metrics`` (exact integer counters per agency).
"""

from __future__ import annotations

from gateway.hub.state import HubState


def _share(signed: int, issued: int) -> float | None:
    return None if issued == 0 else round(signed / issued, 4)


async def signed_share_json(hub: HubState) -> dict[str, object]:
    """Per agency (with its directory name) and for the province."""
    counts = await hub.store.signatures.signed_counts()
    directory = hub.store.directory
    issued, signed = sum(c.issued for c in counts), sum(c.signed for c in counts)
    return {
        "agencies": [{"agency": c.agency,
                      "name": directory[c.agency].name if c.agency in directory else "?",
                      "issued": c.issued, "signed": c.signed,
                      "share": _share(c.signed, c.issued)} for c in counts],
        "province": {"issued": issued, "signed": signed, "share": _share(signed, issued)},
    }

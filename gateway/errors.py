"""The project's one exception root, so a broad ``except`` never swallows a refusal.

::

    GatewayError
    ├── Refused              model: input a person must fix (bilingual Problems, stable codes)
    ├── IllegalTransition    model: a delivery event that may not happen in this state
    ├── WireError            protocol: a sync body a peer must not have sent
    │   └── CompressionError
    │       └── BodyTooLarge
    ├── FrameError           protocol: a blob frame that breaks its own header
    ├── StoreError           store: the local database or blob store cannot be used
    │   ├── SchemaTooNew
    │   └── BlobError
    │       └── BlobCorrupt
    ├── PkiError             security: a key, certificate or CSR that does not check out
    └── HubError             sync (gateway/sync/link.py): the hub could not be asked, or said no
        ├── HubUnavailable   try again later (link down, unreadable reply, 503 Retry-After)
        │   └── HubFault     a server error for this request: counts against its documents
        ├── BlobRejected     422: every byte arrived and they did not match the digest
        └── HubRefused       the hub refuses this request as it stands

None of them is a ``ValueError``: code that parses text with the standard library catches
``ValueError`` from it, and must not catch a refusal meant for the person by accident.
"""

from __future__ import annotations


class GatewayError(Exception):
    """Root of every error this project raises on purpose."""


class StoreError(GatewayError):
    """The local store cannot do what was asked (corrupt, too new, full)."""

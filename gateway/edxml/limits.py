"""Every bound the edXML reader enforces, in one place, so the hub can configure them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ParseLimits:
    """Defaults fit the hub: a package is held in memory at most ``max_total_decoded`` bytes of
    attachments plus small header text; everything else is streamed and counted."""

    max_package_bytes: int = 64 * 2**20
    max_depth: int = 32
    max_elements: int = 20_000
    max_text_chars: int = 1 * 2**20  # any one non-attachment element's text
    max_attachments: int = 50
    max_attachment_bytes: int = 40 * 2**20  # decoded bytes of one attachment
    max_total_decoded: int = 48 * 2**20  # decoded bytes of all attachments together
    max_unreadable_payload_chars: int = 64 * 2**10  # non-base64 payload kept verbatim
    max_leading_junk: int = 16  # bytes before '<?xml' some writers leave (e.g. "1212")
    max_zip_members: int = 4
    max_unzipped_bytes: int = 40 * 2**20


DEFAULT_LIMITS = ParseLimits()

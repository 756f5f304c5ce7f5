"""docs/protocol.md and gateway/protocol/limits.py say the same numbers (datasette's test_docs).

Each row names a phrase of the document with the number in it, and the constant it must equal;
a phrase that disappears from the document fails the test too, so an edit that drops or
rewords a limit has to come here and say which constant it now describes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.protocol import limits

DOC = (Path(__file__).resolve().parents[1] / "docs" / "protocol.md").read_text(encoding="utf-8")
UNITS = {"": 1, "B": 1, "KiB": 1024, "MiB": 2**20}

# (regular expression whose one group holds a number and its unit, the constant's name)
ROWS: list[tuple[str, str]] = [
    (r"\(body ≤ (\d+ KiB)\)", "MAX_ENROLL_BODY"),
    (r"one zstd frame \(level (\d+),", "ZSTD_LEVEL"),
    (r"window\s+≤ (\d+ MiB)", "MAX_ZSTD_WINDOW"),
    (r"compressed body ≤ (\d+ MiB)", "MAX_COMPRESSED_BODY"),
    (r"decompressed ≤ (\d+ MiB)", "MAX_BODY"),
    (r"a value over (\d+) characters counts as none", "MAX_DICTS_HEADER"),
    (r"strings ≤ (\d+) bytes", "MAX_STR_BYTES"),
    (r"lists ≤ (\d+),", "MAX_ARRAY"),
    (r"maps ≤ (\d+) entries", "MAX_MAP"),
    (r"at most ([\d ]+) items per body", "MAX_ITEMS"),
    (r"nesting ≤ (\d+) \(request\)", "MAX_DEPTH_REQUEST"),
    (r"or (\d+)\s+\(reply\)", "MAX_DEPTH_REPLY"),
    (r"\| `v` \| int \| protocol version, `(\d+)`", "VERSION"),
    (r"envelope schema §6\), at most (\d+) per request", "MAX_OUT"),
    (r"durably stored on the gateway, at most (\d+)", "MAX_ACKS"),
    (r"`note` str \(≤ (\d+) chars\)", "MAX_NOTE"),
    (r"`at_ms` int — at most (\d+)", "MAX_STATUSES"),
    (r"long-poll seconds \(0–(\d+);", "MAX_WAIT"),
    (r"accepted again\), ≤ (\d+)", "MAX_ACCEPTED"),
    (r"dead-lettered on the gateway with the reason\), ≤ (\d+)", "MAX_REFUSED"),
    (r"most urgent first, at most (\d+)", "MAX_INBOX"),
    (r"strictly ascending, at most (\d+)", "MAX_RECEIPTS"),
    (r"`raw_len` ≤ (\d+ MiB)", "MAX_FRAME_RAW"),
    (r"may name up to `N` \(at most (\d+)\)", "MAX_XDOC_REFS"),
    (r"inflated \(at most (\d+) streams", "MAX_RECODE_STREAMS"),
    (r"streams, (\d+ MiB) deflated and", "MAX_RECODE_STREAM"),
    (r"deflated and\s+(\d+ MiB) inflated each", "MAX_RECODE_INFLATED"),
    (r"inflated each, (\d+ MiB) in all", "MAX_RECODE_TOTAL"),
    (r"declared size at most (\d+) × `raw_len`", "MAX_RECIPE_PER_RAW"),
    (r"× `raw_len` \+ (\d+ KiB)", "MAX_RECIPE_SLACK"),
    (r"`wire_len` ≤ `raw_len \+ (\d+ KiB)`", "MAX_FRAME_OVERHEAD"),
    (r"per\s+frame \((\d+ KiB) …", "MIN_FRAME"),
    (r"per\s+frame \(\d+ KiB … (\d+ MiB)", "MAX_FRAME"),
    (r"(\d+ KiB) before anything is measured", "START_FRAME"),
    (r"aims at about (one) second of link time", "FRAME_TARGET_S"),
    (r"up to\s+(\d+ KiB) of msgpack", "REPLY_BUDGET"),
    (r"msgpack encoding is over (\d+ KiB)", "MAX_ENVELOPE_BYTES"),
    (r"signature roots \(size ≤ (\d+ MiB)\)", "MAX_TRUST_BUNDLE"),
    (r"at most (\d+) statuses per document from one agency", "MAX_STATUSES_PER_DOC"),
    (r"at most (\d+) statuses from one agency", "MAX_STATUSES_PER_WINDOW"),
    (r"from one agency in (\d+) seconds", "STATUS_WINDOW_S"),
    (r"`last_error` str \(≤ (\d+) chars", "MAX_LAST_ERROR"),
    (r"`X-Sync-Epoch`\), 1…(\d+) chars", "MAX_EPOCH"),
    (r"at most (\d+) documents\s+per page", "MAX_RESTORE_PAGE"),
    (r"restore reply ≤ (\d+ MiB)", "MAX_RESTORE_BODY"),
    (r"`days` \(1–(\d+);", "MAX_RESTORE_DAYS"),
    (r"another blob, at least (\d+ KiB)", "MIN_XDOC_REF"),
    (r"and at most (\d+ MiB) \(a\s+value over", "MAX_XDOC_DICT"),
    (r"\(this hub: (\d+ MiB)\)", "MAX_XDOC_DICT"),
    (r"value over (\d+) characters, with a leading zero", "MAX_XDOC_HEADER"),
    (r"waits for it to\s+end, up to (\d+) s", "XDOC_WAIT_S"),
    (r"frames of at most (\d+ KiB) \(a slow link's\)", "SLOW_LINK_FRAME"),
]
WORDS = {"one": 1, "two": 2}


def _value(text: str) -> int:
    """``16 KiB`` → 16384, ``100 000`` → 100000, ``one`` → 1."""
    if text in WORDS:
        return WORDS[text]
    found = re.fullmatch(r"([\d ]+?)\s*(KiB|MiB|B)?", text.strip())
    assert found is not None, text
    return int(found.group(1).replace(" ", "")) * UNITS[found.group(2) or ""]


@pytest.mark.parametrize(("pattern", "name"), ROWS, ids=[r[1] for r in ROWS])
def test_documented_limit_equals_the_constant(pattern: str, name: str) -> None:
    found = re.search(pattern, DOC)
    assert found is not None, f"docs/protocol.md no longer states {name}: {pattern}"
    assert _value(found.group(1)) == getattr(limits, name), (name, found.group(0))


def test_every_limit_is_documented_or_deliberately_internal() -> None:
    """A new constant in limits.py must be stated in the document (a row above) or listed
    here as an implementation detail peers need not know."""
    internal = {"SYNC_TYPE", "FRAMES_TYPE", "MAX_INT", "MAX_NEED", "MAX_REQUEST_BODY",
                "FRAME_ZSTD_LEVEL", "MAX_AGENCY", "MAX_CODE", "MAX_DOC_ID",
                "MAX_REASON", "MAX_VERSION_TEXT", "XDOC_LEVEL",
                "FRAME_SLOW_LEVEL", "SLOW_TABLE_LOG", "MAX_RECODE_BLOB"}
    documented = {name for _, name in ROWS}
    public = {name for name in vars(limits) if name.isupper()}
    assert public - documented - internal == set()

"""zstd for sync bodies, with versioned trained dictionaries (docs/protocol.md §3).

A sync body is a few hundred bytes of msgpack that repeats the same keys, agency codes and
administrative phrases every time; a dictionary trained on such bodies roughly halves it again,
which matters on a metered 3G link. Dictionaries are shipped as package data
``gateway/protocol/dicts/<id>.zdict`` and never change once released: a new one gets a new id and
peers negotiate the newest id both hold (``X-Sync-Dicts``), falling back to ``0`` (none).

Decompression treats its input as hostile: the body must be exactly one zstd frame that
declares its content size, and that size is checked against the caller's limit *before* zstd
allocates the output buffer, so a bomb is refused without allocating it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from importlib import resources

import zstandard

from gateway.protocol.limits import (
    MAX_BODY,
    MAX_COMPRESSED_BODY,
    MAX_DICTS_HEADER,
    MAX_ZSTD_WINDOW,
    ZSTD_LEVEL,
)
from gateway.protocol.wire import WireError

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_DICT_FILE = re.compile(r"([1-9][0-9]{0,5})\.zdict")
_ID_TOKEN = re.compile(r"[0-9]{1,6}")


class CompressionError(WireError):
    """A body that cannot be decompressed within the rules (400)."""


class BodyTooLarge(CompressionError):
    """A body over the input or output limit, a zstd bomb included (413)."""


def shipped_dicts() -> dict[int, bytes]:
    """The dictionaries in ``gateway/protocol/dicts``, keyed by id."""
    found: dict[int, bytes] = {}
    for entry in resources.files("gateway.protocol").joinpath("dicts").iterdir():
        match = _DICT_FILE.fullmatch(entry.name)
        if match and entry.is_file():
            found[int(match.group(1))] = entry.read_bytes()
    return found


class SyncCompressor:
    """Compresses and decompresses sync bodies; thread-safe (contexts are made per call).

    ``dicts`` defaults to the shipped dictionaries; each is parsed, precomputed for level 3
    and checked with a round trip once here, so a broken file fails at start-up, not mid-sync.
    """

    def __init__(self, dicts: Mapping[int, bytes] | None = None) -> None:
        raw = shipped_dicts() if dicts is None else dict(dicts)
        self._dicts: dict[int, zstandard.ZstdCompressionDict] = {}
        for dict_id, data in sorted(raw.items()):
            if not 0 < dict_id < 10**6:
                raise ValueError(f"dictionary id {dict_id} out of range")
            zdict = zstandard.ZstdCompressionDict(data, dict_type=zstandard.DICT_TYPE_FULLDICT)
            zdict.precompute_compress(level=ZSTD_LEVEL)
            self._dicts[dict_id] = zdict
            probe = b"gateway dictionary self-test"
            if self.decompress(self.compress(probe, dict_id), dict_id) != probe:
                raise ValueError(f"dictionary {dict_id} fails its round trip")

    def ids(self) -> tuple[int, ...]:
        """Ids of the dictionaries held, ascending, without 0 (which is always possible)."""
        return tuple(self._dicts)

    def newest(self) -> int:
        return max(self._dicts, default=0)

    def offer(self) -> str:
        """The ``X-Sync-Dicts`` header value, e.g. ``"1,2"``."""
        return ",".join(str(i) for i in self._dicts)

    def choose(self, offered: str) -> int:
        """The newest id in ``offered`` (an ``X-Sync-Dicts`` value) that we hold, else 0.

        Garbage tokens are ignored rather than refused: negotiation can always fall back to 0.
        """
        if len(offered) > MAX_DICTS_HEADER:
            return 0
        tokens = (t.strip() for t in offered.split(","))
        common = {int(t) for t in tokens if _ID_TOKEN.fullmatch(t)} & self._dicts.keys()
        return max(common, default=0)

    def compress(self, data: bytes, dict_id: int) -> bytes:
        cctx = zstandard.ZstdCompressor(
            level=ZSTD_LEVEL, dict_data=self._dict(dict_id), write_content_size=True,
            write_checksum=True,
        )
        return cctx.compress(data)

    def decompress(self, data: bytes, dict_id: int, *, max_out: int = MAX_BODY,
                   max_in: int = MAX_COMPRESSED_BODY) -> bytes:
        """The content of the single zstd frame ``data``, never allocating more than max_out."""
        zdict = self._dict(dict_id)
        return inflate_frame(data, zdict, zdict.dict_id() if zdict is not None else 0,
                             max_out=max_out, max_in=max_in)

    def _dict(self, dict_id: int) -> zstandard.ZstdCompressionDict | None:
        if dict_id == 0:
            return None
        try:
            return self._dicts[dict_id]
        except KeyError:
            raise CompressionError(f"unknown dictionary {dict_id}") from None


def inflate_frame(data: bytes, zdict: zstandard.ZstdCompressionDict | None, dict_id: int, *,
                  max_out: int, max_in: int) -> bytes:
    """The content of the single zstd frame ``data``, compressed with ``zdict`` (or none).

    The hostile-input rules shared by every zstd decoder of the protocol: at most ``max_in``
    bytes in, one frame that declares a non-zero content size, that size checked against
    ``max_out`` before anything is allocated, the window bounded, no other dictionary id than
    ``dict_id`` (or none written), and nothing after the frame.
    """
    if len(data) > max_in:
        raise BodyTooLarge(f"compressed body over {max_in} bytes")
    if not data.startswith(_ZSTD_MAGIC):
        raise CompressionError("body is not a zstd frame")
    try:
        params = zstandard.get_frame_parameters(data)
    except zstandard.ZstdError:
        raise CompressionError("corrupt zstd frame header") from None
    if params.content_size >= zstandard.CONTENTSIZE_ERROR:
        raise CompressionError("zstd frame does not declare its content size")
    if params.content_size == 0:  # zstandard returns b"" for it without reading the frame,
        raise CompressionError("empty zstd frame")  # so a damaged frame could pass; none is sent
    if params.content_size > max_out:
        raise BodyTooLarge(f"decompressed body over {max_out} bytes")
    if params.window_size > MAX_ZSTD_WINDOW:  # one-shot decoding ignores max_window_size
        raise CompressionError("zstd frame window too large")
    if params.dict_id not in (0, dict_id):
        raise CompressionError("body compressed with another dictionary")
    try:
        dctx = zstandard.ZstdDecompressor(dict_data=zdict, max_window_size=MAX_ZSTD_WINDOW)
        out = dctx.decompress(data, max_output_size=params.content_size, allow_extra_data=False)
    except zstandard.ZstdError:
        raise CompressionError("corrupt zstd body") from None
    if len(out) != params.content_size:  # zstd checks this too; cheap to be sure
        raise CompressionError("zstd body size differs from its header")
    return out


@functools.cache
def default_compressor() -> SyncCompressor:
    """The process-wide compressor with the shipped dictionaries, built on first use."""
    return SyncCompressor()

"""Cross-document compression on one office's born-digital PDFs: bytes and CPU.

    python -m bench.crossdoc [--count 24] [--seed 1] [--general-mb 10]

Each document is compressed the way the uploader sends it (independent frames of
``--frame-kib``), once on its own (what the frames do today) and once against a dictionary
made of the previous document of the same office that the hub holds verified
(:mod:`gateway.protocol.crossdoc`); the first document has no reference and goes alone; and
as recoded frames (the PDF's zlib streams inflated, :mod:`gateway.protocol.pdf_streams`). The
floor is everything compressed together in one long-window zstd stream. CPU is this process's
time per MB of documents, the dictionary's preparation included; a Raspberry Pi is several
times slower (docs/benchmarks.md). ``--general-mb`` measures the same on the general corpus
of bench.corpus (scans and documents of many offices) for comparison.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import zstandard

from bench.corpus import CorpusFile, MiB, make_corpus, make_office_corpus
from gateway.protocol import pdf_streams, recipe
from gateway.protocol.crossdoc import Candidate, CrossDocCodec, Reference, choose_references
from gateway.protocol.frames import FrameDecoder, FrameEncoder
from gateway.protocol.limits import (
    FRAME_ZSTD_LEVEL,
    MAX_FRAME_RAW,
    MAX_XDOC_DICT,
    MAX_XDOC_REFS,
    XDOC_LEVEL,
)
from gateway.store import references

PDF = "application/pdf"
LEVELS = (3, 9, 19)  # the frames' level (3), a middle one, the slowest


def _frames(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)] or [b""]


def _sent(raw: bytes, packed: bytes) -> int:
    """What a frame costs: compressed whenever that is smaller, as the frame encoder does."""
    return min(len(packed), len(raw))


def measure(files: Sequence[CorpusFile], *, frame: int = 32 * 1024,
            level: int = XDOC_LEVEL) -> dict[str, float | int]:
    """Bytes ÷ corpus per file, with the previous file as dictionary, and together; CPU."""
    total = sum(f.size for f in files)
    alone = zstandard.ZstdCompressor(level=FRAME_ZSTD_LEVEL, write_content_size=True)
    per_file = with_dict = 0
    held: list[Candidate] = []
    cpu_c = cpu_d = 0.0
    for i, f in enumerate(files):
        data = f.path.read_bytes()
        per_file += sum(_sent(c, alone.compress(c)) for c in _frames(data, frame))
        chosen = choose_references(held, PDF)
        t0 = time.process_time()
        if not chosen:
            packed = [alone.compress(c) for c in _frames(data, frame)]
            codec = None
        else:
            ref = Reference(chosen[0].sha256, min(chosen[0].size, MAX_XDOC_DICT))
            base = next(h for h in files if h.sha256 == ref.sha256).path.read_bytes()
            codec = CrossDocCodec(ref, base[:ref.length], level=level)
            packed = [codec.compress(c) for c in _frames(data, frame)]
        t1 = time.process_time()
        if codec is not None:
            assert b"".join(codec.decompress(p, max_out=MAX_FRAME_RAW) for p in packed) == data
        cpu_c, cpu_d = cpu_c + t1 - t0, cpu_d + time.process_time() - t1
        with_dict += sum(_sent(c, p) for c, p in zip(_frames(data, frame), packed, strict=True))
        held.append(Candidate(f.sha256, f.size, PDF, verified_ms=i))
    params = zstandard.ZstdCompressionParameters.from_level(19, window_log=27,
                                                            enable_ldm=True)
    together = len(zstandard.ZstdCompressor(compression_params=params).compress(
        b"".join(f.path.read_bytes() for f in files)))
    mb = total / 1e6
    return {"files": len(files), "bytes": total, "frame": frame, "level": level,
            "per_file": round(per_file / total, 3), "with_dict": round(with_dict / total, 3),
            "together": round(together / total, 3),
            "cpu_compress_s_per_mb": round(cpu_c / mb, 3),
            "cpu_decompress_s_per_mb": round(cpu_d / mb, 3)}


def recoded(files: Sequence[CorpusFile], *, frame: int = 32 * 1024) -> dict[str, float | int]:
    """What the uploader's frames cost with recoded frames (protocol §7, kinds 4 and 5): the
    zlib streams a PDF holds go inflated, against the previous documents' expanded forms, with
    :class:`FrameEncoder` at the level it picks for ``frame``; checked by the hub's decoder.
    CPU: the box's scan and encoding, the hub's decoding (it deflates the streams again)."""
    total, sent, cpu_box, cpu_hub = sum(f.size for f in files), 0, 0.0, 0.0
    paths, held = {f.sha256: f.path for f in files}, list[Candidate]()

    def read(sha: str, length: int) -> bytes:
        with paths[sha].open("rb") as fh:
            return fh.read(length)

    for i, f in enumerate(files):
        data = f.path.read_bytes()
        t0 = time.process_time()
        segments = pdf_streams.segments(data)
        chosen = choose_references(held, PDF, most=MAX_XDOC_REFS)
        dictionary = references.dictionary(read, chosen, MAX_XDOC_DICT, True)[1] or None
        encoder, frames, at = FrameEncoder(dictionary=dictionary), [], 0
        while at < len(data):
            end = recipe.frame_end(segments, at, min(frame, len(data) - at), len(data))
            raw = data[at:end]
            frames.append(encoder.encode(raw, recipe.build(raw, at, segments)))
            at = end
        t1 = time.process_time()
        decoder = FrameDecoder(dictionary=dictionary, recode=True)
        assert b"".join(b"".join(decoder.feed(x)) for x in frames) == data
        cpu_box, cpu_hub = cpu_box + t1 - t0, cpu_hub + time.process_time() - t1
        sent += sum(len(x) for x in frames)
        held.append(Candidate(f.sha256, f.size, PDF, verified_ms=i))
    mb = total / 1e6
    return {"files": len(files), "bytes": total, "frame": frame, "recoded": round(sent / total, 3),
            "cpu_box_s_per_mb": round(cpu_box / mb, 3), "cpu_hub_s_per_mb": round(cpu_hub / mb, 3)}


def run(work: Path, *, seed: int, count: int, frame: int = 32 * 1024) -> dict[str, object]:
    files = make_office_corpus(work, seed=seed, count=count)
    digest = hashlib.sha256(b"".join(f.sha256.encode() for f in files)).hexdigest()[:12]
    return {"seed": seed, "corpus_digest": digest,
            **{f"level_{lv}": measure(files, frame=frame, level=lv)
               for lv in LEVELS}, "recoded": recoded(files, frame=frame)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.crossdoc", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=24)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--frame-kib", type=int, default=32)
    ap.add_argument("--general-mb", type=float, help="also the general corpus of this size")
    args = ap.parse_args(argv)
    frame = args.frame_kib * 1024
    with tempfile.TemporaryDirectory(prefix="crossdoc-") as tmp:
        out: dict[str, object] = {"office": run(Path(tmp) / "office", seed=args.seed,
                                                count=args.count, frame=frame)}
        if args.general_mb:
            files = make_corpus(Path(tmp) / "general", seed=args.seed,
                                total_bytes=int(args.general_mb * MiB))
            out["general"] = {**{f"level_{lv}": measure(files, frame=frame, level=lv)
                                 for lv in LEVELS}, "recoded": recoded(files, frame=frame)}
        print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

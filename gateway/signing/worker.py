"""The sandboxed verifier process: ``python -m gateway.signing.worker MEMORY_BYTES``.

It caps its own address space (``RLIMIT_AS``) before importing pyhanko, forbids core dumps
and file writes, then answers requests one at a time on stdin/stdout until stdin closes. A PDF
that makes it run out of memory gets an ``unreadable: memory`` answer and the worker exits so
the next request gets a fresh process; a PDF that makes it hang is the parent's business (it
kills the worker at its deadline). Nothing here is trusted by the parent: answers are verdict
JSON that the parent decodes with limits, never pickles.

Frames (both ways): 4-byte big-endian length, then that many bytes. A request is a JSON header
(:func:`gateway.signing.verify` writes it) followed, when the header has no ``path``, by a frame
holding the PDF bytes. The first frame the worker writes is ``b"ready"``.
"""

from __future__ import annotations

import io
import json
import resource
import struct
import sys
from base64 import b64decode
from datetime import datetime
from typing import BinaryIO

MAX_HEADER = 64 * 1024 * 1024  # trust material rides in the header the first time


def read_frame(stream: BinaryIO, limit: int) -> bytes | None:
    head = stream.read(4)
    if len(head) < 4:
        return None
    (size,) = struct.unpack(">I", head)
    if size > limit:
        raise OSError(f"frame of {size} bytes over the limit {limit}")
    data = stream.read(size)
    if len(data) < size:
        return None
    return data


def write_frame(stream: BinaryIO, data: bytes) -> None:
    stream.write(struct.pack(">I", len(data)) + data)
    stream.flush()


def _limit(memory: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def main(argv: list[str]) -> int:
    _limit(int(argv[1]))
    max_pdf = int(argv[2])
    from gateway.signing import analyse, verdict  # after the cap: imports count too

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    trusts: dict[str, analyse.ParsedTrust] = {}
    payload: bytes | None = b""
    write_frame(stdout, b"ready")
    while True:
        raw = read_frame(stdin, MAX_HEADER)
        if raw is None:
            return 0
        header = json.loads(raw)
        key = header["trust_id"]
        if "trust" in header:
            t = header["trust"]
            try:
                trusts[key] = analyse.parse_trust(
                    b64decode(t["roots"]), [b64decode(c) for c in t["crls"]], bool(t["fetch"]))
            except analyse.TrustMaterialError as e:
                write_frame(stdout, json.dumps({"error": "trust", "detail": str(e)}).encode())
                continue
        moment = datetime.fromisoformat(header["moment"]) if header.get("moment") else None
        path = header.get("path")
        stop = False
        try:
            if path:
                with open(path, "rb") as f:  # noqa: PTH123 (keep the worker's imports small)
                    result = analyse.analyse_pdf(f, trusts[key], moment)
            else:
                payload = read_frame(stdin, max_pdf)
                if payload is None:
                    return 0
                result = analyse.analyse_pdf(io.BytesIO(payload), trusts[key], moment)
        except MemoryError:
            result, stop = verdict.unreadable("memory", "over the verifier's memory limit"), True
        except RecursionError:
            result = verdict.unreadable("parse", "objects nested too deeply")
        except Exception as e:  # any failure to read the file is a verdict, not a crash
            result = verdict.unreadable("parse", f"{type(e).__name__}: {e}")
        payload = b""
        write_frame(stdout, json.dumps({"verdict": verdict.to_data(result)},
                                       ensure_ascii=False).encode())
        if stop:
            return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

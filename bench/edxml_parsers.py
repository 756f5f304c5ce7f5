"""Which XML parser for edXML: our pyexpat streaming reader, defusedxml, or lxml (safe parser).

``python -m bench.edxml_parsers`` prints wall time and peak-RSS growth (each case in a fresh
child process, so C allocations of libxml2 count too) on the SDK samples (when present) and on
a generated 30 MiB-attachment package. defusedxml and lxml are optional here.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SAMPLES = Path("/work/shared/interop/edxml")
NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"


def _big(path: Path, mib: int) -> None:
    payload = base64.b64encode(bytes(range(256)) * (mib * 4096))
    path.write_bytes(
        f'<?xml version="1.0" encoding="UTF-8"?><edXML xmlns="{NS}"><edXMLEnvelope><edXMLHeader>'
        "<MessageHeader><From><OrganId>000.00.21.H35</OrganId></From><Subject>x</Subject>"
        "</MessageHeader></edXMLHeader></edXMLEnvelope><AttachmentEncoded><Attachment>"
        "<ContentId>cid:1</ContentId><ContentTransferEncoded>".encode()
        + payload + b"</ContentTransferEncoded></Attachment></AttachmentEncoded></edXML>")


def _status(key: str) -> int:
    """KiB from /proc/self/status (VmRSS now, VmHWM the peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def _child(kind: str, files: list[str]) -> None:
    if kind == "ours":
        from gateway.edxml import read_package_file

        def parse(p: str) -> object:
            return read_package_file(Path(p))
    elif kind == "defusedxml":
        from defusedxml import ElementTree as DefusedET

        def parse(p: str) -> object:
            return DefusedET.fromstring(Path(p).read_bytes(), forbid_dtd=True)
    else:
        from lxml import etree
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                                 load_dtd=False)

        def parse(p: str) -> object:
            return etree.fromstring(Path(p).read_bytes(), parser)
    base = _status("VmRSS")
    start, errors = time.perf_counter(), []
    for f in files:
        try:
            parse(f)
        except Exception as exc:  # a benchmark reports every failure
            errors.append(f"{Path(f).name}: {type(exc).__name__}: {str(exc)[:70]}")
    took = time.perf_counter() - start
    grew = _status("VmHWM") - base
    print(json.dumps({"ms": round(took * 1000, 1), "rss_mib": round(grew / 1024, 1),
                      "errors": errors}))


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3:])
        return
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.edxml"
        _big(big, 30)
        sets = {"SDK samples": sorted(str(p) for p in SAMPLES.glob("*.edxml")),
                "30 MiB attachment": [str(big)]}
        for label, files in sets.items():
            if not files:
                continue
            for kind in ("ours", "defusedxml", "lxml"):
                out = subprocess.run([sys.executable, "-m", "bench.edxml_parsers", "--child",
                                      kind, *files], capture_output=True, text=True, check=False)
                print(f"{label:18} {kind:10} {out.stdout.strip() or out.stderr.strip()[-200:]}")


if __name__ == "__main__":
    main()

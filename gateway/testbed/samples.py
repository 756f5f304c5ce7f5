"""Sample documents for the demo: small valid PDFs with Vietnamese text, and scan-like ones.

Real commune traffic is a mix of born-digital PDFs (compressed text streams) and scans whose
pages are already-compressed images; the scan-like samples carry a noise image so they do not
compress either, exactly like JPEG pages. Seeded, so a demo run is reproducible.
"""

from __future__ import annotations

import random
import zlib
from pathlib import Path

SUBJECTS = (
    "V/v triển khai kế hoạch chuyển đổi số năm 2027",
    "V/v báo cáo tình hình thực hiện nhiệm vụ tháng 11",
    "V/v tăng cường công tác phòng, chống thiên tai mùa mưa lũ",
    "V/v tổ chức tiếp công dân định kỳ",
    "V/v rà soát hộ nghèo, hộ cận nghèo",
    "V/v đôn đốc thu ngân sách trên địa bàn xã",
    "Quyết định phê duyệt danh sách hỗ trợ giống cây trồng",
    "Báo cáo kết quả kiểm tra an toàn thực phẩm",
)
_WORDS = ("ủy ban nhân dân xã căn cứ quyết định thực hiện kế hoạch báo cáo tình hình "
          "nhiệm vụ đề nghị các đơn vị phối hợp triển khai kịp thời đúng quy định "
          "trân trọng đề nghị ngân sách phòng chống thiên tai cán bộ công chức").split()


def _pdf(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
            .encode())
    return bytes(out)


def _stream(data: bytes, extra: str = "") -> bytes:
    packed = zlib.compress(data, 6)
    return (f"<< /Length {len(packed)} /Filter /FlateDecode {extra}>>\nstream\n".encode()
            + packed + b"\nendstream")


def text_pdf(rng: random.Random, subject: str, paragraphs: int) -> bytes:
    """A born-digital document: pages of compressed text (accents kept as UTF-16 hex)."""
    lines = [subject] + [" ".join(rng.choice(_WORDS) for _ in range(rng.randint(8, 16)))
                         for _ in range(paragraphs)]
    pages = [lines[i:i + 40] for i in range(0, len(lines), 40)]
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode(),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for page in pages:
        body = "BT /F1 11 Tf 60 780 Td 14 TL " + " ".join(
            f"<{line.encode('utf-16-be').hex()}> Tj T*" for line in page) + " ET"
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents "
                       f"{len(objects) + 2} 0 R /Resources << /Font << /F1 3 0 R >> >> >>"
                       .encode())
        objects.append(_stream(body.encode()))
    return _pdf(objects)


def scan_pdf(rng: random.Random, pages: int, page_bytes: int = 250_000) -> bytes:
    """A scanned document: each page an image that no compressor can shrink."""
    kids = " ".join(f"{3 + 3 * i} 0 R" for i in range(pages))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode()]
    side = int(page_bytes ** 0.5)
    for _ in range(pages):
        n = len(objects)
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents "
                       f"{n + 3} 0 R /Resources << /XObject << /Im0 {n + 2} 0 R >> >> >>"
                       .encode())
        objects.append(_stream(rng.randbytes(side * side),
                               f"/Type /XObject /Subtype /Image /Width {side} /Height {side} "
                               "/ColorSpace /DeviceGray /BitsPerComponent 8 "))
        objects.append(_stream(b"q 595 0 0 842 0 0 cm /Im0 Do Q"))
    return _pdf(objects)


def write_samples(out: Path, seed: int, count: int, *, scale: float = 1.0) -> list[Path]:
    """``count`` documents of mixed kinds and sizes; ``scale`` shrinks them for quick runs."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        kind = rng.random()
        if kind < 0.55:
            data = text_pdf(rng, rng.choice(SUBJECTS), max(5, int(rng.randint(20, 300) * scale)))
        else:
            data = scan_pdf(rng, max(1, int(rng.randint(1, 6) * scale)),
                            int(250_000 * min(1.0, scale)))
        path = out / f"van-ban-{seed}-{i:02d}.pdf"
        path.write_bytes(data)
        paths.append(path)
    return paths

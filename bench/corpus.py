"""Seeded generator of a realistic commune document corpus for transfer benchmarks.

Why: sync and compression results only mean something on bytes shaped like what commune
offices really send: born-digital PDFs (Flate-compressed content streams, embedded
TrueType subsets, a JPEG seal or photo) and scanned paperwork (JPEG pages that no transport
compressor can shrink). The same seed gives byte-identical files, so runs stay comparable
(given the same Pillow/libjpeg, zlib and fontTools builds: see bench/requirements.txt).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import math
import random
import statistics
import time
import unicodedata
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import zstandard
from fontTools.fontBuilder import FontBuilder  # type: ignore[import-untyped]
from fontTools.pens.ttGlyphPen import TTGlyphPen  # type: ignore[import-untyped]
from PIL import Image, ImageChops, ImageDraw, ImageFilter

KiB, MiB = 1024, 1024 * 1024
KINDS = ("digital", "scan-small", "scan-large")
_A4_PT = "[0 0 595.32 841.92]"
_COS = [math.cos(2 * math.pi * i / 64) for i in range(64)]
_GRAIN = [max(0, min(255, 128 + round(2.5 * statistics.NormalDist().inv_cdf((i + .5) / 256))))
          for i in range(256)]


@dataclass(frozen=True)
class CorpusFile:
    """One generated file; ``path`` is absolute, ``sha256`` is the hex digest of its bytes."""

    path: Path
    kind: str
    size: int
    sha256: str


# --- Vietnamese administrative text ------------------------------------------------------
def _w(s: str) -> list[str]:
    return s.split("|")


_COMMUNES = _w("Tân Phú|Hòa Bình|Đông Sơn|Thạch Hà|Phước Lộc|Quảng Điền|Nghĩa Hưng|Yên Lạc|"
               "Mường Thanh|Ea Kly|Cẩm Thủy|Lộc Ninh|Xuân Trường|Kỳ Anh")
_NAMES = (_w("Nguyễn|Trần|Lê|Phạm|Hoàng|Huỳnh|Phan|Vũ|Võ|Đặng|Bùi|Đỗ|Hồ|Ngô|Dương"),
          _w("Văn|Thị|Hữu|Đức|Minh|Thanh|Ngọc|Quốc|Xuân|Thu"),
          _w("An|Bình|Cường|Dũng|Giang|Hà|Hải|Hạnh|Hùng|Hương|Khánh|Lan|Long|Mai|Nga|Phong|"
             "Phương|Quân|Sơn|Thảo|Trung|Tuấn|Yến"))
_SUBJ = _w("Ủy ban nhân dân xã|Văn phòng - Thống kê xã|Công chức Địa chính - Xây dựng|"
           "Công chức Tư pháp - Hộ tịch|Trưởng các thôn, tổ dân phố|Ban Chỉ huy Quân sự xã|"
           "Trạm Y tế xã|Hội Liên hiệp Phụ nữ xã|Đoàn Thanh niên xã|Hội Nông dân xã|Công an xã")
_VERB = _w("chủ trì, phối hợp thực hiện|tổ chức triển khai|tăng cường kiểm tra, giám sát|"
           "rà soát, thống kê|tuyên truyền, vận động nhân dân thực hiện|đôn đốc, hướng dẫn|"
           "tổng hợp, báo cáo kết quả|khẩn trương hoàn thiện|chịu trách nhiệm thực hiện")
_OBJ = _w("công tác phòng, chống thiên tai và tìm kiếm cứu nạn|việc cấp giấy chứng nhận quyền "
          "sử dụng đất|Chương trình mục tiêu quốc gia xây dựng nông thôn mới|công tác tiêm chủng "
          "mở rộng cho trẻ em dưới 5 tuổi|chuyển đổi số và dịch vụ công trực tuyến|việc đăng ký, "
          "quản lý hộ tịch|công tác giảm nghèo bền vững|nhiệm vụ thu ngân sách nhà nước|kế hoạch "
          "sản xuất vụ Đông Xuân|công tác bảo đảm trật tự an toàn giao thông|việc chi trả chế độ "
          "cho người có công|công tác phòng cháy, chữa cháy|việc quản lý trật tự xây dựng")
_TAIL = _w("bảo đảm đúng tiến độ đề ra|theo đúng quy định của pháp luật hiện hành|nhằm nâng cao "
           "hiệu lực, hiệu quả quản lý nhà nước|góp phần phát triển kinh tế - xã hội của địa "
           "phương|không để xảy ra tình trạng chậm trễ, sai sót|trên tinh thần công khai, minh "
           "bạch|với sự tham gia tích cực của người dân")
_LAWS = _w("Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015|Luật Đất đai ngày 18 "
           "tháng 01 năm 2024|Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ "
           "về công tác văn thư|Luật Ngân sách nhà nước ngày 25 tháng 6 năm 2015|Luật Hộ tịch "
           "ngày 20 tháng 11 năm 2014|Quyết định số 1357/QĐ-UBND của Ủy ban nhân dân huyện")
_UNIT = _w("hồ sơ|hộ gia đình|ha lúa|triệu đồng|lượt người|trường hợp|công trình|km đường")
_SECTIONS = _w("I. TÌNH HÌNH CHUNG|II. KẾT QUẢ THỰC HIỆN|III. TỒN TẠI, HẠN CHẾ|IV. PHƯƠNG "
                "HƯỚNG, NHIỆM VỤ|V. KIẾN NGHỊ, ĐỀ XUẤT")
_DONE = _w("đã giải quyết|đã tiếp nhận|đã hỗ trợ|đã gieo cấy|đã thu được|đã kiểm tra")

Block = tuple[str, str, str]  # (font "R"/"B", align "L"/"C"/"J"/"H" header pair, text)


def _vn_doc(rng: random.Random, doc: str, pages: int,
            commune: str | None = None) -> tuple[str, list[Block]]:
    """Title and blocks of a công văn (cv), quyết định (qd) or báo cáo (bc)."""
    xa, (y, m, d) = rng.choice(_COMMUNES), (rng.randint(2022, 2025), rng.randint(1, 12),
                                            rng.randint(1, 28))
    xa = commune or xa
    code = {"cv": "UBND-VP", "qd": "QĐ-UBND", "bc": "BC-UBND"}[doc]
    topic = rng.choice(_OBJ)
    title = {"cv": f"V/v {topic}", "qd": f"Về việc {topic}", "bc": f"Kết quả {topic}"}[doc]

    def sent() -> str:
        if rng.random() < 0.3:
            n = f"{rng.randint(12, 98765):,}".replace(",", ".")
            return (f"Trong {rng.choice(_w('quý I|6 tháng đầu năm|tháng ' + str(m)))}, "
                    f"toàn xã {rng.choice(_DONE)} {n} {rng.choice(_UNIT)}, đạt "
                    f"{rng.randint(60, 130)},{rng.randint(0, 9)}% kế hoạch năm.")
        return (f"{rng.choice(_SUBJ)} {rng.choice(_VERB)} {rng.choice(_OBJ)}, "
                f"{rng.choice(_TAIL)}.")

    blocks: list[Block] = [
        ("B", "H", "ỦY BAN NHÂN DÂN\tCỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
        ("B", "H", f"XÃ {xa.upper()}\tĐộc lập - Tự do - Hạnh phúc"),
        ("R", "H", f"Số: {rng.randint(1, 999)}/{code}\t{xa}, ngày {d:02d} tháng {m:02d} năm {y}"),
    ]
    if doc == "cv":
        blocks += [("R", "L", title), ("B", "C", f"Kính gửi: {rng.choice(_SUBJ)}")]
    else:
        blocks += [("B", "C", {"qd": "QUYẾT ĐỊNH", "bc": "BÁO CÁO"}[doc]), ("B", "C", title)]
    if doc == "qd":
        blocks += [("R", "J", f"Căn cứ {law};") for law in rng.sample(_LAWS, 3)]
    for i in range(pages * 8):
        if i % 8 == 0 and doc != "cv":
            head = f"Điều {i // 8 + 1}." if doc == "qd" else _SECTIONS[i // 8 % len(_SECTIONS)]
            blocks.append(("B", "L", head))
        blocks.append(("R", "J", " ".join(sent() for _ in range(rng.randint(2, 4)))))
    name = " ".join(rng.choice(part) for part in _NAMES)
    blocks += [("B", "H", "Nơi nhận:\tTM. ỦY BAN NHÂN DÂN"), ("R", "H", "- Như trên;\tCHỦ TỊCH"),
               ("R", "H", f"- Lưu: VT, VP.\t{name}")]
    return title, blocks


# --- fonts: synthetic TrueType subsets (real structure and size; outlines are scribbles) ---
def _advance(ch: str, bold: bool) -> int:
    base = unicodedata.normalize("NFD", ch)[0]
    w = (250 if base == " " else 278 if base in "il.,;:/" else 333 if base in "fjrt-()I"
         else 778 if base in "mw%" else 889 if base in "MW" else 722 if base.isupper() else 500)
    return w + (30 if bold else 0)


def _font(chars: Iterable[str], bold: bool, seed: int) -> tuple[bytes, dict[str, int]]:
    """A TrueType subset with plausible quadratic outlines for ``chars``; returns (ttf, gid)."""
    order = sorted(set(chars))
    names = [".notdef"] + [f"uni{ord(c):04X}" for c in order]
    fb = FontBuilder(1000, isTTF=True)
    fb.updateHead(created=3_000_000_000, modified=3_000_000_000)
    fb.setupGlyphOrder(names)
    fb.setupCharacterMap({ord(c): n for c, n in zip(order, names[1:], strict=True)})
    glyphs, metrics = {}, {}
    for n, c in zip(names, ["\0", *order], strict=True):
        rng, pen, adv = random.Random(f"{seed}:{bold}:{c}"), TTGlyphPen(None), _advance(c, bold)
        marks = len(unicodedata.normalize("NFD", c)) - 1  # Vietnamese diacritics: extra contours
        for k in range(0 if c == " " else rng.randint(1, 2) + marks):
            cx, cy, m = adv // 2, (700 + 80 * k) if k >= 2 else 330, 2 * rng.randint(5, 14)
            rx, ry = rng.randint(adv // 5, adv // 2), rng.randint(60, 330) if k < 2 else 50
            pts = [(cx + round(rx * rng.uniform(0.7, 1.1) * _COS[i * 64 // m]),
                    cy + round(ry * rng.uniform(0.7, 1.1) * _COS[(i * 64 // m + 16) % 64]))
                   for i in range(m)]
            pen.moveTo(pts[0])
            for i in range(1, m - 1, 2):
                pen.qCurveTo(pts[i], pts[i + 1])
            pen.qCurveTo(pts[-1], pts[0])
            pen.closePath()
        glyphs[n], metrics[n] = pen.glyph(), (adv, 0)
    fb.setupGlyf(glyphs)
    fb.setupHorizontalMetrics({n: (a, fb.font["glyf"][n].xMin) for n, (a, _) in metrics.items()})
    fb.setupHorizontalHeader(ascent=891, descent=-216)
    family = "CommuneSerif" + ("-Bold" if bold else "")
    fb.setupNameTable({"familyName": "CommuneSerif", "styleName": "Bold" if bold else "Regular",
                       "psName": family})
    fb.setupOS2(sTypoAscender=891, usWinAscent=891, usWinDescent=216)
    fb.setupPost(keepGlyphNames=False)
    buf = io.BytesIO()
    fb.save(buf)
    return buf.getvalue(), {c: i + 1 for i, c in enumerate(order)}


# --- PDF writing --------------------------------------------------------------------------
class _Pdf:
    """Minimal classic-xref PDF writer; objects are numbered in creation order."""

    def __init__(self) -> None:
        self.objs: list[bytes] = []

    def add(self, body: str | bytes) -> int:
        self.objs.append(body.encode("latin-1") if isinstance(body, str) else body)
        return len(self.objs)

    def stream(self, entries: str, data: bytes, flate: bool = True) -> int:
        if flate:
            data, entries = zlib.compress(data, 6), entries + " /Filter /FlateDecode"
        return self.add(f"<< {entries} /Length {len(data)} >>\nstream\n".encode() + data
                        + b"\nendstream")

    def render(self, kids: list[int], info: str, rng: random.Random) -> bytes:
        pages = self.add(f"<< /Type /Pages /Count {len(kids)} /Kids ["
                         + " ".join(f"{k} 0 R" for k in kids) + "] >>")
        for k in kids:  # pages were written with a /Parent placeholder
            self.objs[k - 1] = self.objs[k - 1].replace(b"/Parent 0 0 R", f"/Parent {pages} 0 R"
                                                        .encode())
        root = self.add(f"<< /Type /Catalog /Pages {pages} 0 R /Lang (vi-VN) >>")
        info_n = self.add(info)
        out, offsets = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), []
        for i, body in enumerate(self.objs, 1):
            offsets.append(len(out))
            out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
        fid = rng.randbytes(16).hex().upper()
        out += (f"xref\n0 {len(offsets) + 1}\n0000000000 65535 f \n"
                + "".join(f"{o:010d} 00000 n \n" for o in offsets)
                + f"trailer\n<< /Size {len(offsets) + 1} /Root {root} 0 R /Info {info_n} 0 R "
                f"/ID [<{fid}> <{fid}>] >>\nstartxref\n{len(out)}\n%%EOF\n").encode()
        return bytes(out)


def _info(rng: random.Random, title: str, producer: str) -> str:
    stamp = (f"D:{rng.randint(2022, 2025)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
             f"{rng.randint(7, 17):02d}{rng.randint(0, 59):02d}{rng.randint(0, 59):02d}+07'00'")
    return (f"<< /Title <FEFF{title.encode('utf-16-be').hex().upper()}> /Producer ({producer}) "
            f"/CreationDate ({stamp}) /ModDate ({stamp}) >>")


def _type0(pdf: _Pdf, chars: set[str], bold: bool,
           rng: random.Random) -> tuple[int, dict[str, int]]:
    """Type0/Identity-H font with embedded subset and ToUnicode, as Word writes it."""
    ttf, gid = _font(chars, bold, rng.getrandbits(32))
    name = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(6)) + "+CommuneSerif" \
        + ("-Bold" if bold else "")
    ff = pdf.stream(f"/Length1 {len(ttf)}", ttf)
    fd = pdf.add(f"<< /Type /FontDescriptor /FontName /{name} /Flags 34 /FontBBox [-200 -300 1100"
                 f" 1000] /ItalicAngle 0 /Ascent 891 /Descent -216 /CapHeight 662 /StemV "
                 f"{140 if bold else 80} /FontFile2 {ff} 0 R >>")
    widths = " ".join(str(_advance(c, bold)) for c in sorted(gid, key=gid.__getitem__))
    cid = pdf.add(f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} /CIDSystemInfo << "
                  f"/Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor {fd}"
                  f" 0 R /DW 1000 /W [1 [{widths}]] /CIDToGIDMap /Identity >>")
    maps = sorted((g, ord(c)) for c, g in gid.items())
    cmap = "".join(f"{len(chunk)} beginbfchar\n" + "".join(f"<{g:04X}> <{u:04X}>\n" for g, u in
                   chunk) + "endbfchar\n" for chunk in (maps[i:i + 100] for i in
                                                        range(0, len(maps), 100)))
    tu = pdf.stream("", ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
                         "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> "
                         "def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincode"
                         f"spacerange\n<0000> <FFFF>\nendcodespacerange\n{cmap}endcmap\nCMapName"
                         " currentdict /CMap defineresource pop\nend\nend\n").encode())
    return pdf.add(f"<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H "
                   f"/DescendantFonts [{cid} 0 R] /ToUnicode {tu} 0 R >>"), gid


def _layout(blocks: list[Block]) -> list[list[tuple[str, float, float, str, float]]]:
    """Word-like A4 layout: runs of (font, x, y, text, extra space per blank) per page."""
    pages: list[list[tuple[str, float, float, str, float]]] = [[]]
    y, size, lead = 780.0, 13.0, 17.5

    def width(font: str, s: str) -> float:
        return sum(_advance(c, font == "B") for c in s) * size / 1000

    for font, align, text in blocks:
        if align == "H":
            for x0, part in zip((150.0, 400.0), text.split("\t"), strict=True):
                pages[-1].append((font, x0 - width(font, part) / 2, y, part, 0.0))
            y -= lead
            continue
        line, lines = "", []
        for word in text.split(" "):
            if line and width(font, f"{line} {word}") > 453:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}".strip()
        for i, ln in enumerate([*lines, line]):
            if y < 60:
                pages.append([])
                y = 780.0
            gap = 453 - width(font, ln)
            last = i == len(lines)
            x = 85 + (gap / 2 if align == "C" else 0) + (36 if align == "J" and i == 0 else 0)
            extra = gap / max(ln.count(" "), 1) if align == "J" and not last and i else 0.0
            pages[-1].append((font, x, y, ln, extra))
            y -= lead
    return pages


def _photo(rng: random.Random, w: int, h: int, quality: int = 80) -> bytes:
    """A photo-like RGB JPEG (smooth colour field plus sensor noise)."""
    img = Image.frombytes("RGB", (8, 6), rng.randbytes(144))
    img = img.resize((w, h), Image.Resampling.BICUBIC)
    noise = Image.frombytes("L", (w, h), rng.randbytes(w * h)).point(_GRAIN).convert("RGB")
    buf = io.BytesIO()
    ImageChops.add(img, noise, 1.0, -128).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _seal(rng: random.Random) -> bytes:
    """A red round commune seal as a JPEG (signed decisions carry a scanned stamp)."""
    img = Image.new("RGB", (320, 320), "white")
    d = ImageDraw.Draw(img)
    red = (200 + rng.randint(0, 40), 20, 30)
    d.ellipse((10, 10, 310, 310), outline=red, width=9)
    d.ellipse((55, 55, 265, 265), outline=red, width=4)
    d.regular_polygon((160, 160, 34), 5, fill=red)
    for a in range(0, 360, 12):
        x, y = 160 + 128 * math.cos(math.radians(a)), 160 + 128 * math.sin(math.radians(a))
        d.line((x - 6, y - 6, x + 6, y + 6), fill=red, width=3)
    buf = io.BytesIO()
    img.filter(ImageFilter.GaussianBlur(1.2)).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def _image(pdf: _Pdf, jpeg: bytes, w: int, h: int, cs: str) -> int:
    return pdf.stream(f"/Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace "
                      f"/{cs} /BitsPerComponent 8 /Filter /DCTDecode", jpeg, flate=False)


def _page(pdf: _Pdf, ops: str, res: str, box: str = _A4_PT) -> int:
    content = pdf.stream("", ops.encode())
    return pdf.add(f"<< /Type /Page /Parent 0 0 R /MediaBox {box} /Resources << {res} /ProcSet "
                   f"[/PDF /Text /ImageB /ImageC] >> /Contents {content} 0 R >>")


@dataclass(frozen=True)
class Office:
    """What every born-digital document of one office shares: its commune, the template's
    font (each file embeds its own subset, as Word does: same glyphs, different streams), its
    letterhead logo and its seal (identical images)."""

    commune: str
    font_seed: int
    logo: bytes
    seal: bytes

    @classmethod
    def make(cls, seed: int) -> Office:
        rng = random.Random(f"office:{seed}")
        return cls(rng.choice(_COMMUNES), rng.getrandbits(32), _logo(rng), _seal(rng))


def _logo(rng: random.Random) -> bytes:
    """The office's colour emblem for its letterhead, as a JPEG."""
    img = Image.new("RGB", (360, 360), "white")
    d = ImageDraw.Draw(img)
    d.ellipse((8, 8, 352, 352), fill=(196, 30, 36), outline=(230, 190, 40), width=14)
    d.regular_polygon((180, 150, 70), 5, fill=(250, 215, 40), rotation=rng.randint(0, 10))
    for a in range(0, 180, 9):
        x, y = 180 + 140 * math.cos(math.radians(a)), 180 + 140 * math.sin(math.radians(a))
        d.ellipse((x - 9, y - 5, x + 9, y + 5), fill=(250, 215, 40))
    d.rectangle((110, 240, 250, 270), fill=(250, 215, 40))
    buf = io.BytesIO()
    img.filter(ImageFilter.GaussianBlur(0.8)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _digital_pdf(rng: random.Random, target: int,
                 office: Office | None = None) -> tuple[str, bytes]:
    """A born-digital công văn / quyết định / báo cáo; photos appended to approach ``target``.
    With ``office``, its fonts, seal and letterhead logo instead of the document's own."""
    doc = rng.choice(("cv", "qd", "bc"))
    title, blocks = _vn_doc(rng, doc, rng.randint(1, 2) if doc == "cv" else rng.randint(1, 5),
                            office.commune if office else None)
    layout, pdf = _layout(blocks), _Pdf()
    caption = "Ảnh hiện trường số 0123456789"
    fonts, gids = {}, {}
    for f in "RB":
        chars = {c for page in layout for run in page if run[0] == f for c in run[3]} | {" "}
        if office is not None:  # Word embeds a subset of the template's font: same glyphs
            fonts[f], gids[f] = _type0(pdf, chars | set(caption), f == "B",
                                       random.Random(office.font_seed))
            continue
        fonts[f], gids[f] = _type0(pdf, chars | set(caption) if f == "R" else chars, f == "B", rng)
    res = f"/Font << /FR {fonts['R']} 0 R /FB {fonts['B']} 0 R >>"
    if office is not None:
        seal = _image(pdf, office.seal, 320, 320, "DeviceRGB")
        logo = _image(pdf, office.logo, 360, 360, "DeviceRGB")
    else:
        seal = _image(pdf, _seal(rng), 320, 320, "DeviceRGB") if doc != "bc" else 0
        logo = 0
    kids = []

    def show(font: str, x: float, y: float, text: str, extra: float = 0.0) -> str:
        words = ["".join(f"{gids[font][c]:04X}" for c in w) for w in text.split(" ")]
        sp = f"{gids[font][' ']:04X}"
        tj = f"{sp}>{-extra * 1000 / 13:.0f}<".join(words) if extra else sp.join(words)
        return f"BT /F{font} 13 Tf 1 0 0 1 {x:.2f} {y:.2f} Tm 0 g [<{tj}>] TJ ET\n"

    for i, page in enumerate(layout):
        ops = "".join(show(*run) for run in page)
        xobj = f" /Im0 {seal} 0 R" if seal else ""  # every page names the seal, as Word does
        if i == 0:
            ops += "0.5 w 0 G 345 742 m 455 742 l S 120 742 m 180 742 l S\n"
            if logo:
                ops += "q 48 0 0 48 40 770 cm /Lg Do Q\n"
                xobj += f" /Lg {logo} 0 R"
        if i == len(layout) - 1 and seal:
            x, y = 350 + rng.randint(-15, 15), page[-1][2] - 45
            ops += f"q 118 0 0 118 {x} {y:.1f} cm /Im0 Do Q\n"
        kids.append(_page(pdf, ops, res + (f" /XObject <<{xobj} >>" if xobj else "")))
    while sum(map(len, pdf.objs)) < target - 70 * KiB and len(kids) < 40:
        w, h = rng.choice(((1024, 768), (1280, 960), (800, 600)))
        im = _image(pdf, _photo(rng, w, h), w, h, "DeviceRGB")
        ops = (f"q 420 0 0 {420 * h / w:.1f} 88 380 cm /Im1 Do Q\n"
               + show("R", 88, 360, f"Ảnh hiện trường số {len(kids) + 1}"))
        kids.append(_page(pdf, ops, f"{res} /XObject << /Im1 {im} 0 R >>"))
    name = {"cv": "cong-van", "qd": "quyet-dinh", "bc": "bao-cao"}[doc]
    return name, pdf.render(kids, _info(rng, title, "bench.corpus born-digital"), rng)


def _scan_page(rng: random.Random, w: int, h: int, fill: float) -> bytes:
    """A 150 dpi grey scan: paper tone, illumination drift, grain, ink strokes, skew; JPEG q75."""
    base = rng.randint(224, 240)
    low = Image.frombytes("L", (6, 8), rng.randbytes(48)).point(lambda v: base - 5 + v * 10 // 255)
    grain = Image.frombytes("L", (w, h), rng.randbytes(w * h)).point(_GRAIN)
    paper = ImageChops.add(low.resize((w, h), Image.Resampling.BICUBIC), grain, 1.0, -128)
    ink = Image.new("L", (w, h), 0)
    draw, y = ImageDraw.Draw(ink), 150
    while y < (h - 150) * fill:
        x, end = 180, w - 120 - (rng.randint(0, w // 2) if rng.random() < 0.15 else 0)
        while x < end:
            span = rng.randint(20, 95)
            pts = [(px, y - rng.choice((0, 4, 8, 12, 12, 14, 22)))
                   for px in range(x, x + span, rng.randint(3, 7))]
            draw.line(pts, fill=rng.randint(180, 255), width=2)
            x += span + rng.randint(8, 14)
        y += rng.randint(33, 37)
    if rng.random() < 0.5:  # signature scribble
        draw.line([(w - 420 + 14 * i, y + 60 + rng.randint(-30, 30)) for i in range(20)],
                  fill=230, width=3)
    page = ImageChops.subtract(paper, ink.filter(ImageFilter.GaussianBlur(0.7)))
    page = page.rotate(rng.uniform(-0.5, 0.5), Image.Resampling.BILINEAR, fillcolor=base)
    buf = io.BytesIO()
    page.save(buf, "JPEG", quality=75, dpi=(150, 150))
    return buf.getvalue()


def _scan_pdf(rng: random.Random, target: int, small: bool) -> tuple[str, bytes]:
    """A scanner-style PDF: one DCTDecode grey image per page, pages added up to ``target``."""
    pdf, kids, size = _Pdf(), list[int](), 0
    while not kids or size + 140 * KiB < target:
        w, h = (874, 1240) if small and rng.random() < 0.5 else (1240, 1754)
        fill = rng.uniform(0.2, 0.6 if w > 900 else 0.9) if small else rng.uniform(0.6, 1)
        jpeg = _scan_page(rng, w, h, fill)
        size += len(jpeg)
        im = _image(pdf, jpeg, w, h, "DeviceGray")
        pw, ph = w * 72 / 150, h * 72 / 150
        kids.append(_page(pdf, f"q {pw:.2f} 0 0 {ph:.2f} 0 0 cm /Im0 Do Q\n",
                          f"/XObject << /Im0 {im} 0 R >>", f"[0 0 {pw:.2f} {ph:.2f}]"))
    name = rng.choice(("scan-ho-so", "scan-bien-ban", "scan-don-de-nghi", "scan-giay-xac-nhan"))
    return name, pdf.render(kids, _info(rng, name, "bench.corpus scan-sim 150dpi"), rng)


def make_corpus(out_dir: Path, *, seed: int, total_bytes: int = 15 * MiB) -> list[CorpusFile]:
    """Write a corpus of about ``total_bytes`` (within 10 %) to ``out_dir``; same seed, same bytes.

    Above 4 MiB about 55 % goes to multi-page scans of 2-6 MiB; the rest is born-digital
    documents (~70 %) and one-page scans (~30 %), each 20-200 KiB.
    """
    rng, out = random.Random(seed), list[CorpusFile]()
    out_dir.mkdir(parents=True, exist_ok=True)
    large_left = total_bytes * 55 // 100 if total_bytes >= 4 * MiB else 0
    left = total_bytes
    while left > 30 * KiB:
        sub = random.Random(rng.getrandbits(64))
        if large_left >= 2 * MiB:
            target = sub.randint(2 * MiB, min(6 * MiB, large_left))
            target = min(6 * MiB, large_left) if large_left - target < 2 * MiB else target
            kind, (name, data) = "scan-large", _scan_pdf(sub, target, small=False)
            large_left -= len(data)
        elif left > 160 * KiB and rng.random() < 0.3:
            kind, (name, data) = "scan-small", _scan_pdf(sub, 0, small=True)
        else:
            target = min(left, sub.randint(20 * KiB, 200 * KiB))
            kind, (name, data) = "digital", _digital_pdf(sub, target)
        path = out_dir / f"{len(out):03d}_{name}.pdf"
        path.write_bytes(data)
        out.append(CorpusFile(path.resolve(), kind, len(data), hashlib.sha256(data).hexdigest()))
        left -= len(data)
    return out


def make_office_corpus(out_dir: Path, *, seed: int, count: int = 24) -> list[CorpusFile]:
    """``count`` born-digital documents of one office, oldest first (file name order).

    They share what one office's documents share: the template's fonts, the letterhead logo
    and the seal; text, numbers, dates and page counts differ. About one in four carries a
    photo page, as a report with pictures from the field does.
    """
    rng, office, out = random.Random(seed), Office.make(seed), list[CorpusFile]()
    out_dir.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        sub = random.Random(rng.getrandbits(64))
        target = sub.randint(120 * KiB, 300 * KiB) if sub.random() < 0.25 else 0
        name, data = _digital_pdf(sub, target, office)
        path = out_dir / f"{i:03d}_{name}.pdf"
        path.write_bytes(data)
        out.append(CorpusFile(path.resolve(), "office", len(data),
                              hashlib.sha256(data).hexdigest()))
    return out


def summary(files: list[CorpusFile]) -> str:
    """Per-kind count, bytes, size range and zstd level-3 ratio, as a text table."""
    zc, rows = zstandard.ZstdCompressor(level=3), []
    rows.append(f"{'kind':<11}{'count':>6}{'bytes':>12}{'min KiB':>9}{'max KiB':>9}{'zstd-3':>8}")
    for kind in (*KINDS, "total"):
        group = [f for f in files if kind in (f.kind, "total")]
        if not group:
            continue
        raw = sum(f.size for f in group)
        packed = sum(len(zc.compress(f.path.read_bytes())) for f in group)
        rows.append(f"{kind:<11}{len(group):>6}{raw:>12,}{min(f.size for f in group) // KiB:>9}"
                    f"{max(f.size for f in group) // KiB:>9}{raw / packed:>8.3f}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.corpus", description=__doc__)
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mb", type=float, default=15.0, help="total size in MiB")
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    files = make_corpus(args.out_dir, seed=args.seed, total_bytes=int(args.mb * MiB))
    print(summary(files))
    print(f"{len(files)} files in {args.out_dir} ({time.monotonic() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

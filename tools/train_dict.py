"""Train the zstd dictionary for sync bodies: ``python -m tools.train_dict [--check]``.

Sync bodies are small (a few hundred bytes to a few KiB) and zstd cannot learn much from one
body alone; a dictionary trained on realistic bodies supplies the shared vocabulary (msgpack
keys, agency codes of province H35, administrative phrases, media types). The samples are made
up but shaped like real traffic, and generated from a fixed seed with fixed training
parameters, so rerunning this reproduces the shipped file (as far as zstd is deterministic).

A released dictionary never changes: to improve it, write ``<next id>.zdict`` and keep the old
one, because peers negotiate by id (docs/protocol.md §3).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
from datetime import date, timedelta
from pathlib import Path

import zstandard

from gateway.model.document import Attachment, Envelope, Urgency, uuid7
from gateway.protocol.limits import ZSTD_LEVEL as LEVEL
from gateway.protocol.wire import (
    BlobNeed,
    HubConfig,
    InboxItem,
    NodeReport,
    Receipt,
    Refusal,
    StatusMsg,
    SyncReply,
    SyncRequest,
    encode_reply,
    encode_request,
)

DICT_ID = 1
ZSTD_DICT_ID = 32768 + DICT_ID  # first private-use zstd id; fits the frame's 2-byte field
DICT_SIZE = 16 * 1024
SEED = 20250701
SAMPLES = 3000
# k and d come from one run of zstd's optimiser (steps=40); pinned so training is one fast,
# single-threaded, deterministic pass.
K, D, F, ACCEL, SPLIT = 626, 6, 20, 1, 0.75
OUT = Path(__file__).resolve().parent.parent / "gateway" / "sync" / "dicts" / f"{DICT_ID}.zdict"

PROVINCE = [f"000.00.{n:02d}.H35" for n in range(0, 21)]
COMMUNES = [f"000.00.{n:02d}.H35" for n in range(31, 61)]
PLACES = [
    "Bản Lang", "Nậm Cuổi", "Pa Tần", "Mường Tè", "Sìn Hồ", "Phong Thổ", "Tam Đường",
    "Than Uyên", "Tân Uyên", "Nậm Nhùn", "Bum Nưa", "Khun Há", "Dào San", "Mù Cả", "Hua Bum",
]
SIGNERS = [
    "Nguyễn Văn An", "Trần Thị Bình", "Lò Văn Sơn", "Giàng A Páo", "Vàng Thị Mai",
    "Lê Minh Tuấn", "Phạm Thu Hà", "Hoàng Văn Thắng", "Đỗ Thị Lan", "Tao Văn Hùng",
    "Sùng A Chớ", "Lường Văn Tiến", "Bùi Quang Huy", "Vũ Thị Hồng", "Đặng Văn Khánh",
]
TYPES = [  # (loại văn bản, notation prefix or "" for công văn, weight)
    ("Công văn", "", 10), ("Quyết định", "QĐ", 4), ("Kế hoạch", "KH", 3),
    ("Thông báo", "TB", 3), ("Báo cáo", "BC", 4), ("Tờ trình", "TTr", 2),
    ("Giấy mời", "GM", 2), ("Chỉ thị", "CT", 1),
]
ISSUERS = ["UBND", "VP", "SNV", "STC", "SYT", "SGDĐT", "SNNMT", "SXD", "STP", "SKHCN"]
UNITS = ["VP", "VHXH", "KT", "TCBC", "QLNS", "NVY", "KTHT", "TH", "HCTC", "CCHC"]
TOPICS = [
    "phòng, chống thiên tai và tìm kiếm cứu nạn", "chuyển đổi số", "cải cách hành chính",
    "xây dựng nông thôn mới", "phòng, chống dịch bệnh", "tiêm chủng mở rộng",
    "giảm nghèo bền vững", "quản lý, bảo vệ rừng", "cấp căn cước và định danh điện tử",
    "thu ngân sách nhà nước", "quản lý đất đai", "bảo đảm an toàn thực phẩm",
    "phòng cháy, chữa cháy", "bảo đảm trật tự an toàn giao thông", "phổ biến, giáo dục pháp luật",
    "chương trình mục tiêu quốc gia phát triển kinh tế - xã hội vùng đồng bào dân tộc thiểu số",
    "tuyển sinh đầu cấp", "sắp xếp đơn vị hành chính cấp xã", "bầu cử đại biểu Hội đồng nhân dân",
    "thực hiện chính sách bảo hiểm xã hội, bảo hiểm y tế", "công tác dân số",
]
SUBJECTS = [
    "V/v triển khai kế hoạch {t} năm {y}", "V/v báo cáo kết quả thực hiện {t} {p}",
    "V/v đôn đốc thực hiện {t}", "Về việc tổ chức hội nghị sơ kết {t} {p}",
    "V/v góp ý dự thảo văn bản về {t}", "V/v tăng cường công tác {t}",
    "Kế hoạch {t} trên địa bàn tỉnh năm {y}", "Quyết định phê duyệt danh sách {t} năm {y}",
    "V/v cung cấp số liệu phục vụ {t}", "Giấy mời dự hội nghị tập huấn {t}",
]
PERIODS = ["6 tháng đầu năm {y}", "quý I năm {y}", "quý III năm {y}", "năm {y}", "tháng 9/{y}"]
MEDIA = [
    ("pdf", "application/pdf", 8),
    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", 3),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 2),
    ("jpg", "image/jpeg", 1),
]
ATT_NAMES = ["{k}-{n}-{o}", "phu-luc-{i:02d}", "bao-cao-{n}", "danh-sach-kem-theo", "du-thao"]
NOTES = ["", "", "", "Đã chuyển phòng chuyên môn", "Giao công chức Văn phòng - Thống kê",
         "Đang tổng hợp số liệu", "Văn bản thiếu phụ lục, đề nghị gửi bổ sung"]
STATUS = ["01", "01", "03", "04", "05", "06", "02"]
EVENTS = ["at_hub", "at_hub", "delivered", "delivered", "01", "03", "04", "05", "06"]
EPOCH_MS = 1_751_328_000_000  # 2025-07-01


def envelope(rng: random.Random, now_ms: int, sender: str) -> Envelope:
    doc_type, prefix, _ = rng.choices(TYPES, weights=[w for *_, w in TYPES])[0]
    issuer = "UBND" if sender in COMMUNES else rng.choice(ISSUERS)
    notation = f"{prefix}-{issuer}" if prefix else f"{issuer}-{rng.choice(UNITS)}"
    issued = date(2025, 7, 1) + timedelta(days=(now_ms - EPOCH_MS) // 86_400_000)
    y = issued.year
    subject = rng.choice(SUBJECTS).format(
        t=rng.choice(TOPICS), y=y, p=rng.choice(PERIODS).format(y=y)
    )
    number = str(rng.randint(1, 2500))
    kind = (prefix or "cv").lower().replace("đ", "d")
    atts: list[Attachment] = []
    for i in range(rng.choices([1, 2, 3, 4], weights=[6, 3, 1, 1])[0]):
        ext, media, _ = rng.choices(MEDIA, weights=[w for *_, w in MEDIA])[0]
        stem = rng.choice(ATT_NAMES).format(k=kind, n=number, o=issuer.lower(), i=i + 1)
        name = f"{stem}.{ext}" if i or not prefix else f"{kind}-{number}-{issuer.lower()}.{ext}"
        if any(a.name == name for a in atts):
            name = f"{stem}-{i + 1}.{ext}"
        size = int(rng.lognormvariate(12.5, 1.2)) + 1000
        atts.append(Attachment(name, media, rng.randbytes(32).hex(), size))
    recipients = rng.sample([c for c in PROVINCE + COMMUNES if c != sender],
                            rng.choices([1, 2, 3, 8, 30], weights=[8, 3, 2, 1, 1])[0])
    due = issued + timedelta(days=rng.choice([5, 7, 10, 15, 30])) if rng.random() < 0.4 else None
    return Envelope(
        id=uuid7(now_ms, rng.randbytes), sender=sender, recipients=tuple(recipients),
        number=number, notation=notation, doc_type=doc_type, subject=subject,
        issue_place=rng.choice(PLACES), issue_date=issued, signer=rng.choice(SIGNERS),
        urgency=rng.choices(list(Urgency)[:4], weights=[12, 4, 2, 1])[0], due_date=due,
        attachments=tuple(atts), created_ms=now_ms - rng.randint(0, 3_600_000),
    )


def request(rng: random.Random) -> SyncRequest:
    now = EPOCH_MS + rng.randint(0, 300 * 86_400_000)
    me = rng.choice(COMMUNES)
    n_out = rng.choices([0, 1, 2, 3], weights=[5, 6, 2, 1])[0]
    seq = rng.randint(1, 50_000)
    return SyncRequest(
        node=NodeReport(version="0.1.0", clock_ms=now + rng.randint(-90_000, 90_000),
                        queue=rng.choice([0, 0, 0, 1, 2, 5]), disk_free=rng.randint(4, 60) << 30,
                        blobs_bad=rng.choice([0] * 20 + [1]), uptime_s=rng.randint(60, 9**7)),
        out=tuple(envelope(rng, now, me) for _ in range(n_out)),
        acks=tuple(range(seq, seq + rng.choice([0, 0, 1, 1, 2, 4]))),
        statuses=tuple(
            StatusMsg(sid=uuid7(now, rng.randbytes), doc=uuid7(now - 9**8, rng.randbytes),
                      code=rng.choice(STATUS), note=rng.choice(NOTES), at_ms=now)
            for _ in range(rng.choices([0, 1, 2, 4], weights=[6, 3, 1, 1])[0])
        ),
        rcursor=rng.randint(0, 200_000), wait=rng.choice([0, 0, 55]),
    )


def reply(rng: random.Random) -> SyncReply:
    now = EPOCH_MS + rng.randint(0, 300 * 86_400_000)
    me = rng.choice(COMMUNES)
    out = [envelope(rng, now, me) for _ in range(rng.choices([0, 1, 2], weights=[6, 3, 1])[0])]
    inbox = [envelope(rng, now, rng.choice(PROVINCE)) for _ in range(rng.choice([0, 0, 1, 2]))]
    rseq = rng.randint(0, 200_000)
    return SyncReply(
        time_ms=now, accepted=tuple(e.id for e in out),
        refused=tuple(Refusal(uuid7(now, rng.randbytes), "recipients.unknown",
                              "Unknown recipient 000.00.99.H35: not in the agency directory.")
                      for _ in range(rng.choice([0] * 15 + [1]))),
        need=tuple(BlobNeed(a.sha256, 0, a.size, int(e.urgency))
                   for e in out for a in e.attachments),
        inbox=tuple(InboxItem(rng.randint(1, 90_000), e) for e in inbox),
        receipts=tuple(
            Receipt(rseq=rseq + i + 1, doc=uuid7(now - 9**8, rng.randbytes),
                    to=rng.choice(PROVINCE + COMMUNES), event=rng.choice(EVENTS),
                    at_ms=now - rng.randint(0, 9**7), note=rng.choice(NOTES))
            for i in range(rng.choices([0, 1, 2, 5], weights=[5, 3, 2, 1])[0])
        ),
        config=HubConfig(frame_max=2**20, dict_id=DICT_ID),
    )


def samples(seed: int = SEED, count: int = SAMPLES) -> list[bytes]:
    """``count`` encoded bodies, requests and replies alternating, from ``seed``."""
    rng = random.Random(seed)
    return [encode_request(request(rng)) if i % 2 == 0 else encode_reply(reply(rng))
            for i in range(count)]


def train(bodies: list[bytes]) -> bytes:
    zdict = zstandard.train_dictionary(
        DICT_SIZE, list(bodies), k=K, d=D, f=F, accel=ACCEL, split_point=SPLIT, steps=0,
        threads=1, dict_id=ZSTD_DICT_ID, level=LEVEL,
    )
    return zdict.as_bytes()


def ratios(zdict: bytes, bodies: list[bytes]) -> tuple[float, float]:
    """Mean compressed/raw size without and with the dictionary."""
    plain = zstandard.ZstdCompressor(level=LEVEL, write_content_size=True, write_checksum=True)
    with_dict = zstandard.ZstdCompressor(
        level=LEVEL, dict_data=zstandard.ZstdCompressionDict(zdict),
        write_content_size=True, write_checksum=True,
    )
    raw = sum(len(b) for b in bodies)
    return (sum(len(plain.compress(b)) for b in bodies) / raw,
            sum(len(with_dict.compress(b)) for b in bodies) / raw)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--check", action="store_true",
                        help="retrain and compare with the existing file instead of writing")
    args = parser.parse_args(argv)
    zdict = train(samples())
    digest = hashlib.sha256(zdict).hexdigest()
    without, with_dict = ratios(zdict, samples(seed=SEED + 1, count=400))
    print(f"dictionary {DICT_ID}: {len(zdict)} bytes, sha256 {digest}")
    print(f"held-out bodies: {without:.1%} of raw without, {with_dict:.1%} with dictionary")
    if args.check:
        same = args.out.read_bytes() == zdict
        print("identical to", args.out if same else f"DIFFERENT from {args.out}")
        return 0 if same else 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(zdict)
    print("wrote", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

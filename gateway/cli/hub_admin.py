"""``gateway hub backup | restore | renew-cert | resend | ca …``: keeping a hub alive for
years. Each prints what it did in plain words (Vietnamese unless ``GATEWAY_LANG=en``); the
machine-readable part (a path, a count) comes first on its line, for scripts."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from gateway.model import ui_language

_MB = 2**20


def say(vi: str, en: str) -> None:
    print(en if ui_language() == "en" else vi)


def _warn(vi: str, en: str) -> None:
    print(f"gateway: {en if ui_language() == 'en' else vi}", file=sys.stderr)


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


async def _backup(args: argparse.Namespace) -> int:
    from gateway.services.hub_backup import hub_backup

    r = await hub_backup(args.data, args.target, args.keep)
    how = (("liên kết cứng", "hard links") if r.linked else
           (f"{r.reused} dùng lại từ bản trước", f"{r.reused} reused from the previous one"))
    say(f"{r.path}\n{r.files} tệp, {r.blobs} tệp đính kèm ({how[0]}), "
        f"{r.bytes / _MB:.1f} MB, {r.seconds:.1f} giây; xoá {len(r.removed)} bản cũ.",
        f"{r.path}\n{r.files} files, {r.blobs} blobs ({how[1]}), {r.bytes / _MB:.1f} MB, "
        f"{r.seconds:.1f} s; {len(r.removed)} old backups removed.")
    if r.linked:
        _warn("bản sao lưu nằm cùng ổ đĩa với máy chủ: hãy chép nó sang ổ hoặc máy khác.",
              "the backup is on the hub's own disk: copy it to another disk or machine.")
    if r.outside:
        _warn(f"hub.json dùng tệp ngoài thư mục dữ liệu, không có trong bản sao lưu: "
              f"{', '.join(r.outside)}; hãy tự sao lưu chúng.",
              f"hub.json names files outside the data folder, not in the backup: "
              f"{', '.join(r.outside)}; back them up yourself.")
    if r.damaged:
        _warn(f"{len(r.damaged)} tệp đính kèm trên máy chủ bị hỏng, không sao lưu: "
              f"{', '.join(s[:16] for s in r.damaged[:5])}",
              f"{len(r.damaged)} blobs are damaged at the hub and were left out: "
              f"{', '.join(s[:16] for s in r.damaged[:5])}")
        return 1
    return 0


async def _restore(args: argparse.Namespace) -> int:
    from gateway.services.hub_restore import hub_restore

    r = await hub_restore(args.source, args.data, args.force)
    say(f"{r.data}\nĐã khôi phục bản sao lưu {r.source.name} (lúc {_when(r.created_ms)}): "
         f"{r.files} tệp, {r.blobs} tệp đính kèm, {r.seconds:.1f} giây.",
         f"{r.data}\nRestored backup {r.source.name} (taken {_when(r.created_ms)}): "
         f"{r.files} files, {r.blobs} blobs, {r.seconds:.1f} s.")
    say(f"Kỷ nguyên mới của máy chủ tỉnh: {r.epoch}. Ở lần đồng bộ tới, mỗi máy xã gửi lại văn "
        "bản và trạng thái mà máy chủ có thể đã mất (theo dõi hàng đợi trên trang /fleet).",
        f"The hub's new epoch: {r.epoch}. At its next sync each box offers again the "
        "documents and statuses the hub may have lost (watch the queues on /fleet).")
    if r.moved_aside is not None:
        say(f"Thư mục cũ được giữ ở {r.moved_aside}.", f"The old folder is kept at "
             f"{r.moved_aside}.")
    return 0


async def init_offline(args: argparse.Namespace) -> None:
    """``hub init --ca-offline DIR``: the hub as usual, then its CA key moved to DIR."""
    from gateway.services.hub import hub_init
    from gateway.services.hub_ca import check_outside, export_key

    check_outside(Path(args.data), Path(args.ca_offline))
    root = await hub_init(args.data, args.province, args.directory, args.names)
    key = await asyncio.to_thread(export_key, root, Path(args.ca_offline))
    print(root)
    say(f"Khoá CA ở {key}, không ở trên máy chủ: cất nó đi (USB trong két).",
        f"The CA key is at {key}, not on the hub: put it away (a USB stick in a safe).")


async def _renew(args: argparse.Namespace) -> int:
    from gateway.services.hub_ca import renew_certificate

    ca_dir = Path(args.ca_dir) if args.ca_dir else None
    r = await asyncio.to_thread(renew_certificate, Path(args.data), args.names, ca_dir)
    names = ", ".join(r.names)
    say(f"Chứng thư máy chủ mới cho {names}, hạn đến {r.not_after:%Y-%m-%d}. Các hộp vẫn tin "
        "nó (cùng CA). Khởi động lại máy chủ để dùng: systemctl restart commune-hub.",
        f"New server certificate for {names}, valid until {r.not_after:%Y-%m-%d}. Boxes "
        "keep trusting it (same CA). Restart the hub to use it: systemctl restart "
        "commune-hub.")
    return 0


async def _ca(args: argparse.Namespace) -> int:
    from gateway.services import hub_ca

    match args.ca_command:
        case "export":
            key = await asyncio.to_thread(hub_ca.export_key, Path(args.data), Path(args.target))
            say(f"{key}\nKhoá CA đã chuyển khỏi máy chủ. Đăng ký hộp mới từ nay chờ ký "
                "('gateway hub ca requests').",
                f"{key}\nThe CA key left the hub. New enrollments now wait for signing "
                "('gateway hub ca requests').")
        case "import":
            key = await asyncio.to_thread(hub_ca.import_key, Path(args.data), Path(args.source))
            say(f"{key}\nKhoá CA đã về máy chủ: đăng ký được ký ngay.",
                f"{key}\nThe CA key is on the hub again: enrollments are signed at once.")
        case "requests":
            n = await hub_ca.write_requests(args.data, args.target)
            say(f"{n} yêu cầu đăng ký chờ ký, ghi vào {args.target}.",
                f"{n} enrollment requests waiting, written to {args.target}.")
        case "sign":
            n = await asyncio.to_thread(hub_ca.sign_file, Path(args.ca_dir),
                                        Path(args.requests), Path(args.out))
            say(f"Đã ký {n} chứng thư vào {args.out}.", f"Signed {n} certificates into "
                f"{args.out}.")
        case "install":
            done, skipped = await hub_ca.install_signed(args.data, args.source)
            say(f"Đã nạp {done} chứng thư ({skipped} bỏ qua: đã nạp hoặc không khớp yêu cầu "
                "nào). Các hộp chạy lại lệnh đăng ký để nhận.",
                f"Installed {done} certificates ({skipped} skipped: installed already or "
                "matching no request). The boxes run their enroll command again to get them.")
    return 0


async def command(args: argparse.Namespace) -> int:
    match args.hub_command:
        case "backup":
            return await _backup(args)
        case "restore":
            return await _restore(args)
        case "renew-cert":
            return await _renew(args)
        case "ca":
            return await _ca(args)
    return 2

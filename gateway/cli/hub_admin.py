"""``gateway hub backup | restore | renew-cert | resend | ca …``: keeping a hub alive for
years. Each prints what it did in plain words (Vietnamese unless ``GATEWAY_LANG=en``); the
machine-readable part (a path, a count) comes first on its line, for scripts."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from gateway.model import ui_language

_MB = 2**20


def _say(vi: str, en: str) -> None:
    print(en if ui_language() == "en" else vi)


def _warn(vi: str, en: str) -> None:
    print(f"gateway: {en if ui_language() == 'en' else vi}", file=sys.stderr)


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


async def _backup(args: argparse.Namespace) -> int:
    from gateway.services.hub_backup import hub_backup

    r = await hub_backup(args.data, args.target, args.keep)
    how = ("liên kết cứng" if r.linked else "bản chép", "hard links" if r.linked else "copies")
    _say(f"{r.path}\n{r.files} tệp, {r.blobs} tệp đính kèm ({how[0]}), "
         f"{r.bytes / _MB:.1f} MB, {r.seconds:.1f} giây; xoá {len(r.removed)} bản cũ.",
         f"{r.path}\n{r.files} files, {r.blobs} blobs ({how[1]}), {r.bytes / _MB:.1f} MB, "
         f"{r.seconds:.1f} s; {len(r.removed)} old backups removed.")
    if r.linked:
        _warn("bản sao lưu nằm cùng ổ đĩa với máy chủ: hãy chép nó sang ổ hoặc máy khác.",
              "the backup is on the hub's own disk: copy it to another disk or machine.")
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
    _say(f"{r.data}\nĐã khôi phục bản sao lưu {r.source.name} (lúc {_when(r.created_ms)}): "
         f"{r.files} tệp, {r.blobs} tệp đính kèm, {r.seconds:.1f} giây.",
         f"{r.data}\nRestored backup {r.source.name} (taken {_when(r.created_ms)}): "
         f"{r.files} files, {r.blobs} blobs, {r.seconds:.1f} s.")
    if r.moved_aside is not None:
        _say(f"Thư mục cũ được giữ ở {r.moved_aside}.", f"The old folder is kept at "
             f"{r.moved_aside}.")
    return 0


async def command(args: argparse.Namespace) -> int:
    match args.hub_command:
        case "backup":
            return await _backup(args)
        case "restore":
            return await _restore(args)
    return 2

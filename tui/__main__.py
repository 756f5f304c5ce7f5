"""``python -m tui --data DIR``: the clerk's screen for one gateway data directory."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from gateway.model import Refused, ui_language
from gateway.store.layout import Layout, not_initialised
from tui.i18n import lang, set_language


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tui",
                                     description="Văn thư: the clerk's document screen")
    parser.add_argument("--data", required=True, help="the gateway data directory")
    parser.add_argument("--lang", choices=("vi", "en"),
                        help="UI language (default: GATEWAY_LANG, else Vietnamese)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    set_language(args.lang or ui_language())
    data = Path(args.data)
    if not Layout(data).config.exists():
        problem: Refused = not_initialised(data)
        print(problem.text(lang()), file=sys.stderr)
        return 1
    from tui.app import ClerkApp

    ClerkApp(data).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

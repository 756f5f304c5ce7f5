"""``python -m tui --data DIR``: the clerk's screen for one gateway data directory."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from gateway.model import Refused, ui_language
from gateway.store.layout import Layout, not_initialised
from tui.i18n import lang, set_language
from tui.ime import Method


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tui",
                                     description="Văn thư: the clerk's document screen")
    parser.add_argument("--data", required=True, help="the gateway data directory")
    parser.add_argument("--lang", choices=("vi", "en"),
                        help="UI language (default: GATEWAY_LANG, else Vietnamese)")
    parser.add_argument("--console", choices=("auto", "on", "off"), default="auto",
                        help="only the Linux console font's glyphs (auto: when TERM=linux)")
    parser.add_argument("--ime", choices=[m.value for m in Method],
                        help="built-in Vietnamese typing (default: telex on the console, "
                             "else off; F3 switches)")
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

    console = args.console == "on" or (args.console == "auto"
                                       and os.environ.get("TERM") == "linux")
    ClerkApp(data, console=console, ime=Method(args.ime) if args.ime else None).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

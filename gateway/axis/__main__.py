"""``python -m gateway.axis --listen 127.0.0.1:PORT --data DIR``: run the local axis service."""

from __future__ import annotations

import argparse
from pathlib import Path

from aiohttp import web

from gateway.axis.service import make_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gateway.axis")
    parser.add_argument("--listen", default="127.0.0.1:8780", help="host:port")
    parser.add_argument("--data", type=Path, required=True, help="folder with systems.json")
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    web.run_app(make_app(args.data), host=host or "127.0.0.1", port=int(port), print=None)


if __name__ == "__main__":
    main()

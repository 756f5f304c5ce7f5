"""The ``gateway`` console script: a Ctrl-C while Python is still importing the command (about
0.3 s on a Raspberry Pi class box, longer from a cold SD card) says "stopped", not a traceback.

Nothing of the gateway is imported before the ``try``: the words and the language rule
(:func:`gateway.model.errors.ui_language`) are therefore spelled out here, not imported.
"""

import os
import sys

STOPPED = {"vi": "Đã dừng theo yêu cầu.", "en": "Stopped at your request."}
INTERRUPTED = 130  # what a shell reports for a command stopped by SIGINT (128 + 2)


def main() -> int:
    try:
        from gateway.cli import main as run  # the import is what is guarded

        return run()
    except KeyboardInterrupt:
        lang = "en" if os.environ.get("GATEWAY_LANG", "vi").lower().startswith("en") else "vi"
        print(f"gateway: {STOPPED[lang]}", file=sys.stderr)
        return INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())

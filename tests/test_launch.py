"""The ``gateway`` console script (gateway/launch.py): a Ctrl-C while Python is still importing
the command says "stopped" and exits 130, never a traceback; otherwise it is the command."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# A real SIGINT 20 ms after the launcher starts importing gateway.cli (which takes ~0.3 s and
# more): the child then says whether the command module was left unimported.
EARLY_CTRL_C = """
import os, signal, sys, threading
from gateway.launch import main
sys.argv = ["gateway", "status", "--data", "/nonexistent"]
threading.Timer(0.02, os.kill, (os.getpid(), signal.SIGINT)).start()
code = main()
print(code, "gateway.cli" in sys.modules)
"""


@pytest.mark.parametrize(("lang", "words"), [("vi", "gateway: Đã dừng theo yêu cầu.\n"),
                                             ("en", "gateway: Stopped at your request.\n")])
def test_ctrl_c_during_the_import_says_stopped(lang: str, words: str) -> None:
    done = subprocess.run([sys.executable, "-c", EARLY_CTRL_C], capture_output=True, text=True,
                          timeout=60, check=False, env={**os.environ, "GATEWAY_LANG": lang})
    assert done.stdout == "130 False\n"  # interrupted inside the import, and said so
    assert done.stderr == words


def test_otherwise_it_is_the_command(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "gateway.launch", "list", "--data",
                           str(tmp_path / "none")], capture_output=True, text=True, timeout=60,
                          check=False, env={**os.environ, "GATEWAY_LANG": "vi"})
    assert done.returncode == 1 and "chưa được khởi tạo" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_installed_command_and_the_deb_use_the_launcher() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"]["gateway"] == "gateway.launch:main"
    assert "from gateway.launch import main" in (ROOT / "image/build-deb.sh").read_text()

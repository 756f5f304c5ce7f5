"""deploy/: the scrape config, alert rules and dashboard are valid and name only real metrics."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from gateway.hub.metrics import render
from tests import fleet_sim

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed "
                                    "(Debian 'prometheus'; .ci/run installs it)")
METRIC = re.compile(r"\b(gateway_[a-z_]+)\b")


def promtool(*args: str, cwd: Path) -> None:
    assert PROMTOOL is not None
    done = subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()


@needs_promtool
def test_alert_rules_pass_their_unit_tests() -> None:
    promtool("check", "rules", "alerts.yml", cwd=DEPLOY / "prometheus")
    promtool("test", "rules", "alerts_test.yml", cwd=DEPLOY / "prometheus")


@needs_promtool
def test_scrape_config_is_valid(tmp_path: Path) -> None:
    """The config as installed: its token and CA files in place (promtool checks they exist)."""
    text = (DEPLOY / "prometheus" / "prometheus.yml").read_text(encoding="utf-8")
    assert "credentials_file:" in text and "ca_file:" in text and "scheme: https" in text
    (tmp_path / "t").write_text("x\n")
    (tmp_path / "ca.pem").write_text("")
    text = text.replace("/etc/prometheus/commune-hub.token", str(tmp_path / "t"))
    text = text.replace("/etc/prometheus/commune-ca.pem", str(tmp_path / "ca.pem"))
    (tmp_path / "prometheus.yml").write_text(text)
    shutil.copy(DEPLOY / "prometheus" / "alerts.yml", tmp_path)
    promtool("check", "config", "prometheus.yml", cwd=tmp_path)


def _expressions() -> dict[str, list[str]]:
    dashboard = json.loads((DEPLOY / "grafana" / "fleet-dashboard.json").read_text("utf-8"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    rules = (DEPLOY / "prometheus" / "alerts.yml").read_text(encoding="utf-8")
    return {"dashboard": exprs, "alerts": re.findall(r"^\s+expr: (.+)$", rules, re.M)}


async def test_every_metric_named_in_deploy_exists_on_a_real_hub(tmp_path: Path) -> None:
    boxes = fleet_sim.province(12)  # every kind of box, so every series has samples
    hub, _, _ = await fleet_sim.start(tmp_path / "hub", boxes)
    try:
        hub.state.count("sync")
        hub.state.refusal("test")
        text = await render(hub.state)
    finally:
        await hub.close()
    present = set(re.findall(r"^(gateway_[a-z_]+)[{ ]", text, re.M))
    found = _expressions()
    assert len(found["dashboard"]) >= 15 and len(found["alerts"]) >= 11
    for source, exprs in found.items():
        for expr in exprs:
            missing = set(METRIC.findall(expr)) - present
            assert not missing, (source, expr, missing)
    named = {m for exprs in found.values() for e in exprs for m in METRIC.findall(e)}
    assert {"gateway_ever_seen", "gateway_version_info", "gateway_hub_disk_free_bytes",
            "gateway_hub_certificate_expiry_timestamp_seconds"} <= named

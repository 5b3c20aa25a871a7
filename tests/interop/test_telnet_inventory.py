"""Telnet is a per-host or per-group opt-in (agent/collect/inventory.py): never from the defaults, its
port checked, its credentials required like SSH's; the scan summary names the devices it was sent to."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml

from agent.cli.common import _print_summary
from agent.collect.inventory import InventoryError, load_inventory
from agent.collect.scan import ScanSummary, _covered
from agent.core.models import Capture

ENV = {"PW": "inv-pass-1"}


def _inv(tmp_path: Path, hosts: dict, groups: dict | None = None, defaults: dict | None = None) -> Path:
    base = {"username": "u", "password": "${PW}", "platform": "cisco_ios", **(defaults or {})}
    for name, part in (("hosts", hosts), ("groups", groups or {}), ("defaults", base)):
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(part))
    return tmp_path


def test_telnet_on_the_host_or_its_group(tmp_path):
    inv = _inv(tmp_path, {"a": {"data": {"transports": ["ssh", "telnet"], "telnet_port": 2323}},
                          "b": {"groups": ["old"]},
                          "c": {"groups": ["old"], "data": {"transports": ["ssh"]}}},
               groups={"old": {"data": {"transports": ["telnet"]}}},
               defaults={"data": {"transports": ["ssh"]}})
    targets = {t.name: t for t in load_inventory(inv, env=ENV).targets}
    assert targets["a"].transports == ("ssh", "telnet") and targets["a"].options["telnet_port"] == 2323
    assert targets["b"].transports == ("telnet",)
    assert targets["c"].transports == ("ssh",)  # the host's own list wins over its group's


def test_telnet_in_the_defaults_is_refused(tmp_path):
    inv = _inv(tmp_path, {"a": {}, "b": {"data": {"transports": ["ssh"]}}},
               defaults={"data": {"transports": ["ssh", "telnet"]}})
    with pytest.raises(InventoryError, match=r"hosts.yaml, host 'a': transports: \[telnet\] .*not in the defaults"):
        load_inventory(inv, env=ENV)


@pytest.mark.parametrize("port", ["23", 0, 70000, True])
def test_telnet_port_must_be_a_port(tmp_path, port):
    inv = _inv(tmp_path, {"a": {"data": {"transports": ["telnet"], "telnet_port": port}}})
    with pytest.raises(InventoryError, match="telnet_port"):
        load_inventory(inv, env=ENV)


def test_telnet_needs_credentials(tmp_path):
    inv = _inv(tmp_path, {"a": {"data": {"transports": ["telnet"]}}})
    (tmp_path / "defaults.yaml").write_text(yaml.safe_dump({"platform": "cisco_ios"}))
    with pytest.raises(InventoryError, match="no username .*telnet"):
        load_inventory(inv, env=ENV)


def test_summary_names_devices_sent_credentials_in_clear():
    summary = ScanSummary(scan_id=1, total=2, ok=2, cleartext=["sw-old-1", "sw-old-2"])
    out = io.StringIO()
    _print_summary(summary, out)
    line = next(ln for ln in out.getvalue().splitlines() if "IN CLEAR" in ln)
    assert line.endswith(": 2: sw-old-1, sw-old-2")
    out = io.StringIO()
    _print_summary(ScanSummary(scan_id=1, total=1, ok=1), out)
    assert "IN CLEAR" not in out.getvalue()


def test_telnet_covers_what_the_same_commands_cover_over_ssh():
    caps = [Capture("a", "cisco_ios", t, "show inventory", "x", 0, 0) for t in ("ssh", "telnet")]
    assert _covered("telnet", "cisco_ios", caps[1:]) == _covered("ssh", "cisco_ios", caps[:1]) == {"inventory"}

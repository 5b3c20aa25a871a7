"""`ibagent lab`: the simulator from the main CLI, with the structured peers on request."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from lab.main import READY_PREFIX

ROOT = Path(__file__).resolve().parent.parent


def test_lab_serves_netconf_peers_when_asked(tmp_path):
    inv = tmp_path / "inv"
    proc = subprocess.Popen([sys.executable, "-m", "agent.cli", "lab", "--fleet", "scale", "--count", "2",
                             "--peers", "netconf", "--inventory-dir", str(inv)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        info = None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith(READY_PREFIX):
                info = json.loads(line[len(READY_PREFIX):])
                break
        assert info is not None, proc.stderr.read() if proc.poll() is not None else "lab not ready"
        assert info["devices"] == 2 and "netconf" in info["peer_startup"]
        hosts = yaml.safe_load((inv / "hosts.yaml").read_text())
        assert len(hosts) == 2
        assert all(h["data"].get("netconf_port") for h in hosts.values())
        assert all(h["hostname"] == "127.0.0.1" for h in hosts.values())
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert proc.returncode == 0


def test_lab_refuses_unknown_peers(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "agent.cli", "lab", "--peers", "telnet",
                           "--inventory-dir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "unknown peers" in proc.stderr and "Traceback" not in proc.stderr


def test_lab_without_snmpsim_says_how_to_get_it(tmp_path, monkeypatch, capsys):
    """snmpsim is the optional 'lab' extra: a plain install asked for SNMP peers used to die with exit 70."""
    from agent.cli import lab as lab_cli
    from agent.cli import main as cli_main

    monkeypatch.setattr(lab_cli, "_snmpsim_installed", lambda: False)
    assert cli_main(["lab", "--peers", "snmp", "--inventory-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--peers snmp needs snmpsim, which is not installed: pip install 'ibagent[lab]'" in err
    assert "Traceback" not in err and not any(tmp_path.iterdir())

"""Telnet against a real server: Debian's telnetd (inetutils) on 127.0.0.1, started per connection
as inetd would, serving ``lab.replay_shell`` (which asks Username:/Password: itself), scanned
through the real ``ibagent scan`` path.  Asserts the parsed inventory against the lab's hand-written
truth, the exact bytes kept as evidence, a refused login as kind ``auth``, the summary's clear-text
warning, and that telnet in the defaults only is refused before any connection is made."""
from __future__ import annotations

import importlib.util
import json
import socket
from pathlib import Path

import pytest
import yaml

from agent.cli import main as cli_main
from agent.normalize import canonical_version
from agent.store import Store
from lab.device import ENABLE_ENV, PASSWORD_ENV, DeviceSpec, RunningDevice, default_credentials
from lab.inventory import write_inventory
from lab.server import LabThread
from telnet_server import RealTelnetd, telnetd_path
from truth_checks import truth_items

_spec = importlib.util.spec_from_file_location("secrets_sweep", Path(__file__).parents[1] / "hostile" / "secrets_sweep.py")
_sweep_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_sweep_module)
_sweep = _sweep_module.sweep

PROFILE = "c2960x_stack2"
USER, PASSWORD, ENABLE = "tn-user", "tn-pass-4711", "tn-enable-4711"
ENV = {"TN_PASSWORD": PASSWORD, "TN_BAD_PASSWORD": "not-the-password", "TN_ENABLE": ENABLE}

pytestmark = pytest.mark.skipif(telnetd_path() is None,
                                reason="no telnetd (.ci/run installs Debian's inetutils-telnetd)")


@pytest.fixture(scope="module")
def telnetd(tmp_path_factory):
    server = RealTelnetd(tmp_path_factory.mktemp("telnetd"), PROFILE, username=USER, password=PASSWORD,
                         enable=ENABLE).start()
    yield server
    server.stop()


@pytest.fixture
def env(monkeypatch):
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)


def _truth():
    # The replay shell's device: hostname tn-real, seed 0, index 0 (telnet_server.RealTelnetd).
    spec = DeviceSpec(name="tn-real", profile=PROFILE, seed=0, index=0).resolved(0)
    return RunningDevice(spec, "127.0.0.1", 0).truth


def _inventory(path, hosts: dict, defaults: dict | None = None, groups: dict | None = None):
    path.mkdir()
    base = {"username": USER, "password": "${TN_PASSWORD}", "platform": "cisco_ios",
            "data": {"enable_secret": "${TN_ENABLE}"}}
    base["data"].update((defaults or {}).pop("data", {}))
    base.update(defaults or {})
    (path / "hosts.yaml").write_text(yaml.safe_dump(hosts))
    (path / "defaults.yaml").write_text(yaml.safe_dump(base))
    (path / "groups.yaml").write_text(yaml.safe_dump(groups or {}))
    return str(path)


def _host(telnet_port: int, **extra) -> dict:
    data = {"transports": ["telnet"], "telnet_port": telnet_port, **extra.pop("data", {})}
    return {"hostname": "127.0.0.1", "data": data, **extra}


def test_scan_over_real_telnetd(telnetd, env, tmp_path, capsys):
    inv = _inventory(tmp_path / "inv", {
        "tn-good": _host(telnetd.port),
        "tn-bad": _host(telnetd.port, password="${TN_BAD_PASSWORD}"),
    })
    db = str(tmp_path / "ib.db")
    code = cli_main(["scan", "-i", inv, "--db", db, "--no-progress", "--connect-timeout", "10",
                     "--command-timeout", "10"])
    out = capsys.readouterr().out
    assert code == 1, out  # tn-bad fails on purpose
    warning = next(line for line in out.splitlines() if "IN CLEAR over telnet" in line)
    assert "tn-good" in warning and "tn-bad" in warning  # a refused password was still sent in clear
    # Typed in clear on the wire, but written nowhere: output, store (captures decompressed), files.
    assert _sweep([PASSWORD, ENABLE, "not-the-password"], paths=[tmp_path], texts={"stdout": out}) == []

    assert cli_main(["devices", "--db", db, "--format", "json"]) == 0
    rows = [r for r in json.loads(capsys.readouterr().out) if r["device"] == "tn-good"]
    truth = _truth()
    assert {r["transport"] for r in rows} == {"telnet"}
    assert {(r["serial"], r["base_pid"]) for r in rows if r["contractable"]} == truth_items(truth)
    assert {r["version"] for r in rows} == {canonical_version(truth.platform, truth.os_version)}
    # The weak-crypto finding (schema v9) is stored with the device and shown in the summary.
    assert {r["weak_crypto"] for r in rows} == {"transport telnet: credentials and output in clear text"}
    assert any(line.strip().startswith("tn-good") and "telnet" in line for line in out.splitlines())

    assert cli_main(["errors", "--db", db, "--format", "json"]) == 0
    errors = json.loads(capsys.readouterr().out)
    assert [(e["device"], e["transport"], e["kind"]) for e in errors] == [("tn-bad", "telnet", "auth")]
    assert "Authentication failed" in errors[0]["reason"]

    # The evidence is the bytes as received: the echoed command, CR LF line ends, the prompt.
    store = Store(db)
    try:
        capture_id = next(r["capture_id"] for r in rows if r["serial"] == truth.chassis_serial)
        raw = store.capture_bytes(capture_id)
    finally:
        store.close()
    assert raw.startswith(b"show inventory\r\n") and raw.endswith(b"tn-real#")
    assert b"\r\n" in raw and b"\xff" not in raw


def test_ssh_falls_back_to_telnet(telnetd, env, tmp_path, capsys):
    # An old switch with SSH off: the scan tries SSH first (nothing listens on the port), then telnet.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    closed = s.getsockname()[1]
    s.close()
    inv = _inventory(tmp_path / "inv", {"tn-fallback": _host(telnetd.port, port=closed,
                                                           data={"transports": ["ssh", "telnet"]})})
    db = str(tmp_path / "ib.db")
    assert cli_main(["scan", "-i", inv, "--db", db, "--no-progress", "--retries", "0",
                     "--connect-timeout", "10"]) == 0
    out = capsys.readouterr().out
    assert "tn-fallback" in next(line for line in out.splitlines() if "IN CLEAR" in line)
    assert cli_main(["devices", "--db", db, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["transport"] for r in rows} == {"telnet"}
    assert {(r["serial"], r["base_pid"]) for r in rows if r["contractable"]} == truth_items(_truth())


def test_telnet_in_defaults_only_is_refused_before_any_connection(telnetd, env, tmp_path, capsys):
    before = len(telnetd.children)
    inv = _inventory(tmp_path / "inv", {"tn-default": {"hostname": "127.0.0.1",
                                                       "data": {"telnet_port": telnetd.port}}},
                     defaults={"data": {"transports": ["telnet"]}})
    code = cli_main(["scan", "-i", inv, "--db", str(tmp_path / "ib.db"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert "tn-default" in err and "not in the defaults" in err
    assert len(telnetd.children) == before  # nobody connected


def test_telnet_from_a_group_is_accepted(telnetd, env, tmp_path, capsys):
    inv = _inventory(tmp_path / "inv", {"tn-grouped": {"hostname": "127.0.0.1", "groups": ["old-access"],
                                                       "data": {"telnet_port": telnetd.port}}},
                     groups={"old-access": {"data": {"transports": ["telnet"]}}})
    assert cli_main(["scan", "-i", inv, "--db", str(tmp_path / "ib.db"), "--no-progress",
                     "--connect-timeout", "10"]) == 0
    assert "tn-grouped" in next(line for line in capsys.readouterr().out.splitlines() if "IN CLEAR" in line)


def test_credentials_refused_over_telnet_then_ssh_collects(telnetd, env, tmp_path, capsys, monkeypatch):
    # transports [telnet, ssh]: the telnet login is refused (the lab's password is not telnetd's),
    # SSH (the asyncssh lab) collects the device.  The password still crossed the network in clear:
    # the summary names the device and its findings say telnet, although its rows come from SSH.
    _, password, enable = default_credentials()
    monkeypatch.setenv(PASSWORD_ENV, password)
    monkeypatch.setenv(ENABLE_ENV, enable)
    with LabThread([DeviceSpec(name="tn-both", profile=PROFILE)]) as lab:
        inv = write_inventory(lab.devices, tmp_path / "inv", transports=["telnet", "ssh"])
        hosts = yaml.safe_load((inv / "hosts.yaml").read_text())
        hosts["tn-both"]["data"]["telnet_port"] = telnetd.port
        (inv / "hosts.yaml").write_text(yaml.safe_dump(hosts))
        db = str(tmp_path / "ib.db")
        assert cli_main(["scan", "-i", str(inv), "--db", db, "--no-progress", "--connect-timeout", "10"]) == 0
        out = capsys.readouterr().out
        truth = lab.device("tn-both").truth
    assert "tn-both" in next(line for line in out.splitlines() if "IN CLEAR" in line)
    assert cli_main(["devices", "--db", db, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["transport"] for r in rows} == {"ssh"}
    assert {(r["serial"], r["base_pid"]) for r in rows if r["contractable"]} == truth_items(truth)
    assert all("transport telnet" in r["weak_crypto"] for r in rows)
    assert cli_main(["errors", "--db", db, "--format", "json"]) == 0
    assert [(e["transport"], e["kind"]) for e in json.loads(capsys.readouterr().out)] == [("telnet", "auth")]


@pytest.fixture(scope="module")
def telnetd_old_gear(tmp_path_factory):
    """A banner whose lines look like login prompts, and 'terminal length 0' refused: every page
    of output stops at --More--."""
    banner = "Authorized access only\\nUsername: and Password: attempts are logged\\nPassword:\\n"
    server = RealTelnetd(tmp_path_factory.mktemp("telnetd-old"), PROFILE, username=USER, password=PASSWORD,
                         enable=ENABLE, options=("--motd", banner, "--no-term-length")).start()
    yield server
    server.stop()


def test_banner_and_pager(telnetd_old_gear, env, tmp_path, capsys):
    inv = _inventory(tmp_path / "inv", {"tn-paged": _host(telnetd_old_gear.port)})
    db = str(tmp_path / "ib.db")
    assert cli_main(["scan", "-i", inv, "--db", db, "--no-progress", "--connect-timeout", "10",
                     "--command-timeout", "10"]) == 0, capsys.readouterr().out
    capsys.readouterr()
    assert cli_main(["devices", "--db", db, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    truth = _truth()
    assert {(r["serial"], r["base_pid"]) for r in rows if r["contractable"]} == truth_items(truth)
    assert {r["version"] for r in rows} == {canonical_version(truth.platform, truth.os_version)}
    store = Store(db)
    try:
        version = next(c for c in store.db.execute("SELECT id, command FROM captures") if c[1] == "show version")[0]
        text, raw = store.capture_text(version), store.capture_bytes(version)
    finally:
        store.close()
    assert b"--More--" in raw and "--More--" not in text and "\b" not in text


def test_authorization_failed_on_enable_is_auth(tmp_path, env, capsys):
    server = RealTelnetd(tmp_path / "srv", PROFILE, username=USER, password=PASSWORD, enable=ENABLE,
                         options=("--authz-fail",))
    (tmp_path / "srv").mkdir()
    server.start()
    try:
        inv = _inventory(tmp_path / "inv", {"tn-authz": _host(server.port)})
        db = str(tmp_path / "ib.db")
        assert cli_main(["scan", "-i", inv, "--db", db, "--no-progress", "--connect-timeout", "10"]) == 1
        capsys.readouterr()
        assert cli_main(["errors", "--db", db, "--format", "json"]) == 0
        errors = json.loads(capsys.readouterr().out)
    finally:
        server.stop()
    assert [(e["transport"], e["kind"]) for e in errors] == [("telnet", "auth")]
    assert "enable refused" in errors[0]["reason"]

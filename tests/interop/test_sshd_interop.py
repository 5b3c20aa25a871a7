"""ibagent against real OpenSSH servers set up like old and locked-down Cisco gear (issue 13).

Every scan goes through the real ``ibagent scan`` command path (inventory, host-key policy, scan
engine, store) and is read back with ``ibagent devices --format json``, with both SSH drivers.
The shell behind each sshd replays the c2960x_stack2 lab profile, so the inventory read is
checked against that profile's hand-written ground truth.
"""
from __future__ import annotations

import json
import sqlite3

import pytest

import sshd_servers as S
from agent.cli import main as cli_main
from lab.device import DeviceSpec, RunningDevice
from agent.normalize import canonical_version
from agent.store import Store
from lab import profiles
from truth_checks import truth_items

PROFILE = profiles.load("c2960x_stack2")


def PROFILE_CHASSIS_SERIAL() -> str:  # noqa: N802 - reads as the constant it stands for
    spec = DeviceSpec(name=PROFILE.name, profile=PROFILE.name).resolved(0)
    return RunningDevice(spec, "127.0.0.1", 0).truth.chassis_serial

DRIVERS = ("asyncssh", "netmiko")
PASSWORD_ENV = "IBAGENT_INTEROP_PASSWORD"
ENABLE_ENV = "IBAGENT_INTEROP_ENABLE"
FAST = ["--connect-timeout", "8", "--command-timeout", "8", "--deadline", "60", "--retries", "0", "--no-progress"]

# What the negotiation must come to, per server profile (sshd offers exactly one of each).
EXPECTED = {
    "legacy": {"kex": "diffie-hellman-group14-sha1", "cipher": "aes128-cbc", "mac": "hmac-sha1", "hostkey": "ssh-rsa"},
    "ancient": {"kex": "diffie-hellman-group1-sha1", "cipher": "aes128-cbc", "mac": "hmac-sha1", "hostkey": "ssh-rsa"},
    "ancient_3des": {"kex": "diffie-hellman-group1-sha1", "cipher": "3des-cbc", "mac": "hmac-sha1", "hostkey": "ssh-rsa"},
}


@pytest.fixture(autouse=True)
def _credentials(monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, S.PASSWORD)
    monkeypatch.setenv(ENABLE_ENV, S.ENABLE)


def truth(profile: str = "c2960x_stack2") -> set[tuple[str, str]]:
    """(serial, base PID) of every physical item the replayed profile prints (its hand-written truth;
    the replay shell runs with seed 0, index 0, as here)."""
    spec = DeviceSpec(name=profile, profile=profile).resolved(0)
    return truth_items(RunningDevice(spec, "127.0.0.1", 0).truth)


def items(rows: list[dict]) -> set[tuple[str, str]]:
    return {(r["serial"], r["base_pid"]) for r in rows if r["contractable"]}


def write_inventory(directory, hosts: dict[str, tuple[int, dict]], platform: str = "cisco_ios") -> str:
    directory.mkdir(parents=True, exist_ok=True)
    lines = []
    for name, (port, data) in hosts.items():
        lines += [f"{name}:", "  hostname: 127.0.0.1", f"  port: {port}", f"  platform: {platform}",
                  f"  username: {S.USER}", f"  password: ${{{PASSWORD_ENV}}}", "  data:",
                  f"    enable_secret: ${{{ENABLE_ENV}}}", "    transports: [ssh]"]
        lines += [f"    {k}: {json.dumps(v)}" for k, v in data.items()]
    (directory / "hosts.yaml").write_text("\n".join(lines) + "\n")
    return str(directory)


def scan(tmp_path, inventory: str, driver: str, *extra: str) -> tuple[int, str]:
    db = str(tmp_path / "ib.db")
    code = cli_main(["scan", "-i", inventory, "--db", db, "--ssh-driver", driver, *FAST, *extra])
    return code, db


def devices_json(db: str, capsys) -> list[dict]:
    capsys.readouterr()
    assert cli_main(["devices", "--db", db, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def strict(tmp_path, *servers: S.Server) -> list[str]:
    """--host-keys strict with a known_hosts file written from the servers' own keys."""
    path = tmp_path / "known_hosts"
    path.write_text("".join(s.known_hosts_line() + "\n" for s in servers))
    return ["--host-keys", "strict", "--known-hosts", str(path)]


def device_row(db: str, device: str) -> sqlite3.Row:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        return con.execute("SELECT * FROM devices WHERE device = ? ORDER BY scan_id DESC", (device,)).fetchone()
    finally:
        con.close()


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("server", ["legacy", "ancient", "ancient_3des"])
def test_old_ios_algorithm_sets_collect_with_their_profile(sshd_servers, tmp_path, capsys, server, driver):
    srv = sshd_servers[server]
    profile = server.split("_")[0]
    inv = write_inventory(tmp_path / "inv", {"sw": (srv.port, {"ssh_algorithms": profile})})
    code, db = scan(tmp_path, inv, driver, *strict(tmp_path, srv))
    out = capsys.readouterr().out
    assert code == 0, out
    rows = devices_json(db, capsys)
    assert items(rows) == truth()
    row = rows[0]
    negotiated = {k: row[f"ssh_{k}"] for k in ("kex", "cipher", "mac", "hostkey")}
    assert negotiated == EXPECTED[server]
    assert (row["ssh_driver"], row["ssh_profile"], row["ssh_stepped_down_from"]) == (driver, profile, "")
    subjects = {f["subject"]: f["value"] for f in row["weak_crypto_findings"]}
    assert subjects == {"ssh kex": EXPECTED[server]["kex"], "ssh cipher": EXPECTED[server]["cipher"],
                        "ssh mac": "hmac-sha1", "ssh host key": "ssh-rsa"}
    # The scan summary lists the device's weak crypto.
    assert "weak crypto: 1 device(s)" in out and "diffie-hellman-group" in out


@pytest.mark.parametrize("driver", DRIVERS)
def test_modern_server_negotiates_strong_algorithms_and_no_finding(sshd_servers, tmp_path, capsys, driver):
    srv = sshd_servers["modern"]
    inv = write_inventory(tmp_path / "inv", {"sw": (srv.port, {})})
    code, db = scan(tmp_path, inv, driver)  # TOFU: the first key is learned
    assert code == 0, capsys.readouterr().out
    rows = devices_json(db, capsys)
    assert items(rows) == truth()
    row = rows[0]
    assert row["ssh_profile"] == "modern" and row["ssh_driver"] == driver
    assert row["ssh_hostkey"] == "ssh-ed25519"
    assert not any(x in row["ssh_kex"] for x in ("sha1", "group1")) and "cbc" not in row["ssh_cipher"]
    assert row["weak_crypto_findings"] == [] and row["crypto"] == "ok"


@pytest.mark.parametrize("driver", DRIVERS)
def test_modern_profile_against_ancient_gear_fails_clearly_then_step_down_collects(sshd_servers, tmp_path, capsys,
                                                                                  driver):
    srv = sshd_servers["ancient"]
    known = strict(tmp_path, srv)
    inv = write_inventory(tmp_path / "inv", {"sw": (srv.port, {})})
    code, db = scan(tmp_path, inv, driver, *known)
    capsys.readouterr()
    assert code != 0
    row = device_row(db, "sw")
    assert row["status"] == "failed" and row["error_kind"] == "connect"
    assert "algorithm negotiation failed with profile modern" in row["error"]
    assert "ssh_step_down" in row["error"]  # says what to do about it
    # Opt in to step-down: modern fails, legacy fails (group1 only), ancient collects.
    inv = write_inventory(tmp_path / "inv2", {"sw": (srv.port, {"ssh_step_down": True})})
    code, db = scan(tmp_path / "second", inv, driver, *known) if (tmp_path / "second").mkdir() is None else (None, None)
    assert code == 0, capsys.readouterr().out
    row = devices_json(db, capsys)[0]
    assert (row["ssh_profile"], row["ssh_stepped_down_from"]) == ("ancient", "modern")
    assert row["ssh_kex"] == "diffie-hellman-group1-sha1"


@pytest.mark.parametrize("driver", DRIVERS)
def test_step_down_never_follows_an_auth_failure(sshd_servers, tmp_path, capsys, monkeypatch, driver):
    srv = sshd_servers["legacy"]
    inv = write_inventory(tmp_path / "inv", {"sw": (srv.port, {"ssh_step_down": True, "ssh_algorithms": "legacy"})})
    monkeypatch.setenv(PASSWORD_ENV, "not-the-password")
    code, db = scan(tmp_path, inv, driver, *strict(tmp_path, srv))
    capsys.readouterr()
    row = device_row(db, "sw")
    assert (row["status"], row["error_kind"]) == ("failed", "auth")
    con = sqlite3.connect(db)
    try:
        assert con.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 0
    finally:
        con.close()


@pytest.mark.parametrize("driver", DRIVERS)
def test_host_key_is_verified_under_a_legacy_profile(sshd_servers, tmp_path, capsys, driver):
    """A known_hosts entry of another key refuses the server (kind hostkey) whatever the profile allows."""
    srv = sshd_servers["legacy"]
    other = sshd_servers["ancient"]  # a different RSA key
    path = tmp_path / "known_hosts"
    path.write_text(f"[127.0.0.1]:{srv.port} {other.host_key_pub}\n")
    inv = write_inventory(tmp_path / "inv", {"sw": (srv.port, {"ssh_algorithms": "ancient", "ssh_step_down": True})})
    code, db = scan(tmp_path, inv, driver, "--host-keys", "strict", "--known-hosts", str(path))
    capsys.readouterr()
    row = device_row(db, "sw")
    assert (row["status"], row["error_kind"]) == ("failed", "hostkey")


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("server", ["kbdint", "banner", "login", "noterm"])
def test_auth_modes_and_shell_quirks_collect(sshd_servers, tmp_path, capsys, server, driver):
    srv = sshd_servers[server]
    inv = write_inventory(tmp_path / "inv", {"sw": (srv.port, {})})
    code, db = scan(tmp_path, inv, driver, *strict(tmp_path, srv))
    assert code == 0, capsys.readouterr().out
    rows = devices_json(db, capsys)
    assert items(rows) == truth()
    assert rows[0]["hostname"] == "c2960x_stack2"
    # 'show version' is longer than a page: read whole (the version is near its top, the
    # chassis serial near its end) and stored without the pager's marks.
    assert rows[0]["version"] == canonical_version("cisco_ios", PROFILE.os_version)
    con = sqlite3.connect(db)
    try:
        ids = [r[0] for r in con.execute("SELECT id FROM captures WHERE command = 'show version'")]
    finally:
        con.close()
    store = Store(db, readonly=True)
    try:
        text = store.capture_text(ids[0])
        raw = store.capture_bytes(ids[0])
    finally:
        store.close()
    assert "More" not in text and "\b" not in text
    # The evidence keeps what the device sent: the pager's marks are there on the paging server.
    assert (b"--More--" in raw) == (server == "noterm")
    assert PROFILE_CHASSIS_SERIAL() in text


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("server", ["authz", "authz_exec"])
def test_authorization_failed_is_a_clear_failure(sshd_servers, tmp_path, capsys, server, driver):
    srv = sshd_servers[server]
    platform = "cisco_xe" if server == "authz_exec" else "cisco_ios"
    inv = write_inventory(tmp_path / "inv", {"sw": (srv.port, {})}, platform=platform)
    code, db = scan(tmp_path, inv, driver, *strict(tmp_path, srv))
    capsys.readouterr()
    assert code != 0
    row = device_row(db, "sw")
    assert row["status"] == "failed"
    assert row["error_kind"] in ("auth", "command"), (row["error_kind"], row["error"])
    assert "uthoriz" in row["error"] or "enable" in row["error"], row["error"]


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("server, words", [("login_refused", "Username:/Password:"), ("enable_retries", "enable")])
def test_refusals_inside_the_shell_are_auth_failures(sshd_servers, tmp_path, capsys, server, words, driver):
    srv = sshd_servers[server]
    inv = write_inventory(tmp_path / "inv", {"sw": (srv.port, {})})
    code, db = scan(tmp_path, inv, driver, *strict(tmp_path, srv))
    capsys.readouterr()
    assert code != 0
    row = device_row(db, "sw")
    assert (row["status"], row["error_kind"]) == ("failed", "auth"), row["error"]
    assert words in row["error"]
    # Refused, not waited out (asyncssh answers IOS's repeated 'Password:' with empty lines; netmiko's
    # enable() waits for a prompt that comes only after its read timeout, 8 s here).
    assert row["ended"] - row["started"] < (15 if driver == "asyncssh" or server == "login_refused" else 40)
    # The refused session was closed: no paramiko transport (a thread each) is left running.
    import paramiko
    import threading

    import time

    def transports():
        return [t for t in threading.enumerate() if isinstance(t, paramiko.Transport) and t.is_alive()]

    deadline = time.monotonic() + 3  # a closed transport's thread takes a moment to notice
    while transports() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not transports()

"""Issue 12, item 1: an impostor on a device's address receives nothing.

A genuine lab fleet is scanned once on a fresh store (trust on first use records its keys), then
stopped; an impostor takes its ports with a key of its own, serving the lab's CLI and NETCONF so
that a client that trusted it would be fooled (and is, under the per-host ``insecure`` opt-in).
The impostor records every connection, every authentication request and every byte typed into a
shell: the proof that no password and no enable secret reached it is that those records are
empty while its connection count shows the client did come.
"""
from __future__ import annotations

import asyncio
import random
import shutil
import sqlite3
import threading
from functools import partial

import asyncssh
import pytest
import yaml

from agent.cli import main as cli_main
from agent.collect.inventory import InventoryError, load_inventory
from agent.collect.scan import ScanOptions, run_scan
from agent.core.hostkeys import PolicyBook, fingerprint
from agent.core.models import Target
from agent.store import Store
from collectors.base import CollectError
from lab import fleet
from lab.cli import Session
from lab.device import DEFAULT_ENABLE, DEFAULT_PASSWORD
from lab.inventory import write_inventory
from lab.netconf import NetconfServer
from lab.server import Lab, LabThread, _DeviceServer, _ProcessChannel, host_key

FAST = dict(connect_timeout=3, command_timeout=5, deadline=30, retries=0, retry_backoff=0.1)
SSH_DEVICE = "br01-acc-sw01"  # classic IOS, lands in user EXEC: the enable secret is in play
NC_DEVICE = "cloud-rtr01"  # IOS XE with a NETCONF agent
SECRETS = (DEFAULT_PASSWORD, DEFAULT_ENABLE)


def _pub(key: asyncssh.SSHKey) -> tuple[str, str]:
    key_type, blob = key.export_public_key().decode().split()[:2]
    return key_type, blob


LAB_TYPE, LAB_KEY = _pub(host_key())
LAB_FP = fingerprint(LAB_KEY)


# ------------------------------------------------------------------------------------------ the impostor


class _Recording(_DeviceServer):
    """The lab's device server that lets anyone in (a lure) and writes down what it was given."""

    def __init__(self, impostor: "Impostor", lab: Lab, device) -> None:
        super().__init__(lab, device)
        self._impostor = impostor

    def connection_made(self, conn) -> None:
        self._impostor.connections += 1
        super().connection_made(conn)

    def begin_auth(self, username: str) -> bool:
        self._impostor.auth_requests.append(self._device.name)
        return True

    async def validate_password(self, username: str, password: str) -> bool:
        self._impostor.secrets.append((self._device.name, password))
        return True

    def kbdint_auth_supported(self) -> bool:
        return True

    def get_kbdint_challenge(self, username, lang, submethods):
        return "", "", "", [("Password: ", False)]

    def validate_kbdint_response(self, username, responses):
        self._impostor.secrets.extend((self._device.name, r) for r in responses)
        return True


class _TypedChannel(_ProcessChannel):
    def __init__(self, process, typed: bytearray) -> None:
        super().__init__(process)
        self._typed = typed

    async def read(self) -> bytes:
        data = await super().read()
        self._typed += data
        return data


class Impostor:
    """Listens on the genuine devices' SSH (and NETCONF) ports with ``key``, in its own thread."""

    def __init__(self, devices, key: asyncssh.SSHKey) -> None:
        self.devices = devices
        self.key = key
        self.connections = 0
        self.auth_requests: list[str] = []  # the device whose port got each authentication request
        self.secrets: list[tuple[str, str]] = []  # (device, password or keyboard-interactive answer)
        self.typed: dict[str, bytearray] = {d.name: bytearray() for d in devices}  # into each shell
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def told_nothing(self) -> bool:
        """No authentication request, no secret, not a byte typed: and no secret anywhere in it."""
        heard = " ".join(a + " " + s for a, s in self.secrets) + b"".join(self.typed.values()).decode("latin-1")
        return (not self.auth_requests and not self.secrets and not any(self.typed.values())
                and not any(secret in heard for secret in SECRETS))

    async def _shell(self, lab: Lab, device, process) -> None:
        session = Session(device, _TypedChannel(process, self.typed[device.name]), random.Random(1))
        try:
            await session.run_shell()
            process.exit(0)
        except (BrokenPipeError, ConnectionError, asyncssh.Error):
            pass

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        lab = Lab("127.0.0.1")
        netconf = NetconfServer(lab)
        acceptors = []
        try:
            for device in self.devices:
                server = partial(_Recording, self, lab, device)
                common = dict(server_host_keys=[self.key], server_factory=server, encoding=None, line_editor=False,
                              x11_forwarding=False, agent_forwarding=False, allow_scp=False)
                acceptors.append(await asyncssh.listen(device.host, device.port,
                                                       process_factory=partial(self._shell, lab, device), **common))
                if device.netconf_port:
                    acceptors.append(await asyncssh.listen(device.host, device.netconf_port,
                                                           process_factory=partial(netconf._serve, device), **common))
        except BaseException as exc:
            self._error = exc
        self._ready.set()
        if self._error is None:
            await self._stop.wait()
        for acceptor in acceptors:
            acceptor.close()

    def __enter__(self) -> "Impostor":
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)
        self._thread.start()
        assert self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *exc) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


# ------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def genuine(tmp_path_factory):
    """The devices' addresses and a store that trusted their keys on first use, the lab stopped since."""
    base = tmp_path_factory.mktemp("genuine")
    specs = [s for s in fleet.demo_fleet(latency=0.01, jitter=0.1) if s.name in (SSH_DEVICE, NC_DEVICE)]
    with LabThread(specs, peers=("netconf",)) as lab:
        devices = list(lab.devices)
        write_inventory(devices, base / "inv")
        targets = load_inventory(base / "inv").targets
        store = Store(base / "trusted.db")
        learned = []
        for transport in ("ssh", "netconf") * 2:  # first use, then the same keys again
            summary = asyncio.run(run_scan([t for t in targets if transport == "ssh" or t.name == NC_DEVICE], store,
                                           ScanOptions(workers=4, transport=transport, **FAST)))
            assert summary.ok == summary.total, summary.failures
            learned.append(summary.keys_learned)
        store.close()
    return {"dir": base, "devices": devices, "learned": learned}


@pytest.fixture
def trusted(genuine, tmp_path):
    """A copy of the store that trusted the genuine keys, and the inventory of the genuine devices."""
    shutil.copy(genuine["dir"] / "trusted.db", tmp_path / "ib.db")
    inv = tmp_path / "inv"
    shutil.copytree(genuine["dir"] / "inv", inv)
    return tmp_path / "ib.db", inv


def _scan(db, inv, **options):
    store = Store(db)
    try:
        options = ScanOptions(workers=4, **{**FAST, **options})
        summary = asyncio.run(run_scan(load_inventory(inv).targets, store, options))
        rows = {r["device"]: r for r in store.scan_devices(summary.scan_id)}
    finally:
        store.close()
    return summary, rows


def _keys(db) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT host, port, key_type, status, fingerprint FROM host_keys "
                            "ORDER BY port, status").fetchall()


def _port(genuine, name, netconf=False) -> int:
    device = next(d for d in genuine["devices"] if d.name == name)
    return device.netconf_port if netconf else device.port


# ------------------------------------------------------------------------------------------ tests


def test_first_use_records_every_key_and_later_scans_match_it(genuine):
    keys = _keys(genuine["dir"] / "trusted.db")
    ports = sorted([_port(genuine, SSH_DEVICE), _port(genuine, NC_DEVICE), _port(genuine, NC_DEVICE, netconf=True)])
    assert keys == sorted([("127.0.0.1", p, LAB_TYPE, "trusted", LAB_FP) for p in ports], key=lambda k: k[1])
    assert genuine["learned"] == [2, 1, 0, 0]  # SSH: both devices; NETCONF: its own port; then matches
    with sqlite3.connect(genuine["dir"] / "trusted.db") as conn:
        seen = conn.execute("SELECT first_seen < last_seen, device FROM host_keys ORDER BY port").fetchall()
    assert all(later for later, _ in seen), "the second scan's match must move last_seen"


@pytest.mark.parametrize("driver", ["asyncssh", "netmiko"])
def test_tofu_impostor_over_ssh_gets_no_password_and_no_enable_secret(trusted, genuine, driver):
    db, inv = trusted
    impostor_key = asyncssh.generate_private_key("ssh-ed25519")
    with Impostor(genuine["devices"], impostor_key) as impostor:
        summary, rows = _scan(db, inv, transport="ssh", ssh_driver=driver)
    assert impostor.connections >= 2, "the client must have come to the impostor"
    assert impostor.told_nothing()
    new_fp = fingerprint(_pub(impostor_key)[1])
    assert summary.ok == 0 and summary.by_kind == {"hostkey": 2}
    for name in (SSH_DEVICE, NC_DEVICE):
        row = rows[name]
        port = _port(genuine, name)
        assert (row["status"], row["error_kind"]) == ("failed", "hostkey")
        assert row["error"] == (
            f"host key of 127.0.0.1:{port} changed: expected {LAB_FP} ({LAB_TYPE}, the store, first seen "
            f"{row['error'].split('first seen ')[1].split(')')[0]}), the server offered {new_fp} (ssh-ed25519); "
            "no credentials were sent (possible impostor; if the device's key really changed, check it and run "
            "'ibagent hostkeys accept 127.0.0.1')")
    offered = [k for k in _keys(db) if k[3] == "offered"]
    assert offered == [("127.0.0.1", _port(genuine, n), "ssh-ed25519", "offered", new_fp)
                       for n in sorted((SSH_DEVICE, NC_DEVICE), key=lambda n: _port(genuine, n))]
    assert sum(1 for k in _keys(db) if k[3] == "trusted") == 3, "a refused key never replaces the trusted one"


def test_tofu_impostor_over_netconf_gets_nothing_and_no_other_transport_is_tried(trusted, genuine):
    db, inv = trusted
    hosts = yaml.safe_load((inv / "hosts.yaml").read_text())
    hosts[NC_DEVICE]["data"]["transports"] = ["netconf", "ssh"]
    (inv / "hosts.yaml").write_text(yaml.safe_dump({NC_DEVICE: hosts[NC_DEVICE]}, sort_keys=False))
    with Impostor(genuine["devices"], asyncssh.generate_private_key("ssh-ed25519")) as impostor:
        summary, rows = _scan(db, inv)
    assert impostor.connections == 1, "NETCONF refused the key; SSH must not be tried on that address"
    assert impostor.told_nothing()
    row = rows[NC_DEVICE]
    assert (row["status"], row["error_kind"], row["transport"]) == ("failed", "hostkey", "netconf")
    assert f"127.0.0.1:{_port(genuine, NC_DEVICE, netconf=True)} changed: expected {LAB_FP}" in row["error"]
    assert summary.failures == [(NC_DEVICE, "hostkey", row["error"])]


@pytest.mark.parametrize("driver", ["asyncssh", "netmiko", "netconf"])
def test_impostor_with_a_key_of_another_type_gets_nothing(trusted, genuine, driver):
    db, inv = trusted
    transport = "netconf" if driver == "netconf" else "ssh"
    name = NC_DEVICE if driver == "netconf" else SSH_DEVICE
    if driver == "netconf":  # the classic IOS device has no NETCONF agent
        hosts = yaml.safe_load((inv / "hosts.yaml").read_text())
        (inv / "hosts.yaml").write_text(yaml.safe_dump({NC_DEVICE: hosts[NC_DEVICE]}, sort_keys=False))
    with Impostor(genuine["devices"], asyncssh.generate_private_key("ecdsa-sha2-nistp256")) as impostor:
        summary, rows = _scan(db, inv, transport=transport, ssh_driver="asyncssh" if driver == "netconf" else driver)
    assert impostor.connections == summary.total
    assert impostor.told_nothing()
    assert summary.by_kind == {"hostkey": summary.total}
    assert (f"host key of 127.0.0.1:{_port(genuine, name, netconf=driver == 'netconf')} changed: expected {LAB_FP}"
            in rows[name]["error"])
    assert "the server offered no key of that type; no credentials were sent" in rows[name]["error"]


def test_accept_lets_the_new_key_in_and_forget_starts_over(trusted, genuine, capsys):
    db, inv = trusted
    impostor_key = asyncssh.generate_private_key("ssh-ed25519")
    new_fp = fingerprint(_pub(impostor_key)[1])
    ssh_port = _port(genuine, SSH_DEVICE)
    with Impostor(genuine["devices"], impostor_key) as impostor:
        _scan(db, inv, transport="ssh")
        assert impostor.told_nothing()
        assert cli_main(["hostkeys", "accept", "127.0.0.1", "--port", str(ssh_port), "--db", str(db)]) == 0
        assert f"trusting 127.0.0.1:{ssh_port} ssh-ed25519 {new_fp}" in capsys.readouterr().out
        summary, rows = _scan(db, inv, transport="ssh")
        # The accepted key is let in (the impostor's lab CLI then serves the scan); the other port still refuses.
        assert rows[SSH_DEVICE]["status"] == "ok" and rows[NC_DEVICE]["error_kind"] == "hostkey"
        assert (SSH_DEVICE, DEFAULT_PASSWORD) in impostor.secrets
        assert DEFAULT_ENABLE.encode() in impostor.typed[SSH_DEVICE]
        assert NC_DEVICE not in impostor.auth_requests
        trusted_keys = {(k[1], k[4]) for k in _keys(db) if k[3] == "trusted"}
        assert (ssh_port, new_fp) in trusted_keys and (ssh_port, LAB_FP) not in trusted_keys

        assert cli_main(["hostkeys", "list", "--db", str(db), "--format", "csv"]) == 0
        listing = capsys.readouterr().out.splitlines()
        assert listing[0] == "host,port,status,key_type,fingerprint,device,first_seen,last_seen"
        assert any(line.startswith(f"127.0.0.1,{ssh_port},trusted,ssh-ed25519,{new_fp},{SSH_DEVICE},")
                   for line in listing)

        nc_port = _port(genuine, NC_DEVICE)
        assert cli_main(["hostkeys", "forget", NC_DEVICE, "--port", str(nc_port), "--db", str(db)]) == 0
        assert f"forgot 2 host key(s) of {NC_DEVICE}" in capsys.readouterr().out  # trusted + offered
        summary, rows = _scan(db, inv, transport="ssh")
        assert rows[NC_DEVICE]["status"] == "ok" and summary.keys_learned == 1  # first use again
    assert cli_main(["hostkeys", "accept", "never-scanned.invalid", "--db", str(db)]) == 2
    assert "no key offered for never-scanned.invalid" in capsys.readouterr().err


def _known_hosts(path, lines):
    path.write_text("# test known_hosts\n" + "".join(f"{line}\n" for line in lines))
    return str(path)


@pytest.mark.parametrize("driver", ["asyncssh", "netmiko"])
def test_strict_refuses_a_key_not_in_known_hosts_and_accepts_one_that_is(tmp_path, trusted, genuine, driver):
    _, inv = trusted
    db = tmp_path / "fresh.db"  # strict never consults the store
    ssh_port, nc_port = _port(genuine, SSH_DEVICE), _port(genuine, NC_DEVICE)
    impostor_key = asyncssh.generate_private_key("ssh-ed25519")
    kh = _known_hosts(tmp_path / "known_hosts", [
        f"[127.0.0.1]:{ssh_port} {LAB_TYPE} {LAB_KEY} genuine",
        f"[127.0.0.1]:{nc_port} {' '.join(_pub(impostor_key))} the impostor's, vouched for by the user",
    ])
    with Impostor(genuine["devices"], impostor_key) as impostor:
        summary, rows = _scan(db, inv, transport="ssh", ssh_driver=driver, host_keys="strict", known_hosts=(kh,))
    assert rows[SSH_DEVICE]["error_kind"] == "hostkey"
    assert f"expected {LAB_FP} ({LAB_TYPE}, {kh}:2)" in rows[SSH_DEVICE]["error"]
    assert "update the known_hosts file" in rows[SSH_DEVICE]["error"]
    assert rows[NC_DEVICE]["status"] == "ok"  # the key the user listed for it is let in
    assert set(impostor.auth_requests) == {NC_DEVICE}
    assert {device for device, _ in impostor.secrets} == {NC_DEVICE} and not impostor.typed[SSH_DEVICE]
    assert _keys(db) == []


def test_strict_refuses_an_unknown_host_without_sending_credentials(tmp_path, trusted, genuine):
    _, inv = trusted
    kh = _known_hosts(tmp_path / "known_hosts", [f"other.example {LAB_TYPE} {LAB_KEY}"])
    with Impostor(genuine["devices"], host_key()) as impostor:  # even the genuine key: not listed for this host
        summary, rows = _scan(tmp_path / "s.db", inv, transport="ssh", host_keys="strict", known_hosts=(kh,))
    assert impostor.connections >= 2 and impostor.told_nothing()
    assert rows[SSH_DEVICE]["error"] == (
        f"host key of 127.0.0.1:{_port(genuine, SSH_DEVICE)} is not in the known_hosts file(s) (--host-keys "
        f"strict): the server offered {LAB_FP} ({LAB_TYPE}); no credentials were sent (add it to the known_hosts "
        "file once checked)")


def test_strict_without_a_known_hosts_file_is_a_usage_error(trusted, capsys):
    db, inv = trusted
    assert cli_main(["scan", "-i", str(inv), "--db", str(db), "--host-keys", "strict", "--no-progress", "-q"]) == 2
    assert "--host-keys strict needs --known-hosts FILE" in capsys.readouterr().err
    bad = inv.parent / "bad_known_hosts"
    bad.write_text("127.0.0.1 ssh-ed25519 not-base64!\n")
    assert cli_main(["scan", "-i", str(inv), "--db", str(db), "--known-hosts", str(bad), "--no-progress", "-q"]) == 2
    assert f"{bad}:1: the key is not a valid ssh-ed25519 public key" in capsys.readouterr().err


def test_insecure_is_a_per_host_opt_in_that_is_warned_about(trusted, genuine, capsys):
    db, inv = trusted
    hosts = yaml.safe_load((inv / "hosts.yaml").read_text())
    hosts[SSH_DEVICE].setdefault("data", {})["host_keys"] = "insecure"
    (inv / "hosts.yaml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    with Impostor(genuine["devices"], asyncssh.generate_private_key("ssh-ed25519")) as impostor:
        code = cli_main(["scan", "-i", str(inv), "--db", str(db), "--transport", "ssh", "--no-progress",
                         "--connect-timeout", "3", "--command-timeout", "5", "--retries", "0"])
    out, err = capsys.readouterr()
    assert code == 1  # the other device refused the impostor's key
    # The opted-in host was fooled, as it asked: the impostor has its password and enable secret.
    assert (SSH_DEVICE, DEFAULT_PASSWORD) in impostor.secrets
    assert DEFAULT_ENABLE.encode() in impostor.typed[SSH_DEVICE] and NC_DEVICE not in impostor.auth_requests
    assert (f"host keys are NOT checked for 1 device(s) (data.host_keys: insecure in the inventory): an impostor "
            f"on their addresses would receive their credentials: {SSH_DEVICE}") in err
    assert f"  host keys NOT checked (data.host_keys: insecure in the inventory): 1: {SSH_DEVICE}" in out
    assert f"  HOST KEY REFUSED (possible impostor; no credentials were sent): 1: {NC_DEVICE}" in out

    groups = yaml.safe_load((inv / "groups.yaml").read_text())
    hosts[SSH_DEVICE]["data"].pop("host_keys")
    next(iter(groups.values())).setdefault("data", {})["host_keys"] = "insecure"
    (inv / "groups.yaml").write_text(yaml.safe_dump(groups))
    (inv / "hosts.yaml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    with pytest.raises(InventoryError, match="insecure is a per-host opt-in: set it on the host itself"):
        load_inventory(inv)


def test_scp_and_slp_sessions_check_the_same_key(trusted, genuine):
    """The SLP round trip's SCP and CLI sessions connect through the same checked path."""
    from collectors.ssh_actions import CliSession, scp_get

    db, inv = trusted
    target = next(t for t in load_inventory(inv).targets if t.name == SSH_DEVICE)
    store = Store(db)
    seen = []
    policy = PolicyBook(store.trusted_host_keys()).policy(target.host, target.options, (target.port,), seen.append)
    store.close()
    checked = Target(**{**{f: getattr(target, f) for f in target.__dataclass_fields__}, "host_keys": policy})
    with Impostor(genuine["devices"], asyncssh.generate_private_key("ssh-ed25519")) as impostor:
        for attempt in (scp_get(checked, "bootflash:x_rum.txt", connect_timeout=3),
                        CliSession.open(checked, connect_timeout=3)):
            with pytest.raises(CollectError) as refused:
                asyncio.run(attempt)
            assert refused.value.kind == "hostkey" and "no credentials were sent" in refused.value.message
    assert impostor.connections == 2 and impostor.told_nothing()
    assert [s.verdict for s in seen] == ["changed", "changed"]


def test_slp_round_trip_refuses_the_impostor_and_records_nothing_it_offered_as_trusted(trusted, genuine):
    from agent.slp.offline import ActionOptions, collect

    db, inv = trusted
    targets = load_inventory(inv).targets
    store = Store(db)
    try:
        with Impostor(genuine["devices"], asyncssh.generate_private_key("ssh-ed25519")) as impostor:
            result = asyncio.run(collect(targets, store, options=ActionOptions(connect_timeout=3, deadline=20)))
        offered = [r["port"] for r in store.host_key_rows() if r["status"] == "offered"]
    finally:
        store.close()
    # The store knows (from the scans) that the lab's c8000v has no SLP: it is not contacted at all; the
    # other device is asked by trying (it has no stored licence status), and refused at its key.
    outcomes = {o.device: o for o in result.outcomes}
    assert (outcomes[NC_DEVICE].status, outcomes[SSH_DEVICE].status, outcomes[SSH_DEVICE].kind) == (
        "skipped", "failed", "hostkey")
    assert "no credentials were sent" in outcomes[SSH_DEVICE].reason
    assert impostor.connections == 1 and impostor.told_nothing()
    assert offered == [_port(genuine, SSH_DEVICE)]

"""The device lab, driven like the collectors will drive it: real sockets on 127.0.0.1, no mocks."""
from __future__ import annotations

import asyncio
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncssh
import netmiko
import pytest
import yaml

from agent.core import platforms
from lab import profiles
from lab.device import DEFAULT_PASSWORD, DeviceSpec, RunningDevice
from lab.dialects import DIALECTS
from lab.fleet import demo_fleet, scale_fleet
from lab.inventory import read_manifest, write_inventory
from lab.process import LabProcess
from lab.server import LabThread, resolve, start_lab

LATENCY = 0.01
STANDARD_SERIAL = re.compile(r"^[A-Z]{3}(19|2\d)(0[1-9]|[1-4]\d|5[0-2])[0-9A-Z]{4}$")
VIRTUAL_SERIAL = re.compile(r"^9[0-9A-Z]{10}$")
BARE_LF = re.compile(rb"(?<!\r)\n")


@pytest.fixture(scope="module")
def demo():
    with LabThread(demo_fleet(latency=LATENCY)) as lab:
        yield lab


def offline(profile: str, index: int = 0, seed: int = 1) -> RunningDevice:
    """A device that is never started: enough to render its outputs and truth."""
    spec = DeviceSpec(name=f"{profile}-{index}", profile=profile, index=index, seed=seed).resolved(index)
    return RunningDevice(spec, "127.0.0.1", 0)


def blocks(text: str) -> list[str]:
    return re.split(r"\r\n[ \t]*\r\n", text)


# ---------------------------------------------------------------- profiles and ground truth (no network)


@pytest.mark.parametrize("name", profiles.available())
def test_profile_output_matches_its_ground_truth(name):
    device = offline(name)
    truth = device.truth
    outputs = {cmd: device.output(cmd) for cmd in device.profile_def.commands}
    assert all("{{" not in out for out in outputs.values())
    prompt_rx = platforms.get(truth.platform).ssh.prompt
    for out in outputs.values():
        for line in out.split("\r\n"):
            # A client that stops at the first prompt-looking (partial) line must not stop early.
            assert not any(prompt_rx.search(line[: i + 1]) for i, ch in enumerate(line) if ch in "#>"), line

    # Every declared row is printed, name + PID + serial in one NAME/PID block ...
    for item in truth.items:
        assert any(item.name in b and item.pid in b and item.serial in b for b in blocks(outputs[item.command])), item
    # ... and every serial the inventory prints is declared: the truth is complete.
    for command in {i.command for i in truth.items}:
        printed = set(re.findall(r"SN: ?(\S+)", outputs[command])) - {"N/A"}
        assert printed == {i.serial for i in truth.items_for(command)}, command

    assert truth.os_version in outputs["show version"]
    assert truth.chassis_serial in "".join(outputs.values())
    if truth.platform != "cisco_xr":  # eXR 'show version' does not print the hostname
        assert device.hostname in outputs["show version"]
    licensing = "".join(out for cmd, out in outputs.items() if cmd.startswith("show license"))
    for lic in truth.licenses:
        assert lic.license in licensing and f"({lic.entitlement_tag})" in licensing, lic
        assert f"Count: {lic.count}" in licensing
    if truth.udi:
        assert f"UDI: PID:{truth.udi.pid},SN:{truth.udi.serial}" in licensing
    for udi in truth.ha_udis:
        assert f"{udi.role}:PID:{udi.pid},SN:{udi.serial}" in licensing
    assert (truth.licensing == "none") == (not licensing)


def test_stack_truth_shape():
    truth = offline("c9300_stack3").truth
    stack_row = next(i for i in truth.items if i.virtual)
    assert stack_row.name == "c93xx Stack" and stack_row.serial == truth.chassis_serial
    members = [i for i in truth.items if re.fullmatch(r"Switch \d", i.name)]
    assert len(members) == 3 == len(truth.ha_udis) and {lic.count for lic in truth.licenses} == {3}
    # Each stack cable is printed at both ends but is one physical item.
    cables = [i for i in truth.items if i.pid == "STACK-T1-50CM"]
    assert len(cables) == 6 and len({c.serial for c in cables}) == 3
    assert len([p for p in truth.physical if p.pid == "STACK-T1-50CM"]) == 3
    assert stack_row not in truth.physical


def test_serials_unique_realistic_and_deterministic():
    devices = [RunningDevice(s, "127.0.0.1", 0) for s in resolve(scale_fleet(800))]
    values = [v for d in devices for k, v in d.values.items() if k != "hostname"]
    assert len(values) == len(set(values)), "serial collision"
    for d in devices:
        for token, kind in d.profile_def.serial_kinds:
            assert (VIRTUAL_SERIAL if kind.startswith("virtual:") else STANDARD_SERIAL).match(d.values[token])
    assert offline("c9300_stack3", 3, seed=7).truth == offline("c9300_stack3", 3, seed=7).truth
    assert offline("c9300_stack3", 3, seed=7).truth.serials.isdisjoint(offline("c9300_stack3", 3, seed=8).truth.serials)


def test_serial_unit_ids_cover_a_50000_device_lab_without_collision():
    """Every (device, token) of the largest lab maps to its own ordinal, so unit ids cannot collide
    (the 50,000-device bench once stopped at device 26,244), and the first 26,244 devices keep the
    serials of the lab's earlier layout (index * 64 + token)."""
    from lab import serials as S

    assert S.MAX_DEVICES >= 50_000
    units = {S._unit(1, o) for o in range(S._UNIT_SPACE)}
    assert len(units) == S._UNIT_SPACE  # the unit map is a permutation
    seen = set()
    for index in range(0, S.MAX_DEVICES, 97):  # a spread of devices over both halves
        for token in (0, S.TOKENS_PER_DEVICE - 1):
            serial = S.make_serial("FOC", 1, index, token)
            assert serial[-4:] not in seen
            seen.add(serial[-4:])
    ordinals = set()
    for index in (0, 1, S.MAX_DEVICES // 2 - 1, S.MAX_DEVICES // 2, S.MAX_DEVICES - 1):
        for token in range(S.TOKENS_PER_DEVICE):
            unit = S.make_serial("FOC", 3, index, token)[-4:]
            assert unit not in ordinals
            ordinals.add(unit)
    assert S.make_serial("FOC", 1, 5, 3)[-4:] == S._unit(1, 5 * 64 + 3)
    with pytest.raises(ValueError):
        S.make_serial("FOC", 1, S.MAX_DEVICES, 0)
    with pytest.raises(ValueError):
        S.make_serial("FOC", 1, 0, S.TOKENS_PER_DEVICE)


def test_two_instances_of_a_profile_differ():
    a, b = offline("c9500_svl", 0), offline("c9500_svl", 1)
    assert a.truth.serials.isdisjoint(b.truth.serials)
    assert [i.name for i in a.truth.items] == [i.name for i in b.truth.items]


def test_duplicate_names_or_serial_namespaces_are_refused():
    with pytest.raises(ValueError):
        resolve([DeviceSpec("a", "c8000v"), DeviceSpec("a", "c8000v")])
    with pytest.raises(ValueError):
        resolve([DeviceSpec("a", "c8000v", index=4), DeviceSpec("b", "c8000v", index=4)])
    with pytest.raises(ValueError):
        DeviceSpec("a", "c8000v", faults=frozenset({"on_fire"}))


# ---------------------------------------------------------------- netmiko, every platform


def _collect(device):
    conn = netmiko.ConnectHandler(**device.netmiko_params(conn_timeout=10))
    try:
        prompt = conn.find_prompt()
        if prompt.endswith(">"):  # classic IOS lands in user EXEC; ASA's driver enables by itself
            conn.enable()
            prompt = conn.find_prompt()
        ssh = platforms.get(device.platform).ssh
        outputs = {cmd: conn.send_command(cmd, read_timeout=10) for cmd in ssh.commands}
    finally:
        conn.disconnect()
    return prompt, outputs


def test_netmiko_collects_every_platform(demo):
    healthy = [d for d in demo.devices if not d.faults]
    assert {d.platform for d in healthy} == set(platforms.names())
    with ThreadPoolExecutor(len(healthy)) as pool:
        results = dict(zip(healthy, pool.map(_collect, healthy)))
    for device, (prompt, outputs) in results.items():
        ssh = platforms.get(device.platform).ssh
        assert ssh.prompt.match(prompt) and device.hostname in prompt and prompt.endswith("#"), prompt
        for item in device.truth.items:
            assert item.serial in outputs[item.command], (device.name, item)
        assert device.truth.os_version in outputs["show version"]
        for cmd, out in outputs.items():
            rejected = "% Invalid input detected" in out
            # Only licensing is refused (a box without it); the CDP / LLDP commands, optional too, are answered.
            assert rejected == (cmd in ssh.optional and cmd.startswith("show license")
                                and device.truth.licensing == "none"), (device.name, cmd)
        licensing = "".join(out for cmd, out in outputs.items() if cmd.startswith("show license"))
        assert all(lic.license in licensing for lic in device.truth.licenses)
    pri, sec = demo.device("dc1-fw01-pri"), demo.device("dc1-fw01-sec")
    assert pri.hostname == sec.hostname and pri.truth.chassis_serial != sec.truth.chassis_serial
    assert f"Serial Number: {sec.truth.chassis_serial}" in results[sec][1]["show version"]


# ---------------------------------------------------------------- a hand-written asyncssh client


async def _read_until(stream, pattern: re.Pattern[str], timeout: float) -> bytes:
    """Read until ``pattern`` matches the last line (the way ibagent's own client will)."""
    buf = b""

    async def loop():
        nonlocal buf
        while True:
            data = await stream.read(4096)
            if not data:
                raise EOFError(buf)
            buf += data
            last = buf.decode("utf-8", "replace").split("\r\n")[-1]
            if pattern.search(last):
                return buf

    return await asyncio.wait_for(loop(), timeout)


def _connect(device, **kw):
    return asyncssh.connect(
        device.host, device.port, username=device.username, password=device.password, known_hosts=None, **kw
    )


async def _shell(device, term_type="vt100"):
    conn = await _connect(device)
    proc = await conn.create_process(term_type=term_type, encoding=None)
    return conn, proc


@pytest.mark.parametrize("term_type", ["vt100", None], ids=["pty", "no-pty"])
def test_raw_client_sees_real_cli_framing(demo, term_type):
    device = demo.device("hq-acc-stk01")
    prompt_rx = platforms.get(device.platform).ssh.prompt

    async def run():
        conn, proc = await _shell(device, term_type)
        async with conn:
            banner = await _read_until(proc.stdout, prompt_rx, 3)
            answers = []
            for line in ["terminal length 0", "", "show license udi", "exit"]:
                proc.stdin.write(line.encode() + b"\r")
                if line == "exit":
                    answers.append(await asyncio.wait_for(proc.stdout.read(), 3))
                else:
                    answers.append(await _read_until(proc.stdout, prompt_rx, 3))
            return banner, answers

    banner, (terminal, empty, udi, bye) = asyncio.run(run())
    prompt = b"hq-acc-stk01#"
    assert banner.endswith(prompt)
    assert terminal == b"terminal length 0\r\n" + prompt  # accepted silently, echoed
    assert empty == b"\r\n" + prompt
    assert udi.startswith(b"show license udi\r\nUDI: PID:C9300-48UXM,SN:") and udi.endswith(b"\r\n" + prompt)
    assert device.truth.chassis_serial.encode() in udi
    assert not any(BARE_LF.search(chunk) for chunk in (banner, terminal, empty, udi))
    assert bye == b"exit\r\n"  # then the session closes


def test_exec_request_runs_one_command(demo):
    device = demo.device("dc1-leaf01")

    async def run():
        async with _connect(device) as conn:
            good = await conn.run("show inventory", encoding=None, timeout=5)
            bad = await conn.run("show bogus", encoding=None, timeout=5)
            return good, bad

    good, bad = asyncio.run(run())
    assert good.exit_status == 0 and all(s.encode() in good.stdout for s in device.truth.serials)
    assert b"show inventory" not in good.stdout  # no echo, no prompt on exec channels
    assert bad.exit_status == 1 and b"% Invalid command at '^' marker." in bad.stdout


@pytest.mark.parametrize("name", ["hq-acc-stk01", "dc1-leaf01", "dc1-pe01", "dc1-fw01-pri"])
def test_invalid_input_caret_and_wording(demo, name):
    device = demo.device(name)
    dialect = DIALECTS[device.platform]
    prompt_rx = platforms.get(device.platform).ssh.prompt

    async def run():
        conn, proc = await _shell(device)
        async with conn:
            first = await _read_until(proc.stdout, prompt_rx, 3)
            proc.stdin.write(b"show bogus\n")
            return first, await _read_until(proc.stdout, prompt_rx, 3)

    first, answer = asyncio.run(run())
    prompt = first.decode().split("\r\n")[-1]
    lines = answer.decode().split("\r\n")
    assert lines[0] == "show bogus"
    assert lines[1] == " " * (len(prompt) + len("show ")) + "^"  # under the bad word, prompt included
    assert lines[2] == dialect.invalid


def test_xr_timestamp_can_be_turned_off(demo):
    device = demo.device("dc1-pe01")
    prompt_rx = platforms.get(device.platform).ssh.prompt
    stamp = re.compile(rb"^show version\r\n\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d\.\d{3} UTC\r\nCisco IOS XR")

    async def run():
        conn, proc = await _shell(device)
        async with conn:
            await _read_until(proc.stdout, prompt_rx, 3)
            out = []
            for line in ["show version", "terminal exec prompt no-timestamp", "show version"]:
                proc.stdin.write(line.encode() + b"\n")
                out.append(await _read_until(proc.stdout, prompt_rx, 3))
            return out

    with_stamp, _, without = asyncio.run(run())
    assert stamp.match(with_stamp)
    assert without.startswith(b"show version\r\nCisco IOS XR Software, Version 7.5.2\r\n")


def test_asa_enable_needs_the_enable_password(demo):
    device = demo.device("dc1-fw01-sec")
    prompt_rx = platforms.get(device.platform).ssh.prompt

    async def run():
        conn, proc = await _shell(device)
        async with conn:
            out = [await _read_until(proc.stdout, prompt_rx, 3)]
            for line in ["show inventory", "enable"]:
                proc.stdin.write(line.encode() + b"\n")
                out.append(await _read_until(proc.stdout, re.compile("(Password: |> )$"), 3))
            proc.stdin.write(b"wrong\n")
            out.append(await _read_until(proc.stdout, prompt_rx, 3))
            proc.stdin.write(b"enable\n")
            await _read_until(proc.stdout, re.compile("Password: $"), 3)
            proc.stdin.write(device.enable_password.encode() + b"\n")
            out.append(await _read_until(proc.stdout, prompt_rx, 3))
            return out

    login, unprivileged, asked, refused, granted = asyncio.run(run())
    assert login.endswith(b"dc1-fw01> ")
    assert b"ERROR: % Invalid input detected" in unprivileged  # show inventory needs enable
    assert asked.endswith(b"Password: ")
    assert b"Invalid password" in refused and refused.endswith(b"dc1-fw01> ")
    assert device.enable_password.encode() not in granted and granted.endswith(b"dc1-fw01# ")


# ---------------------------------------------------------------- faults


def test_fault_auth_fail_rejects_every_password(demo):
    device = demo.device("lab-fault-auth")

    async def run():
        async with _connect(device):
            pass

    with pytest.raises(asyncssh.PermissionDenied):
        asyncio.run(run())
    with pytest.raises(netmiko.NetmikoAuthenticationException):
        netmiko.ConnectHandler(**device.netmiko_params())


def test_fault_hang_never_shows_a_prompt(demo):
    device = demo.device("lab-fault-hang")

    async def run():
        conn, proc = await _shell(device)
        async with conn:
            proc.stdin.write(b"\n\nshow version\n")
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(proc.stdout.read(1), 0.6)

    asyncio.run(run())


def test_fault_disconnect_drops_halfway_through_show_inventory(demo):
    device = demo.device("lab-fault-disconnect")
    prompt_rx = platforms.get(device.platform).ssh.prompt

    async def run():
        conn, proc = await _shell(device)
        got = b""
        async with conn:
            await _read_until(proc.stdout, prompt_rx, 3)
            proc.stdin.write(b"show version\n")
            version = await _read_until(proc.stdout, prompt_rx, 3)  # other commands still work
            proc.stdin.write(b"show inventory\n")
            with pytest.raises((EOFError, asyncssh.ConnectionLost, asyncssh.DisconnectError)):
                while True:
                    data = await asyncio.wait_for(proc.stdout.read(4096), 3)
                    if not data:
                        raise EOFError
                    got += data
        return version, got

    version, partial = asyncio.run(run())
    assert device.truth.chassis_serial.encode() in version
    serials = [i.serial.encode() for i in device.truth.items]
    assert serials[0] in partial and not all(s in partial for s in serials)
    assert not partial.rstrip().endswith(b"#")


def test_fault_garbage_answers_noise_and_no_prompt(demo):
    device = demo.device("lab-fault-garbage")
    prompt_rx = platforms.get(device.platform).ssh.prompt

    async def run():
        conn, proc = await _shell(device)
        async with conn:
            await _read_until(proc.stdout, prompt_rx, 3)
            proc.stdin.write(b"show version\n")
            await asyncio.sleep(0.4)
            return await asyncio.wait_for(proc.stdout.read(65536), 1)

    noise = asyncio.run(run())
    assert len(noise) > 500 and not prompt_rx.search(noise.decode("latin-1").split("\r\n")[-1])
    with pytest.raises(UnicodeDecodeError):
        noise.decode("utf-8")
    conn = netmiko.ConnectHandler(**device.netmiko_params())
    try:
        with pytest.raises(netmiko.ReadTimeout):
            conn.send_command("show version", read_timeout=1.5)
    finally:
        # Not disconnect(): its polite 'exit' waits ~10 s for a prompt that never comes.
        conn.paramiko_cleanup()


def test_fault_slow_output_dribbles_but_completes(demo):
    device = demo.device("lab-fault-slow")
    spec = device.spec
    prompt_rx = platforms.get(device.platform).ssh.prompt

    async def run():
        conn, proc = await _shell(device)
        async with conn:
            await _read_until(proc.stdout, prompt_rx, 3)
            proc.stdin.write(b"show inventory\n")
            reads, buf, started = 0, b"", time.perf_counter()
            while not prompt_rx.search(buf.decode().split("\r\n")[-1]):
                buf += await asyncio.wait_for(proc.stdout.read(65536), 3)
                reads += 1
            return buf, reads, time.perf_counter() - started

    out, reads, elapsed = asyncio.run(run())
    chunks = len(out) // spec.slow_chunk
    assert reads >= chunks // 2 and elapsed >= chunks * spec.slow_pause * 0.8
    assert all(i.serial.encode() in out for i in device.truth.items_for("show inventory"))


# ---------------------------------------------------------------- knobs, inventory, processes


def test_latency_jitter_and_loopback_only():
    spec = DeviceSpec("slowpoke", "c8000v", latency=0.2, jitter=0.25, login_delay=0.3)

    async def run():
        for host in ("0.0.0.0", "192.0.2.1", "localhost-ish"):
            with pytest.raises(ValueError):
                await start_lab([spec], host=host)
        lab = await start_lab([spec])
        device = lab.devices[0]
        try:
            started = time.perf_counter()
            async with _connect(device) as conn:
                login = time.perf_counter() - started
                times = []
                for _ in range(3):
                    started = time.perf_counter()
                    await conn.run("show version", timeout=5)
                    times.append(time.perf_counter() - started)
        finally:
            await lab.close()
        return login, times

    login, times = asyncio.run(run())
    assert login >= 0.3
    assert all(0.15 <= t < 0.45 for t in times), times


def test_write_inventory_uses_references_only(demo, tmp_path):
    write_inventory(demo.devices, tmp_path)
    hosts = yaml.safe_load((tmp_path / "hosts.yaml").read_text())
    assert yaml.safe_load((tmp_path / "groups.yaml").read_text()) and (tmp_path / "defaults.yaml").exists()
    assert list(hosts) == [d.name for d in demo.devices]
    for device in demo.devices:
        host = hosts[device.name]
        assert (host["hostname"], host["port"], host["platform"]) == ("127.0.0.1", device.port, device.platform)
        assert host["username"] == device.username and host["password"] == "${IBAGENT_LAB_PASSWORD}"
        assert host["data"]["site"] == device.site
        assert ("enable_secret" in host["data"]) == (device.platform in ("cisco_asa", "cisco_ios"))
    assert hosts["dc1-fw01-pri"]["data"]["enable_secret"] == "${IBAGENT_LAB_ENABLE}"
    assert hosts["lab-fault-auth"]["data"]["lab_faults"] == ["auth_fail"]
    for path in tmp_path.iterdir():
        assert DEFAULT_PASSWORD not in path.read_text()


def test_scale_fleet_starts_fast():
    started = time.perf_counter()
    with LabThread(scale_fleet(300, latency=0)) as lab:
        elapsed = time.perf_counter() - started
        ports = {d.port for d in lab.devices}
        profiles_used = {d.profile for d in lab.devices}
    assert elapsed < 5 and len(ports) == 300
    assert len(profiles_used) == len(set(profiles.available()))


def test_lab_process_runs_apart_and_stops_cleanly(tmp_path):
    with LabProcess(fleet="scale", count=24, latency=LATENCY, inventory_dir=tmp_path) as lab:
        pid = lab.pid
        assert lab.info["devices"] == 24 and (tmp_path / "hosts.yaml").exists()
        assert len(read_manifest(tmp_path)["devices"]) == 24
        device = next(d for d in lab.devices if d.platform == "cisco_nxos")
        prompt, outputs = _collect(device)
        assert device.hostname in prompt
        assert all(i.serial in outputs["show inventory"] for i in device.truth.items)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert Path(tmp_path).exists()  # a caller-owned directory is left in place

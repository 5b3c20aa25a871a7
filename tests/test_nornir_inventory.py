"""Nornir inventories as Nornir users write them: NAPALM and netmiko platform names, the
connection options (``connection_options.netmiko.extras.secret`` and friends) with Nornir's own
precedence, and every inventory mistake reported in one run.

The inventories here are written for these tests in the three-file SimpleInventory shape.  Where
Nornir itself is installed (it is in the ``test`` extra), the same files are also loaded by Nornir
and its ``get_connection_parameters`` is the oracle for what each host resolves to.
"""
from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from agent.collect.inventory import InventoryError, InventoryProblems, load_inventory

ROOT = Path(__file__).resolve().parents[1]


def write_inventory(base: Path, hosts: dict, groups: dict | None = None, defaults: dict | None = None) -> Path:
    base.mkdir(parents=True, exist_ok=True)
    (base / "hosts.yaml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    (base / "groups.yaml").write_text(yaml.safe_dump(groups or {}, sort_keys=False))
    (base / "defaults.yaml").write_text(yaml.safe_dump(defaults or {}, sort_keys=False))
    return base


CREDS = {"username": "netops", "password": "${IB_PASS}"}
ENV = {"IB_PASS": "pass-value", "ASA_ENABLE": "asa-enable-value", "NX_ENABLE": "napalm-enable-value",
       "DEF_ENABLE": "defaults-enable-value", "OWN_ENABLE": "own-enable-value"}


# ------------------------------------------------------------------ platform names


@pytest.mark.parametrize("given, expected", [
    # NAPALM driver names
    ("ios", "cisco_ios"), ("iosxr", "cisco_xr"), ("iosxr_netconf", "cisco_xr"), ("nxos", "cisco_nxos"),
    ("nxos_ssh", "cisco_nxos"), ("asa", "cisco_asa"),
    # netmiko device types
    ("cisco_ios", "cisco_ios"), ("cisco_ios_ssh", "cisco_ios"), ("cisco_xe", "cisco_xe"),
    ("cisco_xe_ssh", "cisco_xe"), ("cisco_nxos", "cisco_nxos"), ("cisco_nxos_ssh", "cisco_nxos"),
    ("cisco_xr", "cisco_xr"), ("cisco_xr_ssh", "cisco_xr"), ("cisco_asa", "cisco_asa"),
    ("cisco_asa_ssh", "cisco_asa"),
])
def test_napalm_and_netmiko_platform_names_map_to_ours(tmp_path, given, expected):
    inv = write_inventory(tmp_path, {"dev1": {"hostname": "dev1.invalid", "platform": given}}, defaults=CREDS)
    (target,) = load_inventory(inv, env=ENV).targets
    assert target.platform == expected  # the canonical name: the rest of ibagent asks platforms.get() by it


def test_every_alias_listed_in_the_readme():
    """The README's table is the user's reference: every accepted spelling is in it."""
    from agent.core import platforms

    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("| ibagent platform"):]
    table = table[: table.index("\n\n")]
    for name in platforms.names():
        row = next(line for line in table.splitlines() if line.startswith(f"| `{name}`"))
        for alias in platforms.get(name).aliases:
            assert f"`{alias}`" in row, (name, alias)


def test_other_vendors_platform_is_refused_naming_the_field(tmp_path):
    inv = write_inventory(tmp_path, {"sw1": {"groups": ["arista"]}}, {"arista": {"connection_options": {
        "netmiko": {"platform": "arista_eos"}}}}, CREDS)
    with pytest.raises(InventoryError) as err:
        load_inventory(inv, env=ENV)
    text = str(err.value)
    assert "host 'sw1'" in text and "'arista_eos'" in text
    assert "connection_options.netmiko.platform, from group 'arista' in groups.yaml" in text


# ------------------------------------------------------------------ connection options


def test_netmiko_extras_secret_in_a_group_is_the_enable_secret(tmp_path):
    """The usual Nornir way to give an ASA its enable secret; it used to be silently ignored."""
    inv = write_inventory(
        tmp_path,
        {"fw1": {"hostname": "fw1.invalid", "groups": ["firewalls"]}},
        {"firewalls": {"platform": "cisco_asa",
                       "connection_options": {"netmiko": {"extras": {"secret": "${ASA_ENABLE}"}}}}},
        CREDS,
    )
    loaded = load_inventory(inv, env=ENV)
    (target,) = loaded.targets
    assert target.credential.enable == "asa-enable-value"
    assert "asa-enable-value" in loaded.secrets  # scrubbed from every output like any other secret
    assert "asa-enable-value" not in repr(target)


def test_napalm_optional_args_secret_and_port(tmp_path):
    inv = write_inventory(
        tmp_path,
        {"nx1": {"hostname": "nx1.invalid", "platform": "nxos_ssh",
                 "connection_options": {"napalm": {"extras": {"optional_args": {"secret": "${NX_ENABLE}",
                                                                                  "port": 2022}}}}}},
        defaults=CREDS,
    )
    (target,) = load_inventory(inv, env=ENV).targets
    assert (target.platform, target.port, target.credential.enable) == ("cisco_nxos", 2022, "napalm-enable-value")


def test_netmiko_extras_win_over_the_connection_attributes_and_netmiko_over_napalm(tmp_path):
    inv = write_inventory(tmp_path, {"r1": {
        "hostname": "r1.invalid", "port": 22, "platform": "ios", "username": "top-user",
        "connection_options": {
            # nornir_netmiko hands extras to netmiko after the attributes: extras.port wins
            "netmiko": {"port": 2201, "username": "conn-user", "platform": "cisco_xe",
                        "extras": {"port": 2202, "secret": "${ASA_ENABLE}"}},
            "napalm": {"port": 2300, "username": "napalm-user",
                       "extras": {"optional_args": {"secret": "${NX_ENABLE}"}}},
        },
    }}, defaults={"password": "${IB_PASS}"})
    (t,) = load_inventory(inv, env=ENV).targets
    assert (t.port, t.credential.username, t.platform, t.credential.enable) == (
        2202, "conn-user", "cisco_xe", "asa-enable-value")


def test_connection_option_beats_our_own_enable_secret_key(tmp_path):
    """Nornir's rule: a connection option set at any level wins over the host's plain attribute;
    ibagent's data.enable_secret plays the plain attribute's part."""
    inv = write_inventory(
        tmp_path, {"r1": {"platform": "ios", "data": {"enable_secret": "${OWN_ENABLE}"}}},
        defaults={**CREDS, "connection_options": {"netmiko": {"extras": {"secret": "${DEF_ENABLE}"}}}})
    assert load_inventory(inv, env=ENV).targets[0].credential.enable == "defaults-enable-value"
    inv = write_inventory(tmp_path, {"r1": {"platform": "ios", "data": {"enable_secret": "${OWN_ENABLE}"}}},
                          defaults=CREDS)
    assert load_inventory(inv, env=ENV).targets[0].credential.enable == "own-enable-value"


def test_defaults_options_win_over_a_second_group_as_in_nornir(tmp_path):
    """Nornir resolves each group's connection options with the defaults included, so the defaults
    are seen before the host's second group.  Surprising, but an inventory must mean here what it
    means under Nornir (checked against Nornir itself below when it is installed)."""
    inv = write_inventory(
        tmp_path, {"h1": {"hostname": "h1.invalid", "port": 22, "groups": ["g1", "g2"]}},
        {"g1": {"platform": "ios"}, "g2": {"connection_options": {"netmiko": {"port": 2000}}}},
        {**CREDS, "connection_options": {"netmiko": {"port": 3000}}})
    assert load_inventory(inv, env=ENV).targets[0].port == 3000


def test_extras_are_taken_whole_not_merged(tmp_path):
    """A host's own extras hide its group's extras entirely (Nornir does not merge them)."""
    inv = write_inventory(
        tmp_path,
        {"fw1": {"groups": ["fw"], "connection_options": {"netmiko": {"extras": {"port": 2201}}}}},
        {"fw": {"platform": "asa", "connection_options": {"netmiko": {"extras": {"secret": "${ASA_ENABLE}"}}}}},
        CREDS)
    (t,) = load_inventory(inv, env=ENV).targets
    assert t.port == 2201 and t.credential.enable is None


def test_secret_written_in_clear_in_extras_is_refused_without_echo(tmp_path):
    inv = write_inventory(tmp_path, {"fw1": {"platform": "asa", "connection_options": {
        "netmiko": {"extras": {"secret": "Cl3arT3xt!"}}}}}, defaults=CREDS)
    with pytest.raises(InventoryError) as err:
        load_inventory(inv, env=ENV)
    assert "connection_options.netmiko.extras.secret is written in clear" in str(err.value)
    assert "Cl3arT3xt!" not in str(err.value)


def test_misplaced_secret_key_is_named_with_the_fix(tmp_path):
    inv = write_inventory(tmp_path, {"fw1": {"platform": "asa"}}, defaults={**CREDS, "connection_options": {
        "netmiko": {"secret": "${ASA_ENABLE}"}}})
    with pytest.raises(InventoryError) as err:
        load_inventory(inv, env=ENV)
    text = str(err.value)
    assert "defaults.yaml" in text and "unknown key(s) secret" in text and "extras.secret" in text


@pytest.mark.parametrize("bad", [["netmiko"], {"netmiko": "cisco_ios"}, {"netmiko": {"extras": ["secret"]}}])
def test_malformed_connection_options_are_clear_errors(tmp_path, bad):
    inv = write_inventory(tmp_path, {"r1": {"platform": "ios", "connection_options": bad}}, defaults=CREDS)
    with pytest.raises(InventoryError, match="connection_options.* must be a mapping"):
        load_inventory(inv, env=ENV)


@pytest.mark.parametrize("host_groups, groups", [
    ([{"core": 1}], {}),                                 # a mapping where a group name belongs
    (["core"], {"core": {"groups": [["nested"]]}}),      # a list as a parent group's name
])
def test_group_names_of_the_wrong_type_are_clear_errors(tmp_path, host_groups, groups):
    inv = write_inventory(tmp_path, {"r1": {"platform": "ios", "groups": host_groups}}, groups, CREDS)
    with pytest.raises(InventoryError, match="group"):
        load_inventory(inv, env=ENV)


def test_many_groups_sharing_parents_resolve_quickly(tmp_path):
    """Each group's options are resolved once: a deep diamond of shared parents (2^40 paths when
    walked naively) takes no time."""
    import time

    groups = {f"g{i}": {"groups": [f"a{i + 1}", f"b{i + 1}"]} for i in range(40)}
    groups.update({f"a{i}": {"groups": [f"g{i}"]} for i in range(1, 41)})
    groups.update({f"b{i}": {"groups": [f"g{i}"]} for i in range(1, 41)})
    groups["g40"] = {"platform": "ios", "connection_options": {"netmiko": {"port": 2040}}}
    inv = write_inventory(tmp_path, {"h": {"groups": ["g0"]}}, groups, CREDS)
    started = time.monotonic()
    (t,) = load_inventory(inv, env=ENV).targets
    assert t.port == 2040 and time.monotonic() - started < 5


# ------------------------------------------------------------------ Nornir itself as the oracle


def _random_inventory(rng: random.Random) -> tuple[dict, dict, dict]:
    """Hosts, groups and defaults drawing each attribute at random from every level, plain or
    inside netmiko's connection options, so precedence is exercised in every combination."""
    def maybe_options(tag: str) -> dict:
        element: dict = {}
        if rng.random() < 0.5:
            element["port"] = rng.randint(1000, 9000)
        if rng.random() < 0.3:
            element["platform"] = rng.choice(["ios", "nxos_ssh", "iosxr", "asa"])
        if rng.random() < 0.3:
            element["username"] = f"user-{tag}"
        options: dict = {}
        for attr, gen in (("port", lambda: rng.randint(10000, 20000)), ("username", lambda: f"conn-{tag}"),
                          ("platform", lambda: rng.choice(["cisco_ios", "cisco_nxos", "cisco_xr", "cisco_asa"]))):
            if rng.random() < 0.3:
                options[attr] = gen()
        if rng.random() < 0.3:
            options["extras"] = {"secret": f"${{SECRET_{tag.upper()}}}"}
        if options:
            element["connection_options"] = {"netmiko": options}
        return element

    names = [f"grp{i}" for i in range(6)]
    groups = {}
    for i, name in enumerate(names):
        group = maybe_options(name)
        parents = [n for n in names[i + 1:] if rng.random() < 0.3]  # acyclic: parents come later
        if parents:
            group["groups"] = parents
        groups[name] = group
    defaults = {**maybe_options("defaults"), "platform": "ios", "username": "netops", "password": "${IB_PASS}"}
    hosts = {}
    for i in range(40):
        host = maybe_options(f"host{i}")
        host["hostname"] = f"dev{i}.invalid"
        chosen = rng.sample(names, rng.randint(0, 3))
        if chosen:
            host["groups"] = chosen
        hosts[f"dev{i}"] = host
    return hosts, groups, defaults


def test_resolution_matches_nornir_itself(tmp_path):
    nornir = pytest.importorskip("nornir", reason="Nornir is in the test extra: pip install '.[test]'")
    from agent.core import platforms

    rng = random.Random(20261205)
    checked = 0
    for round_ in range(15):
        hosts, groups, defaults = _random_inventory(rng)
        base = write_inventory(tmp_path / f"inv{round_}", hosts, groups, defaults)
        env = {"IB_PASS": "p"} | {f"SECRET_{t.upper()}": f"value-of-{t}"
                                  for t in ["defaults", *groups, *(f"host{i}" for i in range(len(hosts)))]}
        ours = {t.name: t for t in load_inventory(base, env=env).targets}
        nr = nornir.InitNornir(inventory={"plugin": "SimpleInventory", "options": {
            "host_file": str(base / "hosts.yaml"), "group_file": str(base / "groups.yaml"),
            "defaults_file": str(base / "defaults.yaml")}}, logging={"enabled": False})
        for name, host in nr.inventory.hosts.items():
            params = host.get_connection_parameters("netmiko")
            secret = (params.extras or {}).get("secret")
            expected = (params.hostname, params.port or 22, params.username,
                        platforms.lookup(params.platform).name,
                        env[secret[2:-1]] if secret else None)
            target = ours[name]
            got = (target.host, target.port, target.credential.username, target.platform, target.credential.enable)
            assert got == expected, (round_, name)
            checked += 1
    assert checked == 15 * 40


# ------------------------------------------------------------------ every error in one run


def _fleet(n: int) -> dict:
    return {f"sw{i:03d}": {"hostname": f"sw{i:03d}.invalid", "groups": ["access"]} for i in range(n)}


BAD = {  # host -> (what is wrong, the field the message must name)
    "sw007": ({"port": "telnet"}, "port"),
    "sw042": ({"platform": "junos"}, "platform"),
    "sw099": ({"groups": ["acess"]}, "unknown group 'acess'"),
    "sw150": ({"data": {"transports": ["ssh", "carrier-pigeon"]}}, "transport"),
    "sw233": ({"password": "hunter2"}, "password is written in clear"),
    "sw321": ({"data": {"max_age_days": -3}}, "data.max_age_days"),
    "sw499": ({"connection_options": {"netmiko": {"extras": {"secret": "${NOT_SET_ANYWHERE}"}}}},
              "connection_options.netmiko.extras.secret refers to environment variable NOT_SET_ANYWHERE"),
}


@pytest.fixture
def fleet_with_seven_mistakes(tmp_path):
    hosts = _fleet(500)
    for name, (change, _) in BAD.items():
        hosts[name].update(change)
    return write_inventory(tmp_path / "inv", hosts, {"access": {"platform": "cisco_ios"}}, CREDS)


def test_500_hosts_with_7_mistakes_are_all_reported_at_once(fleet_with_seven_mistakes):
    with pytest.raises(InventoryProblems) as err:
        load_inventory(fleet_with_seven_mistakes, env=ENV)
    assert len(err.value.problems) == 7
    lines = str(err.value).splitlines()
    assert lines[0].startswith("7 problem(s) in 7 host(s)")
    for name, (_, field) in BAD.items():
        (line,) = [ln for ln in lines if f"host '{name}'" in ln]
        assert "hosts.yaml" in line and field in line, line
    assert "hunter2" not in str(err.value)


def test_cli_reports_them_all_with_exit_2_and_no_traceback(fleet_with_seven_mistakes, tmp_path):
    env = {**{k: v for k, v in os.environ.items() if k != "IB_PASS"}, **ENV, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "agent.cli", "scan", "-i", str(fleet_with_seven_mistakes),
                           "--db", str(tmp_path / "ib.db")], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 2, (done.stdout, done.stderr)
    out = done.stdout + done.stderr
    assert "Traceback" not in out
    assert all(f"host '{name}'" in out for name in BAD), out


def test_a_reason_shared_by_every_host_is_said_once(tmp_path):
    inv = write_inventory(tmp_path, _fleet(500), {"access": {"platform": "ios"}},
                          {"username": "netops", "password": "${UNSET_PASSWORD_VAR}"})
    with pytest.raises(InventoryProblems) as err:
        load_inventory(inv, env={})
    lines = str(err.value).splitlines()
    assert lines[0].startswith("500 problem(s) in 500 host(s)")
    assert len(lines) == 2 and "and 495 more" in lines[1] and "UNSET_PASSWORD_VAR" in lines[1]


# ------------------------------------------------------------------ a hand-written Nornir inventory

CAMPUS = ROOT / "fixtures" / "inventories" / "nornir_campus"
CAMPUS_ENV = {"IBAGENT_PASSWORD": "campus-pass", "IBAGENT_ENABLE": "campus-enable", "FW_ENABLE": "fw-enable"}


def test_a_campus_inventory_written_for_nornir_reads_as_meant():
    by = {t.name: t for t in load_inventory(CAMPUS, env=CAMPUS_ENV).targets}
    got = {n: (t.platform, t.host, t.port, t.credential.username, t.credential.enable, t.site) for n, t in by.items()}
    assert got == {
        "acc-sw01": ("cisco_ios", "acc-sw01.campus.invalid", 22, "netops", "campus-enable", "hq"),
        "acc-sw02": ("cisco_ios", "acc-sw02.campus.invalid", 22, "branch-ops", "campus-enable", "branch-01"),
        "core-nx01": ("cisco_nxos", "core-nx01.campus.invalid", 8022, "netops", "campus-enable", "hq"),
        "fw01": ("cisco_asa", "fw01.campus.invalid", 22, "netops", "fw-enable", "hq"),
        "edge-xr01": ("cisco_xr", "edge-xr01.campus.invalid", 2022, "netops", "campus-enable", "hq"),
    }
    assert all(t.credential.password == "campus-pass" for t in by.values())


def test_the_campus_inventory_means_the_same_to_nornir():
    nornir = pytest.importorskip("nornir", reason="Nornir is in the test extra: pip install '.[test]'")
    from agent.core import platforms

    ours = {t.name: t for t in load_inventory(CAMPUS, env=CAMPUS_ENV).targets}
    nr = nornir.InitNornir(inventory={"plugin": "SimpleInventory", "options": {
        "host_file": str(CAMPUS / "hosts.yaml"), "group_file": str(CAMPUS / "groups.yaml"),
        "defaults_file": str(CAMPUS / "defaults.yaml")}}, logging={"enabled": False})
    assert set(nr.inventory.hosts) == set(ours)
    for name, host in nr.inventory.hosts.items():
        p = host.get_connection_parameters("netmiko")
        extras = p.extras or {}
        secret = extras.get("secret")
        assert (ours[name].host, ours[name].credential.username, ours[name].platform) == (
            p.hostname, extras.get("username", p.username), platforms.lookup(p.platform).name), name
        assert ours[name].credential.enable == CAMPUS_ENV[secret[2:-1]], name

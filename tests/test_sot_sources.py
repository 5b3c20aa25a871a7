"""Inventory sources besides Nornir YAML (issue 17 item 3): CSV, NetBox over its REST API (a fake
NetBox on 127.0.0.1 speaking its documented shapes, driven through pynetbox: see tests/sot/
netbox_fake.py for why not a real one), the platform mapping table, and hostile answers.
The Nautobot source is tested against a real Nautobot in tests/sot/test_nautobot_roundtrip.py."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.collect.inventory import InventoryError, load_inventory
from agent.collect.sources.common import map_platform

sys.path.insert(0, str(Path(__file__).resolve().parent / "sot"))
from netbox_fake import TOKEN, FakeNetbox, device  # noqa: E402

# pynetbox is in the test extra; a machine without it skips the NetBox tests, saying so (under
# .ci/run, IBAGENT_CI=1, they run or fail).
needs_pynetbox = pytest.mark.skipif(importlib.util.find_spec("pynetbox") is None and not os.environ.get("IBAGENT_CI"),
                                    reason="pynetbox is not installed (pip install '.[test]')")

REPO = Path(__file__).resolve().parents[1]
ENV = {"LABPW": "pw-one", "ENPW": "en-two", "NETBOX_TOKEN": TOKEN}


def _defaults(tmp: Path) -> Path:
    (tmp / "defaults.yaml").write_text("username: admin\npassword: ${LABPW}\ndata:\n  enable_secret: ${ENPW}\n")
    return tmp / "defaults.yaml"


# -- CSV ------------------------------------------------------------------------------------------

def test_csv_inventory_gives_the_targets_yaml_would(tmp_path):
    _defaults(tmp_path)
    (tmp_path / "groups.yaml").write_text("core:\n  data:\n    transports: [ssh, snmp]\n")
    (tmp_path / "hosts.csv").write_text(
        "name,address,platform,site,groups,port\n"
        "sw1,127.0.0.1,iosxe,hq,access;floor2,2201\n"
        "rtr1,127.0.0.1,cisco_xr,dc1,core,\n")
    (tmp_path / "hosts.yaml").write_text(
        "sw1:\n  hostname: 127.0.0.1\n  port: 2201\n  platform: iosxe\n  groups: [access, floor2]\n  data: {site: hq}\n"
        "rtr1:\n  hostname: 127.0.0.1\n  platform: cisco_xr\n  groups: [core]\n  data: {site: dc1}\n")
    (tmp_path / "groups.yaml").write_text("core:\n  data:\n    transports: [ssh, snmp]\naccess: {}\nfloor2: {}\n")
    from_csv = load_inventory(tmp_path / "hosts.csv", env=ENV)
    from_yaml = load_inventory(tmp_path, env=ENV)
    assert from_csv.targets == from_yaml.targets
    rtr = {t.name: t for t in from_csv.targets}["rtr1"]
    assert rtr.transports == ("ssh", "snmp") and rtr.port == 22 and rtr.platform == "cisco_xr"
    assert rtr.credential.password.reveal() == "pw-one"
    assert "pw-one" in from_csv.secrets


def test_csv_groups_need_no_definition(tmp_path):
    _defaults(tmp_path)
    (tmp_path / "hosts.csv").write_text("name,address,platform,groups,transports\nsw1,127.0.0.1,ios,a;b,ssh;snmp\n")
    (target,) = load_inventory(tmp_path / "hosts.csv", env=ENV).targets
    assert target.groups == ("a", "b") and target.transports == ("ssh", "snmp") and target.site == ""


def test_csv_errors_name_file_row_and_column(tmp_path):
    _defaults(tmp_path)
    path = tmp_path / "hosts.csv"
    path.write_text("name,address,platform,port,transports\n"
                    "sw1,127.0.0.1,junos,22,ssh\n"
                    "sw2,,ios,99999,carrier-pigeon\n"
                    "sw1,127.0.0.1,ios,,\n")
    with pytest.raises(InventoryError) as err:
        load_inventory(path, env=ENV)
    text = str(err.value)
    for expected in ("row 2, column 'platform': unknown platform 'junos'", "row 3, column 'address': empty",
                     "row 3, column 'port': '99999' is not a TCP port", "row 3, column 'transports'",
                     "row 4, column 'name': 'sw1' is named twice"):
        assert expected in text, text
    assert str(path) in text


def test_csv_refuses_a_password_column_and_unknown_columns(tmp_path):
    path = tmp_path / "hosts.csv"
    path.write_text("name,address,platform,password,colour\nsw1,127.0.0.1,ios,hunter2,red\n")
    with pytest.raises(InventoryError) as err:
        load_inventory(path, env=ENV)
    assert "row 1, column 'password': credentials are not CSV columns" in str(err.value)
    assert "row 1, column 'colour': unknown column" in str(err.value)
    assert "hunter2" not in str(err.value)


def test_csv_missing_columns_and_runaway_quote(tmp_path):
    path = tmp_path / "hosts.csv"
    path.write_text("name,platform\nsw1,ios\n")
    with pytest.raises(InventoryError, match=r"row 1: missing column\(s\) address"):
        load_inventory(path, env=ENV)
    path.write_text('name,address,platform\nsw1,"127.0.0.1' + "x" * 10_000 + "\n")
    with pytest.raises(InventoryError, match="not a readable CSV"):
        load_inventory(path, env=ENV)


def test_csv_hostile_files_refused_by_name(tmp_path):
    path = tmp_path / "hosts.csv"
    path.write_bytes(b"name,address,platform\nsw1,127.0.0.1,ios\x00\n")
    with pytest.raises(InventoryError, match="row 2: a NUL byte") as err:
        load_inventory(path, env=ENV)
    assert str(path) in str(err.value)
    with open(path, "wb") as fh:  # over the 32 MiB cap: refused before it is read
        fh.write(b"name,address,platform\n")
        fh.truncate(33 << 20)
    with pytest.raises(InventoryError, match="more than the 32.0 MiB accepted") as err:
        load_inventory(path, env=ENV)
    assert str(path) in str(err.value)


def test_csv_credentials_still_by_reference(tmp_path):
    (tmp_path / "defaults.yaml").write_text("username: admin\npassword: hunter2\n")
    (tmp_path / "hosts.csv").write_text("name,address,platform\nsw1,127.0.0.1,ios\n")
    with pytest.raises(InventoryError, match="written in clear") as err:
        load_inventory(tmp_path / "hosts.csv", env=ENV)
    assert "hunter2" not in str(err.value)


# -- platform mapping -----------------------------------------------------------------------------

@pytest.mark.parametrize("fields,expected", [
    ({"network_driver": "cisco_xe", "napalm_driver": "ios"}, "cisco_xe"),  # the driver wins over NAPALM's ios
    ({"napalm_driver": "ios"}, "cisco_ios"),
    ({"slug": "cisco-nx-os"}, "cisco_nxos"),
    ({"name": "Cisco IOS-XR", "slug": "something-else"}, "cisco_xr"),
    ({"slug": "cisco-asa"}, "cisco_asa"),
    ({"network_driver": "juniper_junos", "name": "Junos"}, None),
    ({}, None),
])
def test_platform_map(fields, expected):
    assert map_platform(fields) == expected


# -- NetBox through pynetbox, against a fake NetBox on 127.0.0.1 -----------------------------------

def _fleet() -> list[dict]:
    return [
        device(1, "hq-sw1", "cisco-ios-xe", "hq", "access", 2201, tags=("ibagent",)),
        device(2, "hq-sw2", "cisco-ios", "hq", "access", 2202),
        device(3, "dc-leaf1", "cisco-nx-os", "dc1", "leaf", None, tags=("ibagent",)),
        device(4, "dc-pe1", "cisco-ios-xr", "dc1", "wan", 2204, status="planned"),
        device(5, "hq-noip", "cisco-ios-xe", "hq", "access", 2205, address=None),
        device(6, "hq-junos", "juniper-junos", "hq", "access", 2206),
        device(7, "hq-noplat", None, "hq", "access", 2207),
    ]


@needs_pynetbox
def test_netbox_inventory_filters_and_skips(tmp_path, capsys):
    defaults = _defaults(tmp_path)
    with FakeNetbox(_fleet()) as nb:
        inv = load_inventory(f"netbox+{nb.url}/?status=active&defaults={defaults}", env=ENV)
        targets = {t.name: t for t in inv.targets}
        assert set(targets) == {"hq-sw1", "hq-sw2", "dc-leaf1"}
        assert targets["hq-sw1"].platform == "cisco_xe" and targets["hq-sw1"].port == 2201
        assert targets["hq-sw1"].site == "hq" and targets["hq-sw1"].groups == ("access", "ibagent")
        assert targets["dc-leaf1"].port == 22 and targets["dc-leaf1"].platform == "cisco_nxos"
        err = capsys.readouterr().err
        assert "skipped device 'hq-noip': no primary IP address" in err
        assert "skipped device 'hq-junos': platform (slug='juniper-junos'" in err
        assert "skipped device 'hq-noplat': no platform set" in err
        assert TOKEN in inv.secrets and TOKEN not in err
        # Pagination followed (page size 2), and NetBox's filter names sent.
        assert any("offset=" in path for _, path in nb.requests)
        assert all("status=active" in path for verb, path in nb.requests if "offset" not in path)

        narrowed = load_inventory(f"netbox+{nb.url}/?site=hq&role=access&tag=ibagent&defaults={defaults}", env=ENV)
        assert [t.name for t in narrowed.targets] == ["hq-sw1"]
        several = load_inventory(f"netbox+{nb.url}/?site=hq,dc1&role=leaf&defaults={defaults}", env=ENV)
        assert [t.name for t in several.targets] == ["dc-leaf1"]


@needs_pynetbox
def test_netbox_token_by_reference_only(tmp_path):
    defaults = _defaults(tmp_path)
    with FakeNetbox(_fleet()) as nb:
        with pytest.raises(InventoryError, match="written in clear") as err:
            load_inventory(f"netbox+{nb.url}/?token={TOKEN}&defaults={defaults}", env=ENV)
        assert TOKEN not in str(err.value)
        with pytest.raises(InventoryError, match="NB_ELSEWHERE, which is not set"):
            load_inventory(f"netbox+{nb.url}/?token=${{NB_ELSEWHERE}}&defaults={defaults}", env=ENV)
        with pytest.raises(InventoryError, match="HTTP 403"):
            load_inventory(f"netbox+{nb.url}/?defaults={defaults}", env={**ENV, "NETBOX_TOKEN": "wrong"})
        with pytest.raises(InventoryError, match="unknown query key 'stauts'"):
            load_inventory(f"netbox+{nb.url}/?stauts=active&defaults={defaults}", env=ENV)


@needs_pynetbox
@pytest.mark.parametrize("mode,message", [
    ("badjson", "not what the API documents"),
    ("huge", "an answer of more than"),
    ("elsewhere", "not followed (it would carry the token there)"),
    ("loop", "requests (pages) for one read"),
])
def test_netbox_hostile_answers_are_clear_errors(tmp_path, mode, message):
    defaults = _defaults(tmp_path)
    with FakeNetbox(_fleet(), mode=mode) as nb:
        t = time.monotonic()
        with pytest.raises(InventoryError, match="netbox at") as err:
            load_inventory(f"netbox+{nb.url}/?defaults={defaults}", env=ENV)
        assert message in str(err.value)
        assert time.monotonic() - t < 60
        assert TOKEN not in str(err.value)


@needs_pynetbox
def test_netbox_wrong_types_skip_hosts_with_reasons(tmp_path, capsys):
    defaults = _defaults(tmp_path)
    with FakeNetbox(_fleet(), mode="wrongtypes") as nb:
        with pytest.raises(InventoryError, match="no device to scan"):
            load_inventory(f"netbox+{nb.url}/?defaults={defaults}", env=ENV)
    err = capsys.readouterr().err
    assert "no name" in err and "not an object but int" in err and "ssh_port '22' is not a TCP port" in err


@needs_pynetbox
def test_netbox_slow_answer_bounded_by_the_deadline(tmp_path):
    defaults = _defaults(tmp_path)
    with FakeNetbox(_fleet(), mode="slow") as nb:
        t = time.monotonic()
        with pytest.raises(InventoryError, match="no complete answer within 3 s"):
            load_inventory(f"netbox+{nb.url}/?timeout=3&defaults={defaults}", env=ENV)
        assert time.monotonic() - t < 10


def test_scan_cli_reads_a_csv_inventory_error_exit_2(tmp_path):
    (tmp_path / "hosts.csv").write_text("name,address,platform\nsw1,127.0.0.1,junos\n")
    proc = subprocess.run([sys.executable, "-m", "agent.cli", "scan", "-i", str(tmp_path / "hosts.csv"), "--db",
                           str(tmp_path / "ib.db")], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "row 2, column 'platform'" in proc.stderr and "Traceback" not in proc.stderr

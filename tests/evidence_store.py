"""A small store for the terminal and evidence tests, built the way a user builds one without a
network: ``ibagent import-captures`` of outputs written here by hand, then a contract export,
also written here.  Two sites, items whose statuses differ, and one capture holding what a
hostile device could print (an OSC title change, a screen clear, a BEL, a lone CR, a byte that is
not UTF-8)."""
from __future__ import annotations

from pathlib import Path

from agent.cli import main

HOSTILE = b'NAME: "Power Supply 1", DESCR: "PSU \x1b]0;pwned\x07 \x1b[2J hidden\rbad\xff"\r\n'


def inventory(chassis: tuple[str, str], others: list[tuple[str, str, str]], hostile: bool = False) -> bytes:
    pid, serial = chassis
    out = [f'NAME: "1", DESCR: "{pid}"\r\n'.encode(), f"PID: {pid:<18}, VID: V02  , SN: {serial}\r\n\r\n".encode()]
    for name, pid, serial in others:
        if hostile and name == "Power Supply 1":
            out.append(HOSTILE)
        else:
            out.append(f'NAME: "{name}", DESCR: "{name}"\r\n'.encode())
        out.append(f"PID: {pid:<18}, VID: V01  , SN: {serial}\r\n\r\n".encode())
    return b"".join(out)


DEVICES = {
    # device: (site, chassis (PID, serial), other items)
    "hq-core1": ("hq", ("WS-C3850-24T", "FOC1111A0AA"),
                 [("Power Supply 1", "PWR-C1-350WAC", "DCB1111P01A"), ("Te1/1/1", "SFP-10G-SR", "AVD1111S01A")]),
    "hq-acc2": ("hq", ("WS-C3850-48P", "FOC2222A0BB"), [("Power Supply 1", "PWR-C1-715WAC", "DCB2222P01B")]),
    "br-acc3": ("branch", ("WS-C3850-24T", "FOC3333A0CC"), [("Power Supply 1", "PWR-C1-350WAC", "DCB3333P01C")]),
}

CONTRACT_HEADER = ("Serial Number / PAK number,Coverage,Covered Line Status,Product ID,Covered Line Start Date,"
                   "Covered Line End Date,Contract Number,Install Site Name,Install Site ID,Default Service Level\n")
CONTRACT_ROWS = (
    "FOC1111A0AA,COVERED,ACTIVE,WS-C3850-24T,2026-01-01,2027-12-31,700100,HQ,55500001,SNT\n"
    "DCB1111P01A,COVERED,ACTIVE,PWR-C1-350WAC,2026-01-01,2027-12-31,700100,HQ,55500001,SNT\n"
    "FOC2222A0BB,COVERED,ACTIVE,WS-C3850-48P,2025-01-01,2026-01-31,700100,HQ,55500001,SNT\n"
    "FOC3333A0CC,COVERED,ACTIVE,WS-C3850-24T,2026-01-01,2026-12-20,700200,BRANCH,55500002,SNTP\n"
)
AS_OF = "2026-12-01"


def build(tmp: Path, capsys=None) -> tuple[Path, Path, dict[str, bytes]]:
    """``(store, contracts CSV, the bytes of each device's show inventory)``."""
    caps = tmp / "caps"
    sent = {}
    for device, (site, chassis, others) in DEVICES.items():
        body = inventory(chassis, others, hostile=(device == "hq-core1"))
        sent[device] = body
        d = caps / device
        d.mkdir(parents=True)
        (d / "inv.txt").write_bytes(f"# device: {device}\n# command: show inventory\n# site: {site}\n".encode()
                                    + body)
    db = tmp / "ib.db"
    code = main(["import-captures", str(caps), "--platform", "cisco_xe", "--db", str(db), "--no-progress"])
    if capsys is not None:
        capsys.readouterr()
    assert code == 0
    contracts = tmp / "contracts.csv"
    contracts.write_text(CONTRACT_HEADER + CONTRACT_ROWS)
    return db, contracts, sent

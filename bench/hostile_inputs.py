"""Hostile input files against their readers: peak RSS and time per class, beside a normal input
of the same kind (issue 12, item 4).  Every file is generated here, in a temp directory.

    python bench/hostile_inputs.py            # every class (~1-2 min, most of it the normal inputs)
    python bench/hostile_inputs.py --only xlsx-shared-strings csv-runaway-quote

Each case runs its reader in a child process (``--child KIND PATH``) reaped with ``os.wait4``,
so the figures are that child's alone: wall time and peak RSS (the interpreter and the imports
of the stage included, about 40-60 MiB).  The outcome column is the first line the reader
reports: the refusal for a hostile file, the count read for a normal one.  The bound checked is
300 MiB per child (the issue's); a case above it is marked.

Classes (what each hostile file is, as the adversarial review built them):
  yaml-aliases          a ~500-byte inventory whose site nests 9 levels of 9 aliases (9^9 values)
  xlsx-shared-strings   a shared-strings table of 1 KiB strings unpacking to ~1.2 GB (a few MB packed)
  xlsx-repeated-rows    ~4.7 MB packed of one row repeated (3.5 million rows, ~1.1 GB of sheet XML)
  xlsx-many-elements    a sheet under the byte cap packed with tiny cells (12 million XML elements)
  csv-runaway-quote     a 3,367-line export where a stray quote swallows 1,414 lines
  json-deep             a contract JSON nested 100,000 levels deep
  huge-ack              a 300 MB ACK file (sparse: no disk used), refused before it is read
  cdp-entries           'show cdp neighbors detail' with 20,001 entries (one past the bound, ~6.8 MB)
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# --code DIR measures another source tree (the release before these checks, say): its children
# import the stages from there.
CODE = Path(os.environ.get("HOSTILE_CODE") or ROOT)
for _p in dict.fromkeys((str(CODE), str(ROOT))):
    if _p not in sys.path:
        sys.path.append(_p)
sys.path.remove(str(CODE))
sys.path.insert(0, str(CODE))

LIMIT_MIB = 300

# ------------------------------------------------------------------ generators (the tests use them too)

CONTRACT_HEADER = ["serialNumber", "productId", "coverageStatus", "coverageStartDate", "coverageEndDate",
                   "contractNumber", "serviceLevel"]


def contract_rows(n: int) -> list[list[str]]:
    return [[f"FOC{i:08d}", "C9300-48P", "ACTIVE", "2025-01-01", "2027-12-31", f"{2000 + i % 7}", "SNT"]
            for i in range(n)]


def yaml_alias_bomb(path: Path, levels: int = 9, fan: int = 9) -> Path:
    """An inventory file whose one host's ``site`` is 9 nested levels of 9 aliases."""
    lines = ["hosts:", "  r1:", "    hostname: 127.0.0.1", "    platform: cisco_xe", "    username: u",
             "    password: ${IBAGENT_PASSWORD}", "    data:",
             "      l0: &l0 [" + ", ".join(["x"] * fan) + "]"]
    for level in range(1, levels):
        lines.append(f"      l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * fan) + "]")
    lines.append(f"      site: *l{levels - 1}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def yaml_normal(path: Path, hosts: int = 2000) -> Path:
    """An inventory of ``hosts`` devices sharing anchored data (``<<: *common``), as people write them."""
    body = ["defaults:", "  username: netops", "  password: ${IBAGENT_PASSWORD}", "  platform: cisco_xe",
            "  data: &common", "    transports: [ssh, snmp]", "    snmp_community: ${IBAGENT_PASSWORD}", "hosts:"]
    for i in range(hosts):
        body += [f"  sw{i:05d}:", f"    hostname: 10.{i // 62500}.{i // 250 % 250}.{i % 250}",
                 "    data:", "      <<: *common", f"      site: site{i % 40}"]
    path.write_text("\n".join(body) + "\n", encoding="utf-8")
    return path


_CT = ('<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
       '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
       '<Default Extension="xml" ContentType="application/xml"/>'
       '<Override PartName="/xl/workbook.xml" '
       'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
       '<Override PartName="/xl/worksheets/sheet1.xml" '
       'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
       '<Override PartName="/xl/sharedStrings.xml" '
       'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
_RELS = ('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
         '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
         'officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WB = ('<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
       'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
       '<sheet name="Coverage" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WB_RELS = ('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
            'Target="sharedStrings.xml"/></Relationships>')
_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _inline(values) -> bytes:
    return ("<row>" + "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in values) + "</row>").encode()


def xlsx(path: Path, rows, *, shared_strings: bytes | None = None, sheet_head: bytes = b"",
         repeat: tuple[bytes, int] | None = None, dimension: str | None = None) -> Path:
    """A minimal workbook: the header and ``rows`` as inline strings, then ``repeat`` (one row's
    XML, how many times) streamed, an optional shared-strings part, bytes before the root and a
    <dimension> element (without one openpyxl parses the whole sheet when it loads)."""
    strings = shared_strings if shared_strings is not None else (
        f'<?xml version="1.0"?><sst xmlns="{_NS}" count="0" uniqueCount="0"></sst>'.encode())
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CT)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WB)
        z.writestr("xl/_rels/workbook.xml.rels", _WB_RELS)
        z.writestr("xl/sharedStrings.xml", strings)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            dim = f'<dimension ref="{dimension}"/>' if dimension else ""
            fh.write(b'<?xml version="1.0"?>' + sheet_head + f'<worksheet xmlns="{_NS}">{dim}<sheetData>'.encode())
            fh.write(_inline(CONTRACT_HEADER))
            for row in rows:
                fh.write(_inline(row))
            if repeat:
                block, times = repeat
                batch = block * 1000
                for _ in range(times // 1000):
                    fh.write(batch)
                fh.write(block * (times % 1000))
            fh.write(b"</sheetData></worksheet>")
    return path


def xlsx_shared_strings_bomb(path: Path, strings: int = 1_200_000, length: int = 1000) -> Path:
    """A shared-strings table of ``strings`` strings of ``length`` characters: ~1.2 GB that packs
    into a few MB (the review's 2.8 MB file used 1.2 GB)."""
    one = f"<si><t>{'A' * length}</t></si>".encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CT)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WB)
        z.writestr("xl/_rels/workbook.xml.rels", _WB_RELS)
        with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as fh:
            fh.write(f'<?xml version="1.0"?><sst xmlns="{_NS}" count="{strings}" uniqueCount="{strings}">'.encode())
            batch = one * 1000
            for _ in range(strings // 1000):
                fh.write(batch)
            fh.write(b"</sst>")
        sheet = (f'<?xml version="1.0"?><worksheet xmlns="{_NS}"><sheetData><row>'
                 + "".join(f'<c t="s"><v>{i}</v></c>' for i in range(7)) + "</row></sheetData></worksheet>")
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    return path


def xlsx_repeated_rows(path: Path, rows: int = 3_500_000) -> Path:
    """One data row repeated: ~4.7 MB packed at 3.5 million rows (the review's file took 258 s)."""
    return xlsx(path, [], repeat=(_inline(contract_rows(1)[0]), rows))


def xlsx_many_elements(path: Path, cells: int = 6_000_000) -> Path:
    """Rows of tiny numeric cells: under the sheet byte cap (~90 MB), over the element budget."""
    row = b"<row>" + b"<c><v>1</v></c>" * 100 + b"</row>"
    return xlsx(path, [], repeat=(row, cells // 100))


def xlsx_normal(path: Path, rows: int = 20_000) -> Path:
    return xlsx(path, contract_rows(rows))


def xlsx_big(path: Path) -> Path:
    """Near the element budget, as a legitimate export can be: 100,000 rows of inline strings."""
    return xlsx(path, contract_rows(100_000))


def csv_runaway_quote(path: Path, lines: int = 3367, at: int = 1200, swallowed: int = 1414) -> Path:
    """A contract CSV where a stray quote opens a field on line ``at`` and the next stray quote,
    ``swallowed`` lines on, closes it: the records between vanish into one cell."""
    rows = contract_rows(lines - 1)
    out = [",".join(CONTRACT_HEADER)]
    for i, row in enumerate(rows, 2):
        row = list(row)
        if i == at:
            row[1] = '"' + row[1]
        elif i == at + swallowed:
            row[1] = row[1] + '"'
        out.append(",".join(row))
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def csv_normal(path: Path, lines: int = 3367) -> Path:
    path.write_text("\n".join([",".join(CONTRACT_HEADER)] + [",".join(r) for r in contract_rows(lines - 1)]) + "\n",
                    encoding="utf-8")
    return path


def json_deep(path: Path, depth: int = 100_000) -> Path:
    path.write_text('{"data": ' + "[" * depth + "]" * depth + "}", encoding="utf-8")
    return path


def json_normal(path: Path, records: int = 3366) -> Path:
    data = [dict(zip(CONTRACT_HEADER, row)) for row in contract_rows(records)]
    path.write_text(json.dumps({"data": data}), encoding="utf-8")
    return path


def huge_ack(path: Path, size: int = 300 * 1000 * 1000) -> Path:
    """A 300 MB file that starts like an ACK; sparse, so it costs no disk."""
    with path.open("wb") as fh:
        fh.write(b"<smartLicense><smartLicenseRumAck><data>")
        fh.truncate(size)
    return path


def normal_ack(path: Path) -> Path:
    from lab.slp import make_ack

    path.write_bytes(make_ack({"udi_pid": "C9300-48P", "udi_serial_number": "FOC00000001"}, [1700000000]))
    return path


def cdp_capture(path: Path, entries: int = 20_001) -> Path:
    """A CDP table one entry past parsers.neighbours.MAX_ENTRIES: every entry is read before the
    refusal, so this is the cost of the largest table accepted."""
    entry = ("-------------------------\nDevice ID: sw{i}.corp.invalid\nEntry address(es): \n  IP address: 127.0.{a}.{b}\n"
             "Platform: cisco WS-C2960X-48FPD-L,  Capabilities: Switch IGMP \n"
             "Interface: GigabitEthernet1/0/1,  Port ID (outgoing port): GigabitEthernet0/1\nHoldtime : 137 sec\n\n"
             "Version :\nCisco IOS Software, Version 15.2(7)E4\n\nadvertisement version: 2\n")
    path.write_text("".join(entry.format(i=i, a=i // 250 % 250, b=i % 250 + 1) for i in range(entries)), encoding="utf-8")
    return path


def cdp_normal(path: Path) -> Path:
    return cdp_capture(path, 48)  # a 48-port access switch, every port seeing one neighbour


# ------------------------------------------------------------------ the readers, in a child


def _child(kind: str, path: str) -> None:
    import resource
    import signal
    import warnings

    warnings.filterwarnings("ignore")  # asyncssh's DSA deprecation, imported by the SLP stage
    # Guards for measuring code without the checks: a runaway child stops instead of taking the
    # machine (its figures then say "at least").
    cap = int(os.environ.get("HOSTILE_MAX_MIB", "0"))
    if cap:
        resource.setrlimit(resource.RLIMIT_AS, (cap << 20, cap << 20))
    signal.alarm(int(os.environ.get("HOSTILE_TIMEOUT", "0")))
    try:
        _read(kind, path)
    except MemoryError:
        print(f"stopped: MemoryError at the {cap} MiB address-space cap")
    except RecursionError as exc:
        print(f"crashed: RecursionError ({exc})")
    finally:
        # This process's own peak (ru_maxrss would carry the parent's high-water mark over exec).
        with open("/proc/self/status") as fh:
            print("peak-kib", next(line for line in fh if line.startswith("VmHWM:")).split()[1], flush=True)


def _read(kind: str, path: str) -> None:
    if kind == "inventory":
        from agent.collect.inventory import InventoryError, load_inventory

        try:
            inv = load_inventory(path, env={"IBAGENT_PASSWORD": "x"})
            print(f"read {len(inv.targets)} hosts")
        except InventoryError as exc:
            print(f"refused: {exc}")
    elif kind == "contracts":
        from agent.contracts import load_contracts

        load = load_contracts(path)
        fatal = [e for e in load.errors if getattr(e, "fatal", False) or e.row is None]
        print(f"refused: {fatal[0]}" if fatal else f"read {len(load.lines)} lines")
    elif kind == "neighbours":
        import parsers

        try:
            result = parsers.parse("cisco_xe", "show cdp neighbors detail", Path(path).read_text())
            print(f"read {len(result.neighbours)} entries")
        except parsers.ParseError as exc:
            print(f"refused: {exc}")
    elif kind == "ack":
        from agent.slp.rum import RumError, parse_ack
        try:
            from agent.slp.rum import read_file
        except ImportError:  # code before the size check: the file was read whole first
            read_file = Path.read_bytes

        try:
            ack = parse_ack(read_file(Path(path)))
            print(f"read an ACK for {len(ack.udis)} UDI(s)")
        except RumError as exc:
            print(f"refused: {exc}")


CASES = {
    # name: (reader, hostile generator, normal generator, file name)
    "yaml-aliases": ("inventory", yaml_alias_bomb, yaml_normal, "inventory.yaml"),
    "xlsx-shared-strings": ("contracts", xlsx_shared_strings_bomb, xlsx_normal, "export.xlsx"),
    "xlsx-repeated-rows": ("contracts", xlsx_repeated_rows, xlsx_normal, "export.xlsx"),
    "xlsx-many-elements": ("contracts", xlsx_many_elements, xlsx_big, "export.xlsx"),
    "csv-runaway-quote": ("contracts", csv_runaway_quote, csv_normal, "export.csv"),
    "json-deep": ("contracts", json_deep, json_normal, "export.json"),
    "huge-ack": ("ack", huge_ack, normal_ack, "ACK_sw1_rum.txt"),
    "cdp-entries": ("neighbours", cdp_capture, cdp_normal, "show_cdp_neighbors_detail.txt"),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="+", choices=sorted(CASES), help="run only these classes")
    ap.add_argument("--code", help="source tree whose readers to measure (default: this one)")
    ap.add_argument("--timeout", type=int, default=0, help="stop a child after this many seconds (for --code)")
    ap.add_argument("--max-mib", type=int, default=0, help="address-space cap per child, MiB (for --code)")
    ap.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(*args.child)
        return 0
    import warnings

    from bench._measure import run_child

    warnings.filterwarnings("ignore")  # asyncssh's DSA deprecation (the normal ACK is made by the lab)

    code = Path(args.code).resolve() if args.code else ROOT
    env = {**os.environ, "PYTHONPATH": str(code), "HOSTILE_CODE": str(code), "HOSTILE_TIMEOUT": str(args.timeout),
           "HOSTILE_MAX_MIB": str(args.max_mib)}
    print(f"readers of {code}" + (f" (each child stopped at {args.timeout} s / {args.max_mib} MiB)"
                                  if args.timeout or args.max_mib else ""))
    print(f"{'class':<22}{'input':<8}{'packed':>10}{'time s':>9}{'peak MiB':>10}  outcome")
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="ibagent-hostile-") as tmp:
        for name in args.only or CASES:
            kind, hostile, normal, file_name = CASES[name]
            for label, make in (("normal", normal), ("hostile", hostile)):
                target = make(Path(tmp) / f"{name}-{label}-{file_name}")
                packed = target.stat().st_blocks * 512
                run = run_child([sys.executable, __file__, "--child", kind, str(target)], env=env)
                outcome = next((ln for ln in run.output if ln.startswith(("read", "refused", "stopped", "crashed"))),
                               run.output[-1:] or f"exit {run.returncode}")
                if run.returncode < 0 or run.returncode == 142:
                    outcome = f"killed by signal {-run.returncode if run.returncode < 0 else 14}" + (
                        " (the time limit)" if run.returncode in (-14, 142) else "")
                outcome = str(outcome).replace(str(target) + ": ", "").replace(str(target), "FILE")
                peak = next((int(ln.split()[1]) / 1024 for ln in run.output if ln.startswith("peak-kib ")), run.rss_mib)
                mark = "" if peak <= LIMIT_MIB else f"  ABOVE {LIMIT_MIB} MiB"
                worst = max(worst, peak)
                print(f"{name:<22}{label:<8}{packed / 2**20:>8.1f}MB{run.wall:>9.2f}{peak:>10.0f}  "
                      f"{str(outcome)[:150]}{mark}", flush=True)
                target.unlink()
    print(f"worst peak RSS {worst:.0f} MiB (bound {LIMIT_MIB} MiB)")
    return 0 if worst <= LIMIT_MIB else 1


if __name__ == "__main__":
    sys.exit(main())

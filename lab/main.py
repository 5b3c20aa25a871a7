"""Run a lab in the foreground: ``python -m lab --fleet demo|scale [--count N] --inventory-dir DIR``.

``serve`` is the piece ``ibagent lab`` calls; ``run`` is the command line around it.  Once
every listener is up, the inventory and the manifest are written and one ``LAB-READY {json}``
line is printed (``lab.process.LabProcess`` waits for it).  Ctrl-C or SIGTERM stops the lab.
"""
from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import resource
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import fleet
from .device import DEFAULT_ENABLE, DEFAULT_PASSWORD, ENABLE_ENV, PASSWORD_ENV, DeviceSpec
from .inventory import write_inventory, write_manifest
from .server import Lab, start_lab

READY_PREFIX = "LAB-READY "


def rss_mb() -> float:
    """Resident memory now (Linux /proc), else the peak the OS reports."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


async def serve(
    specs: Sequence[DeviceSpec],
    inventory_dir: str | Path,
    ready_callback: Callable[[Lab], Any] | None = None,
    host: str = "127.0.0.1",
    stop: asyncio.Event | None = None,
    manifest: bool = True,
    peers: Sequence[str] = (),
) -> None:
    """Start ``specs``, write the inventory (and lab.json), call ``ready_callback(lab)``, run until stopped.

    ``peers`` (``netconf``, ``snmp``) start the structured transports alongside SSH.
    Stops on ``stop.set()``, or on SIGINT/SIGTERM when running in the main thread.
    """
    started = time.perf_counter()
    lab = await start_lab(specs, host, peers)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    try:
        write_inventory(lab.devices, inventory_dir)
        startup = time.perf_counter() - started
        if manifest:
            write_manifest(lab.devices, inventory_dir, startup_seconds=round(startup, 3),
                           peers=list(peers), peer_startup={k: round(v, 3) for k, v in lab.peer_startup.items()},
                           # CDP / LLDP ground truth (lab.neighbours): the strangers and who sees them
                           unlisted_neighbours=[u.to_dict() for u in (lab.topology.unlisted if lab.topology else ())])
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
                handled.append(sig)
        if ready_callback is not None:
            result = ready_callback(lab)
            if inspect.isawaitable(result):
                await result
        await stop.wait()
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
        await lab.close()


def build_specs(args: argparse.Namespace) -> list[DeviceSpec]:
    if args.fleet == "demo":
        return fleet.demo_fleet(latency=args.latency, jitter=args.jitter, seed=args.seed, base_port=args.base_port)
    return fleet.scale_fleet(args.count, latency=args.latency, jitter=args.jitter, seed=args.seed, base_port=args.base_port,
                             first=args.first)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m lab", description="Simulated Cisco devices over SSH on 127.0.0.1.")
    parser.add_argument("--fleet", choices=("demo", "scale"), default="demo")
    parser.add_argument("--count", type=int, default=100, help="devices in a scale fleet (default 100)")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per show command (default 0.2)")
    parser.add_argument("--jitter", type=float, default=0.25, help="+- fraction of latency (default 0.25)")
    parser.add_argument("--seed", type=int, default=fleet.DEFAULT_SEED, help="serial-number seed")
    parser.add_argument("--base-port", type=int, default=0, help="device i listens on base+i (default: any free port)")
    parser.add_argument("--first", type=int, default=0,
                        help="scale fleet: index of the first device (labs in several processes serve one fleet)")
    parser.add_argument("--host", type=loopback, default="127.0.0.1",
                        help="loopback address to listen on, 127.x.y.z (default 127.0.0.1): each address has its own "
                             "port space, so several labs can serve more devices than one address's ports")
    parser.add_argument("--inventory-dir", type=Path, default=None, help="where to write the Nornir inventory")
    parser.add_argument("--no-manifest", action="store_true", help="skip lab.json (ground truth of every device)")
    parser.add_argument("--peers", type=parse_peers, default=(), metavar="netconf,snmp",
                        help="also serve NETCONF and/or SNMP for every device (default: SSH only)")
    return parser.parse_args(argv)


def loopback(text: str) -> str:
    """A loopback IPv4 address: the lab never listens anywhere else."""
    import ipaddress

    try:
        addr = ipaddress.IPv4Address(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an IPv4 address") from None
    if not addr.is_loopback:
        raise argparse.ArgumentTypeError(f"{text} is not a loopback address (127.0.0.0/8): the lab listens only there")
    return str(addr)


def parse_peers(text: str) -> tuple[str, ...]:
    from .server import PEERS

    names = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = set(names) - set(PEERS)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown peers {sorted(unknown)} (known: {', '.join(PEERS)})")
    return names


# Connections in flight beside the listeners (the client's workers, each one socket here), and a few
# files: the margin a lab needs above one descriptor per listener.
FD_MARGIN = 2048


def raise_fd_limit(listeners: int) -> str | None:
    """Lift the soft open-files limit towards the hard one so ``listeners`` sockets (one per device and
    served transport) fit; many systems start processes at a soft 1,024.  Returns why it cannot fit,
    naming the limit and the way out, else None."""
    needed = listeners + FD_MARGIN
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        return (f"{listeners:,} listening sockets need about {needed:,} open files, and this process may open "
                f"{hard:,} (ulimit -Hn): split the fleet over more lab processes (--first/--count, "
                "bench/scan_fleet.py --lab-processes) or raise the hard limit")
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed if hard == resource.RLIM_INFINITY else min(hard, needed),
                                                    hard))
    return None


def run(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    inventory_dir = args.inventory_dir or Path(tempfile.mkdtemp(prefix="ibagent-lab-"))
    specs = build_specs(args)
    why = raise_fd_limit(len(specs) * (1 + len(args.peers)))
    if why:
        print(f"python -m lab: {why}", file=sys.stderr)
        return 2
    started = time.perf_counter()

    def ready(lab: Lab) -> None:
        ports = [d.port for d in lab.devices]
        info = {
            "inventory_dir": str(Path(inventory_dir).resolve()),
            "devices": len(lab.devices),
            "startup_seconds": round(time.perf_counter() - started, 3),
            "rss_mb": round(rss_mb(), 1),
            "peer_startup": {k: round(v, 3) for k, v in lab.peer_startup.items()},
            "snmp_pid": lab.snmp.pid if lab.snmp is not None else None,
        }
        print(f"ibagent lab: {len(ports)} devices on {lab.host}, ports {min(ports)}-{max(ports)}")
        print(f"inventory:   {info['inventory_dir']}/hosts.yaml")
        print(f"credentials: ${PASSWORD_ENV} (default {DEFAULT_PASSWORD!r}), enable ${ENABLE_ENV} (default {DEFAULT_ENABLE!r})")
        print("Ctrl-C to stop.")
        print(READY_PREFIX + json.dumps(info), flush=True)

    try:
        asyncio.run(serve(specs, inventory_dir, ready_callback=ready, host=args.host, manifest=not args.no_manifest,
                          peers=args.peers))
    except KeyboardInterrupt:
        pass
    return 0

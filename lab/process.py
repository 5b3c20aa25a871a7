"""The lab in a separate process, for benchmarks: the lab's CPU must not be the collector's CPU.

    with LabProcess(fleet="scale", count=2000, latency=0.2) as lab:
        run_scan(inventory=lab.inventory_dir)
        assert every serial of lab.devices[i].truth was collected
"""
from __future__ import annotations

import collections
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .device import default_credentials, netmiko_params
from .fleet import DEFAULT_SEED
from .inventory import read_manifest
from .main import READY_PREFIX
from .truth import DeviceTruth

_REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class LabProcessDevice:
    """A device of a lab running in another process, rebuilt from its lab.json."""

    name: str
    host: str
    port: int
    platform: str
    profile: str
    hostname: str
    site: str
    username: str
    needs_enable: bool
    faults: frozenset[str]
    truth: DeviceTruth
    password: str = field(repr=False, default="")
    enable_password: str = field(repr=False, default="")
    netconf_port: int | None = None
    snmp_port: int | None = None
    snmp_community: str | None = field(repr=False, default=None)

    def netmiko_params(self, **extra: Any) -> dict[str, Any]:
        return netmiko_params(self, **extra)


def _communities(directory: Path) -> dict[str, str]:
    from .inventory import SECRETS_FILE

    path = Path(directory) / SECRETS_FILE
    if not path.exists():
        return {}
    import yaml

    return {str(k): str(v) for k, v in (yaml.safe_load(path.read_text()) or {}).items()}


class LabProcess:
    """Runs ``python -m lab`` as a child process; a context manager that waits until it is ready."""

    def __init__(
        self,
        fleet: str = "scale",
        count: int = 100,
        latency: float = 0.2,
        jitter: float = 0.25,
        seed: int = DEFAULT_SEED,
        inventory_dir: str | Path | None = None,
        manifest: bool = True,
        base_port: int = 0,
        start_timeout: float = 120.0,
        env: dict[str, str] | None = None,
        peers: tuple[str, ...] = (),
        host: str = "127.0.0.1",
        first: int = 0,
    ) -> None:
        self._args = [
            "--fleet", fleet, "--count", str(count), "--latency", str(latency),
            "--jitter", str(jitter), "--seed", str(seed), "--base-port", str(base_port),
            "--host", host, "--first", str(first),
        ]
        if peers:
            self._args += ["--peers", ",".join(peers)]
        if not manifest:
            self._args.append("--no-manifest")
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if inventory_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="ibagent-lab-")
            inventory_dir = self._tmp.name
        self.inventory_dir = Path(inventory_dir)
        self._start_timeout = start_timeout
        self._env = {**os.environ, **(env or {})}
        self._env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_REPO_ROOT), self._env.get("PYTHONPATH")]))
        self._proc: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._tail: collections.deque[str] = collections.deque(maxlen=40)
        self.info: dict[str, Any] = {}
        self._devices: list[LabProcessDevice] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def _pump(self) -> None:
        # Keep draining the child's output for its whole life so it never blocks on a full pipe.
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            self._tail.append(line.rstrip())
            self._lines.put(line)
        self._lines.put(None)

    def start(self) -> "LabProcess":
        cmd = [sys.executable, "-m", "lab", *self._args, "--inventory-dir", str(self.inventory_dir)]
        self._proc = subprocess.Popen(
            cmd, cwd=_REPO_ROOT, env=self._env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        threading.Thread(target=self._pump, name="lab-process-output", daemon=True).start()
        try:
            while True:
                line = self._lines.get(timeout=self._start_timeout)
                if line is None:
                    raise RuntimeError("lab process exited before it was ready:\n" + "\n".join(self._tail))
                if line.startswith(READY_PREFIX):
                    self.info = json.loads(line[len(READY_PREFIX) :])
                    return self
        except queue.Empty:
            self.stop()
            raise TimeoutError("lab process not ready in time:\n" + "\n".join(self._tail)) from None
        except BaseException:
            self.stop()
            raise

    @property
    def devices(self) -> list[LabProcessDevice]:
        if self._devices is None:
            _, password, enable = default_credentials(self._env)
            communities = _communities(self.inventory_dir)
            self._devices = [
                LabProcessDevice(
                    name=d["name"], host=d["host"], port=d["port"], platform=d["platform"], profile=d["profile"],
                    hostname=d["hostname"], site=d["site"], username=d["username"], needs_enable=d["needs_enable"],
                    faults=frozenset(d["faults"]), truth=DeviceTruth.from_dict(d["truth"]),
                    password=password, enable_password=enable, netconf_port=d.get("netconf_port"),
                    snmp_port=d.get("snmp_port"), snmp_community=communities.get(f"snmp_community_{d['name']}"),
                )
                for d in read_manifest(self.inventory_dir)["devices"]
            ]
        return self._devices

    def stop(self, timeout: float = 15.0) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "LabProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""Real OpenSSH servers on 127.0.0.1 for the interop tests, each with an old-IOS algorithm set or auth mode.

Each server is Debian's ``/usr/sbin/sshd -D -f <config>`` on a free loopback port.  Its ForceCommand
is lab/replay_bridge.py (runs under any system python3, as the test user), which relays the session
to a Unix socket where this process starts ``python3 -m lab.replay_shell PROFILE [options]`` per
connection, with the project's own interpreter: the test user need not be able to run it.
"""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SSHD = "/usr/sbin/sshd"
USER = "ibagent-interop"
PASSWORD = "interop-Test-pw1"  # a test value for a loopback-only throwaway account
ENABLE = "lab-enable"
SYSTEM_PYTHON = "/usr/bin/python3"

# The algorithm sets of the gear the issue names (sshd_config keywords).
MODERN: dict[str, str] = {}
LEGACY = {  # IOS 15.0-15.2
    "KexAlgorithms": "diffie-hellman-group14-sha1",
    "Ciphers": "aes128-cbc,aes256-cbc",
    "MACs": "hmac-sha1",
    "HostKeyAlgorithms": "ssh-rsa",
}
ANCIENT = {  # IOS 12.2
    "KexAlgorithms": "diffie-hellman-group1-sha1",
    "Ciphers": "aes128-cbc,3des-cbc",
    "MACs": "hmac-sha1",
    "HostKeyAlgorithms": "ssh-rsa",
}

ANCIENT_3DES = {**ANCIENT, "Ciphers": "3des-cbc"}  # 12.2 images without AES


@dataclass
class ServerSpec:
    name: str
    profile: str  # lab profile the shell replays
    algorithms: dict[str, str] = field(default_factory=dict)
    auth: str = "password"  # password | kbdint
    banner: str = ""  # SSH pre-auth banner (sshd Banner)
    shell_args: tuple[str, ...] = ()  # lab.replay_shell options


@dataclass
class Server:
    spec: ServerSpec
    port: int
    host_key_pub: str  # "type base64" of the key the server presents
    directory: Path
    process: subprocess.Popen | None = None
    sessions: int = 0

    def known_hosts_line(self) -> str:
        return f"[127.0.0.1]:{self.port} {self.host_key_pub}"


def skip_reason() -> str | None:
    """Why these tests cannot run here, or None."""
    if not os.path.exists(SSHD):
        return f"{SSHD} is missing (apt-get install openssh-server)"
    if os.geteuid() != 0:
        return "needs root: sshd authenticates a dedicated test user and switches to it"
    if not os.path.exists(SYSTEM_PYTHON):
        return f"{SYSTEM_PYTHON} is missing (the bridge the test user runs)"
    return None


def ensure_user() -> None:
    """The dedicated test account, created when missing; its password is (re)set each run."""
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/bin/sh", USER],
                       check=True, capture_output=True)
    subprocess.run(["chpasswd"], input=f"{USER}:{PASSWORD}\n", text=True, check=True, capture_output=True)
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation directory


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ShellServer:
    """Serves ``lab.replay_shell`` on a Unix socket: one subprocess per connection."""

    def __init__(self, path: Path, args: list[str]) -> None:
        self.path = path
        self.args = args
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        os.chmod(path, 0o777)  # the test user connects
        self.sock.listen(16)
        self.sock.settimeout(0.2)  # accept() wakes up to notice close(): closing alone does not wake it
        self.stopped = False
        self.children: list[subprocess.Popen] = []
        self.thread = threading.Thread(target=self._serve, daemon=True, name=f"replay:{path.name}")
        self.thread.start()

    def _serve(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        env.pop("SSH_ORIGINAL_COMMAND", None)
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.setblocking(True)
            with conn:
                child = subprocess.Popen([sys.executable, "-W", "ignore", "-m", "lab.replay_shell", *self.args],
                                         stdin=conn.fileno(), stdout=conn.fileno(), stderr=subprocess.DEVNULL,
                                         cwd=REPO, env=env)
                self.children.append(child)
            self.children = [c for c in self.children if c.poll() is None]

    def close(self) -> None:
        self.stopped = True
        self.thread.join(5)
        self.sock.close()
        for child in self.children:
            if child.poll() is None:
                child.kill()
                child.wait()


def _host_key(directory: Path, kind: str) -> tuple[Path, str]:
    path = directory / f"host_{kind}"
    subprocess.run(["ssh-keygen", "-q", "-t", kind, *(["-b", "2048"] if kind == "rsa" else []), "-N", "", "-f",
                    str(path)], check=True, capture_output=True)
    kind_, blob = Path(f"{path}.pub").read_text().split()[:2]
    return path, f"{kind_} {blob}"


def start(spec: ServerSpec, root: Path) -> tuple[Server, ShellServer]:
    directory = root / spec.name
    directory.mkdir(mode=0o755)
    rsa = "ssh-rsa" in spec.algorithms.get("HostKeyAlgorithms", "")
    key_path, pub = _host_key(directory, "rsa" if rsa else "ed25519")
    shell = ShellServer(directory / "replay.sock", [spec.profile, *spec.shell_args])
    for _ in range(5):  # a port freed by free_port() can be taken by someone else before sshd binds it
        port = free_port()
        proc = _start_sshd(spec, directory, port, key_path, shell)
        if proc is not None:
            return Server(spec, port, pub, directory, proc), shell
    shell.close()
    raise RuntimeError(f"sshd {spec.name} did not start: {(directory / 'sshd.log').read_text()[-500:]}")


def _start_sshd(spec: ServerSpec, directory: Path, port: int, key_path: Path, shell: ShellServer):
    """sshd on ``port``, or None when it could not listen there.  Ready means sshd itself says it
    listens on that port (a banner alone could come from another SSH server on a reused port)."""
    lines = [
        f"Port {port}",
        "ListenAddress 127.0.0.1",
        f"HostKey {key_path}",
        f"PidFile {directory / 'sshd.pid'}",
        f"AllowUsers {USER}",
        "PermitRootLogin no",
        "PubkeyAuthentication no",
        "StrictModes no",
        "PrintMotd no",
        "PrintLastLog no",
        "X11Forwarding no",
        "AllowTcpForwarding no",
        "LogLevel VERBOSE",
        "MaxStartups 50",
        f"ForceCommand {SYSTEM_PYTHON} {REPO / 'lab' / 'replay_bridge.py'} {shell.path}",
    ]
    if spec.auth == "kbdint":
        # TACACS/RADIUS-backed AAA as clients see it: keyboard-interactive only, answered by PAM.
        lines += ["UsePAM yes", "KbdInteractiveAuthentication yes", "PasswordAuthentication no",
                  "AuthenticationMethods keyboard-interactive"]
    else:
        lines += ["UsePAM no", "KbdInteractiveAuthentication no", "PasswordAuthentication yes",
                  "AuthenticationMethods password"]
    if spec.banner:
        banner = directory / "banner.txt"
        banner.write_text(spec.banner)
        lines.append(f"Banner {banner}")
    lines += [f"{k} {v}" for k, v in spec.algorithms.items()]
    config = directory / "sshd_config"
    config.write_text("\n".join(lines) + "\n")
    subprocess.run([SSHD, "-t", "-f", str(config)], check=True, capture_output=True)
    log = directory / "sshd.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=err)
    listening = f"Server listening on 127.0.0.1 port {port}".encode()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and proc.poll() is None:
        if listening in log.read_bytes():
            return proc
        time.sleep(0.05)
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    return None


def stop(server: Server, shell: ShellServer) -> None:
    if server.process is not None and server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(5)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
    shell.close()


def make_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="ibagent-interop-"))
    os.chmod(root, 0o755)  # the test user reaches the sockets inside
    return root


def remove_root(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)

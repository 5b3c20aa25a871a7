"""One lab device's CLI on stdin/stdout: the login shell behind a real ``sshd`` or ``telnetd``.

``python3 -m lab.replay_shell PROFILE [options]`` replays a lab profile (lab/data/devices) through
the same :class:`lab.cli.Session` the asyncssh lab uses, so the real servers of tests/interop/
answer exactly what the lab answers.  Use it as an sshd ``ForceCommand`` (an ``exec`` request's
command arrives in ``SSH_ORIGINAL_COMMAND``) or as ``telnetd --exec-login``.

Why a separate entry point: real servers prove interop (key exchange, ciphers, PAM,
keyboard-interactive) that the asyncssh lab cannot, and old gear behaves in ways a healthy lab
device does not.  The options reproduce those ways:

- ``--login``: the CLI asks ``Username:`` and ``Password:`` itself (IOS with ``login`` on the vty,
  AAA, or any telnet login); a wrong pair re-prompts, three tries, then the session ends.
- ``--motd TEXT``: a banner before anything else.
- ``--no-term-length``: ``terminal length 0`` is refused and long output pages with ``--More--``
  (space: next page, return: next line, anything else: stop).
- ``--authz-fail``: ``enable`` and every privileged command answer ``% Authorization failed.``
- ``--enable-tries N`` (with ``--enable-secret``): a wrong enable secret is asked again, as classic
  IOS does three times before ``% Bad secrets``.

Credentials for ``--login`` come from ``--username``/``--password`` or the lab's environment
variables (IBAGENT_LAB_USERNAME / IBAGENT_LAB_PASSWORD); test values only, never printed.

Run it with ``python3 -W ignore``: the ``lab`` package imports asyncssh, whose deprecation warnings
would otherwise reach the client through the pty as if the device printed them.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import termios
import tty

from .cli import Mode, Session
from .commands import Outcome, lookup
from .device import DeviceSpec, RunningDevice, default_credentials

PAGE_LINES = 24  # lines per page when paging is on (IOS's default terminal length)
MORE = b" --More-- "
# What IOS prints to erase the --More-- once a key was pressed.
_ERASE_MORE = b"\b" * len(MORE) + b" " * len(MORE) + b"\b" * len(MORE)
LOGIN_TRIES = 3
AUTHZ_FAILED = "% Authorization failed."


class _StdioChannel:
    """stdin/stdout as the byte channel ``cli.Session`` speaks."""

    def __init__(self, fd_in: int, fd_out: int) -> None:
        self._in = fd_in
        self._out = fd_out

    async def read(self) -> bytes:
        # A blocking read in a thread: stdin may be a pty, a pipe or a socket, all readable by os.read.
        try:
            return await asyncio.get_running_loop().run_in_executor(None, os.read, self._in, 4096)
        except OSError:
            return b""

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = os.write(self._out, view)
            except OSError:
                return  # the client went away
            view = view[n:]

    async def drain(self) -> None:
        return None

    def abort(self) -> None:
        os._exit(1)  # a crashing device: the connection just drops


class ReplaySession(Session):
    """``lab.cli.Session`` plus the behaviours of old or locked-down gear chosen on the command line."""

    def __init__(self, device: RunningDevice, channel, rng, *, paging: bool, authz_fail: bool,
                 enable_tries: int = 1) -> None:
        super().__init__(device, channel, rng)
        self.paging = paging
        self.authz_fail = authz_fail
        self.enable_tries = enable_tries

    async def _enable(self) -> bool:
        if self.enable_tries <= 1:
            return await super()._enable()
        # Classic IOS: a wrong enable secret asks 'Password:' again, then gives up with '% Bad secrets'.
        for _ in range(self.enable_tries):
            self._write("Password: ")
            secret = await self.read_line(echo=False)
            if secret is None:
                return False
            if secret == self.device.enable_password:
                self.mode = Mode.EXEC
                self._write_prompt()
                return True
        self._write("% Bad secrets\r\n\r\n")
        self._write_prompt()
        return True

    async def execute(self, line: str) -> bool:
        if self.mode is not Mode.CONFIG and line.strip() and not self.garbled:
            match = lookup(line, self._tables[self.mode])
            if match.outcome is Outcome.FOUND:
                key = match.command.key
                if self.paging and key == "terminal" and match.args[:2] == ("length", "0"):
                    # Old images and locked-down AAA profiles refuse it: the caret under 'length'.
                    column = len(self.prompt()) + line.find("length")
                    self._write(" " * column + "^\r\n" + self.dialect.invalid + "\r\n")
                    self._write_prompt()
                    return True
                if self.authz_fail and (key == "enable" or (match.command.output and key != "show version")):
                    self._write(AUTHZ_FAILED + "\r\n")
                    self._write_prompt()
                    return True
        return await super().execute(line)

    async def _emit(self, data: bytes) -> None:
        if not self.paging:
            await super()._emit(data)
            return
        lines = data.split(b"\n")  # the last piece is the prompt (or b"" after an exec command)
        budget, out = PAGE_LINES - 1, bytearray()
        for i, line in enumerate(lines[:-1]):
            out += line + b"\n"
            budget -= 1
            if budget == 0 and i < len(lines) - 2:
                self.channel.write(bytes(out) + MORE)
                out.clear()
                key = await self._key()
                self.channel.write(_ERASE_MORE)
                if key == b" ":
                    budget = PAGE_LINES - 1
                elif key in (b"\r", b"\n"):
                    budget = 1
                else:
                    break  # any other key ends the listing; the prompt still comes
        self.channel.write(bytes(out) + lines[-1])

    async def _key(self) -> bytes:
        """One keypress at the --More-- (a CR LF pair counts once)."""
        while not self._inbuf:
            if not await self._fill():
                return b"q"
        key = bytes([self._inbuf.pop(0)])
        if key == b"\r" and self._inbuf[:1] == b"\n":
            self._inbuf.pop(0)
        return key

    async def login(self, username: str, password: str, tries: int = LOGIN_TRIES) -> bool:
        """IOS's own vty login: ``Username:`` / ``Password:``; False after ``tries`` wrong pairs."""
        self._write("\r\nUser Access Verification\r\n\r\n")
        for _ in range(tries):
            self._write("Username: ")
            user = await self.read_line()
            if user is None:
                return False
            self._write("Password: ")
            secret = await self.read_line(echo=False)
            if secret is None:
                return False
            if user == username and secret == password:
                return True
            self._write("% Authentication failed\r\n\r\n")
        return False


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python3 -m lab.replay_shell",
        description="Replay one lab device profile's CLI on stdin/stdout (an sshd ForceCommand or a "
        "telnetd --exec-login program).",
    )
    p.add_argument("profile", help="lab profile name (a directory under lab/data/devices)")
    p.add_argument("--hostname", default="", help="the device's hostname in its prompt (default: the profile name)")
    p.add_argument("--seed", type=int, default=0, help="serial number seed (default 0)")
    p.add_argument("--index", type=int, default=0, help="serial number namespace (default 0)")
    p.add_argument("--login", action="store_true",
                   help="ask Username:/Password: inside the shell (3 tries), as IOS does with 'login' on the vty")
    p.add_argument("--username", default="", help="username for --login (default: $IBAGENT_LAB_USERNAME or labadmin)")
    p.add_argument("--password", default="",
                   help="password for --login (default: $IBAGENT_LAB_PASSWORD or the lab default); test values only")
    p.add_argument("--motd", default="", help="banner text printed before anything else ('\\n' for line breaks)")
    p.add_argument("--no-term-length", action="store_true",
                   help="refuse 'terminal length 0' with '%% Invalid input' and page long output with --More--")
    p.add_argument("--enable-tries", type=int, default=1, metavar="N",
                   help="ask the enable secret up to N times, then '%% Bad secrets' (classic IOS asks 3 times); "
                        "default 1: the lab's answer")
    p.add_argument("--enable-secret", default="",
                   help="the enable secret (default: $IBAGENT_LAB_ENABLE or the lab default); test values only")
    p.add_argument("--authz-fail", action="store_true",
                   help="answer '%% Authorization failed.' to enable and every privileged command")
    return p


async def _run(args: argparse.Namespace, fd_in: int, fd_out: int) -> int:
    spec = DeviceSpec(name=args.hostname or args.profile, profile=args.profile, seed=args.seed,
                      index=args.index, enable_password=args.enable_secret).resolved(args.index)
    device = RunningDevice(spec, "127.0.0.1", 0)
    session = ReplaySession(device, _StdioChannel(fd_in, fd_out), random.Random(args.seed),
                            paging=args.no_term_length, authz_fail=args.authz_fail,
                            enable_tries=max(1, args.enable_tries))
    command = os.environ.get("SSH_ORIGINAL_COMMAND")
    if command:  # an SSH exec request through ForceCommand: one command, no prompt
        return await session.run_exec(command)
    if args.motd:
        session._write(args.motd.replace("\\n", "\n").replace("\r\n", "\n").replace("\n", "\r\n") + "\r\n")
    if args.login:
        user, password, _ = default_credentials()
        if not await session.login(args.username or user, args.password or password):
            return 1
    await session.run_shell()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from .profiles import load

    try:
        load(args.profile)
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 2
    fd_in, fd_out = sys.stdin.fileno(), sys.stdout.fileno()
    saved = None
    if os.isatty(fd_in):
        # The CLI echoes and translates line endings itself, as a device does: the pty must not.
        saved = termios.tcgetattr(fd_in)
        tty.setraw(fd_in)
    try:
        return asyncio.run(_run(args, fd_in, fd_out))
    except KeyboardInterrupt:
        return 130
    finally:
        if saved is not None:
            termios.tcsetattr(fd_in, termios.TCSADRAIN, saved)


if __name__ == "__main__":
    sys.exit(main())

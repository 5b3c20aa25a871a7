"""SSH collector on asyncssh: one interactive shell per device, commands from platform data.

Why not netmiko on the hot path: netmiko is synchronous (one OS thread per device), its
session preparation sends several probe commands with fixed sleeps, and every read loop polls
with ``time.sleep``.  At thousands of devices that is thread and CPU bound; see
docs/ARCHITECTURE.md for the measurements.  This module does the same job on asyncio: it reads
until the device's own prompt (learned after login, like netmiko's base prompt) ends the
buffer, so no time is spent sleeping.  ``collectors.ssh_netmiko`` stays available behind the
same interface (``--ssh-driver netmiko``) for devices with quirks we have not met yet.
"""
from __future__ import annotations

import asyncio
import base64
import codecs
import re
import time

import asyncssh

from agent.core import hostkeys, platforms
from agent.core.hostkeys import HostKeySeen
from agent.core.models import Capture, Target
from agent.core.secret import reveal
from agent.core.ssh_algorithms import AlgorithmError, AlgorithmProfile
from collectors import ssh_algorithms
from collectors.base import PROMPT, CollectError, enable_refused, looks_like_noise
from collectors.ssh_algorithms import NegotiationFailed

_PASSWORD_PROMPT = re.compile(r"[Pp]assword:\s*$")
# The device's own login inside the shell (IOS with 'login' on the vty, AAA): asked after SSH login.
_LOGIN_PROMPT = re.compile(r"(?:[Uu]ser ?[Nn]ame|[Ll]ogin):\s*$")
# A pager waiting for a key ('terminal length 0' refused): IOS ' --More-- ', NX-OS/others '--More--'.
_MORE = re.compile(r"-+ ?[Mm]ore ?-+\s*$")
# The pager marker and the backspaces/blanks that erase it once a key was pressed.
_MORE_MARK = re.compile(r" ?-+ ?[Mm]ore ?-+ ?(?:\x08+ *\x08*)?")
_MAX_PAGES = 100_000
# Cap on what one command may print: a runaway device must not eat the agent's memory.
_MAX_OUTPUT = 16 * 1024 * 1024


class _Shell(asyncssh.SSHClientSession):
    """Accumulates channel data and wakes the reader when the expected tail arrives."""

    def __init__(self) -> None:
        self.buffer: list[str] = []
        self.size = 0
        self.chunks = 0  # data events so far: lets a read tell "slow" from "stuck"
        self.tail = ""  # last partial line, for prompt matching
        self.closed = False
        self.close_reason: str | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._matcher = None
        # The bytes as received (the channel has no encoding), kept for the capture's evidence;
        # the text the prompt logic and the parsers read is decoded from them here.  A byte that
        # is not UTF-8 (Latin-1 banners, line noise) becomes U+FFFD in the text only.
        self.raw: list[bytes] = []
        self.taken_raw = b""  # the bytes behind the text the last take() returned
        self._decode = codecs.getincrementaldecoder("utf-8")("replace").decode

    def data_received(self, data: bytes | str, datatype: asyncssh.DataType) -> None:
        if isinstance(data, bytes):
            self.raw.append(data)
            data = self._decode(data)
        self.buffer.append(data)
        self.size += len(data)
        self.chunks += 1
        nl = data.rfind("\n")
        self.tail = data[nl + 1 :] if nl >= 0 else self.tail + data
        if len(self.tail) > 512:
            self.tail = self.tail[-512:]
        if self._waiter and not self._waiter.done():
            if self._matcher(self.tail.replace("\r", "")) or self.size > _MAX_OUTPUT:
                self._waiter.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.close_reason = str(exc) if exc else "closed by peer"
        if self._waiter and not self._waiter.done():
            self._waiter.set_result(None)

    def eof_received(self) -> bool:
        return False

    def take(self) -> str:
        text = "".join(self.buffer)
        self.buffer.clear()
        self.taken_raw = b"".join(self.raw)
        self.raw.clear()
        self.size = 0
        # A stale prompt in the tail would end the next read before the device answered.
        self.tail = ""
        return text

    async def read_until(self, matcher, timeout: float) -> str:
        """Return everything up to and including a tail accepted by ``matcher``.

        ``timeout`` bounds silence, not the whole read: a device dribbling a long output
        slowly is fine, one that stops talking is not.  The scan's per-device deadline bounds
        the total.
        """
        if matcher(self.tail.replace("\r", "")):
            return self.take()
        if self.closed:
            raise CollectError("disconnect", f"session closed: {self.close_reason}")
        loop = asyncio.get_running_loop()
        self._waiter = loop.create_future()
        self._matcher = matcher
        try:
            while True:
                seen = self.chunks
                try:
                    await asyncio.wait_for(asyncio.shield(self._waiter), timeout)
                    break
                except asyncio.TimeoutError:
                    if self.chunks != seen and not looks_like_noise("".join(self.buffer[-64:])):
                        continue
                    pending = "".join(self.buffer)
                    if looks_like_noise(pending):
                        raise CollectError("garbage", "device printed unreadable output and no prompt") from None
                    raise CollectError("timeout", f"no prompt and no output for {timeout:g}s") from None
        finally:
            self._waiter = None
        if self.size > _MAX_OUTPUT:
            raise CollectError("garbage", f"output exceeded {_MAX_OUTPUT // 2**20} MiB without a prompt")
        if self.closed and not matcher(self.tail.replace("\r", "")):
            partial = "".join(self.buffer)
            if looks_like_noise(partial):
                raise CollectError("garbage", "device printed unreadable output, then closed the session")
            raise CollectError("disconnect", f"session closed mid-output after {len(partial)} characters")
        return self.take()


class _TextChannel:
    """A channel opened without an encoding, written to with text (UTF-8)."""

    __slots__ = ("_chan",)

    def __init__(self, chan) -> None:
        self._chan = chan

    def write(self, text: str) -> None:
        self._chan.write(text.encode("utf-8"))

    def __getattr__(self, name: str):
        return getattr(self._chan, name)


def _clean(raw: str, command: str, prompt_line: str) -> str:
    """Drop the echoed command and the trailing prompt; unify line endings. Nothing else changes."""
    text = raw.replace("\r\n", "\n").replace("\r", "")
    first_nl = text.find("\n")
    if first_nl >= 0 and command in text[:first_nl]:
        text = text[first_nl + 1 :]
    if text.endswith(prompt_line):
        text = text[: -len(prompt_line)]
    return text


class SshCollector:
    transport = "ssh"

    def __init__(
        self,
        *,
        connect_timeout: float = 15.0,
        command_timeout: float = 60.0,
        commands: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self._commands = commands or {}
        # device -> what its last session negotiated (ssh_algorithms.negotiated + driver, profile,
        # stepped_down); the scan takes it for the store.
        self.sessions: dict[str, dict[str, str]] = {}

    async def collect(self, target: Target, sink: list[Capture]) -> None:
        plat = platforms.get(target.platform)
        # The host key is checked inside connect(), during the key exchange (target.host_keys).
        conn = await connect_stepping_down(target, connect_timeout=self.connect_timeout, sessions=self.sessions)
        try:
            async with conn:
                await self._run_shell(conn, target, plat, sink)
        except (asyncssh.Error, ConnectionError) as exc:
            reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
            raise CollectError("disconnect", f"connection lost: {reason}") from None

    async def _run_shell(self, conn, target: Target, plat: platforms.Platform, sink: list[Capture]) -> None:
        chan, shell, prompt_line = await open_shell(
            conn, target, plat, connect_timeout=self.connect_timeout, command_timeout=self.command_timeout
        )

        await run_commands(chan, shell, target, plat, prompt_line, "ssh",
                           self._commands.get(target.platform, plat.ssh.commands), self.command_timeout, sink)
        chan.write("exit\n")
        chan.close()


async def run_commands(chan, shell: _Shell, target: Target, plat: platforms.Platform, prompt_line: str,
                       transport: str, commands, timeout: float, sink: list[Capture]) -> None:
    """At the privileged prompt: the platform's set-up commands, then ``commands``, each answer to the
    prompt (paged through) as a Capture in ``sink``; a refused required command ends the device.
    Shared by every CLI transport (SSH, telnet), which differ only in how they reach this prompt."""
    def at_prompt(tail: str, p=prompt_line) -> bool:
        return tail == p

    now = time.time()
    sink.append(Capture(target.name, target.platform, transport, PROMPT, prompt_line, now, now))
    for setup in plat.ssh.setup:
        chan.write(setup + "\n")
        await _read_paged(chan, shell, at_prompt, timeout)
    for command in commands:
        started = time.time()
        chan.write(command + "\n")
        try:
            out = await _read_paged(chan, shell, at_prompt, timeout)
        except CollectError as exc:
            partial = _clean(shell.take(), command, prompt_line)
            sink.append(Capture(target.name, target.platform, transport, command, partial, started, time.time(),
                                exc.message, exc.kind, raw=shell.taken_raw))
            raise
        text = _clean(out, command, prompt_line)
        refusal = platforms.refusal(text, plat.name)
        sink.append(Capture(target.name, target.platform, transport, command, text, started, time.time(),
                            f"device rejected the command: {refusal}" if refusal else None,
                            "command" if refusal else None, raw=shell.taken_raw))
        if refusal and command not in plat.ssh.optional:
            raise CollectError("command", f"{command!r} rejected: {refusal}")


async def _read_paged(chan, shell: _Shell, at_prompt, timeout: float) -> str:
    """One command's output up to the prompt, pressing space at each ``--More--`` (a device that
    refused 'terminal length 0' pages anyway).  The text has the pager marks removed; the raw bytes
    (``shell.taken_raw``) keep them, as the device sent them."""
    def done_or_more(tail: str) -> bool:
        return at_prompt(tail) or bool(_MORE.search(tail))

    parts: list[str] = []
    raws: list[bytes] = []
    total = 0
    for _ in range(_MAX_PAGES):
        try:
            out = await shell.read_until(done_or_more, timeout)
        except CollectError:
            # A failure mid-listing: the caller's take() gets every page read so far, in order.
            shell.buffer[:0] = parts
            shell.raw[:0] = raws
            raise
        raws.append(shell.taken_raw)
        parts.append(out)
        total += len(out)
        if total > _MAX_OUTPUT:
            # One command's budget holds across pages: a pager that never ends must not add
            # 16 MiB a page.  The pages read stay with the caller's take(), as for any failure.
            shell.buffer[:0] = parts
            shell.raw[:0] = raws
            raise CollectError("garbage", f"output exceeded {_MAX_OUTPUT // 2**20} MiB over {len(parts)} pages "
                                          "without a prompt")
        if at_prompt(out.replace("\r", "").rsplit("\n", 1)[-1]):
            shell.taken_raw = b"".join(raws)
            return _MORE_MARK.sub("", "".join(parts)) if len(parts) > 1 else out
        chan.write(" ")
    raise CollectError("garbage", f"more than {_MAX_PAGES} pages of output without a prompt")


# Login and shell set-up, shared with ``collectors.ssh_actions`` (the SLP offline workflow) so both
# speak to a device the same way and map failures to the same error kinds.


def _preferred(first: tuple[bytes, ...], defaults: list[bytes]) -> list[str]:
    """``first`` ahead of asyncssh's defaults: a preference order, not a restriction, so a device
    offering only older algorithms still negotiates."""
    ordered = [a for a in first if a in defaults] + [a for a in defaults if a not in first]
    return [a.decode() for a in ordered]  # asyncssh takes names as str


# Measured in bench/scan_fleet.py (py-spy): chacha20-poly1305 builds cipher objects per packet in
# Python and cost ~2.8 ms of CPU per device; AES-GCM runs in OpenSSL (~0.6 ms).  Cisco devices
# offer AES-GCM/CTR far more often than ML-KEM hybrids, and curve25519 is ~0.5 ms cheaper.
_ENCRYPTION = _preferred(
    (b"aes128-gcm@openssh.com", b"aes256-gcm@openssh.com"), asyncssh.encryption.get_default_encryption_algs()
)
_KEX = _preferred((b"curve25519-sha256", b"curve25519-sha256@libssh.org"), asyncssh.kex.get_default_kex_algs())


# Plain host-key algorithms only: a host certificate would be judged by asyncssh's CA lists, which
# are empty, instead of by the policy.
_HOST_KEY_ALGS = frozenset(a.decode() for a in asyncssh.public_key.get_public_key_algs())
_DEFAULT_HOST_KEY_ALGS = [a.decode() for a in asyncssh.public_key.get_default_public_key_algs()]


class _HostKeyCheck(asyncssh.SSHClient):
    """Judges the server's host key by ``target.host_keys`` (agent.core.hostkeys).

    asyncssh asks ``validate_host_public_key`` while it verifies the key exchange, before it
    sends a single authentication request, so a refused key means no username, password or
    keyboard-interactive answer ever left this process.  Every key goes through it: the trusted
    lists handed to asyncssh are empty on purpose, and certificates are not negotiated."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.seen: HostKeySeen | None = None
        self.conn = None
        self.password_sent = False  # keyboard-interactive: the password is offered once per connection
        self.kex: str | None = None  # the key exchange and host-key signature algorithm negotiated
        self.sig_alg: str | None = None
        policy = target.host_keys
        # Always asked (empty trusted lists), so the negotiated algorithms are learned; with no policy
        # (a collector used on its own) validate_host_public_key then accepts any key.
        self.known_hosts = lambda _h, _a, _p: ([], [], [])
        types = policy.key_types(target.port) if policy is not None else ()
        self.restricted = bool(types)
        self.algs = [a for a in hostkeys.algorithms(types) if a in _HOST_KEY_ALGS] if types else _DEFAULT_HOST_KEY_ALGS

    def connection_made(self, conn) -> None:
        self.conn = conn

    # Keyboard-interactive (TACACS/RADIUS-backed AAA) may ask several questions in one round, e.g.
    # 'Username:' (echoed) and 'Password:' (not echoed); asyncssh's own fallback answers only a
    # single password prompt.  Asked only after the host key was accepted.
    _SECRET_PROMPT = re.compile(r"pass(?:word|code| code)|secret", re.I)
    _USER_PROMPT = re.compile(r"user|login|name", re.I)

    def kbdint_auth_requested(self) -> str:
        return ""  # no submethods: let the server choose

    def kbdint_challenge_received(self, name: str, instructions: str, lang: str, prompts):
        cred = self.target.credential
        answers = []
        for prompt, echo in prompts:
            if not echo and self._SECRET_PROMPT.search(prompt):
                if self.password_sent:
                    return None  # asked again: the password was refused; never loop on it
                self.password_sent = True
                answers.append(reveal(cred.password))
            elif echo and self._USER_PROMPT.search(prompt):
                answers.append(cred.username)
            else:
                return None  # a question we have no answer for (a one-time token): give up this method
        return answers

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        # Asked inside the key exchange: the one moment asyncssh's kex object (its algorithm) exists.
        kex = getattr(self.conn, "_kex", None)
        self.kex = getattr(kex, "algorithm", b"").decode() or None
        self._watch_signature(key)
        if self.target.host_keys is None:
            return True
        blob = base64.b64encode(key.public_data).decode()
        self.seen = self.target.host_keys.verify(self.target.host, self.target.port, key.algorithm.decode(), blob,
                                                 at=time.time())
        return self.seen.ok

    def _watch_signature(self, key: asyncssh.SSHKey) -> None:
        """Learn the host-key signature algorithm (ssh-rsa vs rsa-sha2-*: the key type does not say)
        from the exchange-hash signature this very key object verifies next."""
        verify = key.verify

        def watched(data: bytes, sig: bytes) -> bool:
            self.sig_alg = ssh_algorithms.signature_algorithm(sig) or None
            return verify(data, sig)

        try:
            key.verify = watched
        except AttributeError:  # a key class with slots: the key type is then the best we know
            self.sig_alg = key.algorithm.decode()

    def refused(self, reason: str) -> CollectError:
        if self.seen is not None and not self.seen.ok:
            return CollectError("hostkey", self.seen.message())
        return CollectError("hostkey", f"host key not trusted: {reason}")


_DEFAULTS = {"kex": _KEX, "ciphers": _ENCRYPTION,
             "macs": [a.decode() for a in asyncssh.mac.get_default_mac_algs()]}


async def connect_stepping_down(target: Target, *, connect_timeout: float,
                                sessions: dict[str, dict[str, str]] | None = None) -> asyncssh.SSHClientConnection:
    """:func:`connect` with the target's algorithm profile, retried with wider ones after a
    negotiation failure when the inventory opted in (``data.ssh_step_down``).  Only a negotiation
    failure steps down: an auth, host-key or timeout failure ends the device as it is."""
    order = ssh_algorithms.profiles_to_try(target.options)
    first_error: NegotiationFailed | None = None
    for profile in order:
        session: dict[str, str] = {}
        try:
            conn = await connect(target, connect_timeout=connect_timeout, profile=profile, session=session)
        except NegotiationFailed as exc:
            first_error = first_error or exc
            continue
        if sessions is not None:
            session["stepped_down_from"] = order[0].name if profile is not order[0] else ""
            sessions[target.name] = session
        return conn
    raise ssh_algorithms.step_down_failed(order, first_error)


async def connect(target: Target, *, connect_timeout: float, profile: AlgorithmProfile | None = None,
                  session: dict[str, str] | None = None) -> asyncssh.SSHClientConnection:
    """Log in to ``target``, its host key checked first; every failure is a :class:`CollectError`.

    ``profile``: the algorithms to offer (default: the target's ``data.ssh_algorithms``);
    ``session`` is filled with what was negotiated."""
    cred = target.credential
    if cred is None:
        raise CollectError("config", "no SSH credentials in the inventory")
    if profile is None:
        try:
            profile = ssh_algorithms.algs.parse(target.options.get("ssh_algorithms"))
        except AlgorithmError as exc:
            raise CollectError("config", str(exc)) from None
    check = _HostKeyCheck(target)
    offer = ssh_algorithms.connect_options(profile, {**_DEFAULTS, "hostkey": check.algs},
                                           check.algs if check.restricted else None)
    try:
        conn = await asyncio.wait_for(
            asyncssh.connect(
                target.host,
                target.port,
                username=cred.username,
                password=reveal(cred.password),  # the one place it leaves its Secret
                known_hosts=check.known_hosts,
                client_factory=lambda: check,
                # None, not (): () makes asyncssh probe and load ~/.ssh/id_* and the agent's keys on
                # every connection (in a thread), for a public-key auth never offered here.
                client_keys=None,
                agent_path=None,
                preferred_auth=("keyboard-interactive", "password"),
                login_timeout=connect_timeout,
                keepalive_interval=0,
                **offer,
            ),
            connect_timeout,
        )
        if session is not None:
            session.update(ssh_algorithms.negotiated(conn, check.kex, check.sig_alg), driver="asyncssh",
                           profile=profile.name)
        return conn
    except asyncssh.PermissionDenied:
        raise CollectError("auth", "login refused (permission denied)") from None
    except asyncio.TimeoutError:
        raise CollectError("timeout", f"no SSH login within {connect_timeout:g}s", transient=True) from None
    except asyncssh.HostKeyNotVerifiable as exc:
        raise check.refused(exc.reason) from None
    except asyncssh.Error as exc:
        # KeyExchangeFailed on our side, or the server's own disconnect for the same reason when
        # it gives up first (which side speaks first is a race): both mean the server has none of
        # the key types trusted for this host, the only types we asked for.
        if check.restricted and "host key" in (exc.reason or "").lower():
            seen = target.host_keys.no_common_type(target.host, target.port, at=time.time())
            raise CollectError("hostkey", seen.message()) from None
        if check.seen is None and ssh_algorithms.is_negotiation_failure(exc.reason or ""):
            # No kex, cipher or MAC in common (a host-key mismatch was caught just above): old gear.
            raise NegotiationFailed(exc.reason, profile, "asyncssh") from None
        mismatch = ssh_algorithms.kexinit_mismatch(getattr(check.conn, "_server_kexinit", None), offer) \
            if check.seen is None else None
        if mismatch:
            # The server hung up first, but its KEXINIT shows why: nothing in common but maybe the key.
            raise NegotiationFailed(mismatch, profile, "asyncssh") from None
        if check.restricted and check.seen is None:
            # The server dropped the connection inside the key exchange, before showing any key,
            # after we asked only for the trusted key type(s): the same refusal when its disconnect
            # notice lost the race with the close.  Not retried: a second try would only hand a
            # possible impostor another handshake.
            seen = target.host_keys.no_common_type(target.host, target.port, at=time.time())
            raise CollectError("hostkey", f"{seen.message()} (the server closed the key exchange: {exc.reason})") from None
        raise CollectError("connect", f"SSH handshake failed: {exc.reason}", transient=True) from None
    except OSError as exc:
        raise CollectError("connect", f"cannot connect: {exc.strerror or exc}", transient=True) from None


async def open_shell(
    conn, target: Target, plat: platforms.Platform, *, connect_timeout: float, command_timeout: float
) -> tuple[asyncssh.SSHClientChannel, _Shell, str]:
    """(channel, shell, prompt line) of an interactive shell at the privileged prompt."""
    # encoding=None: the channel hands over bytes, which _Shell keeps as received and decodes
    # (a byte that is not UTF-8 becomes U+FFFD, which the noise check counts); writes are encoded
    # by _TextChannel.
    chan, shell = await conn.create_session(_Shell, term_type="vt100", term_size=(511, 24), encoding=None)
    chan = _TextChannel(chan)
    any_prompt = plat.ssh.prompt.match
    raw = await shell.read_until(lambda t: bool(any_prompt(t) or _LOGIN_PROMPT.search(t)), connect_timeout)
    if _LOGIN_PROMPT.search(raw.replace("\r", "").rsplit("\n", 1)[-1]):
        raw = await _shell_login(chan, shell, target, any_prompt, connect_timeout)
    prompt_line = raw.replace("\r", "").rsplit("\n", 1)[-1]
    if prompt_line.rstrip().endswith(">") and plat.ssh.enable in ("always", "when_user_exec"):
        prompt_line = await _enable(chan, shell, target, any_prompt, command_timeout)
    return chan, shell, prompt_line


async def _shell_login(chan, shell: _Shell, target: Target, any_prompt, timeout: float) -> str:
    """Answer the device's own ``Username:`` / ``Password:`` with the target's credentials, once
    (a second try would only count against an AAA lockout); the text up to the prompt."""
    cred = target.credential
    chan.write(cred.username + "\n")
    await shell.read_until(lambda t: bool(_PASSWORD_PROMPT.search(t)), timeout)
    chan.write(reveal(cred.password) + "\n")
    text = await shell.read_until(lambda t: bool(any_prompt(t) or _LOGIN_PROMPT.search(t)), timeout)
    if _LOGIN_PROMPT.search(text.replace("\r", "").rsplit("\n", 1)[-1]):
        raise CollectError("auth", "login refused by the device's own Username:/Password: prompt")
    return text


async def _enable(chan, shell: _Shell, target: Target, any_prompt, command_timeout: float) -> str:
    chan.write("enable\n")
    shell_text = await shell.read_until(lambda t: bool(_PASSWORD_PROMPT.search(t) or any_prompt(t)), command_timeout)
    if _PASSWORD_PROMPT.search(shell_text.replace("\r", "").rsplit("\n", 1)[-1]):
        secret = target.credential.enable or target.credential.password
        chan.write(reveal(secret) + "\n")
        asked_again = lambda t: bool(_PASSWORD_PROMPT.search(t) or any_prompt(t))  # noqa: E731
        shell_text = await shell.read_until(asked_again, command_timeout)
        for _ in range(5):
            # Classic IOS asks again after a wrong secret ('Password:' up to three times, then
            # '% Bad secrets'): the secret is not sent twice; empty answers use up the tries.
            if not _PASSWORD_PROMPT.search(shell_text.replace("\r", "").rsplit("\n", 1)[-1]):
                break
            chan.write("\n")
            shell_text = await shell.read_until(asked_again, command_timeout)
    prompt_line = shell_text.replace("\r", "").rsplit("\n", 1)[-1]
    if not prompt_line.rstrip().endswith("#"):
        raise CollectError("auth", enable_refused(target))
    return prompt_line


"""SSH collector on netmiko, behind the same interface as ``collectors.ssh``.

Kept for compatibility: netmiko knows prompt and paging quirks of many releases, so when the
asyncio driver meets a device it cannot talk to, ``--ssh-driver netmiko`` is the escape hatch.
netmiko is blocking, so each device runs in a worker thread of a pool sized to the scan's
worker count.  Commands and their optional/required status come from the same platform data.

Evidence: netmiko decodes what it reads with ``errors="ignore"`` and normalises line ends, so its
text is not what the device sent.  Once logged in (and in enable mode), the channel's ``recv`` is
wrapped by a :class:`collectors.recv_recorder.RecvRecorder`, and each Capture's ``raw`` holds the
bytes received while that request ran, as they came: for a command, the prompt netmiko asks for
again before sending it, the command's echo, the output and the prompt after it; for a failed one,
what arrived before the failure.  ``output`` stays netmiko's text, the text that is parsed.  The
store's sha256 is over ``raw``.
"""
from __future__ import annotations

import asyncio
import re
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

from agent.core import platforms
from agent.core.models import Capture, Target
from agent.core import hostkeys
from agent.core.secret import reveal
from collectors import ssh_algorithms
from collectors.base import PROMPT, CollectError, enable_refused, looks_like_noise
from collectors.recv_recorder import OutputTooLarge, RecvRecorder
from collectors.ssh_algorithms import NegotiationFailed


def _in_enable(exc: BaseException) -> bool:
    """Was ``exc`` raised inside netmiko's ``enable()`` (seen from the frames it passed through)?"""
    return any(frame.name == "enable" for frame in traceback.extract_tb(exc.__traceback__))


def _open(conn) -> None:
    """Connect a ConnectHandler made with ``auto_connect=False``, cleaning up on failure as netmiko's
    own auto-connect does (its secrets filter must not stay on netmiko's logger)."""
    try:
        conn._open()
    except Exception:
        from netmiko import log

        try:
            log.removeFilter(conn._secrets_filter)
        except AttributeError:
            pass
        # A failure after the SSH session was up (the device's own login refused us, a session
        # set-up that timed out) leaves paramiko's transport and its thread running: close it.
        client = getattr(conn, "remote_conn_pre", None)
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing a broken session must not mask the real error
                pass
        raise


class NetmikoCollector:
    transport = "ssh"

    def __init__(self, *, connect_timeout: float = 15.0, command_timeout: float = 60.0, workers: int = 50) -> None:
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="netmiko")
        # device -> what its last session negotiated (as collectors.ssh.SshCollector.sessions)
        self.sessions: dict[str, dict[str, str]] = {}

    async def collect(self, target: Target, sink: list[Capture]) -> None:
        loop = asyncio.get_running_loop()
        # The thread cannot be cancelled; it ends by its own timeouts.  Captures reach ``sink``
        # as they finish, so a deadline hit still keeps what was read.
        await loop.run_in_executor(self._pool, self._collect_blocking, target, sink)

    def _collect_blocking(self, target: Target, sink: list[Capture]) -> None:
        # netmiko is imported inside _connect: it pulls in paramiko and friends (~0.3 s) that a
        # scan on the default driver never needs.
        plat = platforms.get(target.platform)
        cred = target.credential
        if cred is None:
            raise CollectError("config", "no SSH credentials in the inventory")
        order = ssh_algorithms.profiles_to_try(target.options)
        first_error: NegotiationFailed | None = None
        for profile in order:
            try:
                conn = self._connect(target, plat, profile)
            except NegotiationFailed as exc:
                first_error = first_error or exc
                continue
            session = paramiko_algorithms_negotiated(conn)
            session.update(driver="netmiko", profile=profile.name,
                           stepped_down_from=order[0].name if profile is not order[0] else "")
            self.sessions[target.name] = session
            break
        else:
            raise ssh_algorithms.step_down_failed(order, first_error)
        self._run(conn, target, plat, sink)

    def _connect(self, target: Target, plat: platforms.Platform, profile):
        """Log in with one algorithm profile; every failure is a CollectError (a NegotiationFailed
        when the device and the profile have no algorithm in common)."""
        from netmiko import ConnectHandler
        from netmiko.exceptions import (
            NetmikoAuthenticationException,
            NetmikoTimeoutException,
            ReadException,
            ReadTimeout,
        )
        from paramiko.ssh_exception import SSHException

        from collectors import paramiko_algorithms
        from collectors.paramiko_keys import ParamikoHostKeyCheck

        cred = target.credential
        check = ParamikoHostKeyCheck(target)
        trusted = hostkeys.algorithms(check.types) if check.types else None
        params = dict(
            device_type=plat.netmiko_device_type,
            host=target.host,
            port=target.port,
            username=cred.username,
            password=reveal(cred.password),  # revealed here, at connect time, nowhere else
            secret=reveal(cred.enable or cred.password),
            conn_timeout=self.connect_timeout,
            auth_timeout=self.connect_timeout,
            banner_timeout=self.connect_timeout,
            read_timeout_override=self.command_timeout,
            fast_cli=True,
            use_keys=False,
            allow_agent=False,
            ssh_config_file=None,
            # Never ~/.ssh/known_hosts nor netmiko's auto-add: target.host_keys decides (check), in
            # paramiko's connect, before it authenticates; key types not trusted are not negotiated.
            system_host_keys=False,
            alt_host_keys=False,
            # The profile's exact offer (collectors.paramiko_algorithms), policy exclusions kept.
            disabled_algorithms=paramiko_algorithms.choice(profile, check.disabled_algorithms(), trusted),
            auto_connect=False,  # connected below, once the policy is in place
        )
        conn = ConnectHandler(**params)  # nothing is sent yet
        conn.key_policy = check.key_policy()
        # IOS with 'login' on the vty (AAA) asks Username:/Password: inside the shell, after SSH
        # authentication: answer it before netmiko looks for a prompt.
        conn.special_login_handler = lambda delay_factor=1.0: _in_shell_login(conn, self.connect_timeout)
        _tolerate_paging(conn, plat)
        try:
            try:
                _open(conn)
            except Exception as exc:
                # netmiko reports any SSHException as a timeout: a refused host key says what it is.
                refused = check.refusal(exc)
                if refused is not None:
                    raise refused from None
                if ssh_algorithms.is_negotiation_failure(str(exc)):
                    detail = next((ln.strip() for ln in str(exc).splitlines() if ssh_algorithms.is_negotiation_failure(ln)),
                                  str(exc).strip())
                    raise NegotiationFailed(detail, profile, "netmiko") from None
                raise
        except NetmikoAuthenticationException:
            raise CollectError("auth", "login refused (authentication failed)") from None
        except NetmikoTimeoutException:
            raise CollectError("timeout", f"no SSH login within {self.connect_timeout:g}s", transient=True) from None
        except (ReadTimeout, ReadException, ValueError) as exc:
            # Platforms that enter enable while connecting (netmiko's ASA driver, given a secret) fail
            # here when enable is refused: a wait for '#' that never comes, not a slow device.
            if _in_enable(exc):
                raise CollectError("auth", enable_refused(target)) from None
            if isinstance(exc, ValueError):
                raise
            raise CollectError("timeout", f"session setup did not complete: {type(exc).__name__}") from None
        except (SSHException, EOFError, OSError) as exc:
            raise CollectError("connect", f"SSH connection failed: {exc}", transient=True) from None
        return conn

    def _run(self, conn, target: Target, plat: platforms.Platform, sink: list[Capture]) -> None:
        from netmiko.exceptions import ReadException, ReadTimeout
        from paramiko.ssh_exception import SSHException

        try:
            if plat.ssh.enable == "always" or (plat.ssh.enable == "when_user_exec" and not conn.check_enable_mode()):
                try:
                    conn.enable()
                except (ValueError, ReadTimeout):
                    raise CollectError("auth", enable_refused(target)) from None
            # From here on every byte read is kept (the module docstring says why); what login and
            # enable read is not a capture's.
            recorder = RecvRecorder(conn.remote_conn)
            started = time.time()
            try:
                prompt = conn.find_prompt()
            except OutputTooLarge as exc:
                sink.append(Capture(target.name, target.platform, "ssh", PROMPT, "", started, time.time(), str(exc),
                                    "garbage", raw=recorder.take()))
                raise CollectError("garbage", f"prompt: {exc}") from None
            sink.append(Capture(target.name, target.platform, "ssh", PROMPT, prompt, started, time.time(),
                                raw=recorder.take()))
            for command in plat.ssh.commands:
                started = time.time()
                try:
                    out = conn.send_command(command, read_timeout=self.command_timeout)
                except ReadTimeout:
                    kind = "garbage" if looks_like_noise(conn.read_channel()) else "timeout"
                    sink.append(Capture(target.name, target.platform, "ssh", command, "", started, time.time(), "no prompt", kind,
                                        raw=recorder.take()))
                    raise CollectError(kind, f"{command!r}: no prompt within {self.command_timeout:g}s") from None
                except OutputTooLarge as exc:
                    sink.append(Capture(target.name, target.platform, "ssh", command, "", started, time.time(), str(exc),
                                        "garbage", raw=recorder.take()))
                    raise CollectError("garbage", f"{command!r}: {exc}") from None
                except (OSError, EOFError, SSHException, ReadException) as exc:  # ReadException: channel closed
                    sink.append(Capture(target.name, target.platform, "ssh", command, "", started, time.time(),
                                        f"connection lost: {exc}", "disconnect", raw=recorder.take()))
                    raise CollectError("disconnect", f"connection lost during {command!r}: {exc}") from None
                refusal = platforms.refusal(out, plat.name)
                sink.append(
                    Capture(
                        target.name, target.platform, "ssh", command, out, started, time.time(),
                        f"device rejected the command: {refusal}" if refusal else None,
                        "command" if refusal else None,
                        raw=recorder.take(),
                    )
                )
                if refusal and command not in plat.ssh.optional:
                    raise CollectError("command", f"{command!r} rejected: {refusal}")
        finally:
            try:
                conn.disconnect()
            except Exception:  # noqa: BLE001 - closing a dead session must not mask the real error
                pass


def paramiko_algorithms_negotiated(conn) -> dict[str, str]:
    from collectors import paramiko_algorithms

    client = getattr(conn, "remote_conn_pre", None)
    return paramiko_algorithms.negotiated(client.get_transport() if client is not None else None)


_LOGIN_PROMPT = r"(?:[Uu]ser ?[Nn]ame|[Ll]ogin):\s*$"
# The pager (as collectors.ssh): a device that refused 'terminal length 0' pages anyway.
_MORE = re.compile(r"-+ ?[Mm]ore ?-+\s*$")
_MORE_MARK = re.compile(r" ?-+ ?[Mm]ore ?-+ ?(?:\x08+ *\x08*)?")
_MAX_PAGES = 100_000


def _in_shell_login(conn, timeout: float) -> None:
    """Answer a ``Username:`` / ``Password:`` the device's shell asks after SSH login (AAA with
    ``login`` on the vty), once: a second try would only count against an AAA lockout.  A device
    that shows its prompt straight away is left alone."""
    output = conn.read_until_pattern(pattern=rf"(?:{_LOGIN_PROMPT}|[>#]\s*$)", read_timeout=timeout)
    if not re.search(_LOGIN_PROMPT, output):
        # Hand what was read back to netmiko (its read buffer), which looks for the prompt next.
        conn._read_buffer = output + conn._read_buffer
        return
    conn.write_channel(conn.username + conn.RETURN)
    conn.read_until_pattern(pattern=r"[Pp]assword:\s*$", read_timeout=timeout)
    conn.write_channel(conn.password + conn.RETURN)
    output = conn.read_until_pattern(pattern=rf"(?:{_LOGIN_PROMPT}|[>#]\s*$)", read_timeout=timeout)
    if re.search(_LOGIN_PROMPT, output):
        raise CollectError("auth", "login refused by the device's own Username:/Password: prompt")
    conn._read_buffer = output + conn._read_buffer


def _tolerate_paging(conn, plat: platforms.Platform) -> None:
    """If the device refuses netmiko's 'terminal length 0', page through each command's
    ``--More--`` instead of timing out on it (session set-up: wraps this connection's methods)."""
    state = {"paging": False}
    disable_paging, send_command = conn.disable_paging, conn.send_command

    def disable_paging_checked(*args, **kwargs):
        out = disable_paging(*args, **kwargs)
        # netmiko reads only up to the command's echo: look at its answer too, to the prompt, then
        # hand it back (netmiko's read buffer) to the session set-up that reads it next.
        answer = out
        if not re.search(r"[>#]\s*$", out):
            rest = conn.read_until_pattern(pattern=r"[>#]\s*$", read_timeout=conn.read_timeout_override or 10.0)
            conn._read_buffer = rest + conn._read_buffer
            answer += rest
        answer = answer.replace("\r", "").split("\n", 1)[-1]
        state["paging"] = platforms.refusal(answer, plat.name) is not None
        return out

    def send_command_paged(command_string, **kwargs):
        if not state["paging"]:
            return send_command(command_string, **kwargs)
        timeout = kwargs.get("read_timeout") or 10.0
        pattern = rf"(?:{re.escape(conn.base_prompt)}[>#]\s*$|-+ ?[Mm]ore ?-+\s*$)"
        parts = [send_command(command_string, expect_string=pattern, strip_prompt=False, read_timeout=timeout)]
        for _ in range(_MAX_PAGES):
            if not _MORE.search(parts[-1]):
                break
            conn.write_channel(" ")
            parts.append(conn.read_until_pattern(pattern=pattern, read_timeout=timeout))
        text = _MORE_MARK.sub("", "".join(parts)).replace("\r\n", "\n").replace("\r", "").replace("\x08", "")
        head, _, last = text.rpartition("\n")
        return head if conn.base_prompt in last else text

    conn.disable_paging = disable_paging_checked
    conn.send_command = send_command_paged

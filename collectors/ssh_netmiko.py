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
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

from agent.core import platforms
from agent.core.models import Capture, Target
from agent.core.secret import reveal
from collectors.base import PROMPT, CollectError, enable_refused, looks_like_noise
from collectors.recv_recorder import OutputTooLarge, RecvRecorder


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
        raise


class NetmikoCollector:
    transport = "ssh"

    def __init__(self, *, connect_timeout: float = 15.0, command_timeout: float = 60.0, workers: int = 50) -> None:
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="netmiko")

    async def collect(self, target: Target, sink: list[Capture]) -> None:
        loop = asyncio.get_running_loop()
        # The thread cannot be cancelled; it ends by its own timeouts.  Captures reach ``sink``
        # as they finish, so a deadline hit still keeps what was read.
        await loop.run_in_executor(self._pool, self._collect_blocking, target, sink)

    def _collect_blocking(self, target: Target, sink: list[Capture]) -> None:
        # Imported here: netmiko pulls in paramiko and friends (~0.3 s) that a scan on the
        # default driver never needs.
        from netmiko import ConnectHandler
        from netmiko.exceptions import (
            NetmikoAuthenticationException,
            NetmikoTimeoutException,
            ReadException,
            ReadTimeout,
        )
        from paramiko.ssh_exception import SSHException

        from collectors.paramiko_keys import ParamikoHostKeyCheck

        plat = platforms.get(target.platform)
        cred = target.credential
        if cred is None:
            raise CollectError("config", "no SSH credentials in the inventory")
        check = ParamikoHostKeyCheck(target)
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
            disabled_algorithms=check.disabled_algorithms(),
            auto_connect=False,  # connected below, once the policy is in place
        )
        conn = ConnectHandler(**params)  # nothing is sent yet
        conn.key_policy = check.key_policy()
        try:
            try:
                _open(conn)
            except Exception as exc:
                # netmiko reports any SSHException as a timeout: a refused host key says what it is.
                refused = check.refusal(exc)
                if refused is not None:
                    raise refused from None
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

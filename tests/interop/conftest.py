"""Real OpenSSH servers for the interop tests: started once, shared by every test of this directory,
stopped after its last one (module scope: one module uses them; their threads must not outlive it, as other
tests fork only when the process has no other thread).

Skipped as a whole (with the reason) when sshd is missing or the tests do not run as root.
"""
from __future__ import annotations

import pytest

import sshd_servers as S

# Server name -> what it reproduces.  The lab profile is the same classic IOS switch everywhere
# (lands at '>', needs enable): the oldest gear is where these behaviours live.
SPECS = [
    S.ServerSpec("modern", "c2960x_stack2"),
    S.ServerSpec("legacy", "c2960x_stack2", S.LEGACY),
    S.ServerSpec("ancient", "c2960x_stack2", S.ANCIENT),
    S.ServerSpec("ancient_3des", "c2960x_stack2", S.ANCIENT_3DES),
    S.ServerSpec("kbdint", "c2960x_stack2", auth="kbdint"),
    S.ServerSpec("banner", "c2960x_stack2", banner="*** Authorized access only ***\nViolators will be prosecuted\n",
                 shell_args=("--motd", "C2960X lab switch\\nMaintenance window: Sundays")),
    S.ServerSpec("login", "c2960x_stack2",
                 shell_args=("--login", "--username", S.USER, "--password", S.PASSWORD)),
    # The shell's own login refuses the SSH credentials (AAA with another user database).
    S.ServerSpec("login_refused", "c2960x_stack2",
                 shell_args=("--login", "--username", S.USER, "--password", "another-Secret-7")),
    # Classic IOS re-asks a wrong enable secret three times, then '% Bad secrets'.
    S.ServerSpec("enable_retries", "c2960x_stack2", shell_args=("--enable-tries", "3", "--enable-secret", "not-ours-1")),
    S.ServerSpec("noterm", "c2960x_stack2", shell_args=("--no-term-length",)),
    S.ServerSpec("authz", "c2960x_stack2", shell_args=("--authz-fail",)),
    # An XE box that lands at '#' and is refused its privileged commands by AAA.
    S.ServerSpec("authz_exec", "c9300_stack3", shell_args=("--authz-fail",)),
]


@pytest.fixture(scope="module")
def sshd_servers():
    reason = S.skip_reason()
    if reason:
        pytest.skip(reason)
    S.ensure_user()
    root = S.make_root()
    started: dict[str, tuple[S.Server, S.ShellServer]] = {}
    try:
        for spec in SPECS:
            started[spec.name] = S.start(spec, root)
        yield {name: server for name, (server, _) in started.items()}
    finally:
        for server, shell in started.values():
            S.stop(server, shell)
        S.remove_root(root)
        _end_netmiko_pools()


def _end_netmiko_pools() -> None:
    """The scans made here with --ssh-driver netmiko leave their collectors' worker threads behind
    (a CLI process just exits); end them, so later tests see a process without extra threads."""
    import gc

    from collectors.ssh_netmiko import NetmikoCollector

    gc.collect()
    for obj in gc.get_objects():
        if isinstance(obj, NetmikoCollector):
            obj._pool.shutdown(wait=True)

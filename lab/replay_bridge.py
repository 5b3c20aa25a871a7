"""Relay a login session to a replay shell served on a Unix socket (standard library only).

Why: a real ``sshd`` runs its ForceCommand as the test user, who may not be able to run the
project's Python (pyenv under a home directory only root may enter, a venv elsewhere).  This
script runs under any system ``python3``: it puts the session's pty in raw mode (the device CLI
echoes by itself) and copies bytes both ways between the session and ``SOCKET``, where the test
process serves ``python3 -m lab.replay_shell`` (tests/interop/sshd_servers.py).

    ForceCommand /usr/bin/python3 /path/to/lab/replay_bridge.py /path/to/replay.sock
"""
import os
import select
import socket
import sys


def main(path: str) -> int:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    fd_in, fd_out = sys.stdin.fileno(), sys.stdout.fileno()
    saved = None
    if os.isatty(fd_in):
        import termios
        import tty

        saved = termios.tcgetattr(fd_in)
        tty.setraw(fd_in)
    try:
        open_in = True
        while True:
            ready, _, _ = select.select([sock] + ([fd_in] if open_in else []), [], [])
            if sock in ready:
                data = sock.recv(65536)
                if not data:
                    return 0  # the shell ended the session
                view = memoryview(data)
                while view:
                    view = view[os.write(fd_out, view):]
            if open_in and fd_in in ready:
                data = os.read(fd_in, 65536)
                if data:
                    sock.sendall(data)
                else:
                    open_in = False
                    sock.shutdown(socket.SHUT_WR)
    except OSError:
        return 1
    finally:
        if saved is not None:
            termios.tcsetattr(fd_in, termios.TCSADRAIN, saved)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

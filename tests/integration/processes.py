"""Servers the integration tests start on loopback: a free port and a clean stop by PID."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess


def stop_process_group(process: subprocess.Popen) -> None:
    """Stop a server started in its own session, with its workers, by its PID."""
    for sig, wait_s in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):  # already gone
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])

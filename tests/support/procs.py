"""Stopping a command a test started: as a person would (Ctrl-C), or as a service
manager would (SIGTERM); then force."""

from __future__ import annotations

import signal
import subprocess


def interrupt(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    """SIGINT if still running; SIGKILL when it has not ended within ``timeout``."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def terminate(proc: subprocess.Popen | None, timeout: float = 5.0) -> None:
    """SIGTERM if still running; SIGKILL when it has not ended within ``timeout``."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

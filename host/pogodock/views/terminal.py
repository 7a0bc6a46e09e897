"""Leaving when the terminal goes away: a dashboard must not spin on a dead tty."""

from __future__ import annotations

import os
import termios
import threading
import time


def terminal_alive(fd: int) -> bool:
    """False once the terminal on ``fd`` has hung up (tcgetattr fails with EIO)."""
    try:
        termios.tcgetattr(fd)
    except (termios.error, OSError):
        return False
    return True


def exit_on_hangup(fd: int, period_s: float = 1.0) -> threading.Thread:
    """Ends the process (code 129, as SIGHUP would) once the terminal on ``fd`` is gone.

    A closed terminal does not always send SIGHUP (a killed tmux pane, for one);
    Textual's input thread then spins on end-of-file and its event loop blocks
    writing to the dead terminal, so no cleanup in it could run. Nothing is lost
    by leaving at once: the recorder writes whole lines, the OS closes the port,
    and an MQTT broker publishes the last will.
    """

    def watch() -> None:
        while terminal_alive(fd):
            time.sleep(period_s)
        os._exit(129)

    thread = threading.Thread(target=watch, name="hangup-watch", daemon=True)
    thread.start()
    return thread

"""Finding docks and explaining ports that cannot be opened.

A dock running MicroPython shows up as USB VID:PID 2E8A:0005 (every RP2040
board running MicroPython has that id, so the reader confirms a dock by its
``hello``). ``holders`` finds the processes that have a serial device open, by
a scan of ``/proc/*/fd`` (what ``fuser`` does), for a busy-port message that
names the culprit.
"""

from __future__ import annotations

import errno
import os
from dataclasses import asdict, dataclass

from serial.tools import list_ports

DOCK_VID = 0x2E8A
DOCK_PID = 0x0005


class PortError(Exception):
    """A port that cannot be used, with a message for people."""


@dataclass
class PortInfo:
    device: str
    description: str
    vid: int | None
    pid: int | None
    serial_number: str | None
    manufacturer: str | None
    location: str | None
    likely_dock: bool

    def usb_id(self) -> str:
        if self.vid is None or self.pid is None:
            return ""
        return "%04x:%04x" % (self.vid, self.pid)

    def as_json(self) -> dict[str, object]:
        d = asdict(self)
        d["usb_id"] = self.usb_id() or None
        return d


def is_dock_usb(vid: int | None, pid: int | None) -> bool:
    return vid == DOCK_VID and pid == DOCK_PID


def list_all() -> list[PortInfo]:
    """Every serial port pyserial sees, likely docks first."""
    out = []
    for p in list_ports.comports():
        out.append(
            PortInfo(
                device=p.device,
                description=p.description if p.description != "n/a" else "",
                vid=p.vid,
                pid=p.pid,
                serial_number=p.serial_number,
                manufacturer=p.manufacturer,
                location=p.location,
                likely_dock=is_dock_usb(p.vid, p.pid),
            )
        )
    out.sort(key=lambda p: (not p.likely_dock, p.device))
    return out


def find_docks() -> list[str]:
    """Device paths of attached ports with the dock's USB id."""
    return [p.device for p in list_all() if p.likely_dock]


@dataclass
class Holder:
    pid: int
    command: str


def holders(path: str) -> list[Holder]:
    """Processes (other than this one) that have ``path`` open; empty when unknown."""
    try:
        target = os.path.realpath(path)
        st = os.stat(target)
    except OSError:
        return []
    me = os.getpid()
    found: list[Holder] = []
    try:
        pids = [int(d) for d in os.listdir("/proc") if d.isdigit()]
    except OSError:
        return []
    for pid in pids:
        if pid == me:
            continue
        fd_dir = "/proc/%d/fd" % pid
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink("%s/%s" % (fd_dir, fd))
            except OSError:
                continue
            if link != target:
                try:
                    if not link.startswith("/dev/"):
                        continue
                    s2 = os.stat(link)
                    if (s2.st_rdev, s2.st_ino) != (st.st_rdev, st.st_ino):
                        continue
                except OSError:
                    continue
            found.append(Holder(pid, _command(pid)))
            break
    return found


def _command(pid: int) -> str:
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            parts = [p.decode(errors="replace") for p in f.read().split(b"\0") if p]
    except OSError:
        return "?"
    if not parts:
        return "?"
    # Show the program and its first arguments: "python -m mpremote" says more than "python".
    text = " ".join([os.path.basename(parts[0]), *parts[1:4]])
    text = " ".join(text.split())  # one line, whatever the arguments held
    return text if len(text) <= 60 else text[:57] + "..."


CULPRITS = (
    "another pogodock monitor, mpremote, or a serial terminal such as screen, minicom or picocom"
)


def explain_open_error(path: str, err: BaseException) -> str:
    """One sentence on why ``path`` could not be opened and what to do."""
    code = getattr(err, "errno", None)
    text = str(err)
    if code is None and isinstance(err.__cause__, OSError):
        code = err.__cause__.errno
    lowered = text.lower()
    if code == errno.ENOENT or "no such file" in lowered:
        return "no serial port %s (is the dock plugged in?)" % path
    if code in (errno.EACCES, errno.EPERM) or "permission denied" in lowered:
        return (
            "permission denied on %s: add yourself to the group that owns it "
            "(usually dialout: sudo usermod -aG dialout $USER, then log in again)" % path
        )
    busy = (
        code in (errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK)
        or "lock" in lowered
        or "busy" in lowered
    )
    if busy:
        who = holders(path)
        if who:
            names = ", ".join("pid %d (%s)" % (h.pid, h.command) for h in who)
            return "%s is busy: it is held by %s; close that first (likely %s)" % (
                path,
                names,
                CULPRITS,
            )
        return "%s is busy: another program holds it, likely %s; close it and try again" % (
            path,
            CULPRITS,
        )
    return "cannot open %s: %s" % (path, text)

"""The simulated dock's flash: files in memory that a power cut can catch in a write.

``MemFlash`` offers the part of ``os`` (and ``open``) the firmware's store uses, with
the failure model of the board's flash: a file opened for writing is created (or
emptied) at once, its data lands when it is flushed or closed (littlefs commits a
file's data at sync and close), a rename replaces its target atomically, and a power
cut during a write leaves the file holding part of that write's data, while whatever
the store meant to do next (the rename over the old file) never happens. The cut is
decided per write by ``cut_write(path, size) -> None or bytes kept``, handed in by
the simulated dock's power supply (``sim.power``); a cut write raises ``PowerCut``
once its part landed.
While the power is off (``powered`` False) every access raises ``PowerCut``.

``FlashStore`` is the firmware's ``FileStore`` on this flash; ``earlier_life`` the
files a scenario's earlier life of the dock left there. Runs under CPython and
MicroPython.
"""

import io
import json
import sys

from dockfw.docking import STATE as DOCKING_STATE
from dockfw.docking import STATE_VERSION as DOCKING_VERSION
from dockfw.store import BAD_SUFFIX, FileStore, _Store, read_bounded

from docksim.power import PowerCut

_ENOENT = 2
_EEXIST = 17
_ENOTDIR = 20
_EISDIR = 21
_S_IFDIR = 0x4000
_S_IFREG = 0x8000

# MicroPython's json.dump writes only to a native stream: a subclass of io.IOBase is
# one. CPython's IOBase would close (and so commit) a dropped file when it is
# collected, which a file cut by a power failure must never do.
_FileBase = io.IOBase if sys.implementation.name == "micropython" else object


def _parent(path):
    k = path.rfind("/")
    return path[:k] if k > 0 else "/"


def _clean(path):
    if not path.startswith("/"):
        path = "/" + path
    while len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path


class _WriteFile(_FileBase):  # pyright: ignore[reportGeneralTypeIssues]
    """A file open for writing: data waits here until ``flush`` or ``close``."""

    def __init__(self, flash, path):
        self._flash = flash
        self._path = path
        self._buf = bytearray()
        self.closed = False

    def write(self, data):
        if self.closed:
            raise ValueError("I/O operation on closed file")
        self._flash._check()
        if isinstance(data, str):
            data = data.encode()
        self._buf += data
        return len(data)

    def flush(self):
        if self.closed:
            return
        data = bytes(self._buf)
        self._buf = bytearray()
        self._flash._commit(self._path, data)

    def close(self):
        if self.closed:
            return
        try:
            self.flush()
        finally:
            self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class MemFlash:
    def __init__(self, cut_write=None):
        """``cut_write(path, size)``: asked at every write, None (it all lands) or the
        bytes that land before the power fails in it."""
        self.files = {}  # path -> bytes, what has landed
        self.dirs = {"/": True}
        self.powered = True
        self.cut_write = cut_write
        self.writes = 0  # writes that landed whole

    def put(self, path, text):
        """Lay a file down as an earlier life left it (its folders with it); not a
        write of the firmware's, so no power cut falls in it."""
        path = _clean(path)
        parts = path.split("/")[1:-1]
        for k in range(len(parts)):
            self.dirs["/" + "/".join(parts[: k + 1])] = True
        self.files[path] = text.encode() if isinstance(text, str) else bytes(text)

    def _check(self):
        if not self.powered:
            raise PowerCut()

    def _commit(self, path, data):
        self._check()
        keep = self.cut_write(path, len(data)) if self.cut_write is not None else None
        if path not in self.files:  # removed or renamed away while open
            self.files[path] = b""
        if keep is not None:
            self.files[path] += data[:keep]
            self.powered = False
            raise PowerCut()
        self.files[path] += data
        self.writes += 1

    # -- the part of ``os`` and ``open`` the store uses -------------------------
    def open(self, path, mode="r"):
        self._check()
        path = _clean(path)
        if path in self.dirs:
            raise OSError(_EISDIR)
        kind = mode.replace("b", "").replace("t", "")
        if kind == "r":
            if path not in self.files:
                raise OSError(_ENOENT)
            data = self.files[path]
            return io.BytesIO(data) if "b" in mode else io.StringIO(data.decode())
        if kind not in ("w", "a", "x"):
            raise ValueError("mode %r is not simulated" % mode)
        if _parent(path) not in self.dirs:
            raise OSError(_ENOENT)
        if kind == "x" and path in self.files:
            raise OSError(_EEXIST)
        if kind != "a" or path not in self.files:
            self.files[path] = b""  # created or emptied at once, as on littlefs
        return _WriteFile(self, path)

    def rename(self, old, new):
        self._check()
        old = _clean(old)
        new = _clean(new)
        if old not in self.files:
            raise OSError(_ENOENT)
        if new in self.dirs or _parent(new) not in self.dirs:
            raise OSError(_EISDIR if new in self.dirs else _ENOENT)
        self.files[new] = self.files.pop(old)

    def remove(self, path):
        self._check()
        path = _clean(path)
        if path not in self.files:
            raise OSError(_ENOENT)
        del self.files[path]

    def mkdir(self, path):
        self._check()
        path = _clean(path)
        if path in self.dirs or path in self.files:
            raise OSError(_EEXIST)
        if _parent(path) not in self.dirs:
            raise OSError(_ENOENT)
        self.dirs[path] = True

    def listdir(self, path="/"):
        self._check()
        path = _clean(path)
        if path not in self.dirs:
            raise OSError(_ENOTDIR if path in self.files else _ENOENT)
        prefix = path if path == "/" else path + "/"
        names = []
        for p in list(self.files) + list(self.dirs):
            if p != "/" and _parent(p) == path:
                names.append(p[len(prefix) :])
        return sorted(names)

    def stat(self, path):
        self._check()
        path = _clean(path)
        if path in self.dirs:
            return (_S_IFDIR, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        if path in self.files:
            return (_S_IFREG, 0, 0, 0, 0, 0, len(self.files[path]), 0, 0, 0)
        raise OSError(_ENOENT)


class FlashStore(FileStore):
    """``dockfw.store.FileStore`` on a ``MemFlash``: the firmware's own checks,
    versions and reports, with its file protocol (one JSON file per name, replaced by
    writing ``name.tmp`` and renaming it over ``name.json``; a damaged one renamed
    ``name.json.bad``) done on the simulated flash. Its three file methods mirror
    ``FileStore``'s, which reach the board's ``open`` and ``os`` directly."""

    def __init__(self, root, flash):
        _Store.__init__(self)
        self.root = root
        self.flash = flash
        try:
            flash.mkdir(root)
        except OSError:
            pass  # already there

    def _read(self, name):
        try:
            f = self.flash.open(self._path(name))
        except OSError as e:
            if e.args and e.args[0] == _ENOENT:  # nothing saved yet
                return None
            raise
        with f:
            return read_bounded(f)

    def _write(self, name, text):
        path = self._path(name)
        tmp = path + ".tmp"
        with self.flash.open(tmp, "w") as f:
            f.write(text)
        self.flash.rename(tmp, path)

    def _move_aside(self, name):
        path = self._path(name)
        bad = path + BAD_SUFFIX
        self.flash.rename(path, bad)
        return bad


def earlier_life(scenario):
    """The files the dock's earlier life left on its flash, ``{path: text}``: the
    scenario's per-pin ``cycles``, where and as the firmware keeps its mating cycles
    (``dockfw.docking``'s state, no device on the dock)."""
    cycles = {}
    for name, p in scenario.pins.items():
        cycles[name] = p.get("cycles", 0)
    if not any(cycles.values()):
        return {}
    state = {"version": DOCKING_VERSION, "present": False, "cycles": cycles}
    return {"/state/%s.json" % DOCKING_STATE: json.dumps(state)}

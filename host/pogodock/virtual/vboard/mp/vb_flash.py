"""The board's flash: a folder on the host, mounted at ``/`` of the interpreter.

A thin VFS around ``vfs.VfsPosix(folder)``, for two reasons:

* Every path is made absolute and normalised here (``.`` and ``..`` resolved, never
  above ``/``), so nothing reaches outside the folder and the interpreter's real
  working directory can stay at the folder's root.
* ``VfsPosix.rename`` with two absolute paths renames a path onto itself (MicroPython
  1.29 builds both host paths in one buffer), which fails with ENOENT. The firmware's
  store renames ``/state/x.tmp`` over ``/state/x.json``, as it must on littlefs; the
  second path is handed over relative to the folder's root instead, which works.
* A power cut can fall in a write. When a file opened for writing is closed (the
  moment littlefs commits its data), the scenario's power cuts during a write are
  asked (``cuts.landing``); one that falls there leaves the file holding only the
  first part of what was written to it, and the power fails (``cuts.fail``: the
  supervisor ends this interpreter before anything else runs, so whatever the
  writer meant to do next, such as renaming it over the old file, never happens).
  Data is written through as it comes (a file never closed still holds it, as a
  board's does once the collector has finalised it), and a copy is kept for the
  cut only while a cut is still to fall. Files opened to append are not cut.
"""

import io

import vfs

_S_IFMT = 0xF000
_S_IFDIR = 0x4000


def normalise(cwd, path):
    """``path`` (absolute, or relative to ``cwd``) as a clean absolute path."""
    if not path.startswith("/"):
        path = cwd + "/" + path
    parts = []
    for part in path.split("/"):
        if part == "" or part == ".":
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/" + "/".join(parts)


class _CutFile(io.IOBase):
    """A file opened for writing while a power cut may fall in a write: written
    through, its data also kept, so that the cut at ``close`` can leave only a part
    (an ``io.IOBase``, so that ``json.dump`` and ``print(file=)`` can write to it)."""

    def __init__(self, fs, path, binary, cuts):
        self._fs = fs
        self._path = path
        self._file = fs.open(path, binary)
        self._cuts = cuts
        self._data = bytearray()
        self._closed = False

    def write(self, data):
        if isinstance(data, str):
            data = data.encode()
        n = self._file.write(data)
        self._data += data
        return n

    def flush(self):
        self._file.flush()

    def close(self):
        if self._closed:
            return
        self._closed = True
        self._file.close()
        size = len(self._data)
        landed = self._cuts.landing(self._path, size)
        if landed is None:
            return
        with self._fs.open(self._path, "wb") as f:
            f.write(self._data[:landed])
        self._cuts.fail(self._path, landed, size)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class FlashVfs:
    def __init__(self, folder, cuts=None):
        """``cuts``: the scenario's power cuts during a write (vb_main's ``_WriteCuts``)."""
        # The unix port's VFS; the rp2 stubs the firmware is checked against lack it.
        self._fs = vfs.VfsPosix(folder)  # pyright: ignore[reportAttributeAccessIssue]
        self._fs.chdir("/")  # the process's working directory: the folder's root
        self._cwd = "/"
        self._cuts = cuts

    def _path(self, path):
        return normalise(self._cwd, path)

    # -- the VFS protocol (os.mount calls these) ----------------------------------------
    def mount(self, readonly, mkfs):
        return None

    def umount(self):
        return None

    def open(self, path, mode):
        path = self._path(path)
        cuts = self._cuts
        if cuts is None or not cuts.active() or "+" in mode or "r" in mode or "a" in mode:
            return self._fs.open(path, mode)
        binary = mode if "b" in mode else mode.replace("t", "") + "b"
        return _CutFile(self._fs, path, binary, cuts)

    def ilistdir(self, path):
        # With each file's size, as littlefs lists them (mpremote's ls shows it).
        base = self._path(path)
        prefix = base if base.endswith("/") else base + "/"
        for entry in self._fs.ilistdir(base):
            kind = entry[1]
            size = 0
            if kind != _S_IFDIR:
                st = self._fs.stat(prefix + entry[0])
                kind = st[0] & _S_IFMT
                size = st[6]
            yield (entry[0], kind, 0, size)

    def stat(self, path):
        return self._fs.stat(self._path(path))

    def statvfs(self, path):
        return self._fs.statvfs(self._path(path))

    def mkdir(self, path):
        return self._fs.mkdir(self._path(path))

    def rmdir(self, path):
        return self._fs.rmdir(self._path(path))

    def remove(self, path):
        return self._fs.remove(self._path(path))

    def rename(self, old, new):
        return self._fs.rename(self._path(old), self._path(new)[1:] or ".")

    def chdir(self, path):
        path = self._path(path)
        if self._fs.stat(path)[0] & _S_IFMT != _S_IFDIR:
            raise OSError(20)  # ENOTDIR
        self._cwd = path

    def getcwd(self):
        return self._cwd

    def __repr__(self):
        return "<FlashVfs>"  # what ``mpremote df`` shows as the filesystem

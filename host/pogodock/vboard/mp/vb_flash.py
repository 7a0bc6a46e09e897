"""The board's flash: a folder on the host, mounted at ``/`` of the interpreter.

A thin VFS around ``vfs.VfsPosix(folder)``, for two reasons:

* Every path is made absolute and normalised here (``.`` and ``..`` resolved, never
  above ``/``), so nothing reaches outside the folder and the interpreter's real
  working directory can stay at the folder's root.
* ``VfsPosix.rename`` with two absolute paths renames a path onto itself (MicroPython
  1.29 builds both host paths in one buffer), which fails with ENOENT. The firmware's
  store renames ``/state/x.tmp`` over ``/state/x.json``, as it must on littlefs; the
  second path is handed over relative to the folder's root instead, which works.
"""

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


class FlashVfs:
    def __init__(self, folder):
        # The unix port's VFS; the rp2 stubs the firmware is checked against lack it.
        self._fs = vfs.VfsPosix(folder)  # pyright: ignore[reportAttributeAccessIssue]
        self._fs.chdir("/")  # the process's working directory: the folder's root
        self._cwd = "/"

    def _path(self, path):
        return normalise(self._cwd, path)

    # -- the VFS protocol (os.mount calls these) ----------------------------------------
    def mount(self, readonly, mkfs):
        return None

    def umount(self):
        return None

    def open(self, path, mode):
        return self._fs.open(self._path(path), mode)

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

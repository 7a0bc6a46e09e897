"""The files ``export`` and ``plot`` write: whole or not at all, never over what they read.

A file written in place is truncated first: a full disk, a Ctrl-C or a crash leaves
half a file where a complete one was. ``replacing`` writes a temporary file beside the
output and renames it over the output only once it is complete.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from typing import IO, Any


def same_file(a: str, b: str) -> bool:
    """Are ``a`` and ``b`` one file (through links, ``./``, another spelling)?"""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False  # one of them does not exist (yet): it cannot be the other


def _in_place(path: str) -> bool:
    # A device or a pipe (/dev/stdout, /dev/full, a fifo) cannot be renamed over:
    # it is written as it is.
    try:
        return not stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def replacing(path: str, binary: bool = False) -> Iterator[IO[Any]]:
    """A file to write ``path``'s new content to; it becomes ``path`` when the block ends
    without an error, and is removed when the block raises (``path`` is left as it was)."""
    mode = "wb" if binary else "w"
    text_kw: dict[str, Any] = {} if binary else {"newline": "", "encoding": "utf-8"}
    if _in_place(path):
        with open(path, mode, **text_kw) as f:
            yield f
        return
    # Through a symlink to the file it names, as writing in place would.
    target = os.path.realpath(path) if os.path.islink(path) else path
    folder, name = os.path.split(target)
    try:
        keep_mode: int | None = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        keep_mode = None
    tmp = ""
    fd = -1
    for _ in range(16):
        tmp = os.path.join(folder, ".%s.%s.tmp" % (name, secrets.token_hex(4)))
        try:
            # 0o666 under the umask: the mode a file opened with open(path, "w") gets.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError("cannot make a temporary file beside %s" % path)
    try:
        with os.fdopen(fd, mode, **text_kw) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
            if keep_mode is not None:
                os.fchmod(f.fileno(), keep_mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise

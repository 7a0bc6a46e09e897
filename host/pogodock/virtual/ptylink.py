"""A symlink that names a virtual dock's pseudo-terminal for as long as the dock is served.

A USB dock's ``/dev/ttyACM0`` comes and goes with the dock; a pty's own ``/dev/pts/N``
does not: once the pty is closed the kernel hands the number to the next one opened,
lowest first, so a host still retrying the old path would open someone else's terminal.
``pogodock sim --pty --link PATH`` and ``pogodock vboard --link PATH`` therefore name
their pty by a symlink that is made in one step and removed when the dock goes.
"""

from __future__ import annotations

import os


def refusal(link: str) -> str:
    """Why ``link`` cannot be made and later removed by us, or "" when it can."""
    folder = os.path.dirname(os.path.abspath(link))
    if not os.path.isdir(folder):
        return "cannot make the link %s: no folder %s" % (link, folder)
    if os.path.lexists(link) and not os.path.islink(link):
        return "%s exists and is not a symlink; pogodock will not replace it" % link
    if not os.access(folder, os.W_OK):
        return "cannot make the link %s: %s is not writable" % (link, folder)
    return ""


def point(link: str, target: str) -> None:
    """Make ``link`` name ``target`` in one step (a host never sees it missing or half made)."""
    tmp = "%s.%d.tmp" % (link, os.getpid())
    if os.path.islink(tmp):  # left by a process of this pid that died between the steps
        os.unlink(tmp)
    os.symlink(target, tmp)
    os.replace(tmp, link)


def unpoint(link: str, target: str) -> None:
    """Remove ``link`` unless something else has taken the name since."""
    try:
        if os.readlink(link) == target:
            os.unlink(link)
    except OSError:
        pass

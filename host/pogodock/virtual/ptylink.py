"""A symlink that names a virtual dock's pseudo-terminal for as long as the dock is served.

A USB dock's ``/dev/ttyACM0`` comes and goes with the dock; a pty's own ``/dev/pts/N``
does not: once the pty is closed the kernel hands the number to the next one opened,
lowest first, so a host still retrying the old path would open someone else's terminal.
``pogodock sim --pty --link PATH`` and ``pogodock vboard --link PATH`` therefore name
their pty by a symlink that is made in one step and removed when the dock goes.
"""

from __future__ import annotations

import os


class LinkError(Exception):
    """``--link`` names a place where the link cannot be made; the message says why."""


def refusal(link: str) -> str:
    """Why ``link`` cannot be made and later removed by us, or "" when it can."""
    folder = os.path.dirname(os.path.abspath(link))
    if not os.path.isdir(folder):
        return "cannot make the link %s: no folder %s" % (link, folder)
    if os.path.lexists(link) and not os.path.islink(link):
        return "%s exists and is not a symlink; pogodock will not replace it" % link
    if not os.access(folder, os.W_OK):
        return "cannot make the link %s: %s is not writable" % (link, folder)
    # A folder can be writable and still hold no symlink (/proc, /sys, some mounts; root
    # passes every access check): only making one tells, before any dock is started.
    probe = os.path.join(folder, ".pogodock-link-probe.%d" % os.getpid())
    try:
        if os.path.islink(probe):
            os.unlink(probe)
        os.symlink(os.devnull, probe)
        os.unlink(probe)
    except OSError as e:
        return "cannot make the link %s: %s" % (link, e.strerror or e)
    return ""


def point(link: str, target: str) -> None:
    """Make ``link`` name ``target`` in one step (a host never sees it missing or half
    made); ``LinkError`` naming ``link`` when it cannot be made."""
    tmp = "%s.%d.tmp" % (link, os.getpid())
    try:
        if os.path.islink(tmp):  # left by a process of this pid that died between the steps
            os.unlink(tmp)
        os.symlink(target, tmp)
        try:
            os.replace(tmp, link)
        except OSError:
            os.unlink(tmp)
            raise
    except OSError as e:
        # The error's own filename is the pty (the symlink's target): the user gave the link.
        raise LinkError("cannot make the link %s: %s" % (link, e.strerror or e)) from None


def unpoint(link: str, target: str) -> None:
    """Remove ``link`` unless something else has taken the name since."""
    try:
        if os.readlink(link) == target:
            os.unlink(link)
    except OSError:
        pass

"""Long-lived state (mating cycles, baselines, session history) that survives a reboot.

Each name is one JSON object that carries its own ``version``. The interface:

``load(name, version, check) -> dict or None``
    None when there is nothing (a new dock). A file that cannot be read, is not a
    JSON object, has another version, or that ``check(obj)`` rejects (it raises
    ``StateError`` naming the field, as ``need`` below does) is set aside
    (renamed ``name.bad``, never deleted) and reported; the caller starts from its
    defaults. Whatever a file holds, loading never raises: a dock boots.
``save(name, version, obj) -> bool``
    Replaces the state; False when it could not (a full filesystem, say), which is
    reported too. Never raises: sampling goes on.
``take_problems() -> [(name, reason, action), ...]``
    What went wrong since the last call; the App turns each into a ``storage`` event.

``FileStore`` keeps one file per name and replaces it atomically: write
``name.tmp``, then rename it over the old file (littlefs renames atomically, so a
power cut leaves the old file or the new one, never half of one). Writes are rare
(per docking session, not per sample): flash writes stall and wear.
``MemoryStore`` keeps the same text in memory, for the simulator and tests.
"""

import gc
import json
import os

BAD_SUFFIX = ".bad"
MAX_BYTES = 16384  # the largest state this firmware writes is a few kB; more is not ours
_PIECE = 512


class StateError(ValueError):
    """A state file's content is not what this firmware writes; the text says which field."""


# What ``need`` checks a field for.
INT = 0  # a whole number from lo to hi (true/false is not a number)
NUM = 1  # any number from lo to hi
BOOL = 2
TEXT = 3  # a string of at most hi characters
OBJ = 4
INTS = 5  # a list of at most ``most`` whole numbers from lo to hi
_KIND = ("a whole number", "a number", "true or false", "text", "an object", "a list")


def need(obj, key, where, kind, lo=0.0, hi=0.0, most=0):
    """``obj[key]`` if it is of ``kind`` (and within lo..hi); else StateError naming it."""
    v = obj.get(key) if isinstance(obj, dict) else None
    if not _fits(v, kind, lo, hi, most):
        bounds = " from %s to %s" % (lo, hi) if kind in (INT, NUM, INTS) else ""
        raise StateError("%s: '%s' must be %s%s, not %r" % (where, key, _KIND[kind], bounds, v))
    return obj[key]


def _fits(v, kind, lo, hi, most):
    if kind == BOOL:
        return isinstance(v, bool)
    if kind == TEXT:
        return isinstance(v, str) and len(v) <= hi
    if kind == OBJ:
        return isinstance(v, dict)
    if isinstance(v, list):
        if kind != INTS or len(v) > most:
            return False
        for x in v:
            if not _fits(x, INT, lo, hi, 0):
                return False
        return True
    if kind == INTS or isinstance(v, bool):
        return False
    if isinstance(v, int) or (kind == NUM and isinstance(v, float)):
        return lo <= v <= hi
    return False


class _Store:
    def __init__(self):
        self.writes = 0
        self._problems = []
        self.before_write = None  # called before every write (the App feeds its watchdog)
        self._unread = []  # names whose file could not be read for want of heap

    def _read_retrying(self, name):
        try:
            return self._read(name)
        except MemoryError:
            gc.collect()  # a fragmented heap: once more after a collection
            return self._read(name)

    # What a kind of store provides: raw text in and out, and a damaged file moved aside.
    def _read(self, name):
        raise NotImplementedError

    def _write(self, name, text):
        raise NotImplementedError

    def _move_aside(self, name):
        raise NotImplementedError

    def take_problems(self):
        p = self._problems
        self._problems = []
        return p

    def problem(self, name, reason, action):
        """Note something that went wrong with ``name``'s state (the App says it in a
        ``storage`` event)."""
        if len(self._problems) < 8:  # a store failing on every save says so once per round
            self._problems.append((name, reason, action))

    def load(self, name, version, check=None):
        try:
            text = self._read_retrying(name)
        except MemoryError:
            # Not the file's fault: it stays as it is, and this boot does not write over
            # it (the next boot, with a fresh heap, reads it).
            self._unread.append(name)
            self.problem(name, "not read (out of memory)", "kept; defaults used, not saved")
            return None
        except Exception as e:  # whatever the filesystem says: boot on defaults
            self._set_aside(name, "unreadable (%s)" % _why(e))
            return None
        if text is None:
            return None
        try:
            if len(text) > MAX_BYTES:
                raise StateError("larger than %d bytes" % MAX_BYTES)
            obj = json.loads(text)
            if not isinstance(obj, dict):
                raise StateError("not a JSON object")
            v = obj.get("version")
            if v != version:
                raise StateError("version %r, this firmware reads %d" % (v, version))
            if check is not None:
                check(obj)
        except Exception as e:  # damaged, foreign or out of range
            self._set_aside(name, _why(e))
            return None
        return obj

    def save(self, name, version, obj):
        if name in self._unread:
            return False
        obj["version"] = version
        if self.before_write is not None:
            self.before_write()
        try:
            self._write(name, json.dumps(obj))
        except Exception as e:  # a full or failing filesystem must not stop the dock
            self.problem(name, "not saved (%s)" % _why(e), "kept in memory only")
            return False
        self.writes += 1
        return True

    def _set_aside(self, name, reason):
        try:
            where = self._move_aside(name)
            action = "set aside as %s; defaults used" % where
        except Exception as e:
            action = "could not be set aside (%s); defaults used" % _why(e)
        self.problem(name, reason, action)


def read_bounded(f):
    """A file's text, up to ``MAX_BYTES + 1`` characters, read in small pieces: a single
    ``read(MAX_BYTES + 1)`` asks MicroPython's heap for 16 kB at once, which a
    fragmented heap may not have although the file holds a few hundred bytes."""
    parts = []
    size = 0
    while size <= MAX_BYTES:
        part = f.read(_PIECE)
        if not part:
            break
        parts.append(part)
        size += len(part)
    return "".join(parts)


def _why(e):
    text = str(e)
    if isinstance(e, OSError) and e.args and isinstance(e.args[0], int):
        text = {28: "no space left", 5: "I/O error", 30: "read-only"}.get(e.args[0], text)
    if isinstance(e, StateError):
        return text
    return "%s: %s" % (type(e).__name__, text) if text else type(e).__name__


class MemoryStore(_Store):
    """Files as text in a dict. ``initial``: name -> object (saved as this firmware
    would, ``version`` included) or str (the raw text of a file, damaged or not)."""

    def __init__(self, initial=None):
        _Store.__init__(self)
        self.data = {}
        self.full = False  # True: every write fails as on a full filesystem
        if initial:
            for k, v in initial.items():
                self.data[k] = v if isinstance(v, str) else json.dumps(v)

    def _read(self, name):
        return self.data.get(name)

    def _write(self, name, text):
        if self.full:
            raise OSError(28)
        self.data[name] = text

    def _move_aside(self, name):
        self.data[name + BAD_SUFFIX] = self.data.pop(name)
        return name + BAD_SUFFIX


class FileStore(_Store):
    def __init__(self, root):
        _Store.__init__(self)
        self.root = root
        try:
            os.mkdir(root)
        except OSError:
            pass  # already there (or the filesystem is broken: each load and save says so)

    def _path(self, name):
        return "%s/%s.json" % (self.root, name)

    def _read(self, name):
        try:
            f = open(self._path(name))
        except OSError as e:
            if e.args and e.args[0] == 2:  # ENOENT: nothing saved yet
                return None
            raise
        with f:
            return read_bounded(f)

    def _write(self, name, text):
        path = self._path(name)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, path)

    def _move_aside(self, name):
        path = self._path(name)
        bad = path + BAD_SUFFIX
        os.rename(path, bad)
        return bad

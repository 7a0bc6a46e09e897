"""Long-lived state (baselines, session history, mating cycles) that survives a reboot.

One small interface: ``load(name) -> dict or None`` and ``save(name, dict)``.
``FileStore`` keeps one JSON file per name and replaces it atomically (write
``name.tmp``, then rename over the old file: littlefs renames atomically, and a
power cut leaves the old file or the new one, never half of one). Writes are
rare (per docking session, not per sample): flash writes stall and wear.
``MemoryStore`` is for the simulator and tests.
"""

import json
import os


class MemoryStore:
    def __init__(self, initial=None):
        self.data = {}
        if initial:
            for k, v in initial.items():
                self.data[k] = json.dumps(v)
        self.writes = 0

    def load(self, name):
        text = self.data.get(name)
        return json.loads(text) if text is not None else None

    def save(self, name, obj):
        self.data[name] = json.dumps(obj)
        self.writes += 1


class FileStore:
    def __init__(self, root):
        self.root = root
        self.writes = 0
        try:
            os.mkdir(root)
        except OSError:
            pass  # already there

    def _path(self, name):
        return "%s/%s.json" % (self.root, name)

    def load(self, name):
        try:
            with open(self._path(name)) as f:
                obj = json.load(f)
        except (OSError, ValueError):
            return None  # missing or damaged: start from defaults
        return obj if isinstance(obj, dict) else None

    def save(self, name, obj):
        path = self._path(name)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(obj, f)
        os.rename(tmp, path)
        self.writes += 1

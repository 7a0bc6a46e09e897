"""The firmware's file set, read from ``firmware/manifest.py`` without MicroPython's tree.

python tools/firmware_manifest.py                      # each file: source -> path on the board
python tools/firmware_manifest.py --write-package-json # firmware/package.json (mip) from it

The manifest is MicroPython's (docs/reference/manifest.rst): a Python file of calls to
``metadata``, ``module``, ``package``, ``include``, ``require`` and ``options``. MicroPython
reads it with ``tools/manifestfile.py``, which lives in its repository and needs the
port's and micropython-lib's folders for ``$(PORT_DIR)`` and ``require``; this reader runs
the same file against small stand-ins for those calls that only collect the files, so
``make flash`` and MicroPython's build take one list from one place. Anything that needs
MicroPython's tree (a ``$(...)`` path, ``require``) is refused in a sentence, not guessed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "firmware" / "manifest.py"
PACKAGE_JSON = ROOT / "firmware" / "package.json"


class ManifestError(Exception):
    pass


@dataclass(frozen=True)
class FirmwareFile:
    source: Path
    target: str  # its path on the board, "/"-separated, as mip and freezing name it


@dataclass
class Manifest:
    path: Path
    metadata: dict[str, str] = field(default_factory=dict)
    files: list[FirmwareFile] = field(default_factory=list)

    @property
    def version(self) -> str | None:
        return self.metadata.get("version")


class _Options:
    """``options`` in a manifest: what its includer passed, else its own defaults, else
    None (as manifestfile.IncludeOptions)."""

    def __init__(self, **given):
        self._given = given
        self._defaults = {}

    def defaults(self, **defaults):
        self._defaults = defaults

    def __getattr__(self, name):
        return self._given.get(name, self._defaults.get(name))


class _Reader:
    def __init__(self, manifest: Manifest):
        self.manifest = manifest
        self.visited: set[Path] = set()
        self.dirs: list[Path] = []  # paths resolve against the manifest being read

    def resolve(self, path: str) -> Path:
        if "$(" in path:
            raise ManifestError(
                "%s: a path in MicroPython's tree, which only its build resolves" % path
            )
        return (self.dirs[-1] / path).resolve()

    def include(self, manifest_path: str | Path, **options) -> None:
        path = self.resolve(str(manifest_path))
        if path.is_dir():
            path = path / "manifest.py"
        if path in self.visited:
            return
        self.visited.add(path)
        calls = {
            "metadata": self.metadata,
            "include": self.include,
            "require": self.require,
            "module": self.module,
            "package": self.package,
            "options": _Options(**options),
        }
        self.dirs.append(path.parent)
        try:
            exec(compile(path.read_text(), str(path), "exec"), calls)
        except ManifestError as e:
            raise ManifestError("%s: %s" % (path, e)) from None
        except Exception as e:  # a manifest is code: its mistakes are reported, whatever they are
            raise ManifestError("%s: %s: %s" % (path, type(e).__name__, e)) from e
        finally:
            self.dirs.pop()

    def metadata(self, **metadata) -> None:
        if self.manifest.metadata:
            raise ManifestError("metadata() given twice")
        self.manifest.metadata.update(metadata)

    def require(self, name, *args, **kwargs):
        raise ManifestError(
            "require(%r): a micropython-lib package; `make flash` copies files, fetches none" % name
        )

    def module(self, module_path: str, base_path: str = ".", opt=None) -> None:
        if not module_path.endswith(".py"):
            raise ManifestError("module(%r): a module is a .py file" % module_path)
        self.add(self.resolve(base_path) / module_path, module_path)

    def package(self, package_path: str, files=None, base_path: str = ".", opt=None) -> None:
        base = self.resolve(base_path)
        if files is not None:
            names = [Path(package_path) / f for f in files]
        else:
            if not (base / package_path).is_dir():
                raise ManifestError("package(%r): no such folder in %s" % (package_path, base))
            names = [
                Path(folder).relative_to(base) / name
                for folder, _, filenames in os.walk(base / package_path, followlinks=True)
                for name in filenames
                if name.endswith(".py")
            ]
        for name in sorted(names):
            self.add(base / name, name.as_posix())

    def add(self, source: Path, target: str) -> None:
        if not source.is_file():
            raise ManifestError("%s: no such file" % source)
        if any(f.target == target for f in self.manifest.files):
            raise ManifestError("%s named twice" % target)
        self.manifest.files.append(FirmwareFile(source, target))


def read(path: Path = MANIFEST, **options) -> Manifest:
    """The manifest at ``path``, read as an includer passing ``options`` would."""
    manifest = Manifest(path)
    reader = _Reader(manifest)
    reader.dirs.append(Path.cwd())
    reader.include(path.resolve(), **options)
    return manifest


def package_json(manifest: Manifest, at: Path = PACKAGE_JSON) -> str:
    """mip's package.json for ``manifest``'s files, placed at ``at``: its URLs relative, which
    mip resolves against where it fetched the package.json from (a clone, a web server,
    github:...), so no host is written into it."""
    urls = [
        [f.target, Path(os.path.relpath(f.source, at.parent)).as_posix()] for f in manifest.files
    ]
    # One file a line: a change to the file set reads as one line in a diff.
    lines = ",\n".join("    %s" % json.dumps(pair) for pair in urls)
    return '{\n  "urls": [\n%s\n  ],\n  "deps": [],\n  "version": %s\n}\n' % (
        lines,
        json.dumps(manifest.version),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--manifest", type=Path, default=MANIFEST)
    parser.add_argument(
        "--write-package-json",
        action="store_true",
        help="write mip's package.json beside the manifest",
    )
    args = parser.parse_args()
    try:
        manifest = read(args.manifest, port=False)
    except ManifestError as e:
        print("manifest: %s" % e, file=sys.stderr)
        return 1
    if args.write_package_json:
        out = args.manifest.parent / "package.json"
        out.write_text(package_json(manifest, out))
        print("%s: %d files, version %s" % (out, len(manifest.files), manifest.version))
        return 0
    for f in manifest.files:
        print("%s -> %s" % (os.path.relpath(f.source), f.target))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``firmware/manifest.py`` is the firmware's one file list: what `make flash` copies, what
MicroPython's build freezes, and, through ``firmware/package.json``, what mip installs.
These tests keep the three from drifting apart and the disk from drifting from them."""

import functools
import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIRMWARE = ROOT / "firmware"
sys.path.insert(0, str(ROOT / "tools"))

import firmware_manifest  # noqa: E402
import flash  # noqa: E402
from dockfw.app import FIRMWARE_VERSION  # noqa: E402

MICROPYTHON = Path(sys.executable).with_name("micropython")


def board_files() -> list[str]:
    return [f.target for f in firmware_manifest.read(port=False).files]


def test_the_manifest_names_every_firmware_source_and_only_those():
    on_disk = sorted(
        p.relative_to(FIRMWARE).as_posix()
        for p in FIRMWARE.rglob("*.py")
        if "__pycache__" not in p.parts and p != firmware_manifest.MANIFEST
    )
    named = board_files()
    assert sorted(named) == on_disk
    assert len(set(named)) == len(named)
    assert "main.py" in named and "dockfw/app.py" in named and "manifest.py" not in named
    for f in firmware_manifest.read(port=False).files:
        assert f.source == FIRMWARE / f.target


def test_package_json_lists_exactly_the_manifests_files_at_its_version():
    manifest = firmware_manifest.read(port=False)
    package = json.loads(firmware_manifest.PACKAGE_JSON.read_text())
    assert [target for target, _ in package["urls"]] == board_files()
    for target, url in package["urls"]:
        # mip fetches a relative URL from beside the package.json.
        assert (FIRMWARE / url).resolve() == FIRMWARE / target
    assert package["deps"] == []
    assert package["version"] == manifest.version == FIRMWARE_VERSION
    assert firmware_manifest.PACKAGE_JSON.read_text() == firmware_manifest.package_json(manifest), (
        "package.json is out of date: python tools/firmware_manifest.py --write-package-json"
    )


def test_frozen_the_manifest_brings_the_ports_own_modules():
    # Read as MicroPython's build reads it (no options), it includes the port's manifest,
    # whose _boot.py mounts the filesystem; only MicroPython's build can resolve that path.
    with pytest.raises(firmware_manifest.ManifestError, match=r"\$\(PORT_DIR\)/boards/manifest"):
        firmware_manifest.read()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_make_flash_copies_what_the_manifest_names(tmp_path):
    manifest = write(
        tmp_path / "small" / "manifest.py",
        'metadata(version="9.9")\n'
        "module('main.py', base_path=%r)\n"
        "package('dockfw', files=['__init__.py', 'viper.py'], base_path=%r)\n"
        % (str(FIRMWARE), str(FIRMWARE)),
    )
    image = flash.build_image("pico-dock-4", tmp_path / "flash", manifest=manifest)
    names = sorted(p.relative_to(image).as_posix() for p in image.rglob("*") if p.is_file())
    assert names == ["board.json", "dockfw/__init__.mpy", "dockfw/viper.mpy", "main.py"]


def test_includes_resolve_beside_their_manifest_and_count_once(tmp_path):
    write(tmp_path / "lib" / "extra" / "helper.py", "X = 1\n")
    write(tmp_path / "lib" / "manifest.py", "module('helper.py', base_path='extra')\n")
    top = write(
        tmp_path / "manifest.py",
        "metadata(version='1')\ninclude('lib')\ninclude('lib/manifest.py')\n",
    )
    manifest = firmware_manifest.read(top)
    assert [(f.target, f.source) for f in manifest.files] == [
        ("helper.py", tmp_path / "lib" / "extra" / "helper.py")
    ]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("require('aioble')", "require('aioble'): a micropython-lib package"),
        ("package('dockfw', base_path='$(MPY_DIR)')", "$(MPY_DIR): a path in MicroPython"),
        ("module('gone.py')", "gone.py: no such file"),
        ("module('a.py')\nmodule('a.py')", "a.py named twice"),
        ("metadata(version='1')\nmetadata(version='2')", "metadata() given twice"),
        ("freeze('.')", "NameError: name 'freeze' is not defined"),
    ],
)
def test_what_only_micropythons_build_could_do_is_refused_in_a_sentence(tmp_path, body, says):
    write(tmp_path / "a.py", "")
    manifest = write(tmp_path / "manifest.py", body + "\n")
    with pytest.raises(firmware_manifest.ManifestError) as e:
        firmware_manifest.read(manifest)
    assert str(e.value).startswith(str(manifest) + ": ") and says in str(e.value)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def test_mip_installs_the_firmware_from_package_json_and_it_imports(tmp_path):
    """MicroPython's own mip (the unix port's), fetching package.json over HTTP as it
    would from a web server or github:, installs the files at their places, byte for
    byte, and the firmware imports from them."""
    handler = functools.partial(_QuietHandler, directory=str(FIRMWARE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    target = tmp_path / "board"
    target.mkdir()
    try:
        url = "http://127.0.0.1:%d/package.json" % server.server_address[1]
        proc = subprocess.run(
            [str(MICROPYTHON), "-m", "mip", "install", "--target", str(target), url],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    installed = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert installed == sorted(board_files())
    for name in installed:
        assert (target / name).read_bytes() == (FIRMWARE / name).read_bytes()
    # Sources, compiled by the interpreter at import: more heap than the board would have
    # for them, as this checks only that the installed tree is a whole firmware.
    out = subprocess.run(
        [str(MICROPYTHON), "-X", "heapsize=2m", "-c", "import dockfw.app; print('ok')"],
        cwd=target,
        env=dict(os.environ, MICROPYPATH="."),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr

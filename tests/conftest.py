from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import docksim  # noqa: F401  (makes dockfw importable: micropython stand-in)
import pytest

if TYPE_CHECKING:
    from host_fakedock import FakeDock
    from mqtt_broker import Broker, Watcher

ROOT = Path(__file__).resolve().parents[1]
# tests/mp/ is tier B: plain functions for the MicroPython runner (tools/mptest.py).
collect_ignore = ["mp"]
sys.path.insert(0, str(ROOT / "tests"))


@pytest.fixture
def root() -> Path:
    return ROOT


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``long`` (a minute or more) first: xdist hands tests out in this
    order, so the two workers end together instead of one running a five-minute test
    alone at the end. Tests sharing a long module fixture carry one ``xdist_group`` so
    that it is built once (``make test-a`` runs ``--dist loadgroup``)."""
    items.sort(
        key=lambda item: (
            item.get_closest_marker("long") is None,
            item.get_closest_marker("xdist_group") is None,  # a group: the longest unit
        )
    )


# The fixtures the host tests share. Their modules are imported when a test asks for
# one, so that a run without those tests needs neither a pty nor paho.


@pytest.fixture
def sim_pty(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``pogodock sim --pty`` on misalign.json: (the process, the link naming its pty),
    stopped after as a person would (Ctrl-C)."""
    from support.cli import start_sim_pty
    from support.procs import interrupt

    misalign = str(ROOT / "scenarios" / "misalign.json")
    proc, path = start_sim_pty(misalign, tmp_path / "ttySIM")
    yield proc, path
    interrupt(proc)


@pytest.fixture
def dock(tmp_path: Path) -> Iterator[FakeDock]:
    """A fake dock plugged in at ``tmp_path/ttyDOCK`` (host_fakedock), unplugged after."""
    from host_fakedock import FakeDock

    d = FakeDock(tmp_path / "ttyDOCK")
    d.plug()
    yield d
    d.unplug()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A Mosquitto broker of the test's own (mqtt_broker), stopped after."""
    from mqtt_broker import Broker

    b = Broker(tmp_path).start()
    yield b
    b.stop()


@pytest.fixture
def watch(broker: Broker) -> Iterator[Watcher]:
    """A client of ``broker`` that keeps what is published."""
    from mqtt_broker import Watcher

    w = Watcher(broker)
    yield w
    w.close()


@pytest.fixture(scope="session")
def firmware_image(tmp_path_factory) -> Path:
    """The flashed image for the virtual board (the vboard's arch), built once."""
    if str(ROOT / "tools") not in sys.path:
        sys.path.insert(0, str(ROOT / "tools"))
    import flash as flash_tool  # tools/flash.py: what make flash copies

    return flash_tool.build_image(
        "pico-dock-4",
        tmp_path_factory.mktemp("image") / "img",
        "host",  # the vboard's arch
    )

"""One monitor, several virtual docks on real pseudo-terminals: each kept apart by its uid.

Each dock is ``pogodock sim --pty`` with its own scenario (so its own seed and uid),
reached through a symlink the test controls, so that a dock can be swapped for
another behind the same port path, as a different board plugged into the same USB
socket.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from docksim.wiring import unique_id
from host_fakedock import FakeDock, wait_for
from mqtt_broker import Broker, Watcher
from pogodock.link import fleet, ports
from pogodock.link.fleet import DockRouter, Fleet, TaggedQueue
from pogodock.recordings import replay
from pogodock.records import DOCK_CHANGED, REBOOT, Hello, LinkEvent
from pogodock.views.fleetprint import FleetPrinter
from support.cli import run_cli, start_cli, start_sim_pty
from support.procs import interrupt

SEEDS = {"misalign": 2, "intermittent": 3, "faults": 6}


def uid_of(scenario: str) -> str:
    return unique_id(SimpleNamespace(seed=SEEDS[scenario])).hex()


class Sims:
    """Virtual docks behind symlinks that come and go with each sim, as a USB dock's port
    does: ``plug(name, scenario)`` serves a dock at ``folder/name``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.procs: dict[str, subprocess.Popen] = {}

    def plug(self, name: str, scenario: str) -> str:
        proc, link = start_sim_pty(scenario, self.folder / name, stderr=subprocess.DEVNULL)
        self.procs[name] = proc
        return link

    def unplug(self, name: str) -> None:
        interrupt(self.procs.pop(name))

    def close(self) -> None:
        for proc in self.procs.values():
            interrupt(proc)


@pytest.fixture
def sims(tmp_path: Path) -> Iterator[Sims]:
    s = Sims(tmp_path)
    yield s
    s.close()


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()


def metric(text: str, name: str, dock: str) -> float | None:
    m = re.search(r'^%s\{dock="%s"\} (\S+)$' % (name, dock), text, re.M)
    return float(m.group(1)) if m else None


def test_two_ports_and_a_swap_keep_every_dock_apart_by_uid(
    sims: Sims, tmp_path: Path, broker: Broker, watch: Watcher
):
    a, b, c = uid_of("misalign"), uid_of("intermittent"), uid_of("faults")
    assert len({a[:8], b[:8], c[:8]}) == 3
    one = sims.plug("dock1", "misalign")
    two = sims.plug("dock2", "intermittent")
    folder = tmp_path / "rec"
    mon = start_cli(
        "monitor", "--port", one, "--port", two,
        "--headless", "--record", str(folder), "--prometheus", "127.0.0.1:0",
        "--mqtt", broker.url, "--ha-discovery",
        "--every", "2", "--duration", "14",
    )  # fmt: skip
    assert mon.stderr is not None
    served = mon.stderr.readline()
    m = re.search(r"(http://\S+/metrics)", served)
    assert m, served
    url = m.group(1)
    assert wait_for(lambda: metric(scrape(url), "pogodock_link_up", b) == 1, 8)
    # Another board behind the second port's path: a different dock, not a reboot.
    sims.unplug("dock2")
    sims.plug("dock2", "faults")
    assert wait_for(lambda: metric(scrape(url), "pogodock_link_up", c) == 1, 8)
    text = scrape(url)
    assert metric(text, "pogodock_link_up", a) == 1
    assert metric(text, "pogodock_link_up", b) == 0
    for uid in (a, b, c):
        assert metric(text, "pogodock_reboots_total", uid) == 0
    # MQTT: a client per port, each dock under its own base; the swapped-out one offline.
    status = {u: "pogodock/%s/status" % u for u in (a, b, c)}
    assert wait_for(lambda: watch.get(status[c]) == b"online", 8), watch.topics()
    assert watch.get(status[a]) == b"online" and watch.get(status[b]) == b"offline"
    assert json.loads(watch.get("pogodock/%s/info" % c) or b"{}")["uid"] == c
    # Home Assistant: a device per dock, each sensor reading its own dock's topics.
    for uid in (a, b, c):
        configs = [
            t for t in watch.topics() if t.startswith("homeassistant/sensor/pogodock_%s/" % uid)
        ]
        assert configs, uid
        body = json.loads(watch.get(configs[0]) or b"{}")
        assert body["availability_topic"] == status[uid] and body["device"]["identifiers"]
    out, err = mon.communicate(timeout=30)
    assert mon.returncode == 0, err
    assert "Traceback" not in err
    assert not re.search(r"mqtt: lost", err), err  # no client took another's id
    lines = out.splitlines()
    prefixes = {line.split(" ")[1] for line in lines}
    assert prefixes == {a[:8], b[:8], c[:8]}, prefixes
    assert not [line for line in lines if "rebooted" in line or "link reboot" in line]
    changed = [line for line in lines if "link dock_changed" in line]
    assert len(changed) == 1 and changed[0].split(" ")[1] == c[:8], changed
    assert "uid %s (was %s)" % (c, b) in changed[0]
    # The dock swapped out gets no periodic summary of stale values, only the last one.
    after = lines[lines.index(changed[0]) :]
    assert len([x for x in after if x.split(" ")[1] == b[:8] and "health:" in x]) == 1
    # The new dock's hello, its samples and summary: under its own uid only.
    assert any(line.split(" ")[1] == c[:8] and "hello:" in line for line in lines)
    # One recording per dock, each an ordinary recording of that dock alone.
    assert sorted(p.name for p in folder.iterdir()) == sorted(u + ".jsonl" for u in (a, b, c))
    for uid in (a, b, c):
        rec = replay.load(str(folder / (uid + ".jsonl")))
        hellos = {r.uid for r in rec.records if isinstance(r, Hello)}
        assert hellos == {uid}
        kinds = {r.kind for r in rec.records if isinstance(r, LinkEvent)}
        assert REBOOT not in kinds and DOCK_CHANGED not in kinds


def test_all_follows_the_docks_found_and_one_plugged_in_later(
    sims: Sims, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    # Another MicroPython board with the same USB id: it never says hello.
    other = FakeDock(tmp_path / "ttyOTHER")
    other.answer = False
    other.plug()
    found = [str(other.link), sims.plug("dock1", "misalign")]
    monkeypatch.setattr(ports, "find_docks", lambda: list(found))
    queue = TaggedQueue()

    def attach(reader) -> None:
        reader.subscribe(DockRouter(reader, queue))

    f = Fleet([], attach, scan=True, rescan_s=0.5)
    f.confirm_timeout = 0.5
    printer = FleetPrinter(out=open(os.devnull, "w"), every=0)
    keys: set[str] = set()

    def seen() -> set[str]:
        for key, rec in queue.drain():
            keys.add(key)
            printer.handle(key, rec)
        return keys

    try:
        f.start()
        assert wait_for(lambda: uid_of("misalign") in seen(), 8)
        found.append(sims.plug("dock2", "intermittent"))
        found.append(found[0])  # the same port found twice is followed once
        assert wait_for(lambda: uid_of("intermittent") in seen(), 8)
        assert len(f.readers) == 2 and os.path.realpath(other.link) not in f.readers
        assert seen() == {uid_of("misalign"), uid_of("intermittent")}
        # Asked once, then left alone (not sent info at every rescan, not held open).
        assert [c["cmd"] for c in other.commands] == ["info"]
        for key in keys:  # each model holds its own dock's hello and pins
            model = printer.printers[key].model
            assert model.hello is not None and model.hello.uid == key
            assert model.link.reboots == 0
    finally:
        f.stop()
        other.unplug()


def test_a_dock_that_never_names_itself_is_known_by_its_port():
    class Quiet:
        uid = None
        port = "/dev/serial/by-id/usb-dock"
        current_port = None

    assert fleet.dock_key(Quiet()) == "port-usb-dock"  # type: ignore[arg-type]


def test_the_fleet_printer_cuts_uids_only_while_they_stay_apart():
    out = io.StringIO()
    printer = FleetPrinter(out=out, every=0)
    keys = ("0123456789abcdef", "0123456700000000", "fedcba9876543210")
    for key in keys:
        printer.handle(key, LinkEvent(1767225600.0, "connected", "connected to " + key))
    printer.handle(keys[0], LinkEvent(1767225601.0, "lost", "1 line lost"))
    lines = out.getvalue().splitlines()
    # Alone, the first dock was cut to 8 digits; once another shares them, both are whole.
    assert [line.split(" ")[1] for line in lines] == [
        "01234567",
        "0123456700000000",
        "fedcba98",
        "0123456789abcdef",
    ]
    assert lines[-1] == "2026-01-01T00:00:01.000000Z 0123456789abcdef link lost: 1 line lost"


def test_a_port_that_cannot_be_opened_is_said_at_once(tmp_path: Path):
    class Port:
        uid = None
        port = str(tmp_path / "ttyNONE")
        current_port = None

    got: list[tuple[str, object]] = []
    router = DockRouter(Port(), lambda key, rec: got.append((key, rec)))  # type: ignore[arg-type]
    router(LinkEvent(0.0, "connected", port=Port.port))
    assert got == []  # whose it is waits for the dock's first line
    router(LinkEvent(0.0, "port_error", "no such port", port=Port.port))
    assert [(k, r.kind) for k, r in got] == [
        ("port-ttyNONE", "connected"),
        ("port-ttyNONE", "port_error"),
    ]  # type: ignore[attr-defined]


def test_bad_fleet_command_lines_are_one_sentence(tmp_path: Path):
    def run(*args: str) -> subprocess.CompletedProcess:
        return run_cli("monitor", *args, timeout=30)

    r = run("--port", "/dev/null", "--port", "/dev/zero", "--mqtt", "mqtt://127.0.0.1/home/dock1")
    assert r.returncode == 2 and "must not name a base topic (home/dock1)" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    blocker = tmp_path / "file"
    blocker.write_text("")
    r = run("--all", "--headless", "--record", str(blocker / "rec"), "--duration", "1")
    assert r.returncode == 2 and "cannot keep recordings in" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = run("--port", str(tmp_path / "none1"), "--port", str(tmp_path / "none2"), "--headless")
    assert r.returncode == 1 and "none1" in r.stderr and "Traceback" not in r.stderr

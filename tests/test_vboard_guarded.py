"""The flashed firmware guarded by its watchdog, on the virtual board (the real MicroPython
interpreter, whose ``machine.WDT`` bites as the rp2 port's does):

* a hang anywhere in the loop ends in a watchdog reset within ``WATCHDOG_MS``, and the
  next ``hello`` says ``watchdog``;
* boots that keep ending in firmware errors reboot with ``crash`` and then park the
  dock in safe mode, charging off, until ``tools/flash.py --resume`` (``make resume``);
* ``tools/flash.py`` (``make flash``) works on a running, guarded dock, twice over;
* damaged state files on the board's real filesystem are set aside, named in a
  ``storage`` event, and the dock samples on.

Faults are injected by a ``main.py`` that wraps a firmware method before calling
``dockfw.rp2040.main()``: the firmware itself is the flashed image, unchanged.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest
from dockfw.app import WATCHDOG_MS
from support.cmdlink import Link
from support.vboards import ROOT, flashed, scenario, vboard

BITE_MARGIN_S = 4.0  # the host's view of a bite and a reboot: pipes, imports, a busy machine

HANG_MAIN = """\
import os, time
from dockfw import app

_step = app.App.tick
_start = time.ticks_ms()


def _step_then_hang(self):
    if time.ticks_diff(time.ticks_ms(), _start) > 3000:
        try:
            os.stat("/hung")
        except OSError:  # only the first boot hangs
            open("/hung", "w").close()
            print("hanging")
            while True:
                pass
    _step(self)


app.App.tick = _step_then_hang
from dockfw import rp2040

rp2040.main()
"""

CRASH_MAIN = """\
from dockfw import alignment


def _broken(self, s, now):
    raise RuntimeError("injected")


alignment.Alignment.cycle = _broken
from dockfw import rp2040

rp2040.main()
"""


# The App cannot be built (a MemoryError, say) / the I2C controller cannot be set up.
NO_APP_MAIN = """\
from dockfw import app


def _cannot(self, hal):
    raise MemoryError("injected")


app.App.__init__ = _cannot
from dockfw import rp2040

rp2040.main()
"""

NO_BUS_MAIN = """\
import machine


def _no_bus(*args, **kwargs):
    raise OSError(5)


machine.I2C = _no_bus
from dockfw import rp2040

rp2040.main()
"""


def of_type(link: Link, kind: str) -> list[tuple[float, dict]]:
    return [(t, r) for t, r in link.snapshot() if r["type"] == kind]


def samples_seen(link: Link, count: int) -> bool:
    return len(of_type(link, "sample")) >= count


def hello_now(link: Link) -> dict:
    """The dock's hello, asked for (the boot's own went out before this host opened the
    port). The virtual board runs in real time: on a loaded CI machine its first answer
    after a boot took over 10 s once."""
    link.request(b'{"cmd":"info","id":"i"}', "i", timeout=30)
    return of_type(link, "hello")[-1][1]


def flash_tool(port: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "tools/flash.py", "--port", port, "--board", "pico-dock-4",
         "--out", str(tmp_path / "image"), *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=90,
    )  # fmt: skip


def test_a_hang_in_the_loop_ends_in_a_watchdog_reset_and_charging_resumes(tmp_path, firmware_image):
    with vboard(scenario(tmp_path), flashed(tmp_path, firmware_image, HANG_MAIN)) as port:
        link = Link(port)
        try:
            assert link.wait(lambda: b"hanging" in b"".join(link.console), 30), link.console
            hung_at = max(t for t, r in link.snapshot())  # the last line before the hang
            # (The first boot's hello went out before this host opened the port.)
            bitten = lambda: [  # noqa: E731
                (t, r) for t, r in of_type(link, "hello") if r["reset_cause"] == "watchdog"
            ]
            assert link.wait(lambda: bitten(), 20), of_type(link, "hello")
            # Charging was on before the hang (the watchdog is what ends it on the board:
            # a reset drops the charge pin, and the pull-down holds it off).
            samples = [r for t, r in of_type(link, "sample") if t <= hung_at]
            assert samples and samples[-1]["charging"]
            rebooted_at, hello = bitten()[0]
            assert hello["watchdog_ms"] == WATCHDOG_MS
            assert WATCHDOG_MS / 1000 - 0.3 < rebooted_at - hung_at < WATCHDOG_MS / 1000 + 4
            # The next boot samples and charges again, guarded again.
            assert link.wait(
                lambda: any(r["charging"] for t, r in of_type(link, "sample") if t > rebooted_at),
                20,
            )
        finally:
            link.close()


def test_boots_that_keep_crashing_park_the_dock_in_safe_mode_until_resumed(
    tmp_path, firmware_image
):
    flash = flashed(tmp_path, firmware_image, CRASH_MAIN)
    with vboard(scenario(tmp_path), flash) as port:
        link = Link(port)
        try:

            def parked() -> bool:
                logs = [r.get("msg", "") for _, r in of_type(link, "log")]
                return any("safe mode" in x for x in logs) or any(
                    b"safe mode" in x for x in link.console
                )

            assert link.wait(parked, 60), (link.console[-5:], of_type(link, "hello"))
            hellos = [r for _, r in of_type(link, "hello")]
            # Boot 1 (its hello went out before this host opened the port) and two
            # reboots for crashes; the fourth boot parks.
            assert [h["reset_cause"] for h in hellos][-2:] == ["crash", "crash"], hellos
            assert hellos[-1]["last_error"] == {
                "where": "cycle/Alignment",
                "error": "RuntimeError: injected",
            }
            errors = [r for _, r in of_type(link, "event") if r["kind"] == "firmware_error"]
            assert len(errors) >= 9 and all("Alignment" in r["where"] for r in errors)
            # Charging never came on: each boot cut it at its first cycle's error.
            assert not any(r["charging"] for _, r in of_type(link, "sample"))
            # Parked: nothing more comes (no watchdog, no firmware).
            count = len(of_type(link, "hello"))
            time.sleep(WATCHDOG_MS / 1000 + 1)
            assert len(of_type(link, "hello")) == count
        finally:
            link.close()
        # The fix is flashed; make resume leaves safe mode and the dock charges again.
        shutil.copy(firmware_image / "main.py", flash / "main.py")
        done = flash_tool(port, tmp_path, "--resume")
        assert done.returncode == 0, done.stdout + done.stderr
        link = Link(port)
        try:
            assert link.wait(lambda: any(r["charging"] for _, r in of_type(link, "sample")), 30)
            hello = hello_now(link)
            assert hello["watchdog_ms"] == WATCHDOG_MS and hello["last_error"] is None
        finally:
            link.close()


def test_make_flash_works_on_a_running_guarded_dock(tmp_path, firmware_image):
    with vboard(scenario(tmp_path), flashed(tmp_path, firmware_image)) as port:
        for attempt in range(2):
            link = Link(port)
            try:
                assert link.wait(partial(samples_seen, link, 3), 30), attempt
                assert of_type(link, "sample")[-1][1]["charging"]
            finally:
                link.close()
            # The watchdog keeps counting after mpremote stops the firmware: flashing
            # goes through safe mode, so no bite lands in the middle of the copy.
            done = flash_tool(port, tmp_path)
            assert done.returncode == 0, done.stdout + done.stderr
        link = Link(port)
        try:
            assert link.wait(lambda: len(of_type(link, "sample")) >= 3, 30)
            assert hello_now(link)["watchdog_ms"] == WATCHDOG_MS
        finally:
            link.close()


DAMAGED = {
    "docking.json": b'{"version": 1, "present": false, "cycles": {"VBUS1": "x"}}',
    "wear.json": b"\x00\xff\x13binary",
    "clock.json": b'{"version": 1, "t_s": Infinity}',
    "drift.json": b'{"version": 99}',
}


def test_damaged_state_on_the_board_is_set_aside_named_and_the_dock_samples_on(
    tmp_path, firmware_image
):
    flash = flashed(tmp_path, firmware_image)
    state = flash / "state"
    state.mkdir(exist_ok=True)
    for name, data in DAMAGED.items():
        (state / name).write_bytes(data)
    # The device leaves at 4 s: its departure is saved (nothing is written as it lands).
    events = [{"t": 0.3, "type": "dock"}, {"t": 4, "type": "undock"}]
    with vboard(scenario(tmp_path, events=events), flash) as port:
        link = Link(port)
        try:
            assert link.wait(lambda: len(of_type(link, "sample")) >= 5, 30)
            storage = [r for _, r in of_type(link, "event") if r["kind"] == "storage"]
            named = {r["file"] for r in storage}
            assert named >= {"docking", "wear", "clock", "drift"}, storage
            assert all(r["action"] and r["reason"] for r in storage)
            assert any(r["charging"] for _, r in of_type(link, "sample"))
            saved = lambda: [  # noqa: E731
                r for _, r in of_type(link, "event") if r["kind"] == "state_saved"
            ]
            assert link.wait(lambda: saved(), 30), of_type(link, "event")
            assert saved()[0]["why"] == "undocked"
            boots = {r["boot"] for _, r in link.snapshot()}
            assert len(boots) == 1  # one boot: nothing stopped it
        finally:
            link.close()
    for name, data in DAMAGED.items():
        assert (state / (name + ".bad")).read_bytes() == data  # set aside, not deleted
    # What the dock wrote since is well formed: the docking it saw, counted from zero.
    docking = json.loads((state / "docking.json").read_text())
    assert docking["version"] == 1 and docking["present"] is False
    assert set(docking["cycles"].values()) == {1}, docking


@pytest.mark.parametrize(
    ("main", "says"),
    [
        (NO_APP_MAIN, "the firmware could not start (MemoryError: injected), charging off"),
        (NO_BUS_MAIN, "hardware could not be set up (OSError: [Errno 5] EIO), charging off"),
    ],
)
def test_a_firmware_that_cannot_start_says_why_on_the_protocol(tmp_path, firmware_image, main,
                                                               says):  # fmt: skip
    # Not a traceback on a console no host reads: a log line a host's reader shows, then
    # the REPL, charging off, no watchdog (nothing would feed it).
    with vboard(scenario(tmp_path), flashed(tmp_path, firmware_image, main)) as port:
        link = Link(port)
        try:
            link.send(b"\x04")  # the boot's own line went out before this host came
            logs = lambda: [r["msg"] for _, r in of_type(link, "log")]  # noqa: E731
            assert link.wait(lambda: any(says in m for m in logs()), 30), (logs(), link.console)
            count = len(logs())
            time.sleep(WATCHDOG_MS / 1000 + 1)  # no bite: no reboot, no second line
            assert len(logs()) == count and not of_type(link, "sample")
            assert not any(b"Traceback" in x for x in link.console), link.console
        finally:
            link.close()

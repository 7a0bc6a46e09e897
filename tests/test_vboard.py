"""``pogodock vboard``: the real MicroPython interpreter as a dock on a real pseudo-terminal.

Every test here starts its own vboard and talks to it with the real tools: mpremote,
``tools/flash.py`` (what ``make flash`` runs) and the host's reader core.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import serial
from dockfw.app import FIRMWARE_VERSION
from host_fakedock import wait_for
from pogodock.link.reader import Reader
from pogodock.records import Ack, Hello, Record, Sample
from pogodock.virtual.vboard.gate import INTERRUPT_GRACE_S, InputGate
from pogodock.virtual.vboard.server import RESET_DARK_S
from support.vboards import ROOT, scenario, vboard

MPREMOTE = str(Path(sys.executable).with_name("mpremote"))
PINS = ["VBUS1", "GND1", "GND2", "VBUS2"]


def mpremote(port: str, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(
        [MPREMOTE, "connect", port, *args], capture_output=True, text=True, timeout=timeout
    )


class Terminal:
    """A host on the port with pyserial, as a person at a terminal."""

    def __init__(self, port: str) -> None:
        self.ser = serial.Serial(port, timeout=0.05)
        self.seen = b""

    def read_until(self, marker: bytes, timeout: float = 10) -> bytes:
        end = time.monotonic() + timeout
        while marker not in self.seen:
            if time.monotonic() > end:
                raise AssertionError("no %r in %r" % (marker, self.seen[-500:]))
            self.seen += self.ser.read(4096)
        before, _, self.seen = self.seen.partition(marker)
        return before + marker

    def wait_for(self, marker: bytes, timeout: float = 10) -> tuple[bytes, float]:
        """``read_until``, and the moment the marker was seen (``time.monotonic()``)."""
        out = self.read_until(marker, timeout)
        return out, time.monotonic()

    def wait_for_silence(self, quiet_s: float, timeout: float = 10) -> float:
        """Read until nothing has come for ``quiet_s``; when the last byte came."""
        end = time.monotonic() + timeout
        last = time.monotonic()
        while time.monotonic() - last < quiet_s:
            if time.monotonic() > end:
                raise AssertionError("never quiet for %s s: %r" % (quiet_s, self.seen[-200:]))
            data = self.ser.read(4096)
            if data:
                self.seen += data
                last = time.monotonic()
        return last

    def send(self, data: bytes) -> None:
        self.ser.write(data)

    def close(self) -> None:
        self.ser.close()


# -- mpremote against an empty board ------------------------------------------------------


def test_mpremote_exec_ls_and_tracebacks_on_an_empty_board(tmp_path):
    with vboard(scenario(tmp_path)) as port:
        assert os.path.exists(port)
        out = mpremote(port, "exec", "print(1+1)")
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "2"

        err = mpremote(port, "exec", "x = 1\n1/0")
        assert err.returncode == 1
        text = err.stdout + err.stderr
        assert 'File "<stdin>", line 2, in <module>' in text
        assert "ZeroDivisionError: divide by zero" in text
        assert "vboard:" not in text  # the board's own frames stay hidden, as on a Pico

        # The flash is a folder: absolute paths, rename over a file (the firmware's store
        # does that), and ".." stops at the top.
        code = (
            "import os\n"
            "os.mkdir('/state')\n"
            "open('/state/a.tmp','w').write('new')\n"
            "open('/state/a.json','w').write('old')\n"
            "os.rename('/state/a.tmp', '/state/a.json')\n"
            "open('/../../escape.txt','w').write('x')\n"
            "print(sorted(os.listdir('/')), os.listdir('/state'), open('/state/a.json').read())"
        )
        out = mpremote(port, "exec", code)
        assert out.returncode == 0, out.stdout + out.stderr
        assert out.stdout.strip() == "['escape.txt', 'state'] ['a.json'] new"

        info = mpremote(
            port,
            "exec",
            "import machine, sys; print(machine.reset_cause() == machine.PWRON_RESET, "
            "len(machine.unique_id()), sorted(sys.modules))",
        )
        # A board's module set: the stand-ins for two built-in modules, none of the
        # vboard's own (a flashed dockfw must not find the simulator's copy).
        assert info.stdout.strip() == "True 8 ['__main__', 'machine', 'micropython']"

        # mpremote mount moves file data over the link with Ctrl-C switched off
        # (micropython.kbd_intr(-1)): bytes 0x03 in it are data, not interrupts.
        share = tmp_path / "share"
        share.mkdir()
        (share / "blob.bin").write_bytes(bytes(range(256)) * 8)
        out = mpremote(
            port,
            "mount",
            str(share),
            "exec",
            "import hashlib, binascii\n"
            "print(binascii.hexlify(hashlib.sha256(open('blob.bin','rb').read()).digest()))",
        )
        expected = hashlib.sha256(bytes(range(256)) * 8).hexdigest()
        assert "b'%s'" % expected in out.stdout, out.stdout + out.stderr


def test_a_flash_folder_with_a_long_path(tmp_path):
    """The unix port dies on a command-line argument of 256 bytes or more: the board's
    paths reach it another way."""
    flash = tmp_path / ("d" * 120) / ("e" * 120) / "flash"
    flash.mkdir(parents=True)
    (flash / "hello.txt").write_text("hi")
    assert len(str(flash)) > 256
    with vboard(scenario(tmp_path), flash) as port:
        out = mpremote(port, "exec", "import os; print(os.listdir('/'))")
        assert out.stdout.strip() == "['hello.txt']", out.stdout + out.stderr


def test_scenario_time_runs_from_power_on_across_resets(tmp_path):
    """The supply sense pad reads the whole rail (clipped) until a device docks at 6 s
    (scenario time 0: when the port appears); every mpremote command soft-resets the
    board first, so each read is a fresh interpreter reading hardware that kept running."""
    read_pad = (
        "import machine, time\n"
        "i2c = machine.I2C(0, scl=machine.Pin(5), sda=machine.Pin(4))\n"
        "time.sleep_ms(10)\n"
        "b = i2c.readfrom_mem(0x44, 1, 2)\n"
        "print((b[0] << 8 | b[1]) - (65536 if b[0] & 0x80 else 0))"
    )
    # Docking late enough that the first command, started as the port appears, reads
    # before it even on a loaded machine (pytest -n 2 on 2 cores).
    with vboard(scenario(tmp_path, dock_at=6.0)) as port:
        start = time.monotonic()
        before = mpremote(port, "exec", read_pad)
        assert time.monotonic() - start < 5.0, "too slow to see the undocked state"
        assert int(before.stdout) >= 31000, before.stdout + before.stderr  # full scale
        time.sleep(max(0.0, 6.5 - (time.monotonic() - start)))
        after = mpremote(port, "exec", read_pad)
        assert 0 < int(after.stdout) < 10000, after.stdout + after.stderr  # tens of mV
        wrong_bus = mpremote(port, "exec", "import machine; machine.I2C(1).readfrom(0x44, 2)")
        assert "OSError: [Errno 5] EIO" in wrong_bus.stdout + wrong_bus.stderr


# -- make flash, then the firmware at boot ------------------------------------------------


def test_flash_then_the_firmware_runs_and_answers_the_reader(tmp_path):
    flash = tmp_path / "flash"
    flash.mkdir()
    with vboard(scenario(tmp_path), flash) as port:
        proc = subprocess.run(
            [sys.executable, "tools/flash.py", "--port", port, "--board", "pico-dock-4",
             "--out", str(tmp_path / "image")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert (flash / "main.py").is_file()
        assert json.loads((flash / "board.json").read_text())["name"] == "pico-dock-4"
        mpys = sorted(p.name for p in (flash / "dockfw").glob("*.mpy"))
        assert {"app.mpy", "rp2040.mpy", "ina219.mpy"} <= set(mpys)

        seen: list[Record] = []
        with Reader(port, confirm_timeout=5.0) as r:
            r.subscribe(seen.append)
            r.start()
            assert wait_for(lambda: r.confirmed, 10), "the firmware did not answer info"
            hello = r.hello
            assert isinstance(hello, Hello)
            assert hello.fw == FIRMWARE_VERSION and hello.board == "pico-dock-4"
            assert hello.pin_names == PINS
            assert hello.reset_cause == "watchdog"  # machine.reset(), as the rp2 port says
            assert wait_for(lambda: sum(isinstance(x, Sample) for x in seen) >= 3, 10)
            sample = [x for x in seen if isinstance(x, Sample)][-1]
            assert set(sample.pins) == set(PINS)
            assert {"i_ma", "v_mv", "r_mohm"} <= set(sample.pins["VBUS1"])
            ack = r.request("charge", timeout=5, on=False)
            assert isinstance(ack, Ack) and ack.cmd == "charge", ack
            ack = r.request("info", timeout=5)
            assert isinstance(ack, Ack) and ack.cmd == "info", ack
            # The dock's reboot command: machine.reset(), a fresh interpreter, a new boot.
            first = hello.boot
            assert isinstance(r.request("reboot", timeout=5), Ack)
            assert wait_for(lambda: r.hello is not None and r.hello.boot != first, 10)
            assert r.reboots == 1
        assert wait_for(lambda: (flash / "state").is_dir(), 5)  # the firmware's own store

        # mpremote soft-resets before its command: the flash is still all there.
        listing = mpremote(port, "exec", "import os; print(sorted(os.listdir('/')))")
        assert listing.stdout.strip() == "['board.json', 'dockfw', 'main.py', 'state']"


def test_ctrl_c_stops_main_py_and_ctrl_d_boots_it_again(tmp_path):
    flash = tmp_path / "flash"
    flash.mkdir()
    (flash / "main.py").write_text(
        "import time\nn = 0\nwhile True:\n    n += 1\n    print('tick', n)\n    time.sleep_ms(50)\n"
    )
    with vboard(scenario(tmp_path), flash) as port:
        term = Terminal(port)
        try:
            term.read_until(b"tick")
            term.send(b"\x03")
            out = term.read_until(b">>> ")
            assert b'File "main.py", line ' in out  # wherever the loop was
            assert b"KeyboardInterrupt: \r\n" in out
            assert b"Raspberry Pi Pico with RP2040" in out
            term.send(b"n > 0\r")  # main.py's variables are the REPL's, as on a board
            assert term.read_until(b">>> ").endswith(b"n > 0\r\nTrue\r\n>>> ")
            term.send(b"\x04")
            term.read_until(b"MPY: soft reboot\r\n")
            term.read_until(b"tick 1\r\n")
        finally:
            term.close()


def test_bytes_that_are_not_utf8_do_what_they_do_on_a_board(tmp_path):
    """The source goes to MicroPython's compiler as bytes, as pyexec hands it over: a
    string with a stray Latin-1 byte compiles, a lone 0xFF is an exception of the code;
    neither stops the board (main.py at boot, the friendly REPL, the raw REPL)."""
    flash = tmp_path / "flash"
    flash.mkdir()
    (flash / "main.py").write_bytes(b"print('main', 1)\n\xff\nprint('never')\n")
    with vboard(scenario(tmp_path), flash) as port:
        term = Terminal(port)
        try:
            term.send(b"\r")  # the first boot went to no host: a prompt, then boot again
            term.read_until(b">>> ")
            term.send(b"\x04")
            term.read_until(b"MPY: soft reboot\r\n")
            out = term.read_until(b">>> ")
            assert b"main 1\r\nTraceback (most recent call last):\r\n" in out, out
            assert b"never" not in out and b"Raspberry Pi Pico with RP2040" in out
            term.send(b'x = "\xe9"\r')
            term.read_until(b">>> ")
            term.send(b"\xff\r")
            assert b"Traceback (most recent call last):" in term.read_until(b">>> ")
            term.send(b"print(6*7)\r")
            assert term.read_until(b">>> ").endswith(b"\r\n42\r\n>>> ")

            term.send(b"\x01")
            term.read_until(b"raw REPL; CTRL-B to exit\r\n>")
            term.send(b'x = b"\xff"\nprint(x)\x04')
            assert term.read_until(b"\x04>") == b"OKb'\\xff'\r\n\x04\x04>"
            term.send(b"\xff\x04")
            out = term.read_until(b"\x04>")
            assert out.startswith(b"OK\x04Traceback (most recent call last):"), out
            term.send(b"print(6*9)\x04")
            assert term.read_until(b"\x04>") == b"OK54\r\n\x04\x04>"
        finally:
            term.close()


def test_input_right_behind_a_soft_reset_reaches_the_next_boot(tmp_path):
    """A Pico's USB receive buffer survives a soft reset: what the host sent in the same
    write as the Ctrl-D is read by the fresh interpreter, in both REPLs."""
    with vboard(scenario(tmp_path)) as port:
        term = Terminal(port)
        try:
            term.send(b"\r")  # a prompt for this host: the banner went to none
            term.read_until(b">>> ")
            term.send(b"\x04print(7*6)\r")
            term.read_until(b"MPY: soft reboot\r\n")
            term.read_until(b"print(7*6)\r\n42\r\n>>> ")
            term.send(b"\x01")
            term.read_until(b"raw REPL; CTRL-B to exit\r\n>")
            term.send(b"\x04print(6*9)\x04")  # mpremote's soft reset, then code at once
            term.read_until(b"OK\r\nMPY: soft reboot\r\nraw REPL; CTRL-B to exit\r\n>")
            assert term.read_until(b"\x04>") == b"OK54\r\n\x04\x04>"
        finally:
            term.close()


def test_input_right_behind_a_hard_reset_is_lost(tmp_path):
    """A Pico's USB port is gone while it reboots: what a tool writes behind its reset
    (mpremote's "\\r\\x02", late on a loaded machine) never reaches the next boot."""
    with vboard(scenario(tmp_path)) as port:
        term = Terminal(port)
        try:
            term.send(b"\r")
            term.read_until(b">>> ")
            term.send(b"import machine; machine.reset()\r")
            term.read_until(b"machine.reset()\r\n")
            time.sleep(RESET_DARK_S / 2)  # the old interpreter has gone by now
            term.send(b"print(7*6)\r")
            term.read_until(b"Raspberry Pi Pico with RP2040")  # the new boot's banner
            term.send(b"print(6*8)\r")
            out = term.read_until(b"48\r\n>>> ")
            assert b"42" not in out, out
        finally:
            term.close()


# -- the watchdog -------------------------------------------------------------------------

# main.py for the watchdog tests: waits for the host's "g" (the first boot's output would
# go to no host), then runs STEP. After the watchdog's reset it only says how it booted.
WDT_MAIN = """\
import machine, sys, time
cause = machine.reset_cause()
if cause == machine.WDT_RESET:
    print("boot", cause)
else:
    sys.stdin.buffer.read(1)
    print("boot", cause)
    for bad in ({"timeout": 8389}, {"timeout": -1}, {"id": 1}):
        try:
            machine.WDT(**bad)
        except ValueError as e:
            print("refused", e)
STEP
"""

FEED_THEN_STICK = """\
    w = machine.WDT(timeout=5000)
    w = machine.WDT(timeout=800)  # a second call starts it again with the new timeout
    for i in range(30):  # 1.5 s of feeding, twice the timeout: it keeps running
        w.feed()
        time.sleep_ms(50)
    print("stuck")
    STUCK
"""

WDT_MARGIN_S = 2.5  # the host's view of the bite: pipes, a loaded machine


def wdt_flash(tmp_path: Path, step: str) -> Path:
    flash = tmp_path / "flash"
    flash.mkdir()
    (flash / "main.py").write_text(WDT_MAIN.replace("STEP", step))
    return flash


@pytest.mark.parametrize(
    "stuck", ["while True:\n        pass", "sys.stdin.buffer.read(1)"], ids=["loop", "read"]
)
def test_the_watchdog_bites_a_program_that_stops_feeding_it(tmp_path, stuck):
    flash = wdt_flash(tmp_path, FEED_THEN_STICK.replace("STUCK", stuck))
    err: list[str] = []
    with vboard(scenario(tmp_path), flash, err) as port:
        term = Terminal(port)
        try:
            term.send(b"g")
            out, _ = term.wait_for(b"stuck\r\n")
            assert out.startswith(b"boot 1\r\n"), out  # a power-on, then no reset while fed
            assert out.count(b"refused") == 3
            assert b"refused timeout exceeds 8388" in out and b"refused WDT(1) doesn't exist" in out
            stuck_at = time.monotonic()
            out, bitten_at = term.wait_for(b">>> ", timeout=10)
            assert b"boot 3\r\n" in out  # WDT_RESET, and main.py ran again
            assert b"Raspberry Pi Pico with RP2040" in out  # a fresh boot, not a Ctrl-C
            # The last feed was 50 ms before "stuck": the bite is 750 ms after it, never
            # sooner; the interpreter reports feeds at most every 20 ms.
            assert 0.5 < bitten_at - stuck_at < 0.8 + WDT_MARGIN_S
        finally:
            term.close()
    assert "pogodock vboard: the watchdog ran out (800 ms without a feed): hard reset" in err


def test_the_watchdog_runs_on_through_a_soft_reset_and_the_repl_does_not_feed_it(tmp_path):
    flash = wdt_flash(tmp_path, "    machine.WDT(timeout=1000)\n    print('armed')\n")
    with vboard(scenario(tmp_path), flash) as port:
        term = Terminal(port)
        try:
            term.send(b"g")
            _, armed_at = term.wait_for(b"armed\r\n")
            term.read_until(b">>> ")  # main.py ended: the REPL, the watchdog running
            term.send(b"\x01")
            term.read_until(b"raw REPL; CTRL-B to exit\r\n>")
            term.send(b"\x04")  # mpremote's soft reset: back to the raw REPL, no main.py
            term.read_until(b"OK\r\nMPY: soft reboot\r\nraw REPL; CTRL-B to exit\r\n>")
            out, bitten_at = term.wait_for(b">>> ", timeout=10)
            assert b"boot 3\r\n" in out
            assert 0.9 < bitten_at - armed_at < 1.0 + WDT_MARGIN_S
            # A hard reset stops it: this boot's REPL stays up past the old timeout.
            time.sleep(1.5)
            term.send(b"print(machine.reset_cause())\r")
            assert term.read_until(b">>> ").endswith(b"\r\n3\r\n>>> ")
        finally:
            term.close()


def test_clearing_the_watchdogs_enable_bit_stops_it(tmp_path):
    """What ``dockfw.rp2040`` does after a Ctrl-C: CTRL.ENABLE cleared through mem32."""
    step = (
        "    machine.WDT(timeout=500)\n"
        "    machine.mem32[0x40058000] &= ~(1 << 30)\n"
        "    print('stopped')\n"
        "    time.sleep_ms(1500)\n"
        "    print('alive', machine.mem32[0x40058000])\n"
    )
    with vboard(scenario(tmp_path), wdt_flash(tmp_path, step)) as port:
        term = Terminal(port)
        try:
            term.send(b"g")
            out = term.read_until(b">>> ")
            assert b"stopped\r\nalive 0\r\n" in out and b"boot 3" not in out, out
        finally:
            term.close()


# -- power cuts ---------------------------------------------------------------------------

# main.py for the power-cut test: says how it booted, then ticks; "s" soft-resets, "r"
# hard-resets, any other byte is echoed.
TICKER = """\
import machine, select, sys, time
print("boot", machine.reset_cause())
p = select.poll()
p.register(sys.stdin, select.POLLIN)
while True:
    if p.poll(100):
        c = sys.stdin.buffer.read(1)
        if c == b"s":
            sys.exit()
        if c == b"r":
            machine.reset()
        print("got", c)
    print("tick")
"""


def test_a_timed_power_cut_falls_through_resets_and_the_board_boots_from_power_on(tmp_path):
    flash = tmp_path / "flash"
    flash.mkdir()
    (flash / "main.py").write_text(TICKER)
    cut = {"t": 4, "type": "power_cut", "off_s": 3}
    # Many cuts still to come in writes: more than a command line of the unix port takes.
    later = [{"t": 500 + k, "type": "power_cut", "off_s": 1, "during": "write"} for k in range(80)]
    err: list[str] = []
    with vboard(scenario(tmp_path, events=[cut, *later]), flash, err) as port:
        term = Terminal(port)
        try:
            term.read_until(b"tick\r\n")
            term.send(b"s")  # a soft reset...
            term.read_until(b"boot 1\r\n")
            term.send(b"r")  # ...and a hard one: neither cancels the cut to come
            term.read_until(b"boot 3\r\n")
            last_tick = term.wait_for_silence(1.0)  # it ticks 10 times a second: the cut
            term.seen = b""
            term.send(b"x")  # the dock is dead: this goes nowhere
            out, back = term.wait_for(b"boot 1\r\n", timeout=10)
            assert back - last_tick > 2.7  # dark for off_s, give or take the host's view
            assert out == b"boot 1\r\n" or out.endswith(b"\r\nboot 1\r\n")
            term.send(b"y")
            assert b"got b'x'" not in term.read_until(b"got b'y'")
        finally:
            term.close()
    cuts = [x for x in err if "power cut" in x]
    assert len(cuts) == 1 and cuts[0].startswith("pogodock vboard: power cut 0 at t=4.0")
    assert cuts[0].endswith("; off for 3 s")


def test_a_cut_during_a_write_leaves_the_old_state_whole_and_part_of_the_new(
    tmp_path, firmware_image
):
    """The device docks at 0.3 s and leaves at 1.5 s; the dock saves its mating cycles as
    it leaves: half of that write lands in the store's ``.tmp`` file, the rename over
    the old file never happens, and the board stays dark (``off_s`` outlasts the test)."""
    flash = tmp_path / "flash"
    shutil.copytree(firmware_image, flash)
    cut = {"t": 0.1, "type": "power_cut", "off_s": 600, "during": "write", "fraction": 0.5}
    path = scenario(
        tmp_path,
        events=[{"t": 0.3, "type": "dock"}, {"t": 1.5, "type": "undock"}, cut],
        pins={"VBUS1": {"cycles": 40}},
    )
    from docksim.scenario import load
    from pogodock.virtual.vboard.server import _seed_mating_cycles

    _seed_mating_cycles(flash, load(path, str(ROOT / "boards")))  # as the vboard will
    state = flash / "state"
    before = {x.name: x.read_bytes() for x in state.iterdir()}
    assert before  # the earlier life's mating cycles
    err: list[str] = []
    with vboard(path, flash, err):
        assert wait_for(lambda: any(x.stat().st_size for x in state.glob("*.tmp")), 15)
        time.sleep(0.3)  # a board that ran on would rename it away
    [tmp] = state.glob("*.tmp")
    [said] = [x for x in err if "power cut" in x]
    match = re.search(r"during a write of /state/(\S+) \((\d+) of (\d+) bytes landed\)", said)
    assert match and match.group(1) == tmp.name, said
    landed, size = int(match.group(2)), int(match.group(3))
    assert landed == (size + 1) // 2 and tmp.stat().st_size == landed
    after = {x.name: x.read_bytes() for x in state.iterdir() if x != tmp}
    assert after == before  # the old state whole, nothing renamed over it


# -- errors -------------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pogodock.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_bad_input_is_one_clear_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"board": "pico-dock-4", "seed": 1, "duration_s": 10,
                               "events": [{"t": 1, "type": "teleport"}]}))  # fmt: skip
    for args, says in (
        (["--scenario", str(bad)], "teleport"),
        (["--scenario", str(tmp_path / "missing.json")], "missing.json"),
        (["--scenario", "scenarios/demo.json", "--flash", str(tmp_path / "nope")], "nope"),
    ):
        proc = run_cli("vboard", *args)
        assert proc.returncode == 1, proc.stderr
        assert proc.stdout == ""  # no port was announced
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("pogodock vboard: "), proc.stderr
        assert says in lines[0]
    kept = tmp_path / "mine"
    kept.write_text("mine")
    for link, says in ((kept, "is not a symlink"), (tmp_path / "no" / "tty", "no folder")):
        proc = run_cli("vboard", "--scenario", "scenarios/demo.json", "--link", str(link))
        assert proc.returncode == 2 and proc.stdout == "", proc.stderr
        assert proc.stderr.startswith("pogodock vboard: ") and says in proc.stderr
    assert kept.read_text() == "mine"


def test_the_link_names_the_port_while_the_board_runs_and_goes_with_it(tmp_path):
    # support.vboards serves every test's board on a link and checks that the link is
    # gone after Ctrl-C; here: a host on the link talks to the board, and after the
    # board stops a host following the link finds no port there.
    with vboard(scenario(tmp_path)) as port:
        assert os.path.islink(port)
        out = mpremote(port, "exec", "print(6 * 7)")
        assert out.returncode == 0 and out.stdout.strip() == "42", out.stderr
    assert not os.path.lexists(port)
    with pytest.raises(serial.SerialException):
        serial.Serial(port)


class DyingInterpreter:
    """Stands in for ``interp.Interpreter``: a "MicroPython" that prints a last line and
    ends before it says anything on its control line, at every boot."""

    def __init__(self, last_words: str = "UnicodeError: ", program: str | None = None) -> None:
        self.micropython = Path(program or sys.executable)
        self.last_words = last_words
        self.lib: Path | None = None

    def compile(self, lib: Path) -> None:
        lib.mkdir()
        self.lib = lib

    def command(self, args: list[str]) -> list[str]:
        code = "import sys; print('Traceback (most recent call last):'); print(%r); sys.exit(1)"
        return [str(self.micropython), "-c", code % self.last_words]

    def env(self) -> dict[str, str]:
        return dict(os.environ)


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize(
    ("program", "says"),
    [
        (None, "pogodock vboard: the MicroPython interpreter ended at boot (exit status 1): "
               "UnicodeError: weird"),
        ("/nonexistent/micropython", "pogodock vboard: cannot start /nonexistent/micropython: "
                                     "No such file or directory"),
    ],
)  # fmt: skip
def test_an_interpreter_that_cannot_boot_is_one_sentence(tmp_path, monkeypatch, program, says):
    """Three quick deaths in a row (or none started at all) end the vboard with the
    reason, not with what closing the board twice would say (EBADF), and leak nothing."""
    import io

    from pogodock.commands.vboard import run
    from pogodock.virtual.vboard import server

    monkeypatch.setattr(
        server, "Interpreter", lambda: DyingInterpreter("UnicodeError: weird", program)
    )
    old_term = signal.getsignal(signal.SIGTERM)  # serve() turns SIGTERM into an interrupt
    before = open_fds()
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    try:
        args = type("Args", (), {"scenario": scenario(tmp_path), "flash": None, "link": None})()
        assert run(args) == 1  # type: ignore[arg-type]
    finally:
        signal.signal(signal.SIGTERM, old_term)
    lines = err.getvalue().strip().splitlines()
    assert lines[-1] == says, lines
    assert len(lines) == (3 if program is None else 1)  # twice "booting again", then why
    assert open_fds() == before


# -- the Ctrl-C gate, without processes ---------------------------------------------------


def test_gate_holds_input_until_the_interpreter_says_what_it_does():
    g = InputGate()
    assert not g.from_host(b"\r\x03", 0.0)  # booting: held, the \x03 with it
    assert g.child_says(b"E", 0.1)  # main.py starts: the held Ctrl-C interrupts it
    assert g.to_child == b""
    # Another Ctrl-C before the interpreter has dealt with the first: no second SIGINT
    # (it could land in the REPL's handling of the first), what came before it dropped.
    assert g.from_host(b"abc\r\x03\r\x01", 0.2) is False
    assert g.to_child == b""  # "\r\x01" waits for the REPL, not for the program
    assert g.child_says(b"I", 0.3) is False
    assert g.to_child == b"\r\x01"
    assert g.from_host(b"\x03", 0.4) is False  # the REPL reads Ctrl-C as a byte
    assert g.to_child == b"\r\x01\x03"
    g.to_child.clear()
    assert g.child_says(b"E", 0.5) is False  # the next program runs
    assert g.from_host(b"x\x03y", 0.6) is True  # its Ctrl-C interrupts it
    assert g.from_host(b"\x03z", 0.7) is False  # once
    assert g.child_says(b"I", 0.8) is False
    assert g.to_child == b"z"


def test_gate_lets_input_through_when_an_interrupt_is_never_acknowledged():
    g = InputGate()
    g.child_says(b"E", 0.0)
    assert g.from_host(b"\x03more", 1.0)
    g.tick(1.0 + INTERRUPT_GRACE_S / 2)
    assert g.to_child == b""
    g.tick(1.0 + INTERRUPT_GRACE_S * 2)  # the program caught it and carried on
    assert g.to_child == b"more"


@pytest.mark.parametrize("keep", [True, False])
def test_gate_after_a_reset(keep):
    g = InputGate()
    g.child_says(b"I", 0.0)
    g.from_host(b"print(1)", 0.1)
    g.restart(keep_input=keep)  # soft reset keeps what was sent, hard reset loses it
    assert g.to_child == b""
    g.child_says(b"I", 0.2)
    assert g.to_child == (b"print(1)" if keep else b"")

"""Tier C: the flashed firmware on the official MicroPython rp2 port in an emulated RP2040,
its I2C bus answered by the project's own simulated dock, in lockstep with emulated time.

``Rp2Board(scenario)`` builds what ``make flash`` puts on a Pico (``tools/flash.py``'s
image) into a littlefs filesystem image, starts ``rp2emu/board.mjs`` (rp2040js running
the image named by ``POGODOCK_RP2_IMAGE`` on the boot ROM named by
``POGODOCK_RP2_BOOTROM``) and serves its bus: the emulator stops at every I2C address
byte, sends the emulated time down one pipe and waits on another for the answer, which
comes from the scenario's ``INA219Model``s and ``Circuit`` advanced to that instant; the
bytes a write carried, the charge-enable pin and flash stalls arrive in time order in
between. The board's USB serial stream is what ``lines()`` and ``send()`` see.

Beside the device's own lines it keeps what only the emulator knows (all in emulated
µs since power-on): every read of a pin monitor, the charge-enable pin's changes, the
flash stalls, and the core's busy and sleeping time. ``gaps()``, ``idle_share()`` and
``cuts()`` turn them into the figures ``tools/tier_c.py`` and ``make bench`` report.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import flash  # noqa: E402  (tools/flash.py: the image `make flash` copies)

EMU = ROOT / "rp2emu"
IMAGE_VAR = "POGODOCK_RP2_IMAGE"
BOOTROM_VAR = "POGODOCK_RP2_BOOTROM"
_WHERE = {
    IMAGE_VAR: "MicroPython's RPI_PICO v1.28.0 firmware .bin "
    "(micropython.org/download/RPI_PICO; CI: ../shared/rp2040/firmware/RPI_PICO-v1.28.0.bin)",
    BOOTROM_VAR: "the RP2040 B1 boot ROM, 16384 bytes "
    "(built from raspberrypi/pico-bootrom; CI: ../shared/rp2040/bootrom-b1.bin)",
}

# RPI_PICO's littlefs (ports/rp2: flash 0xA0000..0x200000, 4 KB blocks; _boot.py mounts
# it with VfsLfs2(progsize=256) and MicroPython's default readsize and lookahead of 32).
FS_BYTES = 0x200000 - 0xA0000
FS_BLOCK = 4096

# The RP2040's temperature sensor (datasheet 4.9.5): V = 0.706 - (T - 27) * 0.001721 at
# 12 bits against 3.3 V (as host/pogodock/virtual/vboard/mp/vb_hardware.py reads it).
_ADC_VREF_UV = 3300000
_TSENSE_27C_UV = 706000
_TSENSE_UV_PER_C = 1721

# What the simulated dock cannot do on this bus yet: refused, never silently ignored.
_UNSUPPORTED = {
    "power_cut": "power cuts (the emulator would have to drop the chip's power)",
    "bus_fault": "a bus held low (rp2040js's I2C controller has no line-level model)",
}


class Rp2Error(Exception):
    """Tier C cannot run: one sentence saying why."""


def inputs() -> tuple[Path, Path]:
    """The MicroPython image and the boot ROM, from their variables, or ``Rp2Error``."""
    found = []
    for var in (IMAGE_VAR, BOOTROM_VAR):
        value = os.environ.get(var)
        if not value:
            raise Rp2Error("%s is not set: it must name %s" % (var, _WHERE[var]))
        path = Path(value)
        if not path.is_file():
            raise Rp2Error("%s=%s is not a file: it must name %s" % (var, value, _WHERE[var]))
        found.append(path)
    return found[0], found[1]


def node_ready() -> str:
    """The ``node`` executable with rp2040js installed beside ``rp2emu/``, or ``Rp2Error``."""
    node = shutil.which("node")
    if node is None:
        raise Rp2Error("tier C needs Node.js 18 or newer on PATH (apt-get install nodejs npm)")
    if not (EMU / "node_modules" / "rp2040js" / "package.json").is_file():
        raise Rp2Error("rp2040js is not installed: run `make rp2emu` (npm ci in rp2emu/)")
    return node


def build_fs_image(board: str, out: Path) -> Path:
    """``make flash``'s files for ``board`` as the Pico's littlefs region, into ``out``."""
    from littlefs import LittleFS

    with tempfile.TemporaryDirectory() as tmp:
        image = flash.build_image(board, Path(tmp) / "flash")
        fs = LittleFS(
            block_size=FS_BLOCK,
            block_count=FS_BYTES // FS_BLOCK,
            read_size=32,
            prog_size=256,
            lookahead_size=32,
        )
        for path in sorted(image.rglob("*")):
            rel = path.relative_to(image).as_posix()
            if path.is_dir():
                fs.mkdir(rel)
            else:
                with fs.open(rel, "wb") as f:
                    f.write(path.read_bytes())
        out.write_bytes(bytes(fs.context.buffer))
    return out


def temp_adc_code(temp_c: float) -> int:
    """The 12-bit ADC code of the RP2040's temperature sensor at ``temp_c``."""
    uv = _TSENSE_27C_UV - int((temp_c - 27) * _TSENSE_UV_PER_C)
    code = (uv * 4095 + _ADC_VREF_UV // 2) // _ADC_VREF_UV
    return 0 if code < 0 else 4095 if code > 4095 else code


class _Clock:
    """What the simulated chips read: the emulator's time, set before each message."""

    def __init__(self):
        self.now_us = 0


class SimulatedDock:
    """The scenario's circuit and INA219s, answering the emulator's bus messages, and
    the record of what happened on the bus and the charge pin."""

    def __init__(self, scenario, gap_after_us=2000000):
        from docksim.circuit import Circuit
        from docksim.ina219_model import INA219Model
        from docksim.wiring import fault_actions, monitors

        for ev in scenario.events:
            if ev["type"] in _UNSUPPORTED:
                raise Rp2Error(
                    "%s: tier C cannot play %s yet (event at t=%s)"
                    % (scenario.source, _UNSUPPORTED[ev["type"]], ev["t"])
                )
        self.scenario = scenario
        board = scenario.board
        self.board = board
        self.clock = _Clock()
        self.circuit = Circuit(scenario)
        self.chips = {}
        for addr, seed in monitors(scenario):
            self.chips[addr] = INA219Model(self.clock, self.circuit.source(addr), seed=seed)
        self._faults = fault_actions(scenario)
        self.pin_addrs = [p.addr for p in board.pins]
        self.charge_gpio = board.charge_gpio
        self.active_high = bool(board.charge_active_high)
        self.gap_after_us = gap_after_us
        self.now_us = 0
        self.charging = False
        self.rail = [(0, False)]  # (t_us, charging) at every change of the charge pin
        self.stalls = []  # (t_us, stall_us): flash erase / program
        self.stats = []  # (t_us, busy_ns, wait_ns) running totals
        self.reads = {a: [] for a in self.pin_addrs}  # every read of each pin monitor
        self.transactions = 0
        self.max_gap_us = {a: 0 for a in self.pin_addrs}
        self._last_read = {a: None for a in self.pin_addrs}
        self.ended = threading.Event()

    # -- the bus -----------------------------------------------------------------------
    def _advance(self, t_ns):
        t = int(t_ns) // 1000
        self.now_us = self.clock.now_us = t
        faults = self._faults
        if faults and faults[0].t_us <= t:
            from docksim.wiring import apply_fault

            while faults and faults[0].t_us <= t:
                action = faults.pop(0)
                apply_fault(self.chips[action.addr], action.mode)
        return t

    def _counting(self, t):
        return self.charging and t >= self.gap_after_us and self.circuit.docked(t)

    def _cut_gaps(self):
        for a in self._last_read:
            self._last_read[a] = None

    def handle(self, line: bytes):
        """One message from the emulator; the answer line for a ``C``, else None."""
        parts = line.split()
        kind = parts[0]
        t = self._advance(parts[1])
        if kind == b"C":
            self.transactions += 1
            addr = int(parts[2])
            dev = self.chips.get(addr)
            temp = temp_adc_code(self.circuit.temp_c(t))
            if dev is None:
                return b"0 - %d\n" % temp
            try:
                if parts[3] == b"r":
                    data = dev.i2c_read(8)
                    if addr in self._last_read:
                        self._pin_read(addr, t)
                    return b"1 %s %d\n" % (data.hex().encode(), temp)
                dev.i2c_write(b"")  # the address alone: a chip that NAKs says so here
                return b"1 - %d\n" % temp
            except OSError:
                return b"0 - %d\n" % temp
        if kind == b"W":
            dev = self.chips.get(int(parts[2]))
            if dev is not None:
                try:
                    dev.i2c_write(bytes.fromhex(parts[3].decode()))
                except OSError:
                    pass
        elif kind == b"G":
            if int(parts[2]) == self.charge_gpio:
                on = (parts[3] == b"1") == self.active_high
                if on != self.charging:
                    self.charging = on
                    self.rail.append((t, on))
                    self.circuit.set_rail(on, t)
                    self._cut_gaps()
        elif kind == b"F":
            self.stalls.append((t, int(parts[2]) // 1000))
            self._cut_gaps()  # flash writes stall the chip: their gaps are excluded
        elif kind == b"S":
            self.stats.append((t, int(parts[2]), int(parts[3])))
        elif kind == b"E":
            self.ended.set()
        return None

    def _pin_read(self, addr, t):
        self.reads[addr].append(t)
        if not self._counting(t):
            self._last_read[addr] = None
            return
        last = self._last_read[addr]
        if last is not None and t - last > self.max_gap_us[addr]:
            self.max_gap_us[addr] = t - last
        self._last_read[addr] = t

    # -- figures -------------------------------------------------------------------------
    def max_gap_ms(self) -> float:
        """Longest interval between two reads of one pin monitor while a device was
        docked and charging, after ``gap_after_us``, flash stalls excluded."""
        return max(self.max_gap_us.values()) / 1000.0

    def idle_share(self, t0_us: int, t1_us: int) -> float | None:
        """Share of emulated time in ``[t0_us, t1_us]`` the core slept (WFI/WFE)."""
        inside = [s for s in self.stats if t0_us <= s[0] <= t1_us]
        if len(inside) < 2:
            return None
        a, b = inside[0], inside[-1]
        busy = b[1] - a[1]
        wait = b[2] - a[2]
        return wait / (busy + wait) if busy + wait else None

    def charging_at(self, t_us: int) -> bool:
        state = False
        for t, on in self.rail:
            if t > t_us:
                break
            state = on
        return state

    def cuts(self) -> list[dict]:
        """Every ``overload`` of the scenario: its onset, whether charging was on then,
        and the ms from onset to the charge-enable pin going low (None: no cut)."""
        out = []
        for ev in self.scenario.events:
            if ev["type"] != "overload":
                continue
            t0 = int(ev["t"] * 1000000)
            end = int(ev["until"] * 1000000) if "until" in ev else None
            cut = None
            for t, on in self.rail:
                if t >= t0 and not on:
                    if end is None or t <= end:
                        cut = (t - t0) / 1000.0
                    break
            out.append({"t": ev["t"], "charging": self.charging_at(t0), "cut_ms": cut})
        return out


class Rp2Board:
    """The emulated dock running ``scenario`` (a path or a parsed scenario), started by
    ``start()`` (or ``with``), until ``duration_s`` of emulated time or ``stop()``."""

    def __init__(self, scenario, until_s=None, wire=True, gap_after_s=2.0, boards_dir=None):
        from docksim import scenario as scenario_mod

        if isinstance(scenario, (str, Path)):
            bdir = str(boards_dir or ROOT / "boards")
            try:
                scenario = scenario_mod.load(str(scenario), boards_dir=bdir)
            except scenario_mod.ScenarioError as e:
                raise Rp2Error(str(e)) from None
        self.scenario = scenario
        self.until_s = scenario.duration_s if until_s is None else until_s
        self.wire = wire
        self.dock = SimulatedDock(scenario, int(gap_after_s * 1000000))
        self.proc: subprocess.Popen[bytes] | None = None
        self._tmp = None
        self._rx = bytearray()  # everything the board sent on USB
        self._rx_cond = threading.Condition()
        self._lines = queue.Queue()  # complete lines as (bytes)
        self._line_buf = bytearray()
        self.all_lines = []  # every line (bytes) received, in order
        self.stderr = []
        self._threads = []
        self._bus_error = None
        # Optional: called with every chunk the board sends (a pseudo-terminal).
        self.on_usb: Callable[[bytes], None] | None = None

    # -- life --------------------------------------------------------------------------
    def start(self):
        image, bootrom = inputs()
        node = node_ready()
        self._tmp = tempfile.TemporaryDirectory(prefix="pogodock-rp2-")
        fs_img = build_fs_image(self.scenario.board_name, Path(self._tmp.name) / "fs.img")
        req_r, req_w = os.pipe()
        ans_r, ans_w = os.pipe()
        b = self.scenario.board
        cmd = [
            node,
            str(EMU / "board.mjs"),
            "--fs", str(fs_img),
            "--i2c", str(b.i2c_id), "--sda", str(b.sda), "--scl", str(b.scl),
            "--charge-gpio", str(b.charge_gpio),
            "--bus-req", str(req_w), "--bus-ans", str(ans_r),
            "--until-s", str(self.until_s),
        ]  # fmt: skip
        if not self.wire:
            cmd.append("--no-wire")
        env = dict(os.environ, **{IMAGE_VAR: str(image), BOOTROM_VAR: str(bootrom)})
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(req_w, ans_r),
            env=env,
        )
        os.close(req_w)
        os.close(ans_r)
        self._req = os.fdopen(req_r, "rb", buffering=65536)
        self._ans = ans_w
        for target in (self._serve_bus, self._read_usb, self._read_stderr):
            th = threading.Thread(target=target, daemon=True)
            th.start()
            self._threads.append(th)
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        """Stop the emulator (if it still runs) and wait for its last messages."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for th in self._threads:
            th.join(timeout=5)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def wait(self, timeout=None) -> bool:
        """Wait for the emulator to reach its ``until_s``; True when it has ended."""
        try:
            self._p().wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        for th in self._threads:
            th.join(timeout=5)
        return True

    def failure(self) -> str | None:
        """Why the emulator ended badly (its stderr, or the bus side's error), if it did."""
        if self._bus_error is not None:
            return "the simulated dock failed: %s" % self._bus_error
        rc = self.proc.poll() if self.proc is not None else None
        if rc not in (None, 0):
            # Node ends an uncaught error's report with its own version: the error
            # itself is the first line that names one.
            lines = [x for x in "".join(self.stderr).splitlines() if x.strip()]
            named = [x for x in lines if "error" in x.lower() and not x.lstrip().startswith("at ")]
            if named:
                return named[0].strip()
            return lines[-1].strip() if lines else "the emulator exited with %d" % rc
        return None

    # -- threads -------------------------------------------------------------------------
    def _serve_bus(self):
        handle = self.dock.handle
        req = self._req
        ans = self._ans
        try:
            for line in req:
                out = handle(line)
                if out is not None:
                    os.write(ans, out)
        except Exception as e:  # the emulator waits on us: never leave it hanging
            self._bus_error = "%s: %s" % (type(e).__name__, e)
            if self.proc is not None:
                self.proc.kill()
        finally:
            self.dock.ended.set()
            try:
                os.close(ans)
            except OSError:
                pass

    def _p(self) -> subprocess.Popen[bytes]:
        if self.proc is None:
            raise Rp2Error("the emulated board was not started")
        return self.proc

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _read_usb(self):
        fd = self._p().stdout.fileno()  # type: ignore[union-attr]
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            with self._rx_cond:
                self._rx += chunk
                self._rx_cond.notify_all()
            if self.on_usb is not None:
                self.on_usb(chunk)
            buf = self._line_buf
            buf += chunk
            while True:
                nl = buf.find(b"\n")
                if nl < 0:
                    break
                line = bytes(buf[:nl]).rstrip(b"\r")
                del buf[: nl + 1]
                self.all_lines.append(line)
                self._lines.put(line)
        self._lines.put(None)
        with self._rx_cond:
            self._rx_cond.notify_all()

    def _read_stderr(self):
        for line in self._p().stderr or ():
            self.stderr.append(line.decode("utf-8", "replace"))

    # -- the USB serial port ---------------------------------------------------------------
    def send(self, data: bytes):
        stdin = self._p().stdin
        if stdin is not None:
            stdin.write(data)
            stdin.flush()

    def next_line(self, timeout=None) -> bytes | None:
        """The next line the board sent (None at the end or after ``timeout`` s)."""
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            return None

    def messages(self) -> list[dict]:
        """Every protocol line received so far, decoded (console text left out)."""
        out = []
        for line in list(self.all_lines):
            if line.startswith(b"{"):
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                if isinstance(msg, dict):
                    out.append(msg)
        return out

    def wait_for(self, predicate, timeout) -> dict | None:
        """The first protocol message from now on for which ``predicate`` holds."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            line = self.next_line(timeout=left)
            if line is None:
                if not self.running() and self._lines.empty():
                    return None
                continue
            if line.startswith(b"{"):
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                if isinstance(msg, dict) and predicate(msg):
                    return msg

    def expect(self, marker: bytes, since: int, timeout: float) -> int:
        """Wait until ``marker`` appears in the USB stream after offset ``since``; the
        offset just past it (``Rp2Error`` after ``timeout`` s)."""
        end = time.monotonic() + timeout
        with self._rx_cond:
            while True:
                at = self._rx.find(marker, since)
                if at >= 0:
                    return at + len(marker)
                left = end - time.monotonic()
                if left <= 0 or not self.running():
                    tail = bytes(self._rx[-200:])
                    raise Rp2Error("the board never sent %r (last: %r)" % (marker, tail))
                self._rx_cond.wait(timeout=min(left, 1.0))

    def received(self) -> int:
        with self._rx_cond:
            return len(self._rx)

    def raw_repl(self, code: str, timeout: float = 120.0) -> str:
        """Stop whatever runs (Ctrl-C), run ``code`` in the raw REPL, return its output
        (``Rp2Error`` with the traceback when it raised)."""
        mark = self.received()
        for _ in range(3):
            self.send(b"\r\x03")
            time.sleep(0.3)
        self.send(b"\x01")
        mark = self.expect(b"raw REPL; CTRL-B to exit\r\n>", mark, timeout)
        self.send(code.encode() + b"\x04")
        mark = self.expect(b"OK", mark, timeout)
        end = self.expect(b"\x04", mark, timeout)
        out = bytes(self._rx[mark : end - 1]).decode("utf-8", "replace")
        end2 = self.expect(b"\x04", end, timeout)
        err = bytes(self._rx[end : end2 - 1]).decode("utf-8", "replace")
        if err.strip():
            raise Rp2Error("the board's script failed: %s" % err.strip().splitlines()[-1])
        return out

    @property
    def emu_us(self) -> int:
        """The emulated time the simulated dock last saw (µs since power-on)."""
        return self.dock.now_us


HEAP_SCRIPT = """\
import gc
from dockfw.board import load
from dockfw import rp2040
from dockfw.app import App
app = App(rp2040.RP2040(load('board.json')))
gc.collect()
print('heap', gc.mem_free(), gc.mem_alloc())
"""


def heap_free(board: Rp2Board) -> int:
    """``gc.mem_free()`` after a collection with the firmware's ``App`` built, through
    the raw REPL (the running firmware is stopped with Ctrl-C first)."""
    out = board.raw_repl(HEAP_SCRIPT)
    for line in out.splitlines():
        if line.startswith("heap "):
            return int(line.split()[1])
    raise Rp2Error("the heap script printed no figure: %r" % out)

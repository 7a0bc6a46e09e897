"""The dock's main loop: sample on schedule, report, answer commands.

``App`` is handed a HAL object and never touches hardware itself. A HAL has:
``i2c`` (``machine.I2C``-like), ``clock`` (``time``-like: ticks_ms, ticks_us,
ticks_diff, ticks_add), ``board`` (``dockfw.board.Board``), ``boot_id`` and
``reset_cause`` (str), ``write(buf) -> int`` (takes what the link accepts
now, never blocks; returns the byte count), ``read_line() -> bytes or None``
(never blocks), ``wait_us(us) -> bool``
(sleeps at most ``us``, True early when host input is waiting), ``running()``,
``charge(on)`` and ``led(on)``. ``dockfw.rp2040`` builds one from ``machine``;
the simulator builds one from simulated chips.
"""

import json

from dockfw import protocol
from dockfw.board import SUPPLY
from dockfw.outqueue import OutQueue
from dockfw.protocol import Fixed, Obj
from dockfw.report import Report
from dockfw.sampler import Sampler
from dockfw.uptime import Uptime

FIRMWARE_VERSION = "0.1.0"


def _mhz(hz):
    return int(hz * 1000 + 0.5)


class App:
    def __init__(self, hal, sample_hz=None, idle_hz=None, report_hz=None):
        board = hal.board
        self.hal = hal
        self.board = board
        self.clock = hal.clock
        self.sample_mhz = _mhz(sample_hz if sample_hz is not None else board.sample_hz)
        self.idle_mhz = _mhz(idle_hz if idle_hz is not None else board.idle_hz)
        self.report_mhz = _mhz(report_hz if report_hz is not None else board.report_hz)
        self.sampler = Sampler(board, hal.i2c, 1000000000 // self.sample_mhz)
        self.report = Report(len(board.pins))
        self.uptime = Uptime(hal.clock)
        self.seq = 0
        self.out = OutQueue()
        self._last_report_ms = 0

    # -- output ---------------------------------------------------------
    def emit(self, kind, fields=()):
        """Queue one line; a line the queue cannot hold is dropped but still
        takes its ``seq``, so the host sees the gap."""
        out = self.out
        out.begin()
        protocol.write(out.put, kind, self.seq, self.hal.boot_id, self.uptime.t_ms(), fields)
        out.commit()
        self.seq += 1
        self.flush()

    def flush(self):
        """Hand queued bytes to the link for as long as it takes them."""
        out = self.out
        while out.pending():
            n = self.hal.write(out.peek())
            if not n:
                return
            out.consume(n)

    def hello_fields(self):
        pins = []
        for p in self.board.pins:
            pins.append(
                Obj(
                    [
                        ("name", p.name),
                        ("role", p.role),
                        ("x_mm", Fixed(p.x_um, 3)),
                        ("y_mm", Fixed(p.y_um, 3)),
                        ("rated_cycles", p.rated_cycles),
                        ("max_ma", p.max_ma),
                    ]
                )
            )
        return [
            ("fw", FIRMWARE_VERSION),
            ("board", self.board.name),
            ("reset_cause", self.hal.reset_cause),
            ("sample_hz", Fixed(self.sample_mhz, 3)),
            ("idle_hz", Fixed(self.idle_mhz, 3)),
            ("report_hz", Fixed(self.report_mhz, 3)),
            ("pins", pins),
            ("sense", [s.name for s in self.board.sense]),
        ]

    def send_sample(self):
        sampler = self.sampler
        report = self.report
        pins = []
        for p in self.board.pins:
            pins.append((p.name, report.pin_fields(p.index, self._pin_mv(p))))
        self.emit(
            protocol.SAMPLE,
            [
                ("docked", report.docked_cycles * 2 > report.cycles),
                ("cycles", report.cycles),
                ("pins", Obj(pins)),
                (
                    "faulty_monitors",
                    [c.addr for k, c in enumerate(sampler.chips) if not sampler.ok[k]],
                ),
            ],
        )
        report.clear()

    def _pin_mv(self, p):
        chip = self.sampler.pin_chip(p.index)
        if not self.sampler.ok[p.index]:
            return None
        # The monitor's bus input is the dock side of a supply pin; a ground
        # pin's dock-side node is the top of its shunt, i.e. the shunt reading.
        if p.role == SUPPLY:
            return chip.bus_mv
        return (chip.shunt_uv + 500) // 1000

    # -- commands -------------------------------------------------------
    def poll_commands(self):
        line = self.hal.read_line()
        while line is not None:
            self.handle_command(line)
            line = self.hal.read_line()

    def handle_command(self, line):
        line = line.strip()
        if not line:
            return
        try:
            cmd = json.loads(line)
        except ValueError:
            self.emit(
                protocol.ERROR,
                [("id", None), ("code", protocol.E_BAD_JSON), ("message", "not JSON")],
            )
            return
        if not isinstance(cmd, dict) or not isinstance(cmd.get("cmd"), str):
            self.emit(
                protocol.ERROR,
                [
                    ("id", None),
                    ("code", protocol.E_BAD_COMMAND),
                    ("message", "expected an object with a 'cmd' string"),
                ],
            )
            return
        cid = cmd.get("id")
        name = cmd["cmd"]
        if name == "info":
            self.emit(protocol.HELLO, self.hello_fields())
            self.emit(protocol.ACK, [("id", cid), ("cmd", name)])
        else:
            self.emit(
                protocol.ERROR,
                [
                    ("id", cid),
                    ("code", protocol.E_UNKNOWN_COMMAND),
                    ("message", "unknown command %s" % name),
                ],
            )

    # -- the loop -------------------------------------------------------
    def start(self):
        self.hal.charge(True)
        self.sampler.start()
        self.emit(protocol.HELLO, self.hello_fields())
        self._last_report_ms = self.clock.ticks_ms()

    def step(self):
        """One sampling cycle, and a report when one is due."""
        self.uptime.update()
        self.sampler.cycle()
        self.report.add(self.sampler)
        now = self.clock.ticks_ms()
        if (
            self.report.full()
            or self.clock.ticks_diff(now, self._last_report_ms) * self.report_mhz >= 1000000
        ):
            self._last_report_ms = now
            self.sampler.housekeeping()
            self.send_sample()

    def period_us(self):
        mhz = self.sample_mhz if self.sampler.docked else self.idle_mhz
        return 1000000000 // mhz

    def run(self):
        self.start()
        clock = self.clock
        due = clock.ticks_us()
        while self.hal.running():
            self.step()
            period = self.period_us()
            due = clock.ticks_add(due, period)
            late = clock.ticks_diff(clock.ticks_us(), due)
            if late > period:
                due = clock.ticks_us()  # fell behind a whole period: skip, do not burst
            self._wait_until(due)

    def _wait_until(self, due):
        clock = self.clock
        while True:
            left = clock.ticks_diff(due, clock.ticks_us())
            if left <= 0:
                return
            if self.out.pending():
                self.flush()
            if self.hal.wait_us(left):
                self.poll_commands()

# The soak's inside, run by tools/soak.py under the MicroPython unix port with
# MICROPYPATH at the compiled firmware and simulator (build/mpy). Plays the scenario in
# argv[1] on the simulated dock through every reboot and power cut, as a time-lapse:
# one cycle at the board's 200/s within the windows listed in argv[2] (around each
# event), and one every ``COARSE_US`` or up to the next window otherwise. Writes each
# event, hello and log line to argv[3] as it comes (the heap must not grow with the
# run), counts the rest, and prints one JSON object: line counts, the charge switch's
# changes (simulated µs, on), the boots, the mating cycles counted, and the heap (free,
# allocated after a collection) at the first sample line, at each boot's first sample
# line (allocated) and at the end.
import gc
import json
import sys

from docksim.dock import SimDock
from simload import load_scenario

FAST_US = 5000  # the board's rate with a device docked
COARSE_US = 500000000  # well within ticks_diff's range in µs (2**29)
_TYPES = (b"sample", b"health", b"event", b"hello", b"ack", b"error", b"log")
_TYPE_AT = 15  # '{"v":1,"type":"' is 15 bytes: where the type starts


def heap():
    gc.collect()
    return [gc.mem_free(), gc.mem_alloc()]  # pyright: ignore[reportAttributeAccessIssue]


class Stream:
    def __init__(self, keep):
        self.keep = keep
        self.lines = [0] * len(_TYPES)
        self.heap_start = None
        self.boot_heaps = []  # the heap at each boot's first sample line
        self.boot_seen = False

    def __call__(self, view):
        kind = bytes(view[_TYPE_AT : _TYPE_AT + 6])
        for k in range(len(_TYPES)):
            if kind.startswith(_TYPES[k]):
                self.lines[k] += 1
                break
        if not self.boot_seen and kind.startswith(b"sample"):
            self.boot_seen = True
            self.boot_heaps.append(heap()[1])
            if self.heap_start is None:
                self.heap_start = heap()
        if kind.startswith(b"event") or kind.startswith(b"hello") or kind.startswith(b"log"):
            self.keep.write(bytes(view))


class Pace:
    """The time-lapse: ``app.period_us`` for every boot."""

    def __init__(self, clock, windows):
        self.clock = clock
        self.windows = windows  # [[start_us, end_us]], sorted
        self.next = 0

    def __call__(self):
        now = self.clock.now_us
        w = self.windows
        while self.next < len(w) and w[self.next][1] <= now:
            self.next += 1
        if self.next == len(w):
            return COARSE_US
        start = w[self.next][0]
        if start <= now:
            return FAST_US
        ahead = start - now
        return COARSE_US if ahead > COARSE_US else (FAST_US if ahead < FAST_US else ahead)


def main():
    with open(sys.argv[1]) as f:
        scn = load_scenario(json.load(f))
    with open(sys.argv[2]) as f:
        windows = json.load(f)
    switch = []  # (µs, on) at each change of the charge switch, and each boot (off)
    boots = []
    with open(sys.argv[3], "wb") as keep:
        out = Stream(keep)
        dock = SimDock(scn, out, views=True, boot_seed=scn.seed)
        pace = Pace(dock.clock, windows)
        charge = dock.charge

        def watched_charge(on):
            charge(on)
            if not switch or switch[-1][1] != dock.charging:
                switch.append((dock.clock.now_us, dock.charging))

        def on_boot(app):
            app.period_us = pace
            # The monitors convert as at the board's 200/s (the App sets them from its
            # rate, which the time-lapse replaces).
            app.sampler.set_period(FAST_US)
            boots.append(dock.clock.now_us)
            out.boot_seen = False
            if switch and switch[-1][1]:
                switch.append((dock.clock.now_us, False))  # the power was off, or a reset

        dock.charge = watched_charge
        app = dock.run_firmware(sample_hz=0.002, idle_hz=0.002, on_boot=on_boot)
        end = heap()
    lines = {}
    for k in range(len(_TYPES)):
        lines[_TYPES[k].decode()] = out.lines[k]
    print(
        json.dumps(
            {
                "heap_start": out.heap_start,
                "heap_end": end,
                "boot_heaps": out.boot_heaps,
                "lines": lines,
                "sim_us": dock.clock.now_us,
                "boots_us": boots,
                "switch": switch,
                "cycles": list(app.docking.cycles),
                "dropped_lines": dock.dropped_lines(),
            }
        )
    )


main()

"""Device script: what one host command costs the firmware, on a board (``mpremote run``).

    mpremote connect PORT run tools/rp2_command_cost.py

Run it on a dock (or the emulated RP2040 of ``../shared/rp2040``) with the firmware
flashed and main.py stopped (mpremote stops it). It builds the App as
``dockfw.rp2040.main()`` does, lets the firmware's own loop run 3 s (monitors
configured, the device docked), then hands ``Commands.poll()`` a burst of command lines
through the HAL's own byte-by-byte ``read_line`` (stdin replaced by an in-memory
stream, the answers written to the real USB port) and times each line with
``time.ticks_us()``. Prints one ``COMMAND_COST`` line: microseconds per line for
``get`` (all settings), ``get`` of one key, ``set`` and ``info``, and the same
without the line read (``handle`` alone). The simulator's per-line cost
(``pogodock.sim.dock.COMMAND_COST_US``) comes from this figure.
"""

import io
import time

from dockfw import rp2040
from dockfw.app import App
from dockfw.board import load

tick = time.ticks_us
diff = time.ticks_diff
hal = rp2040.RP2040(load("board.json"))
app = App(hal)
stop_at = time.ticks_add(time.ticks_ms(), 3000)
hal.running = lambda: diff(stop_at, time.ticks_ms()) > 0  # pyright: ignore[reportAttributeAccessIssue]
app.run()


class _Ready:
    """``select.poll`` stand-in: input is waiting while the stream has bytes left."""

    def __init__(self, stream, end):
        self.stream = stream
        self.end = end

    def poll(self, timeout=0):
        return self.stream.tell() < self.end


N = 40
LINES = {
    "get_all": b'{"cmd":"get","id":%d}\n',
    "get_key": b'{"cmd":"get","key":"sample_hz","id":%d}\n',
    "set": b'{"cmd":"set","key":"min_current_ma","value":20,"id":%d}\n',
    "info": b'{"cmd":"info","id":%d}\n',
}
result = {"n": N, "docked": app.docking.present}
for name, line in LINES.items():
    data = b"".join(line % k for k in range(N))
    stream = io.BytesIO(data)
    # The HAL's own stdin and its poll object, swapped for the burst (the stubs type them).
    hal._in = stream  # pyright: ignore[reportAttributeAccessIssue]
    hal._poll = _Ready(stream, len(data))  # pyright: ignore[reportAttributeAccessIssue]
    t = tick()
    taken = 0
    while taken < N:  # read and answer every line, as Commands.poll does one at a time
        got = hal.read_line()
        if got is not None:
            app.commands.handle(got)
            taken += 1
    result[name + "_us"] = diff(tick(), t) // N
    app.flush()
    # The same lines without the read: parse, act, encode and send the answer.
    one = [line % k for k in range(N)]
    t = tick()
    for x in one:
        app.commands.handle(x[:-1])
    result[name + "_handle_us"] = diff(tick(), t) // N
    app.flush()
print("COMMAND_COST", result)

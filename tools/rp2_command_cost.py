"""Device script: what one host command costs the firmware, on a board (``mpremote run``).

    mpremote connect PORT run tools/rp2_command_cost.py

Run it on a dock (or the emulated RP2040 of ``../shared/rp2040``, or tier C's through
``tools/tier_c.py --run tools/rp2_command_cost.py``) with the firmware flashed and
main.py stopped. It builds the App as ``dockfw.rp2040.main()`` does, lets the
firmware's own loop run 3 s (monitors configured, the device docked), then hands the
HAL's own ``read_line`` a burst of each kind of line (stdin replaced by an in-memory
stream, its poll by one that says whether bytes are left; the answers written to the
real USB port) and runs them through ``Commands.step`` as the loop does between cycles,
timing every step with ``time.ticks_us()``. Prints one ``COMMAND_COST`` line: per kind,
``<kind>_us`` (all the steps of one line, read included), ``<kind>_step_us`` (the
longest single step: what a cycle could wait for; timed with automatic collection off,
since a collection inside a step is the heap's cost, which the App takes right after a
cycle), ``<kind>_steps`` and ``<kind>_heap_bytes`` (per line); and
``<kind>_handle_us`` (``Commands.handle`` alone, the line already read). The simulator's
per-line cost (``docksim.dock.COMMAND_COST_US``) comes from ``get_key_us``.
"""

import gc
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

_ONE = (1,)
_NONE = ()


class _Ready:
    """``select.poll`` stand-in: input is waiting while the stream has bytes left."""

    def __init__(self, stream, end):
        self.stream = stream
        self.end = end

    def ipoll(self, timeout=0):
        return _ONE if self.stream.tell() < self.end else _NONE


N = 12
LINES = {
    "get_all": b'{"cmd":"get","id":%d}\n',
    "get_key": b'{"cmd":"get","key":"sample_hz","id":%d}\n',
    "set": b'{"cmd":"set","key":"min_current_ma","value":20,"id":%d}\n',
    "info": b'{"cmd":"info","id":%d}\n',
    "bad_json": b'{"cmd":"get","id":%d,"key":"sample_hz" "x":1}\n',
    "deep": b'{"id":%d,"cmd":"info","x":[[[1,2.5,"a"],[true,null]],{"a":[1,2,3]}],'
    b'"y":[1,2,3,4,5,6,7,8],"z":"\\u00e9\\ud83d\\ude00\\n"}\n',
    "too_long": b'{"id":%d,"cmd":"get","key":"' + b"k" * 300 + b'"}\n',
    "garbage": b"%d" + b"\xff\x00garbage{[" * 20 + b"\n",
}
result = {"n": N, "docked": app.docking.present}
commands = app.commands
for name, line in LINES.items():
    data = b"".join(line % k for k in range(N))
    stream = io.BytesIO(data)
    # The HAL's own stdin and its poll object, swapped for the burst (the stubs type them).
    hal._in = stream  # pyright: ignore[reportAttributeAccessIssue]
    hal._poll = _Ready(stream, len(data))  # pyright: ignore[reportAttributeAccessIssue]
    longest = 0
    steps = 0
    # A collection inside a step is the heap's cost, not the step's: the App collects
    # right after a cycle once commands have used the heap up (GC_LOW_BYTES).
    gc.collect()
    free = gc.mem_free()
    gc.disable()
    t = tick()
    while stream.tell() < len(data) or commands.busy():  # pyright: ignore[reportAttributeAccessIssue]
        t0 = tick()
        commands.step()  # as Commands.poll runs it between cycles
        longest = max(longest, diff(tick(), t0))
        steps += 1
        app.flush()
    result[name + "_us"] = diff(tick(), t) // N
    gc.enable()
    result[name + "_step_us"] = longest
    result[name + "_steps"] = steps // N
    result[name + "_heap_bytes"] = (free - gc.mem_free()) // N
    # The same lines without the read: parse, act, encode and send the answer.
    one = [line % k for k in range(N)]
    t = tick()
    for x in one:
        commands.handle(x[:-1])
        app.flush()
    result[name + "_handle_us"] = diff(tick(), t) // N
print("COMMAND_COST", result)

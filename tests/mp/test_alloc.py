# Tier B: the per-cycle path allocates nothing, measured under MicroPython.
from frozenbus import FrozenHal, alloc_per_cycle_of, docked_app


def alloc_per_cycle(cycles=500):
    hal = FrozenHal()
    app = docked_app(hal)
    assert app.docking.present
    return alloc_per_cycle_of(app, hal, cycles)


def test_a_sampling_cycle_of_all_pins_allocates_nothing():
    per = alloc_per_cycle()
    assert per == 0, per


def alloc_per_report(reports=10):
    """Heap allocated per report (detectors' report(), the sample and health lines
    written into the output queue), the collector off; the queue drained as a link
    would. Returns (bytes per report, of which the lines)."""
    import gc

    hal = FrozenHal()
    app = docked_app(hal)
    out = app.out
    gc.collect()
    gc.disable()
    try:
        lines = 0
        before = gc.mem_alloc()
        for _ in range(reports):
            app._close_window()
            app._health_due = True
            for d in app.detectors:
                d.report(app)
            app.health.judge()
            mark = gc.mem_alloc()
            for j in range(len(app.board.pins)):
                app.write_sample(j)
            for j in range(len(app.board.pins)):
                app.write_health(j)
            lines += gc.mem_alloc() - mark
            out.consume(out.pending())
        return (gc.mem_alloc() - before) / reports, lines / reports
    finally:
        gc.enable()


def test_writing_the_report_lines_allocates_nothing():
    per, lines = alloc_per_report()
    print("alloc per report: %d B, of which the sample and health lines %d B" % (per, lines))
    assert lines == 0, lines
    assert per == 0, per


def allocated_while_running(app, hal, warm_s, run_s):
    """Heap allocated by ``App.run`` over ``run_s`` seconds after ``warm_s`` (the loop
    whole: cycles, report and check steps, health lines, the hand-over to the link),
    the collector off meanwhile."""
    import gc

    clock = hal.clock
    start_us = clock.now_us + warm_s * 1000000
    end_us = start_us + run_s * 1000000
    seen = {"before": None, "after": 0, "sent": 0}  # every key there: no growth while counting

    def running():
        now = clock.now_us
        if seen["before"] is None and now >= start_us:
            gc.collect()
            gc.disable()
            seen["before"] = gc.mem_alloc()
            seen["sent"] = hal.sent
        if now < end_us:
            return True
        seen["after"] = gc.mem_alloc()
        seen["sent"] = hal.sent - seen["sent"]
        return False

    hal.running = running
    try:
        app.run()
    finally:
        gc.enable()
    return seen["after"] - seen["before"], seen["sent"]


def test_docked_the_loop_allocates_nothing_so_the_collector_never_stops_sampling():
    # A collection takes ~8 ms on the RP2040: with nothing allocated while a device
    # charges, MicroPython never has to run one then (README, "The loop on the RP2040").
    # Measured from 10 s after docking (alignment has learnt its baseline) to 50 s,
    # before the first docked save (60 s after arrival).
    from dockfw.app import App

    hal = FrozenHal()
    app = App(hal)
    allocated, sent = allocated_while_running(app, hal, 10, 40)
    assert app.docking.present and app.charging
    assert sent > 40 * 5 * 400, sent  # 5 sample lines a second went out, and health
    assert allocated == 0, allocated


class _KeepingHal(FrozenHal):
    """FrozenHal that keeps what the dock sends."""

    def __init__(self):
        super().__init__()
        self.stream = bytearray()

    def write(self, buf, start, end):
        self.stream.extend(buf[start:end])
        return super().write(buf, start, end)

    def collect(self):
        super().collect()
        import gc

        self.free_after_collect = gc.mem_free()


def test_docked_lines_built_from_values_bring_a_collection_right_after_a_cycle_announced():
    import gc
    import json

    from dockfw.app import GC_AFTER_LINES, App

    hal = _KeepingHal()
    app = App(hal)
    clock = hal.clock
    state = {"sent": False, "before": 0}

    def running():
        if not state["sent"] and clock.now_us >= 3000000:
            # What a burst of events or command answers leaves on the heap.
            state["sent"] = True
            gc.collect()
            for _ in range(GC_AFTER_LINES):
                app.event("cleared", [0], "info", [("was", "test")])
            state["before"] = gc.mem_free()
        return clock.now_us < 5000000

    hal.running = running
    app.run()
    assert app.docking.present
    events = [x for x in bytes(hal.stream).split(b"\n") if b'"event"' in x]
    collected = [json.loads(x) for x in events if b'"heap_collected"' in x]
    assert len(collected) == 1, collected  # once: the loop itself builds no such line
    assert collected[0]["stall_ms"] >= 0, collected
    # The lines' garbage went (the stream the hal keeps grows meanwhile: measured at once).
    assert hal.free_after_collect > state["before"], (hal.free_after_collect, state)
    assert 3000 <= collected[0]["t_ms"] < 3000 + 300  # after the next check round

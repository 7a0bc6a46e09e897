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
    # Handing bytes to the link is not counted: the HAL's write() takes a view of the
    # queue, one small object per hand-over.
    app.flush = lambda: None
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
    # What a report still allocates: health's per-pin (state, score) pairs, and
    # alignment's list while it learns a baseline. MicroPython collects by itself when
    # the heap is full, a gap in sampling on the RP2040 (README, "Reliability").
    assert per <= 512, per

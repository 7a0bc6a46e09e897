"""Host benchmark: protocol lines per second through the reader core.

``lines_per_s()`` feeds a realistic byte stream (what the firmware sends
during a scenario: mostly 4-pin ``sample`` lines of about 870 bytes) into
``Reader.feed`` in 4 KiB chunks, as the port delivers it, with one subscriber,
and counts the records dispatched: line splitting, UTF-8 decoding, envelope
parsing and checks, typed records, ``seq``/``boot`` tracking and dispatch.
Record bodies are decoded on first use, as in the live reader.

``decoded_lines_per_s()`` also makes the subscriber decode every record's body
(``record.data``): the cost when every line is looked at in full, bound by the
stdlib JSON scanner.

The stream comes from the real firmware running in the simulator (scenario
``misalign.json``, fast); if the simulator cannot run, the firmware's own
encoder and report code make equivalent lines.
"""

from __future__ import annotations

import re
import time

from pogodock.records import Record

DEFAULT_SCENARIO = "misalign.json"
CHUNK = 4096


def _sim_lines(scenario: str) -> list[bytes]:
    from pogodock.paths import SCENARIOS_DIR
    from pogodock.virtual import simrun

    out: list[bytes] = []
    app = simrun.SimRun(str(SCENARIOS_DIR / scenario), out.append, None, True)
    app.run()
    return b"".join(out).split(b"\n")[:-1]


def _encoded_lines(n: int = 300) -> list[bytes]:
    from dockfw import protocol
    from dockfw.protocol import Fixed, Obj

    lines = []
    for k in range(n):
        pins = []
        for j, name in enumerate(("VBUS1", "GND1", "GND2", "VBUS2")):
            fields = [
                ("i_ma", Fixed(7469 + 13 * k + j, 1)),
                ("v_mv", 4992),
                ("r_mohm", Fixed(36485 + 7 * k + j, 3)),
                ("i_min_ma", 742),
                ("i_max_ma", 938),
                ("r_min_mohm", Fixed(27014 + k, 3)),
                ("r_max_mohm", Fixed(36792 + k, 3)),
                ("flags", []),
            ]
            pins.append((name, Obj(fields)))
        lines.append(
            protocol.encode(
                protocol.SAMPLE,
                k,
                "3c6f239b",
                200 * k,
                [("docked", True), ("cycles", 40), ("pins", Obj(pins)), ("faulty_monitors", [])],
            ).rstrip(b"\n")
        )
    return lines


def corpus(n_lines: int = 20000, scenario: str = DEFAULT_SCENARIO) -> bytes:
    """``n_lines`` device lines, renumbered so that ``seq`` runs on without gaps."""
    try:
        base = _sim_lines(scenario)
    except Exception:
        base = []
    if not base:
        base = _encoded_lines()
    seq_re = re.compile(rb'"seq":\d+')
    out = []
    for k in range(n_lines):
        line = base[k % len(base)]
        out.append(seq_re.sub(b'"seq":%d' % k, line, count=1))
    return b"\n".join(out) + b"\n"


class _Counter:
    """The subscriber: counts records, and decodes their bodies when asked to."""

    def __init__(self, decode_bodies: bool) -> None:
        self.n = [0]
        self.decode_bodies = decode_bodies

    def __call__(self, rec: Record) -> None:
        self.n[0] += 1
        if self.decode_bodies:
            getattr(rec, "data", None)


def _run(data: bytes, decode_bodies: bool, rounds: int) -> float:
    from pogodock.link.reader import Reader

    chunks = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]
    n_lines = data.count(b"\n")
    best = 0.0
    for _ in range(rounds):
        reader = Reader("/dev/null/bench")  # never opened: feed() is the parse path
        counter = _Counter(decode_bodies)
        reader.subscribe(counter)
        feed = reader.feed
        t0 = time.perf_counter()
        for c in chunks:
            feed(c, 1.0)
        dt = time.perf_counter() - t0
        if reader.lines != n_lines or counter.n[0] < n_lines or reader.lost:
            raise RuntimeError(
                "bench: %d records for %d lines, %d lost" % (counter.n[0], n_lines, reader.lost)
            )
        best = max(best, n_lines / dt)
    return best


def lines_per_s(n_lines: int = 20000, rounds: int = 5) -> float:
    """Protocol lines per second the reader core turns into records and dispatches."""
    return _run(corpus(n_lines), False, rounds)


def decoded_lines_per_s(n_lines: int = 20000, rounds: int = 3) -> float:
    """The same with every record's body decoded by its subscriber."""
    return _run(corpus(n_lines), True, rounds)


if __name__ == "__main__":
    print("host_lines_per_s %.0f" % lines_per_s())
    print("host_decoded_lines_per_s %.0f" % decoded_lines_per_s())

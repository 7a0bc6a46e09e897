"""Tier C from the command line: a scenario on the official rp2 port in the emulated RP2040.

    python tools/tier_c.py --scenario FILE [--until-s S] [--no-wire] [--quiet] [--pty]
    python tools/tier_c.py --measure [--docked-s 20] [--trials 30] [--seed 1] [--json OUT]
    python tools/tier_c.py --flood [--seed 1]
    python tools/tier_c.py --run SCRIPT    (a device script, e.g. tools/rp2_command_cost.py)

The first plays a scenario file (``tools/rp2board.py``: the flashed image on MicroPython
v1.28.0 for RPI_PICO in rp2040js, the bus answered by the simulated dock): the device's
serial lines go to stdout as they come, then the emulator's figures to stderr (with
``--pty`` the serial port is a pseudo-terminal instead, its path on the first line). The second
measures the ``fw_rp2_*`` figures ``make bench`` reports (see ``measure``), the third
only those of its command flood (``measure_flood``). The last runs a device script in
the board's raw REPL, a device docked, the firmware stopped with Ctrl-C first (as
``mpremote run`` does), and prints its output. Needs
``POGODOCK_RP2_IMAGE`` and ``POGODOCK_RP2_BOOTROM`` (README, "Tier C").
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import rp2board  # noqa: E402
from rp2board import Rp2Board, Rp2Error  # noqa: E402

BOARD = "pico-dock-4"
LOAD_MA = 1500
DOCK_S = 0.3
SETTLE_S = 2.0  # boot, docking and the detectors' first reports: not counted
OVERLOAD_MA = 4500  # 1.5 times the board's max_total_ma
OVERLOAD_S = 0.3  # longer than any cut measured so far; a trial without a cut is reported
CLEAR_AFTER_S = 0.02  # the host's `clear` once the overload is over: charging back at once
# The firmware takes a command when its time share allows: 0.1 to 0.9 s after it was sent
# while sampling keeps it busy. The next onset comes at least this long after the `clear`,
QUIET_S = 1.0
# plus a random share of two report periods, so that onsets fall at every phase of the
# sampling cycle and of the report path, whatever the command's handling did to them.
PHASE_SPREAD_S = 0.4


def sample_rate(messages, after_ms) -> tuple[float | None, int]:
    """Sampling cycles kept per second: the ``cycles`` of the ``sample`` lines after the
    first one past ``after_ms`` (firmware time), over their span; and the configured rate."""
    hello = next((m for m in messages if m.get("type") == "hello"), {})
    lines = [
        m
        for m in messages
        if m.get("type") == "sample" and m.get("docked") and m["t_ms"] >= after_ms
    ]
    if len(lines) < 2:
        return None, hello.get("sample_hz", 0)
    cycles = sum(m["cycles"] for m in lines[1:])
    span_ms = lines[-1]["t_ms"] - lines[0]["t_ms"]
    return cycles * 1000.0 / span_ms, hello.get("sample_hz", 0)


def _scenario(path: Path, seed: int, duration_s: float, events: list) -> Path:
    obj = {
        "board": BOARD,
        "description": "tools/tier_c.py --measure",
        "seed": seed,
        "duration_s": duration_s,
        "load": [[0, 0], [DOCK_S, LOAD_MA]],
        "events": [{"t": DOCK_S, "type": "dock"}, *events],
    }
    path.write_text(json.dumps(obj))
    return path


def _wait_emulated(board: Rp2Board, t_us: int, wall_s: float):
    end = time.monotonic() + wall_s
    while board.emu_us < t_us:
        if not board.running():
            raise Rp2Error(board.failure() or "the emulator stopped early")
        if time.monotonic() > end:
            raise Rp2Error("the emulator did not reach %.1f s in %d s" % (t_us / 1e6, wall_s))
        time.sleep(0.01)


def measure_stream(tmp: Path, seed: int, docked_s: float) -> dict:
    """A device docked ``docked_s`` emulated seconds past the settling time: the rate, the
    longest read gap of a pin monitor, the idle share; then the heap through the raw REPL."""
    end_s = DOCK_S + SETTLE_S + docked_s
    path = _scenario(tmp / "stream.json", seed, end_s, [])
    board = Rp2Board(path, until_s=end_s + 600, gap_after_s=DOCK_S + SETTLE_S)
    with board:
        _wait_emulated(board, int(end_s * 1e6), 60 + docked_s * 30)
        messages = board.messages()
        gap_ms = board.dock.max_gap_ms()
        idle = board.dock.idle_share(int((DOCK_S + SETTLE_S) * 1e6), int(end_s * 1e6))
        boot_emu_ms = _boot_offset_ms(board)
        rate, configured = sample_rate(messages, (DOCK_S + SETTLE_S) * 1000 - boot_emu_ms)
        heap = rp2board.heap_free(board)
        failure = board.failure()
    if failure:
        raise Rp2Error(failure)
    return {
        "fw_rp2_sample_hz": None if rate is None else round(rate, 1),
        "fw_rp2_configured_hz": configured,
        "fw_rp2_max_gap_ms": round(gap_ms, 1),
        "fw_rp2_idle_pct": None if idle is None else round(idle * 100, 1),
        "fw_rp2_heap_free_bytes": heap,
    }


def _boot_offset_ms(board: Rp2Board) -> float:
    """Emulated ms at the firmware's t_ms 0: the charge pin's first rise, less the t_ms of
    the first line that says charging (near enough for choosing a window)."""
    on = next((t for t, c in board.dock.rail if c), None)
    first = next((m for m in board.messages() if m.get("charging")), None)
    if on is None or first is None:
        return 0.0
    return max(0.0, on / 1000.0 - first["t_ms"])


def measure_cuts(tmp: Path, seed: int, trials: int) -> dict:
    """``trials`` overloads at random phases, each cleared by the host after it ends: the
    time from each onset to the charge-enable pin going low."""
    rnd = random.Random(seed)
    events = []
    t = DOCK_S + SETTLE_S
    for _ in range(trials):
        onset = round(t + rnd.uniform(0, PHASE_SPREAD_S), 6)
        until = round(onset + OVERLOAD_S, 6)
        events.append({"t": onset, "type": "overload", "ma": OVERLOAD_MA, "until": until})
        t = until + CLEAR_AFTER_S + QUIET_S
    end_s = t
    path = _scenario(tmp / "overload.json", seed, end_s, events)
    board = Rp2Board(path)
    with board:
        for k, ev in enumerate(events):
            # The host clears the trip once the overload is over: charging comes back at once.
            _wait_emulated(board, int((ev["until"] + CLEAR_AFTER_S) * 1e6), 600)
            board.send(b'{"cmd":"clear","id":%d}\n' % (k + 1))
        board.wait(timeout=600)
        failure = board.failure()
        cuts = board.dock.cuts()
    if failure:
        raise Rp2Error(failure)
    charging = [c for c in cuts if c["charging"]]
    missed = [c for c in charging if c["cut_ms"] is None]
    times = sorted(c["cut_ms"] for c in charging if c["cut_ms"] is not None)
    return {
        "fw_rp2_overcurrent_cut_ms": times[-1] if times and not missed else None,
        "fw_rp2_overcurrent_trials": len(charging),
        "fw_rp2_overcurrent_missed": len(missed),
        "fw_rp2_overcurrent_cut_ms_median": times[len(times) // 2] if times else None,
    }


# A host that floods the dock with every kind of line, as fast as the link takes them.
FLOOD = (
    b'{"cmd":"get","id":%d}',
    b'{"cmd":"get","key":"sample_hz","id":%d}',
    b'{"cmd":"set","key":"min_current_ma","value":20,"id":%d}',
    b'{"cmd":"info","id":%d}',
    b'{"cmd":"get","id":%d,"key":"sample_hz" "x":1}',  # not JSON
    b'{"id":%d,"cmd":"info","x":[[[1,2.5,"a"],[true,null]],{"a":[1,2,3]}],'
    b'"y":[1,2,3,4,5,6,7,8],"z":"\\u00e9\\ud83d\\ude00\\n"}',  # deep, escapes, unknown keys
    b'{"id":%d,"cmd":"get","key":"' + b"k" * 300 + b'"}',  # too long
    b"%d" + b"\xff\x00garbage{[" * 20,
)
FLOOD_S = 10.0
FLOOD_QUIET_S = 3.0  # docked, no host line: the loop's own gaps, to hold the flood's against
GAP_MS = 10.0  # two sampling periods at 200 Hz


def _gaps(reads: dict, t0_s: float, t1_s: float) -> tuple[float, float]:
    """The longest interval between two reads of one pin monitor within ``[t0_s, t1_s]``
    (ms), and how many exceeded ``GAP_MS`` per second (the worst monitor's count)."""
    longest = 0.0
    worst = 0
    for times in reads.values():
        inside = [t / 1000.0 for t in times if t0_s * 1e6 <= t <= t1_s * 1e6]
        over = 0
        for a, b in itertools.pairwise(inside):
            longest = max(longest, b - a)
            over += b - a > GAP_MS
        worst = max(worst, over)
    return round(longest, 1), round(worst / (t1_s - t0_s), 1)


def measure_flood(tmp: Path, seed: int, flood_s: float = FLOOD_S) -> dict:
    """A device docked, ``FLOOD_QUIET_S`` without a host line, then a host sending
    ``FLOOD``'s lines in turn for ``flood_s`` emulated seconds, more than the dock can
    take (flow control holds the rest). Per window (``quiet_``, and the flood's): the
    longest read gap of a pin monitor and the gaps over two periods per second; for the
    flood, the sampling rate, the answers per second, the App's announced collections of
    the heap (commands fill it), and whether every line was answered once, in order."""
    start_s = DOCK_S + SETTLE_S
    flood_at = start_s + FLOOD_QUIET_S
    end_s = flood_at + flood_s
    path = _scenario(tmp / "flood.json", seed, end_s, [])
    board = Rp2Board(path, until_s=end_s, gap_after_s=start_s)
    n = int(200 * flood_s)
    with board:
        _wait_emulated(board, int((flood_at - 0.05) * 1e6), 600)
        board.send(b"".join(FLOOD[k % len(FLOOD)] % k + b"\n" for k in range(n)))
        board.wait(timeout=60 + (end_s - flood_at) * 60)
        failure = board.failure()
        messages = board.messages()
        boot_ms = _boot_offset_ms(board)
        reads = board.dock.reads
    if failure:
        raise Rp2Error(failure)
    t0 = flood_at * 1000 - boot_ms  # firmware ms
    answers = [m for m in messages if m.get("type") in ("ack", "error")]
    ids = [m.get("id") for m in answers]
    late = [m for m in answers if m["t_ms"] >= t0]
    span_ms = messages[-1]["t_ms"] - t0 if messages else 0
    rate, _ = sample_rate(messages, t0)
    collections = [
        m
        for m in messages
        if m.get("type") == "event" and m.get("kind") == "heap_collected" and m["t_ms"] >= t0
    ]
    quiet_gap, quiet_over = _gaps(reads, start_s, flood_at)
    gap, over = _gaps(reads, flood_at, end_s)
    return {
        "flood_quiet_max_gap_ms": quiet_gap,
        "flood_quiet_gaps_over_10ms_per_s": quiet_over,
        "flood_max_gap_ms": gap,
        "flood_gaps_over_10ms_per_s": over,
        "flood_heap_collections": len(collections),
        "flood_sample_hz": None if rate is None else round(rate, 1),
        "flood_answers_per_s": round(len(late) * 1000.0 / span_ms, 1) if span_ms > 0 else None,
        # Each line answered once, in order: the ids echoed rise by one (a line whose
        # id cannot be read is answered with null) and none is missing up to the last.
        "flood_answers_in_order": int(
            all(a is None or a == k for k, a in enumerate(ids)) and len(ids) > len(FLOOD)
        ),
    }


def measure(seed=1, docked_s=20.0, trials=30) -> dict:
    """Every ``fw_rp2_*`` figure (``make bench``): the stream run, the overload run, then
    a command flood."""
    with tempfile.TemporaryDirectory(prefix="pogodock-tierc-") as tmp:
        out = measure_stream(Path(tmp), seed, docked_s)
        out.update(measure_cuts(Path(tmp), seed, trials))
        flood = measure_flood(Path(tmp), seed)
        out.update({"fw_rp2_" + k: v for k, v in flood.items()})
    return out


def run_script(script: Path, seed=1) -> str:
    """``script`` run in the raw REPL once a device has been docked for ``SETTLE_S``."""
    with tempfile.TemporaryDirectory(prefix="pogodock-tierc-") as tmp:
        path = _scenario(Path(tmp) / "run.json", seed, 3600, [])
        board = Rp2Board(path, until_s=3600)
        with board:
            _wait_emulated(board, int((DOCK_S + SETTLE_S) * 1e6), 600)
            return board.raw_repl(script.read_text(), timeout=3600)


def serve_pty(board: Rp2Board):
    """The board's USB serial port as a pseudo-terminal (its path on the first stdout
    line), for mpremote and ``pogodock monitor --port``, until the emulator ends."""
    import os
    import threading
    import tty

    master, slave = os.openpty()
    tty.setraw(slave)
    print(os.ttyname(slave), flush=True)

    def to_host(chunk):
        try:
            os.write(master, chunk)
        except OSError:
            pass  # nobody has the port open: the bytes are lost, as without DTR

    def from_host():
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                return
            if not data:
                return
            board.send(data)

    board.on_usb = to_host
    threading.Thread(target=from_host, daemon=True).start()
    return slave


def play(args) -> int:
    board = Rp2Board(args.scenario, until_s=args.until_s, wire=not args.no_wire)
    with board:
        if args.pty:
            serve_pty(board)
            board.wait()
            return 0
        while True:
            line = board.next_line(timeout=1.0)
            if line is None:
                if not board.running():
                    break
                continue
            if not args.quiet:
                sys.stdout.buffer.write(line + b"\n")
                sys.stdout.flush()
        board.wait()
        failure = board.failure()
    if failure:
        print("tier_c: %s" % failure, file=sys.stderr)
        return 1
    rate, configured = sample_rate(board.messages(), 2000)
    idle = board.dock.idle_share(2000000, board.emu_us)
    figures = {
        "emulated_s": round(board.emu_us / 1e6, 3),
        "sample_hz": None if rate is None else round(rate, 1),
        "configured_hz": configured,
        "max_read_gap_ms": board.dock.max_gap_ms(),
        "idle_pct": None if idle is None else round(idle * 100, 1),
        "flash_stalls": len(board.dock.stalls),
        "overloads": board.dock.cuts(),
    }
    print("tier_c: %s" % json.dumps(figures), file=sys.stderr)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scenario", type=Path, help="scenario file to play")
    parser.add_argument("--until-s", type=float, help="emulated seconds (default: duration_s)")
    parser.add_argument("--no-wire", action="store_true", help="I2C transfers take no time")
    parser.add_argument("--quiet", action="store_true", help="only the figures, no device lines")
    parser.add_argument(
        "--pty", action="store_true", help="serve the USB serial port as a pseudo-terminal"
    )
    parser.add_argument("--measure", action="store_true", help="the fw_rp2_* bench figures")
    parser.add_argument("--docked-s", type=float, default=20.0)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="with --measure: write the figures here")
    parser.add_argument("--run", type=Path, help="a device script to run, a device docked")
    parser.add_argument("--flood", action="store_true", help="only the command flood's figures")
    args = parser.parse_args()
    try:
        if args.run:
            print(run_script(args.run, args.seed))
            return 0
        if args.flood:
            with tempfile.TemporaryDirectory(prefix="pogodock-tierc-") as tmp:
                print(json.dumps(measure_flood(Path(tmp), args.seed), indent=1))
            return 0
        if args.measure:
            figures = measure(args.seed, args.docked_s, args.trials)
            text = json.dumps(figures, indent=1)
            print(text)
            if args.json:
                args.json.write_text(text + "\n")
            return 0
        if args.scenario is None:
            parser.error("give --scenario FILE or --measure")
        return play(args)
    except Rp2Error as e:
        print("tier_c: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

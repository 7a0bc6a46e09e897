"""Power cuts (scenario event ``power_cut``): validated, then played by the simulator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from docksim import scenario as S
from docksim.flash import FlashStore, MemFlash, earlier_life
from docksim.power import PowerCut
from simrig import Run

ROOT = Path(__file__).resolve().parents[1]
BOARDS = str(ROOT / "boards")
sys.path.insert(0, str(ROOT / "tools"))

import powercuts  # noqa: E402  (tools/powercuts.py)


def base(*events: dict) -> dict:
    return {
        "board": "pico-dock-4",
        "seed": 2,
        "duration_s": 60,
        "load": [[0, 0], [5, 1500]],
        "events": [{"t": 5, "type": "dock"}, *events],
    }


def test_power_cuts_load_in_both_forms(tmp_path):
    obj = base(
        {"t": 10, "type": "power_cut", "off_s": 2},
        {"t": 12, "type": "power_cut", "off_s": 0.5, "note": "right as it comes back"},
        {"t": 20, "type": "power_cut", "off_s": 3, "during": "write"},
        {"t": 21, "type": "undock"},  # the device may leave while the dock is dead
        {"t": 30, "type": "power_cut", "off_s": 1, "during": "write", "skip_writes": 2,
         "fraction": 1},
    )  # fmt: skip
    sc = S.parse(obj, "x.json", BOARDS)
    cuts = [e for e in sc.events if e["type"] == "power_cut"]
    assert [c["t"] for c in cuts] == [10, 12, 20, 30]


BAD = [
    ({"off_s": 0}, "off_s", "must be a number > 0"),
    ({}, "off_s", "missing"),
    ({"off_s": 1, "during": "read"}, "during", "must be one of write, got 'read'"),
    ({"off_s": 1, "skip_writes": 1}, "skip_writes", "only for a cut during a write"),
    ({"off_s": 1, "fraction": 0.5}, "fraction", "only for a cut during a write"),
    ({"off_s": 1, "during": "write", "skip_writes": -1}, "skip_writes", "integer >= 0"),
    ({"off_s": 1, "during": "write", "skip_writes": 1.5}, "skip_writes", "integer >= 0"),
    ({"off_s": 1, "during": "write", "fraction": 1.5}, "fraction", "within 0..1"),
    ({"off_s": 1, "volts": 0}, "volts", "unknown field for power_cut"),
]


@pytest.mark.parametrize("fields, field, text", BAD, ids=[b[1] + str(i) for i, b in enumerate(BAD)])
def test_a_bad_power_cut_is_one_clear_error(tmp_path, fields, field, text):
    path = tmp_path / "cut.json"
    path.write_text(json.dumps(base({"t": 10, "type": "power_cut", **fields})))
    with pytest.raises(S.ScenarioError) as info:
        S.load(str(path), BOARDS)
    msg = str(info.value)
    assert msg.startswith("%s: events[1] (power_cut): field '%s': " % (path, field)), msg
    assert text in msg, msg


def test_a_timed_cut_while_the_power_is_off_is_refused(tmp_path):
    obj = base(
        {"t": 10, "type": "power_cut", "off_s": 5},
        {"t": 12, "type": "power_cut", "off_s": 1},
    )
    with pytest.raises(S.ScenarioError) as info:
        S.parse(obj, "x.json", BOARDS)
    assert str(info.value) == (
        "x.json: events[2] (power_cut): field 't': the power is off then: "
        "events[1] cut it until t=15"
    )


# -- the simulated flash ------------------------------------------------------------------


def test_the_simulated_flash_commits_at_close_and_renames_atomically():
    flash = MemFlash()
    flash.mkdir("/state")
    with flash.open("/state/a.json", "w") as f:
        f.write('{"n": 1}')
        assert flash.files["/state/a.json"] == b""  # created at open, data at close
    with flash.open("/state/a.json.tmp", "w") as f:
        json.dump({"n": 2}, f)
    flash.rename("/state/a.json.tmp", "/state/a.json")
    assert flash.listdir("/state") == ["a.json"]
    with flash.open("/state/a.json") as f:
        assert json.load(f) == {"n": 2}
    with pytest.raises(OSError):
        flash.open("/state/missing.json")
    with pytest.raises(OSError):
        flash.open("/nowhere/x.json", "w")


def test_a_cut_write_leaves_its_first_bytes_and_nothing_after():
    flash = MemFlash(lambda path, size: size // 2 if path.endswith(".tmp") else None)
    flash.put("/state/a.json", '{"n": 1, "version": 1}')
    store = FlashStore("/state", flash)  # the firmware's FileStore on this flash
    with pytest.raises(PowerCut):  # not caught by the store: it is no firmware error
        store.save("a", 1, {"n": 22222})
    assert flash.files["/state/a.json"] == b'{"n": 1, "version": 1}'  # the old file, whole
    assert flash.files["/state/a.json.tmp"] == b'{"n": 22222, '  # half the new one
    with pytest.raises(PowerCut):  # no power: nothing more happens
        store.load("a", 1)
    flash.powered = True
    assert store.load("a", 1) == {"n": 1, "version": 1}
    flash.put("/state/b.json", '{"n": ')  # damaged: set aside, reported, never deleted
    assert store.load("b", 1) is None
    assert flash.files["/state/b.json.bad"] == b'{"n": '
    assert [p[0] for p in store.take_problems()] == ["b"]


# -- power cuts in the simulator ----------------------------------------------------------


def run_sim(obj: dict, inbox=None) -> Run:
    return Run(S.parse(obj, "power-cut-test", BOARDS), inbox=inbox)


def test_a_timed_cut_kills_the_dock_for_off_s_then_it_boots_from_power_on():
    r = run_sim(
        base({"t": 8, "type": "power_cut", "off_s": 2}, {"t": 9, "type": "undock"},
             {"t": 9.5, "type": "dock"}) | {"duration_s": 14}
    )  # fmt: skip
    [cut] = r.dock.power.log
    assert (cut["t_us"], cut["back_us"], cut["path"]) == (8_000_000, 10_000_000, None)
    hellos = r.of_type("hello")
    assert [h["reset_cause"] for h in hellos] == ["power_on", "power_on"]
    assert hellos[0]["boot"] != hellos[1]["boot"]
    first = [x for x in r.lines if x["boot"] == hellos[0]["boot"]]
    second = [x for x in r.lines if x["boot"] == hellos[1]["boot"]]
    assert len(first) + len(second) == len(r.lines)
    assert first[-1]["t_ms"] <= 8_000  # nothing said once the power failed
    assert second[0]["seq"] == 0  # a new boot, counting from 0
    # The rail was off while the dock was dead: the docked device drew nothing.
    assert r.dock.circuit.load_ma(9_000_000) == 0
    assert r.dock.circuit.load_ma(8_000_000 - 10_000) > 1000
    # The device was back on the dock (it left and came back meanwhile) and is seen.
    assert second[-1]["type"] in ("sample", "health", "event")
    assert [x for x in r.of_type("sample") if x["boot"] == hellos[1]["boot"]][-1]["docked"]


def test_a_cut_during_a_write_leaves_the_old_file_and_part_of_the_new_one():
    """The first flash write after 0.5 s is the departure's (the device docks at 5 s and
    leaves at 7 s: nothing is written as it lands); half of it lands, the rename over
    the old file never happens, and the scenario ends while the power is still off, so
    the flash is as the cut left it."""
    cut = {"t": 0.5, "type": "power_cut", "off_s": 30, "during": "write", "fraction": 0.5}
    obj = base(cut, {"t": 7, "type": "undock"})
    obj |= {"duration_s": 10, "pins": {"VBUS1": {"cycles": 7}}}
    r = run_sim(obj)
    [cut] = r.dock.power.log  # type: ignore[union-attr]
    assert 7_000_000 < cut["t_us"] < 8_000_000
    tmp = cut["path"]
    assert tmp.endswith(".tmp") and cut["kept"] == (cut["size"] + 1) // 2
    files = r.dock.flash.files
    assert len(files[tmp]) == cut["kept"] and cut["kept"] < cut["size"]
    target = tmp[: -len(".tmp")]
    before = earlier_life(S.parse(obj, "x", BOARDS))
    for path, text in before.items():  # the earlier life's files, untouched
        assert files[path] == text.encode()
    if target not in before:
        assert target not in files
    assert r.of_type("hello")[-1]["boot"] == r.lines[-1]["boot"]  # no second boot


def test_skip_writes_moves_the_cut_to_a_later_write():
    def cut_with(skip: int) -> dict:
        obj = base({"t": 0.5, "type": "power_cut", "off_s": 30, "during": "write",
                    "skip_writes": skip, "fraction": 1},
                   {"t": 7, "type": "undock"}) | {"duration_s": 10}  # fmt: skip
        r = run_sim(obj)
        [cut] = r.dock.power.log
        assert r.dock.flash.writes == skip  # the writes let through landed whole
        assert r.dock.flash.files[cut["path"]] and cut["kept"] == cut["size"]
        return cut

    cuts = [cut_with(k) for k in range(2)]  # a departure writes its state, then the clock
    assert len({(c["t_us"], c["path"]) for c in cuts}) == 2


def test_what_the_host_sends_while_the_power_is_off_is_lost():
    lines = [
        (9.0, b'{"cmd":"get","key":"sample_hz","id":1}'),  # while the dock is dead
        (11.0, b'{"cmd":"get","key":"sample_hz","id":2}'),  # after it is back
    ]

    class Timed:
        def __init__(self, clock) -> None:
            self.clock = clock

        def pending(self) -> bool:
            return bool(lines) and self.clock.now_us >= lines[0][0] * 1_000_000

        def read_line(self) -> bytes | None:
            return lines.pop(0)[1] if self.pending() else None

    scn = S.parse(base({"t": 8, "type": "power_cut", "off_s": 2}) | {"duration_s": 12}, "x", BOARDS)
    r = Run(scn, inbox_for=lambda dock: Timed(dock.clock))
    assert [x["id"] for x in r.of_type("ack")] == [2]


# -- the random power-cut rig (tools/powercuts.py) -------------------------------------


def test_truth_counts_what_a_firmware_could_have_seen():
    obj = base(
        {"t": 10, "type": "undock"},  # seen
        {"t": 12.5, "type": "dock"},  # inside the outage 12..14, device absent before: seen
        {"t": 20, "type": "undock"},  # inside the outage 19..23 ...
        {"t": 21, "type": "dock"},  # ... and back: looks as if it never left
        {"t": 30, "type": "undock"},
    )

    def countable(*outages: tuple[float, float]) -> int:
        cuts = [{"t_s": a, "back_s": b} for a, b in outages]
        got = powercuts.truth(obj, cuts)
        assert got["dockings"] == 3
        assert [t for t, _ in got["each"]] == [5, 12.5, 21]
        return got["countable"]

    assert countable() == 3
    assert countable((12.0, 14.0), (19.0, 23.0)) == 2
    # Empty for 0.3 s between two outages: too short to confirm the departure.
    assert countable((12.0, 14.0), (19.0, 20.2), (20.5, 23.0)) == 2
    assert countable((12.0, 14.0), (19.0, 20.2), (21.5, 23.0)) == 3  # empty 20.2 to 21


@pytest.mark.parametrize("seed", range(12))
def test_random_power_cut_scenarios_are_valid_for_any_seed(seed):
    obj = powercuts.random_scenario(seed, 30)
    sc = S.parse(obj, "random", BOARDS)
    kinds = [e["type"] for e in sc.events]
    assert kinds.count("power_cut") == 30 and kinds.count("dock") >= 15
    assert any(e.get("during") == "write" for e in sc.events)


def check_outcome(out: dict) -> None:
    cuts = out["cuts"]
    assert cuts and len(cuts) <= out["planned_cuts"]
    assert all(c["t_s"] < c["back_s"] for c in cuts)
    assert [c["t_s"] for c in cuts] == sorted(c["t_s"] for c in cuts)
    assert any(c["path"] and c["landed"] < c["size"] for c in cuts)  # some left half a file
    assert {b["reset_cause"] for b in out["boots"]} == {"power_on"}
    assert len({b["boot"] for b in out["boots"]}) == len(out["boots"])
    assert out["damaged_files"] == []  # a cut leaves a .tmp, never a broken .json
    assert out["cycles"] is not None
    t = out["truth"]
    assert 0 < t["countable"] <= t["dockings"]


def test_random_power_cuts_in_the_simulator():
    obj = powercuts.random_scenario(5, 16)
    out = powercuts.run_sim(obj)
    check_outcome(out)
    assert len(out["boots"]) == len(out["cuts"]) + 1  # every cut ends in a boot
    assert out["truth"]["dockings"] == sum(e["type"] == "dock" for e in obj["events"])


def test_random_power_cuts_on_the_virtual_board_fall_as_in_the_simulator(tmp_path):
    obj = powercuts.random_scenario(7, 4)
    sim = powercuts.run_sim(obj)
    board = powercuts.run_vboard(obj, tmp_path)
    check_outcome(board)
    assert [c["cut"] for c in board["cuts"]] == [c["cut"] for c in sim["cuts"]]
    # The same cuts caught a write (which one of a docking's writes depends on timing).
    caught = [(c["cut"], bool(c["path"] and c["path"].endswith(".tmp"))) for c in board["cuts"]]
    assert caught == [(c["cut"], bool(c["path"])) for c in sim["cuts"]]


@pytest.mark.parametrize("pty", [False, True], ids=["stdio", "pty"])
def test_the_cli_plays_power_cuts_and_may_end_in_the_dark(tmp_path, pty):
    obj = base(
        {"t": 2, "type": "power_cut", "off_s": 1},
        {"t": 7, "type": "power_cut", "off_s": 60, "during": "write"},  # the undock's
        {"t": 8, "type": "undock"},
    ) | {"duration_s": 12}
    path = tmp_path / "cuts.json"
    path.write_text(json.dumps(obj))
    args = [sys.executable, "-m", "pogodock.cli", "sim", "--scenario", str(path), "--fast"]
    proc = subprocess.run(
        args + (["--pty"] if pty else []),
        cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    if not pty:
        lines = [json.loads(x) for x in proc.stdout.splitlines()]
        hellos = [x for x in lines if x["type"] == "hello"]
        assert [h["reset_cause"] for h in hellos] == ["power_on", "power_on"]
        # The second boot started at 3 s and went dark at the undock's write (8.3 s).
        assert 5_000 < lines[-1]["t_ms"] < 5_500

"""Records for the dashboard and playback tests: protocol lines built as the dock writes
them and parsed by the host, and reading what a Textual widget shows."""

from __future__ import annotations

from dockfw import protocol
from dockfw.protocol import Fixed, Obj
from pogodock.records import LOST, REBOOT, LinkEvent, Record, parse_line
from rich.text import Text
from textual.widgets import DataTable, RichLog

PINS = ("VBUS1", "GND1", "VBUS2", "GND2")
STATES = {"VBUS1": ("ok", 97), "GND1": ("warn", 64), "VBUS2": ("fault", 30), "GND2": ("ok", 88)}


def dev(kind: str, seq: int, fields: list, boot: str = "b1") -> Record:
    return parse_line(
        protocol.encode(kind, seq, boot, seq * 200, fields).rstrip(b"\n"), 1767225600.0 + seq
    )


def sample(seq: int, r: float, r_max: float | None = None) -> Record:
    pins = [
        (
            name,
            Obj(
                [
                    ("i_ma", Fixed(15000, 1)),
                    ("v_mv", 4990),
                    ("r_mohm", Fixed(int(r * 1000), 3)),
                    ("r_max_mohm", Fixed(int((r_max or r) * 1000), 3)),
                ]
            ),
        )
        for name in ("VBUS1", "GND1")
    ]
    return dev(protocol.SAMPLE, seq, [("docked", True), ("pins", Obj(pins))])


def records() -> list[Record]:
    recs: list[Record] = [
        dev(
            protocol.HELLO,
            0,
            [
                ("fw", "0.1.0"),
                ("board", "pico-dock-4"),
                ("reset_cause", "power_on"),
                ("pins", [Obj([("name", "VBUS1")]), Obj([("name", "GND1")])]),
            ],
        ),
    ]
    for k in range(1, 300):
        recs.append(sample(k, 35.0, 480.0 if k == 150 else None))
    recs.append(
        dev(
            protocol.EVENT,
            300,
            [("kind", "misalignment"), ("pins", ["GND1"]), ("severity", "warn")],
        )
    )
    recs.append(LinkEvent(1767226000.0, LOST, "4 lines lost before seq 305", lost=4))
    recs.append(LinkEvent(1767226000.0, REBOOT, "dock rebooted (boot id b2)"))
    return recs


def cell(table: DataTable, row: str, col: str) -> str:
    v = table.get_cell(row, col)
    return v.plain if isinstance(v, Text) else str(v)


def log_text(log: RichLog) -> str:
    return "\n".join(strip.text for strip in log.lines)


def health(
    seq: int, temp_c: int | None = 412, drift: int | None = -623000, cycles: int = 12345
) -> Record:
    pins = []
    for name in PINS:
        state, score = STATES[name]
        pins.append(
            (
                name,
                Obj(
                    [
                        ("state", state),
                        ("score", score),
                        ("r_mohm", Fixed(36250, 3)),
                        ("r_baseline_mohm", Fixed(35000, 3)),
                        ("drift_mohm_per_day", None if drift is None else Fixed(drift, 3)),
                        ("days_to_clean", 12),
                        ("intermittent_count", 3),
                        ("cycles", cycles),
                    ]
                ),
            )
        )
    return dev(
        protocol.HEALTH,
        seq,
        [
            ("charging", True),
            ("temp_c", None if temp_c is None else Fixed(temp_c, 1)),
            ("pins", Obj(pins)),
        ],
    )

"""replay as a playback: the player on a clock the test turns, and the dashboard it drives
at 80 x 24 (Textual's pilot)."""

from __future__ import annotations

import pytest
from dash_screen import screen_lines
from dockfw import protocol
from dockfw.protocol import Fixed, Obj
from pogodock.dashboard import Dashboard, PlaybackSource
from pogodock.playback import MAX_WAIT_S, Player
from pogodock.records import Record
from test_host_dashboard import cell, dev, log_text, records, sample
from textual.widgets import DataTable, RichLog, Static

PINS = ("VBUS1", "GND1", "VBUS2", "GND2")
STATES = {"VBUS1": ("ok", 97), "GND1": ("warn", 64), "VBUS2": ("fault", 30), "GND2": ("ok", 88)}


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


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


# -- the player alone, on a clock the test turns ----------------------------------------


def test_playing_follows_the_recordings_clock_times_the_speed():
    recs = records()  # seq k at 1767225600 + k s
    clock = Clock()
    p = Player(recs, clock)
    assert p.take() == (False, recs[:1])  # the first record is due at once
    clock.t += 1.5
    assert [r.host_time for r in p.take()[1]] == [recs[1].host_time]
    p.faster()
    p.faster()  # 4x
    clock.t += 1.0
    assert len(p.take()[1]) == 4
    assert p.position() == "▶ 4x · record 6 of %d" % len(recs)
    p.toggle()
    clock.t += 60
    assert p.take() == (False, []) and p.position().startswith("⏸ 4x")
    for _ in range(10):
        p.faster()
    assert p.speed is None
    p.toggle()
    shown = p.at
    while p.playing:
        shown += len(p.take()[1])
    assert shown == len(recs) and p.position() == "■ end · record %d of %d" % (shown, shown)


def test_a_quiet_stretch_is_waited_for_only_briefly():
    recs = [sample(1, 35.0), sample(2, 35.0)]
    recs[1].host_time = recs[0].host_time + 3600  # an hour unplugged
    clock = Clock()
    p = Player(recs, clock)
    assert len(p.take()[1]) == 1
    clock.t += 1.0
    assert p.take()[1] == []
    clock.t += MAX_WAIT_S + 0.1
    assert p.take()[1] == [recs[1]]


def test_step_back_and_next_event_move_paused_and_rewind_from_the_first_record():
    recs = records()
    p = Player(recs, Clock(), playing=False)
    assert p.take() == (False, [])
    p.step()
    p.step()
    assert p.take() == (False, recs[:2])
    assert p.next_event()  # the misalignment, then the link's lost lines, reboot
    rewound, got = p.take()
    assert not rewound and got[-1].__class__.__name__ == "Event" and p.at == 301
    p.back()
    rewound, got = p.take()
    assert rewound and got == recs[:300]  # the model is rebuilt from the first record
    assert p.next_event() and p.next_event() and p.next_event() and not p.next_event()
    p.seek(0)
    assert p.take() == (True, [])


# -- the dashboard in a replay ----------------------------------------------------------


@pytest.mark.asyncio
async def test_replay_plays_steps_back_and_hides_dock_commands():
    recs = [*records()[:2], health(2), *records()[2:]]
    source = PlaybackSource(recs, "replay", Player(recs, playing=False))
    app = Dashboard(source, refresh_s=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        position = app.query_one("#position", Static)
        assert "record 0 of %d" % len(recs) in str(position.render())
        await pilot.press("right")
        await pilot.press("right")
        await pilot.press("right")
        await pilot.pause(0.1)
        table = app.query_one("#pins", DataTable)
        assert cell(table, "GND1", "state") == "warn"
        text = str(position.render())
        assert "⏸ 1x · record 3 of" in text and "dock 0.4 s (boot b1)" in text
        await pilot.press("n")
        await pilot.pause(0.1)
        assert "misalignment GND1" in log_text(app.query_one("#events", RichLog))
        assert "record 302 of" in str(position.render())
        await pilot.press("left")
        await pilot.pause(0.1)
        assert "misalignment" not in log_text(app.query_one("#events", RichLog))
        assert "record 301 of" in str(position.render())
        assert app.model.samples == 299  # rebuilt once, not folded twice
        await pilot.press("plus", "plus", "plus")
        await pilot.press("space")
        await pilot.pause(0.1)
        assert "▶ 8x" in str(position.render())
        footer = screen_lines(app)[-1]
        assert "quit" in footer and "play/pause" in footer and "next event" in footer
        assert "clear" not in footer and "charge" not in footer and "info" not in footer
        await pilot.press("end")
        await pilot.pause(0.1)
        assert "■ end · record %d of %d" % (len(recs), len(recs)) in str(position.render())
        await pilot.press("c", "c", "f", "f")  # hidden in a replay: nothing to send to
        await pilot.pause(0.1)
        assert "press c again" not in log_text(app.query_one("#events", RichLog))
        await pilot.press("q")
    assert app.return_value == 0

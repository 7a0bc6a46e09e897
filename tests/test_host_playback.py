"""replay as a playback: the player on a clock the test turns, and the dashboard it drives
at 80 x 24 (Textual's pilot)."""

from __future__ import annotations

import pytest
from dash_screen import screen_lines
from dockfw import protocol
from pogodock.recordings.playback import MAX_WAIT_S, Player
from pogodock.records import Record
from pogodock.views.dashboard import Dashboard, PlaybackSource
from support.dashrecords import cell, dev, health, log_text, records, sample
from textual.widgets import DataTable, RichLog, Static


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


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


def long_recording(n: int = 6100) -> list[Record]:
    recs = records()[:1]
    for k in range(1, n):
        recs.append(sample(k, 35.0 + (k % 97) / 10.0))
        if k % 1000 == 0:
            recs.append(dev(protocol.EVENT, k, [("kind", "intermittent"), ("pins", ["GND1"])]))
    return recs


def model_state(app: Dashboard) -> dict:
    m = app.model
    pins = {n: {**vars(p), "history": list(p.history)} for n, p in m.pins.items()}
    link = {k: v for k, v in vars(m.link).items() if k != "last_console"}
    return {"pins": pins, "link": link, "events": list(m.events), "samples": m.samples}


@pytest.mark.asyncio
async def test_going_back_folds_on_from_the_nearest_mark_to_the_same_screen(monkeypatch):
    from pogodock.model import DockModel

    folds = []
    apply = DockModel.apply
    monkeypatch.setattr(DockModel, "apply", lambda m, rec: folds.append(1) or apply(m, rec))
    recs = long_recording()
    back = Dashboard(PlaybackSource(recs, "replay", Player(recs, playing=False)), 0.05)
    async with back.run_test(size=(80, 24)) as pilot:
        await pilot.press("end")
        await pilot.pause(0.1)
        assert len(folds) == len(recs)
        folds.clear()
        await pilot.press("left", "left")
        await pilot.pause(0.1)
        assert 0 < len(folds) < 2200  # from the mark at 6000, not from the first record
        went_back = model_state(back)
        log_back = log_text(back.query_one("#events", RichLog))
        await pilot.press("q")
    direct = Dashboard(PlaybackSource(recs, "replay", Player(recs, playing=False)), 0.05)
    async with direct.run_test(size=(80, 24)) as pilot:
        direct.source.player.seek(len(recs) - 2)
        await pilot.pause(0.1)
        assert model_state(direct) == went_back
        assert log_text(direct.query_one("#events", RichLog)) == log_back
        assert "intermittent GND1" in log_back
        await pilot.press("q")


def test_marks_before_the_first_one_start_afresh():
    from pogodock.model import DockModel
    from pogodock.recordings.playback import Marks

    marks = Marks(10, tail=5)
    assert marks.every == 2000
    marks.events.append("x")
    model = DockModel()
    model.samples = 7
    marks.folded(2000, model)
    model.samples = 8  # the mark kept the model as it stood
    at, restored = marks.restore(3999)
    assert at == 2000 and restored.samples == 7 and list(marks.events) == ["x"]
    at, restored = marks.restore(1999)
    assert at == 0 and restored.samples == 0 and not marks.events

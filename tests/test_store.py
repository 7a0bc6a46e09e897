"""State that survives a reboot: versioned, checked, set aside when damaged, never a crash.

The store's own rules (FileStore on a real folder, MemoryStore in memory), then the
dock booting on every kind of damaged state file: it boots, samples, says which file
it set aside and why, and keeps the rest of what it knew.
"""

import json
import os

import pytest
from dockfw import store as st
from dockfw.store import INT, FileStore, MemoryStore, StateError, need
from simrig import Run, load_scenario, stored_cycles


def check_count(obj):
    need(obj, "count", "thing", INT, 0, 10)


@pytest.fixture(params=["file", "memory"])
def make_store(request, tmp_path):
    """A factory of stores over the same 'flash': FileStore on a folder, or MemoryStore."""
    if request.param == "file":
        return lambda: FileStore(str(tmp_path / "state"))
    shared = {}

    def memory():
        s = MemoryStore()
        s.data = shared
        return s

    return memory


def raw(store, name):
    if isinstance(store, FileStore):
        path = "%s/%s.json" % (store.root, name)
        return open(path, "rb").read() if os.path.exists(path) else None
    text = store.data.get(name)
    return text.encode() if text is not None else None


def put_raw(store, name, data):
    if isinstance(store, FileStore):
        with open("%s/%s.json" % (store.root, name), "wb") as f:
            f.write(data)
    else:
        store.data[name] = data.decode("utf-8", "replace")


def test_a_saved_state_comes_back_with_its_version(make_store):
    s = make_store()
    assert s.load("thing", 1, check_count) is None and s.take_problems() == []
    assert s.save("thing", 1, {"count": 3}) is True and s.writes == 1
    assert json.loads(raw(s, "thing")) == {"count": 3, "version": 1}
    assert make_store().load("thing", 1, check_count) == {"count": 3, "version": 1}


DAMAGED = [
    (b"", "Error"),  # empty (a write cut before its first byte reached the flash)
    (b'{"count": 3, "vers', "Error"),  # truncated
    (b"\x00\xff\xfe binary", ""),
    (b"[1, 2]", "not a JSON object"),
    (b"null", "not a JSON object"),
    (b'"text"', "not a JSON object"),
    (b'{"count": 3}', "version None"),  # written by firmware 0.2: no version
    (b'{"count": 3, "version": 2}', "version 2"),
    (b'{"count": null, "version": 1}', "'count' must be a whole number"),
    (b'{"count": "3", "version": 1}', "'count' must be a whole number"),
    (b'{"count": 3.5, "version": 1}', "'count' must be a whole number"),
    (b'{"count": true, "version": 1}', "'count' must be a whole number"),
    (b'{"count": -7, "version": 1}', "'count' must be a whole number"),
    (b'{"count": 3000000000, "version": 1}', "'count' must be a whole number"),
    (b'{"count": Infinity, "version": 1}', ""),
    (b'{"version": 1}', "'count' must be a whole number from 0 to 10, not None"),
    (b"{" * 20000, "larger than"),
]


@pytest.mark.parametrize("data, why", DAMAGED)
def test_a_damaged_file_is_set_aside_not_deleted_and_said(make_store, data, why):
    s = make_store()
    s.save("thing", 1, {"count": 1})
    put_raw(s, "thing", data)
    s2 = make_store()
    assert s2.load("thing", 1, check_count) is None
    ((name, reason, action),) = s2.take_problems()
    assert name == "thing" and why in reason and "defaults used" in action
    assert raw(s2, "thing") is None  # gone from its place, so the next boot starts clean
    if isinstance(s2, FileStore):
        assert "thing.json.bad" in action
        assert open(s2.root + "/thing.json.bad", "rb").read() == data
    else:
        assert s2.data["thing.bad"] == data.decode("utf-8", "replace")
    # The next save writes a good file again, and a second damage replaces the old .bad.
    assert s2.save("thing", 1, {"count": 2})
    assert make_store().load("thing", 1, check_count)["count"] == 2


def test_a_full_filesystem_is_said_and_nothing_raises(monkeypatch, make_store):
    s = make_store()
    s.save("thing", 1, {"count": 1})
    if isinstance(s, FileStore):

        def full(*a, **kw):
            raise OSError(28, "ENOSPC")

        monkeypatch.setattr(st, "open", full, raising=False)
    else:
        s.full = True
    assert s.save("thing", 1, {"count": 2}) is False
    ((name, reason, action),) = s.take_problems()
    assert name == "thing" and "no space left" in reason and action == "kept in memory only"
    monkeypatch.undo()
    assert make_store().load("thing", 1, check_count)["count"] == 1  # the old state holds


def test_every_write_is_announced_first(make_store):
    s = make_store()
    calls = []
    s.before_write = lambda: calls.append(raw(s, "thing"))
    s.save("thing", 1, {"count": 1})
    s.save("thing", 1, {"count": 2})
    assert calls == [None, json.dumps({"count": 1, "version": 1}).encode()]


def test_a_folder_where_a_file_should_be_is_set_aside(tmp_path):
    s = FileStore(str(tmp_path / "state"))
    os.mkdir(tmp_path / "state" / "thing.json")
    assert s.load("thing", 1, check_count) is None
    ((_, reason, action),) = s.take_problems()
    assert "unreadable" in reason and "set aside" in action
    assert s.save("thing", 1, {"count": 1})


def test_check_helpers_name_the_field():
    with pytest.raises(StateError, match=r"docking.cycles: 'GND1' must be a whole number"):
        need({"GND1": -1}, "GND1", "docking.cycles", INT, 0, 5)


# -- the dock on damaged state ----------------------------------------------------------

DOCK = {
    "board": "pico-dock-4",
    "seed": 3,
    "duration_s": 6,
    "sample_hz": 200,
    "load": [[0, 0], [1, 1200]],
    "events": [{"t": 1, "type": "dock"}, {"t": 4, "type": "undock"}],
}
GOOD = {
    "docking": {"version": 1, "present": False, "cycles": {"VBUS1": 500, "GND1": 500}},
    "wear": {"version": 1, "raised": {"VBUS1": 0}},
    "clock": {"version": 1, "t_s": 1000},
}


def damaged_variants():
    """(file, text): a null, a string, inf, a negative and a huge count, wrong types,
    truncation, binary, and unknown versions, in each state file the dock reads."""
    out = []
    for name, bad_values in (
        ("docking", [None, "500", "Infinity", -7, 3000000000, 1.5, [1]]),
        ("wear", [None, "x", "Infinity", -1, 3]),
        ("clock", [None, "x", "Infinity", -1, 2**40]),
    ):
        good = GOOD[name]
        key = {"docking": "cycles", "wear": "raised", "clock": "t_s"}[name]
        for v in bad_values:
            obj = json.loads(json.dumps(good))
            if isinstance(obj[key], dict):
                obj[key]["VBUS1"] = v
            else:
                obj[key] = v
            out.append((name, json.dumps(obj).replace('"Infinity"', "Infinity")))
        text = json.dumps(good)
        out += [
            (name, text[: len(text) // 2]),
            (name, ""),
            (name, "\x00\xff garbage"),
            (name, "null"),
            (name, json.dumps({**good, "version": 7})),
        ]
    out += [
        ("drift", '{"version": 1, "pool_sq_mohm2": NaN}'),
        ("boot", '{"version": 1, "reason": "crash", "crash_boots": "many"}'),
        ("boot", '{"version": 1, "reason": 5, "crash_boots": 1}'),
    ]
    return out


@pytest.mark.parametrize("name, text", damaged_variants())
def test_the_dock_boots_on_any_damaged_state_and_says_so(name, text):
    files = {k: v for k, v in GOOD.items() if k != name}
    files[name] = text
    r = Run(load_scenario(DOCK), store_files=files)
    kinds = [x["type"] for x in r.lines]
    assert kinds.count("hello") == 1 and kinds.count("sample") >= 25  # boots and samples
    storage = [x for x in r.of_type("event") if x["kind"] == "storage"]
    assert [(x["file"], x["severity"]) for x in storage] == [(name, "warn")], storage
    assert "set aside" in storage[0]["action"] and r.dock.store.data[name + ".bad"] == text
    docked = [x for x in r.of_type("event") if x["kind"] == "docked"]
    assert len(docked) == 1 and docked[0]["resumed"] is False
    # What was not damaged is kept: the cycles go on from 500 unless they were the damage.
    start = 0 if name == "docking" else 500
    assert stored_cycles(r.dock.store)["VBUS1"] == start + 1
    assert r.of_type("health")[-1]["pins"]["GND1"]["cycles"] == start + 1


@pytest.mark.parametrize("failures", [1, 2])
def test_a_heap_too_fragmented_to_read_a_file_never_costs_the_file(make_store, failures):
    """The soak found a dock setting good state aside as "unreadable (MemoryError)" after
    a power cut: a read of MAX_BYTES + 1 asked a fragmented heap for 16 kB at once. Now
    the read goes in small pieces, is tried again after a collection, and a file that
    still cannot be read stays where it is, unwritten over until the next boot."""
    make_store().save("thing", 1, {"count": 7})
    s = make_store()
    real = s._read
    left = [failures]

    def tight(name):
        if left[0]:
            left[0] -= 1
            raise MemoryError("memory allocation failed, allocating 16385 bytes")
        return real(name)

    s._read = tight
    got = s.load("thing", 1, check_count)
    if failures == 1:  # a collection freed enough
        assert got == {"count": 7, "version": 1} and not s.take_problems()
        return
    assert got is None
    assert s.take_problems() == [
        ("thing", "not read (out of memory)", "kept; defaults used, not saved")
    ]
    assert s.save("thing", 1, {"count": 0}) is False  # the defaults never replace it
    assert make_store().load("thing", 1, check_count)["count"] == 7


def test_files_are_read_in_pieces_up_to_one_past_the_limit(tmp_path):
    s = FileStore(str(tmp_path / "state"))
    (tmp_path / "state" / "big.json").write_text(" " * (3 * st.MAX_BYTES))
    assert s.load("big", 1) is None
    ((_, reason, _),) = s.take_problems()
    assert "larger than %d bytes" % st.MAX_BYTES in reason

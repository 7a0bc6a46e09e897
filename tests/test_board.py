import json

import pytest
from dockfw import board
from dockfw.board import BoardError


def board_dict(root, name="pico-dock-4"):
    return json.loads((root / "boards" / ("%s.json" % name)).read_text())


@pytest.mark.parametrize("name", ["pico-dock-4", "feather-kelvin-2"])
def test_every_board_file_loads(root, name):
    b = board.load(str(root / "boards" / ("%s.json" % name)))
    assert b.name == name
    assert b.pins and b.sense
    for p in b.pins:
        assert 0x40 <= p.addr <= 0x4F
        assert b.sense[p.sense].node == p.role


def test_reference_dock_matches_its_description(root):
    b = board.load(str(root / "boards" / "pico-dock-4.json"))
    assert (b.i2c_id, b.sda, b.scl, b.i2c_freq) == (0, 4, 5, 400000)
    assert [(p.name, p.addr) for p in b.pins] == [
        ("VBUS1", 0x40),
        ("GND1", 0x41),
        ("GND2", 0x42),
        ("VBUS2", 0x43),
    ]
    assert {s.name: s.addr for s in b.sense} == {"SENSE_V": 0x44, "SENSE_G": 0x45}
    assert all(p.shunt_uohm == 10000 for p in b.pins)


@pytest.mark.parametrize(
    "mutate, field, words",
    [
        (lambda d: d.pop("rail_mv"), "rail_mv", "missing"),
        (lambda d: d.update(colour="red"), "colour", "unknown field"),
        (lambda d: d["pins"][1].update(addr="0x50"), "pins[1].addr", "0x40..0x4F"),
        (lambda d: d["pins"][1].update(addr="zz"), "pins[1].addr", "0x40..0x4F"),
        (lambda d: d["pins"][2].update(role="signal"), "pins[2].role", "one of"),
        (lambda d: d["pins"][0].update(shunt_mohm="10"), "pins[0].shunt_mohm", "a number"),
        (lambda d: d["pins"][3].update(addr="0x40"), "pins[3].addr", "already VBUS1"),
        (lambda d: d["pins"][0].update(sense="SENSE_X"), "pins[0].sense", "not a sense monitor"),
        (lambda d: d["pins"][0].update(sense="SENSE_G"), "pins[0].sense", "ground node"),
        (lambda d: d["i2c"].update(freq_hz=5), "i2c.freq_hz", "within"),
        (lambda d: d.update(pins=[]), "pins", "at least one"),
        (lambda d: d["pins"][0].pop("rated_cycles"), "pins[0].rated_cycles", "missing"),
        # One GPIO, two jobs: an LED driven low on an active-low charge pin charges.
        (lambda d: d["status_led"].update(gpio=22), "status_led.gpio", "already charge_enable"),
        (lambda d: d["safe_mode"].update(gpio=22), "safe_mode.gpio", "already charge_enable"),
        (lambda d: d["charge_enable"].update(gpio=5), "charge_enable.gpio", "already i2c.scl"),
        (lambda d: d["i2c"].update(sda=5, scl=4), "i2c.sda", "not an I2C0 SDA pin"),
        (lambda d: d["i2c"].update(id=1), "i2c.sda", "not an I2C1 SDA pin"),
        (lambda d: d["i2c"].update(scl=7), "i2c.scl", "GPIO7 is not an I2C0 SCL pin"),
        # Only one side: protection would bound every silent pin by a sum of 0.
        (
            lambda d: [p.update(role="supply", sense="SENSE_V") for p in d["pins"]],
            "pins",
            "at least one ground pin",
        ),
        (
            lambda d: [p.update(role="ground", sense="SENSE_G") for p in d["pins"]],
            "pins",
            "at least one supply pin",
        ),
        (lambda d: d["pins"][0].update(shunt_mohm=0.2), "pins[0].shunt_mohm", "within 0.5"),
    ],
)
def test_bad_board_files_are_refused_naming_file_and_field(root, tmp_path, mutate, field, words):
    d = board_dict(root)
    mutate(d)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(d))
    with pytest.raises(BoardError) as e:
        board.load(str(path))
    msg = str(e.value)
    assert msg.startswith(str(path) + ": " + field), msg
    assert words in msg


def test_unreadable_and_malformed_board_files(tmp_path):
    with pytest.raises(BoardError, match="cannot read"):
        board.load(str(tmp_path / "nope.json"))
    bad = tmp_path / "broken.json"
    bad.write_text("{not json")
    with pytest.raises(BoardError, match="not valid JSON"):
        board.load(str(bad))

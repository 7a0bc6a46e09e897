# Tier B: power cuts in the simulator under the real MicroPython interpreter (the
# simulator's power and flash modules run there too).
# preload: dockfw.app, docksim.dock, docksim.power
from docksim.dock import SimDock
from simload import load_scenario


class _Boots:
    """Counts the boots the stream shows (each hello) and what each said."""

    def __init__(self):
        self.hellos = []

    def __call__(self, view):
        # Only a hello is copied out of the firmware's queue: the heap is tight.
        if bytes(view[:21]) != b'{"v":1,"type":"hello"':
            return
        data = bytes(view)
        k = data.find(b'"reset_cause":"') + 15
        self.hellos.append(data[k : data.find(b'"', k)].decode())


def test_a_timed_cut_and_a_cut_during_a_write_both_reboot_from_power_on():
    obj = {
        "board": "pico-dock-4",
        "seed": 5,
        "duration_s": 6,
        "load": [[0, 0], [0.5, 1200], [1.2, 0], [1.6, 1200]],
        "pins": {"VBUS1": {"cycles": 3}},
        "events": [
            # The device leaves and comes back: its departure is saved (nothing is
            # written as a device lands), and the first cut falls in that write.
            {"t": 0.5, "type": "dock"},
            {"t": 1.2, "type": "undock"},
            {"t": 1.6, "type": "dock"},
            {"t": 0.2, "type": "power_cut", "off_s": 0.3, "during": "write", "fraction": 0.5},
            {"t": 3, "type": "power_cut", "off_s": 0.5},
        ],
    }
    out = _Boots()
    dock = SimDock(load_scenario(obj), out, views=True)
    dock.run_firmware()
    log = dock.power.log
    assert len(log) == 2, log
    write_cut = log[0]
    assert write_cut["path"].endswith(".tmp") and write_cut["kept"] < write_cut["size"]
    assert log[1]["t_us"] == 3000000 and log[1]["path"] is None
    assert out.hellos == ["power_on", "power_on", "power_on"], out.hellos

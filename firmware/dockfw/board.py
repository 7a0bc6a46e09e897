"""Board description: which monitors sit where, validated against one schema.

A board file is JSON (see ``boards/``). ``load(path)`` or ``parse(obj, source)``
returns a ``Board``; any problem raises ``BoardError`` naming the file and the
field, so a bad board file on the dock's flash is reported, never half-used.
"""

SUPPLY = "supply"
GROUND = "ground"
PAD = "pad"  # sense pad on the device's node: drop = sense - own shunt drop
KELVIN = "kelvin"  # monitor across the contact itself: drop = sense


class BoardError(ValueError):
    pass


# The schema: field -> (kind, required, extra). Kinds are checked by _check().
_TOP = {
    "name": ("str", True, None),
    "description": ("str", False, None),
    "mcu": ("str", True, ("rp2040",)),
    "i2c": ("obj", True, None),
    "charge_enable": ("obj", True, None),
    "status_led": ("obj", False, None),
    "safe_mode": ("obj", False, None),
    "rail_mv": ("int", True, (1000, 26000)),
    # The settings a board file sets: held to the bounds of a host's ``set``
    # (protocol.SETTINGS; tests/test_commands_total.py checks they agree), min_current_ma also to
    # its rule with the default contact heat limit (250 mW at 1 V: dockfw.settings).
    # This module imports no other: the virtual board loads it on its own.
    "sample_hz": ("num", True, (1, 1000)),
    "idle_hz": ("num", True, (1, 100)),
    "report_hz": ("num", True, (0.1, 20)),
    "min_current_ma": ("int", True, (10, 250)),
    "max_total_ma": ("int", True, (100, 20000)),
    "pins": ("list", True, None),
    "sense": ("list", True, None),
}
_I2C = {
    "id": ("int", True, (0, 1)),
    "sda": ("int", True, (0, 29)),
    "scl": ("int", True, (0, 29)),
    "freq_hz": ("int", True, (10000, 1000000)),
}
_GPIO = {
    "gpio": ("int", True, (0, 29)),
    "active_high": ("bool", False, None),
}
_PIN = {
    "name": ("str", True, None),
    "role": ("str", True, (SUPPLY, GROUND)),
    "addr": ("addr", True, None),
    # At least 0.5: the monitor's current register in small-int math (dockfw.ina219,
    # LSB * 2**15 < 2**30 at the widest range) needs a shunt of 0.489 mΩ or more.
    "shunt_mohm": ("num", True, (0.5, 10000)),
    "sense": ("str", True, None),
    "x_mm": ("num", True, (-500, 500)),
    "y_mm": ("num", True, (-500, 500)),
    "rated_cycles": ("int", True, (1, 100000000)),
    "max_ma": ("int", True, (1, 20000)),
}
_SENSE = {
    "name": ("str", True, None),
    "addr": ("addr", True, None),
    "node": ("str", True, (SUPPLY, GROUND)),
    "method": ("str", True, (PAD, KELVIN)),
    "x_mm": ("num", False, (-500, 500)),
    "y_mm": ("num", False, (-500, 500)),
}


def _check(obj, schema, where, source):
    if not isinstance(obj, dict):
        raise BoardError("%s: %s: expected an object" % (source, where or "top level"))
    for key in obj:
        if key not in schema:
            raise BoardError("%s: %s%s: unknown field" % (source, where and where + ".", key))
    for key, spec in schema.items():
        kind, required, extra = spec
        field = (where + "." if where else "") + key
        if key not in obj:
            if required:
                raise BoardError("%s: %s: missing" % (source, field))
            continue
        value = obj[key]
        if kind == "addr":
            obj[key] = _address(value, field, source)
            continue
        if kind == "num":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif kind == "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif kind == "str":
            ok = isinstance(value, str) and value != ""
        elif kind == "bool":
            ok = isinstance(value, bool)
        elif kind == "obj":
            ok = isinstance(value, dict)
        else:
            ok = isinstance(value, list)
        if not ok:
            raise BoardError(
                "%s: %s: expected %s, got %r" % (source, field, _KIND_TEXT[kind], value)
            )
        if extra is None or kind in ("obj", "list"):
            continue
        if kind == "str":
            if value not in extra:
                raise BoardError(
                    "%s: %s: must be one of %s, got %r" % (source, field, ", ".join(extra), value)
                )
        elif not extra[0] <= value <= extra[1]:
            raise BoardError(
                "%s: %s: must be within %s..%s, got %r" % (source, field, extra[0], extra[1], value)
            )


_KIND_TEXT = {
    "num": "a number",
    "int": "an integer",
    "str": "a non-empty string",
    "bool": "true or false",
    "obj": "an object",
    "list": "a list",
}


def _address(value, field, source):
    addr = value
    if isinstance(value, str):
        try:
            addr = int(value, 16) if value[:2] in ("0x", "0X") else int(value)
        except ValueError:
            addr = -1
    if not isinstance(addr, int) or isinstance(addr, bool) or not 0x40 <= addr <= 0x4F:
        raise BoardError(
            "%s: %s: expected an INA219 address 0x40..0x4F, got %r" % (source, field, value)
        )
    return addr


class Pin:
    """One power pogo pin and the INA219 across its shunt."""

    def __init__(self, d, index, sense_index):
        self.name = d["name"]
        self.index = index
        self.role = d["role"]
        self.addr = d["addr"]
        self.shunt_uohm = int(d["shunt_mohm"] * 1000 + 0.5)
        self.sense = sense_index
        self.x_um = int(d["x_mm"] * 1000)
        self.y_um = int(d["y_mm"] * 1000)
        self.rated_cycles = d["rated_cycles"]
        self.max_ma = d["max_ma"]


class Sense:
    """A monitor that sees the contact drop: a sense pad or a Kelvin pair."""

    def __init__(self, d, index):
        self.name = d["name"]
        self.index = index
        self.addr = d["addr"]
        self.node = d["node"]
        self.method = d["method"]


class Board:
    def __init__(self, d, source):
        self.source = source
        self.name = d["name"]
        self.description = d.get("description", "")
        self.mcu = d["mcu"]
        i2c = d["i2c"]
        self.i2c_id = i2c["id"]
        self.sda = i2c["sda"]
        self.scl = i2c["scl"]
        self.i2c_freq = i2c["freq_hz"]
        self.charge_gpio = d["charge_enable"]["gpio"]
        self.charge_active_high = d["charge_enable"].get("active_high", True)
        led = d.get("status_led")
        self.led_gpio = led["gpio"] if led else -1
        # A pin that, held at its active level at boot, keeps the firmware (and its
        # watchdog) from starting: the way back to the REPL without a host.
        safe = d.get("safe_mode")
        self.safe_gpio = safe["gpio"] if safe else -1
        self.safe_active_high = safe.get("active_high", False) if safe else False
        self.rail_mv = d["rail_mv"]
        self.sample_hz = d["sample_hz"]
        self.idle_hz = d["idle_hz"]
        self.report_hz = d["report_hz"]
        self.min_current_ma = d["min_current_ma"]
        self.max_total_ma = d["max_total_ma"]
        self.sense = [Sense(s, i) for i, s in enumerate(d["sense"])]
        index = {s.name: s.index for s in self.sense}
        self.pins = [Pin(p, i, index[p["sense"]]) for i, p in enumerate(d["pins"])]

    def pin(self, name):
        for p in self.pins:
            if p.name == name:
                return p
        raise KeyError(name)


def parse(obj, source="board"):
    """Validate a decoded board object and build a Board."""
    _check(obj, _TOP, "", source)
    _check(obj["i2c"], _I2C, "i2c", source)
    _check(obj["charge_enable"], _GPIO, "charge_enable", source)
    for key in ("status_led", "safe_mode"):
        if key in obj:
            _check(obj[key], _GPIO, key, source)
    if not obj["pins"]:
        raise BoardError("%s: pins: a dock needs at least one pin" % source)
    if not obj["sense"]:
        raise BoardError("%s: sense: a dock needs at least one sense monitor" % source)
    _check_gpios(obj, source)
    names = {}
    addrs = {}
    for group, schema in (("sense", _SENSE), ("pins", _PIN)):
        for i, item in enumerate(obj[group]):
            where = "%s[%d]" % (group, i)
            _check(item, schema, where, source)
            if item["name"] in names:
                raise BoardError("%s: %s.name: %r is used twice" % (source, where, item["name"]))
            if item["addr"] in addrs:
                raise BoardError(
                    "%s: %s.addr: 0x%02X is already %s"
                    % (source, where, item["addr"], addrs[item["addr"]])
                )
            names[item["name"]] = group
            addrs[item["addr"]] = item["name"]
    for i, p in enumerate(obj["pins"]):
        if names.get(p["sense"]) != "sense":
            raise BoardError(
                "%s: pins[%d].sense: %r is not a sense monitor of this board"
                % (source, i, p["sense"])
            )
        node = next(s["node"] for s in obj["sense"] if s["name"] == p["sense"])
        if node != p["role"]:
            raise BoardError(
                "%s: pins[%d].sense: %s watches the %s node, pin %s is a %s pin"
                % (source, i, p["sense"], node, p["name"], p["role"])
            )
    roles = [p["role"] for p in obj["pins"]]
    for role in (SUPPLY, GROUND):
        if role not in roles:
            # Protection bounds a silent pin's current by the other side's sum: with no
            # pin on one side that sum is a known 0, and nothing would ever be cut.
            raise BoardError(
                "%s: pins: a dock needs at least one %s pin (its current bounds the "
                "other side's)" % (source, role)
            )
    return Board(obj, source)


def _check_gpios(obj, source):
    """No GPIO does two jobs (a status LED on the charge pin would switch charging on
    with every "off"), and the I2C pins are ones the RP2040 routes to that controller:
    I2Cn's SDA on GPIO 4k + 2n, its SCL on 4k + 2n + 1 (datasheet 2.19.2)."""
    i2c = obj["i2c"]
    bus = i2c["id"]
    for key, lane in (("sda", 0), ("scl", 1)):
        if i2c[key] % 4 != 2 * bus + lane:
            raise BoardError(
                "%s: i2c.%s: GPIO%d is not an I2C%d %s pin (those are GPIO %d, %d, %d, ...)"
                % (source, key, i2c[key], bus, key.upper(), 2 * bus + lane, 2 * bus + lane + 4,
                   2 * bus + lane + 8)
            )  # fmt: skip
    used = {i2c["sda"]: "i2c.sda", i2c["scl"]: "i2c.scl"}
    for key in ("charge_enable", "status_led", "safe_mode"):
        if key in obj:
            gpio = obj[key]["gpio"]
            if gpio in used:
                raise BoardError(
                    "%s: %s.gpio: GPIO%d is already %s" % (source, key, gpio, used[gpio])
                )
            used[gpio] = key + ".gpio"


def load(path):
    """Read and validate a board file."""
    import json

    try:
        with open(path) as f:
            obj = json.load(f)
    except OSError as e:
        raise BoardError("%s: cannot read board file (%s)" % (path, e))
    except ValueError as e:
        raise BoardError("%s: not valid JSON (%s)" % (path, e))
    return parse(obj, path)

"""The protocol is defined once in code and documented once: the two must agree.

Every name and field is looked up in its own row of a table in ``docs/protocol.md``, the
row whose first cell names it, in the table under the heading of the message it belongs
to: a name merely mentioned somewhere in the text does not count. Where the doc gives a
field's type or a setting's unit, it must match the code's: the host's record types
(``pogodock.records``) must accept the documented type, and the values the firmware
writes on the simulated dock must be of it.
"""

import re
import types
import typing

import pytest
from dockfw import protocol
from mp.lineinbox import LineInbox
from pogodock import pinfields, records
from simrig import ROOT, Run, load_scenario

DOC = (ROOT / "docs" / "protocol.md").read_text()


class Table:
    """One markdown table: the heading it sits under, its column titles, its rows (each a
    dict column title -> cell text)."""

    def __init__(self, heading, columns):
        self.heading = heading
        self.columns = columns
        self.rows = []

    def rows_naming(self, name):
        first = self.columns[0]
        return [r for r in self.rows if name in names(r[first])]

    def row(self, name):
        """The one row whose first cell names ``name``."""
        found = self.rows_naming(name)
        assert len(found) == 1, "%r: %d rows under %r" % (name, len(found), self.heading)
        return found[0]

    def first_names(self):
        """The names every row's first cell holds, in order."""
        return [n for r in self.rows for n in names(r[self.columns[0]])]


def parse_tables(text):
    tables = []
    heading = ""
    table = None
    for line in text.splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
            table = None
        elif line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if table is None:
                table = Table(heading, cells)
                tables.append(table)
            elif not re.fullmatch(r"[-: ]*", "".join(cells)):
                table.rows.append(dict(zip(table.columns, cells, strict=True)))
        else:
            table = None
    return tables


def names(cell):
    """The names a cell spells out in backquotes."""
    return re.findall(r"`([^`]+)`", cell)


TABLES = parse_tables(DOC)


def table(heading_is, first_column="key"):
    """The one table whose heading passes ``heading_is`` and whose first column is
    ``first_column``."""
    found = [t for t in TABLES if heading_is(t.heading) and t.columns[0] == first_column]
    assert len(found) == 1, (first_column, [t.heading for t in found])
    return found[0]


def message_table(kind):
    """The table of a message's own keys: under the heading that names the message first."""
    return table(lambda h: names(h)[:1] == [kind] and "per pin" not in h)


def pin_table(kind):
    """The table of the keys of one pin's object in a message's ``pins``."""
    return table(lambda h: h == "`%s` per pin" % kind)


ENVELOPE = table(lambda h: h.startswith("The envelope"))
EVENT_KEYS = message_table(protocol.EVENT)
EVENT_KINDS = table(lambda h: h == "`event`", "kind")
ERROR_CODES = table(lambda h: h == "`error`", "code")
COMMANDS = table(lambda h: h == "Commands from the host", "cmd")
SETTINGS = table(lambda h: h == "Commands from the host")

# -- types: the doc's words, JSON values, the host's annotations --------------------------

# "number" is any JSON number; "int" a whole one.
TYPE_WORDS = {"int", "number", "str", "bool", "null", "list", "object"}


def doc_types(row):
    words = set(row["type"].split(" or "))
    assert words <= TYPE_WORDS, row
    return words


def json_type(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    return {int: "int", float: "number", str: "str", list: "list", dict: "object"}[type(value)]


def allows(words, value_type):
    return value_type in words or (value_type == "int" and "number" in words)


def host_accepts(annotation):
    """The documented types a host annotation takes (a float takes any JSON number)."""
    if isinstance(annotation, types.UnionType):
        return set().union(*(host_accepts(a) for a in typing.get_args(annotation)))
    base = typing.get_origin(annotation) or annotation
    return {
        int: {"int"},
        float: {"int", "number"},
        str: {"str"},
        bool: {"bool"},
        type(None): {"null"},
        list: {"list"},
        dict: {"object"},
    }[base]


# -- names ---------------------------------------------------------------------------------


def test_every_message_type_has_its_own_table_and_the_envelope_lists_it():
    for kind in protocol.TYPES:
        assert message_table(kind).rows, kind
    assert set(names(ENVELOPE.row("type")["meaning"])) == set(protocol.TYPES)


def test_the_envelope_has_a_row_per_field_in_order_with_the_type_the_host_reads():
    assert ENVELOPE.first_names() == list(protocol.ENVELOPE)
    hints = typing.get_type_hints(records.DeviceLine.__init__)
    hints["v"] = type(protocol.VERSION)
    for key in protocol.ENVELOPE:
        assert doc_types(ENVELOPE.row(key)) <= host_accepts(hints[key]), key


def test_every_event_kind_has_its_own_row_with_severities_the_protocol_has():
    assert sorted(EVENT_KINDS.first_names()) == sorted(protocol.EVENT_KINDS)
    for kind in protocol.EVENT_KINDS:
        # "warn (80 % of rated cycles) / fault (100 %)": each alternative names a severity
        for alternative in EVENT_KINDS.row(kind)["severity"].split(" / "):
            assert alternative.split()[0] in protocol.SEVERITIES, (kind, alternative)


def test_every_named_value_is_listed_in_the_row_of_the_field_that_carries_it():
    assert set(names(EVENT_KEYS.row("severity")["meaning"])) == set(protocol.SEVERITIES)
    assert set(names(pin_table(protocol.HEALTH).row("state")["meaning"])) == set(
        protocol.PIN_STATES
    )
    reset_cause = names(message_table(protocol.HELLO).row("reset_cause")["meaning"])
    assert set(protocol.RESET_CAUSES) <= set(reset_cause)
    state_saved = names(EVENT_KINDS.row("state_saved")["extra fields"])
    assert set(protocol.SAVE_REASONS) <= set(state_saved)


def test_every_command_has_its_own_row_naming_exactly_its_arguments():
    assert sorted(COMMANDS.first_names()) == sorted(protocol.COMMANDS)
    for cmd, args in protocol.COMMAND_ARGS.items():
        assert set(names(COMMANDS.row(cmd)["arguments"])) == set(args), cmd


def test_every_error_code_has_its_own_row():
    assert sorted(ERROR_CODES.first_names()) == sorted(protocol.ERROR_CODES)


def test_every_setting_has_its_own_row_with_the_code_s_bounds_and_unit():
    assert sorted(SETTINGS.first_names()) == sorted(protocol.SETTINGS)
    for key, (lo, hi, unit) in protocol.SETTINGS.items():
        row = SETTINGS.row(key)
        if key == "max_total_ma":  # the upper bound is the board file's
            assert row["bounds"] == "%s .. the board file's value" % lo, row
        else:
            assert row["bounds"] == "%s .. %s" % (lo, hi), (key, row["bounds"])
        assert row["unit"] == unit.replace("degC", "°C"), (key, row["unit"])


# -- the host's records --------------------------------------------------------------------

# Properties of the records that are worked out from the line, not a key of it.
DERIVED = {"pin_names"}
PIN_TYPES = {protocol.HELLO, protocol.SAMPLE, protocol.HEALTH}
# The documented types each of pinfields' kinds reads (anything else reads as None).
KIND_READS = {
    pinfields.NUMBER: {"int", "number", "null"},
    pinfields.INT: {"int", "null"},
    pinfields.STATE: {"str"},
    pinfields.FLAGS: {"list"},
}


def test_the_host_s_pin_fields_are_the_documented_ones_each_with_a_type_it_reads():
    for kind in (protocol.SAMPLE, protocol.HEALTH):
        doc = pin_table(kind)
        fields = pinfields.of_line(kind)
        assert sorted(doc.first_names()) == sorted(f.key for f in fields), kind
        for f in fields:
            assert doc_types(doc.row(f.key)) <= KIND_READS[f.kind], (kind, f.key)
    for key, annotation in typing.get_type_hints(records.HelloPin).items():
        assert doc_types(pin_table(protocol.HELLO).row(key)) <= host_accepts(annotation), key


# -- what the firmware writes ----------------------------------------------------------------


@pytest.fixture(scope="module")
def written():
    """Every line the firmware writes in a short run on the simulated dock: a hello, a
    device docking, samples and health, commands acked and one refused, events."""
    scn = load_scenario("misalign", duration_s=8)

    def inbox_for(dock):
        inbox = LineInbox(dock.clock)
        inbox.send_lines(
            1,
            [
                b'{"cmd":"info","id":1}',
                b'{"cmd":"get","id":2}',
                b'{"cmd":"set","id":3,"key":"report_hz","value":2}',
                b'{"cmd":"self-destruct","id":4}',
            ],
        )
        inbox.send_lines(7, [b'{"cmd":"charge","id":5,"on":false}'])  # once docked
        return inbox

    lines = Run(scn, inbox_for=inbox_for).lines
    assert {rec["type"] for rec in lines} >= set(protocol.TYPES) - {protocol.LOG}
    return lines


def test_every_key_the_firmware_writes_has_its_own_row_in_its_message_s_table(written):
    for rec in written:
        if rec["type"] == protocol.EVENT:
            continue  # an event's fields beyond its own keys are its kind's: below
        doc = message_table(rec["type"])
        for key in rec:
            if key not in protocol.ENVELOPE:
                assert len(doc.rows_naming(key)) == 1, (rec["type"], key)


def test_every_pin_key_the_firmware_writes_has_its_own_row_and_its_documented_type(written):
    for rec in written:
        kind = rec["type"]
        if kind not in PIN_TYPES:
            continue
        pins = rec["pins"] if kind == protocol.HELLO else list(rec["pins"].values())
        doc = pin_table(kind)
        for pin in pins:
            for key, value in pin.items():
                assert allows(doc_types(doc.row(key)), json_type(value)), (kind, key, value)
                if kind != protocol.HELLO:  # and the host reads it as what it is
                    read = pinfields.read(pinfields.BY_KEY[key], value)
                    assert read is not None or value is None, (kind, key, value)


def test_every_extra_field_of_an_event_is_named_in_its_kind_s_row(written):
    events = [rec for rec in written if rec["type"] == protocol.EVENT]
    assert {e["kind"] for e in events} >= {"docked", "charge_off", "state_saved"}
    for e in events:
        assert set(EVENT_KEYS.first_names()) <= set(e), e
        extra = set(e) - set(protocol.ENVELOPE) - set(EVENT_KEYS.first_names())
        documented = names(EVENT_KINDS.row(e["kind"])["extra fields"])
        assert extra <= set(documented), (e["kind"], extra)

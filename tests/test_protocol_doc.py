"""The protocol is defined once in code and documented once: the two must agree."""

import re

from dockfw import protocol
from simrig import ROOT

DOC = (ROOT / "docs" / "protocol.md").read_text()


def documented(name):
    return re.search(r"`%s`" % re.escape(name), DOC) is not None


def test_every_message_type_event_kind_and_state_is_documented():
    missing = [
        n
        for n in protocol.TYPES
        + protocol.EVENT_KINDS
        + protocol.PIN_STATES
        + protocol.SEVERITIES
        + protocol.RESET_CAUSES
        + protocol.SAVE_REASONS
        if not documented(n)
    ]
    assert not missing


def test_every_command_setting_and_error_code_is_documented():
    missing = [
        n
        for n in protocol.COMMANDS + tuple(protocol.SETTINGS) + protocol.ERROR_CODES
        if not documented(n)
    ]
    assert not missing


def test_documented_setting_bounds_match_the_code():
    for key, (lo, hi, _unit) in protocol.SETTINGS.items():
        row = re.search(r"^\| `%s` \| ([^|]+) \|" % key, DOC, re.M)
        assert row, key
        if key != "max_total_ma":
            assert row.group(1).strip() == "%s .. %s" % (lo, hi), (key, row.group(1))

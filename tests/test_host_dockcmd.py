"""The dock commands of the command line (config, cleaned, clear, reboot, info, --version),
end to end: each run as a user would, against the real firmware served on a pty by
``pogodock sim --pty``."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from dockfw.app import FIRMWARE_VERSION
from pogodock import __version__
from pogodock.link import ports
from support.cli import run_cli, start_sim_pty
from support.procs import interrupt

ROOT = Path(__file__).resolve().parents[1]
MISALIGN = ROOT / "scenarios" / "misalign.json"


def ok(*args: str) -> str:
    p = run_cli(*args)
    assert p.returncode == 0, p.stderr
    return p.stdout


def one_sentence(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode != 0
    assert "Traceback" not in p.stderr and p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    return lines[0]


@pytest.fixture
def dock(tmp_path: Path) -> Iterator[str]:
    """The path of a simulated dock's pty: the misalignment example made an hour long, so
    that the dock outlives the test however slow the machine is."""
    scenario = json.loads(MISALIGN.read_text())
    scenario["duration_s"] = 3600
    path = tmp_path / "long-misalign.json"
    path.write_text(json.dumps(scenario))
    sim, port = start_sim_pty(str(path), tmp_path / "ttySIM")
    yield port
    interrupt(sim)


def test_config_set_then_get_returns_the_new_value(dock):
    before = json.loads(ok("config", "get", "--json", "--port", dock))
    assert set(before) == {
        "sample_hz", "idle_hz", "report_hz", "min_current_ma", "max_total_ma",
        "contact_mw_limit", "temp_limit_c",
    }  # fmt: skip
    assert before["sample_hz"] != 50
    assert ok("config", "set", "sample_hz", "50", "--port", dock) == "sample_hz = 50 Hz\n"
    assert ok("config", "get", "sample_hz", "--port", dock) == "50\n"
    assert ok("config", "set", "report_hz", "2.5", "--port", dock) == "report_hz = 2.5 Hz\n"
    table = ok("config", "get", "--port", dock).splitlines()
    assert len(table) == len(before)
    assert re.fullmatch(r"sample_hz +50 Hz", next(r for r in table if r.startswith("sample_hz")))
    assert re.fullmatch(r"report_hz +2.5 Hz", next(r for r in table if r.startswith("report_hz")))


def test_a_setting_the_dock_refuses_is_one_sentence_and_changes_nothing(dock):
    before = ok("config", "get", "--json", "--port", dock)
    line = one_sentence(run_cli("config", "set", "sample_hertz", "50", "--port", dock))
    assert line.startswith("pogodock config: the dock refused set: no setting sample_hertz")
    assert line.endswith("(bad_value)")
    for value in ("5000", "fast", "1e999", "nan", "0.5"):
        p = run_cli("config", "set", "sample_hz", value, "--port", dock)
        assert one_sentence(p) == (
            "pogodock config: the dock refused set: sample_hz must be a number from 1 to "
            "1000 Hz (bad_value)"
        ), value
        assert p.returncode == 1
    # The rule between two settings, checked by the dock: min_current_ma <= contact_mw_limit.
    assert "bad_value" in one_sentence(
        run_cli("config", "set", "min_current_ma", "400", "--port", dock)
    )
    line = one_sentence(run_cli("config", "get", "no_such", "--port", dock))
    assert "no setting no_such" in line
    assert ok("config", "get", "--json", "--port", dock) == before


def test_cleaned_and_clear(dock):
    assert ok("cleaned", "VBUS1", "GND1", "--port", dock).startswith("cleaned: VBUS1, GND1;")
    assert ok("cleaned", "--port", dock).startswith("cleaned: all pins;")
    line = one_sentence(run_cli("cleaned", "VBUS1", "PIN9", "--port", dock))
    assert line == (
        "pogodock cleaned: the dock refused cleaned: pins must be a list of one or more of: "
        "VBUS1, GND1, GND2, VBUS2 (bad_value)"
    )
    assert ok("clear", "--port", dock).startswith("cleared:")


def test_info_prints_board_firmware_and_uid(dock):
    rows = dict(
        re.match(r"(\S+(?: \S+)?) {2,}(.*)", line).groups()  # type: ignore[union-attr]
        for line in ok("info", "--port", dock).splitlines()
    )
    assert rows["board"] == "pico-dock-4"
    assert rows["firmware"] == FIRMWARE_VERSION
    assert re.fullmatch(r"[0-9a-f]{16}", rows["uid"])
    assert rows["port"] == dock
    assert rows["pins"].startswith("VBUS1 (supply, ")
    hello = json.loads(ok("info", "--json", "--port", dock))
    assert hello["type"] == "hello" and hello["uid"] == rows["uid"]
    assert rows["boot"] == "%s (reset cause: power_on)" % hello["boot"]


def test_reboot_waits_for_the_new_boot_and_a_setting_survives_it(dock):
    old = json.loads(ok("info", "--json", "--port", dock))["boot"]
    ok("config", "set", "idle_hz", "7", "--port", dock)
    out = ok("reboot", "--port", dock)
    m = re.fullmatch(
        r"rebooted: boot ([0-9a-f]{8}) -> ([0-9a-f]{8}) \(reset cause: reboot\)\n", out
    )
    assert m is not None, out
    assert m.group(1) == old and m.group(2) != old
    hello = json.loads(ok("info", "--json", "--port", dock))
    assert hello["boot"] == m.group(2) and hello["reset_cause"] == "reboot"
    assert ok("config", "get", "idle_hz", "--port", dock) == "7\n"


def test_version_with_a_dock_names_both(dock):
    lines = ok("--version", "--port", dock).splitlines()
    assert lines[0] == "pogodock %s (host)" % __version__
    assert re.fullmatch(
        r"firmware %s on pico-dock-4 \(uid [0-9a-f]{16}\) at %s"
        % (re.escape(FIRMWARE_VERSION), dock),
        lines[1],
    )


def test_version_without_a_dock_is_the_host_version_and_a_note(tmp_path):
    p = run_cli("--version", "--port", str(tmp_path / "ttyNONE"))
    assert p.returncode == 0
    assert p.stdout == "pogodock %s (host)\n" % __version__
    assert p.stderr.startswith("no firmware version: no serial port ")
    if not ports.find_docks():
        p = run_cli("--version")
        assert p.returncode == 0 and p.stdout == "pogodock %s (host)\n" % __version__
        assert p.stderr.startswith("no firmware version: no dock found")


@pytest.mark.parametrize(
    "cmd",
    [["info"], ["config", "get"], ["config", "set", "idle_hz", "5"], ["cleaned"], ["clear"],
     ["reboot"]],
)  # fmt: skip
def test_a_port_that_does_not_exist_is_one_sentence(tmp_path, cmd):
    port = str(tmp_path / "ttyNONE")
    line = one_sentence(run_cli(*cmd, "--port", port))
    assert line == "pogodock %s: no serial port %s (is the dock plugged in?)" % (cmd[0], port)


def test_a_port_where_nothing_answers_is_one_sentence():
    master, slave = os.openpty()
    try:
        path = os.ttyname(slave)
        line = one_sentence(run_cli("info", "--port", path, "--timeout", "0.5"))
    finally:
        os.close(master)
        os.close(slave)
    assert line == (
        "pogodock info: no answer to info from %s within 0.5 s (is it a pogodock, running "
        "its firmware?)" % path
    )


@pytest.mark.parametrize(
    "cmd", [["info"], ["config", "get"], ["config", "set", "idle_hz", "5"], ["reboot"]]
)
def test_a_timeout_that_no_wait_can_take_is_a_usage_error(dock, cmd):
    for value, words in [
        ("inf", "'inf' is not a finite number"),
        ("nan", "'nan' is not a finite number"),
        ("1e12", "1e12 is more than a day (86400 s)"),
    ]:
        p = run_cli(*cmd, "--port", dock, "--timeout", value)
        assert p.returncode == 2 and p.stdout == "" and "Traceback" not in p.stderr
        prog = " ".join(cmd[:2] if cmd[0] == "config" else cmd[:1])
        said = p.stderr.splitlines()[-1]
        assert said == "pogodock %s: error: argument --timeout: %s" % (prog, words)
    # A day is waited for as any timeout: the answer ends the wait.
    assert "firmware" in ok("info", "--port", dock, "--timeout", "86400")


def test_version_port_before_another_command_is_refused(tmp_path):
    p = run_cli("--port", str(tmp_path / "ttyNONE"), "info")
    assert p.returncode == 2 and "goes with --version" in p.stderr


def test_two_docks_and_no_port_is_refused_before_either_is_opened(monkeypatch, capsys):
    from pogodock import cli

    monkeypatch.setattr(ports, "find_docks", lambda: ["/dev/ttyACM0", "/dev/ttyACM1"])
    assert cli.main(["config", "set", "sample_hz", "50"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "pogodock config: 2 ports look like docks (/dev/ttyACM0, /dev/ttyACM1); choose one "
        "with --port\n"
    )


@pytest.mark.parametrize(
    ("error", "status", "said"),
    [(KeyboardInterrupt(), 130, ""), (OSError(5, "Input/output error"), 1, "pogodock --version: ")],
)
def test_version_fails_as_a_command_does(monkeypatch, capsys, error, status, said):
    """``--version`` goes through main()'s error handling: a Ctrl-C while it waits for a
    dock, or a port failing in a way it does not expect, is a status and a sentence, not a
    traceback."""
    from pogodock import cli
    from pogodock.commands import version

    def fail(port):
        raise error

    monkeypatch.setattr(version, "run", fail)
    assert cli.main(["--version"]) == status
    assert capsys.readouterr().err.startswith(said)

"""The pogodock command line, run as a user would: monitor against the simulator on a pty."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from pathlib import Path

import pytest
from dockfw.app import FIRMWARE_VERSION
from pogodock.link import ports
from support.cli import run_cli, start_cli, start_sim_pty
from support.procs import interrupt

ROOT = Path(__file__).resolve().parents[1]
MISALIGN = str(ROOT / "scenarios" / "misalign.json")


def one_sentence(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode != 0
    assert "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    return lines[0]


@pytest.mark.parametrize(
    "sub", "ports monitor sim replay export plot config cleaned clear reboot info".split()
)
def test_every_subcommand_has_help(sub: str):
    p = run_cli(sub, "--help")
    assert p.returncode == 0 and "usage: pogodock " + sub in p.stdout


def test_ports_json_is_a_list():
    p = run_cli("ports", "--json")
    assert p.returncode == 0, p.stderr
    found = json.loads(p.stdout)
    assert isinstance(found, list)
    for entry in found:
        assert {"device", "usb_id", "likely_dock"} <= set(entry)


def test_monitor_errors_are_one_sentence(tmp_path: Path):
    assert "no serial port" in one_sentence(run_cli("monitor", "--port", str(tmp_path / "ttyNONE")))
    assert "--mqtt wants" in one_sentence(run_cli("monitor", "--mqtt", "ftp://localhost"))
    p = run_cli("monitor", "--mqtt", "mqtt://[::1")
    assert p.returncode == 2
    assert (
        one_sentence(p) == "pogodock monitor: --mqtt: 'mqtt://[::1' is not a URL (Invalid IPv6 URL)"
    )
    for option in ("--prometheus", "--mqtt", "--record"):
        for more in ([], ["--port", "/dev/null", "--port", "/dev/zero"]):  # one dock, several
            p = run_cli("monitor", *more, option, "")
            assert p.returncode == 2
            assert one_sentence(p) == "pogodock monitor: %s was given an empty value" % option
    p = run_cli("sim", "--scenario", "demo", "--fast", "--record", "")
    assert p.returncode == 2 and p.stdout == ""
    assert one_sentence(p) == "pogodock sim: --record was given an empty value"
    bad_dir = tmp_path / "no" / "such" / "dir" / "rec.jsonl"
    assert "cannot write the recording" in one_sentence(
        run_cli("monitor", "--port", "/dev/null", "--record", str(bad_dir))
    )


@pytest.mark.skipif(bool(ports.find_docks()), reason="a dock is attached to this machine")
def test_monitor_without_a_dock_says_so():
    assert "no dock found" in one_sentence(run_cli("monitor"))


def test_headless_monitor_of_the_simulated_dock_records_everything(tmp_path: Path):
    sim, path = start_sim_pty(MISALIGN, tmp_path / "ttySIM")
    try:
        rec = tmp_path / "rec.jsonl"
        # stdout is a pipe here: headless without being asked.
        p = run_cli(
            "monitor", "--port", path, "--record", str(rec), "--every", "1", "--duration", "2.5"
        )
        assert p.returncode == 0, p.stderr
        out = p.stdout.splitlines()
        assert "link connected" in out[0]
        assert any("hello: firmware %s, board pico-dock-4" % FIRMWARE_VERSION in x for x in out)
        summaries = [x for x in out if " health: " in x]
        assert len(summaries) >= 2 and "VBUS1" in summaries[-1] and "lost 0" in summaries[-1]
        assert re.search(r"temp \d+\.\d °C", summaries[-1]), summaries[-1]
        lines = [json.loads(x) for x in rec.read_text().splitlines()]
        assert lines[0]["link"] == "connected"
        assert sum("dock" in x for x in lines) >= 8  # 5 samples a second
        # The recording replays to the same picture.
        r = run_cli("replay", str(rec), "--summary")
        assert r.returncode == 0 and "board pico-dock-4" in r.stdout
    finally:
        sim.send_signal(signal.SIGINT)
        sim.wait(5)


@pytest.mark.parametrize("fleet", [False, True], ids=["one dock", "several"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_headless_monitor_stopped_by_a_signal_ends_whole_with_status_130(
    tmp_path: Path, sig: signal.Signals, fleet: bool
):
    sim, path = start_sim_pty(MISALIGN, tmp_path / "ttySIM")
    sims = [sim]
    try:
        rec = tmp_path / "rec"
        more = []
        if fleet:
            other = str(ROOT / "scenarios" / "intermittent.json")
            sims.append(start_sim_pty(other, tmp_path / "ttySIM2")[0])
            more = ["--port", str(tmp_path / "ttySIM2")]
        mon = start_cli("monitor", "--port", path, *more, "--headless", "--record", str(rec))
        assert mon.stdout is not None
        for line in mon.stdout:
            if "link connected" in line:
                break
        else:
            raise AssertionError("the monitor ended before it connected")
        mon.send_signal(sig)
        out, err = mon.communicate(timeout=10)
        assert mon.returncode == 130, err
        assert " health: " in out.splitlines()[-1]  # the final summary, as before
        assert "Traceback" not in err
        for file in list(rec.iterdir()) if fleet else [rec]:
            lines = file.read_text().splitlines()
            assert lines and all(json.loads(x) for x in lines)  # nothing cut short
    finally:
        for s in sims:
            interrupt(s)


@pytest.mark.parametrize("command", ["sim", "vboard"])
def test_a_scenario_file_that_cannot_be_one_is_one_sentence(tmp_path: Path, command: str):
    picture = tmp_path / "picture.json"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    nul = tmp_path / "nul.json"
    scenario = json.loads(Path(MISALIGN).read_text())
    nul.write_text(json.dumps({**scenario, "board": "pico\u0000"}))
    for path, words in [
        (picture, "not a scenario file (not UTF-8 text)"),
        (nul, "field 'board': must be a board name without control characters, got 'pico\\x00'"),
    ]:
        p = run_cli(command, "--scenario", str(path))
        assert p.returncode == 1
        assert one_sentence(p) == "pogodock %s: %s: %s" % (command, path, words)


def test_sim_takes_a_packaged_example_by_name_and_names_them_when_it_is_not_one(tmp_path):
    p = run_cli("sim", "--scenario", "misalign", "--fast", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout.splitlines()[0])["type"] == "hello"
    line = one_sentence(run_cli("sim", "--scenario", "no-such-example", "--fast"))
    assert line.startswith("pogodock sim: no scenario file no-such-example;")
    assert "demo, faults, intermittent, misalign" in line


def test_sim_ends_when_its_reader_goes_as_with_head():
    # `pogodock sim ... | head -3`: the firmware's supervision catches Exception, so a
    # BrokenPipeError in its write was taken for a firmware error and the run went on,
    # at full speed, into the closed pipe (60 simulated days here: about 70 s).
    proc = start_cli(
        "sim", "--scenario", "scenarios/oxidation-60d.json", "--fast", stdin=subprocess.DEVNULL
    )
    assert proc.stdout is not None
    lines = [proc.stdout.readline() for _ in range(3)]
    assert all(json.loads(x)["v"] == 1 for x in lines)
    proc.stdout.close()
    try:
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()
    err = proc.stderr.read() if proc.stderr is not None else ""
    assert "Traceback" not in err and "Exception ignored" not in err, err

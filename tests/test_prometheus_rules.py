"""prometheus/pogodock-rules.yml: promtool finds it clean, and its unit tests
(prometheus/pogodock-rules.test.yml) show every alert firing on a dock in trouble and
quiet on a healthy one."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from prometheus_server import binary
from support.promrules import RULES, rule_metrics

ROOT = Path(__file__).resolve().parents[1]
RULE_TESTS = ROOT / "prometheus" / "pogodock-rules.test.yml"


def promtool(*args: str, cwd: Path = RULES.parent) -> tuple[int, str]:
    done = subprocess.run(
        [binary("promtool"), *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )
    return done.returncode, done.stdout + done.stderr


def alert_names(text: str) -> list[str]:
    return re.findall(r"^\s*- alert: (\w+)$", text, re.M)


def test_promtool_checks_the_rules_clean():
    code, said = promtool("check", "rules", RULES.name)
    assert code == 0, said
    assert "SUCCESS: %d rules found" % len(alert_names(RULES.read_text())) in said, said


def test_promtool_unit_tests_pass_and_cover_every_alert_both_ways():
    code, said = promtool("test", "rules", RULE_TESTS.name)
    assert code == 0 and "SUCCESS" in said, said
    # Each eval block: its alertname, and whether it expects alerts (firing) or none.
    fires: dict[str, set[bool]] = {}
    blocks = re.split(r"^\s*- eval_time:", RULE_TESTS.read_text(), flags=re.M)[1:]
    for block in blocks:
        name = re.search(r"alertname: (\w+)", block)
        assert name, block
        fires.setdefault(name.group(1), set()).add("exp_alerts:" in block)
    for alert in alert_names(RULES.read_text()):
        assert fires.get(alert) == {True, False}, "%s needs a firing and a quiet case" % alert


def test_the_unit_tests_catch_a_rule_that_would_never_fire(tmp_path: Path):
    """The firing cases are real: with one alert's threshold out of reach, they fail."""
    broken = re.sub(r"for: 2m\n", "for: 200m\n", RULES.read_text())
    assert broken != RULES.read_text()
    (tmp_path / RULES.name).write_text(broken)
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    code, said = promtool("test", "rules", RULE_TESTS.name, cwd=tmp_path)
    assert code != 0
    for alert in ("PogodockChargeOffLatched", "PogodockDockSilent", "PogodockMonitorDown"):
        assert "alertname: %s" % alert in said, said


def test_the_rules_read_only_metrics_the_exporter_defines():
    """Names cross-checked against the exporter's own; test_grafana_dashboard checks them
    against a real Prometheus scrape as well."""
    from pogodock import pinfields
    from pogodock.exporters import prometheus as exporter_module

    # The per-pin metrics are named in the pin field table.
    source = Path(exporter_module.__file__).read_text() + Path(pinfields.__file__).read_text()
    metrics = rule_metrics(RULES.read_text())
    assert {"pogodock_link_up", "pogodock_events_total", "up"} <= metrics, metrics
    for name in metrics - {"up"}:
        base = re.sub(r"_total$", "", name)
        assert '"%s"' % base in source, "%s is not a metric pogodock exports" % name


def test_the_readme_configuration_loads_the_rules(tmp_path: Path):
    """README, "Running many docks": its prometheus.yml, with the rules where it puts them."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Running many docks") :]
    m = re.search(r"```yaml\n(rule_files:\n.*?)```", section, re.S)
    assert m, "the section's prometheus.yml is missing"
    conf = m.group(1)
    rules_path = re.search(r"- (\S+pogodock-rules\.yml)", conf)
    assert rules_path and "job_name: pogodock\n" in conf
    shutil.copy(RULES, tmp_path / RULES.name)
    (tmp_path / "prometheus.yml").write_text(
        conf.replace(rules_path.group(1), str(tmp_path / RULES.name))
    )
    code, said = promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    found = "SUCCESS: %d rules found" % len(alert_names(RULES.read_text()))
    assert code == 0 and found in said, said

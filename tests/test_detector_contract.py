"""The detector contract (dockfw/detect.py): what the App hands its detectors, in what
order they run, and that what they raise is the protocol's."""

import pytest
import simrig
from dockfw import protocol
from dockfw.detect import Detector


@pytest.fixture(scope="module")
def faults():
    return simrig.run("faults")


def test_a_detector_handed_another_runs_after_it(faults):
    app = faults.app
    order = list(app.detectors)
    handed = 0
    for d in order:
        for other in vars(d).values():
            if isinstance(other, Detector) and other is not d:
                handed += 1
                # Its report() reads the other's verdict on the same report.
                assert order.index(other) < order.index(d), (type(d), type(other))
    assert handed >= 2  # drift's alignment and intermittent, at least


def test_every_event_a_scenario_raises_is_a_kind_and_severity_of_the_protocol(faults):
    runs = [faults, simrig.run("misalign"), simrig.run("intermittent")]
    seen = {(e["kind"], e["severity"]) for r in runs for e in r.of_type(protocol.EVENT)}
    assert {k for k, _ in seen} >= {"misalignment", "intermittent", "overcurrent", "overheat"}
    for kind, severity in seen:
        assert kind in protocol.EVENT_KINDS, kind
        assert severity in protocol.SEVERITIES, (kind, severity)


def test_the_context_offers_everything_the_contract_documents(faults):
    import dockfw.detect as detect

    app = faults.app
    doc = detect.__doc__ or ""
    documented = [name for name in CONTEXT if "``%s" % name in doc]
    assert documented == list(CONTEXT), set(CONTEXT) - set(documented)
    for name in CONTEXT:
        assert hasattr(app, name), name


# What a detector may use of its context (the App); grep ``ctx\.`` in the detectors.
CONTEXT = (
    "board",
    "sampler",
    "report",
    "docking",
    "store",
    "clock",
    "charging",
    "sample_millihz",
    "interruptible",
    "crash_hold",
    "event",
    "t_s",
    "temp_mc",
    "set_charging",
)

# Scenario loading for tier B's simulator runs: parse, then unload the validator.
# Under the 64-bit unix port at the RP2040's 192k heap, the firmware and the simulator
# together leave little room; the scenario validator's code (about 15 kB of heap) is
# needed only while parsing, and a Scenario holds no reference to it.
import gc
import json
import sys


def load_scenario(obj_or_path, boards="boards", **overrides):
    if isinstance(obj_or_path, str):
        with open(obj_or_path) as f:
            obj = json.load(f)
    else:
        obj = obj_or_path
    obj.update(overrides)
    from docksim import scenario

    sc = scenario.parse(obj, "mp-scenario", boards)
    del scenario
    sys.modules.pop("docksim.scenario", None)
    import docksim

    try:
        delattr(docksim, "scenario")
    except AttributeError:
        pass
    gc.collect()
    return sc

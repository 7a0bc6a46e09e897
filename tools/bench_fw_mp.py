# Firmware figures measured inside MicroPython (run by tools/bench_fw.py, MICROPYPATH
# set to the compiled firmware and simulator): prints one JSON object.
import gc
import json
import sys

sys.path.append("tests/mp")

gc.collect()
before = gc.mem_alloc()
import dockfw.app  # noqa: E402,F401  (every firmware module but the RP2040 HAL)

gc.collect()
import_heap = gc.mem_alloc() - before

import test_alloc  # noqa: E402

print(
    json.dumps(
        {
            "fw_import_heap_bytes": import_heap,
            "fw_alloc_bytes_per_cycle": test_alloc.alloc_per_cycle(2000),
        }
    )
)

# Test tier B, inside the real MicroPython interpreter (unix port):
#   micropython -X heapsize=192k tools/mptest.py [module [name-filter]]
# Imports tests/mp/<module>.py (every tests/mp/test_*.py when no module is named),
# calls each test_* function and prints "N passed, N failed"; exit status 1 on any
# failure. tools/tier_b.py runs each module in a fresh interpreter.
import gc
import os
import sys

for p in ("tests/mp", "sim", "firmware"):
    if p not in sys.path:
        sys.path.append(p)


def preloads(modname):
    """Modules named on a ``# preload: a, b`` line at the top of the test file.

    They are imported before the test module, as the board's main.py loads the
    firmware first: a test module that pulls them in while it is itself being loaded
    leaves the heap in fragments, and the firmware's buffers would find no room."""
    with open("tests/mp/%s.py" % modname) as f:
        for _ in range(5):
            line = f.readline()
            if line.startswith("# preload:"):
                return [m.strip() for m in line[10:].split(",")]
    return []


def run_module(modname, pattern):
    passed = failed = 0
    for name in preloads(modname):
        __import__(name)
    gc.collect()
    try:
        mod = __import__(modname)
    except Exception as e:
        print("FAIL %s (import)" % modname)
        sys.print_exception(e)
        return 0, 1
    for name in sorted(n for n in dir(mod) if n.startswith("test_")):
        full = "%s.%s" % (modname, name)
        if pattern and pattern not in full:
            continue
        gc.collect()
        try:
            getattr(mod, name)()
            passed += 1
            print("ok   %s" % full)
        except Exception as e:
            failed += 1
            print("FAIL %s" % full)
            sys.print_exception(e)
    del sys.modules[modname]
    gc.collect()
    return passed, failed


def main():
    args = sys.argv[1:]
    if args:
        modules = [args[0]]
    else:
        modules = sorted(
            f[:-3] for f in os.listdir("tests/mp") if f.startswith("test_") and f.endswith(".py")
        )
    pattern = args[1] if len(args) > 1 else ""
    passed = failed = 0
    for m in modules:
        p, f = run_module(m, pattern)
        passed += p
        failed += f
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or not passed else 0)


main()

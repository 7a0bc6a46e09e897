# Test tier B: runs under the real MicroPython interpreter (unix port), from the repo root:
#   .venv/bin/micropython -X heapsize=192k tools/mptest.py [name-filter]
# Imports every tests/mp/test_*.py with firmware/ and host/ on the path, calls each
# test_* function, and prints "N passed, N failed". Exit status 1 on any failure.
import gc
import os
import sys

for p in ("tests/mp", "host", "firmware"):
    if p not in sys.path:
        sys.path.insert(0, p)


def main():
    pattern = sys.argv[1] if len(sys.argv) > 1 else ""
    passed = 0
    failed = 0
    for fname in sorted(os.listdir("tests/mp")):
        if not (fname.startswith("test_") and fname.endswith(".py")):
            continue
        modname = fname[:-3]
        try:
            mod = __import__(modname)
        except Exception as e:
            print("FAIL %s (import)" % modname)
            sys.print_exception(e)
            failed += 1
            continue
        names = sorted(n for n in dir(mod) if n.startswith("test_"))
        for name in names:
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
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or not passed else 0)


main()

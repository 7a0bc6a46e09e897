"""``make demo``: the demo scenario on a virtual dock, the live monitor attached to its port.

Starts ``pogodock sim --pty`` (real time, sped up so the story fits a couple of
minutes), reads the pseudo-terminal's path from its first line, and runs
``pogodock monitor --demo --port PATH`` in the foreground. The monitor shows the
dashboard in a terminal and headless lines otherwise. The virtual dock leaves when
its scenario ends, and ``--demo`` has the monitor say that the demo is over (headless,
it stops) rather than look for an unplugged dock; it also marks per-day figures as
compressed. Quitting the monitor (q) stops the virtual dock too.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POGODOCK = str(Path(sys.executable).with_name("pogodock"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "demo.json"))
    parser.add_argument("--speed", default="3", help="simulated seconds per real second")
    parser.add_argument("monitor_args", nargs="*", help="extra arguments for pogodock monitor")
    args = parser.parse_args()
    sim = subprocess.Popen(
        [POGODOCK, "sim", "--scenario", args.scenario, "--pty", "--speed", args.speed],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sim.stdout is not None
        path = sim.stdout.readline().strip()
        if not path:
            print("demo: the virtual dock did not start", file=sys.stderr)
            return 1
        monitor = [POGODOCK, "monitor", "--demo", "--port", path, *args.monitor_args]
        if not sys.stdout.isatty():  # a bound, should the virtual dock hang
            monitor += ["--duration", "%d" % (240 / float(args.speed) + 30)]
        code = subprocess.call(monitor)
        failed = sim.poll()
        if failed:
            print("demo: the virtual dock failed (exit code %d)" % failed, file=sys.stderr)
            return 1
        return code
    except KeyboardInterrupt:
        return 130
    finally:
        sim.terminate()
        try:
            sim.wait(5)
        except subprocess.TimeoutExpired:
            sim.kill()


if __name__ == "__main__":
    sys.exit(main())

"""Command handling under fire: the long runs behind the tests' short ones, with figures.

    .venv/bin/python tools/reliability_commands.py [--inputs 100000] [--corpus 5000]
        [--seed 1] [--flood-s 8] [--only fuzz,mp,sim,vboard]

- fuzz: generated lines (mutated commands, token soup, noise, CPython-written JSON,
  the hostile corpus) through the strict parser against a strict reference (CPython's
  json with strict hooks): crashes (any exception but JSONError), disagreements on
  acceptance, values that differ; the same lines through Commands on a real App:
  lines without exactly one answer, answers that are not ASCII strict JSON. A share
  of the lines also goes through the parser under MicroPython, compared with CPython.
- mp: the hostile corpus through the whole firmware loop under MicroPython.
- sim / vboard: a flood of ``get`` at the highest rate the link takes with an overload
  injected meanwhile, then the hostile corpus (lines up to 21 kB), over ``sim --pty``
  and over the virtual board with the firmware flashed.

Prints one table; exit status 1 when any figure that must be zero is not.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tools"))

import docksim  # noqa: E402, F401  (makes dockfw importable: micropython stand-in)
from dockfw import protocol  # noqa: E402
from dockfw.strictjson import JSONError, parse  # noqa: E402
from mp.hostile import corpus  # noqa: E402
from support.strictref import reference, same  # noqa: E402

_PIECES = [
    b"{", b"}", b"[", b"]", b":", b",", b'"', b"\\", b"\\u", b"d800", b"dc00", b"0", b"1",
    b"-", b"+", b".", b"e", b"E", b"true", b"false", b"null", b"NaN", b"Infinity", b" ",
    b"\t", b"\r", b'"id"', b'"cmd"', b"1e400", b"\xc3\xa9", b"\xed\xa0\x80", b"\xc0\x80",
    b"\xf4\x90\x80\x80", b"\xff", b"\x00", b"\x1f", b"'", b"/*", b"\xef\xbb\xbf",
]  # fmt: skip
_BASES = [
    b'{"cmd":"info","id":1}',
    b'{"cmd":"get","id":"a","key":"idle_hz"}',
    b'{"cmd":"set","id":2,"key":"max_total_ma","value":2000}',
    b'{"cmd":"set","id":3,"key":"report_hz","value":2.5}',
    b'{"cmd":"charge","id":4,"on":false}',
    b'{"cmd":"cleaned","id":5,"pins":["GND1","VBUS2"]}',
    b'{"cmd":"clear","id":"\\u00e9\\ud83d\\ude00"}',
    b'{"cmd":"reboot","id":6}',
]


def _value(r: random.Random, depth: int = 0):
    c = r.randrange(9 if depth < 4 else 6)
    if c == 0:
        return None
    if c == 1:
        return r.random() < 0.5
    if c == 2:
        return r.randint(-(10**20), 10**20)
    if c == 3:
        return r.choice([0.5, -1e300, 1e-300, float("nan"), float("inf"), r.uniform(-1e6, 1e6)])
    if c in (4, 5):
        return "".join(chr(r.choice([r.randrange(32, 127), r.randrange(0x110000)])) for _ in
                       range(r.randrange(6)))  # fmt: skip
    if c in (6, 7):
        return [_value(r, depth + 1) for _ in range(r.randrange(4))]
    return {str(_value(r, depth + 1)): _value(r, depth + 1) for _ in range(r.randrange(4))}


def generated(seed: int, n: int):
    """``n`` lines from five sources, seeded."""
    r = random.Random(seed)
    hostile = corpus(seed, n, long_max=300)
    for k in range(n):
        c = k % 5
        if c == 0:
            line = bytearray(r.choice(_BASES))
            for _ in range(r.randint(1, 4)):
                at = r.randrange(len(line) + 1)
                piece = r.choice(_PIECES) if r.random() < 0.7 else bytes([r.randrange(256)])
                op = r.randrange(3)
                if op == 0:
                    line[at:at] = piece
                elif op == 1:
                    del line[at : at + r.randint(1, 3)]
                else:
                    line[at : at + len(piece)] = piece
            yield bytes(line)
        elif c == 1:
            yield b"".join(r.choice(_PIECES) for _ in range(r.randrange(20)))
        elif c == 2:
            yield bytes(r.randrange(256) for _ in range(r.randrange(120)))
        elif c == 3:
            text = json.dumps(_value(r), ensure_ascii=r.random() < 0.5)
            yield text.encode("utf-8", "surrogatepass")
        else:
            yield next(hostile)[0]


def fuzz(seed: int, n: int) -> dict:
    from dockfw.app import App
    from docksim.dock import SimDock
    from simrig import load_scenario

    raw: list[bytes] = []
    dock = SimDock(load_scenario("misalign", duration_s=10), raw.append)
    app = App(dock, sample_hz=200)
    app.start()
    fig: dict = dict.fromkeys(
        ["inputs", "accepted", "crashes", "disagreements", "value_mismatches",
         "answer_count_wrong", "answers_not_strict", "commands_crashed"], 0,
    )  # fmt: skip
    examples: list = []
    mp_lines = []
    for line in generated(seed, n):
        fig["inputs"] += 1
        try:
            want = (True, reference(line))
        except (ValueError, RecursionError):
            want = (False, None)
        try:
            got = (True, parse(line))
        except JSONError:
            got = (False, None)
        except Exception as e:  # a crash: what this counts
            fig["crashes"] += 1
            examples.append(("crash", line, repr(e)))
            continue
        fig["accepted"] += got[0]
        if got[0] != want[0]:
            fig["disagreements"] += 1
            examples.append(("disagree", line, got, want))
        elif got[0] and not same(got[1], want[1]):
            fig["value_mismatches"] += 1
            examples.append(("value", line, got, want))
        if len(mp_lines) < n // 5 and len(line) <= protocol.MAX_COMMAND_BYTES:
            mp_lines.append((line, want))
        raw.clear()
        try:
            app.commands.handle(line[: protocol.MAX_COMMAND_BYTES + 1])
        except Exception as e:  # a crash: what this counts
            fig["commands_crashed"] += 1
            examples.append(("commands", line, repr(e)))
            continue
        app.reboot_requested = False
        answers = 0
        for out in b"".join(raw).splitlines():
            try:
                rec = reference(out, command=False)
                if max(out) >= 0x80:
                    raise ValueError("not ASCII")
            except ValueError:
                fig["answers_not_strict"] += 1
                examples.append(("answer", line, out))
                continue
            answers += rec["type"] in ("ack", "error")
        if answers != 1:
            fig["answer_count_wrong"] += 1
            examples.append(("answers", line, answers))
    fig["mp_agreement"] = _micropython_agreement(mp_lines)
    fig["examples"] = examples[:5]
    return fig


_MP_PARSE = """
import sys
from dockfw.strictjson import parse, JSONError
def canon(v):
    if isinstance(v, dict):
        return "{" + ",".join(canon(k) + ":" + canon(v[k]) for k in sorted(v)) + "}"
    if isinstance(v, list):
        return "[" + ",".join(canon(x) for x in v) + "]"
    if isinstance(v, str):
        return "s" + "".join("%x." % ord(c) for c in v)
    if isinstance(v, float):
        return "f%r" % v
    return repr(v)
f = open(sys.argv[1], "rb")
for line in f:
    try:
        print("1 " + canon(parse(line[:-1])))
    except JSONError:
        print("0")
"""


def _canon(v) -> str:
    if isinstance(v, dict):
        return "{" + ",".join(_canon(k) + ":" + _canon(v[k]) for k in sorted(v)) + "}"
    if isinstance(v, list):
        return "[" + ",".join(_canon(x) for x in v) + "]"
    if isinstance(v, str):
        return "s" + "".join("%x." % ord(c) for c in v)
    if isinstance(v, float):
        return "f%r" % v
    return repr(v)


def _micropython_agreement(lines: list) -> dict:
    """The parser under MicroPython (double floats: the unix port) against CPython's
    reference: acceptance and values (floats to 1e-12 relative)."""
    import tier_b

    tier_b.build_mpy()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "lines.bin"
        data.write_bytes(b"".join(line + b"\n" for line, _ in lines if b"\n" not in line))
        kept = [(line, want) for line, want in lines if b"\n" not in line]
        script = Path(tmp) / "parse.py"
        script.write_text(_MP_PARSE)
        out = subprocess.run(
            [str(tier_b.BIN / "micropython"), "-X", "heapsize=4M", str(script), str(data)],
            env=dict(os.environ, MICROPYPATH=str(tier_b.OUT)),
            capture_output=True, text=True, check=True,
        ).stdout.splitlines()  # fmt: skip
    differ = 0
    for (_line, want), got in zip(kept, out, strict=True):
        accepted = got.startswith("1")
        if accepted != want[0]:
            differ += 1
        elif accepted and got[2:] != _canon(want[1]) and not _close(got[2:], _canon(want[1])):
            differ += 1
    return {"inputs": len(kept), "differ": differ}


def _close(a: str, b: str) -> bool:
    """Equal but for float digits (MicroPython writes fewer)."""
    import re

    pa, pb = re.split(r"f([^,\]}]+)", a), re.split(r"f([^,\]}]+)", b)
    if len(pa) != len(pb):
        return False
    for k, (x, y) in enumerate(zip(pa, pb, strict=True)):
        if k % 2:
            fx, fy = float(x), float(y)
            if not math.isclose(fx, fy, rel_tol=1e-12, abs_tol=0) and fx != fy:
                return False
        elif x != y:
            return False
    return True


def micropython_corpus(seed: int, n: int) -> dict:
    import tier_b

    tier_b.build_mpy()
    code = (
        "import test_commands_hostile as T\n"
        "import json\n"
        "f = T.corpus_run(%d, %d, 21000)\n"
        "f['examples'] = [repr(x) for x in f['examples']]\n"
        "print(json.dumps(f))\n" % (n, seed)
    )
    out = subprocess.run(
        [str(tier_b.BIN / "micropython"), "-X", "heapsize=2M", "-c",
         "import sys; sys.path.append('tests/mp'); sys.path.append('firmware'); " + code],
        cwd=ROOT, env=dict(os.environ, MICROPYPATH="%s:%s" % (tier_b.OUT, tier_b.OUT / "mp")),
        capture_output=True, text=True,
    )  # fmt: skip
    if out.returncode:
        return {"error": (out.stdout + out.stderr)[-600:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def over_link(kind: str, seed: int, n: int, flood_s: float) -> dict:
    from support.cmdlink import Link, dock_ms, flood, run_corpus
    from support.procs import interrupt
    from test_commands_link import link_scenario

    overload_at = 6.0 if kind == "sim" else 20.0  # the vboard is flashed first
    fig: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        scn = link_scenario(tmpd, overload_at)
        args = ["sim", "--scenario", scn, "--pty"] if kind == "sim" else [
            "vboard", "--scenario", scn, "--flash", str(tmpd)]  # fmt: skip
        proc = subprocess.Popen(
            [sys.executable, "-m", "pogodock.cli", *args],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            port = proc.stdout.readline().strip()
            start = time.monotonic()
            if kind == "vboard":
                flashed = subprocess.run(
                    [sys.executable, "tools/flash.py", "--port", port, "--board", "pico-dock-4",
                     "--out", str(tmpd / "image")],
                    cwd=ROOT, capture_output=True, text=True, timeout=120,
                )  # fmt: skip
                if flashed.returncode:
                    return {"error": flashed.stdout + flashed.stderr}
            link = Link(port)
            try:
                link.wait(lambda: any(r["type"] == "sample" for _, r in link.snapshot()), 10)
                if kind == "sim":  # by the dock's clock: the simulator's lags the wall clock
                    link.wait(lambda: dock_ms(link) >= overload_at * 1000 - flood_s * 500, 60)
                    over = overload_at * 1000 + flood_s * 500
                    fl = flood(link, 10 * flood_s, until=lambda: dock_ms(link) > over)
                else:
                    time.sleep(max(0.0, start + overload_at - flood_s / 2 - time.monotonic()))
                    fl = flood(link, flood_s)
                cut = [(t, r) for t, r in link.snapshot()
                       if t >= fl["t0"] and r["type"] == "event"
                       and r["kind"] == "overcurrent"]  # fmt: skip
                fig["flood_sent_per_s"] = round(fl["send_rate"])
                fig["flood_answered_per_s"] = round(fl["answer_rate"])
                fig["flood_all_answered_in_order"] = fl["in_order"] and fl["answered"] == fl["sent"]
                fig["flood_lines_lost_on_the_link"] = fl["lost_lines"]
                fig["flood_sampling_hz"] = round(fl["sampling"]["rate_hz"], 1)
                fig["flood_wall_s"] = round(fl["t1"] - fl["t0"], 1)
                fig["flood_sample_lines_per_s"] = round(
                    fl["sampling"]["lines"] / (fl["t1"] - fl["t0"]), 1
                )
                # Seen by the host, on the wall clock: sim --pty's own clock falls behind it
                # under a flood (it does not count the CPU commands take), so for the
                # simulator the dock's time of the cut says more (t_ms: since its boot,
                # the scenario's start; the vboard's flashing rebooted it, so not there).
                fig["overload_cut_seen_after_s"] = (
                    round(cut[0][0] - start - overload_at, 3) if cut else None
                )
                if kind == "sim" and cut:
                    fig["overload_cut_dock_ms"] = cut[0][1]["t_ms"] - int(overload_at * 1000)
                res = run_corpus(link, list(corpus(seed, n, long_max=21000)), timeout=600)
                fig["corpus_lines"] = res["lines"]
                fig["corpus_answered"] = res["answered"]
                fig["corpus_wrong"] = len(res["wrong"])
                fig["corpus_examples"] = [repr(w)[:200] for w in res["wrong"][:3]]
                fig["corpus_config_kept"] = res["config_kept"]
                fig["corpus_boots"] = len(res["boots"])
                fig["corpus_charge_offs"] = len(res["charging_off"])
                fig["corpus_wall_s"] = round(res["wall_s"], 1)
                fig["corpus_sampling_hz"] = round(res["sampling"]["rate_hz"], 1)
                fig["console_lines"] = len(link.console)
                fig["not_strict_lines"] = len(link.not_strict)
            finally:
                link.close()
        finally:
            interrupt(proc)
    return fig


def main() -> int:
    ap = argparse.ArgumentParser(description="Command handling under fire, with figures.")
    ap.add_argument("--inputs", type=int, default=100000)
    ap.add_argument("--corpus", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--flood-s", type=float, default=8.0)
    ap.add_argument("--only", default="fuzz,mp,sim,vboard")
    args = ap.parse_args()
    only = set(args.only.split(","))
    report: dict = {}
    bad = 0
    if "fuzz" in only:
        t = time.monotonic()
        f = fuzz(args.seed, args.inputs)
        f["seconds"] = round(time.monotonic() - t, 1)
        report["fuzz"] = f
        bad += sum(f[k] for k in ("crashes", "disagreements", "value_mismatches",
                                  "answer_count_wrong", "answers_not_strict",
                                  "commands_crashed")) + f["mp_agreement"]["differ"]  # fmt: skip
    if "mp" in only:
        f = micropython_corpus(args.seed, args.corpus)
        report["micropython_corpus"] = f
        bad += "error" in f or bool(f["wrong"] or f["charging_off"] or f["boots"] != 1)
    for kind in ("sim", "vboard"):
        if kind in only:
            f = over_link(kind, args.seed, args.corpus, args.flood_s)
            report[kind] = f
            bad += "error" in f or bool(f.get("corpus_wrong", 1) or f.get("corpus_charge_offs")
                                        or not f.get("corpus_config_kept")
                                        or f.get("corpus_boots") != 1
                                        or not f.get("flood_all_answered_in_order")
                                        or f.get("overload_cut_seen_after_s") is None)  # fmt: skip
    for section, figs in report.items():
        print(section)
        for k, v in figs.items():
            print("  %-32s %s" % (k, v))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

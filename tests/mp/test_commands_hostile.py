# Tier B: command lines under the real MicroPython interpreter, whose own json.loads is
# preload: dockfw.app, frozenbus
# lenient: the strict parser refuses what it let through, and the seeded hostile corpus
# goes through the whole firmware loop on a dock with a device drawing 1.5 A (the fixed
# registers of frozenbus: the circuit simulator leaves too little of the 192k heap for
# the corpus beside it; tests/test_commands_total.py runs the corpus on the simulator
# under CPython). Lines are checked as they stream.
import gc
import sys
from array import array

from dockfw import protocol
from dockfw.app import App
from dockfw.strictjson import JSONError, parse
from frozenbus import FrozenHal
from lineinbox import LineInbox

CORPUS_FILE = "build/mp-hostile-corpus.txt"
_NULL = -1  # an answer's id must be null
_ANY = -2  # either

# What MicroPython's json.loads accepted, and the board then executed.
LENIENT = (
    b'{"cmd":"set","key":"max_total_ma","value":2000"id":3}',
    b'{"cmd":"charge" "on":false}',
    b'{"cmd":"set","key":"max_total_ma","value":2000,}',
    b'{"cmd":"charge","on":false}x',
    b'{"cmd":"charge","on":false,"on":true}',
    b'{"cmd":"info","id":"\\ud800"}',
    b'{"cmd":"info","id":1e400}',
    b'{"cmd":"info","id":"\xff"}',
    b'{"cmd":"info","id":"\xed\xa0\x80"}',
    b'{"cmd":"info","id":"a\tb"}',
)


def test_lenient_lines_are_refused_and_strict_ones_read_right():
    for line in LENIENT:
        try:
            parse(line)
        except JSONError:
            continue
        raise AssertionError("accepted: %r" % line)
    v = parse(b'{"cmd":"cleaned","id":"\\u00e9\\ud83d\\ude00","pins":["GND1"],"x":[-0,2.5e1]}')
    assert v == {"cmd": "cleaned", "id": "\u00e9\U0001f600", "pins": ["GND1"], "x": [0, 25.0]}
    try:
        parse(b'{"id":41,"cmd":"set","key":"max_total_ma","value":2000"x":1}')
    except JSONError as e:
        assert e.cid == 41
    else:
        raise AssertionError("accepted")


def test_lines_are_ascii_json_whatever_the_strings_hold():
    line = protocol.encode("log", 1, "0badcafe", 5, [("msg", "a" + chr(0xD800) + '\u00e9\n"')])
    assert max(line) < 0x80
    assert parse(line.strip())["msg"] == 'a\ufffd\u00e9\n"'


def _field(line, key):
    # The text after '"key":' up to the next ',' (a line's fields are flat up front).
    i = line.find(key)
    assert i >= 0, (key, line[:80])
    i += len(key) + 1
    end = line.find(b",", i)
    return line[i : end if end >= 0 else len(line)]


class _Stream:
    """Checks each line as it goes out: one boot, sampling on, every answer as expected.
    What is wrong is counted (``wrong``, the first few in ``examples``)."""

    def __init__(self, codes, cids):
        self.codes = codes  # per corpus line, in the order sent: the codes allowed
        self.cids = cids  # and the id: a number, _NULL or _ANY
        self.boots = []
        self.answers = 0
        self.cycles = 0
        self.first_ms = 0
        self.last_ms = 0
        self.config = None
        self.charging_off = 0
        self.wrong = 0
        self.examples = []

    def _bad(self, what):
        self.wrong += 1
        if len(self.examples) < 3:
            self.examples.append(what)

    def __call__(self, view):
        data = bytes(view)
        # One line per write as a rule (the dock flushes after each): split only if not.
        for line in (data,) if data.count(b"\n") == 1 else data.splitlines():
            boot = _field(line, b'"boot"')
            if boot not in self.boots:
                self.boots.append(boot)
            head = line[:48]
            if b'"type":"sample"' in head:
                t_ms = int(_field(line, b'"t_ms"'))
                if t_ms > 2000:  # from the first line after 2 s: cycles over its span
                    if self.first_ms:
                        self.cycles += int(_field(line, b'"cycles"'))
                    else:
                        self.first_ms = t_ms
                    self.last_ms = t_ms
                if _field(line, b'"charging"') != b"true":
                    self.charging_off += 1
            elif b'"type":"error"' in head or b'"type":"ack"' in head:
                if max(line) >= 0x80:
                    self._bad(line)
                rec = parse(line)  # strict JSON, or this raises
                k = self.answers
                self.answers += 1
                if rec["type"] == "ack":
                    if rec["id"] != "end" or k != len(self.codes):
                        self._bad((k, rec))
                    self.config = rec["config"]
                    continue
                if k >= len(self.codes):
                    self._bad((k, rec))
                    continue
                cid = self.cids[k]
                want = None if cid == _NULL else cid
                if rec["code"] not in self.codes[k] or (cid != _ANY and rec["id"] != want):
                    self._bad((k, rec, self.codes[k], cid))


def _write_corpus(n, seed, long_max):
    """The corpus into a file, its expectations into memory, and the generator (17 kB of
    code) out of the heap again before the firmware and the simulator need it."""
    from hostile import ANY, corpus

    codes = []
    cids = array("i")
    with open(CORPUS_FILE, "wb") as f:
        for line, allowed, cid in corpus(seed, n, long_max=long_max):
            f.write(line + b"\n")
            codes.append(allowed)
            cids.append(_ANY if cid == ANY else _NULL if cid is None else cid)
        f.write(b'{"cmd":"get","id":"end"}\n')
    del corpus
    sys.modules.pop("hostile", None)
    gc.collect()
    return codes, cids


def _lines():
    with open(CORPUS_FILE, "rb") as f:
        while True:
            line = f.readline()
            if not line:
                return
            yield line


class _CorpusHal(FrozenHal):
    """The frozen dock with a host: lines in from the inbox, lines out to the stream."""

    def __init__(self, stream, end_s):
        super().__init__()
        self.stream = stream
        self.inbox = LineInbox(self.clock)
        self.end_us = int(end_s * 1000000)

    def write(self, buf, start, end):
        self.stream(buf[start:end])
        return end - start

    def read_line(self):
        return self.inbox.read_line()

    def wait_us(self, us):
        self.clock.advance_us(us)
        return self.inbox.pending()

    def running(self):
        return self.clock.now_us < self.end_us


def corpus_run(n, seed, long_max, every=0.004):
    """``n`` hostile lines, one every ``every`` s, through the firmware on the frozen dock:
    the figures as a dict (tools/reliability_commands.py runs the full corpus)."""
    codes, cids = _write_corpus(n, seed, long_max)
    end = 2 + (n + 1) * every + 1
    stream = _Stream(codes, cids)
    hal = _CorpusHal(stream, end)
    hal.inbox.send_each(2, every, _lines())
    gc.collect()
    app = App(hal, sample_hz=200)
    app.run()
    return {
        "lines": n,
        "answers": stream.answers,
        "wrong": stream.wrong,
        "examples": stream.examples,
        "config": stream.config,
        "charging_off": stream.charging_off + (0 if app.charging else 1),
        "boots": len(stream.boots) + (1 if app.reboot_requested else 0),
        "cycles": stream.cycles,
        "rate_hz": stream.cycles * 1000 / max(1, stream.last_ms - stream.first_ms),
    }


def test_the_hostile_corpus_through_the_firmware_on_a_dock():
    fig = corpus_run(420, 3, 1500)
    assert fig["answers"] == 421 and fig["wrong"] == 0, fig
    assert fig["config"]["max_total_ma"] == 3000 and fig["config"]["min_current_ma"] == 50
    assert fig["charging_off"] == 0 and fig["boots"] == 1, fig
    # Sampling went on at its rate the whole time (200/s after 2 s).
    assert fig["rate_hz"] >= 0.97 * 200, fig

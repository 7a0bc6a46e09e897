"""Host commands: every line gets exactly one ``ack`` or ``error``, and nothing escapes.

The command names, their arguments, settings and error codes live in
``dockfw.protocol``; settings are checked and changed through ``dockfw.settings``;
lines are read as strict JSON by ``dockfw.strictjson``. A line longer than
``MAX_COMMAND_BYTES`` is refused whole, a line that is not strict JSON is never
executed, and an unexpected exception inside a command is answered as an ``internal``
error before the App's supervision takes it (charging off, a ``firmware_error`` event).

Commands never stall sampling (``poll``): a line is handled in steps between sampling
cycles, each at most about a millisecond on the RP2040 (``_SLICE_US``): the line read
(the HAL reads a bounded number of bytes per call), its parse, the command, then each
answer written into a staging buffer a field or a setting at a time, and only then
queued whole, its ``seq`` taken as it goes out. A step starts only while the time left
before the next cycle holds the longest such step seen lately; when cycles leave no such
time, steps still get a share of it (``_SHARE``). Lines not yet taken wait in the
link, where flow control holds the host back (the board's USB buffer, the simulator's
pseudo-terminal), and a line is taken only once the output queue has handed everything
before it to the link (so answers never crowd out the reports, nor each other).
"""

from micropython import const

# Loaded at boot: importing the parser takes the RP2040 37 ms, a stall no first command
# may cause.
from dockfw import protocol as P
from dockfw import settings, strictjson
from dockfw.viper import ptr8, viper

# A step goes on with the next piece of its command until this much time has passed:
# pieces take 0.1-1.2 ms on the RP2040, so a step stays near a millisecond.
_SLICE_US = const(300)
# What a piece yields when the next one is long (~1 ms): it then begins a step of its own.
_ALONE = const(1)
# Steps that do not fit between two cycles (none do at a rate the cycle cannot keep)
# get 1/16 of the time, one step at most between two cycles where none fitted, so that a
# host is still answered, slowly, and no cycle waits longer than a step.
_SHARE = const(16)
_CREDIT_MAX_US = const(100000)  # a burst after a quiet spell: at most 100 ms of it
_LINES_PER_WAIT = const(8)  # where a clock cannot see a command's cost (the simulator's)
_ANSWER_BYTES = const(1280)  # bound on an ack or error (tests/test_commands_total.py)
_SMALL = const(0x3FFFFFFF)  # an int written digit by digit (beyond: a heap int)
# What answers are made of, formatted once: field names, command names and error codes
# quoted, each line's start.
_KEYS = {}
_KEYS_MAX = const(96)
_QUOTED = {}
_STARTS = {}


def _echoable(cid):
    """An id the answer can carry: a string or an integer (no bool, no float)."""
    kind = type(cid)
    return cid if kind is str or kind is int else None


class Commands:
    def __init__(self, app):
        from dockfw.outqueue import OutQueue

        self.app = app
        self._cid = None
        self._answered = False
        self._work = None  # the command under way: a generator, a piece per next()
        # Decaying maxima of what a step took: reading from the link, and the rest.
        self._read_us = 0
        self._step_us = 0
        self._credit_us = 0
        self._stamp = app.clock.ticks_us()
        self._due = None
        self._late_due = None  # the cycle before which a step ran on credit
        self._fit_due = None  # the cycle before which a step fitted
        self._taken = 0
        self.unsaved = []  # settings a host set that are not on flash yet
        # The largest answer: a hello and its ack (``info``).
        count = [0]

        def measure(text):
            count[0] += len(text)

        P.write(measure, P.HELLO, 1 << 30, "00000000", 1 << 40, app.hello_fields())
        self.answer_room = count[0] + 64 + _ANSWER_BYTES
        # An answer is written here piece by piece, then queued whole: allocated once, at
        # boot, while the heap still has room for a block this size.
        self._stage = OutQueue(max(count[0], _ANSWER_BYTES) + 64)
        self._boot_key = P.boot_key(app.hal.boot_id)
        self._env = bytearray(96)  # a line's envelope, up to its t_ms
        self._held = None  # a staged line's pieces while a report line holds the queue
        self._at_once = False

    # -- taking lines between sampling cycles -----------------------------------
    def accrue(self):
        """Add the share of the time since the last call to the credit; returns now
        (ticks_us). The App calls it at every check step too, so the stamp is never
        older than ticks_diff can measure, however long the host stays quiet."""
        clock = self.app.clock
        now = clock.ticks_us()
        elapsed = clock.ticks_diff(now, self._stamp)
        self._stamp = now
        if elapsed > 0:
            self._credit_us = min(self._credit_us + elapsed // _SHARE, _CREDIT_MAX_US)
        return now

    def busy(self):
        """True while a command is under way (its next step needs no host input)."""
        return self._work is not None

    def poll(self, due):
        """One step of the command under way, or the start of the next line waiting in
        the link, if time and room allow; True if a step ran. ``due``: when the next
        sampling cycle starts (ticks_us)."""
        app = self.app
        clock = app.clock
        now = self.accrue()
        if due != self._due:
            self._due = due
            self._taken = 0
        reading = self._work is None
        if reading:
            out = app.out
            # A new line only once what went before is on the wire: handing bytes to the
            # link costs the RP2040 about 5 µs each, and the loop flushes ahead of its work.
            if self._taken >= _LINES_PER_WAIT or out.pending():
                return False
        expect = self._read_us if reading else self._step_us
        fits = clock.ticks_diff(due, now) >= expect
        if fits:
            self._fit_due = due
        else:
            # On credit: one step, only between two cycles where none fitted (cycles that
            # leave no time), never to squeeze one more in after others.
            if self._credit_us <= 0 or self._late_due == due or self._fit_due == due:
                return False
            self._late_due = due
        ran = self.step()
        cost = clock.ticks_diff(clock.ticks_us(), now)
        if reading:
            self._read_us = max(cost, expect - expect // 16)
        else:
            self._step_us = max(cost, expect - expect // 16)
        if not fits:
            self._credit_us -= cost
        return ran

    def step(self):
        """Read from the link (a bounded piece of a line), or run the command under way
        for about ``_SLICE_US``; False when there was nothing to do."""
        work = self._work
        if work is None:
            line = self.app.hal.read_line()
            if line is None:
                return False
            self._taken += 1
            self._cid = None
            self._answered = False
            self._work = self._handle(line)
            return True
        clock = self.app.clock
        t0 = clock.ticks_us()
        try:
            while True:
                if next(work) or clock.ticks_diff(clock.ticks_us(), t0) >= _SLICE_US:
                    return True
        except StopIteration:
            self._work = None
            return True
        except Exception as e:
            self._work = None
            self._failed(e)
            raise e

    def finish(self):
        """Run the command under way to its end, at once."""
        self._at_once = True
        try:
            while self._work is not None:
                self.step()
        finally:
            self._at_once = False
        self.app.flush()

    # -- one line, one answer -------------------------------------------------------
    def handle(self, line):
        """Answer one line (bytes, without its newline) with exactly one ack or error,
        all at once: for tests and tools (``poll`` spreads it between cycles)."""
        self._cid = None
        self._answered = False
        work = self._handle(line)
        self._at_once = True  # each line out as it is queued (the loop flushes otherwise)
        try:
            for _ in work:
                pass
        except Exception as e:
            self._failed(e)
            raise e
        finally:
            self._at_once = False
            self.app.flush()

    def _failed(self, e):
        # A bug in a command: the line still gets its answer, then the exception goes
        # on to the App's supervision as from any stage (``App.run``: charging off, a
        # ``firmware_error`` event, and the loop carries on).
        self._stage.abort()
        self._stage.consume(self._stage.pending())
        if not self._answered:
            try:
                self._answered = True
                self.app.emit(
                    P.ERROR,
                    [
                        ("id", self._id()),
                        ("code", P.E_INTERNAL),
                        ("message", "internal error (%s)" % type(e).__name__),
                    ],
                )
            except Exception:  # not even an error line could go out
                pass

    def _id(self):
        cid = self._cid
        return P.Text(cid) if type(cid) is str else cid  # the host's: never remembered

    # -- answers, written a piece at a time -----------------------------------------
    def _put(self, v):
        """One value into the staging buffer: numbers digit by digit, no float; the
        firmware's own words from a cache (a new str costs the board ~0.1 ms)."""
        st = self._stage
        if v is None:
            st.raw(b"null")
        elif v is True:
            st.raw(b"true")
        elif v is False:
            st.raw(b"false")
        elif type(v) is int and -_SMALL <= v <= _SMALL:
            st.int(v)
        elif isinstance(v, P.Fixed):
            st.fixed(v.value, v.places)
        elif type(v) is str and (v in P.COMMANDS or v in P.ERROR_CODES):
            frag = _QUOTED.get(v)
            if frag is None:
                frag = _QUOTED[v] = ('"%s"' % v).encode()
            st.raw(frag)
        else:
            P._value(v, st.put)

    def _key(self, k, first=False):
        """``,"k":`` (or ``"k":`` first in an object): a field name of the firmware's
        own, each formatted once."""
        frag = _KEYS.get(k)
        if frag is None:
            frag = (',"%s":' % k).encode()
            if len(_KEYS) < _KEYS_MAX:
                _KEYS[k] = frag
        self._stage.raw(memoryview(frag)[1:] if first else frag)

    def _line(self, kind, fields):
        """Write one line a field at a time (a list or an ``Obj`` an item at a time),
        yielding between pieces, then queue it whole."""
        st = self._stage
        st.begin()
        for k, v in fields:
            self._key(k)
            if isinstance(v, P.Obj):
                st.raw(b"{")
                first = True
                for k2, v2 in v.pairs:
                    self._key(k2, first)
                    first = False
                    self._put(v2)
                    yield
                st.raw(b"}")
            elif isinstance(v, list):
                st.raw(b"[")
                first = True
                for item in v:
                    if not first:
                        st.raw(b",")
                    first = False
                    if isinstance(item, P.Obj):
                        # The top-level Obj's loop again, written out: a generator for
                        # both (``yield from``) cost 0.45 ms a line on tier C's RP2040
                        # (an info 41.2 -> 43.9 ms), a shared loop over (v,) more.
                        st.raw(b"{")
                        first2 = True
                        for k2, v2 in item.pairs:
                            self._key(k2, first2)
                            first2 = False
                            self._put(v2)
                            yield
                        st.raw(b"}")
                    else:
                        self._put(item)
                        yield
                st.raw(b"]")
            else:
                self._put(v)
            yield
        st.raw(b"}\n")
        yield _ALONE
        self._queue(kind)

    def _queue(self, kind):
        """The staged line, with its envelope, into the output queue: whole, its seq
        taken now, so lines keep their order whatever was emitted meanwhile."""
        app = self.app
        app._lines_built += 1  # built from Python values: counts towards a collection
        st = self._stage
        if not st.commit():
            # Larger than any answer can be: dropped whole and counted, its seq taken, as
            # the output queue drops a line.
            app.out.dropped += 1
            app.seq += 1
            self._answered = kind is not P.HELLO
            return
        start = _STARTS.get(kind)
        if start is None:
            start = _STARTS[kind] = P.line_start(kind)
        key = self._boot_key
        seq = app.seq
        t_ms = app.uptime.t_ms()
        if seq <= _SMALL and t_ms <= _SMALL:
            env = memoryview(self._env)[
                : _envelope(self._env, start, len(start), seq, key, len(key), t_ms)
            ]
        else:  # a heap int (t_ms after 12 days): machine code cannot take it
            env = start + (b"%d" % seq) + key + (b"%d" % t_ms)
        out = app.out
        if out.is_open():  # behind the report line being written, as App.emit holds lines
            self._held = [bytes(env)]
        else:
            self._held = None
            out.begin()
            out.raw(env)
        while st.pending() and st.send(self):
            pass
        if self._held is None:
            out.commit()
        else:
            app._held.append(b"".join(self._held))
            self._held = None
        app.seq += 1
        if kind is not P.HELLO:
            self._answered = True  # queued whole: from now on a failure is not this line's
        if self._at_once:
            app.flush()

    def write(self, buf, start, end):
        """The staging queue's link (``OutQueue.send``): its bytes into the output queue
        (or the line held behind an open one)."""
        data = memoryview(buf)[start:end]
        if self._held is None:
            self.app.out.raw(data)
        else:
            self._held.append(bytes(data))
        return end - start

    def _error(self, code, message):
        yield from self._line(P.ERROR, [("id", self._id()), ("code", code), ("message", message)])

    def _ack(self, name, fields=()):
        yield from self._line(P.ACK, [("id", self._id()), ("cmd", name)] + list(fields))

    def _handle(self, line):
        """The work for one line, a piece per ``next()``: parse, check, run, answer."""
        short = settings.short
        into: list = [None]  # the parsed line
        if len(line) > P.MAX_COMMAND_BYTES:
            # Refused whole; its top-level id is echoed when it comes before the cut.
            try:
                yield from strictjson.values(line[: P.MAX_COMMAND_BYTES + 1], into)
                cmd = into[0]
                cid = cmd.get("id") if isinstance(cmd, dict) else None
            except strictjson.JSONError as e:
                cid = e.cid
            self._cid = _echoable(cid)
            yield
            yield from self._error(
                P.E_TOO_LONG, "a command is at most %d bytes" % P.MAX_COMMAND_BYTES
            )
            return
        try:
            yield from strictjson.values(line, into)
        except strictjson.JSONError as e:
            self._cid = _echoable(e.cid)
            yield
            yield from self._error(P.E_BAD_JSON, e.args[0])
            return
        cmd = into[0]
        yield
        if not isinstance(cmd, dict):
            yield from self._error(P.E_BAD_COMMAND, "expected an object with a 'cmd' string")
            return
        cid = cmd.get("id")
        if cid is not None and _echoable(cid) is None:
            yield from self._error(P.E_BAD_COMMAND, "id must be a string or an integer")
            return
        self._cid = cid
        name = cmd.get("cmd")
        if not isinstance(name, str):
            yield from self._error(P.E_BAD_COMMAND, "expected an object with a 'cmd' string")
            return
        if name not in P.COMMANDS:
            yield from self._error(
                P.E_UNKNOWN_COMMAND,
                "unknown command %s (known: %s)" % (short(name), ", ".join(P.COMMANDS)),
            )
            return
        takes = P.COMMAND_ARGS[name]
        for key in cmd:
            if key != "cmd" and key != "id" and key not in takes:
                yield from self._error(
                    P.E_BAD_VALUE,
                    "%s takes no argument %s (it takes: %s)"
                    % (name, short(key), ", ".join(takes) or "none"),
                )
                return
        yield
        run = getattr(self, "_cmd_" + name)
        yield _ALONE
        yield from run(name, cmd)

    # -- settings a host set, to flash ----------------------------------------------
    def save_settings(self):
        """Write the settings a host set since the last save (the App calls it with its
        own saves: as a device leaves, hourly while one stays, before a reboot)."""
        if self.unsaved:
            keys = self.unsaved
            self.unsaved = []
            settings.remember(self.app, keys)

    # -- the commands (generators: a piece per next()) -------------------------------
    def _cmd_info(self, name, cmd):
        yield _ALONE
        fields = self.app.hello_fields()
        yield
        yield from self._line(P.HELLO, fields)
        yield from self._ack(name)

    def _cmd_get(self, name, cmd):
        key = cmd.get("key")
        if key is None:
            keys = settings.NAMES
        elif isinstance(key, str) and key in P.SETTINGS:
            keys = [key]
        else:
            yield from self._error(
                P.E_BAD_VALUE,
                "no setting %s (settings: %s)" % (settings.short(key), ", ".join(settings.NAMES)),
            )
            return
        app = self.app
        config = []
        for k in keys:
            config.append((k, settings.get(app, k)))
            if len(config) % 3 == 0:
                yield
        yield from self._ack(name, [("config", P.Obj(config))])

    def _cmd_set(self, name, cmd):
        if "key" not in cmd or "value" not in cmd:
            yield from self._error(P.E_BAD_VALUE, 'set needs "key" and "value"')
            return
        key = cmd["key"]
        app = self.app
        why = settings.put(app, key, cmd["value"])
        if why is not None:
            yield from self._error(P.E_BAD_VALUE, why)
            return
        if key not in self.unsaved:
            self.unsaved.append(key)
        yield from self._ack(name, [("config", P.Obj([(key, settings.get(app, key))]))])
        # A flash write stalls the whole chip (a sector erase: tens of ms): while a device
        # is docked it waits for the App's next save; with none, it is done now, after
        # the answer, and announced as every save is.
        if not app.docking.present:
            yield
            clock = app.clock
            t0 = clock.ticks_us()
            self.save_settings()
            stall_ms = clock.ticks_diff(clock.ticks_us(), t0) // 1000
            app.event(
                P.EV_STATE_SAVED,
                [],
                P.SEV_INFO,
                [("stall_ms", stall_ms), ("why", P.SAVE_SETTINGS)],
            )

    def _cmd_clear(self, name, cmd):
        for d in self.app.detectors:
            d.clear(self.app)
            yield
        yield from self._ack(name)

    def _cmd_charge(self, name, cmd):
        on = cmd.get("on")
        if on is not True and on is not False:
            yield from self._error(P.E_BAD_VALUE, 'charge needs "on": true or false')
            return
        app = self.app
        prot = app.protection
        why = prot.holds_off(app) if on else ""
        if why:
            yield from self._error(P.E_UNSAFE, why)
            return
        prot.host_off = not on
        if on != app.charging:
            app.set_charging(on)
            app.event(
                P.EV_CHARGE_ON if on else P.EV_CHARGE_OFF, [], P.SEV_INFO, [("reason", "host")]
            )
        yield from self._ack(name, [("charging", app.charging)])

    def _cmd_cleaned(self, name, cmd):
        board = self.app.board
        names = cmd.get("pins")
        known = [p.name for p in board.pins]
        if names is None:
            pins = [p.index for p in board.pins]
        elif isinstance(names, list) and names and all(n in known for n in names):
            pins = [board.pin(n).index for n in names]
        else:
            yield from self._error(
                P.E_BAD_VALUE, "pins must be a list of one or more of: %s" % ", ".join(known)
            )
            return
        self.app.drift.cleaned_by_user(self.app, pins)
        yield
        yield from self._ack(name)

    def _cmd_reboot(self, name, cmd):
        yield from self._ack(name)
        self.app.reboot_requested = True


@viper
def _envelope(env, start, n: int, seq: int, boot, m: int, t_ms: int) -> int:
    """``start`` (``n`` bytes), ``seq``, ``boot`` (``m`` bytes: those between seq and
    t_ms) and ``t_ms`` written into ``env`` (as ``protocol.write`` writes them); their length.
    Machine code: four OutQueue calls cost a step 0.5 ms on the RP2040."""
    e = ptr8(env)
    a = ptr8(start)
    b = ptr8(boot)
    for i in range(n):
        e[i] = a[i]
    n = int(_digits(env, n, seq))
    for i in range(m):
        e[n + i] = b[i]
    return int(_digits(env, n + m, t_ms))


@viper
def _digits(buf, i: int, v: int) -> int:
    """``v`` (>= 0, a small int) in decimal at ``buf[i:]``; the index after it."""
    p = ptr8(buf)
    k = 1
    t = v
    while t >= 10:
        t //= 10
        k += 1
    end = i + k
    j = end
    while j > i:
        j -= 1
        p[j] = 0x30 + v % 10
        v //= 10
    return end

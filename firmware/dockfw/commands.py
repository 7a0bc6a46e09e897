"""Host commands: every line gets exactly one ``ack`` or ``error``, and nothing escapes.

The command names, their arguments, settings and error codes live in
``dockfw.protocol``; settings are checked and changed through ``dockfw.settings``;
lines are read as strict JSON by ``dockfw.strictjson``. A line longer than
``MAX_COMMAND_BYTES`` is refused whole, a line that is not strict JSON is never
executed, and an unexpected exception inside a command is answered as an ``internal``
error before the App's supervision takes it (charging off, a ``firmware_error`` event).

Commands run between sampling cycles and never starve them (``poll``): a line is
taken only when its answer has room in the output queue and when it fits in the time
left before the next cycle, or else within a guaranteed share of the time
(``_SHARE``), one line at a time; the rest wait in the link, where flow control holds
the host back (the board's USB buffer, the simulator's pseudo-terminal).
"""

from micropython import const

from dockfw import protocol as P

# Commands that do not fit between two cycles get 1/16 of the time. On the emulated
# RP2040 at 200 samples/s a cycle leaves nothing to spare and a get costs 8-16 ms; a
# flood of gets took sampling from 131 to 116 cycles/s and was answered 4.2 times a
# second (with 1/8: 134 -> 105 cycles/s, 8.6 answers). The old loop answered none there.
_SHARE = const(16)
_CREDIT_MAX_US = const(100000)  # a burst after a quiet spell: at most 100 ms of it
_LINES_PER_WAIT = const(8)  # where a clock cannot see a command's cost (the simulator's)
_ANSWER_BYTES = const(1280)  # bound on an ack or error (tests/test_commands_total.py)


def _echoable(cid):
    """An id the answer can carry: a string or an integer (no bool, no float)."""
    kind = type(cid)
    return cid if kind is str or kind is int else None


class Commands:
    def __init__(self, app):
        self.app = app
        self._cid = None
        self._answered = False
        self._cost_us = 0  # a decaying maximum of what one command took
        self._credit_us = 0
        self._stamp = app.clock.ticks_us()
        self._due = None
        self._taken = 0
        # The largest answer: a hello and its ack (``info``).
        count = [0]

        def measure(text):
            count[0] += len(text)

        P.write(measure, P.HELLO, 1 << 30, "00000000", 1 << 40, app.hello_fields())
        self.answer_room = count[0] + 64 + _ANSWER_BYTES

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

    def poll(self, due):
        """Take one command line waiting in the link, if time and room allow; True if one
        was taken. ``due``: when the next sampling cycle starts (ticks_us)."""
        app = self.app
        clock = app.clock
        now = self.accrue()
        if due != self._due:
            self._due = due
            self._taken = 0
        out = app.out
        if self._taken >= _LINES_PER_WAIT or (out.pending() and out.room() < self.answer_room):
            return False
        fits = clock.ticks_diff(due, now) >= self._cost_us
        if not fits and self._credit_us <= 0:
            return False
        line = app.hal.read_line()
        if line is None:
            return False
        self._taken += 1
        self.handle(line)
        cost = clock.ticks_diff(clock.ticks_us(), now)
        self._cost_us = max(cost, self._cost_us - self._cost_us // 16)
        if not fits:
            self._credit_us -= cost
        return True

    # -- one line, one answer -------------------------------------------------------
    def handle(self, line):
        """Answer one line (bytes, without its newline) with exactly one ack or error."""
        self._cid = None
        self._answered = False
        try:
            self._handle(line)
        except Exception as e:
            # A bug in a command: the line still gets its answer, then the exception goes
            # on to the App's supervision as from any stage (``App.run``: charging off, a
            # ``firmware_error`` event, and the loop carries on).
            if not self._answered:
                try:
                    self._error(P.E_INTERNAL, "internal error (%s)" % type(e).__name__)
                except Exception:  # not even an error line could go out
                    pass
            raise e

    def _id(self):
        cid = self._cid
        return P.Text(cid) if type(cid) is str else cid  # the host's: never remembered

    def _error(self, code, message):
        self.app.emit(P.ERROR, [("id", self._id()), ("code", code), ("message", message)])
        self._answered = True

    def _ack(self, name, fields=()):
        self.app.emit(P.ACK, [("id", self._id()), ("cmd", name)] + list(fields))
        self._answered = True

    def _handle(self, line):
        # The parser and the settings are imported at the first command line (later ones
        # find them loaded): a dock no host talks to keeps their heap.
        from dockfw import strictjson
        from dockfw.settings import short

        if len(line) > P.MAX_COMMAND_BYTES:
            self._cid = _echoable(self._id_before(line[: P.MAX_COMMAND_BYTES + 1]))
            self._error(P.E_TOO_LONG, "a command is at most %d bytes" % P.MAX_COMMAND_BYTES)
            return
        try:
            cmd = strictjson.parse(line)
        except strictjson.JSONError as e:
            self._cid = _echoable(e.cid)
            self._error(P.E_BAD_JSON, e.args[0])
            return
        if not isinstance(cmd, dict):
            self._error(P.E_BAD_COMMAND, "expected an object with a 'cmd' string")
            return
        cid = cmd.get("id")
        if cid is not None and _echoable(cid) is None:
            self._error(P.E_BAD_COMMAND, "id must be a string or an integer")
            return
        self._cid = cid
        name = cmd.get("cmd")
        if not isinstance(name, str):
            self._error(P.E_BAD_COMMAND, "expected an object with a 'cmd' string")
            return
        if name not in P.COMMANDS:
            self._error(
                P.E_UNKNOWN_COMMAND,
                "unknown command %s (known: %s)" % (short(name), ", ".join(P.COMMANDS)),
            )
            return
        takes = P.COMMAND_ARGS[name]
        for key in cmd:
            if key != "cmd" and key != "id" and key not in takes:
                self._error(
                    P.E_BAD_VALUE,
                    "%s takes no argument %s (it takes: %s)"
                    % (name, short(key), ", ".join(takes) or "none"),
                )
                return
        getattr(self, "_cmd_" + name)(name, cmd)

    @staticmethod
    def _id_before(prefix):
        """The top-level id of a line cut short, when it comes before the cut."""
        from dockfw import strictjson

        try:
            cmd = strictjson.parse(prefix)
        except strictjson.JSONError as e:
            return e.cid
        return cmd.get("id") if isinstance(cmd, dict) else None

    # -- the commands -----------------------------------------------------------
    def _cmd_info(self, name, cmd):
        self.app.emit(P.HELLO, self.app.hello_fields())
        self._ack(name)

    def _cmd_get(self, name, cmd):
        from dockfw import settings

        key = cmd.get("key")
        if key is None:
            keys = settings.NAMES
        elif isinstance(key, str) and key in P.SETTINGS:
            keys = [key]
        else:
            self._error(
                P.E_BAD_VALUE,
                "no setting %s (settings: %s)" % (settings.short(key), ", ".join(settings.NAMES)),
            )
            return
        app = self.app
        self._ack(name, [("config", P.Obj([(k, settings.get(app, k)) for k in keys]))])

    def _cmd_set(self, name, cmd):
        from dockfw import settings

        if "key" not in cmd or "value" not in cmd:
            self._error(P.E_BAD_VALUE, 'set needs "key" and "value"')
            return
        key = cmd["key"]
        why = settings.put(self.app, key, cmd["value"])
        if why is not None:
            self._error(P.E_BAD_VALUE, why)
            return
        self._ack(name, [("config", P.Obj([(key, settings.get(self.app, key))]))])
        settings.remember(self.app, key)  # after the answer: a flash write stalls the CPU

    def _cmd_clear(self, name, cmd):
        for d in self.app.detectors:
            d.clear(self.app)
        self._ack(name)

    def _cmd_charge(self, name, cmd):
        on = cmd.get("on")
        if on is not True and on is not False:
            self._error(P.E_BAD_VALUE, 'charge needs "on": true or false')
            return
        app = self.app
        prot = app.protection
        if on and (prot.tripped or prot.overheat_dock):
            self._error(
                P.E_UNSAFE, "protection holds charging off (clear it first, or let it cool)"
            )
            return
        prot.host_off = not on
        if on != app.charging:
            app.set_charging(on)
            app.event("charge_on" if on else "charge_off", [], "info", [("reason", "host")])
        self._ack(name, [("charging", app.charging)])

    def _cmd_cleaned(self, name, cmd):
        board = self.app.board
        names = cmd.get("pins")
        known = [p.name for p in board.pins]
        if names is None:
            pins = [p.index for p in board.pins]
        elif isinstance(names, list) and names and all(n in known for n in names):
            pins = [board.pin(n).index for n in names]
        else:
            self._error(
                P.E_BAD_VALUE, "pins must be a list of one or more of: %s" % ", ".join(known)
            )
            return
        self.app.drift.cleaned_by_user(self.app, pins)
        self._ack(name)

    def _cmd_reboot(self, name, cmd):
        self._ack(name)
        self.app.reboot_requested = True

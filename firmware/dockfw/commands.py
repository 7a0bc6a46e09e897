"""Host commands: one JSON object per line, each answered by ``ack`` or ``error`` with its id.

The command names, settings and their bounds live in ``dockfw.protocol``; this
module only carries them out. Nothing here runs in the sampling cycle: commands
are read while the loop waits for its next cycle.
"""

import json

from dockfw import protocol as P


class Commands:
    def __init__(self, app):
        self.app = app

    def poll(self):
        hal = self.app.hal
        line = hal.read_line()
        while line is not None:
            self.handle(line)
            line = hal.read_line()

    def _error(self, cid, code, message):
        self.app.emit(P.ERROR, [("id", cid), ("code", code), ("message", message)])

    def _ack(self, cid, name, fields=()):
        self.app.emit(P.ACK, [("id", cid), ("cmd", name)] + list(fields))

    def handle(self, line):
        line = line.strip()
        if not line:
            return
        if len(line) > P.MAX_COMMAND_BYTES:
            self._error(None, P.E_TOO_LONG, "a command is at most %d bytes" % P.MAX_COMMAND_BYTES)
            return
        try:
            cmd = json.loads(line)
        except ValueError:
            self._error(None, P.E_BAD_JSON, "not JSON")
            return
        if not isinstance(cmd, dict) or not isinstance(cmd.get("cmd"), str):
            self._error(None, P.E_BAD_COMMAND, "expected an object with a 'cmd' string")
            return
        cid = cmd.get("id")
        name = cmd["cmd"]
        handler = getattr(self, "_cmd_" + name, None) if name in P.COMMANDS else None
        if handler is None:
            self._error(
                cid,
                P.E_UNKNOWN_COMMAND,
                "unknown command %s (known: %s)" % (name, ", ".join(P.COMMANDS)),
            )
            return
        handler(cid, name, cmd)

    # -- the commands ---------------------------------------------------------
    def _cmd_info(self, cid, name, cmd):
        self.app.emit(P.HELLO, self.app.hello_fields())
        self._ack(cid, name)

    def _cmd_get(self, cid, name, cmd):
        key = cmd.get("key")
        if key is not None and key not in P.SETTINGS:
            self._error(
                cid,
                P.E_BAD_VALUE,
                "no setting %r (settings: %s)" % (key, ", ".join(sorted(P.SETTINGS))),
            )
            return
        keys = [key] if key is not None else sorted(P.SETTINGS)
        self._ack(cid, name, [("config", P.Obj([(k, self.get(k)) for k in keys]))])

    def _cmd_set(self, cid, name, cmd):
        key = cmd.get("key")
        value = cmd.get("value")
        if key not in P.SETTINGS:
            self._error(
                cid,
                P.E_BAD_VALUE,
                "no setting %r (settings: %s)" % (key, ", ".join(sorted(P.SETTINGS))),
            )
            return
        lo, hi, unit = P.SETTINGS[key]
        if key == "max_total_ma":
            hi = self.app.board.max_total_ma
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not lo <= value <= hi:
            self._error(
                cid, P.E_BAD_VALUE, "%s must be a number from %s to %s %s" % (key, lo, hi, unit)
            )
            return
        self.put(key, value)
        self._ack(cid, name, [("config", P.Obj([(key, self.get(key))]))])

    def _cmd_clear(self, cid, name, cmd):
        for d in self.app.detectors:
            d.clear(self.app)
        self._ack(cid, name)

    def _cmd_charge(self, cid, name, cmd):
        on = cmd.get("on")
        if not isinstance(on, bool):
            self._error(cid, P.E_BAD_VALUE, 'charge needs "on": true or false')
            return
        app = self.app
        prot = app.protection
        if on and (prot.tripped or prot.overheat_dock):
            self._error(
                cid, P.E_UNSAFE, "protection holds charging off (clear it first, or let it cool)"
            )
            return
        prot.host_off = not on
        if on != app.charging:
            app.set_charging(on)
            app.event("charge_on" if on else "charge_off", [], "info", [("reason", "host")])
        self._ack(cid, name, [("charging", app.charging)])

    def _cmd_cleaned(self, cid, name, cmd):
        board = self.app.board
        names = cmd.get("pins")
        if names is None:
            pins = [p.index for p in board.pins]
        elif isinstance(names, list) and all(n in [p.name for p in board.pins] for n in names):
            pins = [board.pin(n).index for n in names]
        else:
            self._error(
                cid,
                P.E_BAD_VALUE,
                "pins must be a list of: %s" % ", ".join(p.name for p in board.pins),
            )
            return
        self.app.drift.cleaned_by_user(self.app, pins)
        self._ack(cid, name)

    def _cmd_reboot(self, cid, name, cmd):
        self._ack(cid, name)
        self.app.reboot_requested = True

    # -- settings -------------------------------------------------------------
    def get(self, key):
        app = self.app
        if key == "sample_hz":
            return P.Fixed(app.sample_mhz, 3)
        if key == "idle_hz":
            return P.Fixed(app.idle_mhz, 3)
        if key == "report_hz":
            return P.Fixed(app.report_mhz, 3)
        if key == "min_current_ma":
            return app.sampler.min_ma
        if key == "max_total_ma":
            return app.protection.max_total_ma
        if key == "contact_mw_limit":
            return app.protection.contact_mw_limit
        return app.protection.temp_limit_mc // 1000

    def put(self, key, value):
        app = self.app
        if key == "sample_hz":
            app.sample_mhz = int(value * 1000 + 0.5)
            app.sampler.set_period(1000000000 // app.sample_mhz)
        elif key == "idle_hz":
            app.idle_mhz = int(value * 1000 + 0.5)
        elif key == "report_hz":
            app.report_mhz = int(value * 1000 + 0.5)
        elif key == "min_current_ma":
            app.sampler.min_ma = int(value)
        elif key == "max_total_ma":
            app.protection.max_total_ma = int(value)
        elif key == "contact_mw_limit":
            app.protection.contact_mw_limit = int(value)
        else:
            app.protection.temp_limit_mc = int(value * 1000)

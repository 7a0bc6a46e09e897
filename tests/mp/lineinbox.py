# Host bytes for a SimDock, released at simulated times and handed out as lines under the
# HAL contract (dockfw.app): a whole line without its newline, or None; a line longer
# than MAX_COMMAND_BYTES as its first MAX_COMMAND_BYTES + 1 bytes, the rest discarded up
# to its newline. Runs under CPython and MicroPython.
# ``taken``: the lines handed out. (What a line costs the firmware in time is the
# SimDock's to charge: ``SimDock.command_cost_us``.)

from dockfw.protocol import MAX_COMMAND_BYTES


class LineInbox:
    def __init__(self, clock):
        self.clock = clock
        self.sends = []  # (t_us, bytes), in time order
        self.next = 0  # the first send not yet arrived
        self.source = None
        self.source_t = 0
        self.source_dt = 0
        self.buf = b""
        self.cut = None
        self.ready = None
        self.taken = 0

    def send(self, t_s, data):
        """Bytes the host writes at ``t_s`` (simulated seconds)."""
        self.sends.append((int(t_s * 1000000), data))

    def send_lines(self, t_s, lines):
        for line in lines:
            self.send(t_s, line + b"\n")

    def send_each(self, t_s, every_s, chunks):
        """The bytes of ``chunks`` (an iterator, drawn only when due) one every ``every_s``
        from ``t_s``: a long corpus never sits in the heap at once."""
        self.source = chunks
        self.source_t = int(t_s * 1000000)
        self.source_dt = int(every_s * 1000000)

    def _arrive(self, now):
        """The next bytes due by ``now``, or None."""
        if self.next < len(self.sends) and self.sends[self.next][0] <= now:
            data = self.sends[self.next][1]
            self.sends[self.next] = None  # let it go: a long corpus would hold the heap
            self.next += 1
            return data
        if self.source is not None and self.source_t <= now:
            self.source_t += self.source_dt
            try:
                return next(self.source)
            except StopIteration:
                self.source = None
        return None

    def pending(self):
        limit = MAX_COMMAND_BYTES + 1
        now = self.clock.now_us
        while self.ready is None:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                if nl == len(self.buf) - 1:  # one whole line: no copies
                    line = self.buf[:nl]
                    self.buf = b""
                else:
                    line = self.buf[:nl]
                    self.buf = self.buf[nl + 1 :]
                if self.cut is not None:
                    line = self.cut
                    self.cut = None
                self.ready = line[:limit]
                break
            if self.cut is None and len(self.buf) >= limit:
                self.cut = self.buf[:limit]
            if self.cut is not None:
                self.buf = b""
            data = self._arrive(now)
            if data is None:
                break
            self.buf = self.buf + data if self.buf else data  # no copy in the common case
        return self.ready is not None

    def read_line(self):
        if not self.pending():
            return None
        line = self.ready
        self.ready = None
        self.taken += 1
        return line

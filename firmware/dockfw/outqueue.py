"""A bounded output queue: lines wait here until the USB link takes them.

The sampling loop must never wait for the host. Lines are written into one
preallocated buffer; when a line does not fit it is dropped whole (never half
a line on the wire) and counted, and the count goes out in ``health`` lines.
The App drains the queue with ``send(hal)``: the HAL's ``write(buf, start,
end)`` takes what the link accepts now, from the buffer itself (no view, no copy).

A line is written between ``begin()`` and ``commit()``, either as text fragments
(``put``: any line, allocates a little) or, for the lines the dock sends all the
time, piece by piece with ``raw`` / ``int`` / ``fixed``, which write bytes and
digits straight into the buffer and allocate nothing, so a report line can be
written a pin at a time between sampling cycles. While a line is open no other
may begin: ``is_open()`` tells the App to hold its other lines back meanwhile.
"""

from micropython import const

from dockfw.viper import ptr8, viper

_MINUS = const(45)
_DOT = const(46)
_ZERO = const(48)
_SCALE = (1, 10, 100, 1000, 10000, 100000, 1000000)


class OutQueue:
    def __init__(self, size=2048):
        self._buf = bytearray(size)
        self._size = size
        self._head = 0  # first byte not yet sent
        self._tail = 0  # end of committed lines
        self._end = 0  # end of the line being written
        self._over = False
        self._open = False
        self.dropped = 0

    def begin(self):
        self._end = self._tail
        self._over = False
        self._open = True

    def is_open(self):
        return self._open

    def _room_for(self, n):
        """True when ``n`` more bytes fit after the line's end (compacting if need be)."""
        if self._over:
            return False
        if self._end + n > self._size:
            self._compact()
            if self._end + n > self._size:
                self._over = True
                return False
        return True

    def put(self, text):
        """Append a fragment of the current line (str or bytes)."""
        data = text.encode() if isinstance(text, str) else text
        n = len(data)
        if not self._room_for(n):
            return
        self._buf[self._end : self._end + n] = data
        self._end += n

    def raw(self, data):
        """Append bytes (a constant: no copy of them is made)."""
        n = len(data)
        if not self._room_for(n):
            return
        end = self._end
        self._buf[end : end + n] = data
        self._end = end + n

    def int(self, v):
        """Append an integer's decimal digits, allocating nothing."""
        if not self._room_for(12):  # sign and ten digits of a small int, with room to spare
            return
        buf = self._buf
        i = self._end
        if v < 0:
            buf[i] = _MINUS
            i += 1
            v = -v
        digits = 1
        t = v
        while t >= 10:
            t //= 10
            digits += 1
        end = i + digits
        i = end
        while i > end - digits:
            i -= 1
            buf[i] = _ZERO + v % 10
            v //= 10
        self._end = end

    def fixed(self, v, places):
        """Append ``v / 10**places`` as a JSON number, as ``protocol.Fixed`` writes it:
        no trailing zeros, no point for a whole number."""
        if v < 0:
            self.raw(b"-")
            v = -v
        scale = _SCALE[places]
        self.int(v // scale)
        frac = v % scale
        if not frac or not self._room_for(places + 1):
            return
        while frac % 10 == 0:
            frac //= 10
            places -= 1
        buf = self._buf
        i = self._end
        buf[i] = _DOT
        end = i + 1 + places
        i = end
        while i > end - places:
            i -= 1
            buf[i] = _ZERO + frac % 10
            frac //= 10
        self._end = end

    def commit(self):
        """Finish the current line: True if queued, False if it was dropped."""
        self._open = False
        if self._over:
            self.dropped += 1
            self._end = self._tail
            return False
        self._tail = self._end
        return True

    def abort(self):
        """Drop the line being written (its writer failed); counted as dropped."""
        if self._open:
            self._over = True
            self.commit()

    def _compact(self):
        head = self._head
        if head == 0:
            return
        used = self._end - head
        _move_down(self._buf, head, used)
        self._head = 0
        self._tail -= head
        self._end = used

    def pending(self):
        return self._tail - self._head

    def room(self):
        """Bytes a new line can take now (a line may wait for the link in the rest)."""
        return self._size - (self._tail - self._head)

    def send(self, link):
        """Hand the committed bytes to ``link.write(buf, start, end)``, which returns how
        many the link took; returns that count. (The link, not its bound ``write``: a
        bound method is an object allocated at every hand-over.)"""
        n = link.write(self._buf, self._head, self._tail)
        if n:
            self.consume(n)
        return n

    def consume(self, n):
        self._head += n
        if self._head >= self._tail and self._end == self._tail:
            self._head = self._tail = self._end = 0


@viper
def _move_down(buf, src: int, n: int):
    """Move ``n`` bytes at ``src`` to the start of ``buf``, front first (the ranges may
    overlap; the destination is below the source): a slice of a view would allocate."""
    p = ptr8(buf)
    for i in range(n):
        p[i] = p[src + i]

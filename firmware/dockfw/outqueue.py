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
# Digits of a small int (|v| < 2**30) are written by machine code: on the RP2040 a
# bytecode digit loop costs ~150 µs a number, and a report line has dozens.
_SMALL = const(0x3FFFFFFF)


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

    @viper
    def raw(self, data):
        """Append bytes (a constant: no copy of them is made)."""
        n = int(len(data))  # noqa: RUF046 (viper: a machine int)
        end = int(self._end)
        if self._over or end + n > int(self._size):
            if not self._room_for(n):
                return
            end = int(self._end)
        p = ptr8(self._buf)
        d = ptr8(data)
        for k in range(n):
            p[end + k] = d[k]
        self._end = end + n

    def int(self, v):
        """Append an integer's decimal digits, allocating nothing (a small int's)."""
        if -_SMALL <= v <= _SMALL:
            if self._room_for(11):  # sign and ten digits
                self._end = _write_fixed(self._buf, self._end, v, 0)
            return
        if not self._room_for(24):  # a big int: the board's uptime after 12 days
            return
        digits = b"%d" % v
        self.raw(digits)

    def fixed(self, v, places):
        """Append ``v / 10**places`` as a JSON number, as ``protocol.Fixed`` writes it:
        no trailing zeros, no point for a whole number."""
        if -_SMALL <= v <= _SMALL:
            if self._room_for(12 + places):
                self._end = _write_fixed(self._buf, self._end, v, places)
            return
        scale = _SCALE[places]
        if v < 0:
            self.raw(b"-")
            v = -v
        self.int(v // scale)
        frac = v % scale
        if frac:
            self.raw(((".%0*d" % (places, frac)).rstrip("0")).encode())

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
def _write_fixed(buf, i: int, v: int, places: int) -> int:
    """Write ``v / 10**places`` (|v| < 2**30) at ``buf[i]`` as ``OutQueue.fixed`` does;
    return the end."""
    p = ptr8(buf)
    if v < 0:
        p[i] = _MINUS
        i += 1
        v = 0 - v
    scale = 1
    for _ in range(places):
        scale *= 10
    whole = v // scale
    frac = v - whole * scale
    n = 1
    t = whole
    while t >= 10:
        t = t // 10
        n += 1
    end = i + n
    k = end
    while k > i:
        k -= 1
        q = whole // 10
        p[k] = _ZERO + whole - q * 10
        whole = q
    if frac == 0:
        return end
    while True:  # no trailing zeros
        q = frac // 10
        if frac - q * 10 != 0:
            break
        frac = q
        places -= 1
    p[end] = _DOT
    end += 1 + places
    k = end
    for _ in range(places):
        k -= 1
        q = frac // 10
        p[k] = _ZERO + frac - q * 10
        frac = q
    return end


@viper
def _move_down(buf, src: int, n: int):
    """Move ``n`` bytes at ``src`` to the start of ``buf``, front first (the ranges may
    overlap; the destination is below the source): a slice of a view would allocate."""
    p = ptr8(buf)
    for i in range(n):
        p[i] = p[src + i]

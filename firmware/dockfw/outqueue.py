"""A bounded output queue: lines wait here until the USB link takes them.

The sampling loop must never wait for the host. Lines are written into one
preallocated buffer; when a line does not fit it is dropped whole (never half
a line on the wire) and counted, and the count goes out in ``health`` lines.
The HAL drains the queue with ``peek()`` / ``consume(n)`` as fast as the link
accepts bytes.
"""


class OutQueue:
    def __init__(self, size=2048):
        self._buf = bytearray(size)
        self._mv = memoryview(self._buf)
        self._head = 0  # first byte not yet sent
        self._tail = 0  # end of committed lines
        self._end = 0  # end of the line being written
        self._over = False
        self.dropped = 0

    def begin(self):
        self._end = self._tail
        self._over = False

    def put(self, text):
        """Append a fragment of the current line (str or bytes)."""
        if self._over:
            return
        data = text.encode() if isinstance(text, str) else text
        n = len(data)
        if self._end + n > len(self._buf):
            self._compact()
            if self._end + n > len(self._buf):
                self._over = True
                return
        self._mv[self._end : self._end + n] = data
        self._end += n

    def commit(self):
        """Finish the current line: True if queued, False if it was dropped."""
        if self._over:
            self.dropped += 1
            self._end = self._tail
            return False
        self._tail = self._end
        return True

    def _compact(self):
        head = self._head
        if head == 0:
            return
        used = self._end - head
        self._mv[0:used] = self._mv[head : self._end]
        self._head = 0
        self._tail -= head
        self._end = used

    def pending(self):
        return self._tail - self._head

    def room(self):
        """Bytes a new line can take now (a line may wait for the link in the rest)."""
        return len(self._buf) - (self._tail - self._head)

    def peek(self):
        """The committed bytes not yet sent (a view into the buffer)."""
        return self._mv[self._head : self._tail]

    def consume(self, n):
        self._head += n
        if self._head >= self._tail and self._end == self._tail:
            self._head = self._tail = self._end = 0

# The bounded output queue, under MicroPython (and CPython via tests/test_outqueue.py).
from dockfw.outqueue import OutQueue
from dockfw.protocol import Fixed


def _line(q, text):
    q.begin()
    q.put(text)
    q.put(b"\n")
    return q.commit()


def test_lines_drop_whole_when_full_and_compaction_reuses_space():
    q = OutQueue(64)
    out = bytearray()
    assert _line(q, "a" * 30) and _line(q, "b" * 20)
    assert not _line(q, "c" * 20)  # 51 + 21 > 64: dropped whole, counted
    assert q.dropped == 1

    class Link:
        def __init__(self, most):
            self.most = most

        def write(self, buf, start, end):
            k = min(self.most, end - start)
            out.extend(buf[start : start + k])
            return k

    def link(most):
        return Link(most)

    assert q.send(link(20)) == 20
    assert _line(q, "d" * 25)  # fits once the sent bytes are compacted away
    while q.pending():
        assert q.send(link(7))
    assert q.send(link(7)) == 0
    assert bytes(out) == b"a" * 30 + b"\n" + b"b" * 20 + b"\n" + b"d" * 25 + b"\n", out
    assert _line(q, "e" * 63)  # an empty queue resets to the start
    assert not _line(q, "f" * 64)
    assert q.dropped == 2


def test_numbers_are_written_as_the_protocol_writes_them():
    # The small ints' digits come from machine code, the rest from Python: both must
    # match protocol.Fixed and "%d" on every edge (signs, zeros, 2**30, big ints).
    values = [0, 1, -1, 7, 9, 10, -10, 99, 100, 101, 12345, -12345, 100000, 999999]
    values += [1000000, -1000001, 2**29, 2**30 - 1, -(2**30) + 1, 2**30, -(2**30), 2**31]
    values += [10**12 + 7, -(10**12) - 70]
    for places in range(7):
        for v in values:
            q = OutQueue(64)
            q.begin()
            q.raw(b"[")
            q.fixed(v, places)
            q.raw(b",")
            q.int(v)
            q.raw(b"]")
            assert q.commit()
            got = bytes(q._buf[: q.pending()])
            want = ("[%s,%d]" % (Fixed(v, places).text(), v)).encode()
            assert got == want, (v, places, got, want)


def test_numbers_that_do_not_fit_drop_the_line():
    q = OutQueue(16)
    q.begin()
    q.raw(b"0123456")
    q.int(-123456789)  # 7 + 11 of room needed > 16
    assert not q.commit() and q.dropped == 1
    q.begin()
    q.fixed(123456, 3)
    q.raw(b"abcdefghijklmnop")
    assert not q.commit() and q.dropped == 2
    q.begin()
    q.fixed(-123456, 3)
    assert q.commit() and bytes(q._buf[: q.pending()]) == b"-123.456"

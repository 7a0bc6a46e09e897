# The bounded output queue, under MicroPython (and CPython via tests/test_outqueue.py).
from dockfw.outqueue import OutQueue


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

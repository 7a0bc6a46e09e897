from mp.test_outqueue import test_lines_drop_whole_when_full_and_compaction_reuses_space as shared


def test_outqueue_behaves_the_same_under_cpython():
    shared()


def test_a_partial_line_never_reaches_the_link():
    from dockfw.outqueue import OutQueue

    q = OutQueue(16)
    q.begin()
    q.put("0123456789")
    assert q.pending() == 0  # nothing is sent before commit
    q.put("0123456789")
    assert not q.commit()
    assert q.pending() == 0 and q.dropped == 1

from mp import test_outqueue as shared


def test_outqueue_behaves_the_same_under_cpython():
    shared.test_lines_drop_whole_when_full_and_compaction_reuses_space()
    shared.test_numbers_are_written_as_the_protocol_writes_them()
    shared.test_numbers_that_do_not_fit_drop_the_line()


def test_a_partial_line_never_reaches_the_link():
    from dockfw.outqueue import OutQueue

    q = OutQueue(16)
    q.begin()
    q.put("0123456789")
    assert q.pending() == 0  # nothing is sent before commit
    q.put("0123456789")
    assert not q.commit()
    assert q.pending() == 0 and q.dropped == 1
